"""Records in bulk from Python: lists of the module's record objects as arrays of records
(``const Particle* ps``, ``Particle ps[]``) and as ``std::vector<Particle>``, and zero
shadows shaped like a value (the adjoint of a record holding containers).

Rules, checked before any C++ runs:

- A pointer-to-record parameter takes one object of the module's class for the record
  (``m.Particle(...)``, a one-element array, as before) or a list or tuple of them: the C++
  sees them contiguous, copied into a fresh ``std::vector``.  A cppyy ``std::vector`` of the
  record passes its own storage.  Elements of another class, and an empty list, are an
  ArgumentError naming the parameter; so is a list shorter than a declared length
  (``Particle ps[3]``).  A numpy structured array is not taken: its layout is not the C++
  record's (padding, int fields), so a located ArgumentError says what to pass.
- A primal call writes back what the function wrote through a non-const pointer into the
  objects of the list given (each updated in place, as a record passed by reference is).
  Derivative calls work on copies and never change the caller's objects.
- The gradient w.r.t. an array of records is a list of records of the same length (one
  record when one object was passed); w.r.t. a ``std::vector<Particle>``, a list too.
- The adjoint of a record holding containers (``struct Layer { std::vector<double> w;
  double b; }``) is a copy of the primal with every number zero (``zero_like``), so its
  containers have the primal's sizes, as ad/shadow.py builds them in C++.
"""

from __future__ import annotations

import numpy as np

from . import ir
from .errors import ArgumentError

_LEN = "_pyclad_len"  # on the pointer passed: how many records it points to (the checked entry's length)
_KEEP = "_pyclad_keep"  # on the pointer passed: the std::vector owning the records


def is_record_pointer(t: ir.Type) -> bool:
    """A pointer-to-record parameter, which Python passes one record or an array of them."""
    return t.kind == ir.RECORD and t.ptr == 1 and not t.dims


def own_class_name(a) -> str | None:
    """The record's name when ``a`` is an object of a module's record class (else None)."""
    name = getattr(type(a), "__cpp_name__", "")
    return name.split("::", 1)[1] if name.startswith("__pyclad_m") and "::" in name else None


def _vector_of(cls):
    from .backends.jit import cppyy

    return cppyy().gbl.std.vector[cls]


def is_vector(a) -> bool:
    """``a`` is a cppyy ``std::vector`` (of anything)."""
    return getattr(type(a), "__cpp_name__", "").startswith("std::vector<")


def is_vector_of(a, record: str) -> bool:
    """``a`` is a cppyy ``std::vector`` of a module's class ``record``."""
    name = getattr(type(a), "__cpp_name__", "")
    return name.startswith("std::vector<__pyclad_m") and name.split("::", 2)[-1].rstrip(">").strip() == record


def is_array_argument(a) -> bool:
    """``a`` is what ``argument`` makes of a list of records (a pointer with a length)."""
    return hasattr(type(a), "__cpp_name__") and _LEN in getattr(a, "__dict__", {})


def length(a) -> int:
    """How many records the argument ``a`` passes: its array's length, 1 for one object."""
    return getattr(a, "__dict__", {}).get(_LEN, 1)


def _pointer(vec, n: int):
    """The pointer to pass for the records held by ``vec``, carrying their count."""
    ptr = vec.data()
    setattr(ptr, _LEN, n)
    setattr(ptr, _KEEP, vec)
    return ptr


def elements(fn: ir.Function, p: ir.Param, a, record: str) -> list:
    """The records of the list or tuple ``a``, each checked to be of the module's class ``record``."""
    where = f"argument '{p.name}' of {fn.name}"
    if isinstance(a, np.ndarray):
        raise ArgumentError(
            f"{where} is {p.type.spell()}: pass a list of the module's {record} objects "
            f"(m.{record.replace('::', '.')}(...)), not a numpy array (its layout is not the C++ record's)",
            fn.loc,
        )
    items = list(a)
    if not items:
        raise ArgumentError(f"{where} is an empty list of {record}", fn.loc)
    cls = type(items[0]) if own_class_name(items[0]) == record else None
    for k, x in enumerate(items):
        if type(x) is not cls and own_class_name(x) != record:  # the class compared once, not per object
            got = own_class_name(x) or getattr(type(x), "__cpp_name__", None) or type(x).__name__
            raise ArgumentError(
                f"{where} is {p.type.spell()}: element {k} is a {got}, not the module's class {record} "
                f"(m.{record.replace('::', '.')}(...))",
                fn.loc,
            )
    if p.extent is not None and len(items) < p.extent:
        raise ArgumentError(
            f"{where} is declared {record} {p.name}[{p.extent}], but the list passed has {len(items)} "
            "records",
            fn.loc,
        )
    return items


def argument(fn: ir.Function, p: ir.Param, a, private: bool):
    """The pointer to pass for a list (or tuple, or cppyy std::vector) of records ``a``."""
    record = p.type.base
    if is_vector_of(a, record):
        if not len(a):
            raise ArgumentError(f"argument '{p.name}' of {fn.name} is an empty std::vector", fn.loc)
        if p.extent is not None and len(a) < p.extent:
            elements(fn, p, list(a), record)  # the same error as for a short list
        vec = type(a)(a) if private and not p.type.const else a  # a derivative never writes the caller's
        return _pointer(vec, len(vec))
    items = elements(fn, p, a, record)
    vec = _vector_of(type(items[0]))()
    vec.reserve(len(items))
    for x in items:
        vec.push_back(x)
    return _pointer(vec, len(items))


def written_params(fn: ir.Function) -> tuple[int, ...]:
    """The parameters a primal call may write records through (non-const record pointers)."""
    return tuple(i for i, p in enumerate(fn.params) if is_record_pointer(p.type) and not p.type.const)


def write_back(args, conv, params: tuple[int, ...]) -> None:
    """After a primal call: copy what it wrote into its fresh arrays back into the caller's
    objects (the list given), so a list behaves as the records passed by reference would."""
    for i in params:
        a, c = args[i], conv[i]
        if not isinstance(a, (list, tuple)) or not is_array_argument(c):
            continue
        vec = c.__dict__[_KEEP]
        for k, x in enumerate(a):
            x.__assign__(vec[k])


def copy(a):
    """A private copy of a converted record argument (an array of records, or one object)."""
    if is_array_argument(a):
        vec = a.__dict__[_KEEP]
        return _pointer(type(vec)(vec), len(vec))
    return type(a)(a)


def zeros(cls, t: ir.Type, like):
    """A zero adjoint for the converted record argument ``like``: an array of as many zero
    records (each shaped like its primal), or one zero record."""
    if not is_array_argument(like):
        return zero_like(t, like, cls)
    vec = like.__dict__[_KEEP]
    return _pointer(zero_records(type(vec), t.named(), vec), len(vec))


def zero_records(vector_class, t: ir.Type, like):
    """A ``std::vector`` (of class ``vector_class``) of zero records of type ``t``, one per
    record of ``like``: value-initialised in C++ at once when that zeroes a record (the
    common case, and ~10^4 times faster than record by record from Python)."""
    if value_initialised_is_zero(t):
        return vector_class(len(like))
    out = vector_class()
    out.reserve(len(like))
    for k in range(len(like)):
        out.push_back(zero_like(t, like[k]))
    return out


def value_initialised_is_zero(t: ir.Type) -> bool:
    """``T{}`` zeroes every number of the record type ``t``: no default member initialiser or
    user default constructor, no container (its size would be lost), nested records alike."""
    if t.presets or not t.constructible:
        return False
    for f in t.fields:
        ft = f.type
        if ft.kind in ir.CONTAINERS and not ft.ptr:
            return False
        if ft.kind == ir.RECORD and not ft.ptr and not value_initialised_is_zero(ft.named()):
            return False
    return True


def to_python(buf):
    """An adjoint as the gradient returns it: a list of records for an array, else the record."""
    if is_array_argument(buf):
        vec = buf.__dict__[_KEEP]
        return [type(x)(x) for x in vec]
    return buf


# ---------------------------------------------------------------------------- zero shadows
def zero_like(t: ir.Type, like, cls=None):
    """A zero shadow of the record value ``like`` (of record type ``t``): a copy with every
    floating number zero, containers keeping their sizes (int fields are carried, never read).
    Without containers inside, a default-constructed object zeroed field by field (the
    record may have no copy constructor Python can call cheaply, and needs none)."""
    from .arguments import zeroed_record

    cls = cls or type(like)
    if not has_containers(t):
        return zeroed_record(cls, t.named())
    out = cls(like)
    zero_in_place(out, t.named())
    return out


def has_containers(t: ir.Type) -> bool:
    """A record with a standard container among its fields (nested records included)."""
    t = t.named() if t.kind == ir.RECORD else t
    return t.kind == ir.RECORD and any(
        f.type.kind in ir.CONTAINERS or has_containers(f.type) for f in t.fields if not f.type.ptr
    )


def zero_in_place(obj, t: ir.Type) -> None:
    """Every floating number of the record ``obj`` (type ``t``) set to zero, in place."""
    for f in t.fields:
        ft = f.type
        if ft.ptr or ft.ref or not ft.carries_float:
            continue
        if ft.dims or ft.kind in ir.CONTAINERS:
            _zero_items(getattr(obj, f.name), ft)
        elif ft.kind == ir.RECORD:
            zero_in_place(getattr(obj, f.name), ft)
        else:
            setattr(obj, f.name, 0.0)


def _zero_items(seq, t: ir.Type) -> None:
    """The elements of a fixed-size array or standard container ``seq`` of type ``t``, zeroed."""
    inner = t.element()
    if t.kind in ir.CONTAINERS and inner.base == "double" and inner.kind == ir.BUILTIN and len(seq):
        np.frombuffer(seq.data(), dtype=np.float64, count=len(seq))[:] = 0.0
        return
    for k in range(len(seq) if not t.dims else t.dims[0]):
        if inner.dims or inner.kind in ir.CONTAINERS:
            _zero_items(seq[k], inner)
        elif inner.kind == ir.RECORD:
            zero_in_place(seq[k], inner)
        else:
            seq[k] = 0.0


# ---------------------------------------------------------------------------- primal calls
SHIM = "__pyclad_by_pointer_"  # prefix of the forwarding functions below


def needs_shim(fn: ir.Function) -> bool:
    """A function with a pointer-to-record parameter: cppyy cannot pass anything to one
    declared as an array (``Particle ps[]``, ``Particle ps[3]``), so the primal is called
    through a forwarding function declaring it a pointer."""
    return any(is_record_pointer(p.type) for p in fn.params)


def shim_source(fn: ir.Function, callee: str) -> tuple[str, str]:
    """The name and C++ of the forwarding function calling ``callee`` (qualified) with
    ``fn``'s parameters, each record array taken as a pointer."""
    name = SHIM + fn.name.replace("::", "_")
    params = ", ".join(p.type.spell(p.name) for p in fn.params)
    args = ", ".join(p.name for p in fn.params)
    return name, f"inline decltype(auto) {name}({params}) {{ return {callee}({args}); }}\n"
