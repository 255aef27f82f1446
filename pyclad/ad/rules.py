"""The one registry of derivative rules.

A builtin is one entry: the partial derivative of the result with respect to
each argument, written as IR over the argument values (and, where cheaper, the
result).  Forward mode multiplies partials by tangents; reverse mode multiplies
them by the result's adjoint.  Because the partials are IR, higher orders
differentiate them again like any other code.

A user's own derivative (``NAME_pushforward`` / ``NAME_pullback`` in namespace
``pyclad::custom_derivatives`` or ``clad::custom_derivatives``) is an entry of
the same registry; it takes precedence over a builtin of the same name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .. import ir
from ..ir import add, call, div, lit, mul, neg, sub

Partial = Callable[[list[ir.Expr], ir.Expr], list[ir.Expr]]


@dataclass(frozen=True)
class Partials:
    """A builtin: ``fn(args, result) -> [d result / d arg_i]``."""

    fn: Partial
    uses_result: bool = False


@dataclass(frozen=True)
class Custom:
    """A derivative the user wrote as C++ (clad's convention)."""

    pushforward: str | None = None  # qualified spelling of NAME_pushforward
    pullback: str | None = None


@dataclass(frozen=True)
class Reduction:
    """A builtin that reduces whole containers to a value, linear in each container
    (``accumulate``, ``inner_product``): its arguments are containers and scalars.

    ``tangent(args, tangents)``: the result's tangent (tangents are None where an argument
    carries none).  ``adjoint(args, k, adj, d)``: for container argument ``k``, the
    call that adds the result's adjoint ``adj`` into that container's adjoint ``d``.
    ``partial(args, k)``: for scalar argument ``k``, d result / d argument."""

    tangent: Callable[[list[ir.Expr], list[ir.Expr | None]], ir.Expr]
    adjoint: Callable[[list[ir.Expr], int, ir.Expr, ir.Expr], ir.Expr]
    partial: Callable[[list[ir.Expr], int], ir.Expr]


Rule = Partials | Custom | Reduction


def _pyclad(name: str, *args: ir.Expr, type: ir.Type = ir.DOUBLE) -> ir.Call:
    return ir.Call(f"::pyclad::{name}", tuple(args), type, spelling=f"::pyclad::{name}")


def _accumulate_tangent(a, t):
    terms = (
        [_pyclad("sum_from", t[0], lit(0, ir.Type("unsigned long")), type=a[1].type.plain())]
        if t[0] is not None
        else []
    )
    return ir.total(terms + ([t[1]] if t[1] is not None else []))


def _inner_product_tangent(a, t):
    terms, ty = [], a[2].type.plain()
    if t[0] is not None:
        terms.append(_pyclad("dot", t[0], a[1], type=ty))
    if t[1] is not None:
        terms.append(_pyclad("dot", t[1], a[0], type=ty))
    return ir.total(terms + ([t[2]] if t[2] is not None else []))


def _void(name: str, *args: ir.Expr) -> ir.Call:
    return ir.Call(f"::pyclad::{name}", tuple(args), ir.VOID, spelling=f"::pyclad::{name}")


REDUCTIONS: dict[str, Reduction] = {
    "accumulate": Reduction(
        _accumulate_tangent,
        lambda a, k, adj, d: _void("add_each", d, adj),
        lambda a, k: lit(1),
    ),
    "inner_product": Reduction(
        _inner_product_tangent,
        lambda a, k, adj, d: _void("add_scaled", d, a[1 - k], adj),
        lambda a, k: lit(1),
    ),
}

ZERO = Partials(lambda a, r: [lit(0) for _ in a])


def _c(x: float) -> ir.Lit:
    return lit(repr(x))


def _ge0(x: ir.Expr) -> ir.Expr:
    return ir.Cond(ir.Binary(">=", x, lit(0), ir.BOOL), lit(1), lit(-1), ir.DOUBLE)


def _sel(cond: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
    return (
        ir.Cond(cond, lit(1), lit(0), ir.DOUBLE),
        ir.Cond(cond, lit(0), lit(1), ir.DOUBLE),
    )


def _one_minus_sq(x: ir.Expr) -> ir.Expr:
    return sub(lit(1), mul(x, x))


BUILTINS: dict[str, Rule] = {
    "sin": Partials(lambda a, r: [call("cos", a[0])]),
    "cos": Partials(lambda a, r: [neg(call("sin", a[0]))]),
    "tan": Partials(lambda a, r: [add(lit(1), mul(r, r))], uses_result=True),
    "asin": Partials(lambda a, r: [div(lit(1), call("sqrt", _one_minus_sq(a[0])))]),
    "acos": Partials(lambda a, r: [neg(div(lit(1), call("sqrt", _one_minus_sq(a[0]))))]),
    "atan": Partials(lambda a, r: [div(lit(1), add(lit(1), mul(a[0], a[0])))]),
    "atan2": Partials(
        lambda a, r: [
            div(a[1], add(mul(a[1], a[1]), mul(a[0], a[0]))),
            neg(div(a[0], add(mul(a[1], a[1]), mul(a[0], a[0])))),
        ]
    ),
    "sinh": Partials(lambda a, r: [call("cosh", a[0])]),
    "cosh": Partials(lambda a, r: [call("sinh", a[0])]),
    "tanh": Partials(lambda a, r: [_one_minus_sq(r)], uses_result=True),
    "asinh": Partials(lambda a, r: [div(lit(1), call("sqrt", add(mul(a[0], a[0]), lit(1))))]),
    "acosh": Partials(lambda a, r: [div(lit(1), call("sqrt", sub(mul(a[0], a[0]), lit(1))))]),
    "atanh": Partials(lambda a, r: [div(lit(1), _one_minus_sq(a[0]))]),
    "exp": Partials(lambda a, r: [r], uses_result=True),
    "exp2": Partials(lambda a, r: [mul(r, _c(math.log(2)))], uses_result=True),
    "expm1": Partials(lambda a, r: [add(r, lit(1))], uses_result=True),
    "log": Partials(lambda a, r: [div(lit(1), a[0])]),
    "log10": Partials(lambda a, r: [div(lit(1), mul(a[0], _c(math.log(10))))]),
    "log2": Partials(lambda a, r: [div(lit(1), mul(a[0], _c(math.log(2))))]),
    "log1p": Partials(lambda a, r: [div(lit(1), add(lit(1), a[0]))]),
    "pow": Partials(
        lambda a, r: [
            mul(a[1], call("pow", a[0], sub(a[1], lit(1)), type=ir.DOUBLE)),
            mul(r, call("log", a[0])),
        ],
        uses_result=True,
    ),
    "sqrt": Partials(lambda a, r: [div(_c(0.5), r)], uses_result=True),
    "cbrt": Partials(lambda a, r: [div(lit(1), mul(lit(3), mul(r, r)))], uses_result=True),
    "hypot": Partials(lambda a, r: [div(a[0], r), div(a[1], r)], uses_result=True),
    "fabs": Partials(lambda a, r: [_ge0(a[0])]),
    "abs": Partials(lambda a, r: [_ge0(a[0])]),
    "fmin": Partials(lambda a, r: list(_sel(ir.Binary("<=", a[0], a[1], ir.BOOL)))),
    "fmax": Partials(lambda a, r: list(_sel(ir.Binary(">=", a[0], a[1], ir.BOOL)))),
    # std::max(a, b) is (a < b) ? b : a, std::min(a, b) is (b < a) ? b : a: ties pick a.
    "max": Partials(lambda a, r: list(_sel(ir.Binary(">=", a[0], a[1], ir.BOOL)))),
    "min": Partials(lambda a, r: list(_sel(ir.Binary("<=", a[0], a[1], ir.BOOL)))),
    "fmod": Partials(lambda a, r: [lit(1), neg(call("trunc", div(a[0], a[1])))]),
    "erf": Partials(lambda a, r: [mul(_c(2 / math.sqrt(math.pi)), call("exp", neg(mul(a[0], a[0]))))]),
    "floor": ZERO,
    "ceil": ZERO,
    "round": ZERO,
    "trunc": ZERO,
    "rint": ZERO,
    "nearbyint": ZERO,
}


class Registry:
    """Looks a callee up: the user's custom derivatives first, then the builtins."""

    def __init__(self, custom: dict[str, Custom] | None = None):
        self.custom = dict(custom or {})

    def lookup(self, callee: str) -> Rule | None:
        name = callee.split("::")[-1]
        if callee in self.custom:  # a::f's custom derivative is custom_derivatives::a::f_*
            return self.custom[callee]
        if "::" in callee and not callee.startswith("std::"):
            return None
        if callee in REDUCTIONS:
            return REDUCTIONS[callee]
        if name not in BUILTINS and name[-1:] in ("f", "l") and name[:-1] in BUILTINS:
            name = name[:-1]  # the C library's float and long double variants: sinf, expl, ...
        return BUILTINS.get(name)

    @classmethod
    def from_functions(cls, names: dict[str, str]) -> Registry:
        """Build from ``{function name: qualified spelling}`` of the user's
        ``*_pushforward`` / ``*_pullback`` functions."""
        custom: dict[str, Custom] = {}
        for fname, spelling in sorted(names.items()):
            for suffix, field in (("_pushforward", "pushforward"), ("_pullback", "pullback")):
                if fname.endswith(suffix):
                    base = fname[: -len(suffix)]
                    old = custom.get(base, Custom())
                    custom[base] = Custom(**{**old.__dict__, field: spelling})
        return cls(custom)
