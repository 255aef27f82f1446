"""Forward mode: each active variable ``x`` is paired with a tangent ``_d_x``.

Every statement is preceded by its tangent statement, so ``x = x * y`` reads
the old ``x``.  An expression is transformed into a (value, tangent) pair; a
value that is needed twice (by the primal and by a tangent) is first bound to a
``_tN`` temporary together with its tangent ``_d_tN``, which keeps derivative
code linear in the size of the input (no expression swell).

Calls to user functions become calls to generated ``NAME_pushforward``
functions that return the value and write the tangent of the result through a
trailing reference parameter ``_d_return``; the same transform generates them,
so nested calls and recursion need nothing else, and higher orders apply the
transform again to its own output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .. import ir
from ..errors import NoDerivativeError, PycladError, UnsupportedError
from ..ir import Var, add, div, is_zero, lit, mul, neg, sub
from . import memory, shadow
from .activity import active_variables, writable
from .activity import depends as depends_on
from .dispatch import exhaustive, handler
from .memory import MARK, SAVE, UNDO
from .names import Namer, specialised
from .pause import collector_paused
from .program import Program
from .rules import Custom, Partials
from .sequence import sequence
from .simplify import remove_dead_locals

RETURN = "_d_return"
_TEMP = re.compile(r"_t\d+")
PUSH, POP = "::pyclad::push", "::pyclad::pop"


def is_tape(t: ir.Type) -> bool:
    return t.base.startswith("::pyclad::tape<")


def vec_type(t: ir.Type, n: int) -> ir.Type:
    """The vector-mode tangent type of a value of type t."""
    if is_tape(t):  # a tape of values or of (adjoint) pointers: a tape of their vector tangents
        stars = t.base[len("::pyclad::tape<") : -1].count("*")
        return ir.Type(f"::pyclad::tape<::pyclad::vec<{n}>{' ' + '*' * stars if stars else ''}>")
    return ir.Type(f"::pyclad::vec<{n}>", t.ptr, t.dims, const=t.const if t.ptr else False, ref=t.ref)


def vectorize(fn: ir.Function, tangents: set[str], n: int) -> ir.Function:
    """Retype the tangents of a forward-mode function as ``pyclad::vec<n>``: the same
    statements then carry n directional derivatives at once."""

    def retype(node):
        if isinstance(node, ir.Decl) and node.name in tangents:
            t = vec_type(node.type, n)
            init = memory.retyped(node.init, t.element()) if memory.allocation(node.init) else node.init
            return ir.Decl(node.name, t, init, node.loc)
        if (
            isinstance(node, ir.Assign)
            and isinstance(node.target, Var)
            and node.target.name in tangents
            and memory.allocation(node.value) is not None
        ):  # a tangent buffer: of vectors
            return replace(node, value=memory.retyped(node.value, node.target.type.element()))
        if isinstance(node, Var) and node.name in tangents:
            return Var(node.name, vec_type(node.type, n), node.loc)
        if (
            isinstance(node, ir.Cast)
            and not node.implicit
            and any(isinstance(x, Var) and x.name in tangents for x in ir.walk(node.operand))
        ):
            return node.operand  # a cast between floating types: the tangent vector is unchanged
        return node

    params = tuple(
        ir.Param(p.name, vec_type(p.type, n), p.loc) if p.name in tangents else p for p in fn.params
    )
    return ir.Function(fn.name, fn.ret, params, ir.rebuild(fn.body, retype), fn.loc, fn.comment)


@dataclass(frozen=True)
class Extra:
    """A tangent array parameter the caller supplies: shaped like param ``like``,
    zero except a 1 at ``seed`` (when given)."""

    name: str
    like: str
    seed: int | None


@collector_paused
def derivative(
    program: Program, fn: ir.Function, wrt: str, element: int | None, name: str
) -> tuple[ir.Function, list[Extra]]:
    """d fn / d wrt (or d fn / d wrt[element]) as a new function ``name``."""
    seeds = {wrt}
    t = ForwardTransform(program, fn, seeds)
    pre: list[ir.Stmt] = []
    params = list(fn.params)
    extras: list[Extra] = []
    for p in fn.params:
        if p.name not in t.active:
            continue
        d = t.names.derivative(p.name)
        if p.type.ptr:
            params.append(ir.Param(d, p.type.value()))
            extras.append(Extra(d, p.name, element if p.name == wrt else None))
        else:
            seed = 1 if p.name == wrt else 0
            pre.append(ir.Decl(d, _plain(p.type), lit(seed)))
    body = t.block_stmts(t.fn.body.stmts)
    what = f"{wrt}[{element}]" if element is not None else wrt
    comment = f"d {fn.name} / d {what}, forward mode."
    if extras:
        comment += "\n" + "\n".join(
            f"{e.name}: tangent of {e.like}; "
            + (f"all zeros but {e.name}[{e.seed}] = 1." if e.seed is not None else "all zeros.")
            for e in extras
        )
    out = ir.Function(name, fn.ret.value(), tuple(params), ir.Block(tuple(pre + body)), fn.loc, comment)
    return t.tidy(out), extras


@collector_paused
def pushforward(program: Program, fn: ir.Function, active_params: list[bool], vector: int = 0) -> str:
    """The name of fn's pushforward for this activity pattern; generated on first use.
    ``vector`` > 0: tangents are ``pyclad::vec<vector>`` (vector forward mode)."""
    name = specialised(f"{fn.name}_pushforward", fn, active_params) + (f"_vec{vector}" if vector else "")
    if program.has(name):
        return name
    program.reserve(name)
    seeds = {p.name for p, a in zip(fn.params, active_params) if a}
    t = ForwardTransform(program, fn, seeds, returns_pair=True, vector=vector)
    params = list(fn.params)
    for p, a in zip(fn.params, active_params):
        if a:
            params.append(ir.Param(t.names.derivative(p.name), p.type))
    if fn.ret.is_float:
        params.append(ir.Param(t.ret_name, ir.Type(fn.ret.base, ref=True)))
    body = t.block_stmts(t.fn.body.stmts)
    out = ir.Function(name, fn.ret, tuple(params), ir.Block(tuple(body)), fn.loc)
    if vector:
        out = vectorize(out, t.tangent_names(), vector)
    program.add(t.tidy(out))
    return name


def _pure_call(program: Program, c: ir.Call, seen: set[str]) -> bool:
    """The call has no effects: a math builtin, or a user function with no writable
    pointer/reference parameter, no store into a global, and only such calls itself."""
    try:
        fn = program.function(c.callee) if "::std::" not in c.text else None
    except PycladError:  # a body the front end cannot read: assume the worst
        return False
    if fn is None:
        return isinstance(program.registry.lookup(c.callee), Partials)
    if fn.name in seen:
        return True  # recursion: pure if the rest of the cycle is
    seen.add(fn.name)
    if any((p.type.ref or p.type.ptr) and not p.type.const for p in fn.params):
        return False
    for n in ir.walk(fn.body):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.is_global:
                return False
        elif isinstance(n, ir.Call) and not _pure_call(program, n, seen):
            return False
    return True


def _is_null(e: ir.Expr) -> bool:
    """A null pointer constant (its tangent is null as well)."""
    return isinstance(e, ir.Lit) and e.text in ("nullptr", "0", "NULL")


def _plain(t: ir.Type) -> ir.Type:
    return ir.Type(t.base, t.ptr, t.dims, const=t.const if t.ptr else False)


class ForwardTransform:
    def __init__(
        self, program: Program, fn: ir.Function, seeds: set[str], returns_pair=False, vector: int = 0
    ):
        self.program = program
        self.vector = vector
        self.fn = fn = sequence(fn)
        self.names = Namer.for_function(fn)
        self.active = active_variables(fn, seeds, self._callee_params)
        self.returns_pair = returns_pair
        self.ret_name = self.names.claim(RETURN) if returns_pair else ""
        self.pending: list[ir.Stmt] = []
        self.result_name: ir.Decl | None = None  # a declaration a call may bind its result to

    # ------------------------------------------------------------------ helpers
    def _callee_params(self, c: ir.Call):
        rule = self.program.registry.lookup(c.callee)
        if isinstance(rule, (Partials, Custom)):
            return None  # a custom derivative stands for the body, which need not be readable
        f = self.program.function(c.callee)
        return f.params if f is not None else None

    def tidy(self, out: ir.Function) -> ir.Function:
        """The finished function: dead locals removed, temporaries numbered in reading order."""
        out = remove_dead_locals(out, self.is_pure_call)
        original = Namer.for_function(self.fn).used
        temp_of = {
            d: t for t, d in self.names._derivative.items() if _TEMP.fullmatch(t) and t not in original
        }
        order: list[str] = []
        for n in ir.walk(out.body):
            name = n.name if isinstance(n, (Var, ir.Decl)) else None
            if name and _TEMP.fullmatch(name) and name not in original:
                t = name
            elif name in temp_of:
                t = temp_of[name]
            else:
                continue
            if t not in order:
                order.append(t)
        mapping = dict(zip(order, sorted(order, key=lambda x: int(x[2:]))))
        old_d = {self.names._derivative[t] for t in order if t in self.names._derivative}
        for t in order:
            if t in self.names._derivative:
                mapping[self.names._derivative[t]] = f"_d_{mapping[t]}"
        taken = {n.name for n in ir.walk(out.body) if isinstance(n, (Var, ir.Decl))} - old_d - set(order)
        taken |= {p.name for p in out.params}
        if any(v in taken for v in mapping.values()) or all(k == v for k, v in mapping.items()):
            return out
        return ir.Function(out.name, out.ret, out.params, ir.rename(out.body, mapping), out.loc, out.comment)

    def is_pure_call(self, c: ir.Call) -> bool:
        """A call without effects (a math builtin, or a user function that writes nothing
        outside itself), so an unused result can go."""
        return _pure_call(self.program, c, set())

    def tangent_names(self) -> set[str]:
        """Every name this transform gave to a tangent."""
        return set(self.names._derivative.values()) | ({self.ret_name} if self.ret_name else set())

    def tangent_var(self, v: Var) -> ir.Expr | None:
        if v.name in self.active and not v.is_global:
            return Var(self.names.derivative(v.name), v.type)
        return lit(0) if v.type.is_float else None

    def hoist(self, value: ir.Expr, tangent: ir.Expr | None = None) -> tuple[ir.Expr, ir.Expr | None]:
        """Bind a value (and its tangent) to ``_tN`` / ``_d_tN`` unless it is atomic."""
        if ir.is_atomic(value):
            return value, tangent
        name = self.names.temp()
        ty = _plain(value.type.value())
        self.pending.append(ir.Decl(name, ty, value))
        v = Var(name, ty)
        if tangent is not None and not is_zero(tangent) and not ir.is_atomic(tangent):
            dname = self.names.derivative(name)
            self.pending.append(ir.Decl(dname, ty, tangent))
            tangent = Var(dname, ty)
        return v, tangent

    def pure(self, e: ir.Expr) -> ir.Expr:
        """A primal-only expression that is about to be used twice: hoisted if it has effects."""
        if ir.has_side_effects(e):
            name = self.names.temp()
            ty = _plain(e.type.value())
            self.pending.append(ir.Decl(name, ty, e))
            return Var(name, ty)
        return e

    def sub_pending(self, fn, *args):
        saved, self.pending = self.pending, []
        try:
            result = fn(*args)
            return result, self.pending
        finally:
            self.pending = saved

    def unsupported(self, what: str, node) -> UnsupportedError:
        return UnsupportedError(
            f"{what} is not supported in forward mode", getattr(node, "loc", None) or self.fn.loc
        )

    # ------------------------------------------------------------------ statements
    def block_stmts(self, stmts, in_switch: bool = False) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        for s in stmts:
            new = self.stmt(s)
            if in_switch and not isinstance(s, ir.Decl) and any(isinstance(x, ir.Decl) for x in new):
                new = [ir.Block(tuple(new), s.loc)]
            out.extend(new)
        return out

    def body(self, s: ir.Stmt) -> ir.Stmt:
        new = self.stmt(s)
        if len(new) == 1 and isinstance(new[0], ir.Block):
            return new[0]
        return ir.Block(tuple(new), s.loc)

    def stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        assert not self.pending
        return handler(self, _STMT, s, "forward mode", self.fn.loc)(s)

    def block_stmt(self, s: ir.Block) -> list[ir.Stmt]:
        return [ir.Block(tuple(self.block_stmts(s.stmts)), s.loc)]

    def if_stmt(self, s: ir.If) -> list[ir.Stmt]:
        self.check_cond(s.cond)
        other = self.body(s.other) if s.other is not None else None
        if isinstance(s.other, ir.If) and len(other.stmts) == 1:
            other = other.stmts[0]
        return [ir.If(s.cond, self.body(s.then), other, s.loc)]

    def while_stmt(self, s: ir.While) -> list[ir.Stmt]:
        self.check_cond(s.cond)
        return [ir.While(s.cond, self.body(s.body), s.loc)]

    def do_stmt(self, s: ir.DoWhile) -> list[ir.Stmt]:
        self.check_cond(s.cond)
        return [ir.DoWhile(self.body(s.body), s.cond, s.loc)]

    def switch_stmt(self, s: ir.Switch) -> list[ir.Stmt]:
        self.check_cond(s.cond)
        return [ir.Switch(s.cond, ir.Block(tuple(self.block_stmts(s.body.stmts, True))), s.loc)]

    def keep(self, s: ir.Stmt) -> list[ir.Stmt]:
        return [s]

    def flush(self, *stmts: ir.Stmt) -> list[ir.Stmt]:
        out = self.pending + list(stmts)
        self.pending = []
        return out

    def decl(self, s: ir.Decl) -> list[ir.Stmt]:
        if (
            s.type == ir.AUTO
            and isinstance(s.init, ir.Call)
            and "custom_derivatives::" in s.init.callee
            and any(depends_on(a, self.active) for a in s.init.args)
        ):
            # A custom NAME_pushforward in code being differentiated again (order > 1).
            raise NoDerivativeError(
                f"the custom derivative '{s.init.callee}' cannot be differentiated again: "
                "higher orders through a custom derivative are not supported",
                s.init.loc or s.loc,
            )
        if is_tape(s.type) and s.name in self.active:  # a gradient's tape: its tangent is a tape too
            return [ir.Decl(self.names.derivative(s.name), s.type, None, s.loc), s]
        if s.name not in self.active or not s.type.holds_float:
            if isinstance(s.init, ir.Call):  # int k = h(x, y): h may write active outputs
                v, _ = self.expr(s.init)
                return self.flush(ir.Decl(s.name, s.type, v, s.loc))
            if s.init is not None:
                self.check_cond(s.init)
            return [s]
        d = self.names.derivative(s.name)
        if s.type.dims:
            if isinstance(s.init, ir.InitList):
                vals, tans = self.init_list(s.init)
                return self.flush(
                    ir.Decl(d, _plain(s.type), tans, s.loc), ir.Decl(s.name, s.type, vals, s.loc)
                )
            if s.init is not None:
                raise self.unsupported("this array initialiser", s)
            return [ir.Decl(d, _plain(s.type), ir.InitList((), s.type), s.loc), s]
        if s.init is None:
            return [ir.Decl(d, _plain(s.type), lit(0) if s.type.is_float else None, s.loc), s]
        if s.type.ptr and memory.allocation(s.init) is not None:  # its tangent buffer beside it
            element = shadow.tangent_type(s.type).element()
            t = memory.shadow_allocation(s.init, element, self.tangent_value)
            return self.flush(ir.Decl(d, _plain(s.type), t, s.loc), s)
        if s.type.ref and not s.type.const:
            v, t = self.lvalue(s.init)
        elif isinstance(s.init, ir.Call) and s.type.is_float and not s.type.ref:
            # double y = exp(x) / g(x): the call binds its result to y itself (no copy of a temporary)
            self.result_name = s
            v, t = self.expr(s.init)
            self.result_name = None
            if isinstance(v, Var) and v.name == s.name:
                if isinstance(t, Var) and t.name == d:
                    return self.flush()
                return self.flush(ir.Decl(d, _plain(s.type), t if t is not None else lit(0), s.loc))
        else:  # a const reference may bind a temporary; its tangent then binds one too
            v, t = self.expr(s.init)
        if t is None or (is_zero(t) and not s.type.is_float):
            if s.type.ptr and _is_null(v):
                t = v
            elif s.type.ptr or s.type.ref:
                raise self.unsupported("binding an active pointer or reference to inactive storage", s)
            else:
                t = lit(0)
        return self.flush(
            ir.Decl(d, _plain(s.type) if not s.type.ref else s.type, t, s.loc),
            ir.Decl(s.name, s.type, v, s.loc),
        )

    def init_list(self, e: ir.InitList) -> tuple[ir.InitList, ir.InitList]:
        """Values and tangents of a (possibly nested) array initialiser."""
        vals, tans = [], []
        for x in e.items:
            v, t = self.init_list(x) if isinstance(x, ir.InitList) else self.expr(x)
            vals.append(v)
            tans.append(t if t is not None else lit(0))
        return ir.InitList(tuple(vals), e.type), ir.InitList(tuple(tans), e.type)

    def expr_stmt(self, s: ir.ExprStmt) -> list[ir.Stmt]:
        e = s.expr
        if isinstance(e, ir.Assign):
            return self.assign(e, s.loc)
        if isinstance(e, ir.Binary) and e.op == ",":
            return self.stmt(ir.ExprStmt(e.lhs, s.loc)) + self.stmt(ir.ExprStmt(e.rhs, s.loc))
        if isinstance(e, ir.Step):
            tstep = self.pointer_step(e)
            # The tangent of x++ is the tangent of x; an active pointer moves with its tangent.
            return [s] if tstep is None else [ir.ExprStmt(tstep, s.loc), s]
        if isinstance(e, ir.Call):
            if memory.released(s) is not None or e.callee in (SAVE, MARK, UNDO):
                return self.memory_stmt(s)
            v, _ = self.expr(e)
            if isinstance(v, ir.Call):
                return self.flush(ir.ExprStmt(v, s.loc))
            return self.flush()
        self.check_cond(e)
        return [s]

    def memory_stmt(self, s: ir.ExprStmt) -> list[ir.Stmt]:
        """``delete[] t`` (and a gradient's deferred release of ``t``): the tangent buffer is
        released with it.  ``::pyclad::save(_log, x)`` of a gradient's undo log: the tangent of
        ``x`` is saved too (the same undo restores both); ``mark`` / ``undo`` stay as they are."""
        e = s.expr
        if e.callee in (MARK, UNDO):
            return [s]
        if e.callee == SAVE:
            target = e.args[1]
            root = ir.root_var(target)
            if root is None or root.name not in self.active or not target.type.holds_float:
                return [s]
            _, t = self.lvalue(target)
            return [ir.ExprStmt(ir.Call(SAVE, (e.args[0], t), ir.VOID, e.loc), s.loc), s]
        pointer = memory.released(s)
        _, t = self.expr(pointer)
        if t is None or is_zero(t) or _is_null(t):
            return [s]
        return [memory.release_call(s, t), s]

    def tangent_value(self, e: ir.Expr) -> ir.Expr:
        """The tangent of a pure expression (0 for one that carries none)."""
        _, t = self.expr(e)
        return t if t is not None else lit(0)

    def assign(self, e: ir.Assign, loc) -> list[ir.Stmt]:
        root = ir.root_var(e.target)
        if root is None:
            raise self.unsupported("this assignment target", e)
        if root.is_global and any(isinstance(n, Var) and n.name in self.active for n in ir.walk(e.value)):
            raise self.unsupported(f"storing a differentiated value in global '{root.name}'", e)
        if root.name not in self.active or not e.target.type.holds_float:
            if isinstance(e.value, ir.Call):  # k = h(x, y): h may write active outputs
                v, _ = self.expr(e.value)
                return self.flush(ir.ExprStmt(ir.Assign(e.op, e.target, v, e.type), loc))
            self.check_cond(e.value)
            return [ir.ExprStmt(e, loc)]
        if not e.target.type.is_float and e.op in ("+=", "-="):  # pointer moved: p += k
            tv, tt = self.lvalue(e.target)
            off = self.pure(e.value)
            return self.flush(
                ir.ExprStmt(ir.Assign(e.op, tt, off, tt.type), loc),
                ir.ExprStmt(ir.Assign(e.op, tv, off, tv.type), loc),
            )
        if not e.target.type.is_float:  # pointer re-seated: p = q (+ k)
            tv, tt = self.expr(e.target)
            if memory.allocation(e.value) is not None and tt is not None:  # its tangent buffer beside it
                t = memory.shadow_allocation(
                    e.value, shadow.tangent_type(e.target.type).element(), self.tangent_value
                )
                return self.flush(ir.ExprStmt(ir.Assign("=", tt, t, tt.type), loc), ir.ExprStmt(e, loc))
            v, t = self.expr(e.value)
            if t is None and _is_null(v):
                t = v
            if tt is None or t is None:
                raise self.unsupported("re-seating an active pointer to inactive storage", e)
            return self.flush(
                ir.ExprStmt(ir.Assign("=", tt, t, tt.type), loc),
                ir.ExprStmt(ir.Assign("=", tv, v, tv.type), loc),
            )
        tv, tt = self.lvalue(e.target)
        v, t = self.expr(e.value)
        t = t if t is not None else lit(0)
        op = e.op
        ty = e.target.type.value()
        if op in ("=", "+=", "-="):
            if is_zero(t) and op != "=":
                tangent = None
            else:
                tangent = ir.Assign(op, tt, t, ty)
        elif op == "*=":
            if is_zero(t):
                tangent = ir.Assign("*=", tt, v, ty) if ir.is_atomic(v) else None
                if tangent is None:
                    v, _ = self.hoist(v)
                    tangent = ir.Assign("*=", tt, v, ty)
            else:
                v, t = self.hoist(v, t)
                tangent = ir.Assign("=", tt, add(mul(tt, v), mul(tv, t)), ty)
        elif op == "/=":
            v, t = self.hoist(v, t)
            if is_zero(t):
                tangent = ir.Assign("/=", tt, v, ty)
            else:
                tangent = ir.Assign("=", tt, div(sub(mul(tt, v), mul(tv, t)), mul(v, v)), ty)
        else:
            raise self.unsupported(f"operator '{op}' on a floating value", e)
        primal = ir.ExprStmt(ir.Assign(op, tv, v, e.type), loc)
        if tangent is None:
            return self.flush(primal)
        return self.flush(ir.ExprStmt(tangent, loc), primal)

    def for_stmt(self, s: ir.For) -> list[ir.Stmt]:
        init: list[ir.Stmt] = []
        for x in s.init:
            init.extend(self.stmt(x))
        if s.cond is not None:
            self.check_cond(s.cond)
        step = s.step
        temps: list[ir.Stmt] = []  # temporaries of the increment, declared before the loop
        if step is not None:
            exprs = []
            for x in self.stmt(ir.ExprStmt(step, s.loc)):
                if isinstance(x, ir.Decl) and x.init is not None and x.type != ir.AUTO and not x.type.dims:
                    temps.append(ir.Decl(x.name, x.type, None, x.loc))
                    exprs.append(ir.Assign("=", Var(x.name, x.type), x.init, x.type))
                elif isinstance(x, ir.ExprStmt):
                    exprs.append(x.expr)
                else:
                    raise self.unsupported("a loop increment with a conditional that has calls", s)
            step = exprs[0]
            for x in exprs[1:]:
                step = ir.Binary(",", step, x, x.type)
        loop = ir.For(tuple(init[-1:]), s.cond, step, self.body(s.body), s.loc)
        outside = temps + init[:-1]
        if outside:
            return [ir.Block(tuple(outside) + (loop,), s.loc)]
        return [loop]

    def return_stmt(self, s: ir.Return) -> list[ir.Stmt]:
        if s.value is None:
            return [s]
        if not s.value.type.is_float:
            self.check_cond(s.value)
            return [s]
        v, t = self.expr(s.value)
        t = t if t is not None else lit(0)
        if self.returns_pair:
            ret = Var(self.ret_name, self.fn.ret)
            return self.flush(ir.ExprStmt(ir.Assign("=", ret, t, self.fn.ret), s.loc), ir.Return(v, s.loc))
        return self.flush(ir.Return(t, s.loc))

    def pointer_step(self, e: ir.Step) -> ir.Step | None:
        """``++_d_p`` for ``++p`` when ``p`` is an active pointer (else None)."""
        t = e.target.type
        root = ir.root_var(e.target)
        if t.is_float or not t.holds_float or root is None or root.name not in self.active:
            return None
        _, tt = self.lvalue(e.target)
        return ir.Step(e.op, e.prefix, tt, tt.type, e.loc)

    def check_cond(self, e: ir.Expr) -> None:
        """A primal-only expression must not change active values behind the transform's back."""
        for n in ir.walk(e):
            if isinstance(n, (ir.Assign, ir.Step)):
                root = ir.root_var(n.target)
                if root is not None and root.name in self.active and n.target.type.holds_float:
                    raise self.unsupported("changing a differentiated variable inside a condition", n)
            if isinstance(n, ir.Call):
                params = self._callee_params(n)
                if params and any(
                    writable(p.type) and (r := ir.root_var(a)) is not None and r.name in self.active
                    for p, a in zip(params, n.args)
                ):
                    raise self.unsupported(
                        "a call that writes differentiated values inside a condition or an "
                        "integer expression",
                        n,
                    )

    # ------------------------------------------------------------------ expressions
    def lvalue(self, e: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
        """An assignable expression and its tangent (same shape, ``_d_`` root)."""
        if isinstance(e, Var):
            t = self.tangent_var(e)
            if t is None or is_zero(t):
                raise self.unsupported(f"'{e.name}' as an active lvalue", e)
            return e, t
        if isinstance(e, ir.Index):
            bv, bt = self.lvalue(e.base) if not e.base.type.ptr else self.expr(e.base)
            if bt is None:
                raise self.unsupported("writing through an inactive pointer", e)
            idx = self.pure(e.index)
            return ir.Index(bv, idx, e.type, e.loc), ir.Index(bt, idx, e.type, e.loc)
        if isinstance(e, ir.Unary) and e.op == "*":
            pv, pt = self.expr(e.operand)
            if pt is None:
                raise self.unsupported("writing through an inactive pointer", e)
            return ir.Unary("*", pv, e.type, e.loc), ir.Unary("*", pt, e.type, e.loc)
        if isinstance(e, ir.Cast) and e.implicit:
            return self.lvalue(e.operand)
        raise self.unsupported("this kind of assignment target", e)

    def expr(self, e: ir.Expr) -> tuple[ir.Expr, ir.Expr | None]:
        """(value, tangent) of e; tangent None for values that carry no derivative."""
        return handler(self, _EXPR, e, "forward mode", self.fn.loc)(e)

    def literal(self, e: ir.Lit):
        return e, (lit(0) if e.type.is_float else None)

    def variable(self, e: Var):
        return e, self.tangent_var(e)

    def index(self, e: ir.Index):
        bv, bt = self.expr(e.base)
        if bt is None or is_zero(bt):
            return ir.Index(bv, e.index, e.type, e.loc), (lit(0) if e.type.is_float else None)
        idx = self.pure(e.index)
        return ir.Index(bv, idx, e.type, e.loc), ir.Index(bt, idx, e.type, e.loc)

    def cast(self, e: ir.Cast):
        v, t = self.expr(e.operand)
        out = ir.Cast(v, e.type, e.loc, e.implicit)
        if e.type.is_float:
            if t is None or is_zero(t) or not e.operand.type.is_float:
                return out, lit(0)
            return out, ir.Cast(t, e.type, e.loc, e.implicit)
        if e.type.ptr and t is not None and not is_zero(t):
            return out, ir.Cast(t, e.type, e.loc, e.implicit)
        return out, None

    def step(self, e: ir.Step):
        root = ir.root_var(e.target)
        if e.target.type.is_float and root is not None and root.name in self.active:
            raise self.unsupported("increment of a differentiated variable inside an expression", e)
        tstep = self.pointer_step(e)
        if tstep is None:
            return e, None
        # An active pointer stepped inside an expression (*p++): step it and its tangent
        # once, before the statement, and read the pointer value the expression means.
        tv, tt = self.lvalue(e.target)
        if e.prefix:
            self.pending += [ir.ExprStmt(tstep, e.loc), ir.ExprStmt(e, e.loc)]
            return tv, tt
        ty = _plain(e.target.type.value())
        name = self.names.temp()
        dname = self.names.derivative(name)
        self.pending += [
            ir.Decl(dname, ty, tt),
            ir.Decl(name, ty, tv),
            ir.ExprStmt(tstep, e.loc),
            ir.ExprStmt(e, e.loc),
        ]
        return Var(name, ty), Var(dname, ty)

    def nested_assign(self, e: ir.Assign):
        root = ir.root_var(e.target)
        if root is not None and root.name in self.active:
            raise self.unsupported("assignment to a differentiated variable inside an expression", e)
        return e, (lit(0) if e.type.is_float else None)

    def member(self, e: ir.Member):
        raise self.unsupported("a member access", e)

    def init_list_expr(self, e: ir.InitList):
        raise self.unsupported("an initialiser list in an expression", e)

    def unary(self, e: ir.Unary):
        v, t = self.expr(e.operand)
        if e.op == "-":
            return ir.Unary("-", v, e.type), (neg(t) if t is not None else None)
        if e.op == "+":
            return ir.Unary("+", v, e.type), t
        if e.op == "*":
            if t is None or is_zero(t):
                return ir.Unary("*", v, e.type), (lit(0) if e.type.is_float else None)
            return ir.Unary("*", v, e.type), ir.Unary("*", t, e.type)
        if e.op == "&":
            if e.operand.type.holds_float and t is not None and not is_zero(t):
                lv, lt = self.lvalue(e.operand)
                return ir.Unary("&", lv, e.type), ir.Unary("&", lt, e.type)
            return ir.Unary("&", v, e.type), None
        return ir.Unary(e.op, v, e.type), None  # ! and ~: no derivative

    def binary(self, e: ir.Binary):
        op = e.op
        if e.type.ptr and op in "+-":  # pointer arithmetic
            pv, pt = self.expr(e.lhs)
            off = e.rhs
            if pt is None or is_zero(pt):
                return ir.Binary(op, pv, off, e.type), None
            off = self.pure(off)
            return ir.Binary(op, pv, off, e.type), ir.Binary(op, pt, off, e.type)
        if op == ",":
            raise self.unsupported("the comma operator here", e)
        if not e.type.is_float or op not in ("+", "-", "*", "/"):
            self.check_cond(e)
            return e, (lit(0) if e.type.is_float else None)
        a, ta = self.expr(e.lhs)
        b, tb = self.expr(e.rhs)
        ta = ta if ta is not None else lit(0)
        tb = tb if tb is not None else lit(0)
        if op in "+-":
            return ir.Binary(op, a, b, e.type), (add(ta, tb) if op == "+" else sub(ta, tb))
        if op == "*":
            if not is_zero(tb):
                a, ta = self.hoist(a, ta)
            if not is_zero(ta):
                b, tb = self.hoist(b, tb)
            return ir.Binary("*", a, b, e.type), add(mul(ta, b), mul(a, tb))
        # division
        if is_zero(ta) and is_zero(tb):
            return ir.Binary("/", a, b, e.type), lit(0)
        b, tb = self.hoist(b, tb)
        if is_zero(tb):
            return ir.Binary("/", a, b, e.type), div(ta, b)
        a, ta = self.hoist(a, ta)
        return ir.Binary("/", a, b, e.type), div(sub(mul(ta, b), mul(a, tb)), mul(b, b))

    def conditional(self, e: ir.Cond):
        (pa, sa) = self.sub_pending(self.expr, e.then)
        (pb, sb) = self.sub_pending(self.expr, e.other)
        va, ta = pa
        vb, tb = pb
        if not e.type.is_float:
            if sa or sb:
                raise self.unsupported("a pointer-valued conditional with calls", e)
            if ta is None or tb is None or is_zero(ta) or is_zero(tb):
                if (ta is not None and not is_zero(ta)) or (tb is not None and not is_zero(tb)):
                    raise self.unsupported("a conditional choosing between active and inactive pointers", e)
                return ir.Cond(e.cond, va, vb, e.type), None
            c = self.pure(e.cond)
            return ir.Cond(c, va, vb, e.type), ir.Cond(c, ta, tb, e.type)
        ta = ta if ta is not None else lit(0)
        tb = tb if tb is not None else lit(0)
        if not sa and not sb:
            if is_zero(ta) and is_zero(tb):
                return ir.Cond(e.cond, va, vb, e.type), lit(0)
            c = e.cond
            if not ir.is_atomic(c):
                name = self.names.temp()
                self.pending.append(ir.Decl(name, ir.BOOL, c))
                c = Var(name, ir.BOOL)
            return ir.Cond(c, va, vb, e.type), ir.Cond(c, ta, tb, e.type)
        # Branches with statements of their own: evaluate only the branch taken.
        ty = _plain(e.type.value())
        name = self.names.temp()
        dname = self.names.derivative(name)
        v, dv = Var(name, ty), Var(dname, ty)

        def branch(stmts, val, tan):
            return ir.Block(
                tuple(stmts)
                + (ir.ExprStmt(ir.Assign("=", dv, tan, ty)), ir.ExprStmt(ir.Assign("=", v, val, ty)))
            )

        self.pending += [
            ir.Decl(dname, ty, lit(0)),
            ir.Decl(name, ty, lit(0)),
            ir.If(e.cond, branch(sa, va, ta), branch(sb, vb, tb)),
        ]
        return v, dv

    def bind_result(self, e: ir.Call) -> ir.Decl | None:
        """The declaration ``e`` initialises directly, if any (taken once: nested calls get None)."""
        target, self.result_name = self.result_name, None
        if target is not None and target.init is e and target.type.value().base == e.type.value().base:
            return target
        return None

    def call(self, e: ir.Call):
        if e.kind in (ir.NEW, ir.DELETE):  # a buffer no derivative flows through (int* k = new int[n])
            return e, None
        target = self.bind_result(e)
        if e.callee in (PUSH, POP):
            return self.tape_call(e)
        rule = self.program.registry.lookup(e.callee)
        fn = None
        if not isinstance(rule, Custom):
            fn = self.program.function(e.callee) if "::std::" not in e.text else None
        if fn is not None:
            return self.user_call(e, fn, target)
        pairs = [self.expr(a) for a in e.args]
        if all(t is None or is_zero(t) for _, t in pairs):
            return ir.Call(e.callee, tuple(v for v, _ in pairs), e.type, e.loc, e.spelling), (
                lit(0) if e.type.is_float else None
            )
        if isinstance(rule, Custom):
            return self.custom_call(e, rule, pairs)
        if isinstance(rule, Partials):
            vals = []
            for (v, t), a in zip(pairs, e.args):
                if a.type.is_float and not ir.is_atomic(v):
                    v, t = self.hoist(v, t)
                vals.append((v, t))
            value: ir.Expr = ir.Call(e.callee, tuple(v for v, _ in vals), e.type, e.loc, e.spelling)
            if rule.uses_result and target is not None:
                self.pending.append(ir.Decl(target.name, target.type, value, target.loc))
                value = Var(target.name, target.type.value())
            elif rule.uses_result:
                value, _ = self.hoist(value)
            partials = rule.fn([v for v, _ in vals], value)
            tangent = ir.total(
                [mul(p, t) for p, (_, t) in zip(partials, vals) if t is not None and not is_zero(t)]
            )
            return value, tangent
        raise NoDerivativeError(
            f"no derivative known for '{e.text.lstrip(':')}': define its body in the source, or "
            f"pyclad::custom_derivatives::{e.callee.split('::')[-1]}_pushforward",
            e.loc,
        )

    def tape_call(self, e: ir.Call):
        """``push(t, v)`` / ``pop(t)`` of a gradient's tape: the tangent tape moves in step."""
        tape = e.args[0]
        active = isinstance(tape, Var) and tape.name in self.active
        dtape = Var(self.names.derivative(tape.name), tape.type) if active else None
        if e.callee == POP:
            return e, (
                ir.Call(POP, (dtape,), e.type, e.loc) if active else (lit(0) if e.type.is_float else None)
            )
        v, t = self.expr(e.args[1])
        if active:
            self.pending.append(
                ir.ExprStmt(ir.Call(PUSH, (dtape, t if t is not None else lit(0)), ir.VOID, e.loc))
            )
        return ir.Call(PUSH, (tape, v), ir.VOID, e.loc), None

    def custom_call(self, e: ir.Call, rule: Custom, pairs):
        if self.vector:
            raise self.unsupported("a custom derivative in vector mode (Jacobian, Hessian)", e)
        if rule.pushforward is None:
            raise NoDerivativeError(
                f"'{e.callee}' has a custom pullback but no {e.callee.split('::')[-1]}_pushforward", e.loc
            )
        for a, (_, t) in zip(e.args, pairs):
            if t is not None and not a.type.is_float and not is_zero(t):
                raise self.unsupported("a custom derivative of a function with pointer arguments", e)
        args = [v for v, _ in pairs] + [
            t if t is not None else lit(0) for (_, t), a in zip(pairs, e.args) if a.type.holds_float
        ]
        name = self.names.temp()
        self.pending.append(ir.Decl(name, ir.AUTO, ir.Call(rule.pushforward, tuple(args), ir.AUTO, e.loc)))
        ty = e.type.value()
        return ir.Member(Var(name, ir.AUTO), "value", ty), ir.Member(Var(name, ir.AUTO), "pushforward", ty)

    def user_call(self, e: ir.Call, fn: ir.Function, target: ir.Decl | None = None):
        if len(fn.params) != len(e.args):
            raise self.unsupported(f"a call to '{fn.name}' with default arguments", e)
        vals, tans, active = [], [], []
        for p, a in zip(fn.params, e.args):
            if p.type.ref and not p.type.const:
                v, t = self.lvalue(a) if self._is_active_lvalue(a) else (self.expr(a)[0], None)
            else:
                v, t = self.expr(a)
            is_active = p.type.holds_float and t is not None and not is_zero(t)
            vals.append(v)
            tans.append(t)
            active.append(is_active)
        writes = any(a and writable(p.type) for p, a in zip(fn.params, active))
        if not any(active) or (not fn.ret.is_float and not writes):
            # Nothing to differentiate: the result is not floating and no active argument can change.
            return ir.Call(e.callee, tuple(vals), e.type, e.loc, e.spelling), (
                lit(0) if e.type.is_float else None
            )
        name = pushforward(self.program, fn, active, self.vector)
        args = vals + [t for t, a in zip(tans, active) if a]
        if not fn.ret.is_float:
            c = ir.Call(name, tuple(args), fn.ret, e.loc)
            if fn.ret.is_void:
                self.pending.append(ir.ExprStmt(c, e.loc))
                return lit(0), None
            return c, None
        ty = _plain(fn.ret.value())
        tmp = target.name if target is not None else self.names.temp()
        dtmp = self.names.derivative(tmp)
        self.pending.append(ir.Decl(dtmp, ty, lit(0)))
        call = ir.Call(name, tuple(args + [Var(dtmp, ty)]), ty, e.loc)
        self.pending.append(ir.Decl(tmp, target.type if target is not None else ty, call))
        return Var(tmp, ty), Var(dtmp, ty)

    def _is_active_lvalue(self, a: ir.Expr) -> bool:
        r = ir.root_var(a)
        return r is not None and r.name in self.active and not r.is_global


_STMT = exhaustive(
    {
        ir.Decl: "decl",
        ir.ExprStmt: "expr_stmt",
        ir.Block: "block_stmt",
        ir.If: "if_stmt",
        ir.For: "for_stmt",
        ir.While: "while_stmt",
        ir.DoWhile: "do_stmt",
        ir.Switch: "switch_stmt",
        ir.Return: "return_stmt",
        ir.Break: "keep",
        ir.Continue: "keep",
        ir.Case: "keep",
        ir.Default: "keep",
    },
    ir.Stmt,
    "forward mode statements",
)

_EXPR = exhaustive(
    {
        ir.Lit: "literal",
        ir.Var: "variable",
        ir.Index: "index",
        ir.Unary: "unary",
        ir.Binary: "binary",
        ir.Cast: "cast",
        ir.Cond: "conditional",
        ir.Call: "call",
        ir.Step: "step",
        ir.Assign: "nested_assign",
        ir.Member: "member",
        ir.InitList: "init_list_expr",
    },
    ir.Expr,
    "forward mode expressions",
)
