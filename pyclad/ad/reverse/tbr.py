"""To-be-recorded analysis: which of the saves the forward sweep makes the reverse sweep reads.

The rule.  The forward sweep saves a variable ``v`` at a write ``W`` so that the reverse
sweep, which restores ``v`` just before ``W``'s own reverse statements, sees ``v`` as it was
before ``W``.  That restored value is read only until the reverse sweep defines ``v`` again:
the restore belonging to an earlier write of ``v`` (the reverse sweep runs backwards), a
recomputation ``v = init``, or the end of the sweep.  So the save at ``W`` is needed exactly
when ``v`` is *live* just after its restore, in the ordinary sense of liveness, taking the
reverse sweep as the program.  Reads are the reverse statements' own (partials, indices,
calls of pullbacks, recomputations), the restores' indices, the loops' counters; at the
end of a pullback's sweep the memory it was handed through pointers and references is
live (its caller reads on).  The save of the inner ``a += w[i] * x[i]`` of a dot product
is dead: its partials do not read ``a``, and the restore of the outer ``a = 0`` defines
``a`` before anything reads it again.  The same goes for linear updates (``s -= x[j] * m``,
``v[i] += c * f[i]``) and integer counters whose inverse (``--i``) nothing needs.

Why it is exact.  Liveness over-approximates the reads along every path of the reverse
sweep (both arms of a branch, any number of trips of a loop): a restore found dead is
dead on every run, so dropping it changes ``v`` only where nothing reads ``v`` before it is
defined again.  A restore's own reads count only where it is live (strong liveness), so
that ``--k`` in a reversed loop does not keep itself alive from one trip to the next.  A restore counts as a definition whether it is kept or not: where it is
dropped, ``v`` is dead just after it, so whether it defines ``v`` there cannot change the
liveness of ``v`` before it.  Dropping a restore removes reads (of its index variables and
its tape) and never adds any, so the analysis drops restores until none is dead.

Storage through pointers.  A pointer local bound to some storage (``w1 = theta``,
``q = &a[i]``) makes the two one name for liveness: a read through either keeps the saves
of both.  A pointer's own value (re-seated by ``p = q``) is a name of its own (``p@``),
which the address of a store ``p[i] = ...`` reads.  A store into an element never ends the
liveness of the array it is in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from ...ir import Var
from .reads import Reader, member_path, overlaps, param_reads


@dataclass(frozen=True)
class Restore:
    """A statement of the reverse sweep that restores what ``site``'s save kept:
    ``target`` is the lvalue (or the integer an inverse step undoes)."""

    site: int
    target: ir.Expr


class _Unknown(Exception):
    """A statement the analysis does not model: then every save is kept."""


def dead_saves(
    body: ir.Block,
    reverse: list[ir.Stmt],
    restores: dict[int, tuple[ir.Stmt, Restore]],
    live_out: set[str],
    program=None,
    start: set[int] = frozenset(),
) -> set[int]:
    """The sites (see ``Restore``) whose restores nothing reads: their saves can go.

    ``body`` is the normalised function (for the pointers bound to storage), ``reverse``
    the reverse sweep in execution order, ``live_out`` the variables read after it;
    ``program`` has the generated callees whose reads of their arguments are known;
    ``start``: sites dropped whatever reads them (see untouched.py), part of the answer."""
    if not restores:
        return set(start)
    summary = (lambda name: param_reads(program, name)) if program is not None else None
    names = _Names(body, summary)
    dead: set[int] = set(start)
    while True:
        walk = _Liveness(names, restores, dead)
        try:
            walk.block(reverse, {names.content(v) for v in live_out})
        except _Unknown:
            return set(start)
        new = {r.site for _, r in restores.values() if r.site not in dead and r.site not in walk.live}
        if not new:
            return dead
        dead |= new


def sharing_storage(body: ir.Block, names: set[str]) -> set[str]:
    """``names`` with every variable that shares storage with one of them through a pointer
    the body binds (``p = buf``: a store through ``p`` changes what ``buf`` reads)."""
    groups = _Names(body)
    wanted = {groups.content(n) for n in names}
    return set(names) | {n for n in groups.parent if groups.content(n) in wanted}


class _Names:
    """Liveness tokens: one per variable, shared by a pointer and the storage it is bound to;
    a pointer's own value is ``name@``."""

    def __init__(self, body: ir.Block, summary=None):
        self.parent: dict[str, str] = {}
        self.reader = Reader(self.content, summary)
        for n in ir.walk(body):
            if isinstance(n, ir.Decl) and n.type.ptr and n.init is not None:
                ptr, value = n.name, n.init
            elif isinstance(n, ir.Assign) and isinstance(n.target, Var) and n.target.type.ptr:
                ptr, value = n.target.name, n.value
            else:
                continue
            for v in ir.walk(value):  # every variable the address is taken from
                if isinstance(v, Var) and (v.type.ptr or v.type.dims or _address_taken(value, v)):
                    self._union(ptr, v.name)
        self.shared = {self._find(k) for k in self.parent}

    def _find(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def _union(self, a: str, b: str) -> None:
        self.parent.setdefault(a, a)
        self.parent.setdefault(b, b)
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def content(self, name: str) -> str:
        return self._find(name)

    def alone(self, name: str) -> bool:
        """No pointer shares this variable's storage: assigning it defines all of it."""
        return self._find(name) not in self.shared

    def reads(self, e: ir.Expr, out: set[str]) -> None:
        self.reader.reads(e, out)

    def token(self, target: ir.Expr) -> str:
        """What a restore of ``target`` defines: the variable, or the field path in it."""
        if isinstance(target, Var) and target.type.ptr:
            return target.name + "@"
        path = member_path(target)
        if path is not None:
            var, fields, _ = path
            return ".".join([self.content(var.name), *fields])
        root = ir.root_var(target)
        if root is None:
            raise _Unknown
        return self.content(root.name)

    @staticmethod
    def kill(live: set[str], root: str) -> None:
        """The token ``root`` defined whole: none of its parts is live before."""
        for t in [t for t in live if overlaps(t, root) and len(t) >= len(root)]:
            live.discard(t)


def _address_taken(e: ir.Expr, v: Var) -> bool:
    return any(isinstance(n, ir.Unary) and n.op == "&" and ir.root_var(n.operand) is v for n in ir.walk(e))


class _Liveness:
    """One backward walk over the reverse sweep; ``live`` collects the sites whose target is
    live just after their restore on some visit (loops are walked to a fixpoint, over
    growing sets, so the union of the visits is the answer)."""

    def __init__(self, names: _Names, restores, dead: set[int]):
        self.names, self.restores, self.dead = names, restores, dead
        self.live: set[int] = set()

    def block(self, stmts, live: set[str]) -> set[str]:
        for s in reversed(stmts):
            live = self.stmt(s, live)
        return live

    def stmt(self, s: ir.Stmt, live: set[str]) -> set[str]:
        hit = self.restores.get(id(s))
        if hit is not None and hit[0] is s:
            r = hit[1]
            token = self.names.token(r.target)
            if r.site in self.dead or not any(overlaps(token, t) for t in live):
                return live  # dropped (or dead so far): it neither reads nor defines anything
            self.live.add(r.site)
        if isinstance(s, ir.Block):
            return self.block(s.stmts, live)
        if isinstance(s, ir.If):
            out = self.block(_stmts(s.then), live) | (self.block(_stmts(s.other), live) if s.other else live)
            self.names.reads(s.cond, out)
            return out
        if isinstance(s, (ir.For, ir.While)):
            return self.loop(s, live)
        if isinstance(s, ir.DoWhile):
            at_cond = set(live)
            while True:
                start = self.block(_stmts(s.body), at_cond)
                grown = at_cond | start | self._reads(s.cond)
                if grown == at_cond:
                    return start
                at_cond = grown
        if isinstance(s, ir.Decl):
            out = live - {s.name + "@"}
            self.names.kill(out, s.name)
            if s.init is not None:
                self.names.reads(s.init, out)
            return out
        if isinstance(s, ir.ExprStmt):
            return self.expr_stmt(s.expr, live)
        raise _Unknown  # break, return, switch: not in a reverse sweep this analysis knows

    def loop(self, s, live: set[str]) -> set[str]:
        """``init; while (cond) { body; step; }``: the live set at the test, to a fixpoint."""
        at_test = set(live)
        if s.cond is not None:
            self.names.reads(s.cond, at_test)
        while True:
            after_body = self.expr_stmt(s.step, at_test) if isinstance(s, ir.For) and s.step else at_test
            grown = at_test | self.block(_stmts(s.body), after_body)
            if grown == at_test:
                break
            at_test = grown
        if isinstance(s, ir.For):
            return self.block(list(s.init), at_test)
        return at_test

    def expr_stmt(self, e: ir.Expr, live: set[str]) -> set[str]:
        if isinstance(e, ir.Assign):
            out = set(live)
            t = e.target
            if e.op == "=" and isinstance(t, Var):
                if t.type.ptr:
                    out.discard(t.name + "@")
                elif self.names.alone(t.name):
                    self.names.kill(out, self.names.content(t.name))
            elif e.op != "=":  # a compound assignment reads its target
                self.names.reads(t, out)
            self._address(t, out)
            self.names.reads(e.value, out)
            return out
        if isinstance(e, ir.Step):
            out = set(live)
            self.names.reads(e.target, out)
            return out
        return live | self._reads(e)

    def _address(self, t: ir.Expr, out: set[str]) -> None:
        """What the address of a store target reads: its indices and its pointers' values."""
        while True:
            if isinstance(t, Var):
                if t.type.ptr:
                    out.add(t.name + "@")
                return
            if isinstance(t, ir.Index):
                self.names.reads(t.index, out)
                t = t.base
            elif isinstance(t, (ir.Cast, ir.Member)) or isinstance(t, ir.Unary) and t.op == "*":
                t = t.operand
            elif isinstance(t, ir.Binary) and t.op in "+-":
                self.names.reads(t.rhs, out)
                t = t.lhs
            else:
                self.names.reads(t, out)
                return

    def _reads(self, e: ir.Expr) -> set[str]:
        out: set[str] = set()
        self.names.reads(e, out)
        return out


def _stmts(s: ir.Stmt | None) -> list[ir.Stmt]:
    if s is None:
        return []
    return list(s.stmts) if isinstance(s, ir.Block) else [s]
