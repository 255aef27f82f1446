"""Dead forward-sweep updates: what a gradient's forward sweep need not run."""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...ir import Var
from .. import containers
from .util import _body
from .util import _pure_calls as _pure_builtins


def prune_forward(
    fwd: list[ir.Stmt],
    rest: list[ir.Stmt],
    locals_: set[str],
    recomputed: set[str] = frozenset(),
    pure_call=None,
    vanishing: dict[int, tuple[ir.While, ir.Stmt | None]] | None = None,
) -> list[ir.Stmt]:
    """Drop forward-sweep updates of local scalars that nothing reads any more.

    A gradient does not return the primal value, so an accumulator such as the
    ``s += ...`` of a sum is dead once the reverse sweep has what it needs.  ``pure_call``
    tells the calls of user functions that change nothing (``t = pull(a, b)`` goes whole
    when ``t`` is dead).  ``vanishing``: counted loops that go when their body is left with
    their counter's step alone, each with the statement starting the counter (sweep.py)."""
    vanishing = vanishing or {}
    records = _declared_records(fwd)
    locals_ = set(locals_) | records

    def built_purely(d: ir.Decl) -> bool:
        """Built by a constructor that changes nothing but the object (or by no call)."""
        c = d.init
        if isinstance(c, ir.Call) and c.kind == ir.CONSTRUCTOR and c.callee:
            c = replace(c, kind=ir.FUNCTION)  # its IR function: stores into its own object
            return (
                pure_call is not None and pure_call(c) and _pure_with(ir.InitList(c.args, d.type), pure_call)
            )
        return c is None or _pure_calls(c)

    def _pure_calls(e: ir.Expr) -> bool:
        return _pure_builtins(e) or (pure_call is not None and _pure_with(e, pure_call))

    seen: dict[int, tuple[ir.Stmt, str | None]] = {}  # each statement is judged once

    def candidate(s: ir.Stmt) -> str | None:
        hit = seen.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
        seen[id(s)] = (s, judge(s))
        return seen[id(s)][1]

    def judge(s: ir.Stmt) -> str | None:
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, (ir.Assign, ir.Step)):
            t = s.expr.target
            if isinstance(t, Var) and t.name in locals_ and not t.type.ptr and not t.type.dims:
                value = s.expr.value if isinstance(s.expr, ir.Assign) else None
                if value is None or _pure_calls(value) or _effect_call(s.expr):
                    return t.name
            root = _field_root(t)
            if (
                root is not None
                and root.name in locals_
                and isinstance(s.expr, ir.Assign)
                and _pure_calls(s.expr.value)
                and not ir.has_side_effects(t)
            ):
                return root.name  # a field of a local record
        return None

    def _effect_call(e) -> bool:  # r = g(x, t) with g writing t: the call stays, r can go
        return e.op == "=" and isinstance(_unwrap(e.value), ir.Call)

    def reads(stmts, out: set[str]) -> None:
        for s in stmts:
            if candidate(s) is not None:
                if isinstance(s.expr, ir.Assign):
                    ir.var_names(s.expr.value, out)
                    if not isinstance(s.expr.target, Var):  # the indices of a field store
                        out |= ir.var_names(s.expr.target) - {candidate(s)}
                continue
            if isinstance(s, ir.Block):
                reads(s.stmts, out)
                continue
            if isinstance(s, (ir.If, ir.While, ir.DoWhile, ir.For)):
                for c in ir.children(s):
                    if isinstance(c, ir.Expr):
                        ir.var_names(c, out)
                    else:
                        reads([c], out)
                if isinstance(s, ir.For):
                    reads(list(s.init), out)
                continue
            ir.var_names(s, out)

    dropped = [0]

    def drop(stmts, live: set[str]) -> list[ir.Stmt]:
        out = []
        for s in stmts:
            orig = s
            if isinstance(s, ir.Decl) and s.name in records and s.name not in live and built_purely(s):
                dropped[0] += 1  # a record nothing reads: its construction goes too
                continue
            name = candidate(s)
            if name is not None and name not in live:
                dropped[0] += 1
                if isinstance(s.expr, ir.Assign) and not _pure_calls(s.expr.value):
                    out.append(ir.ExprStmt(_unwrap(s.expr.value), s.loc))
                continue
            if isinstance(s, ir.Block):
                s = ir.Block(tuple(drop(s.stmts, live)), s.loc)
            elif isinstance(s, ir.If):
                s = replace(
                    s,
                    then=ir.Block(tuple(drop(_body(s.then), live))),
                    other=ir.Block(tuple(drop(_body(s.other), live))) if s.other is not None else None,
                )
                if not s.then.stmts and not _body(s.other) and _pure_calls(s.cond):
                    dropped[0] += 1  # both arms emptied: the test has nothing left to decide
                    continue
            elif isinstance(s, (ir.While, ir.DoWhile)):
                s = replace(s, body=ir.Block(tuple(drop(_body(s.body), live))))
                hit = vanishing.get(id(orig))
                if hit is not None and hit[0] is orig:
                    if len(s.body.stmts) == 1:  # only the counter steps
                        dropped[0] += 1
                        if out and out[-1] is hit[1]:
                            out.pop()
                        continue
                    vanishing[id(s)] = (s, hit[1])
            out.append(s)
        return out

    rest_reads: set[str] = set()
    reads(rest, rest_reads)
    rest_reads -= recomputed  # the reverse sweep computes these again before reading them
    while True:
        live = set(rest_reads)
        reads(fwd, live)
        dropped[0] = 0
        new = drop(fwd, live)
        if not dropped[0]:
            return fwd
        fwd = new


def _declared_records(fwd: list[ir.Stmt]) -> set[str]:
    """Record locals the forward sweep declares where the source does (built in place by a
    constructor, see sweep.construct_in_place): their field stores are as prunable as those
    of the locals declared at the top."""
    out: set[str] = set()
    for s in fwd:
        for n in ir.walk(s):
            if isinstance(n, ir.Decl) and n.type.is_record and not n.type.ptr and not n.type.ref:
                out.add(n.name)
    return out


def _field_root(e: ir.Expr) -> Var | None:
    """The record variable ``e`` stores a field of (``q.a``, ``s.in.b``, ``s.v[i]``, an element
    of an array field ``m.a[3 * r + c]``), if it
    stores into the variable itself (no pointer in between)."""
    if not isinstance(e, ir.Member) and not (isinstance(e, ir.Index) and isinstance(e.base, ir.Member)):
        return None
    while isinstance(e, (ir.Member, ir.Index)):
        e = e.operand if isinstance(e, ir.Member) else e.base
    return e if isinstance(e, Var) and e.type.is_record and not e.type.ref else None


def _unwrap(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Cast) and e.implicit:
        e = e.operand
    return e


CALLS = (ir.FUNCTION, ir.METHOD)
# <cmath> functions that change nothing but their result and have no derivative rule (the
# derivatives' rules are in rules.BUILTINS): calling them keeps a function pure.
LIBM_WITHOUT_RULES = frozenset({"lgamma", "tgamma", "erf", "erfc", "nearbyint", "rint", "lround"})


def _libm(c: ir.Call) -> bool:
    return c.callee in LIBM_WITHOUT_RULES and c.text.startswith(("::", "std::"))


def _pure_with(e: ir.Expr, pure_call) -> bool:
    """Only calls of math builtins and of functions ``pure_call`` accepts."""
    for n in ir.walk(e):
        if isinstance(n, (ir.Assign, ir.Step)):
            return False
        if isinstance(n, ir.Call) and not _pure_builtins(n) and not _libm(n) and not pure_call(n):
            return False
    return True


def pure_function(program, name: str, _seen: frozenset[str] = frozenset()) -> bool:
    """``name`` is a function (or method) pyclad has the body of that changes nothing but
    its result: no pointer to non-const or non-const reference parameter (nor a non-const
    receiver; a store through any pointer counts as a change), no
    store into a global, no memory allocated or freed, and calls of such functions, of
    container sizes and of math builtins only."""
    if name in _seen or name in program.pending:
        return False
    fn = program.function(name)
    if fn is None or any(
        (p.type.ptr and not p.type.const) or (p.type.ref and not p.type.const) for p in fn.params
    ):
        return False
    for n in ir.walk(fn.body):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.is_global or root.type.ptr or root.type.ref:
                return False
        elif isinstance(n, ir.Call) and not _pure_builtins(n):
            if containers.is_member(n) and n.spelling in ("size", "empty"):
                continue
            if _libm(n):
                continue
            if n.kind not in CALLS or not pure_function(program, n.callee, _seen | {name}):
                return False
    return True


def drop_unread(stmts: list[ir.Stmt], recomputations: set[int]) -> list[ir.Stmt]:
    """The reverse sweep without the recomputations (ids in ``recomputations``) of loop
    locals that no other statement of it reads (``t = k * (x[i + 1] - x[i])`` when every
    partial of ``t``'s uses is a constant)."""
    if not recomputations:
        return stmts
    read: set[str] = set()

    def reads(ss) -> None:
        for s in ss:
            if id(s) in recomputations:
                ir.var_names(s.expr.value, read)
                continue
            ir.var_names(s, read)

    def targets(ss, out: dict[int, str]) -> None:
        for s in ss:
            if id(s) in recomputations:
                out[id(s)] = s.expr.target.name
            else:
                targets([c for c in ir.children(s) if isinstance(c, ir.Stmt)], out)

    found: dict[int, str] = {}
    targets(stmts, found)
    reads(_flatten(stmts, recomputations))
    dead = {k for k, name in found.items() if name not in read}
    if not dead:
        return stmts
    return [_without(s, dead) for s in stmts if id(s) not in dead]


def _flatten(stmts, keep: set[int]) -> list[ir.Stmt]:
    """Every statement, nested ones included, the recomputations as themselves and the
    others stripped of nothing (``ir.var_names`` of a compound statement reads all of it,
    recomputations inside it included, so those are walked one by one)."""
    out = []
    for s in stmts:
        kids = [c for c in ir.children(s) if isinstance(c, ir.Stmt)]
        if id(s) in keep or not kids:
            out.append(s)
            continue
        out += [ir.ExprStmt(c) for c in ir.children(s) if isinstance(c, ir.Expr)]
        out += _flatten(kids, keep)
    return out


def _without(s: ir.Stmt, dead: set[int]) -> ir.Stmt:
    if isinstance(s, ir.Block):
        return ir.Block(tuple(_without(x, dead) for x in s.stmts if id(x) not in dead), s.loc)
    if isinstance(s, (ir.If, ir.While, ir.DoWhile, ir.For)):
        changes = {}
        for f in ("then", "other", "body"):
            b = getattr(s, f, None)
            if isinstance(b, ir.Block):
                changes[f] = _without(b, dead)
            elif isinstance(b, ir.Stmt) and id(b) in dead:
                changes[f] = ir.Block(())
        return replace(s, **changes)
    return s
