"""Vector forward mode: the forward transform with ``pyclad::vec<N>`` tangents.

One pass over the function gives the derivatives along N directions at once:
every scalar input, every element of an array, ``std::vector`` or ``std::array``
input in the requested ranges, and every floating field of a record input is one
direction (clad's vector mode; for records, ``Direction.start..stop`` index the
fields in declaration order, nested records flattened).  Array and container
tangents live in caller-supplied row-major buffers of ``rows x N`` doubles, which
is also how Jacobians (the tangent of an output array) and Hessians (the tangent
of a gradient's adjoint outputs) come out; how each parameter kind enters the
kernel is ad/vector_params.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..ir import Var, lit
from . import vector_params
from .forward import ForwardTransform, vectorize
from .pause import collector_paused
from .program import Program

DPTR = ir.Type("double", 1)


@dataclass(frozen=True)
class Direction:
    """Inputs ``param[start..stop]`` (inclusive; both None for a scalar) are
    directions ``offset``, ``offset + 1``, ..."""

    param: str
    start: int | None
    stop: int | None
    offset: int

    @property
    def size(self) -> int:
        return 1 if self.start is None else self.stop - self.start + 1


@dataclass(frozen=True)
class Buffer:
    """A ``rows x N`` tangent buffer parameter ``name`` of the tangent of ``param``
    (rows = the length of array ``param``); seeded when ``param`` is a direction."""

    name: str
    param: str
    direction: Direction | None


def directions_for(fn: ir.Function, specs) -> list[Direction]:
    """Directions from ``[(param, start, stop), ...]`` in the order given."""
    out, offset = [], 0
    for param, start, stop in specs:
        d = Direction(param, start, stop, offset)
        out.append(d)
        offset += d.size
    return out


@collector_paused
def vector_derivative(
    program: Program,
    fn: ir.Function,
    directions: list[Direction],
    name: str,
    comment: str = "",
    lanes: int | None = None,
) -> tuple[ir.Function, list[Buffer], int]:
    """``void name(params..., <buffers>..., [double* _d_result])``: one ``double*`` buffer
    per active array, container or record-pointer parameter, in parameter order.

    ``lanes``: the kernel carries that many directions whatever ``directions`` span, and a
    scalar direction's tangent comes from a one-row buffer too (a Jacobian driver seeds the
    buffers per pass of ``lanes`` columns); a scalar buffer nothing reads is left out."""
    n = lanes if lanes is not None else sum(d.size for d in directions)
    by_param = {d.param: d for d in directions}
    t = ForwardTransform(program, fn, set(by_param), vector=n)
    pre: list[ir.Stmt] = []
    params = list(fn.params)
    buffers: list[Buffer] = []
    exits: list[ir.Stmt] = []
    extra: set[str] = set()
    split: dict[int, vector_params.Setup] = {}  # position among the params -> record pointer
    for p in fn.params:
        if p.name not in t.active:
            continue
        d = t.names.derivative(p.name)
        direction = by_param.get(p.name)
        setup = None
        if p.type.kind in ir.CONTAINERS:
            setup = vector_params.container(program, fn, p, d, t.names.claim(f"{d}_buf"), n, direction)
        elif p.type.kind == ir.RECORD and p.type.ptr == 1 and not p.type.dims:
            setup = vector_params.record_pointer(fn, p, d, t.names.claim(f"{d}_buf"))
            split[len(params)] = setup
        elif p.type.kind == ir.RECORD and not p.type.ptr and not p.type.dims:
            setup = vector_params.record_value(fn, p, d, n, direction)
        if setup is not None:
            params += setup.params
            pre += setup.pre
            exits += setup.exit
            extra |= setup.tangents
            if setup.buffer:
                buffers.append(Buffer(setup.buffer, p.name, direction))
        elif p.type.ptr:
            raw = t.names.claim(f"{d}_buf")
            params.append(ir.Param(raw, DPTR))
            view = ir.Call(f"::pyclad::as_vec<{n}>", (Var(raw, DPTR),), p.type.value())
            pre.append(ir.Decl(d, ir.Type(p.type.base, 1), view))
            buffers.append(Buffer(raw, p.name, direction))
        elif lanes is not None and direction is not None:
            raw = t.names.claim(f"{d}_buf")
            params.append(ir.Param(raw, DPTR))
            view = ir.Call(f"::pyclad::as_vec<{n}>", (Var(raw, DPTR),), p.type.derived(1))
            pre.append(ir.Decl(d, ir.Type(p.type.base), ir.Unary("*", view, p.type.value())))
            buffers.append(Buffer(raw, p.name, direction))
        else:
            seed: ir.Expr = lit(0)
            if direction is not None:
                seed = ir.Call(f"::pyclad::vec<{n}>::unit", (lit(direction.offset, ir.INT),), ir.DOUBLE)
            pre.append(ir.Decl(d, ir.Type(p.type.base), seed))
    body = t.block_stmts(t.fn.body.stmts)
    read = {n.name for n in ir.walk(ir.Block(tuple(body))) if isinstance(n, Var)}
    # a scalar seed nothing reads (the result does not depend on that input) is not declared
    unread = {d.name for d in pre if _scalar_decl(d) and d.name not in read}
    pre = [d for d in pre if not (_scalar_decl(d) and d.name in unread)]
    if lanes is not None:  # the one-row buffers of scalars nothing reads
        gone = {b.name for b in buffers if b.param in by_param and t.names.derivative(b.param) in unread}
        params = [q for q in params if q.name not in gone]
        buffers = [b for b in buffers if b.name not in gone]
    result = None
    if fn.ret.is_float:
        result = t.names.claim("_d_result")
        params.append(ir.Param(result, DPTR))

    def store(node):
        if isinstance(node, ir.Return) and node.value is not None and result is not None:
            save = ir.Call("::pyclad::store", (node.value, Var(result, DPTR)), ir.VOID)
            return ir.Block((ir.ExprStmt(save), ir.Return(None)))
        return node

    body = vector_params.with_exits(pre + body, exits)
    out = ir.Function(name, ir.VOID, tuple(params), ir.Block(tuple(body)), fn.loc, comment)
    out = vectorize(out, t.tangent_names() | extra, n, boxes=True)
    out = vector_params.collapse(out, split, n)
    out = ir.Function(out.name, out.ret, out.params, ir.rebuild(out.body, store), out.loc, out.comment)
    return out, buffers, n


def _scalar_decl(s: ir.Stmt) -> bool:
    """A scalar tangent's declaration (records and containers are kept: their tangents are
    read field by field or stored back)."""
    return isinstance(s, ir.Decl) and not s.type.ptr and s.type.kind == ir.BUILTIN
