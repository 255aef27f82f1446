"""Saving what the forward sweep overwrites, for the reverse sweep to restore: local slots,
tapes inside loops, and the index variables a restored element needs (what a callee overwrites
through a pointer is saved by the callee itself, on the undo log: see forw.py)."""

from __future__ import annotations

from ... import ir
from ...ir import Var, lit
from .. import containers
from ..shadow import zero
from .tbr import Restore


class Storage:
    """Slots and tapes for the values the reverse sweep restores (a mixin of ``ReverseTransform``)."""

    def slot(self, ty: ir.Type, depth: int, prefix: str = "_t") -> str:
        name = self.names.temp(prefix)
        if depth:
            self.top.append(ir.Decl(name, ir.tape_of(ty), None))
        else:
            self.top.append(ir.Decl(name, ty, zero(ty) if not ty.ptr else lit(0, ty)))
        return name

    def next_site(self) -> int | None:
        """A number for the next save (the same in every run with the same ``needed``, so the
        to-be-recorded analysis of one run names the saves of the next); None if that save
        is dead (``tbr``)."""
        self.site_count += 1
        return None if self.site_count in self.dead else self.site_count

    def restored_at(self, site: int, stmt: ir.Stmt, target: ir.Expr) -> None:
        """``stmt`` of the reverse sweep is what undoes the write of ``site``."""
        self.restores[id(stmt)] = (stmt, Restore(site, target))

    def save(self, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        if target.type.dims:  # what a callee overwrites in an array goes on the undo log instead
            raise self.unsupported("saving a whole array", target)
        site = self.next_site()
        if site is None:
            return [], []
        if target.type.is_container:  # a copy of it, at whatever size it has then
            fwd, rev = containers.save_whole(self, target, depth)
        else:
            fwd, rev = self.save_value(target, depth)
        self.restored_at(site, rev[0], target)
        return fwd, rev

    def save_value(self, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        ty = target.type.derived(target.type.ptr, const=target.type.const and target.type.ptr > 0)
        self._note_indices(target)
        name = self.slot(ty, depth)
        root = ir.root_var(target)
        if root is not None and root.name in self.adjoint_names():
            self.adjoint_temps.add(name)  # an adjoint pointer's old values: retyped with it
        tv = Var(name, ty)
        if depth:
            push = ir.ExprStmt(ir.Call("::pyclad::push", (tv, target), ir.VOID))
            pop = ir.ExprStmt(ir.Assign("=", target, ir.Call("::pyclad::pop", (tv,), ty), ty))
            self.save_stmts.add(id(push))
            return [push], [pop]
        keep = ir.ExprStmt(ir.Assign("=", tv, target, ty))
        self.save_stmts.add(id(keep))
        return [keep], [ir.ExprStmt(ir.Assign("=", target, tv, ty))]

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
