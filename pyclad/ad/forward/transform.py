"""The forward transform of one function: activity, temporaries and the pending statements
they need, the tangents of variables, and the tidying of the finished function.  The
statement, expression and call handlers live in the mixins it is made of."""

from __future__ import annotations

import re

from ... import ir
from ...errors import UnsupportedError
from ...ir import Var, is_zero, lit
from ..activity import active_variables
from ..dispatch import Pass
from ..names import Namer
from ..program import Program
from ..records import expand as expand_records
from ..rules import Custom, Partials
from ..sequence import sequence
from ..simplify import remove_dead_locals
from .calls import Calls, _pure_call
from .expressions import _EXPR, Expressions
from .statements import _STMT, Statements
from .util import _plain

RETURN = "_d_return"
_TEMP = re.compile(r"_t\d+")


class ForwardTransform(Statements, Expressions, Calls, Pass):
    """One forward-mode transform of one function (``derivative``, ``pushforward``)."""

    MODE, STMT, EXPR = "forward mode", _STMT, _EXPR

    def __init__(
        self, program: Program, fn: ir.Function, seeds: set[str], returns_pair=False, vector: int = 0
    ):
        self.program = program
        self.vector = vector
        self.fn = fn = expand_records(sequence(fn))
        self.names = Namer.for_function(fn)
        self.active = active_variables(fn, seeds, self._callee_params)
        self.returns_pair = returns_pair
        self.ret_name = self.names.claim(RETURN) if returns_pair else ""
        self.pending: list[ir.Stmt] = []
        self.result_name: ir.Decl | None = None  # a declaration a call may bind its result to

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
