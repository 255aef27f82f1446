"""Property tests: forward mode and vector forward mode of randomly generated C++ programs
agree with finite differences of the primal.

The programs, the evaluation points and the safety rules of the reference (branch tracing,
step-size error estimate) are those of test_reverse_property.py.  Forward mode checks one
direction per program (drawn with it: a scalar parameter or an element of either array);
vector mode checks every direction at once.  Hypothesis runs as property_settings says.
"""

from __future__ import annotations

from conftest import fd, fresh
from hypothesis import assume, given
from hypothesis import strategies as st
from test_reverse_property import ALEN, H, load_program, program, property_settings, same_branches

import pyclad

NAMES = ["x0", "x1", "x2", "a", "w"]


def check(src, f, trace, args, index, element, got) -> bool:
    """Compare one derivative with finite differences; False when the stencil crosses a branch."""
    if not same_branches(trace, args, index, element, H):
        return False
    want = fd(f, args, index, element, H)
    error = abs(want - fd(f, args, index, element, H / 2))  # the stencil's own error, roughly
    tol = 1e-8 * abs(want) + 1e-10 + 20 * error
    what = f"d/d{NAMES[index]}{'' if element is None else f'[{element}]'}"
    assert abs(got - want) <= tol, (
        f"{what}: derivative {got!r}, finite differences {want!r} (± {tol:.1e})\n{src}"
    )
    return True


DIRECTIONS = [(k, None) for k in range(3)] + [(k, e) for k in (3, 4) for e in range(ALEN)]


@property_settings(80)
@given(program(), st.sampled_from(DIRECTIONS))
def test_random_program_forward_derivative_matches_finite_differences(prog, direction):
    src, f, trace, args = load_program(prog, "fprop_fn")
    index, element = direction
    wrt = NAMES[index] if element is None else f"{NAMES[index]}[{element}]"
    got = pyclad.differentiate(f, wrt)(*fresh(args))
    assume(check(src, f, trace, args, index, element, got))


@property_settings(80)
@given(program())
def test_random_program_vector_derivative_matches_finite_differences(prog):
    src, f, trace, args = load_program(prog, "vprop_fn")
    got = pyclad.differentiate(f, NAMES)(*fresh(args))
    assert len(got) == 5
    checked = 0
    for index, element in DIRECTIONS:
        value = got[index] if element is None else got[index][element]
        checked += check(src, f, trace, args, index, element, value)
    assume(checked > 0)
