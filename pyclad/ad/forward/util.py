"""Tangent types (scalar, tape, vector mode) and the small helpers the forward modules share."""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...ir import Var
from .. import containers, memory
from ..records import box_width, split_shadows
from ..shadow import has_shadow as _shadowed  # noqa: F401 (used by the transform modules)
from ..shadow import is_record_value as _record_value  # noqa: F401
from ..shadow import tangent_type

PUSH, POP = "::pyclad::push", "::pyclad::pop"


def is_tape(t: ir.Type) -> bool:
    return t.base.startswith("::pyclad::tape<")


def vec_type(t: ir.Type, n: int) -> ir.Type:
    """The vector-mode tangent type of a value of type t."""
    if is_tape(t) and t.args and t.args[0].kind in ir.CONTAINERS:  # a tape of whole containers
        return ir.tape_of(vec_type(t.args[0], n))
    if is_tape(t):  # a tape of values or of (adjoint) pointers: a tape of their vector tangents
        stars = t.base[len("::pyclad::tape<") : -1].count("*")
        return ir.Type(f"::pyclad::tape<::pyclad::vec<{n}>{' ' + '*' * stars if stars else ''}>")
    if t.kind in ir.CONTAINERS and t.args[0].kind == ir.RECORD:  # of records: rows of their fields
        inner = ir.std_array_of(ir.Type(f"::pyclad::vec<{n}>"), box_width(t.args[0]))
        named = ir.vector_of(inner) if t.kind == ir.VECTOR else ir.std_array_of(inner, t.size)
        return named.derived(t.ptr, t.dims, const=t.const if t.ptr else False, ref=t.ref)
    if t.kind in ir.CONTAINERS:  # a container of tangent vectors, the same size
        inner = vec_type(t.args[0], n)
        named = ir.vector_of(inner) if t.kind == ir.VECTOR else ir.std_array_of(inner, t.size)
        return named.derived(t.ptr, t.dims, const=t.const if t.ptr else False, ref=t.ref)
    # A pointer to const tangents stays one; so does a const reference (a read-only shadow's field).
    return ir.Type(
        f"::pyclad::vec<{n}>", t.ptr, t.dims, const=t.const if t.ptr or t.ref else False, ref=t.ref
    )


def vectorize(fn: ir.Function, tangents: set[str], n: int, boxes: bool = False) -> ir.Function:
    """Retype the tangents of a forward-mode function as ``pyclad::vec<n>``: the same
    statements then carry n directional derivatives at once.  ``boxes``: a container of
    records may have a tangent (a container of rows of vectors, one per floating field;
    forward mode only)."""
    fn, tangents = split_shadows(fn, tangents, boxes)  # a record's shadow: one vector per field

    def retype(node):
        node = containers.vector_zero(node, tangents, n, vec_type)
        if isinstance(node, ir.Decl) and node.name in tangents:
            t = vec_type(node.type, n)
            init = memory.retyped(node.init, t.element()) if memory.allocation(node.init) else node.init
            return ir.Decl(node.name, t, init, node.loc)
        if (
            isinstance(node, ir.Assign)
            and isinstance(node.target, Var)
            and node.target.name in tangents
            and memory.allocation(node.value) is not None
        ):  # a tangent buffer: of vectors
            return replace(node, value=memory.retyped(node.value, node.target.type.element()))
        if isinstance(node, Var) and node.name in tangents:
            return Var(node.name, vec_type(node.type, n), node.loc)
        if (
            isinstance(node, ir.Call)
            and node.kind == ir.CONSTRUCTOR
            and node.type.is_container
            and "::pyclad::vec<" not in node.type.base
            and any("::pyclad::vec<" in a.type.base for a in node.args)
        ):  # std::vector<double>(k, dx) of a tangent: a container of tangent vectors
            t = vec_type(node.type, n)
            return replace(node, callee=t.base, spelling=t.base, type=t)
        if (
            isinstance(node, ir.Cast)
            and not node.implicit
            and any(isinstance(x, Var) and x.name in tangents for x in ir.walk(node.operand))
        ):
            return node.operand  # a cast between floating types: the tangent vector is unchanged
        return node

    params = tuple(
        ir.Param(p.name, vec_type(p.type, n), p.loc) if p.name in tangents else p for p in fn.params
    )
    return ir.Function(fn.name, fn.ret, params, ir.rebuild(fn.body, retype), fn.loc, fn.comment)


_is_null = ir.is_null  # a null pointer constant: its tangent is null as well


def _plain(t: ir.Type) -> ir.Type:
    return tangent_type(t)
