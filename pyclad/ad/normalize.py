"""Control-flow normalisation for reverse mode.

Reverse mode replays a function's control flow backwards, so it wants a
function in a shape where that is easy:

- every local has a name of its own (declarations can then move to the top
  of the generated function, where the reverse sweep sees them);
- ``for`` loops become ``while`` loops whose body ends with the increment;
- ``switch`` becomes an if/else chain;
- ``return``, ``break`` and ``continue`` stand only at the end of a path: the
  statements that follow a branch that may exit move into the branches that
  fall through.  ``continue`` then does nothing and is dropped; a ``return``
  inside a loop sets ``_returned`` and breaks, and the code after the loop
  runs only when ``_returned`` is false.

After this, what ran in one execution of a block is fully described by the
branch taken at each ``if`` and the trip count of each loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import ir
from .names import Namer

RETURNED = "_returned"


@dataclass(frozen=True)
class Leave(ir.Stmt):
    """``break`` out of a switch: ends the path, emits nothing."""

    loc: object = None


class _Renamer:
    """``current`` maps each visible local to its new name (renamed ones only); each scope
    keeps what its declarations replaced, to put back when it closes.  (Rebuilding the
    mapping from all scopes at every statement made renaming quadratic in the locals.)"""

    def __init__(self, fn: ir.Function, namer: Namer):
        self.namer = namer
        self.declared = {p.name for p in fn.params}
        self.current: dict[str, str] = {}
        self.undo: list[list[tuple[str, str | None]]] = [[]]

    def mapping(self) -> dict[str, str]:
        return self.current

    def bind(self, old: str, new: str) -> None:
        self.undo[-1].append((old, self.current.get(old)))
        if old != new:
            self.current[old] = new
        else:
            self.current.pop(old, None)

    def expr(self, e):
        return ir.rename(e, self.current) if e is not None else None

    def scoped(self, fn, *args):
        self.undo.append([])
        try:
            return fn(*args)
        finally:
            for old, previous in reversed(self.undo.pop()):
                if previous is None:
                    self.current.pop(old, None)
                else:
                    self.current[old] = previous

    def stmts(self, stmts) -> tuple:
        return tuple(self.stmt(s) for s in stmts)

    def stmt(self, s: ir.Stmt) -> ir.Stmt:
        if isinstance(s, ir.Decl):
            init = self.expr(s.init)
            name = s.name
            if name in self.declared:
                name = self.namer.claim(s.name)
            self.declared.add(name)
            self.bind(s.name, name)
            return replace(s, name=name, init=init)
        if isinstance(s, ir.Block):
            return replace(s, stmts=self.scoped(self.stmts, s.stmts))
        if isinstance(s, ir.If):
            return replace(
                s,
                cond=self.expr(s.cond),
                then=self.scoped(self.stmt, s.then),
                other=self.scoped(self.stmt, s.other) if s.other is not None else None,
            )
        if isinstance(s, ir.For):

            def inner():
                init = self.stmts(s.init)
                return replace(
                    s,
                    init=init,
                    cond=self.expr(s.cond),
                    step=self.expr(s.step),
                    body=self.scoped(self.stmt, s.body),
                )

            return self.scoped(inner)
        if isinstance(s, ir.While):
            return replace(s, cond=self.expr(s.cond), body=self.scoped(self.stmt, s.body))
        if isinstance(s, ir.DoWhile):
            return replace(s, cond=self.expr(s.cond), body=self.scoped(self.stmt, s.body))
        if isinstance(s, ir.Switch):
            return replace(s, cond=self.expr(s.cond), body=self.scoped(self.stmt, s.body))
        return ir.rename(s, self.current)


def _stmts(s: ir.Stmt | None) -> list[ir.Stmt]:
    if s is None:
        return []
    return list(s.stmts) if isinstance(s, ir.Block) else [s]


def _contains(s, kinds, into_loops: bool) -> bool:
    if isinstance(s, kinds):
        return True
    if not into_loops and isinstance(s, (ir.While, ir.DoWhile, ir.For)):
        return False
    return any(_contains(c, kinds, into_loops) for c in ir.children(s) if isinstance(c, ir.Stmt))


def _falls_through(stmts: list[ir.Stmt]) -> bool:
    """Some path through ``stmts`` reaches their end (conservative: loops and switches may)."""
    for s in stmts:
        if isinstance(s, (ir.Return, ir.Break, ir.Continue, Leave)):
            return False
        if isinstance(s, ir.Block) and not _falls_through(list(s.stmts)):
            return False
        if isinstance(s, ir.If) and not (_falls_through(_stmts(s.then)) or _falls_through(_stmts(s.other))):
            return False
    return True


def _may_exit(s: ir.Stmt) -> bool:
    return _contains(s, (ir.Return,), True) or _contains(s, (ir.Break, ir.Continue, Leave), False)


class Normalizer:
    def __init__(self, fn: ir.Function, namer: Namer):
        self.fn = fn
        self.namer = namer
        self.uses_returned = False
        self.extra_decls: list[ir.Decl] = []
        self.guarding = 0  # > 0 while the code after a return is guarded by _returned

    def run(self) -> tuple[ir.Block, list[ir.Decl]]:
        body = _Renamer(self.fn, self.namer).stmt(self.fn.body)
        out = self.seq(_stmts(body), loop_depth=0)
        return ir.Block(tuple(out)), self.extra_decls

    def seq(self, stmts: list[ir.Stmt], loop_depth: int, cont: tuple = (), leave=None) -> list[ir.Stmt]:
        """``stmts`` with every exit at the end of its path.  ``cont`` is what a ``continue``
        runs before the next iteration (a for loop's increment); ``leave`` is ``(statements
        after the enclosing switch, the leave of the region they are in)``: where the
        switch's ``break`` and its last case go on."""
        out: list[ir.Stmt] = []
        for k, s in enumerate(stmts):
            if isinstance(s, ir.Block):  # names are unique: blocks can be flattened
                return out + self.seq(list(s.stmts) + stmts[k + 1 :], loop_depth, cont, leave)
            rest = stmts[k + 1 :]
            if isinstance(s, ir.Continue):
                return out + list(cont)  # the rest of this iteration is skipped, not the increment
            if isinstance(s, Leave):
                after, outer = leave if leave is not None else ((), None)
                return out + self.seq(list(after), loop_depth, cont, outer)
            if isinstance(s, ir.Break):
                return out + [s]
            if isinstance(s, ir.Return):
                if loop_depth:
                    self.uses_returned = True
                    flag = ir.Var(RETURNED, ir.BOOL)
                    return out + [
                        s,
                        ir.ExprStmt(ir.Assign("=", flag, ir.Lit("true", ir.BOOL), ir.BOOL)),
                        ir.Break(),
                    ]
                if self.guarding:
                    flag = ir.Var(RETURNED, ir.BOOL)
                    return out + [s, ir.ExprStmt(ir.Assign("=", flag, ir.Lit("true", ir.BOOL), ir.BOOL))]
                return out + [s]
            if isinstance(s, ir.If):
                if (
                    _may_exit(s)
                    and rest
                    and not loop_depth
                    and not _contains(s, (Leave,), False)
                    and _falls_through(_stmts(s.then))
                    and _falls_through(_stmts(s.other))
                ):
                    # Both arms may go on past the if, and some path in them returns: copying
                    # the rest into both arms would double it for each such if in a row. The
                    # returns set _returned instead, and the rest runs when it is false.
                    self.uses_returned = True
                    self.guarding += 1
                    try:
                        then = self.seq(_stmts(s.then), loop_depth, cont, leave)
                        other = self.seq(_stmts(s.other), loop_depth, cont, leave)
                        after = self.seq(rest, loop_depth, cont, leave)
                    finally:
                        self.guarding -= 1
                    flag = ir.Var(RETURNED, ir.BOOL)
                    guard = ir.If(flag, ir.Block(()), ir.Block(tuple(after)))
                    return out + [ir.If(s.cond, ir.Block(tuple(then)), ir.Block(tuple(other)), s.loc), guard]
                if _may_exit(s):
                    then = self.seq(_stmts(s.then) + rest, loop_depth, cont, leave)
                    other = self.seq(_stmts(s.other) + rest, loop_depth, cont, leave)
                    return out + [ir.If(s.cond, ir.Block(tuple(then)), ir.Block(tuple(other)), s.loc)]
                out.append(
                    ir.If(
                        s.cond,
                        ir.Block(tuple(self.seq(_stmts(s.then), loop_depth, cont, leave))),
                        ir.Block(tuple(self.seq(_stmts(s.other), loop_depth, cont, leave)))
                        if s.other is not None
                        else None,
                        s.loc,
                    )
                )
                continue
            if isinstance(s, ir.Switch):
                return out + self.switch(s, loop_depth, rest, cont, leave)
            if isinstance(s, (ir.For, ir.While, ir.DoWhile)):
                loop, pre = self.loop(s, loop_depth)
                out += pre + [loop]
                if _contains(loop, (ir.Return,), True):
                    flag = ir.Var(RETURNED, ir.BOOL)
                    return self._after_loop(out, flag, rest, loop_depth, bool(loop_depth), cont, leave)
                continue
            out.append(s)
        return out

    def _after_loop(self, out, flag, rest, loop_depth, in_loop: bool, cont, leave):
        then = ir.Block((ir.Break(),)) if in_loop else ir.Block(())
        other = ir.Block(tuple(self.seq(rest, loop_depth, cont, leave)))
        return out + [ir.If(flag, then, other)]

    def loop(self, s, loop_depth: int) -> tuple[ir.Stmt, list[ir.Stmt]]:
        if isinstance(s, ir.For):
            pre = self.seq(list(s.init), loop_depth)
            step = (ir.ExprStmt(s.step, s.loc),) if s.step is not None else ()
            body = _stmts(s.body) + list(step)
            cond = s.cond if s.cond is not None else ir.Lit("true", ir.BOOL)
            return ir.While(cond, ir.Block(tuple(self.seq(body, loop_depth + 1, step))), s.loc), pre
        # while and do-while: 'continue' goes straight to the condition
        body = ir.Block(tuple(self.seq(_stmts(s.body), loop_depth + 1)))
        if isinstance(s, ir.While):
            return ir.While(s.cond, body, s.loc), []
        return ir.DoWhile(body, s.cond, s.loc), []

    def switch(self, s: ir.Switch, loop_depth: int, rest, cont, leave) -> list[ir.Stmt]:
        """An if/else chain: each entry point runs the statements from its label on, then
        (at a ``break`` or the end of the switch) ``rest``, the statements after the switch.
        ``rest`` goes into each entry, not after the chain: an entry may also end in
        ``continue`` or ``return``, which must not run it."""
        name = self.namer.temp("_sw")
        ty = ir.Type("long")
        self.extra_decls.append(ir.Decl(name, ty, ir.Lit("0", ty)))
        sw = ir.Var(name, ty)
        stmts = [self._leave(x) for x in s.body.stmts] + [Leave(s.loc)]
        after = (tuple(rest), leave)
        entries: list[tuple[list[ir.Expr] | None, list[ir.Stmt]]] = []
        labels: list[ir.Expr] = []
        default_at = None
        for k, x in enumerate(stmts):
            if isinstance(x, ir.Case):
                labels.append(x.value)
            elif isinstance(x, ir.Default):
                default_at = k
            if isinstance(x, (ir.Case, ir.Default)):
                nxt = stmts[k + 1] if k + 1 < len(stmts) else None
                if not isinstance(nxt, (ir.Case, ir.Default)) and labels:
                    body = [y for y in stmts[k + 1 :] if not isinstance(y, (ir.Case, ir.Default))]
                    entries.append((labels, self.seq(body, loop_depth, cont, after)))
                    labels = []
        default_body = (
            self.seq(
                [y for y in stmts[default_at + 1 :] if not isinstance(y, (ir.Case, ir.Default))],
                loop_depth,
                cont,
                after,
            )
            if default_at is not None
            else self.seq(list(rest), loop_depth, cont, leave)
        )
        chain: ir.Stmt | None = ir.Block(tuple(default_body)) if default_body else None
        for vals, body in reversed(entries):
            cond: ir.Expr | None = None
            for v in vals:
                test = ir.Binary("==", sw, v, ir.BOOL)
                cond = test if cond is None else ir.Binary("||", cond, test, ir.BOOL)
            chain = ir.If(cond, ir.Block(tuple(body)), chain)
        assign = ir.ExprStmt(ir.Assign("=", sw, s.cond, ty), s.loc)
        return [assign] + ([chain] if chain is not None else [])

    def _leave(self, s: ir.Stmt) -> ir.Stmt:
        """Breaks that leave the switch (not those of loops inside it) become Leave."""
        if isinstance(s, ir.Break):
            return Leave(s.loc)
        if isinstance(s, (ir.For, ir.While, ir.DoWhile, ir.Switch)):
            return s
        if isinstance(s, ir.Block):
            return replace(s, stmts=tuple(self._leave(x) for x in s.stmts))
        if isinstance(s, ir.If):
            return replace(
                s, then=self._leave(s.then), other=self._leave(s.other) if s.other is not None else None
            )
        return s
