"""Reverse mode: a forward sweep that runs the primal and saves what it overwrites,
then a reverse sweep that walks the statements backwards, restoring saved values
and pushing each adjoint to the operands (``_d_u += du/dv * _d_v``).

The function is first normalised (``normalize.py``) so that what ran is
described by branch outcomes and loop trip counts alone.  Outside loops those
are kept in locals; inside loops on ``pyclad::tape``s.

Values are restored rather than stored for later use: before the reverse
statement of ``v = e`` runs, ``v`` gets back the value it had before the
assignment.  So every partial derivative can be recomputed from the program's
own variables, and only variables the reverse sweep actually reads are saved
(to-be-recorded analysis).  A loop whose iterations overwrite nothing the
reverse sweep reads needs no tape at all: integer counters ``i++`` are undone by
``i--``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from .. import ir
from ..errors import NoDerivativeError, UnsupportedError
from ..ir import Var, div, is_zero, lit, mul, neg
from . import containers, shadow
from .activity import active_variables, writable
from .dispatch import exhaustive, handler
from .forward import vectorize
from .names import Namer, specialised
from .normalize import RETURNED, Normalizer
from .pause import collector_paused
from .program import Program
from .rules import BUILTINS, Custom, Partials, Reduction
from .sequence import sequence

ULONG = ir.Type("unsigned long")


@dataclass(frozen=True)
class Output:
    """An adjoint array/scalar parameter of a gradient: ``name`` is the adjoint of ``param``."""

    name: str
    param: str
    wrt: bool


@collector_paused
def gradient(
    program: Program, fn: ir.Function, wrt: list[str], name: str
) -> tuple[ir.Function, list[Output]]:
    t = _build(program, fn, set(wrt), mode="grad")
    outs: list[Output] = []
    params = list(fn.params)
    for p in fn.params:
        if p.name in wrt or (p.type.indexable and p.name in t.active):
            params.append(ir.Param(t.adj_param[p.name], shadow.adjoint_param_type(p.type)))
            outs.append(Output(t.adj_param[p.name], p.name, p.name in wrt))
    what = ", ".join(wrt)
    comment = f"Gradient of {fn.name} w.r.t. {what}, reverse mode.\nAdjoints are accumulated (+=): zero them before the call."
    extra = [o for o in outs if not o.wrt]
    if extra:
        comment += "\n" + "\n".join(f"{o.name}: scratch adjoint of {o.param} (same length)." for o in extra)
    out = ir.Function(name, ir.VOID, tuple(params), t.assemble(), fn.loc, comment)
    return out, outs


@collector_paused
def pullback(program: Program, fn: ir.Function, active_params: list[bool], vector: int = 0) -> str:
    """The name of fn's pullback for this activity pattern; generated on first use.
    ``vector`` > 0: adjoints are ``pyclad::vec<vector>``, one reverse sweep for that many
    seeds at once (vector reverse mode, for Jacobians)."""
    name = specialised(f"{fn.name}_pullback", fn, active_params) + (f"_vec{vector}" if vector else "")
    if program.has(name):
        return name
    program.reserve(name)
    seeds = {p.name for p, a in zip(fn.params, active_params) if a}
    t = _build(program, fn, seeds, mode="pullback", vector=vector)
    params = list(fn.params)
    if fn.ret.is_float:
        params.append(ir.Param(t.seed_name, fn.ret.value()))
    for p, a in zip(fn.params, active_params):
        if a:
            params.append(ir.Param(t.adj_param[p.name], shadow.adjoint_param_type(p.type)))
    out = ir.Function(name, ir.VOID, tuple(params), t.assemble(), fn.loc)
    if vector:
        out = vectorize(out, t.adjoint_names(), vector)
    program.add(out)
    return name


def _build(program, fn, seeds, mode, vector=0):
    """Run the transform twice: first to learn what the reverse sweep reads, then for real.
    Saving a value can make the reverse sweep read more (the index of a restored element,
    the counter an inverse ``i--`` needs): then once more, until nothing new is read."""
    probe = ReverseTransform(program, fn, seeds, mode, needed=None, vector=vector)
    probe.run()
    needed = set(probe.reads)
    if mode == "pullback":
        # A pullback re-runs its callee's forward sweep on the caller's memory: its reverse
        # sweep must leave what it overwrote through pointer and reference parameters as it
        # found it, for the caller's reverse sweep that goes on reading it.
        needed |= {p.name for p in fn.params if writable(p.type)}
    while True:
        t = ReverseTransform(program, fn, seeds, mode, needed=needed, vector=vector, prep=probe.prep)
        t.run()
        # Only the function's own variables are ever saved: reads of the names a run made up
        # itself (saved values, adjoint temporaries) cannot change what the next run saves.
        if not (t.reads - needed) & probe.prep.variables:
            return t
        needed |= t.reads


@dataclass
class _Prepared:
    """What every run of the transform over one function starts from: the function with its
    side effects sequenced, its body normalised, the activity of its variables and the facts
    the set-up reads off the body (computed once, not once per run)."""

    fn: ir.Function
    body: ir.Block
    extra: list[ir.Decl]
    active: set[str]
    names: Namer  # as the preparation left it; each run takes a copy
    assignments: dict[str, int] = field(default_factory=dict)  # stores to each variable
    assigned: set[str] = field(default_factory=set)  # roots of assignment and increment targets
    decls: list[ir.Decl] = field(default_factory=list)  # first declaration of each local
    variables: set[str] = field(default_factory=set)  # every name the body and signature use
    has_loop: bool = False
    uses_returned: bool = False
    active_memo: dict = field(default_factory=dict)  # node id -> (node, holds an active variable)
    call_memo: dict = field(default_factory=dict)  # node id -> (node, calls a writing user function)

    def survey(self) -> None:
        """One walk over the body for every fact the set-up needs."""
        declared: set[str] = set()
        self.variables = {p.name for p in self.fn.params} | {d.name for d in self.extra}
        for n in ir.walk(self.body):
            if isinstance(n, (ir.Var, ir.Decl)):
                self.variables.add(n.name)
            target = n.name if isinstance(n, ir.Decl) and n.init is not None else None
            if isinstance(n, ir.Decl) and n.name not in declared:
                declared.add(n.name)
                self.decls.append(n)
            elif isinstance(n, (ir.Assign, ir.Step)):
                root = ir.root_var(n.target)
                target = root.name if root is not None else None
                if target is not None:
                    self.assigned.add(target)
            elif isinstance(n, ir.Call):  # a callee may write through pointer/reference args
                for a in n.args:
                    root = ir.root_var(a.operand if isinstance(a, ir.Unary) and a.op == "&" else a)
                    if root is not None:
                        self.assignments[root.name] = self.assignments.get(root.name, 0) + 2
            elif isinstance(n, (ir.While, ir.DoWhile)):
                self.has_loop = True
            elif isinstance(n, ir.Var) and n.name == RETURNED:
                self.uses_returned = True
            if target is not None:
                self.assignments[target] = self.assignments.get(target, 0) + 1


class ReverseTransform:
    def __init__(
        self,
        program: Program,
        fn: ir.Function,
        seeds: set[str],
        mode: str,
        needed,
        vector: int = 0,
        prep: _Prepared | None = None,
    ):
        self.program = program
        self.vector = vector
        self.adjoint_temps: set[str] = set()
        self.recomputed: set[str] = set()  # loop locals recomputed in the reverse sweep
        self.mode = mode
        self.seeds = set(seeds)
        if prep is None:
            prep = self._prepare(fn, seeds)
        self.prep = prep
        self.fn, self.body, self.active = prep.fn, prep.body, prep.active
        self.names = copy.deepcopy(prep.names)
        self.assignments = prep.assignments
        self.needed = needed  # None on the probing run: save nothing, record reads
        self.reads: set[str] = set()
        self.top: list[ir.Stmt] = []  # declarations at the top of the generated function
        self.tail: list[ir.Stmt] = []
        self.adj_param: dict[str, str] = {}
        self.adj_local: dict[str, str] = {}
        self.seed_name = self.names.claim("_d_y") if mode == "pullback" else ""
        self.memo: dict[int, ir.Expr] = {}
        self._active_memo = prep.active_memo  # the runs share the body's nodes and activity
        self._call_memo = prep.call_memo
        self._declare_locals(prep.extra)

    def _prepare(self, fn: ir.Function, seeds: set[str]) -> _Prepared:
        self.fn = fn = sequence(fn)
        self.names = Namer.for_function(fn)
        hoisted = replace(fn, body=self._hoist_block(fn.body))
        body, extra = Normalizer(hoisted, self.names).run()
        active = active_variables(replace(fn, body=body), seeds, self._callee_params) | set(seeds)
        prep = _Prepared(fn, body, extra, active, copy.deepcopy(self.names))
        prep.survey()
        return prep

    def adjoint_names(self) -> set[str]:
        """Every name that holds an adjoint (retyped in vector reverse mode)."""
        names = set(self.adj_param.values()) | set(self.adj_local.values()) | self.adjoint_temps
        return names | ({self.seed_name} if self.seed_name else set())

    def adj_temp(self, prefix: str) -> str:
        name = self.names.temp(prefix)
        self.adjoint_temps.add(name)
        return name

    # ------------------------------------------------------------------ set-up
    def _callee_params(self, c: ir.Call):
        rule = self.program.registry.lookup(c.callee)
        if isinstance(rule, (Partials, Reduction)) or containers.is_member(c):
            return None
        f = self.program.function(c.callee) if not isinstance(rule, Custom) else None
        return f.params if f is not None else None

    # ------------------------------------------------------------------ calls that write
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
            pre, value = self._hoist_expr(s.value)
            return pre + [replace(s, value=value)]
        return [s]

    def _hoist_expr(self, e: ir.Expr, may_be_whole: bool = True) -> tuple[list[ir.Stmt], ir.Expr]:
        whole = e
        while isinstance(whole, ir.Cast) and whole.implicit:
            whole = whole.operand
        calls: list[ir.Call] = []

        def find(x):  # the writing calls that always run, outermost ones
            if self._writing_call(x):
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
        if calls == [whole] and may_be_whole:
            return [], e
        pre: list[ir.Stmt] = []
        swap: dict[int, Var] = {}
        for c in calls:
            ty = ir.Type(c.type.base, c.type.ptr)
            name = self.names.temp("_c")
            pre.append(ir.Decl(name, ty, c, c.loc))
            swap[id(c)] = Var(name, ty, c.loc)
        return pre, _substitute(e, swap)

    def _declare_locals(self, extra) -> None:
        has_loop, assigned_params = self.prep.has_loop, self.prep.assigned
        for p in self.fn.params:
            if p.type.holds_float and (p.name in self.active):
                if p.type.ptr or p.type.is_container:
                    self.adj_param[p.name] = self.names.derivative(p.name)
                elif p.name not in self.seeds:
                    # A scalar left out of wrt (or inactive in the caller) that the body
                    # overwrites with a differentiated value: its adjoint is a local the
                    # caller never sees.
                    local = self.names.derivative(p.name)
                    self.adj_local[p.name] = local
                    self.top.append(ir.Decl(local, ir.Type(p.type.base), lit(0)))
                elif p.type.ref and not p.type.const:
                    self.adj_param[p.name] = self.names.derivative(p.name)
                else:
                    self.adj_param[p.name] = self.names.derivative(p.name)
                    # A local accumulator when the parameter is reassigned (the caller's
                    # value must only be added to) or updated in a loop (keeps it in a register).
                    if p.name in assigned_params or has_loop:
                        local = self.names.claim(f"_d_{p.name}")
                        self.adj_local[p.name] = local
                        self.top.append(ir.Decl(local, ir.Type(p.type.base), lit(0)))
                        ptr = Var(self.adj_param[p.name], ir.Type(p.type.base, 1))
                        self.tail.append(
                            ir.ExprStmt(
                                ir.Assign(
                                    "+=",
                                    ir.Unary("*", ptr, p.type.value()),
                                    Var(local, p.type.value()),
                                    p.type.value(),
                                )
                            )
                        )
        for d in extra:
            self.top.append(d)
        for n in self.prep.decls:
            # normalisation may copy the statements after a branch into both arms: one declaration
            t = n.type
            if t.ref:
                raise UnsupportedError("a reference local variable is not supported in reverse mode", n.loc)
            plain = t.derived(t.ptr, t.dims, const=t.const if t.ptr else False)
            init = (
                ir.InitList((), plain)
                if t.dims or (not t.ptr and t.base not in ir.ARITHMETIC_BASES)
                else (ir.Lit("nullptr", plain) if t.ptr else lit(0, plain))
            )
            self.top.append(ir.Decl(n.name, plain, init))
            if n.name in self.active and t.holds_float:
                d = self.names.derivative(n.name)
                self.adj_local[n.name] = d
                dplain = t.derived(t.ptr, t.dims)  # adjoints are written even where the value is const
                dinit = (
                    ir.InitList((), dplain)
                    if t.dims or t.is_container
                    else (ir.Lit("nullptr", dplain) if t.ptr else lit(0, dplain))
                )
                self.top.append(ir.Decl(d, dplain, dinit))
        if self.prep.uses_returned:
            self.top.append(ir.Decl(RETURNED, ir.BOOL, ir.Lit("false", ir.BOOL)))

    def unsupported(self, what: str, node) -> UnsupportedError:
        return UnsupportedError(
            f"{what} is not supported in reverse mode", getattr(node, "loc", None) or self.fn.loc
        )

    def run(self) -> None:
        self.fwd, self.rev = self.stmts(self.body.stmts, 0)

    def assemble(self) -> ir.Block:
        locals_ = {d.name for d in self.top if isinstance(d, ir.Decl)}
        locals_ |= {p.name for p in self.fn.params if not p.type.ptr and not p.type.ref}
        fwd = prune_forward(self.fwd, self.rev + self.tail, locals_, self.recomputed)
        body = fwd + self.rev + self.tail
        used: set[str] = set()
        for s in body:
            ir.var_names(s, used)
        # a local whose every update was pruned (or an adjoint nothing reads) is not declared either
        top = [d for d in self.top if not isinstance(d, ir.Decl) or d.name in used]
        return ir.Block(tuple(top + body))

    # ------------------------------------------------------------------ adjoints
    def is_active(self, e: ir.Expr) -> bool:
        """Some variable in ``e`` is active (memoised per node: the adjoint of an expression asks
        this of every subexpression, which must not re-walk each subtree)."""
        return _subtree_any(e, lambda n: isinstance(n, Var) and n.name in self.active, self._active_memo)

    def has_user_call(self, e: ir.Expr) -> bool:
        """``e`` calls a user function that returns a value and writes through a parameter."""
        return _subtree_any(e, self._is_writing_user_call, self._call_memo)

    def _is_writing_user_call(self, n) -> bool:
        if not isinstance(n, ir.Call):
            return False
        fn, _ = self._target(n)
        return fn is not None and fn.ret.is_void is False and any(writable(p.type) for p in fn.params)

    def adj_var(self, v: Var) -> ir.Expr:
        """The adjoint lvalue of an active variable (or the adjoint pointer of a pointer)."""
        if v.name in self.adj_local:
            return Var(self.adj_local[v.name], v.type.plain())
        if v.name in self.adj_param:
            ptr = Var(self.adj_param[v.name], shadow.adjoint_param_type(v.type))
            if v.type.ptr:
                return ptr
            return ir.Unary("*", ptr, shadow.adjoint_pointee(v.type))
        raise self.unsupported(f"'{v.name}' without an adjoint", v)

    def adj_of(self, e: ir.Expr) -> ir.Expr | None:
        """Adjoint lvalue of an lvalue / adjoint pointer of a pointer expression; None if inactive."""
        if isinstance(e, Var):
            if e.name not in self.active or e.is_global:
                return None
            return self.adj_var(e)
        if isinstance(e, ir.Index):
            base = self.adj_of(e.base)
            return None if base is None else ir.Index(base, e.index, e.type.value())
        if isinstance(e, ir.Unary) and e.op == "*":
            p = self.adj_of(e.operand)
            return None if p is None else ir.Unary("*", p, e.type.value())
        if isinstance(e, ir.Unary) and e.op == "&":
            inner = self.adj_of(e.operand)
            if inner is None:
                return None
            if isinstance(inner, ir.Unary) and inner.op == "*":
                return inner.operand
            return ir.Unary("&", inner, e.type)
        if isinstance(e, ir.Binary) and e.type.ptr and e.op in "+-":
            p = self.adj_of(e.lhs)
            return None if p is None else ir.Binary(e.op, p, e.rhs, e.type)
        if isinstance(e, ir.Cast):
            return self.adj_of(e.operand)
        if containers.is_member(e) and e.spelling == "data":  # v.data(): the adjoint's data()
            base = self.adj_of(e.args[0])
            return None if base is None else containers.method(base, "data", (), e.type)
        return None

    def note_reads(self, stmts) -> None:
        for s in stmts:
            ir.var_names(s, self.reads)

    # ------------------------------------------------------------------ storage
    def slot(self, ty: ir.Type, depth: int, prefix: str = "_t") -> str:
        name = self.names.temp(prefix)
        if depth:
            self.top.append(ir.Decl(name, ir.Type(f"::pyclad::tape<{ty.spell()}>"), None))
        else:
            self.top.append(ir.Decl(name, ty, ir.Lit("false", ty) if ty.base == "bool" else lit(0, ty)))
        return name

    def save(self, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        if target.type.dims:
            return self.save_array(target, depth)
        ty = ir.Type(target.type.base, target.type.ptr, const=target.type.const and target.type.ptr > 0)
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
        while isinstance(target, ir.Index):
            self.note_reads([ir.ExprStmt(target.index)])
            target = target.base

    def must_save(self, target: ir.Expr) -> bool:
        root = ir.root_var(target)
        if root is not None and root.name in self.recomputed:
            return False
        return self.needed is not None and root is not None and root.name in self.needed

    # ------------------------------------------------------------------ statements
    def stmts(self, stmts, depth: int, recompute=None) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``recompute``: statement index -> assignments to run in the reverse sweep just
        before that statement's reverse (see ``recompute_plan``)."""
        fwd: list[ir.Stmt] = []
        parts: list[list[ir.Stmt]] = []  # each statement's reverse, joined backwards at the end
        for k, s in enumerate(stmts):
            f, r = self.stmt(s, depth)
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
        for idx, st in enumerate(body):
            if (
                not (isinstance(st, ir.Decl) and st.init is not None)
                or st.type.dims
                or st.type.ptr
                or st.type.ref
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
            # The recomputation reads its inputs in the reverse sweep: a later overwrite of
            # one of them (``p = q`` after ``double d = q - p``) must be restored before it.
            self.note_reads([value])
        return plan

    def stmt(self, s: ir.Stmt, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        return handler(self, _STMT, s, "reverse mode", self.fn.loc)(s, depth)

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
        if s.value is None or not s.value.type.is_float:
            return [], []
        seed = Var(self.seed_name, self.fn.ret.value()) if self.mode == "pullback" else lit(1)
        rev: list[ir.Stmt] = []
        self.memo = {}
        self.acc(s.value, seed, rev)
        self.note_reads(rev)
        return [], rev

    def decl(self, s: ir.Decl, depth: int):
        if s.init is None:
            return [], []
        target = Var(s.name, s.type.value())
        if isinstance(s.init, ir.InitList) and not s.type.is_container:
            if len(s.type.dims) != 1:
                raise self.unsupported("a multi-dimensional local array", s)
            fwd, rev = [], []
            items = list(s.init.items) + [lit(0)] * (s.type.dims[0] - len(s.init.items))
            for k, item in enumerate(items):
                el = ir.Index(target, lit(k, ir.INT), s.type.element())
                f, r = self.assign(ir.Assign("=", el, item, el.type), depth, first=depth == 0, loc=s.loc)
                fwd += f
                rev = r + rev
            return fwd, rev
        return self.assign(ir.Assign("=", target, s.init, target.type), depth, first=depth == 0, loc=s.loc)

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
                    self._note_indices(e.target)
                    return [s], [inverse]
                return [s], []
            if root is not None and root.name in self.active or self.must_save(e.target):
                f, r = self.save(e.target, depth) if self.must_save(e.target) else ([], [])
                return f + [s], r
            return [s], []
        if containers.is_member(e):
            return containers.reverse_member(self, e, depth, s)
        if isinstance(e, ir.Call):
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
            if adj_value is None:
                raise self.unsupported("pointing an active pointer at inactive storage", e)
            # the reverse sweep before this point sees the old pointer and its old adjoint pointer
            adj_f, adj_r = ([], []) if first else self.save(adj, depth)
            return save_f + adj_f + [
                ir.ExprStmt(ir.Assign("=", adj, adj_value, adj.type), loc),
                primal,
            ], adj_r + save_r
        if root.is_global and self.is_active(value):
            raise self.unsupported(f"storing a differentiated value in global '{root.name}'", e)
        adj = self.adj_of(target) if target.type.is_float else None
        call_f, call_r = self.call_outputs(value, depth)
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
                rev.append(ir.ExprStmt(ir.Assign("=", adj, lit(0), adj.type)))
                self.acc(value, rv, rev)
            else:
                self.acc(value, adj, rev)
                if not (first and depth == 0):
                    rev.append(ir.ExprStmt(ir.Assign("=", adj, lit(0), adj.type)))
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
        return save_f + call_f + [primal], save_r + call_r + rev

    def call_outputs(self, e: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """Saves of what the user calls in ``e`` overwrite through pointer and reference
        parameters, where the reverse sweep reads it: a pullback re-runs its callee, so it
        must start from the values the call started from."""
        outs: list[ir.Expr] = []
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
                if p.type.ptr and root.type.dims:
                    lvalue = root  # a local array: its length is known, save all of it
                elif p.type.ptr and (root.type.ptr or lvalue is a):
                    raise self.unsupported(
                        f"a call that overwrites an array the reverse sweep reads ('{root.name}', "
                        "whose length is not known here)",
                        c,
                    )
                if lvalue not in outs:
                    outs.append(lvalue)
        fwd: list[ir.Stmt] = []
        restore: list[ir.Stmt] = []
        for a in outs:
            f, r = self.save(a, depth)
            fwd += f
            restore = r + restore
        return fwd, restore

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

    def _check_cond(self, e: ir.Expr) -> None:
        self._check_pure(e)
        self._no_writing_calls(e, "inside a condition")

    def call_stmt(self, e: ir.Call, depth: int, s: ir.ExprStmt):
        fwd, restore = self.call_outputs(e, depth)
        fwd.append(s)
        rev: list[ir.Stmt] = []
        self.memo = {}
        if e.type.is_float:
            self.acc(e, lit(0), rev, discard=True)
        else:
            self.acc_call(e, lit(0), rev)
        self.note_reads(rev)
        return fwd, restore + rev

    def if_stmt(self, s: ir.If, depth: int):
        self._check_cond(s.cond)
        ft, rt = self.stmts(_body(s.then), depth)
        fo, ro = self.stmts(_body(s.other), depth)
        if not rt and not ro:
            return [ir.If(s.cond, _block(ft), _block(fo) if s.other is not None else None, s.loc)], []
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

    def _check_pure(self, e: ir.Expr) -> None:
        for n in ir.walk(e):
            if isinstance(n, (ir.Assign, ir.Step)):
                raise self.unsupported("an assignment or increment inside an expression", n)

    # ------------------------------------------------------------------ expressions
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
            v = ir.Call(e.callee, tuple(self.value(a, out) for a in e.args), e.type, e.loc, e.spelling)
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
        handler(self, _ACC, e, "reverse mode", self.fn.loc)(e, adj, out, discard)

    def acc_lvalue(self, e: ir.Expr, adj: ir.Expr, out: list[ir.Stmt], discard: bool) -> None:
        a = self.adj_of(e)
        if a is not None and e.type.is_float and not is_zero(adj):
            out.append(ir.ExprStmt(ir.Assign("+=", a, adj, a.type)))

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
            result = ir.Call(e.callee, tuple(vals), e.type, e.loc, e.spelling)
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
            if not p.type.holds_float:
                mask.append(False)
            elif p.type.ptr or (p.type.ref and not p.type.const):
                mask.append(self.adj_of(a) is not None)
            else:
                mask.append(self.is_active(a))
        if not any(mask):
            return
        name = pullback(self.program, fn, mask, self.vector)
        self.emit_pullback(name, e, mask, adj if fn.ret.is_float else None, out, False, fn)

    def emit_pullback(self, name, e, mask, adj, out, custom: bool, fn=None) -> None:
        args = [self.value(a, out) if a.type.is_float else a for a in e.args]
        tail: list[ir.Expr] = []
        after: list[tuple[ir.Expr, Var]] = []
        params = fn.params if fn is not None else [None] * len(e.args)
        for a, m, p in zip(e.args, mask, params):
            if not m:
                if custom and a.type.holds_float:
                    tail.append(ir.Lit("nullptr", ir.Type(a.type.base, 1)))
                continue
            by_ref = p is not None and (p.type.ptr or (p.type.ref and not p.type.const))
            if custom and a.type.is_container:  # the adjoint container, through a pointer
                ad = self.adj_of(a)
                if ad is None:
                    raise self.unsupported("passing a container without an adjoint to a custom pullback", a)
                tail.append(_address(ad))
            elif by_ref or (p is None and a.type.ptr):
                ad = self.adj_of(a)
                if p is not None and p.type.ref:
                    ad = _address(ad)
                tail.append(ad)
            else:
                r = self.adj_temp("_r")
                ty = ir.Type(a.type.base)
                out.append(ir.Decl(r, ty, lit(0)))
                tail.append(ir.Unary("&", Var(r, ty), ir.Type(a.type.base, 1)))
                after.append((a, Var(r, ty)))
        seed = [adj] if adj is not None else []
        out.append(ir.ExprStmt(ir.Call(name, tuple(args + seed + tail), ir.VOID, e.loc)))
        for a, r in after:
            self.acc(a, r, out)


def prune_forward(
    fwd: list[ir.Stmt], rest: list[ir.Stmt], locals_: set[str], recomputed: set[str] = frozenset()
) -> list[ir.Stmt]:
    """Drop forward-sweep updates of local scalars that nothing reads any more.

    A gradient does not return the primal value, so an accumulator such as the
    ``s += ...`` of a sum is dead once the reverse sweep has what it needs."""

    seen: dict[int, tuple[ir.Stmt, str | None]] = {}  # each statement is judged once

    def candidate(s: ir.Stmt) -> str | None:
        hit = seen.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
        seen[id(s)] = (s, judge(s))
        return seen[id(s)][1]

    def judge(s: ir.Stmt) -> str | None:
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, (ir.Assign, ir.Step)):
            t = s.expr.target
            if isinstance(t, Var) and t.name in locals_ and not t.type.ptr and not t.type.dims:
                value = s.expr.value if isinstance(s.expr, ir.Assign) else None
                if value is None or _pure_calls(value) or _effect_call(s.expr):
                    return t.name
        return None

    def _effect_call(e) -> bool:  # r = g(x, t) with g writing t: the call stays, r can go
        return e.op == "=" and isinstance(_unwrap(e.value), ir.Call)

    def reads(stmts, out: set[str]) -> None:
        for s in stmts:
            if candidate(s) is not None:
                if isinstance(s.expr, ir.Assign):
                    ir.var_names(s.expr.value, out)
                continue
            if isinstance(s, ir.Block):
                reads(s.stmts, out)
                continue
            if isinstance(s, (ir.If, ir.While, ir.DoWhile, ir.For)):
                for c in ir.children(s):
                    if isinstance(c, ir.Expr):
                        ir.var_names(c, out)
                    else:
                        reads([c], out)
                if isinstance(s, ir.For):
                    reads(list(s.init), out)
                continue
            ir.var_names(s, out)

    dropped = [0]

    def drop(stmts, live: set[str]) -> list[ir.Stmt]:
        out = []
        for s in stmts:
            name = candidate(s)
            if name is not None and name not in live:
                dropped[0] += 1
                if isinstance(s.expr, ir.Assign) and not _pure_calls(s.expr.value):
                    out.append(ir.ExprStmt(_unwrap(s.expr.value), s.loc))
                continue
            if isinstance(s, ir.Block):
                s = ir.Block(tuple(drop(s.stmts, live)), s.loc)
            elif isinstance(s, ir.If):
                s = replace(
                    s,
                    then=ir.Block(tuple(drop(_body(s.then), live))),
                    other=ir.Block(tuple(drop(_body(s.other), live))) if s.other is not None else None,
                )
            elif isinstance(s, (ir.While, ir.DoWhile)):
                s = replace(s, body=ir.Block(tuple(drop(_body(s.body), live))))
            out.append(s)
        return out

    rest_reads: set[str] = set()
    reads(rest, rest_reads)
    rest_reads -= recomputed  # the reverse sweep computes these again before reading them
    while True:
        live = set(rest_reads)
        reads(fwd, live)
        dropped[0] = 0
        new = drop(fwd, live)
        if not dropped[0]:
            return fwd
        fwd = new


def _unwrap(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Cast) and e.implicit:
        e = e.operand
    return e


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


def _pure_calls(e: ir.Expr) -> bool:
    """Only calls to library math functions: no effect on program state."""
    for n in ir.walk(e):
        if isinstance(n, (ir.Assign, ir.Step)):
            return False
        if isinstance(n, ir.Call) and not (n.callee in BUILTINS and n.text.startswith("::")):
            return False
    return True


def _address(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Unary) and e.op == "*":
        return e.operand
    return ir.Unary("&", e, ir.Type(e.type.base, 1))


def _simple_lvalue(e: ir.Expr) -> bool:
    if isinstance(e, ir.Index):
        return _simple_lvalue(e.base) and (ir.is_atomic(e.index) or _simple_index(e.index))
    if isinstance(e, ir.Unary) and e.op == "*":
        return isinstance(e.operand, Var)
    return isinstance(e, Var)


def _repeatable_lvalue(e: ir.Expr) -> bool:
    """An lvalue the reverse sweep can name again: its indices have no side effects (their
    variables are restored to the forward sweep's values, see ``note_reads``)."""
    if isinstance(e, ir.Index):
        return _repeatable_lvalue(e.base) and not ir.has_side_effects(e.index)
    if isinstance(e, ir.Unary) and e.op == "*":
        return isinstance(e.operand, Var)
    return isinstance(e, Var)


def _simple_index(e: ir.Expr) -> bool:
    return isinstance(e, ir.Binary) and e.op in "+-*" and ir.is_atomic(e.lhs) and ir.is_atomic(e.rhs)


def _subtree_any(e: ir.Expr, pred, memo: dict[int, tuple[ir.Expr, bool]]) -> bool:
    """``pred`` holds for some node of ``e``; every node's answer is kept in ``memo`` (keyed by
    id, with the node itself so that the id stays its own), so each node is looked at once
    however often its ancestors ask."""
    hit = memo.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    stack: list[tuple[ir.Expr, list | None]] = [(e, None)]  # kids: None until expanded
    while stack:
        n, kids = stack.pop()
        if (h := memo.get(id(n))) is not None and h[0] is n:
            continue
        if kids is None:
            kids = [c for c in ir.children(n) if isinstance(c, ir.Expr)]
            stack.append((n, kids))
            stack.extend((c, None) for c in kids)
            continue
        memo[id(n)] = (n, pred(n) or any(memo[id(c)][1] for c in kids))
    return memo[id(e)][1]


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


def _body(s: ir.Stmt | None) -> list[ir.Stmt]:
    if s is None:
        return []
    return list(s.stmts) if isinstance(s, ir.Block) else [s]


def _block(stmts) -> ir.Block:
    return ir.Block(tuple(stmts))


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
        ir.Member: "acc_refused",
        ir.InitList: "acc_refused",
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
