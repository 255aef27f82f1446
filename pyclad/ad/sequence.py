"""Side effects out of expressions, into statements of their own.

Both transforms run this pass first, so neither has to differentiate an
assignment, an increment or a comma operator in the middle of a value:

- ``double b = a--;``          -> ``double b = a; a--;``
- ``r += (a++) * 0.5;``        -> ``r += a * 0.5; a++;``
- ``return y = x * x;``        -> ``y = x * x; return y;``
- ``return (a = x * x, a + 1);`` -> ``a = x * x; return a + 1;``

A prefix increment or a nested assignment runs before the statement, which
then reads the variable it wrote; a postfix increment runs after it, and the
statement reads the old value.  That is C++'s meaning as long as nothing else
in the same full expression reads or writes the variable without a sequence
point in between -- which C++ leaves unspecified (or undefined), so it is
refused with a located error.  The left operand of a comma is a full
expression of its own, sequenced before the right one.

Left as they are, for the transforms to handle or refuse: side effects that
run only on some paths (in a branch of ``?:`` or on the right of ``&&`` and
``||``), side effects on pointers (``*p++``, which the transforms handle
themselves), the increment of a ``for`` loop (a statement already), and the condition of
a ``do``-``while`` loop whose body has a ``continue``.  A loop condition with side effects
becomes the first statements of the loop body, ending in ``if (!cond) break;``.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..errors import UnsupportedError
from .dispatch import exhaustive, handler
from .names import Namer

_EFFECTS = (ir.Assign, ir.Step)


def sequence(fn: ir.Function) -> ir.Function:
    """``fn`` with every side effect inside an expression moved to a statement of its own
    (``fn`` itself when there is none)."""
    if not any(_nested_effect(s) for s in ir.walk(fn.body) if isinstance(s, ir.Stmt)):
        return fn
    return replace(fn, body=_Sequencer(fn).block(fn.body))


def _full_exprs(s: ir.Stmt) -> list[ir.Expr]:
    """The full expressions the pass sequences in statement ``s`` (not a for loop's increment)."""
    if isinstance(s, ir.Decl):
        return [s.init] if s.init is not None else []
    if isinstance(s, (ir.ExprStmt, ir.Return)):
        e = s.expr if isinstance(s, ir.ExprStmt) else s.value
        return [e] if e is not None else []
    if isinstance(s, (ir.If, ir.Switch, ir.While, ir.DoWhile)):
        return [s.cond]
    if isinstance(s, ir.For):
        return [s.cond] if s.cond is not None else []
    return []


def _nested_effect(s: ir.Stmt) -> bool:
    for e in _full_exprs(s):
        top = e if isinstance(s, ir.ExprStmt) else None
        for n in ir.walk(e):
            if n is not top and (isinstance(n, _EFFECTS) or _is_comma(n)):
                return True
    return False


def _is_comma(e) -> bool:
    return isinstance(e, ir.Binary) and e.op == ","


def _movable(e: ir.Expr, top: ir.Expr | None) -> bool:
    """Every side effect in ``e`` (other than ``top``, the statement's own) always runs and
    writes a non-pointer value: the pass can move them all."""
    stack: list[tuple[ir.Expr, bool]] = [(e, False)]
    while stack:
        n, guarded = stack.pop()
        if isinstance(n, _EFFECTS) and n is not top and (guarded or not _plain_target(n.target)):
            return False
        if isinstance(n, ir.Cond):
            stack += [(n.cond, guarded), (n.then, True), (n.other, True)]
        elif isinstance(n, ir.Binary) and n.op in ("&&", "||"):
            stack += [(n.lhs, guarded), (n.rhs, True)]
        else:
            stack += [(c, guarded) for c in ir.children(n) if isinstance(c, ir.Expr)]
    return True


def _plain_target(t: ir.Expr) -> bool:
    """A scalar lvalue rooted in a variable (not a pointer: the transforms move pointers)."""
    return not t.type.ptr and not t.type.dims and ir.root_var(t) is not None


def _check_order(e: ir.Expr) -> None:
    """Refuse a variable that one side effect of ``e`` writes and another part of ``e`` reads or
    writes without a comma operator between them (C++ leaves the order unspecified)."""
    parent: dict[int, ir.Expr] = {}
    effects, reads = [], []
    for n in ir.walk(e):
        for c in ir.children(n):
            parent[id(c)] = n
        if isinstance(n, _EFFECTS):
            effects.append(n)
        elif isinstance(n, ir.Var):
            reads.append(n)
    for s in effects:
        root = ir.root_var(s.target)
        if root is None:
            continue
        above = set()
        x = s
        while x is not None:
            above.add(id(x))
            x = parent.get(id(x))
        for v in reads:
            if v.name != root.name:
                continue
            x = v
            while id(x) not in above:
                x = parent[id(x)]
            if x is not s and not _is_comma(x):
                raise UnsupportedError(
                    f"'{root.name}' is modified and also used elsewhere in the same expression: "
                    "C++ leaves the order unspecified; split the expression into statements",
                    s.loc or v.loc,
                )


def _continues(s: ir.Stmt) -> bool:
    """``s`` holds a ``continue`` of the loop it is the body of (not of a loop inside it)."""
    if isinstance(s, ir.Continue):
        return True
    if isinstance(s, (ir.For, ir.While, ir.DoWhile)):
        return False
    return any(_continues(c) for c in ir.children(s) if isinstance(c, ir.Stmt))


def _joined(first: ir.Stmt, rest: list[ir.Stmt]) -> ir.Block:
    head = list(first.stmts) if isinstance(first, ir.Block) else [first]
    return ir.Block(tuple(head + rest), first.loc)


class _Sequencer:
    """Rewrites statements; ``pre`` and ``post`` collect the statements that run before and
    after the full expression being rewritten."""

    def __init__(self, fn: ir.Function):
        self.fn = fn
        self.names = Namer.for_function(fn)
        self.pre: list[ir.Stmt] = []
        self.post: list[ir.Stmt] = []

    # ------------------------------------------------------------------ statements
    def block(self, b: ir.Block) -> ir.Block:
        out: list[ir.Stmt] = []
        for s in b.stmts:
            out += self.stmt(s)
        return replace(b, stmts=tuple(out))

    def stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        return handler(self, _STMT, s, "this position")(s)

    def body(self, s: ir.Stmt) -> ir.Stmt:
        out = self.stmt(s)
        return out[0] if len(out) == 1 else ir.Block(tuple(out), s.loc)

    def keep(self, s: ir.Stmt) -> list[ir.Stmt]:
        return [s]

    def block_stmt(self, s: ir.Block) -> list[ir.Stmt]:
        return [self.block(s)]

    def decl(self, s: ir.Decl) -> list[ir.Stmt]:
        if s.init is None:
            return [s]
        pre, init, post = self.full(s.init)
        return pre + [replace(s, init=init)] + post

    def expr_stmt(self, s: ir.ExprStmt) -> list[ir.Stmt]:
        return self.effect(s.expr, s.loc)

    def return_stmt(self, s: ir.Return) -> list[ir.Stmt]:
        if s.value is None:
            return [s]
        pre, value, post = self.full(s.value)
        if post:  # the statement after a return never runs: read the value first
            value = self.bind(value, self.fn.ret, pre)
        return pre + post + [replace(s, value=value)]

    def if_stmt(self, s: ir.If) -> list[ir.Stmt]:
        pre, cond, post = self.full(s.cond)
        if post:
            cond = self.bind(cond, cond.type, pre)
        other = self.body(s.other) if s.other is not None else None
        return pre + post + [replace(s, cond=cond, then=self.body(s.then), other=other)]

    def switch(self, s: ir.Switch) -> list[ir.Stmt]:
        pre, cond, post = self.full(s.cond)
        if post:
            cond = self.bind(cond, cond.type, pre)
        return pre + post + [replace(s, cond=cond, body=self.block(s.body))]

    def loop(self, s) -> list[ir.Stmt]:
        before: list[ir.Stmt] = []
        if isinstance(s, ir.For):
            init: list[ir.Stmt] = []
            for x in s.init:
                init += self.stmt(x)
            before, s = init[:-1], replace(s, init=tuple(init[-1:]))
        body = self.body(s.body)
        pre, cond, post = self.full(s.cond) if s.cond is not None else ([], None, [])
        if not pre and not post:
            loop = replace(s, body=body)
        elif isinstance(s, ir.DoWhile):
            if _continues(body):  # a continue would skip the condition's statements
                loop = replace(s, body=body)
            else:
                # bool _t; do { body; pre; _t = cond; post } while (_t);
                flag = self.flag(cond, before)
                test = ir.ExprStmt(ir.Assign("=", flag, cond, flag.type), s.loc)
                loop = replace(s, body=_joined(body, pre + [test] + post), cond=flag)
        else:
            # for (init; ; step) { pre; bool _t = cond; post; if (!_t) break; body }: a continue
            # still runs the increment, then the condition's statements
            test: list[ir.Stmt] = []
            flag = self.bind(cond, cond.type, test)
            leave = ir.If(ir.Unary("!", flag, ir.BOOL), ir.Break(s.loc), None, s.loc)
            forever = ir.Lit("true", ir.BOOL)
            loop = replace(
                s, cond=forever, body=_joined(ir.Block(tuple(pre + test + post + [leave])), [body])
            )
        return [ir.Block(tuple(before) + (loop,), s.loc)] if before else [loop]

    def flag(self, cond: ir.Expr, before: list[ir.Stmt]) -> ir.Var:
        """A variable declared before a loop to carry its condition."""
        ty = ir.Type(cond.type.base, cond.type.ptr)
        name = self.names.temp()
        before.append(ir.Decl(name, ty, None, cond.loc))
        return ir.Var(name, ty, cond.loc)

    def bind(self, value: ir.Expr, ty: ir.Type, pre: list[ir.Stmt]) -> ir.Var:
        plain = ir.Type(ty.base, ty.ptr)
        name = self.names.temp()
        pre.append(ir.Decl(name, plain, value, value.loc))
        return ir.Var(name, plain, value.loc)

    # ------------------------------------------------------------------ full expressions
    def full(self, e: ir.Expr, top: ir.Expr | None = None):
        """(statements before, ``e`` without side effects, statements after)."""
        if not any(n is not top and (isinstance(n, _EFFECTS) or _is_comma(n)) for n in ir.walk(e)):
            return [], e, []
        if not _movable(e, top):
            return [], e, []
        _check_order(e)
        saved = self.pre, self.post
        self.pre, self.post = [], []
        try:
            out = self.value(e) if top is None else self.parts(e)
            return self.pre, out, self.post
        finally:
            self.pre, self.post = saved

    def effect(self, e: ir.Expr, loc) -> list[ir.Stmt]:
        """Statements for ``e`` evaluated for its effects alone."""
        if _is_comma(e):
            return self.effect(e.lhs, loc) + self.effect(e.rhs, loc)
        top = e if isinstance(e, _EFFECTS) else None
        pre, out, post = self.full(e, top)
        keep = [ir.ExprStmt(out, loc)] if ir.has_side_effects(out) else []  # `x;` does nothing
        return pre + keep + post

    def parts(self, e: ir.Expr) -> ir.Expr:
        """The statement's own assignment or increment, its operands sequenced."""
        if isinstance(e, ir.Assign):
            return replace(e, target=self.value(e.target), value=self.value(e.value))
        return replace(e, target=self.value(e.target))

    def value(self, e: ir.Expr) -> ir.Expr:
        return handler(self, _EXPR, e, "this position")(e)

    def generic(self, e: ir.Expr) -> ir.Expr:
        changes = {}
        for f in e.__dataclass_fields__:
            v = getattr(e, f)
            if f in ("type", "loc") or not isinstance(v, (ir.Expr, tuple)):
                continue
            if isinstance(v, ir.Expr):
                nv = self.value(v)
                if nv is not v:
                    changes[f] = nv
            else:
                nt = tuple(self.value(x) if isinstance(x, ir.Expr) else x for x in v)
                if any(a is not b for a, b in zip(nt, v)):
                    changes[f] = nt
        return replace(e, **changes) if changes else e

    def guarded(self, e: ir.Expr) -> ir.Expr:
        """``?:``, ``&&``, ``||``: only the part that always runs can hold a side effect."""
        if isinstance(e, ir.Cond):
            return replace(e, cond=self.value(e.cond))
        if e.op in ("&&", "||"):
            return replace(e, lhs=self.value(e.lhs))
        if _is_comma(e):
            self.pre += self.effect(e.lhs, e.loc)
            return self.value(e.rhs)
        return self.generic(e)

    def assign(self, e: ir.Assign) -> ir.Expr:
        target = self.value(e.target)
        self.pre.append(ir.ExprStmt(replace(e, target=target, value=self.value(e.value)), e.loc))
        return target

    def step(self, e: ir.Step) -> ir.Expr:
        target = self.value(e.target)
        (self.pre if e.prefix else self.post).append(ir.ExprStmt(replace(e, target=target), e.loc))
        return target  # a prefix step reads the new value, a postfix one the old


_STMT = exhaustive(
    {
        ir.Decl: "decl",
        ir.ExprStmt: "expr_stmt",
        ir.Block: "block_stmt",
        ir.If: "if_stmt",
        ir.For: "loop",
        ir.While: "loop",
        ir.DoWhile: "loop",
        ir.Return: "return_stmt",
        ir.Switch: "switch",
        ir.Break: "keep",
        ir.Continue: "keep",
        ir.Case: "keep",
        ir.Default: "keep",
    },
    ir.Stmt,
    "sequencing statements",
)

_EXPR = exhaustive(
    {
        ir.Lit: "generic",
        ir.Var: "generic",
        ir.Unary: "generic",
        ir.Binary: "guarded",
        ir.Cond: "guarded",
        ir.Call: "generic",
        ir.Index: "generic",
        ir.Cast: "generic",
        ir.Member: "generic",
        ir.InitList: "generic",
        ir.Assign: "assign",
        ir.Step: "step",
    },
    ir.Expr,
    "sequencing expressions",
)
