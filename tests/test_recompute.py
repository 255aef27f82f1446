"""A loop-body local recomputed in the reverse sweep (instead of taped) sees the values its
initialiser read in the forward sweep, also when those inputs are overwritten later in the
same iteration or in the next one.  Gradients against 5-point finite differences, in the
JIT (checked and plain kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import arr, fd

import pyclad

SRC = """\
// d = q - p reads q and p; p is overwritten after d's last use, q at the top of every iteration.
double carried(const double* x, int n) {
    double e = 0.0, p = 0.0;
    for (int i = 0; i < n; ++i) {
        double q = 1.0;
        if (i < n - 1) q = x[i];
        double d = q - p;
        e += d * d * d;
        p = q;
    }
    return e;
}
// The input of the recomputed local is a scalar the loop accumulates into afterwards.
double running(const double* x, int n) {
    double s = 0.5, e = 0.0;
    for (int i = 0; i < n; ++i) {
        double t = s * x[i];
        e += t * t;
        s += x[i];
    }
    return e;
}
// Two recomputed locals, the second reading the first's input after it is rescaled.
double chained(const double* x, int n) {
    double a = 1.0, e = 0.0;
    for (int i = 0; i < n; ++i) {
        double u = a * x[i];
        double v = u + a;
        e += u * v;
        a = a * 0.5 + x[i];
    }
    return e;
}
"""

POINT = arr(0.5, 1.7, -0.8, 2.0)


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC, filename="recompute.cpp")


@pytest.mark.parametrize("name", ["carried", "running", "chained"])
@pytest.mark.parametrize("checked", [True, False])
def test_recomputed_loop_locals_see_the_forward_values_of_their_inputs(m, name, checked):
    f = getattr(m, name)
    n = len(POINT)
    got = pyclad.gradient(f, "x", checked=checked)(POINT, n)
    want = np.array([fd(f, (POINT, n), 0, k) for k in range(n)])
    assert np.any(want != 0)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
