"""The shape of what a derivative returns.

A single wrt name (a string without a comma) returns the bare value -- a float for a
scalar, a numpy array for an array -- as JAX's ``argnums=0`` does, so a gradient can be
handed to ``scipy.optimize.minimize(jac=...)``.  A list, a comma-separated string (even
with one entry) or None returns a tuple, as ``argnums=(0,)`` does.  Consecutive elements of
one array in a list are one index range.

References are hand-derived formulas; the minimiser's answer is the known minimum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import arr

import pyclad

SOURCE = r"""
double loss(double w, double b) { return (w * 2.0 + b - 1.0) * (w * 2.0 + b - 1.0); }

double rosen(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i + 1] - x[i] * x[i];
        double c = 1 - x[i];
        s += 100 * a * a + c * c;
    }
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="contract.cpp")


def loss_grad(w, b):
    r = 2 * w + b - 1
    return 4 * r, 2 * r


def rosen_grad(x):
    g = np.zeros_like(x)
    for i in range(len(x) - 1):
        a = x[i + 1] - x[i] ** 2
        g[i] += -400 * x[i] * a - 2 * (1 - x[i])
        g[i + 1] += 200 * a
    return g


X = arr(0.3, -0.8, 1.1)


def test_a_single_name_gradient_is_the_bare_value(m):
    gw = pyclad.gradient(m.loss, "w")(0.7, 0.2)
    assert isinstance(gw, float) and math.isclose(gw, loss_grad(0.7, 0.2)[0], rel_tol=1e-15)
    gx = pyclad.gradient(m.rosen, "x")(X, 3)
    assert isinstance(gx, np.ndarray) and gx.shape == X.shape and gx.dtype == np.float64
    np.testing.assert_allclose(gx, rosen_grad(X), rtol=1e-14)
    assert pyclad.gradient(m.loss, " b ")(0.7, 0.2) == loss_grad(0.7, 0.2)[1]


@pytest.mark.parametrize("wrt", [["w"], "w,", ("w",)], ids=["list", "trailing comma", "tuple"])
def test_a_list_or_a_comma_gives_a_one_tuple(m, wrt):
    got = pyclad.gradient(m.loss, wrt)(0.7, 0.2)
    assert isinstance(got, tuple) and len(got) == 1
    assert math.isclose(got[0], loss_grad(0.7, 0.2)[0], rel_tol=1e-15)


def test_none_and_several_names_give_a_tuple(m):
    for wrt in (None, "w, b", ["w", "b"]):
        got = pyclad.gradient(m.loss, wrt)(0.7, 0.2)
        assert isinstance(got, tuple) and len(got) == 2
        np.testing.assert_allclose(got, loss_grad(0.7, 0.2), rtol=1e-15)
    (gx,) = pyclad.gradient(m.rosen)(X, 3)
    np.testing.assert_allclose(gx, rosen_grad(X), rtol=1e-14)


def test_value_and_grad_follows_the_same_rule(m):
    value, g = pyclad.value_and_grad(m.rosen, "x")(X, 3)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, rosen_grad(X), rtol=1e-14)
    assert math.isclose(value, m.rosen(X, 3), rel_tol=0)
    value, g = pyclad.value_and_grad(m.loss, ["b"])(0.7, 0.2)
    assert g == (loss_grad(0.7, 0.2)[1],) and value == (2 * 0.7 + 0.2 - 1) ** 2


def test_a_single_name_gradient_is_what_a_minimiser_takes_as_its_jacobian(m):
    """The shape contract scipy.optimize.minimize(jac=...) relies on: jac(x, *args) returns
    an array shaped like x.  A plain gradient descent uses it the same way."""
    jac = pyclad.gradient(m.rosen, "x")
    x = arr(-0.5, 0.4)
    for _ in range(20000):
        g = jac(x, 2)
        assert g.shape == x.shape
        x = x - 1e-3 * g
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-2)  # slowly, towards the known minimum


def test_scipy_minimize_takes_a_single_name_gradient_as_jac(m):
    optimize = pytest.importorskip("scipy.optimize")
    res = optimize.minimize(
        m.rosen, arr(1.3, 0.7, 0.8, 1.9, 1.2), args=(5,), jac=pyclad.gradient(m.rosen, "x")
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-5)


def test_consecutive_elements_in_a_hessian_list_are_one_range(m):
    listed = pyclad.hessian(m.rosen, ["x[0]", "x[1]"])(X, 3)
    ranged = pyclad.hessian(m.rosen, "x[0:1]")(X, 3)
    want = np.array(
        [
            [1200 * X[0] ** 2 - 400 * X[1] + 2, -400 * X[0]],
            [-400 * X[0], 200 + 1200 * X[1] ** 2 - 400 * X[2] + 2],
        ]
    )
    np.testing.assert_allclose(listed, want, rtol=1e-13)
    np.testing.assert_array_equal(listed, ranged)


def flat(value) -> np.ndarray:
    """Every number of a result (a float, an array, or a tuple of them) in one array."""
    parts = value if isinstance(value, tuple) else (value,)
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in parts])


def test_a_call_with_array_lengths_seen_before_generates_and_renders_nothing(m, monkeypatch):
    """Kernels, argument plans and buffer layouts are kept per set of array lengths: once
    each kind has run at n = 3 and n = 4, neither generation nor C++ text is needed again."""
    kinds = {
        "forward": pyclad.differentiate(m.rosen, "x[1]"),
        "vector": pyclad.differentiate(m.rosen, "x"),
        "gradient": pyclad.gradient(m.rosen, "x"),
        "value_and_grad": pyclad.value_and_grad(m.rosen, "x"),
        "hessian": pyclad.hessian(m.rosen, "x"),
    }
    first = {name: [d(X, 3), d(np.append(X, 0.5), 4)] for name, d in kinds.items()}

    def refuse(*args, **kwargs):
        raise AssertionError("C++ generated or rendered on a call with known lengths")

    from pyclad import emit, source

    for target, attr in [
        (source, "render"),
        (emit, "function"),
        (source.Source, "vector"),
        (source.Source, "hessian"),
    ]:
        monkeypatch.setattr(target, attr, refuse)
    monkeypatch.setattr(source.Source, "gradient", refuse)
    for name, d in kinds.items():
        again = [d(X, 3), d(np.append(X, 0.5), 4)]
        for got, want in zip(again, first[name]):
            np.testing.assert_array_equal(flat(got), flat(want))
    np.testing.assert_allclose(kinds["hessian"](X, 3)[0, 1], -400 * X[0], rtol=1e-14)
