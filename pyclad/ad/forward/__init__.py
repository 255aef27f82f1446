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
from ...errors import WrtError
from ...ir import Var, lit
from .. import containers, shadow
from ..names import specialised
from ..pause import collector_paused
from ..program import Program
from ..shadow import zero
from .expressions import _EXPR
from .statements import _STMT
from .transform import RETURN, ForwardTransform
from .util import POP, PUSH, _plain, _record_value, is_tape, vec_type, vectorize

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
    field: str = ""  # a pointer to records: the field of the pointed record seeded with 1


@collector_paused
def derivative(
    program: Program, fn: ir.Function, wrt: str, element: int | None, name: str
) -> tuple[ir.Function, list[Extra]]:
    """d fn / d wrt (or d fn / d wrt[element]) as a new function ``name``.  ``wrt`` may name
    a floating field of a record parameter (``"p.a"``, ``"s.in.b"``): its tangent is seeded."""
    wrt, _, path = wrt.partition(".")
    seeds = {wrt}
    t = ForwardTransform(program, fn, seeds)
    pre: list[ir.Stmt] = []
    params = list(fn.params)
    extras: list[Extra] = []
    for p in fn.params:
        if p.name not in t.active:
            continue
        d = t.names.derivative(p.name)
        if p.type.is_container:  # the tangent of a container: a container of the same size
            params.append(ir.Param(d, p.type))
            extras.append(Extra(d, p.name, element if p.name == wrt else None))
        elif p.type.ptr:
            params.append(ir.Param(d, p.type.value()))
            if p.type.kind == ir.RECORD:
                extras.append(Extra(d, p.name, None, path if p.name == wrt else ""))
            else:
                extras.append(Extra(d, p.name, element if p.name == wrt else None))
        elif p.type.kind == ir.RECORD:
            pre.append(ir.Decl(d, _plain(p.type), zero(p.type)))
            if p.name == wrt:
                pre.append(ir.ExprStmt(_seed_field(Var(d, _plain(p.type)), path, p, fn)))
        else:
            seed = 1 if p.name == wrt else 0
            pre.append(ir.Decl(d, _plain(p.type), lit(seed)))
    body = t.block_stmts(t.fn.body.stmts)
    what = f"{wrt}[{element}]" if element is not None else (f"{wrt}.{path}" if path else wrt)
    comment = f"d {fn.name} / d {what}, forward mode."
    if extras:
        comment += "\n" + "\n".join(
            f"{e.name}: tangent of {e.like}; "
            + (
                f"all zeros but {e.name}[{e.seed}] = 1."
                if e.seed is not None
                else f"all zeros but {e.name}->{e.field} = 1."
                if e.field
                else "all zeros."
            )
            for e in extras
        )
    if fn.comment:  # notes on the source (a loop under #pragma omp runs sequentially)
        comment += "\n" + fn.comment
    out = ir.Function(name, fn.ret.value(), tuple(params), ir.Block(tuple(pre + body)), fn.loc, comment)
    return t.tidy(out), extras


def _seed_field(tangent: Var, path: str, p: ir.Param, fn: ir.Function) -> ir.Assign:
    """``_d_p.a = 1``: the direction of ``wrt="p.a"``."""
    target: ir.Expr = tangent
    for name in path.split(".") if path else ():
        f = target.type.field_named(name) if target.type.is_record else None
        if f is None:
            break
        target = ir.Member(target, name, f.type.value())
    if not path or not target.type.is_float:
        raise WrtError(
            f"forward mode differentiates along one direction: name one floating field of "
            f"'{p.name}' ({p.type.spell()}), e.g. '{p.name}.{_first_float(p.type)}'; "
            "pyclad.gradient gives all of them",
            p.loc or fn.loc,
        )
    return ir.Assign("=", target, lit(1), target.type)


def _first_float(t: ir.Type) -> str:
    for f in t.fields:
        if f.type.is_float:
            return f.name
        if f.type.is_record and f.type.carries_float:
            return f"{f.name}.{_first_float(f.type)}"
    return "a"


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
    if fn.ret.is_float or _record_value(fn.ret) or shadow.is_container_value(fn.ret):
        params.append(ir.Param(t.ret_name, fn.ret.named().derived(ref=True)))
    # A container argument without a tangent that the body makes active: zeros shaped like it.
    body = [
        ir.Decl(t.names.derivative(p.name), _plain(p.type), containers.zero_like(Var(p.name, p.type.value())))
        for p, a in zip(fn.params, active_params)
        if not a and p.type.is_container and p.name in t.active
    ]
    body += t.block_stmts(t.fn.body.stmts)
    out = ir.Function(name, fn.ret, tuple(params), ir.Block(tuple(body)), fn.loc, fn.comment)
    if vector:
        out = vectorize(out, t.tangent_names(), vector, boxes=True)
    program.add(t.tidy(out))
    return name
