"""A callee's pullback split in two: ``NAME_forw`` runs in the caller's forward sweep,
``NAME_rev`` in its reverse sweep, so the callee's forward work is done once.

The combined ``NAME_pullback`` re-runs its callee's forward sweep before its reverse sweep:
a call costs the primal call in the caller's forward sweep, then the forward sweep and the
reverse sweep in the caller's reverse sweep.  For a recursive callee every level repeats the
forward sweeps of all the levels below it (the determinant by cofactors: O(depth) times the
work of a gradient).  The split pair does it once:

- ``double NAME_forw(params...)`` is the callee's forward sweep (what the caller's forward
  sweep calls in place of the callee): the primal's statements, saving what its reverse sweep
  will read, returning the value.  At its end it moves the locals and tapes its reverse sweep
  reads onto the per-thread stash (``::pyclad::stash``, a move: no copy of a container).
- ``void NAME_rev(params..., _d_y, _d_params...)`` takes them back (``::pyclad::unstash``,
  last first) and runs the reverse sweep alone.  The caller passes the same arguments as to
  the call, which its reverse sweep has restored to what they were.

The caller's reverse sweep runs the ``NAME_rev`` of its calls in the opposite order of their
``NAME_forw``, so each takes back what its own forward sweep left.  Every ``NAME_forw`` call
in the caller's forward sweep has exactly one ``NAME_rev`` call in its reverse sweep on the
same path; where the caller's transform cannot pair them (a call in a returned expression
the forward sweep does not run, or one whose forward statement is pruned), that call keeps
the combined pullback (``ReverseTransform.nosplit``).

Which callees split (``splittable``): a function returning a floating scalar that writes
nothing of its caller's (no pointer or non-const reference parameter written, no global), no
pointer, reference or array local, no memory allocated, no record constructed in place, and
calls only of math rules, container members and such functions (itself included: recursion
is the case that needs it most).  Its state is then scalars, records, containers and tapes,
all of which move.
"""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...ir import Var
from .. import containers, memory, shadow
from ..activity import writable
from ..names import specialised
from ..program import Program
from ..rules import Partials, Reduction

STASH, UNSTASH = "::pyclad::stash", "::pyclad::unstash"
SHARED_TAPE = "::pyclad::shared_tape"
RETURN = "_ret"


def is_tape_decl(s) -> bool:
    return isinstance(s, ir.Decl) and s.init is None and s.type.base.startswith("::pyclad::tape<")


def shared_tapes(top: list[ir.Stmt], owner: str) -> list[ir.Stmt]:
    """The pair's tapes as the per-thread tapes of ``owner`` (its ``NAME_forw``, declared before
    either body): one tape per
    site for every call, so a recursion's levels push onto one contiguous buffer (last in,
    first out: each level pops its own entries after the levels below it popped theirs)
    instead of each call filling tapes of its own that live until its reverse sweep."""
    out: list[ir.Stmt] = []
    slot = 0
    owner = owner.rpartition("::")[2]  # found from inside its own namespace (or the checked one's)
    for d in top:
        if is_tape_decl(d):
            element = d.type.args[0].spell() if d.type.args else d.type.base[len("::pyclad::tape<") : -1]
            ref = replace(d.type, ref=True)
            init = ir.Call(f"{SHARED_TAPE}<{element}, &{owner}, {slot}>", (), ref)
            d = replace(d, type=ref, init=init)
            slot += 1
        out.append(d)
    return out


def combined(program: Program, e: ir.Call) -> ir.Call:
    """A call of a split pair's function as the call it stands for: ``NAME_forw(args)`` as the
    callee's own call, ``NAME_rev(args, ...)`` as its combined ``NAME_pullback`` (same
    parameters).  Forward mode over a gradient (a Hessian) differentiates those instead."""
    origin = program.split_origin.get(e.callee)
    if origin is None:
        return e
    if origin[0] == "forw":
        return replace(e, callee=origin[1], spelling=origin[2], private=origin[3])
    from . import pullback

    return replace(e, callee=pullback(program, origin[1], origin[2]), spelling="")


def split_names(fn: ir.Function, mask: list[bool]) -> tuple[str, str]:
    return specialised(f"{fn.name}_forw", fn, mask), specialised(f"{fn.name}_rev", fn, mask)


def splittable(program: Program, fn: ir.Function) -> bool:
    """``fn``'s pullback can be split into ``NAME_forw`` and ``NAME_rev`` (see above)."""
    hit = program.splittable.get(fn.name)
    if hit is None:
        ret = fn.ret
        hit = ret.is_float and not (ret.ptr or ret.ref or ret.dims)
        hit = hit and _self_contained(program, fn, frozenset())
        program.splittable[fn.name] = hit
    return hit


def _self_contained(program: Program, fn: ir.Function | None, seen: frozenset[str]) -> bool:
    if fn is None or any(writable(p.type) for p in fn.params):
        return False
    if fn.name in seen:
        return True  # recursion: the function is what is being judged
    name = fn.name
    params = {p.name for p in fn.params}
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Decl):
            t = n.type
            if t.ptr or t.ref or t.dims or n.name in params:
                return False
            if t.is_record and (shadow.has_containers(t) or not t.constructible):
                return False
            if isinstance(n.init, ir.Call) and n.init.kind == ir.CONSTRUCTOR and not t.is_container:
                return False
        elif isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.is_global or root.type.ptr or root.type.ref:
                return False
        elif _escapes(n) or isinstance(n, ir.Call) and not _call_ok(program, n, params, seen | {name}):
            return False
    return True


def _escapes(n) -> bool:
    """An address taken: a pointer into the function's own frame would not survive its forward sweep."""
    return isinstance(n, ir.Unary) and n.op == "&"


def _call_ok(program: Program, c: ir.Call, params: set[str], seen: frozenset[str]) -> bool:
    if memory.allocation(c) is not None:
        return False
    if containers.is_constructor(c):
        return True
    if containers.is_member(c):
        root = ir.root_var(c.args[0])
        if root is None:
            return False
        return root.name not in params or c.spelling in containers.READERS + ("at", "front", "back")
    if c.kind == ir.CONSTRUCTOR or ir.is_raw_construction(c):
        return False
    rule = program.registry.lookup(c.callee)
    if isinstance(rule, (Partials, Reduction)):
        return True
    if rule is not None or c.kind != ir.FUNCTION or "::std::" in c.text:
        return False
    return _self_contained(program, program.function(c.callee), seen)


def handed_over(
    fwd: list[ir.Stmt], rev: list[ir.Stmt], top: list[ir.Stmt], fn: ir.Function, assigned: set[str]
) -> list[ir.Decl | ir.Param]:
    """What ``NAME_forw`` leaves for ``NAME_rev``: the locals (and by-value parameters the body
    assigns) that both sweeps mention, in declaration order."""
    in_fwd: set[str] = set()
    in_rev: set[str] = set()
    for s in fwd:
        ir.var_names(s, in_fwd)
    for s in rev:
        ir.var_names(s, in_rev)
    both = in_fwd & in_rev
    out: list[ir.Decl | ir.Param] = [p for p in fn.params if p.name in both and p.name in assigned]
    out += [d for d in top if isinstance(d, ir.Decl) and d.name in both and not is_tape_decl(d)]
    return out


def hand_over(fwd: list[ir.Stmt], rev: list[ir.Stmt], items) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """The forward sweep with ``items`` stashed at its end, the reverse sweep with them taken
    back at its start.  Where the forward sweep ends in an ``if`` on a saved outcome that the
    reverse sweep starts with (the early returns of a recursion's base cases), what only one
    branch uses is handed over inside that branch: a base case hands over its outcome alone."""
    f_if = fwd[-1] if fwd else None
    r_if = rev[0] if rev else None
    if not (
        items
        and isinstance(f_if, ir.If)
        and isinstance(r_if, ir.If)
        and isinstance(f_if.cond, Var)
        and isinstance(r_if.cond, Var)
        and f_if.cond.name == r_if.cond.name
    ):
        return fwd + _stash(items, STASH), _stash(items, UNSTASH) + rev
    arms = [(_arm(f_if.then), _arm(r_if.then)), (_arm(f_if.other), _arm(r_if.other))]
    seen = [_mentioned(f) | _mentioned(r) for f, r in arms]
    outside = _mentioned(fwd[:-1]) | _mentioned(rev[1:]) | {f_if.cond.name}
    inner = [[d for d in items if d.name not in outside and d.name not in seen[1 - k]] for k in range(2)]
    taken = {d.name for group in inner for d in group}
    outer = [d for d in items if d.name not in taken]
    (tf, tr), (ef, er) = (hand_over(f, r, group) for (f, r), group in zip(arms, inner))
    fwd = fwd[:-1] + [_with_arms(f_if, tf, ef)] + _stash(outer, STASH)
    rev = _stash(outer, UNSTASH) + [_with_arms(r_if, tr, er)] + rev[1:]
    return fwd, rev


def _with_arms(s: ir.If, then: list[ir.Stmt], other: list[ir.Stmt]) -> ir.If:
    """``s`` with these arms (an else arm only where it had one or now has statements)."""
    keep = s.other is not None or other
    return replace(s, then=ir.Block(tuple(then)), other=ir.Block(tuple(other)) if keep else None)


def _stash(items, op: str) -> list[ir.Stmt]:
    """One call with every item, in declaration order (the runtime takes them back last first)."""
    if not items:
        return []
    return [ir.ExprStmt(ir.Call(op, tuple(Var(d.name, d.type.value()) for d in items), ir.VOID))]


def _arm(s: ir.Stmt | None) -> list[ir.Stmt]:
    if s is None:
        return []
    return list(s.stmts) if isinstance(s, ir.Block) else [s]


def _mentioned(stmts: list[ir.Stmt]) -> set[str]:
    out: set[str] = set()
    for s in stmts:
        ir.var_names(s, out)
    return out


def swap_calls(
    stmts: list[ir.Stmt], names: dict[int, str], saves: set[int], fresh
) -> tuple[list[ir.Stmt], dict[int, int], set[int]]:
    """``stmts`` with the calls whose ids are in ``names`` calling that name instead (the
    callee's ``NAME_forw``); how many times each was swapped; the calls that could not be
    ordered (below).

    A statement that calls ``NAME_forw`` right after saving what it overwrites (``push(_t6,
    _c0); _c0 = det_forw(...)``) calls it first, into a fresh local (``double _f0 =
    det_forw(...); push(_t6, _c0); _c0 = _f0;``): the reverse sweep restores ``_c0`` before
    it calls ``NAME_rev``, so the callee's tape entries must come before the save's on a tape
    they share (a recursion's levels share their tapes).  The callee writes nothing of the
    caller's, so calling it earlier changes nothing else.  ``fresh`` names the locals."""
    counts: dict[int, int] = {}
    unordered: set[int] = set()

    def expr(node):
        if isinstance(node, ir.Call) and id(node) in names:
            counts[id(node)] = counts.get(id(node), 0) + 1
            args = tuple(expr(a) for a in node.args)
            # a generated function: reached directly, not as the private member it stands for
            return replace(node, callee=names[id(node)], spelling="", args=args, private="")
        return _rebuilt(node, expr, block)

    def block(items: tuple) -> tuple:
        out: list = []
        saved = 0  # how many of the last statements in out are saves
        for st in items:
            if not isinstance(st, ir.Stmt):
                out.append(expr(st))
                continue
            is_save = id(st) in saves
            first, rest = _calls_of(st, names)
            if saved and (first or rest):
                unordered.update(id(c) for c in rest)
                pre: list[ir.Stmt] = []
                for c in first:
                    v = Var(fresh(), c.type.value())
                    pre.append(ir.Decl(v.name, c.type.value(), expr(c)))
                    st = _replaced(st, c, v)
                out[len(out) - saved : len(out) - saved] = pre
            out.append(_rebuilt(st, expr, block))
            saved = saved + 1 if is_save else 0
        return tuple(out)

    return list(block(tuple(stmts))), counts, unordered


def _rebuilt(node, expr, block):
    """``node`` with its expressions through ``expr`` and its statement lists through ``block``."""
    changes = {}
    for f in node.__dataclass_fields__:
        if f in ("type", "loc"):
            continue
        v = getattr(node, f)
        if isinstance(v, ir.Expr):
            nv = expr(v)
        elif isinstance(v, ir.Block):
            nv = replace(v, stmts=block(v.stmts))
        elif isinstance(v, ir.Stmt):
            got = block((v,))
            nv = got[0] if len(got) == 1 else ir.Block(got)
        elif isinstance(v, tuple) and any(isinstance(x, ir.Stmt) for x in v):
            nv = block(v)
        elif isinstance(v, tuple) and any(isinstance(x, ir.Expr) for x in v):
            nv = tuple(expr(x) if isinstance(x, ir.Expr) else x for x in v)
        else:
            continue
        if nv is not v and (
            not isinstance(nv, tuple) or len(nv) != len(v) or any(a is not b for a, b in zip(nv, v))
        ):
            changes[f] = nv
    return replace(node, **changes) if changes else node


def _calls_of(st: ir.Stmt, names: dict[int, str]) -> tuple[list[ir.Call], list[ir.Call]]:
    """The swapped calls of a simple statement (a declaration or expression statement): those
    that always run when it runs, outermost first, and those under a condition (a branch of
    ?:, the right of && and ||) or in a nested statement."""
    first: list[ir.Call] = []
    rest: list[ir.Call] = []
    if not isinstance(st, (ir.ExprStmt, ir.Decl)):
        rest += [n for n in ir.walk(st) if isinstance(n, ir.Call) and id(n) in names]
        return first, rest
    root = st.expr if isinstance(st, ir.ExprStmt) else st.init

    def visit(e, sure: bool):
        if isinstance(e, ir.Call) and id(e) in names:
            (first if sure else rest).append(e)
            for a in e.args:  # its arguments run before it
                visit(a, sure)
            return
        if isinstance(e, ir.Cond):
            visit(e.cond, sure)
            visit(e.then, False)
            visit(e.other, False)
            return
        if isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            visit(e.lhs, sure)
            visit(e.rhs, False)
            return
        for c in ir.children(e):
            if isinstance(c, ir.Expr):
                visit(c, sure)

    if root is not None:
        visit(root, True)
    nested = [c for c in first if any(c is not d and _holds(d, c) for d in first)]
    if nested:  # a call in the arguments of another: keep the order simple, do not move them
        rest += first
        first = []
    return first, rest


def _holds(outer: ir.Expr, node) -> bool:
    return any(n is node for n in ir.walk(outer))


def _replaced(st: ir.Stmt, call: ir.Call, v: Var) -> ir.Stmt:
    def walk(node):
        if node is call:
            return v
        changes = {}
        for f in node.__dataclass_fields__:
            if f in ("type", "loc"):
                continue
            x = getattr(node, f)
            if isinstance(x, ir.Expr):
                nx = walk(x)
                if nx is not x:
                    changes[f] = nx
            elif isinstance(x, tuple) and any(isinstance(y, ir.Expr) for y in x):
                nt = tuple(walk(y) if isinstance(y, ir.Expr) else y for y in x)
                if any(a is not b for a, b in zip(nt, x)):
                    changes[f] = nt
        return replace(node, **changes) if changes else node

    return walk(st)


def count_calls(stmts: list[ir.Stmt], callee: str) -> int:
    return sum(1 for s in stmts for n in ir.walk(s) if isinstance(n, ir.Call) and n.callee == callee)
