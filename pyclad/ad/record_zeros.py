"""The zero shadow of a standard container of records that hold containers
(``std::vector<Layer>`` with ``struct Layer { std::vector<double> w; double b; }``).

The runtime's ``pyclad::zero_like`` zeroes numbers, containers of numbers and records of
numbers; it cannot see into a record holding a container (C++ has no reflection).  Such a
shadow is the primal copied and zeroed in place, number by number, by a generic lambda the
derivative spells out from the record's fields:

    [](auto _z) { for (auto& _e0 : _z) { _e0.w = ::pyclad::zero_like(_e0.w); _e0.b = 0; } return _z; }(ls)

so each element keeps its primal's sizes, as ``shadow.shadow_decl`` does for one record.
"""

from __future__ import annotations

from .. import ir


def needs_fields(t: ir.Type) -> bool:
    """A container (or array) type whose elements include a record holding a container."""
    if t.kind == ir.RECORD and not t.ptr and not t.dims:
        return any(f.type.kind in ir.CONTAINERS or needs_fields(f.type) for f in t.fields if not f.type.ptr)
    if t.dims or (t.kind in ir.CONTAINERS and not t.ptr):
        return needs_fields(t.element())
    return False


def zeroing_lambda(t: ir.Type) -> str:
    """The text of a generic lambda returning a zeroed copy of its argument of type ``t``."""
    return f"[](auto _z) {{ {' '.join(_zero(t, '_z', 0))} return _z; }}"


def _zero(t: ir.Type, target: str, depth: int) -> list[str]:
    """Statements setting every floating number of ``target`` (of type ``t``) to zero."""
    if t.ptr or t.ref or not t.carries_float:
        return []
    if t.kind == ir.RECORD and not t.dims:
        return [s for f in t.fields for s in _zero(f.type, f"{target}.{f.name}", depth)]
    if t.dims or t.kind in ir.CONTAINERS:
        if not needs_fields(t) and not has_records(t):
            return [f"{target} = ::pyclad::zero_like({target});"]
        e = f"_e{depth}"
        inner = " ".join(_zero(t.element(), e, depth + 1))
        return [f"for (auto& {e} : {target}) {{ {inner} }}"]
    return [f"{target} = 0;"]


def has_records(t: ir.Type) -> bool:
    """Records somewhere among the elements (the runtime zeroes only trivially constructible ones)."""
    while t.dims or (t.kind in ir.CONTAINERS and not t.ptr):
        t = t.element()
    return t.kind == ir.RECORD
