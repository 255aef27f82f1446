"""Fields of a differentiated record local that carry no derivative.

Activity is decided per variable (ad/activity.py): ``ps`` is active as soon as one field of
one particle is.  But the mass of ``Particle{x0[i], v0[i], mass[i]}``, taken from an input
the gradient is not taken w.r.t., is never anything but a constant: its adjoint would be
accumulated (``_d_ps[i].m += ...``) and never read, and the partials that feed it read
values (the force ``f[i]`` in ``v += dt * f[i] / m``) that then have to be saved for it.
So for each record local (or container or array of records) this finds the fields into which
no store ever puts a differentiated value; the reverse sweep treats them as constants.

A field stays active when a store into it (or into the whole record, or a value the
container stores: ``push_back``) has an active value, where a read of an inactive field is
itself inactive (a fixpoint).  A variable keeps all its fields active when it is a parameter
(its fields may be inputs), when a callee may write it (passed to a pointer or non-const
reference parameter, a non-const method, a call pyclad has no parameters for) or when its
address is taken.
"""

from __future__ import annotations

from ... import ir
from ...ir import Var
from .. import containers
from ..rules import BUILTINS
from .reads import member_path

FieldMap = dict[str, frozenset[str]]


def record_of(t: ir.Type) -> ir.Type | None:
    """The record type of a record, array of records or container of records."""
    while t.kind in ir.CONTAINERS and not t.ptr:
        t = t.args[0]
    return t if t.kind == ir.RECORD and not t.ptr else None


def inactive_fields(fn: ir.Function, body: ir.Block, active: set[str], callee_params) -> FieldMap:
    """Record local -> the names of its floating fields that carry no derivative."""
    params = {p.name for p in fn.params}
    cand: dict[str, set[str]] = {}
    for n in ir.walk(body):
        if isinstance(n, ir.Decl) and n.name in active and n.name not in params and not n.type.ref:
            rec = record_of(n.type)
            if rec is not None and not n.type.ptr:
                cand[n.name] = {f.name for f in rec.fields if f.type.carries_float}
    if not cand:
        return {}
    while True:
        view = {k: frozenset(v) for k, v in cand.items()}
        changed = False
        for n in ir.walk(body):
            for var, field in _activations(n, view, active, callee_params):
                if var in cand and (field is None or field in cand[var]):
                    if field is None:
                        cand[var] = set()
                    else:
                        cand[var].discard(field)
                    changed = True
        cand = {k: v for k, v in cand.items() if v}
        if not changed or not cand:
            return {k: frozenset(v) for k, v in cand.items()}


def field_active(e: ir.Expr, active: set[str], inactive: FieldMap, memo: dict | None = None) -> bool:
    """Some variable in ``e`` is active, reads of inactive fields aside (each node's answer
    kept in ``memo``, keyed by id with the node itself, as ``util._subtree_any`` does)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    stack: list[tuple[ir.Expr, list | None]] = [(e, None)]
    while stack:
        n, kids = stack.pop()
        if (h := memo.get(id(n))) is not None and h[0] is n:
            continue
        if isinstance(n, Var):
            memo[id(n)] = (n, n.name in active)
            continue
        if isinstance(n, ir.Member) and is_inactive_field(n, inactive):
            memo[id(n)] = (n, False)  # its indices are integers: nothing active in them
            continue
        if kids is None:
            kids = [c for c in ir.children(n) if isinstance(c, ir.Expr)]
            stack.append((n, kids))
            stack.extend((c, None) for c in kids)
            continue
        memo[id(n)] = (n, any(memo[id(c)][1] for c in kids))
    return memo[id(e)][1]


def is_inactive_field(e: ir.Expr, inactive: FieldMap) -> bool:
    """``e`` is (a part of) an inactive field of a record local (``ps[i].m``)."""
    if not inactive:
        return False
    path = member_path(e)
    if path is None or not path[1]:
        return False
    return path[1][0] in inactive.get(path[0].name, ())


def _activations(n, view: FieldMap, active: set[str], callee_params):
    """(variable, field or None for all) that node ``n`` makes active."""
    if isinstance(n, ir.Decl) and n.name in view and n.init is not None:
        yield from _stored(n.name, [], n.init, view, active)
    elif isinstance(n, (ir.Assign, ir.Step)):
        path = member_path(n.target)
        if path is not None and path[0].name in view:
            value = n.value if isinstance(n, ir.Assign) else None
            if value is not None:
                yield from _stored(path[0].name, path[1], value, view, active)
    elif isinstance(n, ir.Unary) and n.op == "&":
        root = ir.root_var(n.operand)
        if root is not None and root.name in view:
            yield root.name, None
    elif isinstance(n, ir.Call):
        yield from _call(n, view, active, callee_params)


def _stored(var: str, fields: list[str], value: ir.Expr, view, active):
    if fields:
        if field_active(value, active, view):
            yield var, fields[0]
        return
    if isinstance(value, ir.InitList) and value.type.kind == ir.RECORD:
        for f, item in zip(value.type.fields, value.items):
            if field_active(item, active, view):
                yield var, f.name
        return
    if field_active(value, active, view):
        yield var, None


def _call(c: ir.Call, view, active, callee_params):
    if containers.is_member(c):
        root = ir.root_var(c.args[0])
        if root is not None and root.name in view:
            if c.spelling in containers.READERS and c.spelling != "data":
                return
            for value in containers.stored(c):
                yield from _stored(root.name, [], value, view, active)
            if c.spelling not in containers.RESIZERS:
                yield root.name, None
        return
    if c.callee in BUILTINS and c.text.startswith("::"):
        return  # a math function: its arguments are values
    params = callee_params(c)
    for k, a in enumerate(c.args):
        root = ir.root_var(a.operand if isinstance(a, ir.Unary) and a.op == "&" else a)
        if root is None or root.name not in view:
            continue
        p = params[k] if params is not None and k < len(params) else None
        if p is None or p.type.ptr or (p.type.ref and not p.type.const):
            yield root.name, None
