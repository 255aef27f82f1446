"""Counted loops: loops the reverse sweep runs again from their bounds, with no trip count taped.

A for loop normalises to ``v = lo; while (v < hi) { body; ++v; }``.  When the body writes
neither ``v`` (but for that last ``++v``) nor what ``lo`` and ``hi`` read, and leaves only
through the test (no ``break``), the forward loop runs its body for ``v = lo, ..., hi - 1``
and the reverse sweep can run the reversed bodies for ``v = hi - 1, ..., lo`` straight from
the bounds::

    for (v = hi; v > lo;) {
        --v;
        <reverse of body>
    }

instead of counting the trips into ``_count``, pushing that count on a tape when the loop is
nested, and undoing ``++v`` trip by trip.  The reverse sweep reads ``lo`` and ``hi`` where the
reverse of the loop runs; like any value it reads, it restores what was overwritten since
(``note_reads``), so a bound that changes after the loop (an outer loop's counter) is right.
That restore is only sound for variables nothing can write behind the transform's back, so
the bounds read integer locals and by-value parameters whose address is never taken and
which no call can bind to a reference.  The form ``v > lo`` is exact for unsigned counters
and cannot overflow; it leaves ``v == hi`` rather than ``lo`` when the loop never ran, which
only matters if something reads ``v`` before the restore of ``v = lo`` that follows, and
nothing runs in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from ...ir import Var
from .util import _body, _pure_calls


@dataclass(frozen=True)
class Counted:
    """``var`` runs from ``lo`` up to ``hi`` (excluded) by ``++var`` at the end of each trip."""

    var: Var
    lo: ir.Expr
    hi: ir.Expr


def escaped(fn: ir.Function, body: ir.Block, callee_params) -> set[str]:
    """Variables that something other than a plain store may change: their address is taken,
    a reference is bound to them, they are a call's bare argument where the callee's
    parameter is a pointer or reference (or unknown), or they are reference parameters."""
    out = {p.name for p in fn.params if p.type.ref}
    for n in ir.walk(body):
        if isinstance(n, ir.Unary) and n.op == "&":
            root = ir.root_var(n.operand)
            if root is not None:
                out.add(root.name)
        elif isinstance(n, ir.Decl) and n.type.ref and n.init is not None:
            out |= {v.name for v in ir.walk(n.init) if isinstance(v, Var)}
        elif isinstance(n, ir.Call) and not _pure_calls(n):
            params = callee_params(n) if n.kind in (ir.FUNCTION, ir.METHOD) else None
            for k, a in enumerate(n.args):
                if not isinstance(a, Var):
                    continue
                p = params[k] if params is not None and k < len(params) else None
                if p is None or p.type.ref or p.type.ptr:
                    out.add(a.name)
    return out


def counted_loop(init: ir.Stmt | None, loop: ir.Stmt, unstable: set[str]) -> Counted | None:
    """The bounds of ``loop`` if it is a counted loop started by ``init`` (see the module
    docstring), else None.  ``unstable``: the variables ``escaped`` found."""
    if not isinstance(loop, ir.While) or init is None:
        return None
    start = _start(init)
    if start is None:
        return None
    var, lo = start
    hi = _upper(loop.cond, var)
    if hi is None or not _counter_type(var.type) or var.is_global or var.name in unstable:
        return None
    names = {var.name}
    for bound in (lo, hi):
        vars_ = _bound_vars(bound, var.type)
        if vars_ is None or vars_ & unstable or var.name in vars_:
            return None
        names |= vars_
    body = _body(loop.body)
    if not body or not _is_increment(body[-1], var):
        return None
    if any(_exits(s) or _writes_any(s, names) for s in body[:-1]):
        return None
    return Counted(var, lo, hi)


def reverse_loop(c: Counted, rev_body: list[ir.Stmt]) -> ir.For:
    """``for (v = hi; v > lo;) { --v; <rev_body> }``."""
    ty = c.var.type.value()
    start = ir.ExprStmt(ir.Assign("=", c.var, c.hi, ty))
    test = ir.Binary(">", c.var, c.lo, ir.BOOL)
    down = ir.ExprStmt(ir.Step("--", True, c.var, ty))
    return ir.For((start,), test, None, ir.Block((down, *rev_body)))


def _start(s: ir.Stmt) -> tuple[Var, ir.Expr] | None:
    if isinstance(s, ir.Decl) and s.init is not None and not s.type.ref and not s.type.dims:
        return Var(s.name, s.type.value()), s.init
    e = s.expr if isinstance(s, ir.ExprStmt) else None
    if isinstance(e, ir.Assign) and e.op == "=" and isinstance(e.target, Var):
        return e.target, e.value
    return None


def _upper(cond: ir.Expr, var: Var) -> ir.Expr | None:
    """``hi`` of ``var < hi`` (or ``hi > var``), the counter compared as it is, no conversion."""
    if not isinstance(cond, ir.Binary):
        return None
    if cond.op == "<" and _is_var(cond.lhs, var):
        return cond.rhs
    if cond.op == ">" and _is_var(cond.rhs, var):
        return cond.lhs
    return None


def _counter_type(t: ir.Type) -> bool:
    return t.is_integral and not t.ptr and not t.dims and not t.ref and t.kind != ir.RECORD


def _bound_vars(e: ir.Expr, counter: ir.Type) -> set[str] | None:
    """The variables a bound reads, or None if it is not made of integer literals, integer
    locals or by-value parameters, ``+ - *`` and integer casts, of the counter's own type."""
    if e.type.value().named() != counter.value().named() or e.type.ptr or e.type.dims:
        return None
    out: set[str] = set()
    for n in ir.walk(e):
        if isinstance(n, Var):
            if n.is_global or not _counter_type(n.type):
                return None
            out.add(n.name)
        elif isinstance(n, ir.Binary):
            if n.op not in ("+", "-", "*"):
                return None
        elif isinstance(n, ir.Cast):
            if not _counter_type(n.type):
                return None
        elif not isinstance(n, ir.Lit):
            return None
    return out


def _is_var(e: ir.Expr, var: Var) -> bool:
    return isinstance(e, Var) and e.name == var.name


def _is_increment(s: ir.Stmt, var: Var) -> bool:
    return (
        isinstance(s, ir.ExprStmt)
        and isinstance(s.expr, ir.Step)
        and s.expr.op == "++"
        and _is_var(s.expr.target, var)
    )


def _exits(s: ir.Stmt) -> bool:
    """A ``break`` of this loop (not of a loop nested in it) or a ``return`` anywhere."""
    if isinstance(s, (ir.Break, ir.Return)):
        return True
    if isinstance(s, (ir.While, ir.DoWhile, ir.For)):
        return any(isinstance(n, ir.Return) for n in ir.walk(s))
    return any(_exits(c) for c in ir.children(s) if isinstance(c, ir.Stmt))


def _writes_any(s: ir.Stmt, names: set[str]) -> bool:
    """``s`` stores into, steps, or declares again one of ``names``."""
    for n in ir.walk(s):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.name in names:
                return True
        elif isinstance(n, ir.Decl) and n.name in names:
            return True
    return False
