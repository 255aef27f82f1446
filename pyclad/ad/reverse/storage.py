"""Saving what the forward sweep overwrites, for the reverse sweep to restore: local slots,
tapes inside loops, whole arrays, and the index variables a restored element needs."""

from __future__ import annotations

from ... import ir
from ...ir import Var, lit
from ..shadow import zero
from .util import _block


class Storage:
    """Slots and tapes for the values the reverse sweep restores (a mixin of ``ReverseTransform``)."""

    def slot(self, ty: ir.Type, depth: int, prefix: str = "_t") -> str:
        name = self.names.temp(prefix)
        if depth:
            self.top.append(ir.Decl(name, ir.Type(f"::pyclad::tape<{ty.spell()}>"), None))
        else:
            self.top.append(ir.Decl(name, ty, zero(ty) if not ty.ptr else lit(0, ty)))
        return name

    def save(self, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        if target.type.dims:
            return self.save_array(target, depth)
        ty = target.type.derived(target.type.ptr, const=target.type.const and target.type.ptr > 0)
        self._note_indices(target)
        name = self.slot(ty, depth)
        tv = Var(name, ty)
        if depth:
            push = ir.ExprStmt(ir.Call("::pyclad::push", (tv, target), ir.VOID))
            pop = ir.ExprStmt(ir.Assign("=", target, ir.Call("::pyclad::pop", (tv,), ty), ty))
            return [push], [pop]
        return [ir.ExprStmt(ir.Assign("=", tv, target, ty))], [ir.ExprStmt(ir.Assign("=", target, tv, ty))]

    def save_array(self, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """A whole 1-D array of known length (a local array a callee overwrites), element by element."""
        if len(target.type.dims) != 1 or not isinstance(target, Var):
            raise self.unsupported("saving a multi-dimensional array", target)
        n = target.type.dims[0]
        ety = ir.Type(target.type.base)
        k = Var(self.names.temp("_k"), ir.INT)

        def each(body: ir.Expr, backwards: bool = False) -> ir.Stmt:
            if backwards:
                init = ir.Decl(k.name, ir.INT, lit(n - 1, ir.INT))
                cond, step = ir.Binary(">=", k, lit(0, ir.INT), ir.BOOL), ir.Step("--", False, k, ir.INT)
            else:
                init = ir.Decl(k.name, ir.INT, lit(0, ir.INT))
                cond, step = ir.Binary("<", k, lit(n, ir.INT), ir.BOOL), ir.Step("++", False, k, ir.INT)
            return ir.For((init,), cond, step, _block([ir.ExprStmt(body)]))

        item = ir.Index(target, k, ety)
        if depth:
            tv = Var(self.slot(ety, depth), ety)
            push = each(ir.Call("::pyclad::push", (tv, item), ir.VOID))
            pop = each(ir.Assign("=", item, ir.Call("::pyclad::pop", (tv,), ety), ety), backwards=True)
            return [push], [pop]
        aty = ir.Type(target.type.base, dims=(n,))
        name = self.names.temp()
        self.top.append(ir.Decl(name, aty, ir.InitList((), aty)))
        copy = ir.Index(Var(name, aty), k, ety)
        return [each(ir.Assign("=", copy, item, ety))], [each(ir.Assign("=", item, copy, ety))]

    def _note_indices(self, target: ir.Expr) -> None:
        """The reverse sweep names ``target`` again: its index variables must be restored too."""
        while isinstance(target, (ir.Index, ir.Member)) or isinstance(target, ir.Unary) and target.op == "*":
            if isinstance(target, ir.Index):
                self.note_reads([ir.ExprStmt(target.index)])
                target = target.base
            else:
                target = target.operand

    def must_save(self, target: ir.Expr) -> bool:
        root = ir.root_var(target)
        if root is not None and root.name in self.recomputed:
            return False
        return self.needed is not None and root is not None and root.name in self.needed
