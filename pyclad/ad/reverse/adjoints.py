"""Expression adjoints: the reverse-sweep statements that push an expression's adjoint to its
active leaves, and the reverse-sweep values of the partial derivatives."""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...ir import Var, div, is_zero, lit, mul, neg
from .. import shadow
from ..dispatch import exhaustive
from ..records import accumulate
from .util import _block, _record_value


class Adjoints:
    """``acc`` and its handlers, one per expression kind (a mixin of ``ReverseTransform``)."""

    def value(self, e: ir.Expr, out: list[ir.Stmt]) -> ir.Expr:
        """e's value, bound to a reverse-sweep temporary unless cheap to repeat."""
        if ir.is_atomic(e) or not e.type.is_float or _simple_lvalue(e):
            return e
        key = id(e)
        if key in self.memo:
            return self.memo[key]
        if isinstance(e, ir.Binary):
            v = ir.Binary(e.op, self.value(e.lhs, out), self.value(e.rhs, out), e.type)
        elif isinstance(e, ir.Unary):
            v = ir.Unary(e.op, self.value(e.operand, out), e.type)
        elif isinstance(e, ir.Cast):
            v = ir.Cast(self.value(e.operand, out), e.type, e.loc, e.implicit)
        elif isinstance(e, ir.Call):
            v = replace(e, args=tuple(self.value(a, out) for a in e.args))  # the same callee kind
        else:
            return e
        name = self.names.temp()
        ty = e.type.plain()  # a floating scalar: its base type
        out.append(ir.Decl(name, ty, v))
        self.memo[key] = Var(name, ty)
        return self.memo[key]

    def bind(self, adj: ir.Expr, out: list[ir.Stmt]) -> ir.Expr:
        if ir.is_atomic(adj) or _simple_lvalue(adj):
            return adj
        name = self.adj_temp("_r")
        ty = ir.Type(adj.type.base if adj.type.is_float else "double")
        out.append(ir.Decl(name, ty, adj))
        return Var(name, ty)

    def acc(self, e: ir.Expr, adj: ir.Expr, out: list[ir.Stmt], discard: bool = False) -> None:
        """Reverse-sweep statements that add adj * d e / d (each active leaf) to the leaves' adjoints."""
        if not discard and (is_zero(adj) or not self.is_active(e)) and not self.has_user_call(e):
            return
        self.visit_expr(e, adj, out, discard)

    def acc_lvalue(self, e: ir.Expr, adj: ir.Expr, out: list[ir.Stmt], discard: bool) -> None:
        a = self.adj_of(e)
        if a is not None and e.type.is_float and not is_zero(adj):
            if not _merged(out, a, adj):
                out.append(ir.ExprStmt(ir.Assign("+=", a, adj, a.type)))
        elif a is not None and _record_value(e.type) and not is_zero(adj):
            out += accumulate(a, adj, e.type.value())  # a record: field by field
        elif a is not None and shadow.is_container_value(e.type) and not is_zero(adj):
            element = e.type.element()
            if element.is_record:  # a vector of records: field by field, element by element
                i = Var(self.names.temp("_i"), ir.Type("unsigned long"))
                size = ir.Call("size", (adj,), i.type, spelling="size", kind=ir.METHOD)
                body = accumulate(ir.Index(a, i, element), ir.Index(adj, i, element), element.value())
                out.append(
                    ir.For(
                        (ir.Decl(i.name, i.type, lit(0, i.type)),),
                        ir.Binary("<", i, size, ir.BOOL),
                        ir.Step("++", True, i, i.type),
                        ir.Block(tuple(body)),
                    )
                )
            else:
                out.append(ir.ExprStmt(ir.Call("::pyclad::add_to", (a, adj), ir.VOID)))

    def acc_init_list(self, e: ir.InitList, adj, out, discard) -> None:
        """``return {a, b};`` of a std::array or std::vector: item k is element k; of a record
        (``return Vec3{x, y, z};``): item k is field k."""
        if e.type.is_record and not e.type.ptr and not e.type.dims and len(e.items) <= len(e.type.fields):
            for f, item in zip(e.type.fields, e.items):
                if f.type.carries_float:
                    self.acc(item, ir.Member(adj, f.name, f.type.value()), out, discard)
            return
        if not e.type.is_container:
            return self.acc_refused(e, adj, out, discard)
        element = e.type.element()
        for k, item in enumerate(e.items):
            self.acc(item, ir.Index(adj, lit(k, ir.Type("unsigned long")), element), out, discard)

    def acc_literal(self, e: ir.Lit, adj, out, discard) -> None:
        return

    def acc_cast(self, e: ir.Cast, adj, out, discard) -> None:
        if e.type.is_float and e.operand.type.is_float:
            self.acc(e.operand, adj, out, discard)
        else:
            self._discard_into(e.operand, out)

    def acc_unary(self, e: ir.Unary, adj, out, discard) -> None:
        if e.op == "*":
            self.acc_lvalue(e, adj, out, discard)
        elif e.op == "-":
            self.acc(e.operand, neg(adj), out, discard)
        elif e.op == "+":
            self.acc(e.operand, adj, out, discard)
        elif e.type.is_float:
            raise self.unsupported(f"operator '{e.op}' on a floating value", e)
        else:
            self._discard_into(e.operand, out)

    def acc_binary(self, e: ir.Binary, adj, out, discard) -> None:
        if e.op == ",":
            raise self.unsupported("the comma operator here", e)
        if not e.type.is_float:  # a comparison: no derivative, but its calls may write some
            self._discard_into(e, out)
            return
        if e.op not in ("+", "-", "*", "/"):
            raise self.unsupported(f"operator '{e.op}' on a floating value", e)
        a_act, b_act = (
            self.is_active(e.lhs) or self.has_user_call(e.lhs),
            self.is_active(e.rhs) or self.has_user_call(e.rhs),
        )
        if a_act and b_act:
            adj = self.bind(adj, out)
        if e.op in "+-":
            self.acc(e.lhs, adj, out)
            self.acc(e.rhs, adj if e.op == "+" else neg(adj), out)
        elif e.op == "*":
            if a_act:
                self.acc(e.lhs, mul(adj, self.value(e.rhs, out)), out)
            if b_act:
                self.acc(e.rhs, mul(self.value(e.lhs, out), adj), out)
        else:
            b = self.value(e.rhs, out)
            if a_act:
                self.acc(e.lhs, div(adj, b), out)
            if b_act:
                q = self.value(e, out)
                self.acc(e.rhs, neg(div(mul(adj, q), b)), out)

    def acc_cond(self, e: ir.Cond, adj, out, discard) -> None:
        self._no_writing_calls(e.cond, "in the condition of ?:")  # the reverse sweep evaluates it again
        then: list[ir.Stmt] = []
        other: list[ir.Stmt] = []
        saved = dict(self.memo)
        self.acc(e.then, adj, then)
        self.memo = dict(saved)
        self.acc(e.other, adj, other)
        self.memo = saved
        if then or other:
            out.append(ir.If(e.cond, _block(then), _block(other) if other else None))

    def acc_call_node(self, e: ir.Call, adj, out, discard) -> None:
        self.acc_call(e, adj, out)

    def acc_refused(self, e: ir.Expr, adj, out, discard) -> None:
        raise self.unsupported(_DESCRIBE.get(type(e), type(e).__name__), e)


def _merged(out: list[ir.Stmt], a: ir.Expr, adj: ir.Expr) -> bool:
    """Add ``adj`` into the statement just before if it adds into the same adjoint ``a``
    (``x * x``: ``_d_x[i] += _d_s * x[i] + x[i] * _d_s``, one load and store of ``_d_x[i]``
    where the compiler cannot keep it in a register, ``_d_x`` possibly aliasing ``x``)."""
    last = out[-1] if out else None
    if not (isinstance(last, ir.ExprStmt) and isinstance(last.expr, ir.Assign) and last.expr.op == "+="):
        return False
    if last.expr.target != a or ir.has_side_effects(a):
        return False
    root = ir.root_var(a)
    if root is None or any(isinstance(n, Var) and n.name == root.name for n in ir.walk(adj)):
        return False
    value = ir.add(last.expr.value, adj)
    out[-1] = ir.ExprStmt(ir.Assign("+=", a, value, a.type), last.loc)
    return True


def _simple_lvalue(e: ir.Expr) -> bool:
    if isinstance(e, ir.Member):
        return _simple_lvalue(e.operand)
    if isinstance(e, ir.Index):
        return _simple_lvalue(e.base) and (ir.is_atomic(e.index) or _simple_index(e.index))
    if isinstance(e, ir.Unary) and e.op == "*":
        return isinstance(e.operand, Var)
    return isinstance(e, Var)


def _simple_index(e: ir.Expr) -> bool:
    return isinstance(e, ir.Binary) and e.op in "+-*" and ir.is_atomic(e.lhs) and ir.is_atomic(e.rhs)


_ACC = exhaustive(
    {
        ir.Var: "acc_lvalue",
        ir.Index: "acc_lvalue",
        ir.Lit: "acc_literal",
        ir.Cast: "acc_cast",
        ir.Unary: "acc_unary",
        ir.Binary: "acc_binary",
        ir.Cond: "acc_cond",
        ir.Call: "acc_call_node",
        ir.Assign: "acc_refused",
        ir.Step: "acc_refused",
        ir.Member: "acc_lvalue",
        ir.InitList: "acc_init_list",
    },
    ir.Expr,
    "reverse mode adjoints",
)


_DESCRIBE = {
    ir.Assign: "an assignment inside an expression",
    ir.Step: "an increment inside an expression",
    ir.Member: "a member access",
    ir.InitList: "an initialiser list in an expression",
}
