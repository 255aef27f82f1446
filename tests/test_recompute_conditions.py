"""Branch outcomes inside loops are tested again by the reverse sweep, instead of taped, when
the condition's inputs are still available there: never written (a const array) or integral
(restored like any counter).  The generated code tapes no outcome, and the gradients agree
with 5-point finite differences; a condition the arms change is still taped."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import arr, fd_each

import pyclad

SRC = """\
#include <cmath>
double branchy(const double* x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        if (x[i] > 0) {
            s += x[i] * x[i];
        } else {
            s += std::exp(x[i]);
        }
    }
    return s;
}
// The condition reads an int that the loop updates after the branch: restored, not taped.
double parity(const double* x, int n) {
    double s = 0.0;
    int k = 1;
    for (int i = 0; i < n; ++i) {
        if (k % 3 == 0) {
            s += x[i] * s;
        } else {
            s -= 0.5 * x[i] * x[i];
        }
        k += i;
    }
    return s;
}
// The arms change what the condition reads: the outcome is taped.
double clamp(const double* x, int n) {
    double s = 0.25;
    for (int i = 0; i < n; ++i) {
        if (s < 1.0) {
            s = s * 2 + x[i];
        } else {
            s = s * x[i];
        }
    }
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def _agrees(f, g, x, n):
    np.testing.assert_allclose(g(x, n), fd_each(f, [x, n], 0), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("checked", [False, True])
def test_a_branch_on_a_const_array_is_tested_again_in_the_reverse_sweep(m, checked):
    g = pyclad.gradient(m.branchy, "x", checked=checked)
    _agrees(m.branchy, g, arr(0.5, -1.0, 2.0, -0.1, 0.3), 5)
    assert "_cond" not in g.code and "tape<bool>" not in g.code
    assert g.code.count("if (x[i] > 0)") == 1  # the reverse sweep's; the forward loop only counts


def test_a_branch_on_an_int_the_loop_updates_is_tested_again_after_restoring_it(m):
    g = pyclad.gradient(m.parity, "x", checked=False)
    _agrees(m.parity, g, np.linspace(-0.9, 0.8, 7), 7)
    assert "tape<bool>" not in g.code
    assert "::pyclad::push(_t" in g.code and "k = ::pyclad::pop(" in g.code


def test_a_branch_whose_arms_change_its_condition_has_its_outcome_taped(m):
    g = pyclad.gradient(m.clamp, "x", checked=False)
    _agrees(m.clamp, g, arr(0.3, 0.2, 0.1, 0.3), 4)
    assert "tape<bool>" in g.code
