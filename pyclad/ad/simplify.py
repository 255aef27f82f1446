"""Clean-up of generated functions: no dead statements in the output.

A transform binds values to ``_tN`` temporaries and pairs variables with
tangents before it knows which of them the result will read.  This pass drops
the declarations nothing reads: a local whose initialiser is pure goes; one
whose initialiser is a call (a pushforward writing its outputs) keeps the call
as a statement.  Only declarations are removed, so control flow and every
store that something reads are untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from .. import ir


def remove_dead_locals(fn: ir.Function, pure_call: Callable[[ir.Call], bool]) -> ir.Function:
    """``fn`` without the local declarations that are never referenced."""
    body = fn.body
    while True:
        uses = Counter(n.name for n in ir.walk(body) if isinstance(n, ir.Var))
        new = _block(body, uses, pure_call)
        if new == body:
            return ir.Function(fn.name, fn.ret, fn.params, body, fn.loc, fn.comment)
        body = new


def _pure(e: ir.Expr | None, pure_call) -> bool:
    return e is None or all(
        not isinstance(n, (ir.Assign, ir.Step)) and (not isinstance(n, ir.Call) or pure_call(n))
        for n in ir.walk(e)
    )


def _stmts(stmts, uses, pure_call) -> tuple[ir.Stmt, ...]:
    out: list[ir.Stmt] = []
    for s in stmts:
        if isinstance(s, ir.Decl) and uses[s.name] == 0:
            if _pure(s.init, pure_call):
                continue
            if isinstance(s.init, ir.Call):
                out.append(ir.ExprStmt(s.init, s.loc))
                continue
        out.append(_stmt(s, uses, pure_call))
    return tuple(out)


def _block(b: ir.Block, uses, pure_call) -> ir.Block:
    return ir.Block(_stmts(b.stmts, uses, pure_call), b.loc)


def _stmt(s: ir.Stmt, uses, pure_call) -> ir.Stmt:
    if isinstance(s, ir.Block):
        return _block(s, uses, pure_call)
    if isinstance(s, ir.If):
        other = _stmt(s.other, uses, pure_call) if s.other is not None else None
        return ir.If(s.cond, _stmt(s.then, uses, pure_call), other, s.loc)
    if isinstance(s, ir.For):
        return ir.For(s.init, s.cond, s.step, _stmt(s.body, uses, pure_call), s.loc)
    if isinstance(s, ir.While):
        return ir.While(s.cond, _stmt(s.body, uses, pure_call), s.loc)
    if isinstance(s, ir.DoWhile):
        return ir.DoWhile(_stmt(s.body, uses, pure_call), s.cond, s.loc)
    if isinstance(s, ir.Switch):
        return ir.Switch(s.cond, _block(s.body, uses, pure_call), s.loc)
    return s
