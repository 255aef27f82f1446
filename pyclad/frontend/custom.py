"""Checks that a user's custom derivative has the parameters the transforms will pass.

A ``g_pullback`` or ``g_pushforward`` with the wrong parameter list would otherwise fail
inside generated code, far from its cause.  The expected lists (what forward.py and
reverse.py call):

- ``g_pushforward(params..., one tangent per floating param)`` returning
  ``ValueAndPushforward<R, R>``;
- ``g_pullback(params..., [R _d_y if g returns a floating R], one adjoint pointer per
  floating param)``.
"""

from __future__ import annotations

import clang.cindex as ci

from .. import ir
from ..errors import SignatureError
from .parse import loc_of


def check(kind: str, custom: ci.Cursor, primal: ci.Cursor, lower_type) -> None:
    """Raise SignatureError (at the custom derivative) unless ``custom`` takes what the
    transform passes for ``kind`` ("pullback" or "pushforward") of ``primal``."""
    want = expected(kind, primal, lower_type)
    got = [(lower_type(a.type, a), a.spelling) for a in custom.get_arguments()]
    if len(got) == len(want) and all(_fits(g, w) for (g, _), (w, _) in zip(got, want)):
        return
    ret = "void" if kind == "pullback" else "pyclad::ValueAndPushforward<R, R>"
    ret_t = lower_type(primal.result_type, primal)
    if kind == "pushforward":
        ret = f"pyclad::ValueAndPushforward<{ret_t.spell()}, {ret_t.spell()}>"
    spell = ", ".join(t.spell(n) for t, n in want)
    have = ", ".join(t.spell(n) for t, n in got) or "no parameters"
    raise SignatureError(
        f"custom {kind} '{custom.spelling}' takes ({have}); the {_mode(kind)} calls it as "
        f"{ret} {custom.spelling}({spell})",
        loc_of(custom.location),
    )


def expected(kind: str, primal: ci.Cursor, lower_type) -> list[tuple[ir.Type, str]]:
    params = [(lower_type(a.type, a), a.spelling or f"p{i}") for i, a in enumerate(primal.get_arguments())]
    params = [(t.decay() if t.dims else t, n) for t, n in params]
    floating = [(t, n) for t, n in params if t.holds_float]
    if kind == "pushforward":
        return params + [(_tangent(t), f"_d_{n}") for t, n in floating]
    ret = lower_type(primal.result_type, primal)
    seed_name = "_d_y" if all(n != "y" for _, n in params) else "_d_result"
    seed = [(ret.value(), seed_name)] if ret.is_float else []
    return params + seed + [(_adjoint(t), f"_d_{n}") for t, n in floating]


def _tangent(t: ir.Type) -> ir.Type:
    return ir.Type(t.base, t.ptr) if t.ptr else ir.Type(t.base)


def _adjoint(t: ir.Type) -> ir.Type:
    return ir.Type(t.base, t.ptr) if t.ptr else ir.Type(t.base, 1)


def _fits(got: ir.Type, want: ir.Type) -> bool:
    """Pointers: the same pointee type and depth.  Scalars: any arithmetic type (C++ converts
    the argument), by value or const reference, but floating where a derivative is passed."""
    if got.ref and not got.const and not want.ref:
        return False  # a non-const reference cannot bind the temporaries the transform passes
    if got.dims or got.ptr != want.ptr:
        return False
    if want.ptr:
        return got.base == want.base
    arithmetic = got.base in ir.ARITHMETIC_BASES and want.base in ir.ARITHMETIC_BASES
    return got.base == want.base or (arithmetic and (got.is_float or not want.is_float))


def _mode(kind: str) -> str:
    return "reverse mode" if kind == "pullback" else "forward mode"
