"""The expression handlers of forward mode: each expression as a (value, tangent) pair."""

from __future__ import annotations

from ... import ir
from ...ir import Var, add, div, is_zero, lit, mul, neg, sub
from ..dispatch import exhaustive
from .util import _plain, _shadowed


class Expressions:
    """``expr`` and its handlers, one per expression kind (a mixin of ``ForwardTransform``)."""

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
            self.no_pointer_field(e.base, bt)
            idx = self.pure(e.index)
            return ir.Index(bv, idx, e.type, e.loc), ir.Index(bt, idx, e.type, e.loc)
        if isinstance(e, ir.Unary) and e.op == "*":
            pv, pt = self.expr(e.operand)
            if pt is None:
                raise self.unsupported("writing through an inactive pointer", e)
            self.no_pointer_field(e.operand, pt)
            return ir.Unary("*", pv, e.type, e.loc), ir.Unary("*", pt, e.type, e.loc)
        if isinstance(e, ir.Cast) and e.implicit:
            return self.lvalue(e.operand)
        if isinstance(e, ir.Member):
            bv, bt = self.lvalue(e.operand)
            return ir.Member(bv, e.name, e.type, e.loc), ir.Member(bt, e.name, e.type, e.loc)
        raise self.unsupported("this kind of assignment target", e)

    def expr(self, e: ir.Expr) -> tuple[ir.Expr, ir.Expr | None]:
        """(value, tangent) of e; tangent None for values that carry no derivative."""
        return self.visit_expr(e)

    def literal(self, e: ir.Lit):
        return e, (lit(0) if e.type.is_float else None)

    def variable(self, e: Var):
        return e, self.tangent_var(e)

    def no_pointer_field(self, pointer: ir.Expr, tangent: ir.Expr | None) -> None:
        """Floating storage reached through a pointer field of a record (``n.next->v``) has no
        tangent: a record's shadow copies its pointer fields' values, not what they point to."""
        while isinstance(pointer, ir.Cast) and pointer.implicit:
            pointer = pointer.operand
        if (
            isinstance(pointer, ir.Member)
            and pointer.type.is_pointer
            and tangent is not None
            and not is_zero(tangent)
        ):
            raise self.unsupported(
                f"differentiated values reached through the pointer field '{pointer.name}' of a record",
                pointer,
            )

    def index(self, e: ir.Index):
        bv, bt = self.expr(e.base)
        if bt is None or is_zero(bt):
            return ir.Index(bv, e.index, e.type, e.loc), (lit(0) if e.type.is_float else None)
        self.no_pointer_field(e.base, bt)
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
        """The tangent of ``p.a`` is ``_d_p.a`` (``_d_q->b`` through a pointer)."""
        v, t = self.expr(e.operand)
        out = ir.Member(v, e.name, e.type, e.loc)
        if t is None or is_zero(t) or not e.type.carries_float or _const_pointer(e.type):
            return out, (lit(0) if e.type.is_float else None)
        return out, ir.Member(t, e.name, e.type, e.loc)

    def init_list_expr(self, e: ir.InitList):
        """``Particle{x, v, m}`` as a value (an argument of ``push_back``): its tangent is the
        record of the items' tangents, zero where an item has none (integer fields too)."""
        t = e.type
        if t.is_container and t.element().is_float and t.element().kind == ir.BUILTIN:
            return self.container_list(e)  # return {a, b}; of a std::array<double, 2>
        if not t.is_record or len(e.items) > len(t.fields):
            raise self.unsupported("an initialiser list in an expression", e)
        values, tangents = [], []
        for f, item in zip(t.fields, e.items):
            v, d = self.expr(item)
            values.append(v)
            if d is None or is_zero(d):
                d = lit(0, f.type.plain()) if f.type.kind == ir.BUILTIN and not f.type.ptr else None
                if d is None:
                    d = ir.InitList((), f.type.plain())
            tangents.append(d)
        value = ir.InitList(tuple(values), t, e.loc)
        if not t.carries_float or all(
            is_zero(d) or isinstance(d, ir.InitList) and not d.items for d in tangents
        ):
            return value, None
        return value, ir.InitList(tuple(tangents), t.plain(), e.loc)

    def container_list(self, e: ir.InitList):
        """``{a, b}`` of a container of numbers: its tangent is the list of the tangents."""
        values, tangents = [], []
        for item in e.items:
            v, d = self.expr(item)
            values.append(v)
            tangents.append(d if d is not None else lit(0))
        value = ir.InitList(tuple(values), e.type, e.loc)
        if all(is_zero(d) for d in tangents):
            return value, None
        return value, ir.InitList(tuple(tangents), e.type.plain(), e.loc)

    def unary(self, e: ir.Unary):
        v, t = self.expr(e.operand)
        if e.op == "-":
            return ir.Unary("-", v, e.type), (neg(t) if t is not None else None)
        if e.op == "+":
            return ir.Unary("+", v, e.type), t
        if e.op == "*":
            if t is None or is_zero(t):
                return ir.Unary("*", v, e.type), (lit(0) if e.type.is_float else None)
            self.no_pointer_field(e.operand, t)
            return ir.Unary("*", v, e.type), ir.Unary("*", t, e.type)
        if e.op == "&":
            if _shadowed(e.operand.type) and t is not None and not is_zero(t):
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


def _const_pointer(t: ir.Type) -> bool:
    """A pointer to const data: as a field of a record, what it points to is no part of the
    record's value (constant to its derivatives)."""
    return t.ptr > 0 and t.const
