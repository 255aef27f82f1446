"""What a call may do with the caller's arrays.

Two rules, checked before any C++ runs:

- A primal call (``m.f(...)``) writes through every non-const pointer parameter, so such a
  parameter must be given memory the C++ can write in place: a writable, C-contiguous numpy
  array of the parameter's exact dtype.  Anything else (a list, another dtype, a strided view,
  a read-only array) would be copied and the writes lost, or written although read-only: it is
  refused.  Const pointer parameters are inputs; converting them (a copy) is harmless.
- No call takes an array that a non-const pointer parameter writes and that another array
  argument reads (the same array, or overlapping views): the function's result would depend on
  the order of its reads and writes, which its derivative does not follow.

Derivative calls run on private copies of the arrays the function writes, so they accept any
convertible argument there; see ``private_array``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ir
from .ad.shadow import has_containers
from .errors import ArgumentError, UnsupportedError


@dataclass(frozen=True)
class Plan:
    """Per parameter of a function, how its argument is passed.

    ``kinds``: "f" a double by value, "o" a non-const double* (written), "a" a const double*,
    "-" anything else.  ``written``: indices of the pointer parameters the function may write
    (every non-const one, unless a write analysis of its body says less); ``arrays``: indices
    of every pointer parameter (the candidates for aliasing)."""

    kinds: tuple[str, ...]
    written: tuple[int, ...]
    arrays: tuple[int, ...]
    scalars: bool = False  # every parameter a double by value


def plan_of(fn: ir.Function) -> Plan:
    """The argument plan of ``fn`` (see Plan)."""
    kinds = []
    for p in fn.params:
        t = p.type
        if t.ptr == 1 and t.base == "double":
            kinds.append("a" if t.const else "o")
        elif t.is_float and t.base == "double" and not (t.ref and not t.const):
            kinds.append("f")
        else:
            kinds.append("-")
    written = tuple(i for i, p in enumerate(fn.params) if p.type.ptr and not p.type.const)
    arrays = tuple(i for i, p in enumerate(fn.params) if p.type.ptr)
    return Plan(tuple(kinds), written, arrays, all(k == "f" for k in kinds))


def _described(a) -> str:
    """A few words for what the caller passed, for an error message."""
    if not isinstance(a, np.ndarray):
        return f"a {type(a).__name__}"
    what = []
    if not a.flags.writeable:
        what.append("read-only")
    if not a.flags.c_contiguous:
        what.append("non-contiguous (strided)")
    return f"a {' '.join(what + [str(a.dtype)])} array"


def output_array(fn: ir.Function, p: ir.Param, a, dtype) -> np.ndarray:
    """``a`` itself (flattened, without a copy) if the primal can write it in place; else an
    ArgumentError saying what to pass."""
    if (
        isinstance(a, np.ndarray)
        and a.dtype == dtype
        and a.flags.c_contiguous
        and a.flags.writeable
        and a.size
    ):
        return a.reshape(-1)
    if isinstance(a, np.ndarray) and a.size == 0:
        raise ArgumentError(f"argument '{p.name}' of {fn.name} is an empty array", fn.loc)
    raise ArgumentError(
        f"argument '{p.name}' of {fn.name} ({p.type.spell(p.name)}) can be written in place by "
        f"{fn.name}: pass a writable C-contiguous {np.dtype(dtype).name} numpy array (or declare the "
        f"parameter const); got {_described(a)}",
        fn.loc,
    )


def private_array(fn: ir.Function, p: ir.Param, a, dtype) -> np.ndarray:
    """A fresh C-contiguous copy of ``a`` with ``dtype``, for a derivative call: whatever the
    function writes there never reaches the caller's array (which may be read-only)."""
    where = f"argument '{p.name}' of {fn.name}"
    try:
        arr = np.asarray(a)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad argument
        raise ArgumentError(f"{where}: cannot convert to an array ({exc})", fn.loc) from None
    if arr.dtype.kind not in "biuf":
        raise ArgumentError(f"{where}: expected numbers, got an array of {arr.dtype}", fn.loc)
    if arr.size == 0:
        raise ArgumentError(f"{where} is an empty array", fn.loc)
    return np.array(arr, dtype=dtype, order="C", copy=True).reshape(-1)


def check_aliasing(fn: ir.Function, plan: Plan, args) -> None:
    """Refuse an array written by ``fn`` that shares memory with another array argument."""
    for i in plan.written:
        a = args[i]
        if not isinstance(a, (np.ndarray, memoryview)):
            continue
        for j in plan.arrays:
            b = args[j]
            if j == i or not isinstance(b, (np.ndarray, memoryview)):
                continue
            if _overlap(a, b):
                first, second = sorted((i, j))
                pa, pb = fn.params[first].name, fn.params[second].name
                raise ArgumentError(
                    f"arguments '{pa}' and '{pb}' of {fn.name} share memory, and "
                    f"'{fn.params[i].name}' is written by {fn.name}: its result would depend on the "
                    f"order of reads and writes, which derivatives do not follow; pass separate "
                    f"arrays (e.g. {fn.params[j].name}.copy())",
                    fn.loc,
                )


def _overlap(a, b) -> bool:
    if a is b:
        return True
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=100_000))
    except RuntimeError:  # numpy's TooHardError
        return True  # cannot tell cheaply: refuse rather than risk a wrong result


def record_argument(fn: ir.Function, p: ir.Param, a, private: bool):
    """A record argument: an object of the module's own class for the parameter's record type
    (``m.Params(1.5, -0.5)``), passed by value, reference or pointer (cppyy takes the object's
    address).  A primal call writes a non-const reference or pointer in place; a derivative
    call takes a copy of such an object, so the caller's object is never changed."""
    name = getattr(type(a), "__cpp_name__", "")
    own = name.split("::", 1)[1] if name.startswith("__pyclad_m") and "::" in name else None
    if own != p.type.base:
        raise ArgumentError(
            f"argument '{p.name}' of {fn.name} is {p.type.spell()}: pass an object of the module's "
            f"class {p.type.base} (e.g. m.{p.type.base.replace('::', '.')}(...)), got {_what(a)}",
            fn.loc,
        )
    if private and (p.type.ptr or p.type.ref) and not p.type.const:
        return type(a)(a)  # the copy constructor: the derivative may write it
    return a


def _what(a) -> str:
    name = getattr(type(a), "__cpp_name__", "")
    if name:
        return f"a {name.split('::', 1)[-1] if name.startswith('__pyclad_m') else name}"
    return f"a {type(a).__name__}"


def zeroed_record(cls, t: ir.Type):
    """A fresh object of the record class ``cls`` with every floating field zero: the start of
    a record's adjoint or tangent (default construction keeps default member initialisers).
    A record without a default constructor, or with private fields, is built by the runtime's
    ``zero_bits`` (every number zero) when it holds numbers only."""
    if not t.constructible or _hides_fields(t):
        import cppyy

        if has_containers(t):
            raise UnsupportedError(
                f"a zero of the record '{t.base}' (it has no default constructor or private fields, "
                "and holds containers) cannot be built from Python",
                t.defined_at,
            )
        return cppyy.gbl.pyclad.zero_bits[cls]()
    obj = cls()
    _zero_fields(obj, t)
    return obj


def _hides_fields(t: ir.Type) -> bool:
    return any(f.private or (f.type.kind == ir.RECORD and _hides_fields(f.type)) for f in t.fields)


def _zero_fields(obj, t: ir.Type) -> None:
    for f in t.fields:
        if f.type.ptr or f.type.ref or not f.type.carries_float:
            continue
        if f.type.dims:
            _zero_items(getattr(obj, f.name), f.type)
        elif f.type.kind == ir.RECORD:
            _zero_fields(getattr(obj, f.name), f.type)
        else:
            setattr(obj, f.name, 0.0)


def _zero_items(arr, t: ir.Type) -> None:
    """The elements of a fixed-size array field of type ``t``."""
    inner = t.element()
    for k in range(t.dims[0]):
        if inner.dims:
            _zero_items(arr[k], inner)
        elif inner.kind == ir.RECORD:
            _zero_fields(arr[k], inner)
        else:
            arr[k] = 0.0
