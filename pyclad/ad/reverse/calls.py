"""Calls in reverse mode: pullbacks of user functions, rules and custom derivatives, saving what a
call writes through pointer and reference parameters, and hoisting writing calls out of
expressions before normalisation."""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...errors import NoDerivativeError
from ...ir import Var, lit, mul
from .. import containers, shadow
from ..activity import writable
from ..effects import calls_effects
from ..memory import LOG, MARK, UNDO
from ..rules import Custom, Partials, Reduction
from .forw import element_stores_only, log_call, reverse_forw, stores_outside_loops
from .split import splittable
from .util import _block, _record_value, _shadowed, _subtree_any


class Calls:
    """Everything the reverse transform does about calls (a mixin of ``ReverseTransform``)."""

    def _writing_call(self, c) -> bool:
        if not isinstance(c, ir.Call):
            return False
        fn, _ = self._target(c)
        return fn is not None and len(fn.params) == len(c.args) and any(writable(p.type) for p in fn.params)

    def _hoist_block(self, s):
        """``r = E[g(x, t)]`` -> ``double _c0 = g(x, t); r = E[_c0]`` for a call ``g`` that writes
        through a pointer or reference parameter and is not the whole right-hand side: the
        reverse sweep then reads its result from ``_c0`` instead of calling ``g`` again
        (which would write ``t`` once more)."""
        if isinstance(s, ir.Block):
            out: list[ir.Stmt] = []
            for x in s.stmts:
                out += self._hoist_stmt(x)
            return replace(s, stmts=tuple(out))
        return s

    def _hoist_stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        if isinstance(s, ir.Block):
            return [self._hoist_block(s)]
        if isinstance(s, ir.If):
            other = _block(self._hoist_stmt(s.other)) if s.other is not None else None
            return [replace(s, then=_block(self._hoist_stmt(s.then)), other=other)]
        if isinstance(s, (ir.While, ir.DoWhile, ir.For, ir.Switch)):
            return [
                replace(
                    s, body=self._hoist_block(s.body if isinstance(s.body, ir.Block) else _block([s.body]))
                )
            ]
        if isinstance(s, ir.Decl) and s.init is not None and not isinstance(s.init, ir.InitList):
            pre, init = self._hoist_expr(s.init)
            return pre + [replace(s, init=init)]
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign):
            # t *= g(x, t) is t = t * g(x, t) to the reverse sweep: the call is not the whole value
            pre, value = self._hoist_expr(s.expr.value, s.expr.op in ("=", "+=", "-="))
            return pre + [replace(s, expr=replace(s.expr, value=value))]
        if isinstance(s, ir.Return) and s.value is not None:
            pre, value = self._hoist_expr(s.value, returned=True)
            return pre + [replace(s, value=value)]
        return [s]

    def _hoist_expr(
        self, e: ir.Expr, may_be_whole: bool = True, returned: bool = False
    ) -> tuple[list[ir.Stmt], ir.Expr]:
        """``returned``: the value of a return statement, which the forward sweep does not run:
        a call with effects (ad/effects.py) is hoisted even when it is the whole value."""
        whole = e
        while isinstance(whole, ir.Cast) and whole.implicit:
            whole = whole.operand
        calls: list[ir.Call] = []

        def find(x):  # the writing calls (and calls with effects) that always run, outermost ones
            if self._writing_call(x) or calls_effects(self.program, x) or self._split_candidate(x):
                calls.append(x)
            elif isinstance(x, ir.Cond):
                find(x.cond)
            elif isinstance(x, ir.Binary) and x.op in ("&&", "||"):
                find(x.lhs)
            else:
                for c in ir.children(x):
                    if isinstance(c, ir.Expr):
                        find(c)

        find(e)
        if not calls:
            return [], e
        fn_of = {id(c): self._target(c)[0] for c in calls}
        for c in calls:  # C++ leaves unspecified whether other reads see the old or the new value
            written = set()
            for p, a in zip(fn_of[id(c)].params, c.args):
                root = ir.root_var(a.operand if isinstance(a, ir.Unary) and a.op == "&" else a)
                if writable(p.type) and root is not None:
                    written.add(root.name)
            stack = [e]
            while stack:
                n = stack.pop()
                if n is c:
                    continue
                if isinstance(n, Var) and n.name in written:
                    raise self.unsupported(
                        f"reading '{n.name}' in an expression where a call also writes it (C++ leaves "
                        "the order unspecified)",
                        c,
                    )
                if isinstance(n, ir.Cond) and _holds(n.cond, c):  # the branches run after the call
                    stack.append(n.cond)
                elif isinstance(n, ir.Binary) and n.op in ("&&", "||", ",") and _holds(n.lhs, c):
                    stack.append(n.lhs)
                else:
                    stack.extend(x for x in ir.children(n) if isinstance(x, ir.Expr))
        if calls == [whole] and may_be_whole and not (returned and calls_effects(self.program, whole)):
            return [], e
        pre: list[ir.Stmt] = []
        swap: dict[int, Var] = {}
        for c in calls:
            ty = c.type.derived(c.type.ptr)
            name = self.names.temp("_c")
            pre.append(ir.Decl(name, ty, c, c.loc))
            swap[id(c)] = Var(name, ty, c.loc)
        return pre, _substitute(e, swap)

    def has_user_call(self, e: ir.Expr) -> bool:
        """``e`` calls a user function that returns a value and writes through a parameter."""
        return _subtree_any(e, self._is_writing_user_call, self._call_memo)

    def _is_writing_user_call(self, n) -> bool:
        if not isinstance(n, ir.Call):
            return False
        fn, _ = self._target(n)
        return fn is not None and fn.ret.is_void is False and any(writable(p.type) for p in fn.params)

    def call_outputs(self, e: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt], ir.Expr]:
        """What the user calls in ``e`` overwrite through pointer and reference parameters,
        where the reverse sweep reads it, saved for their pullbacks (a pullback re-runs its
        callee, so it must start from the values the call started from): a scalar behind a
        reference in a ``_tN`` local or on a tape; what a callee overwrites through a pointer
        on the undo log, element by element as it overwrites it (the call becomes the
        callee's ``_reverse_forw``; see forw.py).  Returns the saves, the restores and ``e``
        with those calls swapped."""
        outs: list[ir.Expr] = []
        logged: list[tuple[ir.Call, ir.Function]] = []
        written: dict[int, list[ir.Expr]] = {}  # a logged call -> what it overwrites
        for c in ir.walk(e):
            if not isinstance(c, ir.Call):
                continue
            fn, _ = self._target(c)
            for p, a in zip(fn.params if fn is not None else (), c.args):
                if not writable(p.type):
                    continue
                lvalue = a.operand if isinstance(a, ir.Unary) and a.op == "&" else a
                root = ir.root_var(lvalue)
                if root is None or self.needed is None or root.name not in self.needed:
                    continue
                if p.type.ptr or lvalue.type.dims or _logs_elements(self.program, fn, p, lvalue):
                    if all(c is not x for x, _ in logged):
                        logged.append((c, fn))
                    pointee = ir.Unary("*", lvalue, lvalue.type.element()) if lvalue.type.ptr else lvalue
                    written.setdefault(id(c), []).append(pointee)
                    continue
                for part in _written_parts(fn, p, lvalue):
                    if part not in outs:
                        outs.append(part)
        if len(logged) > 1:
            raise self.unsupported("two calls that overwrite arrays through pointers in one expression", e)
        fwd: list[ir.Stmt] = []
        restore: list[ir.Stmt] = []
        for a in outs:
            f, r = self.save(a, depth)
            fwd += f
            restore = r + restore
        for c, fn in logged:
            # One overwritten argument: the to-be-recorded analysis judges its undo like any
            # restore (when nothing reads it, the plain callee runs and logs nothing).
            site = self.next_site() if len(written[id(c)]) == 1 else 0
            if site is None:
                continue
            log = self.undo_log()
            fwd.append(log_call(MARK, log))
            restore.append(log_call(UNDO, log))
            if site:
                self.restored_at(site, restore[-1], written[id(c)][0])
            logging = replace(c, callee=reverse_forw(self.program, fn), spelling="", args=c.args + (log,))
            e = _substitute(e, {id(c): logging})
        return fwd, restore, e

    def undo_log(self) -> Var:
        """The log the writing calls of this function save what they overwrite on."""
        if self.log is None:
            self.log = Var(self.names.claim("_log"), LOG.value())
            self.top.append(ir.Decl(self.log.name, LOG.value(), None))
        return self.log

    def discard_calls(self, e: ir.Expr) -> list[ir.Stmt]:
        """Pullbacks of the user calls in ``e``, an expression whose value carries no
        derivative, for what they write through pointer and reference parameters."""
        rev: list[ir.Stmt] = []
        self.memo = {}
        self._discard_into(e, rev)  # pullbacks in the reverse of the order the calls ran in
        self.note_reads(rev)
        return rev

    def _discard_into(self, e: ir.Expr, out: list[ir.Stmt]) -> None:
        calls: list[ir.Call] = []
        self._always_run_calls(e, calls)
        for c in reversed(calls):
            self.acc_call(c, lit(0), out)

    def _writes_active(self, c: ir.Call) -> bool:
        """A call to a user function that writes a differentiated variable through a
        pointer or reference parameter."""
        fn, _ = self._target(c)
        return fn is not None and any(
            writable(p.type) and self.adj_of(a) is not None for p, a in zip(fn.params, c.args)
        )

    def _no_writing_calls(self, e: ir.Expr | None, where: str) -> None:
        for c in ir.walk(e) if e is not None else ():
            if isinstance(c, ir.Call) and self._writes_active(c):
                raise self.unsupported(f"a call that writes a differentiated variable {where}", c)

    def _always_run_calls(self, e: ir.Expr, out: list[ir.Call]) -> None:
        """The writing calls of ``e`` in evaluation order; those that run only on some
        paths (a branch of ?:, the right of && and ||) are not supported."""
        if isinstance(e, ir.Call) and self._writes_active(e):
            out.append(e)  # its pullback takes care of the calls in its arguments
            return
        if isinstance(e, ir.Cond):
            self._always_run_calls(e.cond, out)
            self._no_writing_calls(e.then, "in a branch of ?:")
            self._no_writing_calls(e.other, "in a branch of ?:")
            return
        if isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            self._always_run_calls(e.lhs, out)
            self._no_writing_calls(e.rhs, f"on the right of {e.op}")
            return
        for c in ir.children(e):
            if isinstance(c, ir.Expr):
                self._always_run_calls(c, out)

    def call_stmt(self, e: ir.Call, depth: int, s: ir.ExprStmt):
        fwd, restore, call = self.call_outputs(e, depth)
        fwd.append(replace(s, expr=call))
        fwd += containers.resized_by_call(self, e)
        rev: list[ir.Stmt] = []
        self.memo = {}
        if e.type.is_float:
            self.acc(e, lit(0), rev, discard=True)
        else:
            self.acc_call(e, lit(0), rev)
        self.note_reads(rev)
        return fwd, restore + rev

    def _target(self, e: ir.Call):
        if containers.is_member(e) or containers.is_constructor(e):
            return None, None
        rule = self.program.registry.lookup(e.callee)
        if isinstance(rule, Reduction):
            return None, rule
        fn = None
        if not isinstance(rule, Custom) and "::std::" not in e.text:
            fn = self.program.function(e.callee)
        return fn, rule

    def acc_call(self, e: ir.Call, adj: ir.Expr, out: list[ir.Stmt]) -> None:
        if ir.is_raw_construction(e):  # the object a constructor starts from: no adjoint flows back
            return
        fn, rule = self._target(e)
        if fn is not None:
            return self.user_pullback(e, fn, adj, out)
        if not any(self.is_active(a) for a in e.args):
            return
        if isinstance(rule, Reduction):
            return containers.reverse_reduction(self, e, rule, adj, out)
        if isinstance(rule, Partials):
            act = [self.is_active(a) for a in e.args]
            if sum(act) > 1:
                adj = self.bind(adj, out)
            vals = [self.value(a, out) if a.type.is_float else a for a in e.args]
            result = replace(e, args=tuple(vals))
            if rule.uses_result:
                result = self.value(e, out)
            partials = rule.fn(vals, result)
            for a, p, is_act in zip(e.args, partials, act):
                if is_act:
                    self.acc(a, mul(p, adj), out)
            return
        if isinstance(rule, Custom):
            if self.vector:
                raise self.unsupported("a custom pullback in vector mode (Jacobian)", e)
            if rule.pullback is None:
                raise NoDerivativeError(
                    f"'{e.callee}' has a custom pushforward but no {e.callee.split('::')[-1]}_pullback", e.loc
                )
            return self.emit_pullback(rule.pullback, e, [a.type.holds_float for a in e.args], adj, out, True)
        raise NoDerivativeError(
            f"no derivative known for '{e.text.lstrip(':')}': define its body in the source, or "
            f"pyclad::custom_derivatives::{e.callee.split('::')[-1]}_pullback",
            e.loc,
        )

    def user_pullback(self, e: ir.Call, fn: ir.Function, adj: ir.Expr, out: list[ir.Stmt]) -> None:
        if len(fn.params) != len(e.args):
            raise self.unsupported(f"a call to '{fn.name}' with default arguments", e)
        mask = []
        for p, a in zip(fn.params, e.args):
            if not _shadowed(p.type):
                mask.append(False)
            elif p.type.is_container and not (p.type.ref and not p.type.const) and self.adj_of(a) is None:
                mask.append(self.is_active(a))  # a container computed in the argument: a temporary adjoint
            elif p.type.ptr or p.type.is_container or (p.type.ref and not p.type.const):
                mask.append(self.adj_of(a) is not None)
            else:
                mask.append(self.is_active(a))
        if not any(mask):
            return
        from . import pullback, split_pullback  # the package's entry points, which run this transform

        if self._splits(e, fn):
            forw, name = split_pullback(self.program, fn, mask)
            self.program.split_origin.setdefault(forw, ("forw", e.callee, e.spelling, e.private))
            entry = self.split_calls.setdefault(id(e), [0, forw, name])
            entry[0] += 1
        else:
            name = pullback(self.program, fn, mask, self.vector)
        valued = fn.ret.is_float or _record_value(fn.ret) or shadow.is_container_value(fn.ret)
        self.emit_pullback(name, e, mask, adj if valued else None, out, False, fn)

    def _splits(self, e: ir.Call, fn: ir.Function) -> bool:
        """The call's forward sweep runs its callee's ``NAME_forw`` and its reverse sweep the
        callee's ``NAME_rev`` (split.py)."""
        return (
            not self.vector
            and e.kind == ir.FUNCTION
            and id(e) not in self.nosplit
            and len(fn.params) == len(e.args)
            and splittable(self.program, fn)
        )

    def _split_candidate(self, c) -> bool:
        """A call whose pullback may split: hoisted out of its expression, so that the value its
        ``NAME_forw`` returns is kept for the reverse sweep instead of computed again there."""
        if not isinstance(c, ir.Call) or c.kind != ir.FUNCTION or self.vector:
            return False
        fn, _ = self._target(c)
        return fn is not None and len(fn.params) == len(c.args) and splittable(self.program, fn)

    def emit_pullback(self, name, e, mask, adj, out, custom: bool, fn=None) -> None:
        args = [self.value(a, out) if a.type.is_float else a for a in e.args]
        tail: list[ir.Expr] = []
        after: list[tuple[ir.Expr, Var]] = []
        params = fn.params if fn is not None else [None] * len(e.args)
        for k, (a, m, p) in enumerate(zip(e.args, mask, params)):
            if not m:
                if custom and a.type.holds_float:
                    tail.append(ir.Lit("nullptr", ir.Type(a.type.base, 1)))
                continue
            if not custom and a.type.is_container and self.adj_of(a) is None:
                # f(axpy(y, h, k)): the argument's value once, a zeroed adjoint shaped like it,
                # and what the pullback adds there flows on into the argument's own derivative
                ty = a.type.named()
                value = Var(self.names.temp("_c"), ty)
                out.append(ir.Decl(value.name, ty, args[k]))
                args[k] = value
                r = Var(self.adj_temp("_r"), ty)
                out.append(ir.Decl(r.name, ty, shadow.zero_like(value)))
                tail.append(ir.Unary("&", r, ty.derived(1)))
                after.append((a, r))
                continue
            by_ref = p is not None and (
                p.type.ptr or p.type.is_container or (p.type.ref and not p.type.const)
            )
            if custom and a.type.is_container:  # the adjoint container, through a pointer
                ad = self.adj_of(a)
                if ad is None:
                    raise self.unsupported("passing a container without an adjoint to a custom pullback", a)
                tail.append(_address(ad))
            elif by_ref or (p is None and a.type.ptr):
                ad = self.adj_of(a)
                if p is not None and (p.type.ref or p.type.is_container):
                    ad = _address(ad)
                tail.append(ad)
            elif shadow.has_containers(a.type) and self.adj_of(a) is not None:
                # a record holding containers: its pullback only adds to the adjoint it is
                # given, so it takes the caller's (a zeroed copy per call would cost a copy
                # of every container in it)
                tail.append(_address(self.adj_of(a)))
            else:
                r = self.adj_temp("_r")
                ty = a.type.named()
                out.append(ir.Decl(r, ty, shadow.zero(ty)))
                tail.append(ir.Unary("&", Var(r, ty), ty.derived(1)))
                after.append((a, Var(r, ty)))
        seed = [adj] if adj is not None else []
        out.append(ir.ExprStmt(ir.Call(name, tuple(args + seed + tail), ir.VOID, e.loc)))
        for a, r in after:
            self.acc(a, r, out)


def _logs_elements(program, fn: ir.Function, p: ir.Param, lvalue: ir.Expr) -> bool:
    """A container the caller holds in a variable of its own, which ``fn`` writes through a
    reference only element by element, some elements outside any loop: its callee's
    ``_reverse_forw`` logs each element just before overwriting it, instead of the caller
    copying the whole container before the call.  A callee that writes the container only in
    loops is taken to sweep over all of it: there one copy costs less than an entry per
    store (and its restore is a new value of the whole container, which tells the
    to-be-recorded analysis that what came before is dead)."""
    return (
        p.type.is_container
        and p.type.ref
        and isinstance(lvalue, Var)
        and not lvalue.type.ptr
        and stores_outside_loops(fn, p.name)
        and element_stores_only(program, fn, p)
    )


def _address(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Unary) and e.op == "*":
        return e.operand
    return ir.Unary("&", e, e.type.named().derived(1))


def _holds(e: ir.Expr, node) -> bool:
    return any(n is node for n in ir.walk(e))


def _substitute(e: ir.Expr, swap: dict[int, ir.Expr]) -> ir.Expr:
    """``e`` with the nodes whose id is in ``swap`` replaced (top-down, so the ids are the
    original nodes')."""
    if id(e) in swap:
        return swap[id(e)]
    changes = {}
    for f in e.__dataclass_fields__:
        if f in ("type", "loc"):
            continue
        v = getattr(e, f)
        if isinstance(v, ir.Expr):
            nv = _substitute(v, swap)
            if nv is not v:
                changes[f] = nv
        elif isinstance(v, tuple) and any(isinstance(x, ir.Expr) for x in v):
            nt = tuple(_substitute(x, swap) if isinstance(x, ir.Expr) else x for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changes[f] = nt
    return replace(e, **changes) if changes else e


def _written_parts(fn: ir.Function, p: ir.Param, lvalue: ir.Expr) -> list[ir.Expr]:
    """What of the argument ``lvalue`` a call of ``fn`` may overwrite through its parameter
    ``p``: the fields the body assigns when ``p`` is a record reference that goes nowhere
    else (``ps[i].v`` for a method ``kick`` that only updates ``v``), else all of it."""
    if not (p.type.ref and p.type.is_record):
        return [lvalue]
    paths: list[tuple[str, ...]] = []
    for n in ir.walk(fn.body):
        if isinstance(n, (ir.Assign, ir.Step)):
            path, target = [], n.target
            indexed = False  # an element of an array or container field is stored
            while isinstance(target, (ir.Member, ir.Index)):
                if isinstance(target, ir.Index):
                    indexed, target = True, target.base
                else:
                    path.insert(0, target.name)
                    target = target.operand
            if indexed and isinstance(target, Var) and target.name == p.name:
                return [lvalue]  # saved whole: an array field is not saved on its own
            if isinstance(target, Var) and target.name == p.name:
                if not path:
                    return [lvalue]  # the whole record is assigned
                if tuple(path) not in paths:
                    paths.append(tuple(path))
        elif isinstance(n, ir.Call) or (isinstance(n, ir.Unary) and n.op == "&"):
            # the record (or a part of it) passed on or its address taken: it may change anywhere
            for a in n.args if isinstance(n, ir.Call) else (n.operand,):
                while isinstance(a, (ir.Member, ir.Cast)):
                    a = a.operand
                if isinstance(a, Var) and a.name == p.name:
                    return [lvalue]
    out = []
    for path in paths:
        part = lvalue
        for name in path:
            f = part.type.field_named(name)
            if f is None:
                return [lvalue]
            part = ir.Member(part, name, f.type.value())
        out.append(part)
    return out
