"""Functions inside C++ namespaces are reachable from Python and differentiable."""

import math

import numpy as np
import pytest

import pyclad

SOURCE = r"""
#include <cmath>
namespace phys {
double spring(double x, double k) { return 0.5 * k * x * x; }
namespace inner {
double g(double x) { return std::sin(x) * spring(x, 2.0); }
}
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def test_namespaced_function_by_attribute_and_by_qualified_name(m):
    assert m.phys.spring(2.0, 3.0) == 6.0
    assert m["phys::spring"](2.0, 3.0) == 6.0
    assert m.phys.inner.g(0.7) == pytest.approx(math.sin(0.7) * 0.49, rel=1e-15)


def test_namespaced_function_derivatives_match_hand_formulas(m):
    x, k = 2.0, 3.0
    assert pyclad.differentiate(m.phys.spring, "x")(x, k) == pytest.approx(k * x, rel=1e-15)
    assert pyclad.gradient(m.phys.spring)(x, k) == pytest.approx((k * x, 0.5 * x * x), rel=1e-15)
    np.testing.assert_allclose(pyclad.hessian(m.phys.spring)(x, k), [[k, x], [x, 0.0]], rtol=1e-15)
    t = 0.7
    want = math.cos(t) * t * t + math.sin(t) * 2 * t  # d/dt sin(t) * t^2
    assert pyclad.differentiate(m.phys.inner.g, "x")(t) == pytest.approx(want, rel=1e-14)
    assert pyclad.gradient(m.phys.inner.g)(t)[0] == pytest.approx(want, rel=1e-14)


def test_unknown_name_in_a_namespace_is_a_function_not_found_error(m):
    with pytest.raises(pyclad.FunctionNotFoundError) as info:
        _ = m.phys.nosuch
    assert isinstance(info.value, AttributeError)
    assert "nosuch" in str(info.value)
