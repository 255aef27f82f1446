"""Property test: the Hessian (forward over reverse) of randomly generated C++ programs
with respect to their scalar parameters agrees with second-order finite differences of the
primal.

The programs, the evaluation points and the branch tracing are those of
test_reverse_property.py.  The reference is a 3x3 table of central second differences
(5-point on the diagonal, the 4-point cross stencil off it); its error is estimated from two
step sizes and allowed for.  Hypothesis runs as property_settings says."""

from __future__ import annotations

import itertools

import numpy as np
from conftest import fd2, fresh, moved_args
from hypothesis import assume, given
from test_reverse_property import load_program, program, property_settings

import pyclad

SCALARS = ("x0", "x1", "x2")


def moved2(args, i: int, j: int, di: float, dj: float):
    return moved_args(moved_args(args, i, None, di), j, None, dj)


def cross(f, args, i: int, j: int, h: float) -> float:
    """d2 f / dx_i dx_j by the 4-point cross stencil (error ~h^2)."""

    def at(si: int, sj: int) -> float:
        return f(*moved2(args, i, j, si * h, sj * h))

    return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)


def second(f, args, i: int, j: int, h: float) -> float:
    return fd2(f, args, i, None, h) if i == j else cross(f, args, i, j, h)


def same_branches2(trace, args, i: int, j: int, h: float) -> bool:
    """Every point of either stencil takes the branches the centre does."""
    centre = trace(*moved2(args, i, j, 0.0, 0.0))
    steps = [(k * h, 0.0) for k in (-2, -1, 1, 2)] if i == j else []
    steps += [(si * h, sj * h) for si in (-1, 1) for sj in (-1, 1)] if i != j else []
    return all(trace(*moved2(args, i, j, di, dj)) == centre for di, dj in steps)


H2 = 2e-3


@property_settings(15)
@given(program())
def test_random_program_hessian_matches_second_differences(prog):
    src, f, trace, args = load_program(prog, "hprop_fn", bound=1e2)
    got = np.asarray(pyclad.hessian(f, ", ".join(SCALARS))(*fresh(args)))
    assert got.shape == (3, 3)
    checked = 0
    for i, j in itertools.combinations_with_replacement(range(3), 2):
        if not (same_branches2(trace, args, i, j, H2) and same_branches2(trace, args, i, j, H2 / 2)):
            continue
        want = second(f, args, i, j, H2 / 2)
        error = abs(want - second(f, args, i, j, H2))  # the stencils' own error, roughly
        tol = 1e-6 * abs(want) + 1e-6 + 20 * error
        for p, q in {(i, j), (j, i)}:
            assert abs(got[p, q] - want) <= tol, (
                f"d2/d{SCALARS[p]}d{SCALARS[q]}: Hessian {got[p, q]!r}, second differences {want!r} "
                f"(± {tol:.1e})\n{src}"
            )
        checked += 1
    assume(checked > 0)
