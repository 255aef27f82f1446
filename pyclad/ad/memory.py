"""Dynamic memory as the transforms see it: which expressions allocate a buffer and which
statements release one, the shadow buffer allocated beside a primal one, and the deferred
release of what the primal frees while a reverse sweep still reads it.

An allocation is ``new T``, ``new T(x)``, ``new T[n]`` (any initialiser; see ir.NEW), or a
call of ``malloc`` / ``calloc``, possibly under casts (``(double*)malloc(n * sizeof(double))``,
``static_cast<double*>(calloc(n, sizeof(double)))``).  A release is ``delete p``,
``delete[] p`` or ``free(p)``.

The shadow of a buffer has the primal's shape and starts at zero: ``new T[n]()`` for any
``new T[n]``, ``calloc(count, sizeof(T))`` for ``malloc`` and ``calloc``; forward mode seeds the shadow of ``new T(x)`` and of
the items of ``new T[n]{a, b}`` with their tangents (``tangents``), reverse mode with zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .. import ir
from ..errors import UnsupportedError

_C_ALLOCATORS = ("malloc", "calloc")
DEFERRED = ir.Type("::pyclad::deferred_release")
# The undo log of what a callee overwrites in its caller's memory (reverse/forw.py), and its
# operations: save a value before a store, mark the start of a call, undo a call's stores.
LOG = ir.Type("::pyclad::undo_log", ref=True)
SAVE, MARK, UNDO = "::pyclad::save", "::pyclad::mark", "::pyclad::undo"
SAVE_ELEMENT = "::pyclad::save_element"  # (log, container, index, element or field of it)


def _peel(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Cast):
        e = e.operand
    return e


def _is_c_call(e: ir.Expr, names: tuple[str, ...]) -> bool:
    return (
        isinstance(e, ir.Call)
        and e.kind == ir.FUNCTION
        and e.callee in names
        and e.text.lstrip(":") in names + tuple(f"std::{n}" for n in names)
    )


def allocation(e: ir.Expr | None) -> ir.Call | None:
    """The allocating call ``e`` is (under its casts), or None."""
    if e is None:
        return None
    inner = _peel(e)
    if isinstance(inner, ir.Call) and (inner.kind == ir.NEW or _is_c_call(inner, _C_ALLOCATORS)):
        return inner
    return None


def released(s: ir.Stmt) -> ir.Expr | None:
    """The pointer a statement ``delete p;`` / ``delete[] p;`` / ``free(p);`` releases, or None."""
    if not isinstance(s, ir.ExprStmt) or not isinstance(s.expr, ir.Call):
        return None
    c = s.expr
    if c.kind == ir.DELETE or (_is_c_call(c, ("free",)) and len(c.args) == 1):
        return _peel(c.args[0]) if c.kind != ir.DELETE else c.args[0]
    if c.kind == ir.METHOD and c.args and c.args[0].type == DEFERRED and len(c.args) == 2:
        return c.args[1]  # a gradient's deferred release (differentiated again: a Hessian)
    return None


def length(e: ir.Expr) -> ir.Expr | None:
    """How many elements the buffer ``e`` allocates holds (``n`` of ``new T[n]``, 1 of
    ``new T(x)``, ``B / sizeof(T)`` of ``malloc(B)``), or None when that cannot be said
    without evaluating an argument twice."""
    call = allocation(e)
    if call is None or any(ir.has_side_effects(a) for a in call.args):
        return None
    if call.callee == "new[]":
        return call.args[0]
    if call.kind == ir.NEW:
        return ir.lit(1, ir.INT)
    ulong = ir.Type("unsigned long")
    size = ir.Lit(f"sizeof({e.type.element().spell()})", ulong)
    if call.callee == "malloc" and len(call.args) == 1:
        return _over(call.args[0], size)
    if call.callee == "calloc" and len(call.args) == 2:
        if _is_size(call.args[1], size):
            return call.args[0]
        return _over(ir.Binary("*", call.args[0], call.args[1], ulong), size)
    return None


def _is_size(e: ir.Expr, size: ir.Lit) -> bool:
    e = _peel(e)
    return isinstance(e, ir.Lit) and e.text.replace(" ", "") == size.text.replace(" ", "")


def _over(nbytes: ir.Expr, size: ir.Lit) -> ir.Expr:
    """``nbytes / sizeof(T)``, read off ``n * sizeof(T)`` where it is written so."""
    inner = _peel(nbytes)
    if isinstance(inner, ir.Binary) and inner.op == "*":
        if _is_size(inner.rhs, size):
            return inner.lhs
        if _is_size(inner.lhs, size):
            return inner.rhs
    return ir.Binary("/", nbytes, size, size.type)


def shadow_allocation(
    e: ir.Expr, shadow_type: ir.Type, tangent: Callable[[ir.Expr], ir.Expr] | None = None
) -> ir.Expr:
    """The allocation of the shadow of the buffer ``e`` allocates, with elements of type
    ``shadow_type``: zeroed, or (``tangent`` given, forward mode) holding the tangents of
    ``e``'s initial values.  A C allocation's shadow is ``calloc(count, sizeof(shadow))``."""
    call = allocation(e)
    assert call is not None
    if call.kind == ir.NEW:
        return _shadow_new(call, shadow_type, tangent)
    count = length(e)
    if count is None:
        raise UnsupportedError(
            "an allocation whose number of elements cannot be told (its shadow needs as many)", call.loc
        )
    return _calloc(count, shadow_type, call.loc)


def _calloc(count: ir.Expr, element: ir.Type, loc) -> ir.Expr:
    size = ir.Lit(f"sizeof({element.spell()})", ir.Type("unsigned long"))
    call = ir.Call("calloc", (count, size), ir.Type("void", 1), loc, "::calloc")
    return ir.Cast(call, element.derived(1), loc)


def retyped(shadow: ir.Expr, element: ir.Type) -> ir.Expr:
    """A shadow allocation (``shadow_allocation``) for elements of type ``element`` instead
    (vector mode's ``pyclad::vec<N>`` tangents)."""
    call = allocation(shadow)
    if call is not None and call.kind == ir.NEW:
        args = tuple(replace(a, type=element) if isinstance(a, ir.InitList) else a for a in call.args)
        return replace(call, args=args, type=element.derived(1))
    if call is not None and call.callee == "calloc":
        return _calloc(call.args[0], element, call.loc)
    return shadow


def _shadow_new(call: ir.Call, shadow_type: ir.Type, tangent) -> ir.Call:
    pointer = shadow_type.derived(1)
    if call.callee == "new[]":
        init = call.args[1] if len(call.args) > 1 else None
        items: tuple[ir.Expr, ...] = ()
        if tangent is not None and isinstance(init, ir.InitList):
            items = tuple(tangent(x) for x in init.items)
            if all(ir.is_zero(x) for x in items):
                items = ()
        return replace(call, args=(call.args[0], ir.InitList(items, shadow_type)), type=pointer)
    value = call.args[0] if call.args and not isinstance(call.args[0], ir.InitList) else None
    d = tangent(value) if tangent is not None and value is not None else None
    arg: ir.Expr = ir.InitList((), shadow_type) if d is None or ir.is_zero(d) else d
    return replace(call, args=(arg,), type=pointer)


def owned(body: ir.Stmt) -> set[str]:
    """The pointer variables of ``body`` that only ever hold buffers it allocates (or null):
    the shadow of such a buffer is the function's own, released with it.  The shadow of any
    other pointer the primal frees (a parameter, an alias of one) belongs to the caller and
    is never released."""
    values: dict[str, list[ir.Expr]] = {}
    for n in ir.walk(body):
        if isinstance(n, ir.Decl) and n.type.ptr and n.init is not None:
            values.setdefault(n.name, []).append(n.init)
        elif isinstance(n, ir.Assign) and isinstance(n.target, ir.Var) and n.target.type.ptr:
            values.setdefault(n.target.name, []).append(n.value if n.op == "=" else n.target)
    return {
        name
        for name, vs in values.items()
        if any(allocation(v) is not None for v in vs)
        and all(allocation(v) is not None or (isinstance(v, ir.Lit) and v.text == "nullptr") for v in vs)
    }


def release_call(s: ir.Stmt, pointer: ir.Expr) -> ir.Stmt:
    """The statement ``s`` (a release) applied to ``pointer`` instead: ``delete[] _d_t``."""
    c = s.expr
    if c.kind == ir.METHOD:
        return replace(s, expr=replace(c, args=(c.args[0], pointer)))
    arg = pointer
    if c.kind != ir.DELETE:
        arg = replace(c.args[0], operand=pointer) if isinstance(c.args[0], ir.Cast) else pointer
    return replace(s, expr=replace(c, args=(arg,)))


def defer(s: ir.Stmt, pointer: ir.Expr, deferred: ir.Var) -> ir.Stmt:
    """``s`` (a release) of ``pointer`` handed to ``deferred``, which releases it when the
    generated function returns: ``_released.delete_array(t)``."""
    c = s.expr
    method = {"delete[]": "delete_array", "delete": "delete_one"}.get(c.callee, "free")
    call = ir.Call(method, (deferred, pointer), ir.VOID, c.loc, spelling=method, kind=ir.METHOD)
    return ir.ExprStmt(call, s.loc)
