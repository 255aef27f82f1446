"""Which functions run statements without derivatives (``printf``, ``assert``, ``throw``; see
frontend/effects.py), directly or through the user functions they call.

The transforms run such a statement once per derivative call, where the primal runs it:
in the forward sweep of the function asked for (and in the forward-mode and ``_reverse_forw``
copies of its callees, which stand in for the primal calls).  A pullback leaves them out,
since its caller's forward sweep has run the primal call already; so a call of a function
with effects is never repeated by the reverse sweep to recompute its value: it is bound to
a local in the forward sweep (reverse/calls.py hoists it), returned values included.
"""

from __future__ import annotations

from .. import ir
from ..errors import PycladError
from .program import Program

_MEMO = "_effects_memo"


def is_effect(n) -> bool:
    return isinstance(n, ir.Call) and n.kind == ir.EFFECT


def has_effects(program: Program, key: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether the user function ``key`` runs a statement without derivatives."""
    memo = program.__dict__.setdefault(_MEMO, {})
    if key in memo:
        return memo[key]
    if key in seen:
        return False  # recursion: the rest of the cycle decides
    try:
        fn = program.lookup_user(key)
    except PycladError:
        fn = None  # a body the transforms cannot read: the transform reports it
    out = False
    if fn is not None:
        for n in ir.walk(fn.body):
            if is_effect(n) or (
                isinstance(n, ir.Call)
                and n.kind != ir.EFFECT
                and has_effects(program, n.callee, seen | {key})
            ):
                out = True
                break
    memo[key] = out
    return out


def calls_effects(program: Program, c) -> bool:
    """``c`` is a call of a user function that runs statements without derivatives."""
    return isinstance(c, ir.Call) and c.kind != ir.EFFECT and has_effects(program, c.callee)
