"""Tangents of container and record parameters in vector forward mode.

A direction is one scalar: an element of a ``std::vector<double>`` / ``std::array``
parameter, or one floating field of a record parameter (all of them, in declaration order,
nested records flattened: ``records.floating_leaves``).  How each kind enters the kernel:

- a container (by value, ``const&``, ``&``, or a pointer to one, as a gradient's
  ``_d_v``): a ``double*`` buffer of ``size x N`` (its size at entry) that seeds a local
  container of ``pyclad::vec<N>``; when the function can write the container (a non-const
  reference or pointer), the local tangents are stored back into the buffer at every exit
  (they are rows of a Jacobian or Hessian).  Such a container must keep its size.
- a record by value or reference: a local tangent record, seeded in the kernel (no buffer).
- a pointer to one record (a gradient's ``Params* _d_p``): a ``double*`` buffer with one
  row per floating field, viewed field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import ir
from ..errors import PycladError, UnsupportedError
from ..ir import Var, lit
from . import containers, shadow
from .program import Program
from .records import floating_leaves

DPTR = ir.Type("double", 1)


@dataclass
class Setup:
    """What one parameter adds to a vector-mode kernel."""

    params: list[ir.Param] = field(default_factory=list)  # after the primal's params
    pre: list[ir.Stmt] = field(default_factory=list)  # at the top of the body
    exit: list[ir.Stmt] = field(default_factory=list)  # before every return
    tangents: set[str] = field(default_factory=set)  # extra names vectorize retypes
    buffer: str = ""  # the caller's buffer parameter, if any
    record_rows: int = 0  # a record pointer: the buffer's rows (split after vectorize)


def leaf_count(t: ir.Type) -> int:
    """How many directions a record (or a pointer to one) spans: its floating fields."""
    return len(floating_leaves(t.named(), Var("_", t.named())))


def rows_of(t: ir.Type) -> int | None:
    """The rows of a parameter's tangent buffer when its type fixes them (a record, a
    std::array); None when the argument passed decides (pointers, std::vector)."""
    if t.kind == ir.RECORD:
        return leaf_count(t)
    if t.kind == ir.STD_ARRAY and not t.dims:
        return t.size
    return None


def container(program: Program, fn: ir.Function, p: ir.Param, d: str, raw: str, n: int, direction) -> Setup:
    """A container parameter (or a pointer to one): seeded from and stored to ``raw``.  A
    container that is neither a direction nor reached through a pointer (a gradient's
    adjoint output, whose tangents are Hessian rows) has tangents no caller reads: zeros
    of its size, free to grow with it."""
    t = p.type
    if direction is None and not t.ptr:
        return Setup(pre=[ir.Decl(d, t.named(), shadow.zero_like(Var(p.name, t.value())))])
    if t.args[0].kind in ir.CONTAINERS or not t.args[0].is_float or t.dims or t.ptr > 1:
        raise UnsupportedError(
            f"vector forward mode (Jacobians, Hessians) w.r.t. the parameter '{p.name}' ({t.spell()}): "
            "directions run over containers of floating numbers (std::vector<double>, std::array)",
            p.loc or fn.loc,
        )
    named = t.named()
    s = Setup(params=[ir.Param(raw, DPTR)], buffer=raw)
    like: ir.Expr = Var(p.name, t.value())
    if t.ptr:
        like = ir.Unary("*", Var(p.name, t), named)
    rows = d + "_rows" if t.ptr else d
    init = ir.Call(f"::pyclad::tangent_rows<{n}>", (Var(raw, DPTR), like), named)
    s.pre.append(ir.Decl(rows, named, init))
    if t.ptr:
        s.pre.append(ir.Decl(d, named.derived(1), ir.Unary("&", Var(rows, named), named.derived(1))))
        s.tangents = {rows}
    writable = t.ptr or (t.ref and not t.const)
    if writable:
        where = resized(program, fn, p.name)
        if where is not None:
            raise UnsupportedError(
                f"vector forward mode (Jacobians, Hessians) with the container '{p.name}' "
                f"({t.spell()}), whose size this call may change: its tangents are rows of a fixed "
                "size (the size at entry)",
                where,
            )
        store = ir.Call(f"::pyclad::store_rows<{n}>", (Var(rows, named), Var(raw, DPTR)), ir.VOID)
        s.exit.append(ir.ExprStmt(store))
    return s


def record_value(fn: ir.Function, p: ir.Param, d: str, n: int, direction) -> Setup:
    """A record by value or reference: a zero tangent record, its fields ``direction``
    covers seeded with unit vectors."""
    plain = shadow.tangent_type(p.type)
    _refuse_containers_in(fn, p)
    s = Setup(pre=[ir.Decl(d, plain, shadow.zero(p.type))])
    if direction is not None:
        leaves = floating_leaves(plain.named(), Var(d, plain))
        for k in range(direction.start, direction.stop + 1):
            unit = ir.Call(
                f"::pyclad::vec<{n}>::unit", (lit(direction.offset + k - direction.start, ir.INT),), ir.DOUBLE
            )
            s.pre.append(ir.ExprStmt(ir.Assign("=", leaves[k], unit, leaves[k].type)))
    return s


def record_pointer(fn: ir.Function, p: ir.Param, d: str, raw: str) -> Setup:
    """A pointer to one record: its tangent is a record pointer parameter that vectorize
    splits into one ``vec<N>*`` per floating field; ``collapse`` then makes them views of
    the rows of one buffer ``raw``."""
    _refuse_containers_in(fn, p)
    return Setup(params=[ir.Param(d, p.type.value())], buffer=raw, record_rows=leaf_count(p.type))


def _refuse_containers_in(fn: ir.Function, p: ir.Param) -> None:
    if shadow.has_containers(p.type.named()):
        raise UnsupportedError(
            f"vector forward mode (Jacobians, Hessians) w.r.t. the record '{p.name}' ({p.type.spell()}), "
            "which holds standard containers: take pyclad.gradient, or forward mode along one field "
            f"(wrt='{p.name}.<field>')",
            p.loc or fn.loc,
        )


def collapse(out: ir.Function, split: dict[int, Setup], n: int) -> ir.Function:
    """Replace each record pointer tangent's field parameters (``vec<N>* _d_p_a, ...``, as
    vectorize split them, in field order) by one ``double*`` buffer and views of its rows.
    ``split`` maps the position of each record pointer tangent among the parameters before
    vectorize to its setup."""
    if not split:
        return out
    params = list(out.params)
    pre: list[ir.Stmt] = []
    vec_ptr = ir.Type(f"::pyclad::vec<{n}>", 1)
    used = ir.var_names(out.body)
    for at in sorted(split, reverse=True):  # later ones first: earlier positions stay put
        s = split[at]
        shift = sum(split[k].record_rows - 1 for k in split if k < at)
        start = at + shift
        leaves = params[start : start + s.record_rows]
        params[start : start + s.record_rows] = [ir.Param(s.buffer, DPTR, leaves[0].loc)]
        view = ir.Call(f"::pyclad::as_vec<{n}>", (Var(s.buffer, DPTR),), vec_ptr)
        views = [
            ir.Decl(leaf.name, vec_ptr, view if k == 0 else ir.Binary("+", view, lit(k, ir.INT), vec_ptr))
            for k, leaf in enumerate(leaves)
            if leaf.name in used
        ]
        pre = views + pre
    return replace(out, params=tuple(params), body=ir.Block(tuple(pre) + out.body.stmts))


def with_exits(body: list[ir.Stmt], exit: list[ir.Stmt]) -> list[ir.Stmt]:
    """``body`` with ``exit`` run before every ``return`` and at its end."""
    if not exit:
        return body

    def before_return(node):
        if isinstance(node, ir.Return):
            return ir.Block((*exit, node))
        return node

    out = [ir.rebuild(s, before_return) for s in body]
    if not out or not isinstance(out[-1], ir.Return):
        out += exit
    return out


def resized(program: Program, fn: ir.Function, name: str, seen: frozenset = frozenset()):
    """Where ``fn`` may change the size of its container parameter ``name`` (a member that
    resizes, an assignment of a whole container, a call passing it on as a non-const
    reference or pointer to a function that does), or None."""
    seen = seen | {fn.name}
    for node in ir.walk(fn.body):
        if not isinstance(node, (ir.Call, ir.Assign)):
            continue
        if isinstance(node, ir.Assign):
            r = ir.root_var(node.target)
            whole = not isinstance(node.target, ir.Index) and node.target.type.ptr == 0
            if r is not None and r.name == name and node.target.type.kind in ir.CONTAINERS and whole:
                return node.loc or fn.loc
            continue
        if containers.is_member(node):
            r = ir.root_var(node.args[0])
            if r is not None and r.name == name and node.spelling in containers.RESIZERS.keys() - {"reserve"}:
                return node.loc or fn.loc
            continue
        for k, a in enumerate(node.args):
            r = ir.root_var(_strip(a))
            if r is None or r.name != name or a.type.kind not in ir.CONTAINERS:
                continue
            if _callee_resizes(program, node, k, seen):
                return node.loc or fn.loc
    return None


def _callee_resizes(program: Program, call: ir.Call, k: int, seen: frozenset) -> bool:
    """Whether argument ``k`` of ``call`` (a container) may be resized by the callee."""
    if call.callee in ("::pyclad::unresize", "::pyclad::match_size", "::pyclad::cut"):
        return True  # a gradient following its primal's size changes
    if program.registry.lookup(call.callee) is not None:
        return False  # a rule (std::fill, std::accumulate, ...): reads or writes elements only
    try:
        callee = program.function(call.callee)
    except PycladError:
        return False  # a body pyclad cannot read: the transform reports it
    if callee is None or callee.name in seen or k >= len(callee.params):
        return False
    q = callee.params[k]
    if q.type.const or not (q.type.ref or q.type.ptr):
        return False
    return resized(program, callee, q.name, seen) is not None


def _strip(e: ir.Expr) -> ir.Expr:
    return e.operand if isinstance(e, ir.Unary) and e.op == "&" else e


def leaf_paths(t: ir.Type) -> list[tuple[str, ...]]:
    """The field paths of a record's floating fields, in direction order (``("in", "b")``;
    an element of a field array is its index as a string)."""
    out = []
    for e in floating_leaves(t.named(), Var("_", t.named())):
        parts: list[str] = []
        while isinstance(e, (ir.Member, ir.Index)):
            parts.append(e.name if isinstance(e, ir.Member) else e.index.text)
            e = e.operand if isinstance(e, ir.Member) else e.base
        out.append(tuple(reversed(parts)))
    return out


def leaf_range(t: ir.Type, path: str = "") -> tuple[int, int]:
    """The directions (first, last, inclusive) of record type ``t`` that field ``path``
    (``"a"``, ``"in.b"``; "" for all of them) spans: a nested record's fields are adjacent."""
    want = tuple(path.split(".")) if path else ()
    hits = [k for k, parts in enumerate(leaf_paths(t)) if parts[: len(want)] == want]
    if not hits:
        raise UnsupportedError(f"'{path or t.spell()}' has no floating field to differentiate", t.defined_at)
    return hits[0], hits[-1]


def describe(fn: ir.Function, specs) -> str:
    """The directions of ``specs`` ((param, start, stop)) for a generated comment: ``x``,
    ``v[0:2]``, and a record's fields by name in direction order (``p{a, in.b, c}``)."""
    out = []
    for name, a, b in specs:
        p = fn.param(name)
        if p is not None and p.type.kind == ir.RECORD:
            paths = [".".join(x) for x in leaf_paths(p.type)[a : b + 1]]
            out.append(f"{name}{{{', '.join(paths)}}}")
        else:
            out.append(name if a is None else f"{name}[{a}:{b}]")
    return ", ".join(out)


def buffer_notes(fn: ir.Function, out: ir.Function, buffers, n: int) -> str:
    """Comment lines saying what each tangent buffer of kernel ``out`` holds and how the
    caller seeds it (the part of the contract the parameter list cannot say)."""
    lines = []
    for b in buffers:
        p = fn.param(b.param)
        rows = rows_of(p.type)
        size = (
            str(rows)
            if rows is not None
            else f"{b.param}.size()"
            if p.type.kind in ir.CONTAINERS and not p.type.ptr
            else f"len({b.param})"
        )
        seed = "zero"
        if b.direction is not None:
            d = b.direction
            seed = f"zero but row {d.start}+k, column {d.offset}+k = 1 for k < {d.size}"
        lines.append(f"\n{b.name}: {size} x {n} tangents of {b.param}; the caller sets it {seed}.")
    if out.params and out.params[-1].name.startswith("_d_result"):
        lines.append(f"\n{out.params[-1].name}: {n} derivatives of the result, one per direction.")
    return "".join(lines)


def field_type(t: ir.Type, path: str) -> ir.Type:
    """The type of field ``path`` (``"q.b"``) of record type ``t`` (or of what ``t`` points to)."""
    t = t.named()
    for part in path.split(".") if path else ():
        t = t.field_named(part).type.named()
    return t
