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

The package, by job: ``transform`` (preparation, locals, adjoint lvalues, assembly) is
made of the mixins ``sweep`` (statements), ``adjoints`` (expressions), ``calls`` (pullbacks,
writing calls, hoisting) and ``storage`` (saves and tapes); ``prune`` drops dead forward
updates.  This module holds the entry points.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from ...ir import Var
from ..activity import writable
from ..effects import has_effects
from ..forward import vectorize
from ..names import specialised
from ..pause import collector_paused
from ..program import Program
from ..shadow import adjoint_param_type, is_container_value
from .adjoints import _ACC
from .prune import prune_forward
from .split import split_names
from .sweep import _STMT
from .tbr import dead_saves, sharing_storage
from .transform import ReverseTransform, _Prepared
from .untouched import restored_sites, untouched_params
from .util import _record_value, _subtree_any

__all__ = [
    "_ACC",
    "_STMT",
    "Output",
    "ReverseTransform",
    "_Prepared",
    "_build",
    "_subtree_any",
    "gradient",
    "prune_forward",
    "pullback",
    "split_pullback",
]


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
    t, body = _assembled(program, fn, set(wrt), mode="grad")
    outs: list[Output] = []
    params = list(fn.params)
    for p in fn.params:
        if p.name in wrt or (p.type.indexable and p.name in t.active):
            params.append(ir.Param(t.adj_param[p.name], adjoint_param_type(p.type)))
            outs.append(Output(t.adj_param[p.name], p.name, p.name in wrt))
    what = ", ".join(wrt)
    comment = f"Gradient of {fn.name} w.r.t. {what}, reverse mode.\nAdjoints are accumulated (+=): zero them before the call."
    extra = [o for o in outs if not o.wrt]
    if extra:
        comment += "\n" + "\n".join(f"{o.name}: scratch adjoint of {o.param} (same length)." for o in extra)
    if fn.comment:  # notes on the source (a loop under #pragma omp runs sequentially)
        comment += "\n" + fn.comment
    out = ir.Function(name, ir.VOID, tuple(params), body, fn.loc, comment)
    return out, outs


@collector_paused
def pullback(
    program: Program, fn: ir.Function, active_params: list[bool], vector: int = 0, effects: bool = False
) -> str:
    """The name of fn's pullback for this activity pattern; generated on first use.
    ``vector`` > 0: adjoints are ``pyclad::vec<vector>``, one reverse sweep for that many
    seeds at once (vector reverse mode, for Jacobians).  ``effects``: the pullback is called
    in place of the primal (not after a forward sweep that ran it), so it runs the statements
    without derivatives (ad/effects.py) of a function that has them."""
    loud = effects and has_effects(program, fn.name)
    name = specialised(f"{fn.name}_pullback", fn, active_params) + (f"_vec{vector}" if vector else "")
    name += "_with_effects" if loud else ""
    if program.has(name):
        return name
    program.reserve(name)
    seeds = {p.name for p, a in zip(fn.params, active_params) if a}
    t, body = _assembled(program, fn, seeds, mode="pullback", vector=vector, effects=loud)
    params = list(fn.params)
    if fn.ret.is_float or _record_value(fn.ret):
        params.append(ir.Param(t.seed_name, fn.ret.plain()))
    elif is_container_value(fn.ret):  # the adjoint of the container it returns, not copied
        params.append(ir.Param(t.seed_name, fn.ret.derived(0, (), const=True, ref=True)))
    for p, a in zip(fn.params, active_params):
        if a:
            params.append(ir.Param(t.adj_param[p.name], adjoint_param_type(p.type)))
    out = ir.Function(name, ir.VOID, tuple(params), body, fn.loc, fn.comment)
    if vector:
        out = vectorize(out, t.adjoint_names(), vector)
    program.add(out)
    return name


@collector_paused
def split_pullback(program: Program, fn: ir.Function, active_params: list[bool]) -> tuple[str, str]:
    """The names of fn's ``NAME_forw`` and ``NAME_rev`` for this activity pattern (split.py);
    generated on first use.  Only for a function ``split.splittable`` accepts."""
    forw, rev = split_names(fn, active_params)
    if program.has(rev):
        return forw, rev
    program.reserve(forw)
    program.reserve(rev)
    seeds = {p.name for p, a in zip(fn.params, active_params) if a}
    t, (fbody, rbody) = _assembled(program, fn, seeds, mode="pullback", capture=forw)
    comment = (
        f"The forward sweep of {fn.name}'s pullback: its value, and what {rev} reads left on the\n"
        f"per-thread stash (call {rev} with the same arguments in the reverse sweep)."
    )
    program.add(ir.Function(forw, fn.ret, fn.params, fbody, fn.loc, comment))
    params = list(fn.params) + [ir.Param(t.seed_name, fn.ret.plain())]
    for p, a in zip(fn.params, active_params):
        if a:
            params.append(ir.Param(t.adj_param[p.name], adjoint_param_type(p.type)))
    comment = f"The reverse sweep of {fn.name}'s pullback, after {forw} ran with these arguments."
    program.add(ir.Function(rev, ir.VOID, tuple(params), rbody, fn.loc, comment))
    program.split_origin[rev] = ("rev", fn, list(active_params))
    return forw, rev


def _assembled(program, fn, seeds, mode, vector=0, effects=None, capture=False):
    """The transform and its assembled body (two bodies, ``NAME_forw``'s and ``NAME_rev``'s,
    with ``capture``, the name of ``NAME_forw``).  A call whose split pullback cannot be paired (its forward sweep
    statement pruned, or not run) keeps the combined pullback: built again without it."""
    nosplit: frozenset[int] = frozenset()
    prep = None
    while True:
        t = _build(program, fn, seeds, mode, vector, effects, nosplit=nosplit, capture=capture, prep=prep)
        body = t.assemble_split(capture) if capture else t.assemble()
        if not t.unpaired:
            return t, body
        nosplit, prep = nosplit | t.unpaired, t.prep


def _build(program, fn, seeds, mode, vector=0, effects=None, nosplit=frozenset(), capture=False, prep=None):
    """Run the transform twice: first to learn what the reverse sweep reads, then for real.
    Saving a value can make the reverse sweep read more (the index of a restored element,
    the counter an inverse ``i--`` needs): then once more, until nothing new is read.  The
    saves of the variables read anywhere are then narrowed to the writes whose old value
    is read (``tbr``), in one last run."""
    opts = {"vector": vector, "effects": effects, "nosplit": nosplit, "capture": capture}
    probe = ReverseTransform(program, fn, seeds, mode, needed=None, prep=prep, **opts)
    probe.run()
    aliases = _pointer_targets(probe.prep.body)
    needed = _through_pointers(set(probe.reads), aliases)
    live_out: set[str] = set()
    if mode == "pullback":
        # A pullback re-runs its callee's forward sweep on the caller's memory: its reverse
        # sweep must leave what it overwrote through pointer and reference parameters as it
        # found it, for the caller's reverse sweep that goes on reading it.
        live_out = {p.name for p in fn.params if writable(p.type)}
        needed |= live_out
    needed = sharing_storage(probe.prep.body, needed)
    while True:
        t = ReverseTransform(program, fn, seeds, mode, needed=needed, prep=probe.prep, **opts)
        t.run()
        # Only the function's own variables are ever saved: reads of the names a run made up
        # itself (saved values, adjoint temporaries) cannot change what the next run saves.
        if not (t.reads - needed) & probe.prep.variables:
            break
        needed = sharing_storage(probe.prep.body, _through_pointers(needed | t.reads, aliases))
    # A pullback's reference parameters whose stores its reverse sweep never reads: left alone.
    untouched: set[str] = set()
    if mode == "pullback":
        untouched = untouched_params(program, fn, t.fwd, t.rev + t.tail, t.restores, t.save_stmts)
        live_out -= untouched
    # Saved per variable so far; now per write: the saves whose restores nothing reads go.
    start = restored_sites(t.restores, untouched)
    dead = dead_saves(t.prep.body, t.rev + t.tail, t.restores, live_out, program, start)
    if not dead and not untouched:
        return t
    t = ReverseTransform(
        program,
        fn,
        seeds,
        mode,
        needed=needed,
        prep=probe.prep,
        dead=frozenset(dead),
        untouched=frozenset(untouched),
        **opts,
    )
    t.run()
    return t


def _pointer_targets(body: ir.Block) -> list[tuple[str, str]]:
    """(pointer, variable it points into) for each pointer local bound or re-seated in the
    body (``P* q = &ps[i]``, ``r = arr``)."""
    out = []
    for n in ir.walk(body):
        if isinstance(n, ir.Decl) and n.type.ptr and n.init is not None:
            name, value = n.name, n.init
        elif isinstance(n, ir.Assign) and isinstance(n.target, Var) and n.target.type.ptr:
            name, value = n.target.name, n.value
        else:
            continue
        root = ir.root_var(value.operand if isinstance(value, ir.Unary) and value.op == "&" else value)
        if root is not None and root.name != name:
            out.append((name, root.name))
    return out


def _through_pointers(needed: set[str], aliases: list[tuple[str, str]]) -> set[str]:
    """What the reverse sweep reads through a pointer it reads is read too: the storage the
    pointer points into must be restored as well."""
    changed = True
    while changed:
        changed = False
        for ptr, target in aliases:
            if ptr in needed and target not in needed:
                needed.add(target)
                changed = True
    return needed
