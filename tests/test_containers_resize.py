"""Containers that change size: push_back, resize, assign, clear, pop_back, in forward
and reverse mode; iterator loops over begin()/end(); vector mode, Jacobians and Hessians
through local vectors.

References: each function's twin written with plain arrays and scalars (the same math),
and central finite differences of the container version's primal.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, fd_each, with_cpp_vectors

import pyclad

SOURCE = r"""
#include <cmath>
#include <vector>

// A local that grows element by element; back() reads the last one.
double grow(const std::vector<double>& v) {
    std::vector<double> w;
    for (std::size_t i = 0; i < v.size(); ++i) w.push_back(v[i] * v[i]);
    w.push_back(std::sin(v[0]));
    double s = 0;
    for (double x : w) s += x * w.back();
    return s;
}
double grow_arr(const double* v, int n) {
    double last = std::sin(v[0]);
    double s = last * last;
    for (int i = 0; i < n; ++i) s += v[i] * v[i] * last;
    return s;
}

// Shrunk (the reverse sweep still reads what resize destroyed), then grown with a value.
double resized(std::vector<double>& v, double c) {
    double head = v[2] * v[3];
    v.resize(2);
    v.resize(4, c * c);
    double s = head;
    for (double x : v) s += x * x;
    return s;
}
double resized_arr(const double* v, double c) {
    return v[2] * v[3] + v[0] * v[0] + v[1] * v[1] + 2 * c * c * c * c;
}

// Cleared and assigned anew; the old values reach the result only through s.
double cleared(std::vector<double>& v, double c) {
    double s = v[0] * v[1];
    v.clear();
    v.assign(3, c);
    v[1] = v[1] * s;
    return v[0] + v[1] + v[2] * s;
}
double cleared_arr(const double* v, double c) {
    double s = v[0] * v[1];
    return c + c * s + c * s;
}

// pop_back in a loop: a Horner scheme from the back.
double popped(std::vector<double>& v) {
    double s = 0;
    while (v.size() > 1) {
        s = s * v.back() + v[0];
        v.pop_back();
    }
    return s;
}
double popped_arr(const double* v, int n) {
    double s = 0;
    for (int k = n - 1; k >= 1; --k) s = s * v[k] + v[0];
    return s;
}

// Iterator loops: reading, and writing through the iterator.
double iterate(std::vector<double>& v) {
    double s = 0;
    for (auto it = v.begin(); it != v.end(); ++it) *it = *it * 2.0;
    for (std::vector<double>::const_iterator it = v.cbegin(); it != v.cend(); it++) s += *it * *it * *it;
    return s;
}
double iterate_arr(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += 8.0 * v[i] * v[i] * v[i];
    return s;
}

// A pointer-array function with local vectors (Hessian and Jacobian).
double local_work(const double* x, int n) {
    std::vector<double> w(n);
    for (int i = 0; i < n; ++i) w[i] = x[i] * x[i];
    std::vector<double> u = w;
    u.push_back(std::sin(x[0]));
    double a = 0, b = 1.0;
    for (double y : u) a += y;
    for (int i = 0; i < n; ++i) b += w[i] * u[i];
    return a * b;
}
void local_map(const double* x, int n, double* out) {
    std::vector<double> w;
    for (int i = 0; i < n; ++i) w.push_back(std::exp(x[i]));
    for (int i = 0; i < n; ++i) out[i] = w[i] * w[(i + 1) % n];
}
"""

X = np.array([0.7, -1.3, 0.4, 1.1])


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def _fd_all(f, args):
    """Finite differences w.r.t. every element of the first (vector) argument and every
    scalar after it, calling f with C++ vectors (it may resize them)."""
    g = with_cpp_vectors(f)
    return [fd_each(g, list(args), 0)] + [fd(g, list(args), i) for i in range(1, len(args))]


CASES = [("grow", (X,)), ("resized", (X, 0.9)), ("cleared", (X, 0.9)), ("popped", (X,)), ("iterate", (X,))]


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name, args", CASES)
def test_the_gradient_through_size_changes_matches_the_array_twin_and_finite_differences(
    m, name, args, checked
):
    f = getattr(m, name)
    got = pyclad.gradient(f, checked=checked)(*args)
    twin = getattr(m, f"{name}_arr")
    twin_args = (args[0], args[0].size) if twin.ir.params[1].type.base == "int" else args
    want = pyclad.gradient(twin, checked=checked)(*twin_args)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    for g, w in zip(got[1:], want[1:]):
        assert_close(g, w, rtol=1e-12, atol=1e-12)
    ref = _fd_all(f, args)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-7, atol=1e-8)
    for g, w in zip(got[1:], ref[1:]):
        assert_close(g, w, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name, args", CASES)
def test_forward_mode_through_size_changes_matches_finite_differences(m, name, args, checked):
    f = getattr(m, name)
    ref = _fd_all(f, args)
    for k in range(X.size):
        got = pyclad.differentiate(f, f"v[{k}]", checked=checked)(*args)
        assert_close(got, ref[0][k], rtol=1e-7, atol=1e-8, what=f"{name} d/dv[{k}]")
    if len(args) > 1:
        assert_close(pyclad.differentiate(f, "c", checked=checked)(*args), ref[1], rtol=1e-7, atol=1e-8)


def test_a_gradient_leaves_the_callers_arrays_and_a_resized_vector_unchanged(m):
    x = X.copy()
    pyclad.gradient(m.resized)(x, 0.9)
    np.testing.assert_array_equal(x, X)


@pytest.mark.parametrize("checked", [True, False])
def test_the_hessian_through_local_vectors_matches_differences_of_the_gradient(m, checked):
    x = X[:3].copy()
    H = pyclad.hessian(m.local_work, checked=checked)(x, 3)
    g = pyclad.gradient(m.local_work, "x")
    h = 1e-5
    ref = np.array([(g(x + h * e, 3) - g(x - h * e, 3)) / (2 * h) for e in np.eye(3)]).T
    np.testing.assert_allclose(H, ref, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_the_jacobian_through_a_grown_local_vector_matches_the_formula(m, mode):
    x = X[:3].copy()
    J = pyclad.jacobian(m.local_map, mode=mode)(x, 3, np.zeros(3))
    e = np.exp(x)
    want = np.zeros((3, 3))
    for i in range(3):
        j = (i + 1) % 3
        want[i, i] += e[i] * e[j]
        want[i, j] += e[i] * e[j]
    np.testing.assert_allclose(J, want, rtol=1e-13)


def test_vector_mode_through_local_vectors_matches_the_gradient(m):
    x = X[:3].copy()
    got = pyclad.differentiate(m.local_work, "x[0:2]")(x, 3)
    want = pyclad.gradient(m.local_work, "x")(x, 3)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("checked", [True, False])
def test_a_hessian_wrt_a_vector_parameter_through_a_growing_local_matches_its_array_twin(m, checked):
    H = pyclad.hessian(m.grow, checked=checked)(X)
    np.testing.assert_allclose(H, pyclad.hessian(m.grow_arr, "v", checked=checked)(X, 4), rtol=1e-12)
    h, n = 1e-3, len(X)
    fd2 = np.zeros((n, n))  # second differences of the primal
    e = np.eye(n) * h
    for i in range(n):
        for j in range(n):
            up, down = X + e[i], X - e[i]
            fd2[i, j] = (
                m.grow(up + e[j]) - m.grow(up - e[j]) - m.grow(down + e[j]) + m.grow(down - e[j])
            ) / (4 * h * h)
    np.testing.assert_allclose(H, fd2, rtol=1e-5, atol=1e-6)


CALLS = r"""
#include <cmath>
#include <vector>
double sq(const std::vector<double>& v) { double s = 0; for (double x : v) s += x * x; return s; }
double byval(std::vector<double> v, double c) { for (auto& x : v) x = x * c; return v[0] * v[1]; }
void scale(std::vector<double>& v, double c) { for (auto& x : v) x *= c; }
void grow(std::vector<double>& v, double c) { v.push_back(c * v[0]); }
double f(const std::vector<double>& v, double c) {
    std::vector<double> w = v;
    scale(w, c);
    grow(w, c);
    return sq(v) * c + byval(v, c) + sq(w) + byval(w, 2.0) * w.back();
}
double f_arr(const double* v, double c) {
    double w[4] = {v[0] * c, v[1] * c, v[2] * c, 0};
    w[3] = c * w[0];
    double sv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    double sw = w[0] * w[0] + w[1] * w[1] + w[2] * w[2] + w[3] * w[3];
    return sv * c + v[0] * c * v[1] * c + sw + w[0] * 2.0 * w[1] * 2.0 * w[3];
}
"""


@pytest.mark.parametrize("checked", [True, False])
def test_calls_that_take_read_copy_scale_and_grow_vectors_differentiate_in_both_modes(checked):
    m = pyclad.cppdef(CALLS)
    x, c = np.array([0.6, -0.8, 1.2]), 1.3
    gv, gc = pyclad.gradient(m.f, checked=checked)(x, c)
    tv, tc = pyclad.gradient(m.f_arr, checked=checked)(x, c)
    np.testing.assert_allclose(gv, tv, rtol=1e-12)
    assert_close(gc, tc, rtol=1e-12)
    ref = _fd_all(m.f, (x, c))
    np.testing.assert_allclose(gv, ref[0], rtol=1e-7)
    assert_close(gc, ref[1], rtol=1e-7)
    for k in range(3):
        assert_close(pyclad.differentiate(m.f, f"v[{k}]", checked=checked)(x, c), tv[k], rtol=1e-12)
    assert_close(pyclad.differentiate(m.f, "c", checked=checked)(x, c), tc, rtol=1e-12)


SCALARS = r"""
#include <vector>
double f(double k, double c, std::vector<double>& out) {
    out.assign(2, k * c);
    out[1] = out[1] * k;
    return out[0] * out[1] + c;
}
void j(double k, double c, double* r) {
    std::vector<double> w(2, k);
    w[1] *= c;
    r[0] = w[0] * w[1];
    r[1] = w[1];
}
"""


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_the_jacobian_through_a_filled_local_vector_matches_the_formula(mode):
    m = pyclad.cppdef(SCALARS)
    k, c = 1.5, 0.5
    J = pyclad.jacobian(m.j, mode=mode)(k, c, np.zeros(2))
    np.testing.assert_allclose(J, [[2 * k * c, k * k], [c, k]], rtol=1e-15)


def test_vector_mode_through_a_vector_reference_parameter_matches_the_formula():
    import cppyy

    m = pyclad.cppdef(SCALARS)
    k, c = 1.5, 0.5
    out = cppyy.gbl.std.vector["double"](2)
    dk, dc = pyclad.differentiate(m.f, ["k", "c"])(k, c, out)
    assert_close(dk, 3 * k * k * c * c, rtol=1e-14)  # f = k^3 c^2 + c
    assert_close(dc, 2 * k**3 * c + 1, rtol=1e-14)


@pytest.mark.parametrize("wrt", ["k, c", "k, out"])
def test_a_hessian_through_a_vector_reference_parameter_the_function_resizes_is_refused_at_the_resize(wrt):
    import cppyy

    m = pyclad.cppdef(SCALARS)
    out = cppyy.gbl.std.vector["double"](2)
    with pytest.raises(
        pyclad.UnsupportedError, match="may change the size of its container parameter 'out'"
    ) as e:
        pyclad.hessian(m.f, wrt)(1.5, 0.5, out)  # before any C++ runs
    assert e.value.loc.line == 4
