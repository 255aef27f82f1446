"""numpy arrays (and lists) as ``std::vector`` / ``std::array`` arguments, and back.

Rules, checked before any C++ runs:

- A ``std::vector<double>`` or ``std::array<double, N>`` parameter by value or by const
  reference takes a numpy array or a list of numbers (converted: the C++ gets a copy).
  ``std::array<double, N>`` needs exactly N elements.  A ``std::vector<std::vector<double>>``
  takes a list of such arrays (rows may differ in length) or a 2-D array.
- A non-const reference (``std::vector<double>& v``), which the function may write and
  resize, is written in place only when the caller passes a C++ container of that very
  type (``cppyy.gbl.std.vector['double'](arr)``, read back with ``numpy.array(v)``); a
  numpy array cannot grow in place, so a primal call refuses one.  Derivative calls run on
  private copies and take numpy arrays there too.
- A gradient w.r.t. a container comes back as a numpy array of the container's length
  after the call (a list of arrays for a vector of vectors).
- A ``std::vector<Particle>`` of records takes a list of the module's record objects (or a
  cppyy vector of them); its gradient is a list of records (see pyclad.record_arrays).
"""

from __future__ import annotations

import numpy as np

from . import ir, record_arrays
from .errors import ArgumentError


def is_container(t: ir.Type) -> bool:
    """A container parameter Python passes (by value or reference, not through a pointer)."""
    return t.kind in ir.CONTAINERS and not t.ptr and not t.dims


def _cppyy():
    from .backends.jit import cppyy

    return cppyy()


def cpp_class(t: ir.Type):
    """The cppyy class of a container type (``::std::vector<double>``)."""
    std = _cppyy().gbl.std
    template = std.vector if t.kind == ir.VECTOR else std.array
    return template[_template_args(t)]


def _template_args(t: ir.Type):
    element = t.args[0]
    inner = element.base.removeprefix("::") if element.kind in ir.CONTAINERS else element.base
    return (inner,) if t.kind == ir.VECTOR else (inner, t.size)


def argument(fn: ir.Function, p: ir.Param, a, private: bool):
    """The C++ container to pass for Python value ``a`` (see the module's rules)."""
    t = p.type
    where = f"argument '{p.name}' of {fn.name}"
    if t.ref and not t.const and not private:
        if _is_cpp(a, t):
            return a
        raise ArgumentError(
            f"{where} ({t.spell(p.name)}) is a non-const reference that {fn.name} may write or resize: "
            f"pass a C++ container, cppyy.gbl.std.{'vector' if t.kind == ir.VECTOR else 'array'}"
            f"[...](values), and read it back with numpy.array(...); got {_described(a)}",
            fn.loc,
        )
    if _is_cpp(a, t):
        return type(a)(a)  # a copy: what the C++ writes never reaches the caller's container
    return from_python(t, a, where, fn.loc)


def _is_cpp(a, t: ir.Type) -> bool:
    """``a`` is a C++ container of type ``t`` (as cppyy spells it)."""
    if t.args[0].kind == ir.RECORD and t.kind == ir.VECTOR:  # the module's record, as cppyy names it
        return record_arrays.is_vector_of(a, t.args[0].base)
    name = getattr(type(a), "__cpp_name__", None)
    return name is not None and _plain_name(name) == _plain_name(t.named().base)


def _plain_name(spelling: str) -> str:
    return spelling.replace(" ", "").replace("::std::", "std::").removeprefix("::")


def _described(a) -> str:
    if isinstance(a, np.ndarray):
        return f"a numpy array of {a.dtype}"
    return f"a {type(a).__name__}"


def from_python(t: ir.Type, a, where: str, loc):
    """A fresh C++ container of type ``t`` holding the numbers (or records) of ``a``."""
    element = t.args[0]
    if element.kind == ir.RECORD:
        return _records(t, a, where, loc)
    if element.kind in ir.CONTAINERS:
        if isinstance(a, (int, float)) or a is None:
            raise ArgumentError(f"{where} is {t.spell()}: pass a list of arrays, got {type(a).__name__}", loc)
        rows = [from_python(element, r, f"{where} (row {k})", loc) for k, r in enumerate(a)]
        out = cpp_class(t)()
        if t.kind == ir.STD_ARRAY and len(rows) != t.size:
            raise ArgumentError(f"{where} is {t.spell()}: pass {t.size} rows, got {len(rows)}", loc)
        for k, r in enumerate(rows):
            if t.kind == ir.VECTOR:
                out.push_back(r)
            else:
                out[k] = r
        return out
    arr = numbers(a, element, where, loc)
    if t.kind == ir.STD_ARRAY:
        if arr.shape[0] != t.size:
            raise ArgumentError(
                f"{where} is {t.spell()}: pass exactly {t.size} numbers, got {arr.shape[0]}", loc
            )
        out = cpp_class(t)()
        if t.size:
            np.frombuffer(out.data(), dtype=arr.dtype, count=t.size)[:] = arr
        return out
    return cpp_class(t)(arr) if arr.size else cpp_class(t)()


def _records(t: ir.Type, a, where: str, loc):
    """A ``std::vector`` / ``std::array`` of records holding copies of the module's record
    objects in the list ``a`` (see pyclad.record_arrays)."""
    record = t.args[0].base
    if isinstance(a, np.ndarray) or not isinstance(a, (list, tuple)):
        raise ArgumentError(
            f"{where} is {t.spell()}: pass a list of the module's {record} objects "
            f"(m.{record.replace('::', '.')}(...)), got {_described(a)}",
            loc,
        )
    cls = type(a[0]) if a and record_arrays.own_class_name(a[0]) == record else None
    for k, x in enumerate(a):
        if type(x) is not cls and record_arrays.own_class_name(x) != record:
            got = (
                record_arrays.own_class_name(x) or getattr(type(x), "__cpp_name__", None) or type(x).__name__
            )
            raise ArgumentError(
                f"{where} is {t.spell()}: element {k} is a {got}, not the module's class {record}", loc
            )
    if t.kind == ir.STD_ARRAY and len(a) != t.size:
        raise ArgumentError(f"{where} is {t.spell()}: pass {t.size} records, got {len(a)}", loc)
    if not a:  # the class to build the container from comes with its elements
        raise ArgumentError(f"{where} is {t.spell()}: pass at least one {record} (got an empty list)", loc)
    std = _cppyy().gbl.std
    out = std.vector[type(a[0])]() if t.kind == ir.VECTOR else std.array[type(a[0]), t.size]()
    for k, x in enumerate(a):
        if t.kind == ir.VECTOR:
            out.push_back(x)
        else:
            out[k].__assign__(x)
    return out


_DTYPES = {
    "double": np.float64,
    "float": np.float32,
    "int": np.int32,
    "long": np.int64,
    "long long": np.int64,
    "unsigned long": np.uint64,
}


def numbers(a, element: ir.Type, where: str, loc) -> np.ndarray:
    """``a`` as a 1-D contiguous array of the element type; an ArgumentError otherwise."""
    if element.base not in _DTYPES or element.ptr or element.dims:
        raise ArgumentError(f"{where}: Python cannot pass containers of {element.spell()}", loc)
    if isinstance(a, (int, float, bool)) or a is None:
        raise ArgumentError(f"{where} is a container: pass an array or a list, got {type(a).__name__}", loc)
    try:
        arr = np.asarray(a)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad argument
        raise ArgumentError(f"{where}: cannot convert to an array ({exc})", loc) from None
    if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise ArgumentError(f"{where}: expected numbers, got an array of {arr.dtype}", loc)
    if element.is_integral and arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        raise ArgumentError(f"{where} holds {element.spell()}: got numbers that are not integers", loc)
    if arr.ndim != 1:
        raise ArgumentError(f"{where}: expected a 1-D array, got shape {arr.shape}", loc)
    dtype = _DTYPES[element.base]
    if element.is_integral and arr.size:
        info = np.iinfo(dtype)
        if arr.min() < info.min or arr.max() > info.max:
            raise ArgumentError(f"{where} holds {element.spell()}: a number is outside its range", loc)
    return np.ascontiguousarray(arr, dtype=dtype)


def zeros_like(t: ir.Type, like) -> object:
    """A zero container of type ``t`` shaped like the C++ container ``like`` (an adjoint or
    tangent buffer)."""
    element = t.args[0]
    if element.kind == ir.RECORD and t.kind == ir.VECTOR:  # each record zero and shaped like its primal
        return record_arrays.zero_records(type(like), element, like)
    if element.kind == ir.RECORD:
        out = type(like)()
        for k in range(len(like)):
            zero = record_arrays.zero_like(element, like[k])
            if t.kind == ir.VECTOR:
                out.push_back(zero)
            else:
                out[k].__assign__(zero)
        return out
    if element.kind in ir.CONTAINERS:
        out = cpp_class(t)()
        for k in range(len(like)):
            if t.kind == ir.VECTOR:
                out.push_back(zeros_like(element, like[k]))
            else:
                out[k] = zeros_like(element, like[k])
        return out
    if t.kind == ir.STD_ARRAY:
        out = cpp_class(t)()
        for k in range(t.size):
            out[k] = 0.0
        return out
    return cpp_class(t)(len(like), 0.0)


def seeded(t: ir.Type, like, index: int | None) -> object:
    """A tangent buffer: zeros shaped like ``like``, with a 1 at ``index`` (when given)."""
    out = zeros_like(t, like)
    if index is not None and t.args[0].kind in ir.CONTAINERS:
        raise ArgumentError(
            f"a derivative w.r.t. one element of a {t.spell()} is not supported in forward mode "
            "(take the gradient, or pass the rows as separate parameters)"
        )
    if index is not None:
        if not 0 <= index < len(out):
            raise ArgumentError(f"index {index} is out of range (length {len(out)})")
        out[index] = 1.0
    return out


def to_python(t: ir.Type, c) -> np.ndarray | list:
    """A container's adjoint as a gradient returns it: a list of record copies for a container
    of records, else numbers (``to_numpy``)."""
    if t.args[0].kind == ir.RECORD:
        return [type(x)(x) for x in c]
    return to_numpy(c)


def to_numpy(c) -> np.ndarray | list:
    """A copy of a C++ container's numbers (a list of arrays for a container of containers)."""
    if len(c) and hasattr(c[0], "size") and hasattr(c[0], "data"):
        return [to_numpy(r) for r in c]
    dtype = np.float32 if "float" in getattr(type(c), "__cpp_name__", "") else np.float64
    n = len(c)
    if n == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(c.data(), dtype=dtype, count=n).copy()
