"""Forward mode: each active variable ``x`` is paired with a tangent ``_d_x``.

Every statement is preceded by its tangent statement, so ``x = x * y`` reads
the old ``x``.  An expression is transformed into a (value, tangent) pair; a
value that is needed twice (by the primal and by a tangent) is first bound to a
``_tN`` temporary together with its tangent ``_d_tN``, which keeps derivative
code linear in the size of the input (no expression swell).

Calls to user functions become calls to generated ``NAME_pushforward``
functions that return the value and write the tangent of the result through a
trailing reference parameter ``_d_return``; the same transform generates them,
so nested calls and recursion need nothing else, and higher orders apply the
transform again to its own output.

The package, by job: ``transform`` (the core: activity, temporaries, tidying) is made of
the mixins ``statements``, ``expressions`` and ``calls``; ``util`` holds the tangent types
(``vec_type``, ``vectorize``).  This module holds the entry points.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from ...ir import lit
from ..names import specialised
from ..pause import collector_paused
from ..program import Program
from .expressions import _EXPR
from .statements import _STMT
from .transform import RETURN, ForwardTransform
from .util import POP, PUSH, _plain, is_tape, vec_type, vectorize

__all__ = [
    "POP",
    "PUSH",
    "RETURN",
    "_EXPR",
    "_STMT",
    "Extra",
    "ForwardTransform",
    "derivative",
    "is_tape",
    "pushforward",
    "vec_type",
    "vectorize",
]


@dataclass(frozen=True)
class Extra:
    """A tangent array parameter the caller supplies: shaped like param ``like``,
    zero except a 1 at ``seed`` (when given)."""

    name: str
    like: str
    seed: int | None


@collector_paused
def derivative(
    program: Program, fn: ir.Function, wrt: str, element: int | None, name: str
) -> tuple[ir.Function, list[Extra]]:
    """d fn / d wrt (or d fn / d wrt[element]) as a new function ``name``."""
    seeds = {wrt}
    t = ForwardTransform(program, fn, seeds)
    pre: list[ir.Stmt] = []
    params = list(fn.params)
    extras: list[Extra] = []
    for p in fn.params:
        if p.name not in t.active:
            continue
        d = t.names.derivative(p.name)
        if p.type.ptr:
            params.append(ir.Param(d, p.type.value()))
            extras.append(Extra(d, p.name, element if p.name == wrt else None))
        else:
            seed = 1 if p.name == wrt else 0
            pre.append(ir.Decl(d, _plain(p.type), lit(seed)))
    body = t.block_stmts(t.fn.body.stmts)
    what = f"{wrt}[{element}]" if element is not None else wrt
    comment = f"d {fn.name} / d {what}, forward mode."
    if extras:
        comment += "\n" + "\n".join(
            f"{e.name}: tangent of {e.like}; "
            + (f"all zeros but {e.name}[{e.seed}] = 1." if e.seed is not None else "all zeros.")
            for e in extras
        )
    out = ir.Function(name, fn.ret.value(), tuple(params), ir.Block(tuple(pre + body)), fn.loc, comment)
    return t.tidy(out), extras


@collector_paused
def pushforward(program: Program, fn: ir.Function, active_params: list[bool], vector: int = 0) -> str:
    """The name of fn's pushforward for this activity pattern; generated on first use.
    ``vector`` > 0: tangents are ``pyclad::vec<vector>`` (vector forward mode)."""
    name = specialised(f"{fn.name}_pushforward", fn, active_params) + (f"_vec{vector}" if vector else "")
    if program.has(name):
        return name
    program.reserve(name)
    seeds = {p.name for p, a in zip(fn.params, active_params) if a}
    t = ForwardTransform(program, fn, seeds, returns_pair=True, vector=vector)
    params = list(fn.params)
    for p, a in zip(fn.params, active_params):
        if a:
            params.append(ir.Param(t.names.derivative(p.name), p.type))
    if fn.ret.is_float:
        params.append(ir.Param(t.ret_name, ir.Type(fn.ret.base, ref=True)))
    body = t.block_stmts(t.fn.body.stmts)
    out = ir.Function(name, fn.ret, tuple(params), ir.Block(tuple(body)), fn.loc)
    if vector:
        out = vectorize(out, t.tangent_names(), vector)
    program.add(t.tidy(out))
    return name
