"""Derivatives of the members of std::vector and std::array (the container half of the
rule registry: what ``v.push_back(x)`` or ``std::vector<double>(n, x)`` does to a shadow).

The shadow of a container is a container of the same type and size (see ad/shadow.py), so
every member that changes the primal's size changes the shadow's the same way: forward
mode applies the member to the tangent container with the tangents of its arguments;
reverse mode grows the adjoint with the primal in the forward sweep and shrinks it back
in the reverse sweep, collecting the adjoints of the values that were stored.
"""

from __future__ import annotations

from .. import ir
from ..ir import Var, is_zero, lit
from .records import accumulate
from .shadow import ZERO_LIKE, zero_like

SIZE_T = ir.Type("unsigned long")
# Members that read the container only (their result carries no derivative; data() is a
# pointer into the elements, whose shadow is the shadow's data()).
READERS = ("size", "empty", "data")
# Members that change the size; the arguments that are stored values (carry derivatives).
RESIZERS = {"push_back": (0,), "resize": (1,), "assign": (1,), "clear": (), "pop_back": (), "reserve": ()}


def is_member(e: ir.Expr) -> bool:
    """A call of a member of a standard container (the receiver is ``args[0]``)."""
    return isinstance(e, ir.Call) and e.kind == ir.METHOD and bool(e.args) and e.args[0].type.is_container


def is_constructor(e: ir.Expr) -> bool:
    """``std::vector<double>(n)`` / ``(n, x)``: a container built in the body."""
    return isinstance(e, ir.Call) and e.kind == ir.CONSTRUCTOR and e.type.is_container


def stored(e: ir.Call) -> tuple[ir.Expr, ...]:
    """The arguments of a member call whose values the container stores."""
    return tuple(e.args[1 + k] for k in RESIZERS.get(e.spelling, ()) if 1 + k < len(e.args))


def method(recv: ir.Expr, name: str, args: tuple[ir.Expr, ...], type_: ir.Type, loc=None) -> ir.Call:
    return ir.Call(name, (recv, *args), type_, loc, spelling=name, kind=ir.METHOD)


# ---------------------------------------------------------------------- forward mode
def forward_member(t, e: ir.Call):
    """(value, tangent) of a member call in forward mode; the tangent container's own
    update goes to ``t.pending`` (before the primal's)."""
    recv = e.args[0]
    root = ir.root_var(recv)
    active = root is not None and root.name in t.active and not root.is_global
    rv, rt = t.lvalue(recv) if active else (t.expr(recv)[0], None)
    name = e.spelling
    if name in READERS:
        value = method(rv, name, tuple(t.expr(a)[0] for a in e.args[1:]), e.type, e.loc)
        if name == "data" and rt is not None:
            return value, method(rt, name, (), e.type, e.loc)
        return value, None
    if name not in RESIZERS:
        raise t.unsupported(f"the container member '{name}'", e)
    values, tangents = [], []
    keep = set(RESIZERS[name])
    for k, a in enumerate(e.args[1:]):
        v, d = t.expr(a)
        if k not in keep:
            v = t.pure(v)  # a size: read by the primal and by the tangent
            d = v
        elif d is None or is_zero(d):  # a stored value without a tangent: zeros shaped like it
            if recv.type.element().kind in ir.CONTAINERS:
                v = t.pure(v)
                d = zero_like(v)
            else:
                d = _zero_element(recv.type)
        values.append(v)
        tangents.append(d)
    if rt is None and any(k in keep and not is_zero(d) for k, d in enumerate(tangents)):
        raise t.unsupported(f"'{name}' of a differentiated value into an inactive container", e)
    if rt is not None:
        t.pending.append(ir.ExprStmt(method(rt, name, tuple(tangents), e.type, e.loc), e.loc))
    return method(rv, name, tuple(values), e.type, e.loc), None


def _zero_element(t: ir.Type) -> ir.Expr:
    element = t.element()
    return lit(0, element.plain()) if element.is_float else ir.InitList((), element.plain())


def forward_constructor(t, e: ir.Call):
    """``std::vector<double>(n, x)``: its tangent is ``std::vector<double>(n, dx)``."""
    pairs = [t.expr(a) for a in e.args]
    if len(pairs) == 2 and pairs[1][1] is not None and not is_zero(pairs[1][1]):
        n = t.pure(pairs[0][0])
        return (
            ir.Call(e.callee, (n, pairs[1][0]), e.type, e.loc, e.spelling, e.kind),
            ir.Call(e.callee, (n, pairs[1][1]), e.type, e.loc, e.spelling, e.kind),
        )
    value = ir.Call(e.callee, tuple(v for v, _ in pairs), e.type, e.loc, e.spelling, e.kind)
    return value, None


# ---------------------------------------------------------------------- reverse mode
CUT_OFF = "::pyclad::cut_off"


def _undo_type(t: ir.Type) -> ir.Type:
    return ir.Type(f"{CUT_OFF}<{t.named().spell()}>")


def _record(rt, recv: ir.Expr, keep: ir.Expr, depth: int) -> tuple[ir.Stmt, ir.Expr, list[ir.Stmt]]:
    """Forward-sweep statement that records what a size change of ``recv`` down to ``keep``
    elements destroys (``pyclad::cut``); the expression the reverse sweep reads it back as,
    and the statements that read it back (a tape pop inside loops)."""
    ty = _undo_type(recv.type)
    cut = ir.Call("::pyclad::cut", (recv, keep), ty, spelling="::pyclad::cut")
    name = rt.names.temp("_u")
    if depth:
        tape = ir.tape_of(ty)
        rt.top.append(ir.Decl(name, tape, None))
        local = rt.adj_temp("_u")
        pop = ir.Decl(local, ty, ir.Call("::pyclad::pop", (Var(name, tape),), ty))
        push = ir.ExprStmt(ir.Call("::pyclad::push", (Var(name, tape), cut), ir.VOID))
        return push, Var(local, ty), [pop]
    rt.top.append(ir.Decl(name, ty, None))
    return ir.ExprStmt(ir.Assign("=", Var(name, ty), cut, ty)), Var(name, ty), []


def reverse_member(rt, e: ir.Call, depth: int, s: ir.ExprStmt) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """Forward and reverse sweep of a member call statement (``v.push_back(x)``, ...): the
    adjoint container grows and shrinks with the primal; what a shrink destroys is recorded,
    and put back in the reverse sweep when the reverse sweep reads the container."""
    recv, name = e.args[0], e.spelling
    for a in e.args[1:]:
        if any(isinstance(n, (ir.Assign, ir.Step)) for n in ir.walk(a)) or rt.has_user_call(a):
            raise rt.unsupported(f"an argument of '{name}' with side effects", a)
    if name in READERS or name == "reserve":
        adj = rt.adj_of(recv) if name == "reserve" else None
        grow = [ir.ExprStmt(method(adj, name, e.args[1:], e.type, e.loc), s.loc)] if adj is not None else []
        return [s, *grow], []
    if name not in RESIZERS:
        raise rt.unsupported(f"the container member '{name}'", e)
    adj = rt.adj_of(recv)
    restore = rt.must_save(recv)
    if adj is None and not restore:
        return [s], []
    if adj is not None and not _repeatable(adj):
        raise rt.unsupported(f"'{name}' on this container", e)
    rev: list[ir.Stmt] = []
    rt.memo = {}
    if name == "push_back":
        fwd = [s]
        if adj is not None:
            fwd.append(match_size(adj, recv, s.loc))
            last = ir.Binary("-", method(adj, "size", (), SIZE_T), lit(1, SIZE_T), SIZE_T)
            back = ir.Index(adj, last, recv.type.element())
            value = e.args[1]
            if recv.type.element().is_float and rt.is_active(value):
                r = rt.adj_temp("_r")
                rev.append(ir.Decl(r, recv.type.element().plain(), back))
                rt.acc(value, Var(r, recv.type.element().plain()), rev)
            elif rt.is_active(value) and recv.type.element().is_record:
                rev += _record_adjoint(rt, value, back)
            elif rt.is_active(value):  # a row pushed into a vector of vectors
                source = rt.adj_of(value)
                if source is None:
                    raise rt.unsupported("push_back of a computed container", value)
                rev.append(ir.ExprStmt(ir.Call("::pyclad::add_to", (source, back), ir.VOID)))
            rev.append(ir.ExprStmt(method(adj, "pop_back", (), ir.VOID)))
        if restore:
            rev.append(ir.ExprStmt(method(recv, "pop_back", (), ir.VOID)))
        rt.note_reads(rev)
        return fwd, rev
    size = method(recv, "size", (), SIZE_T)
    keep = {
        "resize": lambda: e.args[1],
        "assign": lambda: lit(0, SIZE_T),
        "clear": lambda: lit(0, SIZE_T),
        "pop_back": lambda: ir.Binary("-", size, lit(1, SIZE_T), SIZE_T),
    }[name]()
    record, undo, load = _record(rt, recv, keep, depth)
    fwd = [record, s]
    if adj is not None:
        fwd.append(match_size(adj, recv, s.loc))
    rev += load
    if adj is not None:
        filled = stored(e)
        if filled and not recv.type.element().is_float and rt.is_active(filled[0]):
            raise rt.unsupported(f"'{name}' with a differentiated container as the fill value", e)
        if filled and recv.type.element().is_float and rt.is_active(filled[0]):
            start = lit(0, SIZE_T) if name == "assign" else ir.Member(undo, "size", SIZE_T)
            total = ir.Call("::pyclad::sum_from", (adj, start), recv.type.element().plain(), spelling="")
            rt.acc(filled[0], total, rev)
        rev.append(ir.ExprStmt(ir.Call("::pyclad::unresize", (adj, undo), ir.VOID)))
    if restore:
        rev.append(ir.ExprStmt(ir.Call("::pyclad::restore", (recv, undo), ir.VOID)))
    rt.note_reads(rev)
    return fwd, rev


def _record_adjoint(rt, value: ir.Expr, adj: ir.Expr) -> list[ir.Stmt]:
    """The reverse sweep of storing the record ``value`` where the adjoint record ``adj``
    now is (``ps.push_back(Particle{x, v, m})``): each item of an initialiser list takes the
    adjoint of its field, a record lvalue the whole adjoint record, field by field."""
    out: list[ir.Stmt] = []
    t = value.type
    if isinstance(value, ir.InitList):
        for f, item in zip(t.fields, value.items):
            if not rt.is_active(item) or not f.type.carries_float:
                continue
            field = ir.Member(adj, f.name, f.type.value())
            if f.type.is_float and f.type.kind == ir.BUILTIN and not f.type.ptr and not f.type.dims:
                rt.acc(item, field, out)
            elif f.type.is_record:
                out += _record_adjoint(rt, item, field)
            else:
                raise rt.unsupported("this field of a stored record", item)
        return out
    if isinstance(value, ir.Call):  # Point(x, y), a.compose(b): the call's pullback takes the adjoint
        rt.acc(value, adj, out)
        return out
    source = rt.adj_of(value)
    if source is None:
        raise rt.unsupported("storing a computed record", value)
    if any(f.type.is_container for f in t.fields):
        raise rt.unsupported("storing a record with container fields", value)
    return accumulate(source, adj, t)


def match_size(adj: ir.Expr, recv: ir.Expr, loc=None) -> ir.Stmt:
    """The adjoint grown (with zeros) or shrunk to the primal's size after a size change.  A
    pullback re-runs its callee's forward sweep on adjoints the caller's forward sweep has
    sized already: then this changes nothing, and the adjoints of what the call stored stay."""
    return ir.ExprStmt(
        ir.Call("::pyclad::match_size", (adj, recv), ir.VOID, spelling="::pyclad::match_size"), loc
    )


def resized_by_call(rt, e: ir.Call) -> list[ir.Stmt]:
    """After a call of a user function that may resize container arguments (non-const
    references): their adjoints resized like them."""
    fn, _ = rt._target(e)
    out = []
    for p, a in zip(fn.params if fn is not None else (), e.args):
        if p.type.is_container and p.type.ref and not p.type.const:
            adj = rt.adj_of(a)
            if adj is not None and _repeatable(adj):
                out.append(match_size(adj, a))
    return out


def _repeatable(e: ir.Expr) -> bool:
    return all(not isinstance(n, (ir.Assign, ir.Step)) and not isinstance(n, ir.Call) for n in ir.walk(e))


def reverse_assign(rt, e: ir.Assign, depth: int, first: bool, loc) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """``w = value`` of a whole container (a declaration's initialiser included): a copy of
    a container, a container built by a constructor, or an initialiser list.  The adjoint
    is sized like the new value; in the reverse sweep the adjoints of what was stored are
    collected, the old value (saved when the sweep reads it or the assignment repeats) is
    put back, and the adjoint is zero again, shaped like it."""
    target, value = e.target, e.value
    if e.op != "=":
        raise rt.unsupported(f"operator '{e.op}' on a container", e)
    for n in ir.walk(value):
        if isinstance(n, ir.Call) and not is_member(n) and not is_constructor(n):
            if n is value and rt._target(n)[0] is not None:
                return _assign_from_call(rt, e, depth, first, loc)
            raise rt.unsupported("a container built by a call", n)
    adj = rt.adj_of(target)
    primal = ir.ExprStmt(e, loc)
    save_f, save_r = _replaced(rt, e, adj, depth, first)
    if adj is None:
        return save_f + [primal], save_r
    fwd = save_f + [primal, ir.ExprStmt(ir.Assign("=", adj, zero_like(target), adj.type), loc)]
    rev: list[ir.Stmt] = []
    rt.memo = {}
    if isinstance(value, ir.InitList):
        for k, item in enumerate(value.items):
            rt.acc(item, ir.Index(adj, lit(k, SIZE_T), target.type.element()), rev)
    elif is_constructor(value):
        if len(value.args) == 2 and rt.is_active(value.args[1]) and not target.type.element().is_float:
            raise rt.unsupported("a container of containers filled with a differentiated row", value)
        if len(value.args) == 2 and rt.is_active(value.args[1]):
            total = ir.Call("::pyclad::sum_from", (adj, lit(0, SIZE_T)), target.type.element().plain())
            rt.acc(value.args[1], total, rev)
    else:
        src = rt.adj_of(value)
        if src is not None:
            rev.append(ir.ExprStmt(ir.Call("::pyclad::add_to", (src, adj), ir.VOID)))
    rev += save_r
    if not (first and depth == 0):  # the adjoint of the value before: zeros
        rev.append(ir.ExprStmt(ir.Assign("=", adj, zero_like(target), adj.type)))
    rt.note_reads(rev)
    return fwd, rev


def _assign_from_call(rt, e: ir.Assign, depth: int, first: bool, loc) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """``w = f(args)`` with ``f`` a function of the source returning a container: in the
    reverse sweep the old ``w`` is put back (when saved), and ``f``'s pullback takes the
    adjoint of what it returned.  When ``w`` is among the arguments (``y = step(y)``) that
    adjoint is moved to a temporary first, since the pullback adds into ``w``'s adjoint."""
    target, value = e.target, e.value
    adj = rt.adj_of(target)
    call_f, call_r, logging = rt.call_outputs(value, depth)
    primal = ir.ExprStmt(ir.Assign("=", target, logging, e.type), loc)
    save_f, save_r = _replaced(rt, e, adj, depth, first)
    if adj is None:
        return save_f + call_f + [primal], save_r + call_r + rt.discard_calls(value)

    def reset() -> ir.Stmt:  # a statement of its own at each place: passes key statements by id
        return ir.ExprStmt(ir.Assign("=", adj, zero_like(target), adj.type), loc)

    fwd = save_f + call_f + [primal, reset()]
    rev: list[ir.Stmt] = []
    rt.memo = {}
    root = ir.root_var(target)
    if any(isinstance(n, ir.Var) and n.name == root.name for n in ir.walk(value)):
        seed = ir.Var(rt.adj_temp("_r_d"), target.type.named())
        rev += [ir.Decl(seed.name, seed.type, adj), reset()]
        rt.acc(value, seed, rev)
    else:
        rt.acc(value, adj, rev)
        if not (first and depth == 0):
            rev.append(reset())
    rt.note_reads(rev)
    return fwd, save_r + call_r + rev


def _replaced(
    rt, e: ir.Assign, adj: ir.Expr | None, depth: int, first: bool
) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """The save and restore of the container ``e`` overwrites whole, when the reverse sweep
    needs its old value (or its adjoint is reset by a repeated assignment); refuses an
    adjoint target the sweep cannot name twice."""
    save = ([], [])
    if not first and (adj is not None or rt.must_save(e.target)):
        save = save_whole(rt, e.target, depth)
    if adj is not None and not _repeatable(adj):
        raise rt.unsupported("this assignment target", e)
    return save


def save_whole(rt, target: ir.Expr, depth: int) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
    """A copy of a container that an assignment replaces (the container itself: its size
    is not known before it runs)."""
    ty = target.type.named()
    name = rt.names.temp()
    if depth:
        tape = ir.tape_of(ty)
        rt.top.append(ir.Decl(name, tape, None))
        push = ir.ExprStmt(ir.Call("::pyclad::push", (Var(name, tape), target), ir.VOID))
        pop = ir.ExprStmt(ir.Assign("=", target, ir.Call("::pyclad::pop", (Var(name, tape),), ty), ty))
        return [push], [pop]
    rt.top.append(ir.Decl(name, ty, None))
    return [ir.ExprStmt(ir.Assign("=", Var(name, ty), target, ty))], [
        ir.ExprStmt(ir.Assign("=", target, Var(name, ty), ty))
    ]


# ---------------------------------------------------------------------- reductions
def forward_reduction(t, e: ir.Call, rule):
    """(value, tangent) of ``pyclad::accumulate(v, init)`` and the like (see rules.Reduction)."""
    pairs = [t.expr(a) for a in e.args]
    values = [v for v, _ in pairs]
    tangents = [None if d is None or is_zero(d) else d for _, d in pairs]
    value = ir.Call(e.callee, tuple(values), e.type, e.loc, e.spelling)
    if not e.type.is_float or all(d is None for d in tangents):
        return value, (lit(0) if e.type.is_float else None)
    return value, rule.tangent(values, tangents)


def reverse_reduction(rt, e: ir.Call, rule, adj: ir.Expr, out: list[ir.Stmt]) -> None:
    """The reverse sweep of a reduction: each container's adjoint takes its share of
    ``adj`` (one runtime call), each scalar argument its partial times ``adj``."""
    if not e.type.is_float:
        return
    active = [k for k, a in enumerate(e.args) if rt.is_active(a)]
    if len(active) > 1:
        adj = rt.bind(adj, out)
    for k in active:
        a = e.args[k]
        if a.type.is_container:
            d = rt.adj_of(a)
            if d is not None:
                out.append(ir.ExprStmt(rule.adjoint(list(e.args), k, adj, d)))
        else:
            rt.acc(a, ir.mul(rule.partial(list(e.args), k), adj), out)


# ---------------------------------------------------------------------- runtime calls
# The runtime's container helpers that gradients call, differentiated again (forward over
# reverse, for Hessians): each is linear in its containers and scalars, so its tangent is
# the same helper applied to tangents.
INDICES = ("::pyclad::argmax", "::pyclad::argmin")  # integer results: no tangent


def forward_runtime(t, e: ir.Call):
    """(value, tangent) of a runtime container helper in an expression, or None if ``e`` is
    none of them."""
    if e.callee in INDICES:
        return ir.Call(e.callee, tuple(t.expr(a)[0] for a in e.args), e.type, e.loc, e.spelling), None
    if e.callee == ZERO_LIKE:
        v = t.expr(e.args[0])[0]
        return zero_like(v), zero_like(v)
    if e.callee == "::pyclad::sum_from":
        (d, dt), (k, _) = t.expr(e.args[0]), t.expr(e.args[1])
        value = ir.Call(e.callee, (d, k), e.type, e.loc, e.spelling)
        return value, (ir.Call(e.callee, (dt, k), e.type, e.loc, e.spelling) if dt is not None else lit(0))
    return None


def forward_runtime_stmt(t, e: ir.Call, loc) -> list[ir.Stmt] | None:
    """Tangent statements (then the statement) of a runtime helper called as a statement by
    a gradient (``add_each(*_d_v, s)``, ...), or None if ``e`` is none of them."""
    name = e.callee
    if name not in (
        "::pyclad::add_each",
        "::pyclad::add_scaled",
        "::pyclad::add_to",
        "::pyclad::unresize",
        "::pyclad::match_size",
    ):
        return None
    pairs = [t.expr(a) for a in e.args]
    values = tuple(v for v, _ in pairs)
    d = pairs[0][1]
    out: list[ir.Stmt] = []

    def call(*args):
        out.append(ir.ExprStmt(ir.Call(name, args, ir.VOID, e.loc, e.spelling), loc))

    if d is not None and not is_zero(d):
        if name in ("::pyclad::unresize", "::pyclad::match_size"):
            call(d, values[1])
        elif name == "::pyclad::add_scaled":
            if pairs[1][1] is not None and not is_zero(pairs[1][1]):
                call(d, pairs[1][1], values[2])
            if pairs[2][1] is not None and not is_zero(pairs[2][1]):
                call(d, values[1], pairs[2][1])
        elif pairs[1][1] is not None and not is_zero(pairs[1][1]):
            call(d, pairs[1][1])
    out.append(ir.ExprStmt(ir.Call(name, values, ir.VOID, e.loc, e.spelling), loc))
    return out


def _of_records(e: ir.Expr) -> bool:
    """A std::vector of records, named by a variable (its size gives its tangent's rows)."""
    return isinstance(e, Var) and e.type.kind == ir.VECTOR and e.type.args[0].kind == ir.RECORD


def vector_zero(node, tangents: set[str], n: int, vec_type):
    """In vector forward mode, a tangent container holds ``pyclad::vec<n>``: its zeros are
    ``pyclad::zero_like<n>(w)`` and a constructor builds the container of ``vec<n>`` (for
    a Decl or assignment of a tangent; ``vec_type`` gives the tangent type of a type)."""

    def retarget(value):
        if isinstance(value, ir.Call) and value.callee == ZERO_LIKE and _of_records(value.args[0]):
            t = vec_type(value.args[0].type.plain(), n)  # rows of zeros, one per record
            size = ir.Call(f"{value.args[0].name}.size", (), ir.Type("std::size_t"))
            return ir.Call(t.base, (size,), t, value.loc, t.base, ir.CONSTRUCTOR)
        if isinstance(value, ir.Call) and value.callee == ZERO_LIKE:
            name = f"{ZERO_LIKE}<{n}>"
            return ir.Call(name, value.args, value.type, value.loc, name)
        if is_constructor(value):
            t = vec_type(value.type, n)
            return ir.Call(t.base, value.args, t, value.loc, t.base, ir.CONSTRUCTOR)
        return value

    if isinstance(node, ir.Decl) and node.name in tangents and node.init is not None:
        return ir.Decl(node.name, node.type, retarget(node.init), node.loc)
    root = ir.root_var(node.target) if isinstance(node, ir.Assign) else None
    if root is not None and root.name in tangents:
        return ir.Assign(node.op, node.target, retarget(node.value), node.type, node.loc)
    return node
