"""Clean-up of generated functions: no dead statements in the output.

A transform binds values to ``_tN`` temporaries and pairs variables with
tangents before it knows which of them the result will read; a derivative
often needs only some of the primal's values.  This pass removes every local
that nothing reads: its declaration and the statements that only store into
it.  A store whose value is a call (a pushforward writing its outputs) keeps
the call as a statement; a local with any other store that has effects is
kept whole.  A reference goes only when nothing mentions it (a store through
one is a store into another variable); parameters always stay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from .. import ir


def remove_dead_locals(fn: ir.Function, pure_call: Callable[[ir.Call], bool]) -> ir.Function:
    """``fn`` without the locals that are never read."""
    body = fn.body
    params = {p.name for p in fn.params}
    while True:
        dead = _dead(body, params, pure_call)
        if not dead:
            return ir.Function(fn.name, fn.ret, fn.params, body, fn.loc, fn.comment)
        body = _block(body, dead, pure_call)


def _store(s: ir.Stmt) -> tuple[str, ir.Expr | None, list[ir.Expr]] | None:
    """(variable, stored value, indices) when ``s`` only stores into a plain variable
    or into an element of a local array."""
    if isinstance(s, ir.ExprStmt):
        e = s.expr
        if isinstance(e, ir.Step) and isinstance(e.target, ir.Var) and not e.target.is_global:
            return e.target.name, None, []
        if isinstance(e, ir.Assign):
            t, indices = e.target, []
            while isinstance(t, ir.Index) and t.base.type.dims:  # an array, not a pointer
                indices.append(t.index)
                t = t.base
            if isinstance(t, ir.Var) and not t.is_global and (not indices or t.type.dims):
                return t.name, e.value, indices
    return None


def _dead(body: ir.Block, params: set[str], pure_call) -> set[str]:
    uses: Counter = Counter()
    stores: Counter = Counter()
    candidates: dict[str, bool] = {}  # name -> every initialiser and store is removable
    refs: set[str] = set()
    for n in ir.walk(body):
        if isinstance(n, ir.Var):
            uses[n.name] += 1
        elif isinstance(n, ir.Lit):  # sizeof(a): names inside literal text count as uses
            for word in re.findall(r"[A-Za-z_]\w*", n.text):
                uses[word] += 1
        elif isinstance(n, ir.Decl):
            if n.type.ref:
                refs.add(n.name)
            ok = n.name not in params and _removable(n.init, pure_call)
            candidates[n.name] = candidates.get(n.name, True) and ok
        elif (st := _store(n)) is not None:
            stores[st[0]] += 1
            if not _removable(st[1], pure_call) or not all(_pure(i, pure_call) for i in st[2]):
                candidates[st[0]] = False
    # A store through a reference is a store into another variable: a reference goes
    # only when nothing at all mentions it.
    return {
        name
        for name, ok in candidates.items()
        if ok and uses[name] == stores[name] and (name not in refs or uses[name] == 0)
    }


def _pure(e: ir.Expr | None, pure_call) -> bool:
    return e is None or all(
        not isinstance(n, (ir.Assign, ir.Step)) and (not isinstance(n, ir.Call) or pure_call(n))
        for n in ir.walk(e)
    )


def _call(e: ir.Expr | None) -> ir.Call | None:
    while isinstance(e, ir.Cast) and e.implicit:
        e = e.operand
    return e if isinstance(e, ir.Call) else None


def _removable(e: ir.Expr | None, pure_call) -> bool:
    """Pure, or a call whose effects can stay behind as a statement of its own."""
    c = _call(e)
    return _pure(e, pure_call) or (c is not None and all(_pure(a, pure_call) for a in c.args))


def _keep_effects(value: ir.Expr | None, loc, pure_call) -> list[ir.Stmt]:
    """What remains of a removed initialiser or store: its call, if that has effects."""
    c = _call(value)
    if c is not None and not pure_call(c):
        return [ir.ExprStmt(c, loc)]
    return []


def _stmts(stmts, dead: set[str], pure_call) -> tuple[ir.Stmt, ...]:
    out: list[ir.Stmt] = []
    for s in stmts:
        if isinstance(s, ir.Decl) and s.name in dead:
            out.extend(_keep_effects(s.init, s.loc, pure_call))
            continue
        st = _store(s)
        if st is not None and st[0] in dead:
            out.extend(_keep_effects(st[1], s.loc, pure_call))
            continue
        out.append(_stmt(s, dead, pure_call))
    return tuple(out)


def _block(b: ir.Block, dead: set[str], pure_call) -> ir.Block:
    return ir.Block(_stmts(b.stmts, dead, pure_call), b.loc)


def _stmt(s: ir.Stmt, dead: set[str], pure_call) -> ir.Stmt:
    if isinstance(s, ir.Block):
        return _block(s, dead, pure_call)
    if isinstance(s, ir.If):
        other = _stmt(s.other, dead, pure_call) if s.other is not None else None
        return ir.If(s.cond, _stmt(s.then, dead, pure_call), other, s.loc)
    if isinstance(s, ir.For):
        return ir.For(s.init, s.cond, s.step, _stmt(s.body, dead, pure_call), s.loc)
    if isinstance(s, ir.While):
        return ir.While(s.cond, _stmt(s.body, dead, pure_call), s.loc)
    if isinstance(s, ir.DoWhile):
        return ir.DoWhile(_stmt(s.body, dead, pure_call), s.cond, s.loc)
    if isinstance(s, ir.Switch):
        return ir.Switch(s.cond, _block(s.body, dead, pure_call), s.loc)
    return s
