"""Calls in forward mode: math rules, custom pushforwards, tapes, and the pushforwards of user
functions; and which calls are pure (an unused result can go)."""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...errors import NoDerivativeError, PycladError
from ...ir import Var, is_zero, lit, mul
from .. import containers, shadow
from ..activity import writable
from ..program import Program
from ..rules import Custom, Partials, Reduction
from ..shadow import zero
from .util import POP, PUSH, _plain, _record_value, _shadowed


class Calls:
    """The tangents of calls (a mixin of ``ForwardTransform``)."""

    def bind_result(self, e: ir.Call) -> ir.Decl | None:
        """The declaration ``e`` initialises directly, if any (taken once: nested calls get None)."""
        target, self.result_name = self.result_name, None
        if target is not None and target.init is e and target.type.value().base == e.type.value().base:
            return target
        return None

    def call(self, e: ir.Call):
        if e.kind in (ir.NEW, ir.DELETE):  # a buffer no derivative flows through (int* k = new int[n])
            return e, None
        if e.kind == ir.EFFECT:  # printf, assert, throw: runs as the primal runs it, no tangent
            return e, None
        if containers.is_member(e):
            return containers.forward_member(self, e)
        if containers.is_constructor(e):
            return containers.forward_constructor(self, e)
        if (pair := containers.forward_runtime(self, e)) is not None:
            return pair
        from ..reverse.split import combined  # (the reverse package imports this one)

        e = combined(self.program, e)  # a split pullback's pair, as the calls it stands for
        target = self.bind_result(e)
        if ir.is_raw_construction(e):  # the object a constructor starts from: no tangent of its own
            return replace(e, args=tuple(self.expr(a)[0] for a in e.args)), None
        if e.callee in (PUSH, POP):
            return self.tape_call(e)
        rule = self.program.registry.lookup(e.callee)
        if isinstance(rule, Reduction):
            return containers.forward_reduction(self, e, rule)
        fn = None
        if not isinstance(rule, Custom):
            fn = self.program.function(e.callee) if "::std::" not in e.text else None
        if fn is not None:
            return self.user_call(e, fn, target)
        pairs = [self.expr(a) for a in e.args]
        if all(t is None or is_zero(t) for _, t in pairs):
            return replace(e, args=tuple(v for v, _ in pairs)), (lit(0) if e.type.is_float else None)
        if isinstance(rule, Custom):
            return self.custom_call(e, rule, pairs)
        if isinstance(rule, Partials):
            vals = []
            for (v, t), a in zip(pairs, e.args):
                if a.type.is_float and not ir.is_atomic(v):
                    v, t = self.hoist(v, t)
                vals.append((v, t))
            value: ir.Expr = replace(e, args=tuple(v for v, _ in vals))
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
            if t is not None and not a.type.is_float and not a.type.is_container and not is_zero(t):
                raise self.unsupported("a custom derivative of a function with pointer arguments", e)
        args = [v for v, _ in pairs] + [
            t
            if t is not None and not is_zero(t)
            else (containers.zero_like(v) if a.type.is_container else lit(0))
            for (v, t), a in zip(pairs, e.args)
            if a.type.holds_float
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
            is_active = _shadowed(p.type) and t is not None and not is_zero(t)
            vals.append(v)
            tans.append(t)
            active.append(is_active)
        writes = any(a and writable(p.type) for p, a in zip(fn.params, active))
        valued = fn.ret.is_float or _record_value(fn.ret) or shadow.is_container_value(fn.ret)
        if any(active) and fn.ret.holds_float and not valued and not fn.ret.ptr:
            raise self.unsupported(f"a call returning a {fn.ret.spell()} built from differentiated values", e)
        if not any(active) or (not valued and not writes):
            # Nothing to differentiate: the result is not floating and no active argument can change.
            return replace(e, args=tuple(vals)), (lit(0) if e.type.is_float else None)
        from . import pushforward  # the package's entry point, which runs this transform on the callee

        name = pushforward(self.program, fn, active, self.vector)
        args = vals + [t for t, a in zip(tans, active) if a]
        if not valued:
            c = ir.Call(name, tuple(args), fn.ret, e.loc)
            if fn.ret.is_void:
                self.pending.append(ir.ExprStmt(c, e.loc))
                return lit(0), None
            return c, None
        ty = _plain(fn.ret.value())
        tmp = target.name if target is not None else self.names.temp()
        dtmp = self.names.derivative(tmp)
        self.pending.append(ir.Decl(dtmp, ty, zero(ty)))
        call = ir.Call(name, tuple(args + [Var(dtmp, ty)]), ty, e.loc)
        self.pending.append(ir.Decl(tmp, target.type if target is not None else ty, call))
        return Var(tmp, ty), Var(dtmp, ty)

    def _is_active_lvalue(self, a: ir.Expr) -> bool:
        r = ir.root_var(a)
        return r is not None and r.name in self.active and not r.is_global


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
