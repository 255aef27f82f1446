"""A floating value divided by an int: the derivative's seed over the int must not become
an integer division in the generated C++ (``1 / n`` is 0 for n > 1)."""

from __future__ import annotations

import numpy as np
import pytest

import pyclad

SRC = """\
double mean(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += x[i];
    }
    return s / n;
}
double scaled(double x, int n) { return x / n; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


@pytest.mark.parametrize("checked", [False, True])
def test_the_gradient_of_a_mean_over_an_int_count_is_one_over_the_count(m, checked):
    got = pyclad.gradient(m.mean, "x", checked=checked)(np.array([0.5, -1.0, 2.0, 4.0]), 4)
    np.testing.assert_allclose(got, [0.25] * 4, rtol=1e-15)  # d mean / d x_i = 1 / n by hand


def test_a_scalar_divided_by_an_int_has_the_derivative_one_over_the_int(m):
    assert pyclad.gradient(m.scaled, "x")(3.0, 8) == pytest.approx(0.125, rel=1e-15)
    assert pyclad.differentiate(m.scaled, "x")(3.0, 8) == pytest.approx(0.125, rel=1e-15)
