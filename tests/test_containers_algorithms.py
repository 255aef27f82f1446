"""Standard algorithms over containers in forward and reverse mode: std::fill, std::copy,
std::accumulate, std::inner_product, std::min / std::max, std::swap, std::min_element /
std::max_element.  References: each function's twin written with plain loops over arrays,
and central finite differences of the primal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, fd_each, with_cpp_vectors

import pyclad

SOURCE = r"""
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

double reduce(const std::vector<double>& v, const std::vector<double>& w, double c) {
    double a = std::accumulate(v.begin(), v.end(), c * c);
    double b = std::inner_product(v.begin(), v.end(), w.begin(), c);
    return a * b + std::accumulate(w.begin(), w.end(), 0.0);
}
double reduce_arr(const double* v, const double* w, double c) {
    double a = c * c, b = c, s = 0;
    for (int i = 0; i < 4; ++i) { a += v[i]; b += v[i] * w[i]; s += w[i]; }
    return a * b + s;
}

double moves(std::vector<double>& v, std::vector<double>& w, double c) {
    std::fill(w.begin(), w.end(), c);
    std::vector<double> u(v.size());
    std::copy(v.begin(), v.end(), u.begin());
    std::swap(u[0], w[1]);
    std::swap(c, u[1]);
    double s = 0;
    for (std::size_t i = 0; i < u.size(); ++i) s += u[i] * w[i] * (1.0 + c);
    return s;
}
double moves_arr(const double* v, const double* w, double c) {
    // After the moves: u = {c, c, v2, v3}, w = {c, v0, c, c}, and c holds v1.
    double u[4] = {c, c, v[2], v[3]};
    double ww[4] = {c, v[0], c, c};
    double s = 0;
    for (int i = 0; i < 4; ++i) s += u[i] * ww[i] * (1.0 + v[1]);
    return s + 0.0 * w[0];
}

double extremes(const std::vector<double>& v, const std::vector<double>& w, double c) {
    double hi = *std::max_element(v.begin(), v.end());
    double lo = *std::min_element(w.begin(), w.end());
    return hi * lo + std::max(hi, c) * std::min(lo, c * 0.5);
}
double extremes_arr(const double* v, const double* w, double c) {
    int k = 0, j = 0;
    for (int i = 1; i < 4; ++i) { if (v[k] < v[i]) k = i; if (w[i] < w[j]) j = i; }
    double hi = v[k], lo = w[j];
    double m1 = hi < c ? c : hi;
    double m2 = c * 0.5 < lo ? c * 0.5 : lo;
    return hi * lo + m1 * m2;
}
"""

V = np.array([0.7, -1.3, 0.4, 1.1])
W = np.array([0.2, 0.5, -0.9, 1.6])
C = 0.8


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def _fd(f, k, element=None):
    return fd(with_cpp_vectors(f), [V, W, C], k, element)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", ["reduce", "moves", "extremes"])
def test_the_gradient_through_algorithms_matches_plain_loops_and_finite_differences(m, name, checked):
    f = getattr(m, name)
    gv, gw, gc = pyclad.gradient(f, checked=checked)(V, W, C)
    tv, tw, tc = pyclad.gradient(getattr(m, f"{name}_arr"), checked=checked)(V, W, C)
    np.testing.assert_allclose(gv, tv, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gw, tw, rtol=1e-12, atol=1e-13)
    assert_close(gc, tc, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gv, fd_each(with_cpp_vectors(f), [V, W, C], 0), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gw, fd_each(with_cpp_vectors(f), [V, W, C], 1), rtol=1e-7, atol=1e-8)
    assert_close(gc, _fd(f, 2), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", ["reduce", "moves", "extremes"])
def test_forward_mode_through_algorithms_matches_finite_differences(m, name, checked):
    f = getattr(m, name)
    for k in range(4):
        got = pyclad.differentiate(f, f"v[{k}]", checked=checked)(V, W, C)
        assert_close(got, _fd(f, 0, k), rtol=1e-7, atol=1e-8, what=f"{name} d/dv[{k}]")
        got = pyclad.differentiate(f, f"w[{k}]", checked=checked)(V, W, C)
        assert_close(got, _fd(f, 1, k), rtol=1e-7, atol=1e-8, what=f"{name} d/dw[{k}]")
    assert_close(pyclad.differentiate(f, "c", checked=checked)(V, W, C), _fd(f, 2), rtol=1e-7, atol=1e-8)


def test_reductions_are_rules_of_the_registry_and_keep_the_users_init_type(m):
    code = pyclad.gradient(m.reduce).code
    assert "::pyclad::add_each(" in code and "::pyclad::add_scaled(" in code
    assert "::pyclad::accumulate(v, c * c)" in pyclad.differentiate(m.reduce, "c").code


def test_an_algorithm_over_part_of_a_container_is_refused_with_its_location():
    m = pyclad.cppdef(
        "#include <numeric>\n#include <vector>\n"
        "double f(const std::vector<double>& v) {\n"
        "    return std::accumulate(v.begin() + 1, v.end(), 0.0); }"
    )
    with pytest.raises(pyclad.UnsupportedError, match="whole container") as info:
        pyclad.gradient(m.f)
    assert info.value.loc.line == 4
