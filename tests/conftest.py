"""Shared helpers: independent references for derivatives.

A derivative pyclad computes is only ever compared with something pyclad did
not produce: a formula derived by hand in Python, or central finite
differences of the primal (the C++ function itself, called from Python).
"""

from __future__ import annotations

import math

import numpy as np

# A 5-point central stencil with h = 1e-3 has truncation error ~h^4 f^(5) / 30
# and rounding error ~eps |f| / h: about 1e-12 relative on smooth functions.
FD_STEP = 1e-3
RTOL = 1e-8
ATOL = 1e-10


def moved_args(args, index, element, delta):
    """A copy of args with args[index] (or args[index][element]) moved by delta."""
    out = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            a = a.copy()  # the primal may write into its arrays
        if i == index:
            if element is None:
                a = a + delta
            else:
                a[element] += delta
        out.append(a)
    return out


def fd(f, args, index, element=None, h=FD_STEP):
    """d f / d args[index] (or its element) by the 5-point central stencil."""

    def at(k):
        return f(*moved_args(args, index, element, k * h))

    return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h)


def fd2(f, args, index, element=None, h=1e-3):
    """Second derivative by the 5-point stencil (error ~h^4, rounding ~eps/h^2)."""

    def at(k):
        return f(*moved_args(args, index, element, k * h))

    return (-at(2) + 16 * at(1) - 30 * at(0) + 16 * at(-1) - at(-2)) / (12 * h * h)


def arr(*xs) -> np.ndarray:
    """A float64 array of the given values."""
    return np.array(xs, dtype=np.float64)


def fresh(args):
    """Arrays copied, so that a call cannot see what an earlier call wrote."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def assert_close(got, want, rtol=RTOL, atol=ATOL, what=""):
    """Relative-or-absolute agreement, with a message that shows both numbers."""
    ok = math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)
    assert ok, f"{what}: got {got!r}, want {want!r} (diff {float(got) - float(want):.3e})"
