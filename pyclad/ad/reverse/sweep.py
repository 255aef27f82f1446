"""The statement handlers: each statement's forward-sweep and reverse-sweep statements, branch
flags and loop counters, and the loop locals the reverse sweep recomputes instead of taping."""

from __future__ import annotations

from collections import Counter

from ... import ir
from ...errors import UnsupportedError
from ...ir import Var, lit, neg
from .. import containers, memory, shadow
from ..dispatch import exhaustive
from ..shadow import zero
from .counted import Counted, counted_loop, escaped, reverse_loop
from .scratch import refill, scratch_array
from .util import _block, _body, _pure_calls, _record_value

ULONG = ir.Type("unsigned long")


class Sweep:
    """``stmt`` and its handlers, one per statement kind (a mixin of ``ReverseTransform``)."""

    def stmts(self, stmts, depth: int, recompute=None) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``recompute``: statement index -> assignments to run in the reverse sweep just
        before that statement's reverse (see ``recompute_plan``)."""
        fwd: list[ir.Stmt] = []
        parts: list[list[ir.Stmt]] = []  # each statement's reverse, joined backwards at the end
        for k, s in enumerate(stmts):
            counted = counted_loop(stmts[k - 1] if k else None, s, self.unstable())
            f, r = self.counted(s, depth, counted) if counted is not None else self.stmt(s, depth)
            if counted is not None and r and self._scoped(counted.var, stmts[k - 1 : k + 1]):
                # The source reads the counter nowhere else (a for loop's own variable) and
                # the reverse sweep sets it from the bounds: if pruning leaves the forward
                # loop only stepping it, the loop and the counter's start go (prune.py).
                start = fwd[-1] if _is_store(fwd[-1:], counted.var, counted.lo) else None
                self.vanishing[id(f[0])] = (f[0], start)
            fwd += f
            parts.append((recompute or {}).get(k, []) + r)
        return fwd, [x for part in reversed(parts) for x in part]

    def recompute_plan(self, body: list[ir.Stmt]) -> dict[int, list[ir.Stmt]]:
        """Loop-body locals the reverse sweep recomputes instead of taping.

        A scalar declared at the top of a loop body, assigned nowhere else, whose
        initialiser is pure and reads nothing that the body changes before the local's
        last use, has the same value when its initialiser runs again just before the
        reverse of that last use (the reverse sweep has restored everything else by then).
        The stencil's ``double lap = ...`` is the typical case: no tape at all."""
        plan: dict[int, list[ir.Stmt]] = {}
        self.plan_refills(body, plan)
        for idx, st in enumerate(body):
            if (
                not (isinstance(st, ir.Decl) and st.init is not None)
                or st.type.dims
                or st.type.ptr
                or st.type.ref
                or st.type.kind == ir.RECORD
            ):
                continue
            if self.assignments.get(st.name, 0) != 1 or not _pure_calls(st.init):
                continue
            inputs = {n.name for n in ir.walk(st.init) if isinstance(n, Var)}
            if inputs & self.recomputed or any(isinstance(n, Var) and n.is_global for n in ir.walk(st.init)):
                continue
            uses = [k for k in range(idx + 1, len(body)) if _mentions(body[k], st.name)]
            if not uses or any(_writes(body[k], inputs) for k in range(idx + 1, uses[-1] + 1)):
                continue
            value = ir.ExprStmt(
                ir.Assign("=", Var(st.name, st.type.value()), st.init, st.type.value()), st.loc
            )
            plan.setdefault(uses[-1], []).append(value)
            self.recomputed.add(st.name)
            self.recompute_stmts.add(id(value))
            # The recomputation reads its inputs in the reverse sweep: a later overwrite of
            # one of them (``p = q`` after ``double d = q - p``) must be restored before it.
            self.note_reads([value])
        return plan

    def plan_refills(self, body: list[ir.Stmt], plan: dict[int, list[ir.Stmt]]) -> None:
        """Scratch arrays a counted loop of the body fills in every trip: filled again just
        before the reverse of the body's last read of them, never taped (scratch.py)."""
        for idx in range(1, len(body)):
            c = counted_loop(body[idx - 1], body[idx], self.unstable())
            if c is None or not self._scoped(c.var, body[idx - 1 : idx + 1]):
                continue
            found = scratch_array(body, idx, c, self.body, self.prep.assigned, self._callee_params)
            if found is None or found[0] in self.recomputed:
                continue
            name, last = found
            again = refill(c, body[idx])
            plan.setdefault(last, []).append(again)
            self.recomputed.add(name)
            self.note_reads([again])

    def stmt(self, s: ir.Stmt, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        return self.visit_stmt(s, depth)

    def block_stmt(self, s: ir.Block, depth: int):
        return self.stmts(s.stmts, depth)

    def break_stmt(self, s: ir.Break, depth: int):
        return [s], []

    def normalised_away(self, s: ir.Stmt, depth: int):
        """for, switch, case labels and continue do not survive normalisation."""
        raise self.unsupported(f"{type(s).__name__} after normalisation", s)

    def return_stmt(self, s: ir.Return, depth: int):
        if s.value is not None:
            self._check_pure(s.value)  # its forward sweep does not run the returned expression
        if s.value is not None and _record_value(s.value.type) and self.mode != "pullback":
            raise self.unsupported("returning a record from the differentiated function", s)
        returns_container = s.value is not None and shadow.is_container_value(s.value.type)
        if returns_container and self.mode != "pullback":
            raise self.unsupported("returning a container from the differentiated function", s)
        # NAME_forw (split.py) returns the value its forward sweep computes
        fwd = [ir.ExprStmt(ir.Assign("=", self.capture, s.value, self.capture.type))] if self.capture else []
        if s.value is None or not (s.value.type.is_float or _record_value(s.value.type) or returns_container):
            return fwd, []
        seed = Var(self.seed_name, self.fn.ret.plain()) if self.mode == "pullback" else lit(1)
        rev: list[ir.Stmt] = []
        self.memo = {}
        self.acc(s.value, seed, rev)
        self.note_reads(rev)
        return fwd, rev

    def decl(self, s: ir.Decl, depth: int):
        if s.name in self.in_place:  # a record built by its constructor, where the source builds it
            return self.construct_in_place(s)
        if s.type.is_record and depth == 0 and (s.init is None or isinstance(s.init, ir.InitList)):
            self.fresh[s.name] = set()  # its field stores that follow are its initialisation
        if s.init is None:
            return [], []
        target = Var(s.name, s.type.value())
        if s.type.is_record and isinstance(s.init, ir.InitList) and not s.init.items:
            return self.reset_record(target, depth, first=depth == 0, loc=s.loc)
        if isinstance(s.init, ir.InitList) and s.type.dims:
            fwd, rev = [], []
            for el, item in _elements(target, s.init, s):
                f, r = self.assign(ir.Assign("=", el, item, el.type), depth, first=depth == 0, loc=s.loc)
                fwd += f
                rev = r + rev
            return fwd, rev
        return self.assign(
            ir.Assign("=", target, s.init, target.type, s.loc), depth, first=depth == 0, loc=s.loc
        )

    def construct_in_place(self, s: ir.Decl):
        """``MLP net(n_in, n_hidden);`` at the top level of the body: declared where it is (it
        may have no default constructor to hoist it with), its adjoint right after it, a copy
        with every number zeroed (the containers inside of the sizes the constructor gave).
        A record without a default constructor is built so from differentiated values too:
        the reverse sweep passes its adjoint back through the constructor's pullback."""
        ty = s.type.derived(0, (), const=False)
        fwd: list[ir.Stmt] = [ir.Decl(s.name, ty, s.init, s.loc)]
        rev: list[ir.Stmt] = []
        if s.name in self.adj_local:
            fwd += shadow.shadow_decl(self.adj_local[s.name], ty, Var(s.name, ty))
            if self.is_active(s.init):
                self.memo = {}
                self.acc(s.init, Var(self.adj_local[s.name], ty), rev)
                self.note_reads(rev)
        return fwd, rev

    def _first_store(self, target: ir.Expr, root: Var) -> bool:
        """The first store into a field of a record local since its declaration, outside
        loops: the old value is never read again, so it needs no save (``P q = {x, y};``)."""
        fields = self.fresh.get(root.name)
        if fields is None or not isinstance(target, ir.Member) or target in fields:
            return False
        if any(isinstance(n, ir.Index) and not isinstance(n.index, ir.Lit) for n in ir.walk(target)):
            return False
        fields.add(target)
        return True

    def reset_record(self, target: ir.Expr, depth: int, first: bool, loc):
        """``q = {}`` (a record value-initialised before some of its fields are stored, see
        records.py): the old fields are restored and the adjoint of the reset ones dropped."""
        ty = target.type.value()
        save_f, save_r = self.save(target, depth) if not first and self.must_save(target) else ([], [])
        primal = ir.ExprStmt(ir.Assign("=", target, ir.InitList((), ty), ty), loc)
        adj = self.adj_of(target)
        if adj is None or (first and depth == 0):
            return save_f + [primal], save_r
        return save_f + [primal], [ir.ExprStmt(ir.Assign("=", adj, zero(adj.type), adj.type), loc)] + save_r

    def expr_stmt(self, s: ir.ExprStmt, depth: int):
        e = s.expr
        if isinstance(e, ir.Assign):
            return self.assign(e, depth, first=False, loc=s.loc)
        if isinstance(e, ir.Step):
            root = ir.root_var(e.target)
            if e.target.type.is_integral or e.target.type.ptr:  # undone by the inverse step
                inverse = ir.ExprStmt(
                    ir.Step("--" if e.op == "++" else "++", e.prefix, e.target, e.type), s.loc
                )
                adj = self.adj_of(e.target) if e.target.type.ptr else None
                if adj is not None:  # an active pointer moves: so does its adjoint pointer
                    if not _repeatable_lvalue(adj):
                        raise self.unsupported("this increment", e)
                    self._note_indices(e.target)
                    step = ir.Step(e.op, e.prefix, adj, adj.type)
                    back = ir.Step("--" if e.op == "++" else "++", e.prefix, adj, adj.type)
                    self.note_reads([inverse])
                    return [s, ir.ExprStmt(step, s.loc)], [ir.ExprStmt(back, s.loc), inverse]
                if self.must_save(e.target):
                    site = self.next_site()
                    if site is None:  # nothing reads the counter before it is restored
                        return [s], []
                    self._note_indices(e.target)
                    self.restored_at(site, inverse, e.target)
                    return [s], [inverse]
                return [s], []
            if root is not None and root.name in self.active or self.must_save(e.target):
                f, r = self.save(e.target, depth) if self.must_save(e.target) else ([], [])
                return f + [s], r
            return [s], []
        if containers.is_member(e):
            return containers.reverse_member(self, e, depth, s)
        if isinstance(e, ir.Call) and e.kind == ir.EFFECT:
            # Runs once, in the forward sweep of the function the caller asked for; a
            # pullback's forward sweep repeats its primal, which its caller ran already.
            return ([s] if self.effects else []), []
        if isinstance(e, ir.Call):
            pointer = memory.released(s)
            if pointer is not None:
                return self.release(s, pointer)
            return self.call_stmt(e, depth, s)
        if isinstance(e, ir.Binary) and e.op == ",":
            return self.stmts([ir.ExprStmt(e.lhs, s.loc), ir.ExprStmt(e.rhs, s.loc)], depth)
        if ir.has_side_effects(e):
            raise self.unsupported("an expression statement with side effects", s)
        return [s], []

    def assign(self, e: ir.Assign, depth: int, first: bool, loc):
        target, value, op = e.target, e.value, e.op
        root = ir.root_var(target)
        if root is None:
            raise self.unsupported("this assignment target", e)
        if target.type.is_record and isinstance(value, ir.InitList) and not value.items:
            return self.reset_record(target, depth, first, loc)
        first = first or (depth == 0 and self._first_store(target, root))
        self._check_pure(value)
        if target.type.is_container:
            return containers.reverse_assign(self, e, depth, first, loc)
        if op not in ("=", "+=", "-=") and target.type.is_float:
            value = ir.Binary(op[:-1], target, value, target.type.value())
            op = "="
        save_f, save_r = ([], [])
        if not first and self.must_save(target):
            save_f, save_r = self.save(target, depth)
        primal = ir.ExprStmt(ir.Assign(op, target, value, e.type), loc)
        if target.type.ptr:  # an active pointer re-seated: its adjoint pointer follows
            adj = self.adj_of(target)
            if adj is None:
                return save_f + [primal], save_r
            if not _repeatable_lvalue(adj):
                raise self.unsupported("this assignment target", e)
            if op in ("+=", "-="):  # pointer arithmetic, undone by the inverse
                inv = "-=" if op == "+=" else "+="
                moves = [ir.ExprStmt(ir.Assign(op, adj, value, adj.type), loc)]
                back = [ir.ExprStmt(ir.Assign(inv, adj, value, adj.type), loc)]
                back.append(ir.ExprStmt(ir.Assign(inv, target, value, e.type), loc))
                self.note_reads(back)
                return [primal] + moves, back
            adj_value = self.adj_of(value)
            if adj_value is None and ir.is_null(value):
                adj_value = ir.Lit("nullptr", adj.type)  # p = nullptr: so is its adjoint pointer
            alloc = memory.allocation(value) if adj_value is None else None
            if alloc is not None:  # a new buffer: its adjoint buffer is allocated beside it, zeroed
                adj_value = memory.shadow_allocation(value, shadow.adjoint_type(target.type).element())
            elif adj_value is None:
                raise self.unsupported("pointing an active pointer at inactive storage", e)
            # the reverse sweep before this point sees the old pointer and its old adjoint pointer
            adj_f, adj_r = ([], []) if first else self.save(adj, depth)
            init_r = self.initial_values(alloc, adj) if alloc is not None else []
            return save_f + adj_f + [
                ir.ExprStmt(ir.Assign("=", adj, adj_value, adj.type), loc),
                primal,
            ], init_r + adj_r + save_r
        if root.is_global and self.is_active(value):
            raise self.unsupported(f"storing a differentiated value in global '{root.name}'", e)
        adj = self.adj_of(target) if target.type.is_float or _record_value(target.type) else None
        call_f, call_r, logging = self.call_outputs(value, depth)
        if logging is not value:  # a writing call saves what it overwrites as it runs
            primal = ir.ExprStmt(ir.Assign(op, target, logging, e.type), loc)
        if adj is None:  # no derivative flows through the value; calls in it may still write some
            return save_f + call_f + [primal], save_r + call_r + self.discard_calls(value)
        rev: list[ir.Stmt] = []
        self.memo = {}
        if not _repeatable_lvalue(adj):
            raise self.unsupported("this assignment target", e)
        if op == "=":
            if any(isinstance(n, Var) and n.name == root.name for n in ir.walk(value)):
                r = self.adj_temp("_r_d")
                rv = Var(r, target.type.value())
                rev.append(ir.Decl(r, target.type.value(), adj))
                rev.append(ir.ExprStmt(ir.Assign("=", adj, zero(adj.type), adj.type)))
                self.acc(value, rv, rev)
            else:
                self.acc(value, adj, rev)
                if not (first and depth == 0):
                    rev.append(ir.ExprStmt(ir.Assign("=", adj, zero(adj.type), adj.type)))
        else:  # += / -=: the target's adjoint passes through unchanged, and is the value's
            seed = adj
            if any(isinstance(n, Var) and n.name == root.name for n in ir.walk(value)):
                # s += x * s: the value's own contribution to _d_s must not be read back
                # by the rest of the value's partials; they all use the adjoint of the result.
                r = self.adj_temp("_r_d")
                rev.append(ir.Decl(r, target.type.value(), adj))
                seed = Var(r, target.type.value())
            self.acc(value, seed if op == "+=" else neg(seed), rev)
        self.note_reads([x for x in rev])
        if ir.is_atomic(target) is False:
            self.note_reads([ir.ExprStmt(target.index)] if isinstance(target, ir.Index) else [])
            if isinstance(target, ir.Member):
                self._note_indices(target)
        return save_f + call_f + [primal], save_r + call_r + rev

    def initial_values(self, alloc: ir.Call, adj: ir.Expr) -> list[ir.Stmt]:
        """The reverse of the initial values a ``new`` stores into the buffer it allocates
        (``new double(x)``, ``new double[3]{a, b, c}``): their adjoints are the adjoint
        buffer's elements."""
        if alloc.kind != ir.NEW:
            return []
        items = alloc.args[1:] if alloc.callee == "new[]" else alloc.args
        if items and isinstance(items[0], ir.InitList):
            items = items[0].items
        rev: list[ir.Stmt] = []
        self.memo = {}
        element = adj.type.element()
        for k, item in enumerate(items):
            if item.type.is_float and self.is_active(item):
                slot = ir.Index(adj, lit(k, ir.INT), element) if alloc.callee == "new[]" else None
                self.acc(item, slot if slot is not None else ir.Unary("*", adj, element), rev)
        self.note_reads(rev)
        return rev

    def release(self, s: ir.ExprStmt, pointer: ir.Expr) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``delete[] t`` / ``free(t)``: the reverse sweep may still read ``t`` (and adds into
        its adjoint buffer), so both are released when the generated function returns (the
        adjoint buffer only when this function allocated it: see memory.owned)."""
        deferred = self.deferred
        if deferred is None:
            deferred = self.deferred = Var(self.names.claim("_released"), memory.DEFERRED)
            self.top.append(ir.Decl(deferred.name, memory.DEFERRED, None))
        fwd = [memory.defer(s, pointer, deferred)]
        adj = self.adj_of(pointer)
        if self.owned is None:
            self.owned = memory.owned(self.body)
        if adj is not None and isinstance(pointer, Var) and pointer.name in self.owned:
            fwd.append(memory.defer(s, adj, deferred))
        return fwd, []

    def _check_cond(self, e: ir.Expr) -> None:
        self._check_pure(e)
        self._no_writing_calls(e, "inside a condition")

    def if_stmt(self, s: ir.If, depth: int):
        self._check_cond(s.cond)
        ft, rt = self.stmts(_body(s.then), depth)
        fo, ro = self.stmts(_body(s.other), depth)
        if not rt and not ro:
            return [ir.If(s.cond, _block(ft), _block(fo) if s.other is not None else None, s.loc)], []
        if depth and self.condition_recomputable(s):
            self.note_reads([ir.ExprStmt(s.cond)])  # its inputs must be restored by then
            fwd = [ir.If(s.cond, _block(ft), _block(fo) if fo else None, s.loc)] if ft or fo else []
            return fwd, [ir.If(s.cond, _block(rt), _block(ro) if ro else None)]
        flag = self.names.temp("_cond")
        self.top.append(ir.Decl(flag, ir.BOOL, ir.Lit("false", ir.BOOL)))
        fv = Var(flag, ir.BOOL)
        fwd: list[ir.Stmt] = [ir.ExprStmt(ir.Assign("=", fv, s.cond, ir.BOOL), s.loc)]
        test: ir.Expr = fv
        if depth:
            tape = self.slot(ir.BOOL, depth)
            fwd.append(ir.ExprStmt(ir.Call("::pyclad::push", (Var(tape, ir.BOOL), fv), ir.VOID)))
            test = ir.Call("::pyclad::pop", (Var(tape, ir.BOOL),), ir.BOOL)
        fwd.append(ir.If(fv, _block(ft), _block(fo) if fo else None, s.loc))
        return fwd, [ir.If(test, _block(rt), _block(ro) if ro else None)]

    def condition_recomputable(self, s: ir.If) -> bool:
        """A branch inside a loop whose condition the reverse sweep can test again instead of
        taping its outcome: the condition is pure, the arms do not change what it reads, and
        what it reads is either never written (``x[i] > 0`` with a const ``x``) or integral
        (a counter, restored as cheaply as a taped outcome), so that no floating value has to
        be saved for it.  The reverse of the ``if`` runs where the state is restored to the
        end of the ``if``, which for the condition's inputs is the state it was tested in."""
        if not _pure_calls(s.cond):
            return False
        inputs = [n for n in ir.walk(s.cond) if isinstance(n, Var)]
        if any(v.is_global or not (v.type.is_integral or self._never_written(v)) for v in inputs):
            return False
        names = {v.name for v in inputs}
        return not any(_writes(x, names) for x in _body(s.then) + _body(s.other))

    def _never_written(self, v: Var) -> bool:
        """Read-only storage (``const double* x``, not re-seated) or a scalar nothing assigns."""
        if v.name in self.prep.assigned:
            return False
        if v.type.ptr or v.type.dims:
            return v.type.const
        return self.assignments.get(v.name, 0) == 0

    def loop(self, s, depth: int):
        self._check_cond(s.cond)
        body_stmts = _body(s.body)
        fb, rb = self.stmts(body_stmts, depth + 1, self.recompute_plan(body_stmts))
        if not rb:
            body = _block(fb)
            return [
                ir.While(s.cond, body, s.loc) if isinstance(s, ir.While) else ir.DoWhile(body, s.cond, s.loc)
            ], []
        count = self.names.temp("_count")
        self.top.append(ir.Decl(count, ULONG, lit(0, ULONG)))
        cv = Var(count, ULONG)
        body = _block([ir.ExprStmt(ir.Step("++", False, cv, ULONG))] + fb)
        fwd: list[ir.Stmt] = [ir.ExprStmt(ir.Assign("=", cv, lit(0, ULONG), ULONG))]
        fwd.append(
            ir.While(s.cond, body, s.loc) if isinstance(s, ir.While) else ir.DoWhile(body, s.cond, s.loc)
        )
        rev: list[ir.Stmt] = []
        if depth:
            tape = self.slot(ULONG, depth)
            fwd.append(ir.ExprStmt(ir.Call("::pyclad::push", (Var(tape, ULONG), cv), ir.VOID)))
            rev.append(
                ir.ExprStmt(ir.Assign("=", cv, ir.Call("::pyclad::pop", (Var(tape, ULONG),), ULONG), ULONG))
            )
        rev.append(ir.For((), cv, ir.Step("--", False, cv, ULONG), _block(rb)))
        return fwd, rev

    def unstable(self) -> set[str]:
        """The variables a counted loop's bounds must not read (``counted.escaped``)."""
        if getattr(self, "_unstable", None) is None:
            self._unstable = escaped(self.fn, self.body, self._callee_params)
        return self._unstable

    @property
    def vanishing(self) -> dict[int, tuple[ir.While, ir.Stmt | None]]:
        """Forward counted loops (by id, with the loop) that go when pruning leaves only
        their counter's step, each with the statement that starts the counter (or None)."""
        if getattr(self, "_vanishing", None) is None:
            self._vanishing = {}
        return self._vanishing

    def mentions(self) -> Counter:
        """How often each name occurs in the normalised body."""
        if getattr(self, "_mentions", None) is None:
            self._mentions = Counter(n.name for n in ir.walk(self.body) if isinstance(n, Var))
        return self._mentions

    def _scoped(self, var: Var, stmts: list[ir.Stmt]) -> bool:
        """The body names ``var`` only in ``stmts``."""
        inside = sum(1 for s in stmts for n in ir.walk(s) if isinstance(n, Var) and n.name == var.name)
        return self.mentions()[var.name] == inside

    def counted(self, s: ir.While, depth: int, c: Counted):
        """A counted loop (see counted.py): the reverse sweep runs its trips again from the
        bounds, no count kept; the last statement of the body is the ``++v`` it undoes."""
        self._check_cond(s.cond)
        body_stmts = _body(s.body)
        inner = body_stmts[:-1]
        fb, rb = self.stmts(inner, depth + 1, self.recompute_plan(inner))
        loop = ir.While(s.cond, _block(fb + body_stmts[-1:]), s.loc)
        if not rb:
            return [loop], []
        rev = reverse_loop(c, rb)
        self.note_reads([rev])
        return [loop], [rev]

    def _check_pure(self, e: ir.Expr) -> None:
        for n in ir.walk(e):
            if isinstance(n, (ir.Assign, ir.Step)):
                raise self.unsupported("an assignment or increment inside an expression", n)


def _elements(array: ir.Expr, init: ir.InitList, s: ir.Decl) -> list[tuple[ir.Expr, ir.Expr]]:
    """(element, initial value) of every element of a local array with an initialiser list,
    nested lists for nested dimensions (``double m[2][2] = {{a, b}, {c}}``), the missing ones 0."""
    n = array.type.dims[0]
    if len(init.items) > n:
        raise UnsupportedError("an initialiser list longer than its array", s.loc)
    out = []
    for k in range(n):
        el = ir.Index(array, lit(k, ir.INT), array.type.element())
        item = init.items[k] if k < len(init.items) else None
        if el.type.dims:
            if item is not None and not isinstance(item, ir.InitList):
                raise UnsupportedError("an initialiser list without inner braces", s.loc)
            out += _elements(el, item or ir.InitList((), el.type), s)
        else:
            out.append((el, item if item is not None else lit(0)))
    return out


def _is_store(stmts: list[ir.Stmt], var: Var, value: ir.Expr) -> bool:
    """``stmts`` is the one statement ``var = value`` with a pure ``value``."""
    if len(stmts) != 1 or not isinstance(stmts[0], ir.ExprStmt):
        return False
    e = stmts[0].expr
    return (
        isinstance(e, ir.Assign)
        and e.op == "="
        and isinstance(e.target, Var)
        and e.target.name == var.name
        and e.value == value
        and _pure_calls(value)
    )


def _mentions(s: ir.Stmt, name: str) -> bool:
    return any(isinstance(n, Var) and n.name == name for n in ir.walk(s))


def _writes(s: ir.Stmt, names: set[str]) -> bool:
    """Whether ``s`` may change a variable of ``names`` (any call but a math builtin may)."""
    for n in ir.walk(s):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.name in names:
                return True
        if isinstance(n, ir.Call) and not _pure_calls(n):
            return True
    return False


def _repeatable_lvalue(e: ir.Expr) -> bool:
    """An lvalue the reverse sweep can name again: its indices have no side effects (their
    variables are restored to the forward sweep's values, see ``note_reads``)."""
    if isinstance(e, ir.Member):
        return _repeatable_lvalue(e.operand)
    if isinstance(e, ir.Index):
        return _repeatable_lvalue(e.base) and not ir.has_side_effects(e.index)
    if isinstance(e, ir.Unary) and e.op == "*":
        return isinstance(e.operand, Var)
    return isinstance(e, Var)


_STMT = exhaustive(
    {
        ir.Decl: "decl",
        ir.ExprStmt: "expr_stmt",
        ir.Block: "block_stmt",
        ir.If: "if_stmt",
        ir.While: "loop",
        ir.DoWhile: "loop",
        ir.Break: "break_stmt",
        ir.Return: "return_stmt",
        ir.For: "normalised_away",
        ir.Switch: "normalised_away",
        ir.Case: "normalised_away",
        ir.Default: "normalised_away",
        ir.Continue: "normalised_away",
    },
    ir.Stmt,
    "reverse mode statements",
)
