"""Derivatives of functions that return through pointer parameters.

Much numerical code is ``void objective(inputs..., double* err)``: its result is what it
writes.  Three requests are built here on top of the pullbacks and pushforwards the reverse
and forward transforms generate for callees (so nothing new is differentiated):

- the gradient of one output element, ``err[0]``: ``NAME_grad_<output>`` seeds the output's
  adjoint with 1 and calls the pullback (the return value, if any, is seeded with 0);
- the vector-Jacobian product ``NAME_vjp``: the caller gives the cotangents of the outputs
  (output arrays and the return value) and gets the cotangents of the inputs;
- the Jacobian-vector product ``NAME_jvp``: the caller gives the tangents of the inputs and
  gets the tangents of the outputs.

Every written floating array the request does not name is passed too, as scratch (its
derivative buffer must exist for the callee's code; its contents are not part of the answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..errors import ArgumentError
from ..ir import Var, lit
from . import forward, reverse
from .compose import split_params
from .names import Namer
from .program import Program
from .shadow import adjoint_param_type

RETURN = "return"  # the name of the return value among the outputs (no parameter can take it)


@dataclass(frozen=True)
class Role:
    """One derivative buffer of a vjp / jvp kernel: ``name`` for ``param`` ("return": the
    return value's), and what it holds: an ``input`` (wrt) derivative, an ``output``
    derivative, both (an array read and written), or scratch (neither)."""

    name: str
    param: str
    input: bool
    output: bool


def written_arrays(fn: ir.Function, program: Program) -> tuple[str, ...]:
    """Non-const floating pointer params ``fn`` writes, in param order."""
    return split_params(fn, None, program).outputs


def output_param(fn: ir.Function, name, program: Program, what: str = "output") -> ir.Param:
    """The pointer parameter ``name`` names as an output of ``fn``; ArgumentError naming it
    when it is not a parameter, not a pointer to floating values, or never written."""
    if not isinstance(name, str):
        raise ArgumentError(f"{what} takes a parameter name, not {name!r}", fn.loc)
    p = fn.param(name.strip())
    if p is None:
        params = ", ".join(q.name for q in fn.params)
        raise ArgumentError(
            f"{what} '{name}' is not a parameter of '{fn.name}' (parameters: {params})", fn.loc
        )
    if not (p.type.ptr == 1 and p.type.holds_float and not p.type.const and not p.type.dims):
        raise ArgumentError(
            f"{what} '{p.name}' of '{fn.name}' has type {p.type.spell()}: an output is a pointer "
            "to floating values the function writes (double* err)",
            p.loc or fn.loc,
        )
    if p.name not in written_arrays(fn, program):
        raise ArgumentError(f"{what} '{p.name}': '{fn.name}' never writes it", p.loc or fn.loc)
    return p


def _args(fn: ir.Function) -> list[ir.Expr]:
    return [Var(p.name, p.type) for p in fn.params]


def output_gradient(
    program: Program, fn: ir.Function, wrt: list[str], output: str, name: str
) -> tuple[ir.Function, list[reverse.Output]]:
    """``NAME(params..., _d_<p>...)``: the gradient of ``output[0]`` w.r.t. ``wrt``, in the
    calling convention of ``NAME_grad`` (adjoints accumulated; the adjoints of written arrays
    outside ``wrt`` are scratch the caller zeroes, sized like the arrays)."""
    written = written_arrays(fn, program)
    mask = [p.name in wrt or p.name in written for p in fn.params]
    pb = reverse.pullback(program, fn, mask, effects=True)  # called in place of the primal
    names = Namer.for_function(fn)
    params, outs, adj = list(fn.params), [], {}
    for p, on in zip(fn.params, mask):
        if on:
            adj[p.name] = names.derivative(p.name)
            params.append(ir.Param(adj[p.name], adjoint_param_type(p.type)))
            outs.append(reverse.Output(adj[p.name], p.name, p.name in wrt))
    seed_t = fn.param(output).type.value()
    seed = ir.Index(Var(adj[output], adjoint_param_type(fn.param(output).type)), lit(0, ir.INT), seed_t)
    call_args = _args(fn) + ([lit(0)] if fn.ret.is_float else [])
    call_args += [Var(adj[p.name], adjoint_param_type(p.type)) for p, on in zip(fn.params, mask) if on]
    body = ir.Block(
        (
            ir.ExprStmt(ir.Assign("+=", seed, lit(1), seed_t)),
            ir.ExprStmt(ir.Call(pb, tuple(call_args), ir.VOID)),
        )
    )
    comment = (
        f"Gradient of {output}[0], written by {fn.name}, w.r.t. {', '.join(wrt)}, reverse mode.\n"
        "Adjoints are accumulated (+=): zero them before the call."
    )
    comment += "".join(f"\n{o.name}: scratch adjoint of {o.param} (same length)." for o in outs if not o.wrt)
    comment += _restored_note(fn, written)
    return ir.Function(name, ir.VOID, tuple(params), body, fn.loc, comment), outs


def _restored_note(fn: ir.Function, written) -> str:
    if not written:
        return ""
    return (
        f"\nThe arrays {fn.name} writes ({', '.join(written)}) are left as they were passed: "
        f"call {fn.name} for its results."
    )


def vjp_function(
    program: Program, fn: ir.Function, wrt: list[str], outputs: list[str], name: str
) -> tuple[ir.Function, list[Role]]:
    """``NAME(params..., [_d_return,] _d_<p>...)``: the cotangents of ``outputs`` in (the
    output arrays' buffers are read and consumed: zero on return), the cotangents of ``wrt``
    accumulated (+=) into theirs.  An array in both holds the output cotangent on entry and
    the input cotangent on return."""
    written = written_arrays(fn, program)
    mask = [p.name in wrt or p.name in written for p in fn.params]
    pb = reverse.pullback(program, fn, mask, effects=True)  # called in place of the primal
    names = Namer.for_function(fn)
    params, roles = list(fn.params), []
    call_args = _args(fn)
    if fn.ret.is_float and RETURN in outputs:
        seed, t = names.claim("_d_return"), fn.ret.plain()
        params.append(ir.Param(seed, t))
        roles.append(Role(seed, RETURN, False, True))
        call_args.append(Var(seed, t))
    elif fn.ret.is_float:
        call_args.append(lit(0))  # the return value is not among the outputs: no cotangent
    for p, on in zip(fn.params, mask):
        if on:
            d, t = names.derivative(p.name), adjoint_param_type(p.type)
            params.append(ir.Param(d, t))
            roles.append(Role(d, p.name, p.name in wrt, p.name in outputs))
            call_args.append(Var(d, t))
    body = ir.Block((ir.ExprStmt(ir.Call(pb, tuple(call_args), ir.VOID)),))
    lines = [f"Vector-Jacobian product of {fn.name} (its pullback), reverse mode."]
    for r in roles:
        if r.input and r.output:
            lines.append(
                f"{r.name}: the cotangent of {r.param} on entry, its input cotangent (+=) on return."
            )
        elif r.output:
            what = "the return value" if r.param == RETURN else r.param
            lines.append(f"{r.name}: the cotangent of {what}" + ("." if r.param == RETURN else " (zeroed)."))
        elif r.input:
            lines.append(f"{r.name}: the cotangent of {r.param}, accumulated (+=): zero it before the call.")
        else:
            lines.append(f"{r.name}: scratch adjoint of {r.param} (same length, zeroed).")
    comment = "\n".join(lines) + _restored_note(fn, written)
    return ir.Function(name, ir.VOID, tuple(params), body, fn.loc, comment), roles


def jvp_function(
    program: Program, fn: ir.Function, wrt: list[str], outputs: list[str], name: str
) -> tuple[ir.Function, list[Role]]:
    """``NAME(params..., _d_<p>..., [double* _d_return])``: the tangents of ``wrt`` in, the
    tangents of the written arrays and of the return value out.  Tangent buffers of arrays
    outside ``wrt`` must be zero on entry."""
    written = written_arrays(fn, program)
    mask = [p.name in wrt or p.name in written for p in fn.params]
    pf = forward.pushforward(program, fn, mask)
    names = Namer.for_function(fn)
    params, roles = list(fn.params), []
    call_args = _args(fn)
    for p, on in zip(fn.params, mask):
        if on:
            d = names.derivative(p.name)
            t = p.type if p.type.ptr else ir.Type(p.type.base)
            params.append(ir.Param(d, t))
            roles.append(Role(d, p.name, p.name in wrt, p.name in outputs))
            call_args.append(Var(d, t))
    stmts: list[ir.Stmt] = []
    if fn.ret.is_float:
        d = names.claim("_d_return")
        t = fn.ret.plain()
        ptr = t.derived(1)
        if RETURN in outputs:
            params.append(ir.Param(d, ptr))
            roles.append(Role(d, RETURN, False, True))
            target: ir.Expr = ir.Unary("*", Var(d, ptr), t)
        else:
            stmts.append(ir.Decl(d, t, lit(0)))
            target = Var(d, t)
        call_args.append(target)
        stmts.append(ir.ExprStmt(ir.Call(pf, tuple(call_args), fn.ret)))
    else:
        stmts.append(ir.ExprStmt(ir.Call(pf, tuple(call_args), fn.ret)))
    lines = [f"Jacobian-vector product of {fn.name} (its pushforward), forward mode."]
    for r in roles:
        if r.param == RETURN:
            lines.append(f"{r.name}: receives the tangent of the return value.")
        elif r.input and r.output:
            lines.append(f"{r.name}: the tangent of {r.param} on entry, its output tangent on return.")
        elif r.input:
            lines.append(f"{r.name}: the tangent of {r.param}.")
        elif r.output:
            lines.append(f"{r.name}: receives the tangent of {r.param} (zero it before the call).")
        else:
            lines.append(f"{r.name}: scratch tangent of {r.param} (same length, zeroed).")
    comment = "\n".join(lines)
    return ir.Function(name, ir.VOID, tuple(params), ir.Block(tuple(stmts)), fn.loc, comment), roles
