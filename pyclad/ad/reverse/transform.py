"""The reverse transform of one function: its preparation (sequencing, hoisting,
normalisation, activity), the locals and adjoints it declares, the adjoint lvalues of
active variables, and the assembled body.  The jobs live in the mixins it is made of."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from ... import ir
from ...errors import UnsupportedError
from ...ir import Var, lit
from .. import containers, shadow
from ..activity import active_variables, writable
from ..dispatch import Pass
from ..names import Namer
from ..normalize import RETURNED, Normalizer
from ..program import Program
from ..records import accumulate
from ..records import expand as expand_records
from ..rules import Custom, Partials, Reduction
from ..sequence import sequence
from ..shadow import adjoint_param_type, adjoint_type, zero
from .adjoints import _ACC, Adjoints
from .calls import Calls
from .fields import field_active, inactive_fields, is_inactive_field
from .prune import drop_unread, prune_forward, pure_function
from .split import RETURN, count_calls, hand_over, handed_over, shared_tapes, swap_calls
from .storage import Storage
from .sweep import _STMT, Sweep
from .untouched import drop_stores
from .util import _shadowed, _subtree_any


def _pointer_field(e: ir.Expr) -> bool:
    """A pointer-typed field of a record (``n.next``, ``s.w``), as dereferenced or indexed."""
    while isinstance(e, ir.Cast) and e.implicit:
        e = e.operand
    return isinstance(e, ir.Member) and e.type.is_pointer


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
    inactive: dict = field(default_factory=dict)  # record local -> its fields without derivative
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


class ReverseTransform(Sweep, Adjoints, Calls, Storage, Pass):
    """One run of the reverse transform over one function (see ``_build``)."""

    MODE, STMT, EXPR = "reverse mode", _STMT, _ACC

    def __init__(
        self,
        program: Program,
        fn: ir.Function,
        seeds: set[str],
        mode: str,
        needed,
        vector: int = 0,
        prep: _Prepared | None = None,
        dead: frozenset[int] = frozenset(),
        effects: bool | None = None,
        untouched: frozenset[str] = frozenset(),
        nosplit: frozenset[int] = frozenset(),
        capture: bool = False,
    ):
        self.program = program
        self.vector = vector
        self.adjoint_temps: set[str] = set()
        self.recomputed: set[str] = set()  # loop locals recomputed in the reverse sweep
        self.recompute_stmts: set[int] = set()  # ids of those recomputations
        self.mode = mode
        # Statements without derivatives run (ad/effects.py): not in a callee's pullback.
        self.effects = mode != "pullback" if effects is None else effects
        self.seeds = set(seeds)
        if prep is None:
            prep = self._prepare(fn, seeds)
        self.prep = prep
        self.fn, self.body, self.active = prep.fn, prep.body, prep.active
        self.names = copy.deepcopy(prep.names)
        self.assignments = prep.assignments
        self.needed = needed  # None on the probing run: save nothing, record reads
        self.reads: set[str] = set()
        self.dead = dead  # saves the to-be-recorded analysis found nobody reads (``tbr``)
        self.site_count = 0
        self.restores: dict = {}  # id of a reverse-sweep statement -> (it, tbr.Restore)
        self.save_stmts: set[int] = set()  # ids of the forward-sweep statements that save a value
        self.untouched = untouched  # reference parameters whose stores are left out (untouched.py)
        self.top: list[ir.Stmt] = []  # declarations at the top of the generated function
        self.tail: list[ir.Stmt] = []
        self.adj_param: dict[str, str] = {}
        self.adj_local: dict[str, str] = {}
        self.seed_name = self.names.claim("_d_y") if mode == "pullback" else ""
        self.memo: dict[int, ir.Expr] = {}
        self.fresh: dict[str, set[ir.Expr]] = {}  # record local -> its fields stored so far (depth 0)
        self.deferred: Var | None = None  # what releases the buffers the primal frees (memory.py)
        self.owned: set[str] | None = None  # the pointers holding only buffers allocated here
        self.log: Var | None = None  # the undo log of the calls that overwrite arrays (forw.py)
        # Calls whose pullback is split (split.py): id -> [NAME_rev calls emitted, NAME_forw,
        # NAME_rev]; the calls not to split (their pairing failed in an earlier run).
        self.split_calls: dict[int, list] = {}
        self.nosplit = nosplit
        self.unpaired: set[int] = set()
        self._active_memo = prep.active_memo  # the runs share the body's nodes and activity
        self._call_memo = prep.call_memo
        self.in_place = self._constructed_in_place()
        self._declare_locals(prep.extra)
        # NAME_forw (split.py) runs the forward sweep alone and returns the value: returns set it.
        self.capture: Var | None = None
        if capture:
            self.capture = Var(self.names.claim(RETURN), self.fn.ret.plain())
            self.top.append(ir.Decl(self.capture.name, self.fn.ret.plain(), lit(0, self.fn.ret.plain())))

    def _prepare(self, fn: ir.Function, seeds: set[str]) -> _Prepared:
        self.fn = fn = expand_records(sequence(fn))
        self.names = Namer.for_function(fn)
        hoisted = replace(fn, body=self._hoist_block(fn.body))
        body, extra = Normalizer(hoisted, self.names).run()
        active = active_variables(replace(fn, body=body), seeds, self._callee_params) | set(seeds)
        prep = _Prepared(fn, body, extra, active, copy.deepcopy(self.names))
        prep.survey()
        prep.inactive = inactive_fields(fn, body, active, self._callee_params)
        return prep

    def adjoint_names(self) -> set[str]:
        """Every name that holds an adjoint (retyped in vector reverse mode)."""
        names = set(self.adj_param.values()) | set(self.adj_local.values()) | self.adjoint_temps
        return names | ({self.seed_name} if self.seed_name else set())

    def adj_temp(self, prefix: str) -> str:
        name = self.names.temp(prefix)
        self.adjoint_temps.add(name)
        return name

    def _callee_params(self, c: ir.Call):
        rule = self.program.registry.lookup(c.callee)
        if isinstance(rule, (Partials, Reduction)) or containers.is_member(c):
            return None
        f = self.program.function(c.callee) if not isinstance(rule, Custom) else None
        return f.params if f is not None else None

    def _container_adjoint(self, p: ir.Param, assigned: bool) -> None:
        """The adjoint of a container parameter: the caller's, through ``_d_v``; a local
        container of zeros shaped like the argument where the caller passes none (a
        pullback's inactive argument that the body makes active), or where a by-value
        parameter is assigned (the caller's adjoint must only be added to, at the end)."""
        name = self.names.derivative(p.name)
        zeros = containers.zero_like(Var(p.name, p.type.value()))
        if p.name not in self.seeds and self.mode == "pullback":
            self.adj_local[p.name] = name
            self.top.append(ir.Decl(name, p.type.named(), zeros))
            return
        self.adj_param[p.name] = name
        if assigned and not p.type.ref:
            local = self.names.claim(f"_d_{p.name}")
            self.adj_local[p.name] = local
            self.top.append(ir.Decl(local, p.type.named(), zeros))
            caller = ir.Unary("*", Var(name, shadow.adjoint_param_type(p.type)), p.type.named())
            add = ir.Call("::pyclad::add_to", (caller, Var(local, p.type.named())), ir.VOID)
            self.tail.append(ir.ExprStmt(add))

    def _declare_locals(self, extra) -> None:
        has_loop, assigned_params = self.prep.has_loop, self.prep.assigned
        for p in self.fn.params:
            if p.type.kind == ir.RECORD and not p.type.ptr and p.name in self.active and p.type.carries_float:
                self._record_param(p, assigned_params | self._written_by_calls())
            elif _shadowed(p.type) and (p.name in self.active):
                if p.type.is_container:
                    self._container_adjoint(p, p.name in assigned_params)
                elif p.type.ptr:
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
            if n.name in self.in_place:
                if n.name in self.active:
                    self.adj_local[n.name] = self.names.derivative(n.name)
                continue
            if t.ref:
                raise UnsupportedError("a reference local variable is not supported in reverse mode", n.loc)
            plain = t.derived(t.ptr, t.dims, const=t.const if t.ptr else False)
            if t.kind == ir.RECORD and not t.ptr and not t.constructible and shadow.has_containers(t):
                raise UnsupportedError(
                    f"a local '{n.name}' of type '{t.named().spell()}', which has no default constructor "
                    f"(reverse mode declares its locals up front; add '{t.base.rsplit('::', 1)[-1]}() = default;')",
                    n.loc,
                )
            init = (
                zero(plain)  # every byte zero: a record of numbers without a default constructor
                if t.kind == ir.RECORD and not t.ptr and not t.dims and not t.constructible
                else ir.InitList((), plain)
                if t.dims or (not t.ptr and t.base not in ir.ARITHMETIC_BASES)
                else (ir.Lit("nullptr", plain) if t.ptr else lit(0, plain))
            )
            self.top.append(ir.Decl(n.name, plain, init))
            if n.name in self.active and _shadowed(t):
                d = self.names.derivative(n.name)
                self.adj_local[n.name] = d
                dplain = adjoint_type(t)  # adjoints are written even where the value is const
                dinit = (
                    zero(dplain)  # {}, or every field zero where default construction sets some
                    if t.dims or t.is_container or t.kind == ir.RECORD and not t.ptr
                    else (ir.Lit("nullptr", dplain) if t.ptr else lit(0, dplain))
                )
                self.top.append(ir.Decl(d, dplain, dinit))
        if self.prep.uses_returned:
            self.top.append(ir.Decl(RETURNED, ir.BOOL, ir.Lit("false", ir.BOOL)))

    def _written_by_calls(self) -> set[str]:
        """The variables a call in the body may write, through a pointer or reference parameter."""
        out: set[str] = set()
        for n in ir.walk(self.body):
            if isinstance(n, ir.Call):
                for p, a in zip(self._callee_params(n) or (), n.args):
                    root = ir.root_var(a.operand if isinstance(a, ir.Unary) and a.op == "&" else a)
                    if writable(p.type) and root is not None:
                        out.add(root.name)
        return out

    def _constructed_in_place(self) -> set[str]:
        """Record locals declared at the top level of the body by a constructor, or holding
        containers, from values that carry no derivative (``MLP net(n_in, n_hidden);``): they
        are declared where they are, not hoisted (they may have no default constructor).
        So is a record without a default constructor built from differentiated values."""
        out = set()
        for s in self.body.stmts:
            if not isinstance(s, ir.Decl) or not s.type.is_record or s.type.ref or s.init is None:
                continue
            built = isinstance(s.init, ir.Call) and s.init.kind == ir.CONSTRUCTOR
            passive = (built or shadow.has_containers(s.type)) and not self.is_active(s.init)
            if passive or (built and not s.type.constructible):
                out.add(s.name)
        return out

    def _record_param(self, p: ir.Param, assigned: set[str]) -> None:
        """The adjoint of a record parameter (by value or reference): ``*_d_p`` where the
        caller's record takes it; a local record, added to ``*_d_p`` field by field at the
        end, when the body assigns fields of its own copy (the caller's adjoint must only be
        added to), when it loops (see below) or when the parameter is no input of this
        derivative."""
        rec = p.type.named()
        if p.name not in self.seeds:
            self.adj_local[p.name] = self.names.derivative(p.name)
            self.top.append(ir.Decl(self.adj_local[p.name], rec, zero(rec)))
            return
        self.adj_param[p.name] = self.names.derivative(p.name)
        # A local record also where the body loops: the caller's record, reached through a
        # pointer that may alias any other adjoint, would be loaded and stored again at every
        # accumulation; a local one stays in registers (added once, at the end).
        copyable = not (p.type.ref and not p.type.const) and not shadow.has_containers(p.type)
        if copyable and (p.name in assigned or self.prep.has_loop):
            local = self.adj_local[p.name] = self.names.claim(f"_d_{p.name}")
            self.top.append(ir.Decl(local, rec, zero(rec)))
            ptr = Var(self.adj_param[p.name], adjoint_param_type(p.type))
            self.tail += accumulate(ir.Unary("*", ptr, rec), Var(local, rec), rec)

    def unsupported(self, what: str, node) -> UnsupportedError:
        return UnsupportedError(
            f"{what} is not supported in reverse mode", getattr(node, "loc", None) or self.fn.loc
        )

    def run(self) -> None:
        self.fwd, self.rev = self.stmts(self.body.stmts, 0)

    def assemble(self) -> ir.Block:
        fwd, rev = self._sweeps()
        return ir.Block(tuple(self._declared(fwd + rev) + fwd + rev))

    def assemble_split(self, owner: str) -> tuple[ir.Block, ir.Block]:
        """The bodies of ``NAME_forw`` and ``NAME_rev`` (split.py): the forward sweep and the
        value, then what the reverse sweep reads stashed; the reverse sweep after taking it back."""
        ret = ir.Return(self.capture)
        fwd, rev = self._sweeps([ret])
        items = handed_over(fwd, rev, self.top, self.fn, self.prep.assigned)
        fwd, rev = hand_over(fwd, rev, items)
        fwd = fwd + [ret]
        top = shared_tapes(self.top, owner)
        return ir.Block(tuple(self._declared(fwd, top) + fwd)), ir.Block(
            tuple(self._declared(rev, top) + rev)
        )

    def _sweeps(self, after: list[ir.Stmt] = ()) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """The forward sweep without its dead updates (``after``: what runs after it that reads
        its values too), its split calls calling their ``NAME_forw``; the reverse sweep."""
        locals_ = {d.name for d in self.top if isinstance(d, ir.Decl)}
        locals_ |= {p.name for p in self.fn.params if not p.type.ptr and not p.type.ref}
        fwd = drop_stores(self.fwd, set(self.untouched)) if self.untouched else self.fwd
        fwd = prune_forward(
            fwd, self.rev + self.tail + list(after), locals_, self.recomputed, self.pure_call, self.vanishing
        )
        rev = drop_unread(self.rev + self.tail, self.recompute_stmts)
        if self.split_calls:
            names = {k: v[1] for k, v in self.split_calls.items()}
            fwd, swapped, unordered = swap_calls(fwd, names, self.save_stmts, lambda: self.names.temp("_f"))
            self.unpaired |= unordered
            per_rev: dict[str, int] = {}
            for v in self.split_calls.values():
                per_rev[v[2]] = per_rev.get(v[2], 0) + v[0]
            for k, (n, _, name) in self.split_calls.items():
                if swapped.get(k, 0) != n or count_calls(rev, name) != per_rev[name]:
                    self.unpaired.add(k)
        return fwd, rev

    def _declared(self, body: list[ir.Stmt], top: list[ir.Stmt] | None = None) -> list[ir.Stmt]:
        """The declarations ``body`` uses: a local whose every update was pruned (or an
        adjoint nothing reads) is not declared either."""
        used: set[str] = set()
        for s in body:
            ir.var_names(s, used)
        return [d for d in (self.top if top is None else top) if not isinstance(d, ir.Decl) or d.name in used]

    def pure_call(self, c: ir.Call) -> bool:
        """A call of a function pyclad has the body of that changes nothing but its result."""
        return c.kind in (ir.FUNCTION, ir.METHOD) and pure_function(self.program, c.callee)

    def is_active(self, e: ir.Expr) -> bool:
        """Some variable in ``e`` is active (memoised per node: the adjoint of an expression asks
        this of every subexpression, which must not re-walk each subtree)."""
        if self.prep.inactive:
            return field_active(e, self.active, self.prep.inactive, self._active_memo)
        return _subtree_any(e, lambda n: isinstance(n, Var) and n.name in self.active, self._active_memo)

    def adj_var(self, v: Var) -> ir.Expr:
        """The adjoint lvalue of an active variable (or the adjoint pointer of a pointer)."""
        if v.name in self.adj_local:
            return Var(self.adj_local[v.name], v.type.plain())
        if v.name in self.adj_param:
            ptr = Var(self.adj_param[v.name], adjoint_param_type(v.type))
            if v.type.ptr:
                return ptr
            return ir.Unary("*", ptr, v.type.named())
        raise self.unsupported(f"'{v.name}' without an adjoint", v)

    def adj_of(self, e: ir.Expr) -> ir.Expr | None:
        """Adjoint lvalue of an lvalue / adjoint pointer of a pointer expression; None if inactive."""
        if isinstance(e, Var):
            if e.name not in self.active or e.is_global:
                return None
            return self.adj_var(e)
        inner = e.base if isinstance(e, ir.Index) else e.operand if isinstance(e, ir.Unary) else None
        if inner is not None and _pointer_field(inner) and self.adj_of(inner) is not None:
            raise self.unsupported(
                "differentiated values reached through a pointer field of a record (a record's "
                "adjoint copies its pointer fields' values, not what they point to)",
                e,
            )
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
        if isinstance(e, ir.Cond) and e.type.ptr:  # c ? &a : &b (a reference to either)
            then, other = self.adj_of(e.then), self.adj_of(e.other)
            if then is None or other is None:
                return None
            return ir.Cond(e.cond, then, other, then.type)
        if isinstance(e, ir.Member):  # the adjoint of p.a is _d_p.a (_d_p->a through a pointer)
            if is_inactive_field(e, self.prep.inactive):
                return None
            if e.type.ptr and e.type.const:  # what a const pointer field points to is constant
                return None
            base = self.adj_of(e.operand)
            return None if base is None else ir.Member(base, e.name, e.type.value())
        if containers.is_member(e) and e.spelling == "data":  # v.data(): the adjoint's data()
            base = self.adj_of(e.args[0])
            return None if base is None else containers.method(base, "data", (), e.type)
        return None

    def note_reads(self, stmts) -> None:
        for s in stmts:
            ir.var_names(s, self.reads)
