"""Accessors: methods that return a reference to a part of their object.

``double& operator[](int i) { return a[i]; }`` (and its const twin returning ``const
double&``) is how a small matrix or vector class exposes its elements, and its call is used
as an lvalue (``m[i] = v``, ``m(i, j) += w``) as often as a value.  A call of such a method is
lowered as the expression its body returns, with the object and the arguments put in
(``m[i]`` -> ``m.a[i]``): the transforms then see an ordinary element of a record, which they
read, assign and differentiate in every mode, and no derivative of the accessor is needed.

Only a method whose body is one ``return`` of an lvalue of its own object, called with
arguments that have no side effects, is inlined (the arguments are then evaluated the same
number of times in either form); any other method stays a call.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..errors import PycladError


def inline(index, key: str, recv: ir.Expr, args: tuple[ir.Expr, ...]) -> ir.Expr | None:
    """The expression ``recv.key(args)`` names, when the method ``key`` is an accessor; else None."""
    try:
        fn = index.function(key)
    except PycladError:
        return None  # its body is reported where it is differentiated, if it ever is
    if fn is None or not fn.ret.ref or len(fn.body.stmts) != 1 or not fn.params:
        return None
    ret = fn.body.stmts[0]
    if not isinstance(ret, ir.Return) or ret.value is None or not _lvalue_of(ret.value, fn.params[0].name):
        return None
    if not all(_pure(a) for a in args):
        return None
    mapping = {fn.params[0].name: recv, **{p.name: a for p, a in zip(fn.params[1:], args)}}

    def put(n):
        if isinstance(n, ir.Var) and not n.is_global and n.name in mapping:
            return mapping[n.name]
        return n

    out = ir.rebuild(ret.value, put)
    return replace(out, loc=recv.loc) if out.loc is None else out


def _lvalue_of(e: ir.Expr, this: str) -> bool:
    """``e`` is a member (or an element of a member) of the object ``this``."""
    if isinstance(e, ir.Index):
        return _lvalue_of(e.base, this)
    if isinstance(e, ir.Member):
        base = e.operand
        return (isinstance(base, ir.Var) and base.name == this) or _lvalue_of(base, this)
    return False


def _pure(e: ir.Expr) -> bool:
    """Evaluating ``e`` has no effect (it may be written twice or not at all)."""
    return not any(isinstance(n, (ir.Call, ir.Assign, ir.Step)) for n in ir.walk(e))
