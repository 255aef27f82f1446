"""The statement handlers of forward mode: each statement preceded by its tangent statement."""

from __future__ import annotations

from ... import ir
from ...errors import NoDerivativeError
from ...ir import Var, add, div, is_zero, lit, mul, sub
from .. import containers, memory, shadow
from ..activity import depends as depends_on
from ..activity import writable
from ..dispatch import exhaustive
from ..memory import MARK, SAVE, SAVE_ELEMENT, UNDO
from ..shadow import zero
from .util import _is_null, _plain, _record_value, _shadowed, is_tape


class Statements:
    """``stmt`` and its handlers, one per statement kind (a mixin of ``ForwardTransform``)."""

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
        return self.visit_stmt(s)

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
        if s.type.is_record and s.name in self.active and s.type.carries_float:
            return self.record_decl(s)
        if s.name not in self.active or not _shadowed(s.type):
            if isinstance(s.init, ir.Call):  # int k = h(x, y): h may write active outputs
                v, _ = self.expr(s.init)
                return self.flush(ir.Decl(s.name, s.type, v, s.loc))
            if s.init is not None:
                self.check_cond(s.init)
            return [s]
        d = self.names.derivative(s.name)
        if s.type.dims or (s.type.is_container and isinstance(s.init, ir.InitList)):
            if isinstance(s.init, ir.InitList):
                vals, tans = self.init_list(s.init)
                return self.flush(
                    ir.Decl(d, _plain(s.type), tans, s.loc), ir.Decl(s.name, s.type, vals, s.loc)
                )
            if s.init is not None:
                raise self.unsupported("this array initialiser", s)
            return [ir.Decl(d, _plain(s.type), zero(_plain(s.type)), s.loc), s]
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
        if s.type.is_container and (t is None or is_zero(t)):  # zeros shaped like the new value
            zeros = containers.zero_like(Var(s.name, s.type.value()))
            return self.flush(ir.Decl(s.name, s.type, v, s.loc), ir.Decl(d, _plain(s.type), zeros, s.loc))
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

    def record_decl(self, s: ir.Decl) -> list[ir.Stmt]:
        """``P q;`` (its fields are stored one by one, see records.py), ``P m = make(x);``,
        ``const P& r = ps[i];``: the tangent is a record of the same type."""
        d = self.names.derivative(s.name)
        ty = _plain(s.type)
        if s.init is None or isinstance(s.init, ir.InitList) and not s.init.items:
            return [ir.Decl(d, ty, zero(ty), s.loc), s]
        if s.type.ref:
            v, t = self.lvalue(s.init) if not s.type.const else self.expr(s.init)
            if t is None or is_zero(t):
                raise self.unsupported("binding a reference to a record without a tangent", s)
            return self.flush(ir.Decl(d, s.type, t, s.loc), ir.Decl(s.name, s.type, v, s.loc))
        if not isinstance(s.init, ir.Call) and not shadow.has_containers(s.type):
            raise self.unsupported("this record initialiser", s)
        self.result_name = s
        v, t = self.expr(s.init)
        self.result_name = None
        if isinstance(v, Var) and v.name == s.name:
            if isinstance(t, Var) and t.name == d:
                return self.flush()
            return self.flush(*self._record_tangent(d, ty, t, s))
        if t is None and shadow.has_containers(s.type):  # zeros of the sizes the primal has
            return self.flush(ir.Decl(s.name, s.type, v, s.loc), *self._record_tangent(d, ty, t, s))
        return self.flush(*self._record_tangent(d, ty, t, s), ir.Decl(s.name, s.type, v, s.loc))

    def _record_tangent(self, d: str, ty: ir.Type, t: ir.Expr | None, s: ir.Decl) -> list[ir.Stmt]:
        """The declaration of a record's tangent ``d``: ``t``, or zeros (a copy of the primal
        with every number zeroed when the record holds containers)."""
        if t is not None:
            return [ir.Decl(d, ty, t, s.loc)]
        return shadow.shadow_decl(d, ty, Var(s.name, ty))

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
        if isinstance(e, ir.Call) and (stmts := containers.forward_runtime_stmt(self, e, s.loc)) is not None:
            return self.flush(*stmts)
        if isinstance(e, ir.Call):
            if memory.released(s) is not None or e.callee in (SAVE, SAVE_ELEMENT, MARK, UNDO):
                return self.memory_stmt(s)
            v, _ = self.expr(e)
            if isinstance(v, ir.Call):
                return self.flush(ir.ExprStmt(v, s.loc))
            return self.flush()
        self.check_cond(e)
        return [s]

    def memory_stmt(self, s: ir.ExprStmt) -> list[ir.Stmt]:
        """``delete[] t`` (and a gradient's deferred release of ``t``): the tangent buffer is
        released with it when this function allocated it (see memory.owned).  ``::pyclad::save(_log, x)`` of a gradient's undo log: the tangent of
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
        if e.callee == SAVE_ELEMENT:  # (log, container, index, element): the tangent's too
            target = e.args[3]
            root = ir.root_var(target)
            if root is None or root.name not in self.active or not target.type.holds_float:
                return [s]
            (_, tc), (_, t) = self.lvalue(e.args[1]), self.lvalue(target)
            args = (e.args[0], tc, e.args[2], t)
            return [ir.ExprStmt(ir.Call(SAVE_ELEMENT, args, ir.VOID, e.loc), s.loc), s]
        pointer = memory.released(s)
        _, t = self.expr(pointer)
        if t is None or is_zero(t) or _is_null(t) or not isinstance(pointer, Var):
            return [s]
        if pointer.name not in memory.owned(self.fn.body):  # a caller's tangent buffer
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
        if e.target.type.is_record and isinstance(e.value, ir.InitList) and not e.value.items:
            # q = {}: every field reset (a record's adjoint zeroed, in a gradient differentiated again)
            if root.name not in self.active or not _shadowed(e.target.type):
                return [ir.ExprStmt(e, loc)]
            _, tt = self.lvalue(e.target)
            return [
                ir.ExprStmt(ir.Assign("=", tt, zero(tt.type), tt.type), loc),
                ir.ExprStmt(e, loc),
            ]
        if root.is_global and any(isinstance(n, Var) and n.name in self.active for n in ir.walk(e.value)):
            raise self.unsupported(f"storing a differentiated value in global '{root.name}'", e)
        const_field = isinstance(e.target, ir.Member) and e.target.type.ptr > 0 and e.target.type.const
        if root.name not in self.active or not _shadowed(e.target.type) or const_field:
            if isinstance(e.value, ir.Call):  # k = h(x, y): h may write active outputs
                v, _ = self.expr(e.value)
                return self.flush(ir.ExprStmt(ir.Assign(e.op, e.target, v, e.type), loc))
            self.check_cond(e.value)
            return [ir.ExprStmt(e, loc)]
        if e.target.type.is_container:  # w = v: the tangent container is copied too
            tv, tt = self.lvalue(e.target)
            v, t = self.init_list(e.value) if isinstance(e.value, ir.InitList) else self.expr(e.value)
            if e.op != "=":
                raise self.unsupported(f"operator '{e.op}' on a container", e)
            if t is None or is_zero(t):  # zeros shaped like the new value
                return self.flush(
                    ir.ExprStmt(ir.Assign("=", tv, v, e.type), loc),
                    ir.ExprStmt(ir.Assign("=", tt, containers.zero_like(tv), tt.type), loc),
                )
            return self.flush(
                ir.ExprStmt(ir.Assign("=", tt, t, tt.type), loc),
                ir.ExprStmt(ir.Assign("=", tv, v, e.type), loc),
            )
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
        container = shadow.is_container_value(s.value.type)
        if _record_value(s.value.type) or container:
            if not self.returns_pair:
                what = "a container" if container else "a record"
                raise self.unsupported(f"returning {what} from the differentiated function", s)
            v, t = self.expr(s.value)
            ret = Var(self.ret_name, self.fn.ret.named())
            if t is None or is_zero(t) or shadow.is_zero_shadow(t):  # zeros of the returned value's shape
                t = shadow.zero_like(v) if container and not ir.has_side_effects(v) else zero(ret.type)
            return self.flush(ir.ExprStmt(ir.Assign("=", ret, t, ret.type), s.loc), ir.Return(v, s.loc))
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
        if t.is_float or not _shadowed(t) or root is None or root.name not in self.active:
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
