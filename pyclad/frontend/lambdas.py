"""Lambdas defined and called in a function body.

A lambda is a record whose fields are its captures and whose ``operator()`` is a method.
The record is flattened, so that the generated code never needs to name the closure
type: each by-value capture becomes a local copy made where the lambda is defined
(``_lin_u``, for ``u`` captured by ``lin``), and ``operator()`` becomes a generated free
function of the captures followed by its own parameters, by-reference captures passed by
reference (``f_lambda0(acc, v)``).  A call ``sq(x)`` is the call of that function; the
function's primal is emitted with the derivatives that call it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import clang.cindex as ci

from .. import ir
from ..errors import UnsupportedError
from . import callees
from .parse import loc_of

K = ci.CursorKind


@dataclass(frozen=True)
class Closure:
    """A lambda in scope: its ``operator()``'s IR function and what a call passes for the
    captures (before the call's own arguments)."""

    key: str
    captures: tuple[ir.Expr, ...]


def _loc(c: ci.Cursor):
    return loc_of(c.location, c.translation_unit)


def define(lowerer, lam: ci.Cursor, var: str | None) -> tuple[Closure, list[ir.Stmt]]:
    """Lower the lambda expression ``lam`` (held by the variable ``var``, or called where it
    is written when None): its operator() function, and the copies of its by-value captures."""
    from .types import lower_type

    call_op = next((k for k in lam.type.get_declaration().get_children() if k.spelling == "operator()"), None)
    if call_op is None or call_op.kind != K.CXX_METHOD:
        raise UnsupportedError("a generic lambda (auto parameters) is not supported", _loc(lam))
    if not call_op.is_const_method():
        raise UnsupportedError("a mutable lambda is not supported", _loc(lam))
    body = next((k for k in lam.get_children() if k.kind == K.COMPOUND_STMT), None)
    default, explicit = callees.capture_modes(lam)
    params: list[ir.Param] = []
    passed: list[ir.Expr] = []
    copies: list[ir.Stmt] = []
    decayed: set[str] = set()  # captured arrays, passed as pointers
    for cap in callees.captured(body, lam) if body is not None else []:
        t = lower_type(cap.type, cap)
        if t.dims:
            t = t.decay()
            decayed.add(cap.spelling)
            by_ref = True  # an array is passed as a pointer to its storage
            if not explicit.get(cap.spelling, default == "&"):
                raise UnsupportedError(
                    f"a lambda capturing the array '{cap.spelling}' by value is not supported", _loc(lam)
                )
        else:
            by_ref = explicit.get(cap.spelling, default == "&")
        value = ir.Var(cap.spelling, t, _loc(lam))
        if by_ref or var is None:
            ref = not (t.ptr or t.dims) and by_ref
            params.append(ir.Param(cap.spelling, t.derived(t.ptr, t.dims, t.const, ref=ref), _loc(cap)))
            passed.append(value)
        else:
            copy = f"_{var}_{cap.spelling}"
            copies.append(ir.Decl(copy, t.plain(), value, _loc(lam)))
            params.append(ir.Param(cap.spelling, t.plain(), _loc(cap)))
            passed.append(ir.Var(copy, t.plain(), _loc(lam)))
    for k in lam.get_children():
        if k.kind == K.PARM_DECL:
            params.append(ir.Param(k.spelling, lowerer.param_type(k), _loc(k)))
    key = _name(lowerer)
    outer_owner, outer_this = lowerer.owner, lowerer.this
    lowerer.owner, lowerer.this = key, None
    try:
        block = lowerer.block(body) if body is not None else ir.Block(())
    finally:
        lowerer.owner, lowerer.this = outer_owner, outer_this
    ret = lower_type(call_op.result_type, call_op)
    block = _retyped(block, {p.name: p.type for p in params if p.type.ptr and p.name in decayed})
    # A by-reference capture the body only reads is passed as const: callers then know the
    # call leaves it alone (a mistaken const is a compile error of the generated code, never
    # a wrong derivative).
    by_ref = {
        p.name for p, a in zip(params, passed) if a is not None and isinstance(a, ir.Var) and a.name == p.name
    }
    written = _written(block, by_ref, lowerer)
    params = [
        replace(p, type=p.type.derived(p.type.ptr, p.type.dims, True, p.type.ref))
        if p.name in by_ref and p.name not in written and (p.type.ref or p.type.ptr)
        else p
        for p in params
    ]
    fn = ir.Function(key, ret, tuple(params), block, _loc(lam), comment="")
    lowerer.index.lowered[key] = fn
    lowerer.index.synthesized[key] = fn
    return Closure(key, tuple(passed)), copies


def _retyped(body: ir.Block, types: dict[str, ir.Type]) -> ir.Block:
    """The body with the uses of captured arrays typed as the pointers they are passed as."""
    if not types:
        return body

    def retype(n):
        if isinstance(n, ir.Var) and n.name in types and n.type.dims:
            return replace(n, type=types[n.name])
        return n

    return ir.rebuild(body, retype)


def _root(e: ir.Expr) -> ir.Var | None:
    while isinstance(e, (ir.Member, ir.Index, ir.Unary, ir.Cast)):
        e = e.operand if not isinstance(e, ir.Index) else e.base
    return e if isinstance(e, ir.Var) else None


def _written(body: ir.Block, names: set[str], lowerer) -> set[str]:
    """Which of ``names`` the body may write: assigned, stepped, its address taken, or passed
    to a callee (a non-const method's object, a writable reference or pointer parameter)."""
    out: set[str] = set()
    for n in ir.walk(body):
        if isinstance(n, (ir.Assign, ir.Step)) or (isinstance(n, ir.Unary) and n.op == "&"):
            r = _root(n.target if not isinstance(n, ir.Unary) else n.operand)
            if r is not None:
                out.add(r.name)
        elif isinstance(n, ir.Call):
            try:
                callee = lowerer.index.function(n.callee) if n.callee else None
            except UnsupportedError:
                callee = None
            for i, a in enumerate(n.args):
                r = _root(a)
                if r is None or r.name not in names:
                    continue
                if callee is None or i >= len(callee.params):
                    if a.type.ptr or a.type.dims or n.kind == ir.METHOD:
                        out.add(r.name)
                    continue
                t = callee.params[i].type
                if (t.ref or t.ptr) and not t.const:
                    out.add(r.name)
    return out


def _name(lowerer) -> str:
    """``f_lambda0``, ``f_lambda1``, ... after the function that defines them, skipping
    names the source already uses."""
    k = 0
    while True:
        name = f"{lowerer.owner}_lambda{k}"
        if name not in lowerer.index.lowered and name not in lowerer.index.definitions:
            return name
        k += 1
