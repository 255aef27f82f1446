"""The shadow of a type: what the tangent (forward mode) and the adjoint (reverse mode) of
a value of that type is, declared and zeroed.

One place decides it, so that forward, reverse and vector modes agree:

- a floating scalar's shadow is a scalar of the same type;
- a pointer or array of floating storage is shadowed by a pointer or array of the same
  shape (tangents of read-only inputs stay read-only; adjoints are always writable);
- a record's shadow is a record of the same type (clad's convention), zero-initialised,
  its floating fields carrying the derivatives and its integer fields carried but never
  read;
- a standard container's shadow is a container of the same type and size.

A gradient takes the adjoint of every parameter it differentiates through a pointer
(``double* _d_x``, ``Params* _d_p``, ``std::vector<double>* _d_v``).
"""

from __future__ import annotations

from .. import emit, ir
from ..errors import UnsupportedError
from ..ir import Var
from . import record_zeros


def has_shadow(t: ir.Type) -> bool:
    """Values of this type have a tangent and an adjoint: floating storage (a scalar, or what
    a pointer, array or container holds), or records of it (containers of records too)."""
    return t.holds_float or (t.kind in (ir.RECORD, *ir.CONTAINERS) and t.carries_float)


def is_record_value(t: ir.Type) -> bool:
    """A record value (or reference) with floating fields: its shadow is a record too."""
    return t.is_record and t.carries_float


def is_container_value(t: ir.Type) -> bool:
    """A std::vector / std::array value holding floating data (a function may return one):
    its adjoint is a container of the same shape."""
    return t.is_container and t.carries_float and not t.ptr and not t.dims


def tangent_type(t: ir.Type) -> ir.Type:
    """The declared type of the tangent of a variable of type ``t``: its value type, const
    kept only below a pointer (the tangent of a read-only input is read-only too)."""
    return t.derived(t.ptr, t.dims, const=t.const if t.ptr else False)


def adjoint_type(t: ir.Type) -> ir.Type:
    """The declared type of the adjoint of a local variable of type ``t``: the same shape,
    never const (adjoints are written where the value is read-only)."""
    return t.derived(t.ptr, t.dims)


def adjoint_param_type(t: ir.Type) -> ir.Type:
    """The type of a gradient's or pullback's adjoint parameter for a parameter of type
    ``t``: a writable pointer to the named type (``double*`` for ``double``, ``const
    double&`` and ``const double*``; ``Params*`` for a record by value or reference)."""
    if t.kind in ir.CONTAINERS:
        value_initialised_zero(t)  # the runtime grows the adjoint of a container it resizes
    return t.named().derived(1)


def adjoint_pointee(t: ir.Type) -> ir.Type:
    """The type of ``*_d_p`` for the adjoint parameter of a parameter of type ``t``."""
    return t.named()


def zero(t: ir.Type) -> ir.Expr:
    """The zero of a scalar, record or fixed-size shadow of type ``t``, as an initialiser:
    ``0`` for arithmetic scalars, ``{}`` (value-initialised: every field zero) otherwise."""
    if t.is_float and t.kind == ir.BUILTIN:
        return ir.lit(0, t.plain())
    if t.kind == ir.BUILTIN and not t.ptr and not t.dims and t.base in ir.ARITHMETIC_BASES:
        return ir.Lit("false", t.plain()) if t.base == "bool" else ir.lit(0, t.plain())
    if t.kind == ir.RECORD and not t.ptr and not t.dims and not t.constructible and not has_containers(t):
        return ir.Call(ZERO_BITS, (), t.plain(), spelling=f"{ZERO_BITS}<{t.named().spell()}>")
    if t.kind == ir.RECORD and not t.ptr and not t.constructible:
        name = t.named().spell()
        raise UnsupportedError(
            f"a tangent or adjoint of '{name}', which has no default constructor: derivatives "
            f"declare zero shadows of it (add '{name.rsplit('::', 1)[-1]}() = default;')",
            t.defined_at,
        )
    if t.kind == ir.RECORD and not t.ptr and t.presets:
        return _zero_record(t)
    return ir.InitList((), t.plain())


ZERO_LIKE = "::pyclad::zero_like"
ZERO_BITS = "::pyclad::zero_bits"  # a record of numbers without a default constructor


def zero_like(e: ir.Expr) -> ir.Call:
    """A zero shadow shaped like the container ``e`` (nested containers too): same type,
    same size, every floating element zero (``pyclad::zero_like`` in the runtime, which
    value-initialises records of numbers; records holding containers inside it are zeroed
    field by field, see ad/record_zeros.py; records whose default construction sets fields
    are refused, value-initialising them would not be a zero)."""
    if record_zeros.needs_fields(e.type):
        return ir.Call(ZERO_LIKE, (e,), e.type.plain(), spelling=record_zeros.zeroing_lambda(e.type))
    value_initialised_zero(e.type, e)
    return ir.Call(ZERO_LIKE, (e,), e.type.plain(), spelling=ZERO_LIKE)


def value_initialised_zero(t: ir.Type, where=None) -> None:
    """Refuse a container of records whose value-initialisation is not a zero (default member
    initialisers, or a default constructor that sets a field to anything but zero): the
    runtime grows and zeroes the shadows of such containers element by element."""
    if t.kind in ir.CONTAINERS:
        return value_initialised_zero(t.args[0], where)
    if t.kind == ir.RECORD and t.presets and not record_zeros.needs_fields(t):
        raise UnsupportedError(
            f"a zero tangent or adjoint of a container of '{t.named().spell()}', whose default "
            "construction sets fields",
            getattr(where, "loc", None) or t.defined_at,
        )


def is_zero_shadow(e: ir.Expr) -> bool:
    """``e`` is a zero that ``zero`` made: ``{}``, a list of zeros, or a zeroed object."""
    if isinstance(e, ir.InitList):
        return all(ir.is_zero(x) or is_zero_shadow(x) for x in e.items)
    return isinstance(e, ir.Call) and not e.callee and not e.args and e.text.startswith(_ZEROED)


_ZEROED = "[] { "


def _zero_record(t: ir.Type) -> ir.Expr:
    """The zero of a record (or array of records) whose default construction sets fields,
    where ``{}`` would keep what a default member initialiser sets: every field listed for
    an aggregate (``{0, 0}``), else a zeroed object built in place."""
    if t.dims:
        inner = t.derived(t.ptr, t.dims[1:])
        return ir.InitList(tuple(zero(inner) for _ in range(t.dims[0])), t.plain())
    if t.aggregate:
        return ir.InitList(tuple(zero(f.type) for f in t.fields), t.plain())
    named = t.named()
    sets = []
    for f in t.fields:
        if f.type.dims and not f.type.presets:
            sets.append(f"for (auto& v : z.{f.name}) v = {{}};" if len(f.type.dims) == 1 else "")
            if len(f.type.dims) > 1:
                raise UnsupportedError(
                    f"a zero tangent or adjoint of '{named.spell()}' (its field '{f.name}' is a "
                    "multi-dimensional array and its default construction sets fields)"
                )
            continue
        if f.type.dims:
            raise UnsupportedError(
                f"a zero tangent or adjoint of '{named.spell()}' (its field '{f.name}' is an array "
                "of records whose default construction sets fields)"
            )
        sets.append(f"z.{f.name} = {emit.expr(zero(f.type))};")
    text = f"{_ZEROED}{named.spell()} z{{}}; {' '.join(sets)} return z; }}"
    return ir.Call("", (), t.plain(), spelling=text)


def has_containers(t: ir.Type) -> bool:
    """A record with a standard container among its fields (nested records included): its
    shadow is not a value-initialised record (the containers would be empty, and the record
    may have no default constructor) but a copy of the primal with every number zeroed."""
    return t.is_record and any(f.type.is_container or has_containers(f.type) for f in t.fields)


def shadow_parts(t: ir.Type, of: ir.Expr) -> list[ir.Expr]:
    """The parts of ``of`` (of type ``t``) that a shadow carries derivatives in, in field
    order: floating scalars and containers of floating data (``of.b2``, ``of.w1``)."""
    if t.dims:
        return [
            x
            for k in range(t.dims[0])
            for x in shadow_parts(t.element(), ir.Index(of, ir.lit(k, ir.INT), t.element()))
        ]
    if t.is_record:
        return [x for f in t.fields for x in shadow_parts(f.type, ir.Member(of, f.name, f.type.value()))]
    if t.is_container and t.carries_float:
        return [of]
    return [of] if t.is_float and t.kind == ir.BUILTIN and not t.ptr else []


def zero_parts(target: ir.Expr, t: ir.Type) -> list[ir.Stmt]:
    """Statements zeroing every part of ``target`` a shadow carries derivatives in: a
    floating field is 0, a container field is zeros of its own size (``zero_like``)."""
    out: list[ir.Stmt] = []
    for part in shadow_parts(t, target):
        value = zero_like(part) if part.type.is_container else ir.lit(0, part.type.plain())
        out.append(ir.ExprStmt(ir.Assign("=", part, value, part.type.plain())))
    return out


def shadow_decl(name: str, t: ir.Type, primal: ir.Expr) -> list[ir.Stmt]:
    """The declaration of a zero shadow ``name`` of the value ``primal`` (of type ``t``): a
    value-initialised record, or, for a record with containers, a copy of the primal (built
    like it, of its sizes) with every number zeroed, field by field."""
    ty = t.plain()
    if not has_containers(t):
        return [ir.Decl(name, ty, zero(ty))]
    return [ir.Decl(name, ty, primal), *zero_parts(Var(name, ty), t)]
