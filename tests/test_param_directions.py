"""Vector mode, Jacobians and Hessians with directions along the elements of
``std::vector<double>`` / ``std::array`` parameters and the floating fields of record
parameters (declaration order, nested records flattened).  Every result is checked
against central finite differences of the primal and against the same function written
with plain arrays and scalars (differentiated through the array path), in the
bounds-checked variant and the plain one."""

from __future__ import annotations

import numpy as np
import pytest

import pyclad
from pyclad.errors import UnsupportedError

CODE = r"""
#include <array>
#include <cmath>
#include <vector>

struct Inner { double b; int k; };
struct Params { double a; Inner q; double c; };

double vsum(const std::vector<double>& v, double x) {
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += std::sin(v[i]) * v[i] * x;
    return s * x + v[0] * v[v.size() - 1];
}
double vsum_arr(const double* v, int n, double x) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::sin(v[i]) * v[i] * x;
    return s * x + v[0] * v[n - 1];
}

double vval(std::vector<double> v, double x) {
    v[0] *= x;
    double s = 0;
    for (double e : v) s += e * e * e;
    return s + x * x * v[1];
}
double vval_arr(const double* v0, int n, double x) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        double e = i == 0 ? v0[0] * x : v0[i];
        s += e * e * e;
    }
    return s + x * x * v0[1];
}

double arr3(const std::array<double, 3>& a, double w) { return a[0] * a[1] * w + std::exp(a[2]) * a[0] * w * w; }
double arr3_arr(const double* a, double w) { return a[0] * a[1] * w + std::exp(a[2]) * a[0] * w * w; }

double rec(Params p, double x) { return p.a * p.q.b * x + p.c * p.c * p.a + std::sin(p.q.b) * x * x; }
double rec_ref(const Params& p, double x) { return p.a * p.q.b * x + p.c * p.c * p.a + std::sin(p.q.b) * x * x; }
double rec_ptr(const Params* p, double x) { return p->a * p->q.b * x + p->c * p->c * p->a + std::sin(p->q.b) * x * x; }
double rec_flat(double a, double b, double c, double x) { return a * b * x + c * c * a + std::sin(b) * x * x; }

double two(const double* w, const Params* p, Params* q, double x) {
    q->c += p->a * w[1];
    return w[0] * p->q.b * q->c + std::cos(q->a * x) * p->c + w[1] * q->q.b;
}
double two_flat(const double* w, const double* p, const double* q, double x) {
    double qc = q[2] + p[0] * w[1];
    return w[0] * p[1] * qc + std::cos(q[0] * x) * p[2] + w[1] * q[1];
}

void jv(const std::vector<double>& v, double x, double* out) {
    out[0] = v[0] * v[1] * x;
    out[1] = std::sin(v[1]) + x * v[0] * v[2];
    out[2] = v[2] * v[2];
}
void jv_arr(const double* v, double x, double* out) {
    out[0] = v[0] * v[1] * x;
    out[1] = std::sin(v[1]) + x * v[0] * v[2];
    out[2] = v[2] * v[2];
}
void jvv(std::vector<double> v, double x, double* out) {
    for (double& e : v) e *= x;
    out[0] = v[0] * v[1];
    out[1] = v[1] * v[1] * v[0];
}
void jvv_arr(const double* v, double x, double* out) {
    out[0] = v[0] * x * v[1] * x;
    out[1] = v[1] * x * v[1] * x * v[0] * x;
}
void ja(std::array<double, 2> a, double* out) { out[0] = a[0] * a[1]; out[1] = std::exp(a[1]) * a[0]; }
void ja_arr(const double* a, double* out) { out[0] = a[0] * a[1]; out[1] = std::exp(a[1]) * a[0]; }

double grows(std::vector<double>& v, double x) {
    v.push_back(x * v[0]);
    double s = 0;
    for (double e : v) s += e * e;
    return s;
}
void into(const std::vector<double>& x, std::vector<double>& out) { out[0] = x[0] * x[1]; }
"""

V = np.array([0.7, -1.3, 0.4, 2.1])
X = 1.7
P = (1.5, -0.5, 2.0)  # a, q.b, c


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(CODE)


def params(m, a, b, c):
    p = m.Params()
    p.a, p.c = a, c
    p.q.b = b
    p.q.k = 7
    return p


def fd_grad(f, x0, h=1e-5):
    """Central differences of a function of a flat vector."""
    x0 = np.asarray(x0, float)
    out = np.zeros_like(x0)
    for i in range(len(x0)):
        e = np.zeros_like(x0)
        e[i] = h
        out[i] = (f(x0 + e) - f(x0 - e)) / (2 * h)
    return out


def fd_jac(f, x0, h=1e-5):
    x0 = np.asarray(x0, float)
    cols = []
    for i in range(len(x0)):
        e = np.zeros_like(x0)
        e[i] = h
        cols.append((np.asarray(f(x0 + e)) - np.asarray(f(x0 - e))) / (2 * h))
    return np.array(cols).T


def fd_hess(f, x0, h=1e-3):
    """Second differences of a function of a flat vector (error ~h^2)."""
    x0 = np.asarray(x0, float)
    n = len(x0)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h, h
            out[i, j] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (4 * h * h)
    return out


CHECKED = pytest.mark.parametrize("checked", [True, False], ids=["checked", "plain"])


# ------------------------------------------------------------------ vector mode
@CHECKED
def test_vector_mode_along_a_const_ref_std_vector_and_a_scalar_matches_fd_and_the_array_twin(m, checked):
    dv, dx = pyclad.differentiate(m.vsum, ["v", "x"], checked=checked)(V, X)
    assert isinstance(dv, np.ndarray) and dv.shape == (4,)
    flat = np.append(V, X)
    want = fd_grad(lambda z: m.vsum(z[:4], z[4]), flat)
    np.testing.assert_allclose(np.append(dv, dx), want, rtol=1e-7, atol=1e-9)
    twin = pyclad.differentiate(m.vsum_arr, ["v", "x"], checked=checked)(V, 4, X)
    np.testing.assert_allclose(dv, twin[0], rtol=1e-13)
    assert dx == pytest.approx(twin[1], rel=1e-13)


@CHECKED
def test_vector_mode_along_a_by_value_std_vector_the_function_writes_matches_fd_and_the_array_twin(
    m, checked
):
    dv, dx = pyclad.differentiate(m.vval, "v, x", checked=checked)(V, X)
    want = fd_grad(lambda z: m.vval(z[:4], z[4]), np.append(V, X))
    np.testing.assert_allclose(np.append(dv, dx), want, rtol=1e-7, atol=1e-9)
    twin = pyclad.differentiate(m.vval_arr, "v0, x", checked=checked)(V, 4, X)
    np.testing.assert_allclose(np.append(dv, dx), np.append(*twin), rtol=1e-13)


@CHECKED
def test_vector_mode_kernel_is_kept_per_vector_length(m, checked):
    d = pyclad.differentiate(m.vsum, "v", checked=checked)
    for v in (V, V[:2], np.array([0.3, 0.1, -0.2, 0.5, 1.1, -0.9])):
        got = d(v, X)
        assert got.shape == v.shape
        np.testing.assert_allclose(got, fd_grad(lambda z: m.vsum(z, X), v), rtol=1e-7, atol=1e-9)


@CHECKED
def test_vector_mode_along_a_std_array_matches_fd_and_the_array_twin(m, checked):
    a = np.array([0.3, -1.1, 0.8])
    da = pyclad.differentiate(m.arr3, "a", checked=checked)(a, X)
    np.testing.assert_allclose(da, fd_grad(lambda z: m.arr3(z, X), a), rtol=1e-7, atol=1e-9)
    twin = pyclad.differentiate(m.arr3_arr, "a", checked=checked)(a, X)
    np.testing.assert_allclose(da, twin, rtol=1e-13)


@CHECKED
@pytest.mark.parametrize("fn", ["rec", "rec_ref", "rec_ptr"])
def test_vector_mode_along_a_record_param_returns_a_record_of_the_derivatives(m, fn, checked):
    dp, dx = pyclad.differentiate(m[fn], ["p", "x"], checked=checked)(params(m, *P), X)
    assert type(dp) is type(m.Params())
    got = [dp.a, dp.q.b, dp.c, dx]
    assert dp.q.k == 0  # an int field carries no derivative
    want = fd_grad(lambda z: m.rec_flat(*z), [*P, X])
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    twin = pyclad.differentiate(m.rec_flat, ["a", "b", "c", "x"], checked=checked)(*P, X)
    np.testing.assert_allclose(got, twin, rtol=1e-13)


@CHECKED
def test_vector_mode_along_one_field_and_a_nested_record_field(m, checked):
    got = pyclad.differentiate(m.rec, ["p.q", "x"], checked=checked)(params(m, *P), X)
    want = fd_grad(lambda z: m.rec_flat(*z), [*P, X])
    assert got[0].b == pytest.approx(want[1], rel=1e-7)
    assert got[1] == pytest.approx(want[3], rel=1e-7)


# ------------------------------------------------------------------ Jacobians
@CHECKED
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_a_std_vector_input_matches_fd_and_the_array_twin(m, mode, checked):
    v = V[:3]
    jac = pyclad.jacobian(m.jv, mode=mode, checked=checked)
    got = jac(v, X, np.zeros(3))
    assert got.shape == (3, 4)  # rows: out[0:3]; columns: v[0:3], x

    def prim(z):
        out = np.zeros(3)
        m.jv(z[:3], z[3], out)
        return out

    np.testing.assert_allclose(got, fd_jac(prim, np.append(v, X)), rtol=1e-7, atol=1e-9)
    twin = pyclad.jacobian(m.jv_arr, mode=mode, checked=checked)(v, X, np.zeros(3))
    np.testing.assert_allclose(got, twin, rtol=1e-13, atol=1e-15)


@CHECKED
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_with_a_std_array_input_matches_fd_and_the_array_twin(m, mode, checked):
    a = np.array([0.6, -0.4])
    got = pyclad.jacobian(m.ja, mode=mode, checked=checked)(a, np.zeros(2))

    def prim(z):
        out = np.zeros(2)
        m.ja(z, out)
        return out

    np.testing.assert_allclose(got, fd_jac(prim, a), rtol=1e-7, atol=1e-9)
    twin = pyclad.jacobian(m.ja_arr, mode=mode, checked=checked)(a, np.zeros(2))
    np.testing.assert_allclose(got, twin, rtol=1e-13, atol=1e-15)


def test_jacobian_refuses_a_container_the_function_writes_as_an_output_with_its_location(m):
    with pytest.raises(UnsupportedError, match=r"'out'.*as an output") as err:
        pyclad.jacobian(m.into)
    assert ":80:" in str(err.value)


# ------------------------------------------------------------------ Hessians
@CHECKED
def test_hessian_over_a_std_vector_and_a_scalar_matches_fd_and_the_array_twin(m, checked):
    h = pyclad.hessian(m.vsum, checked=checked)(V, X)
    assert h.shape == (5, 5)
    np.testing.assert_allclose(
        h, fd_hess(lambda z: m.vsum(z[:4], z[4]), np.append(V, X)), rtol=1e-5, atol=1e-6
    )
    twin = pyclad.hessian(m.vsum_arr, ["v", "x"], checked=checked)(V, 4, X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-14)


@CHECKED
def test_hessian_over_an_index_range_of_a_by_value_std_vector(m, checked):
    h = pyclad.hessian(m.vval, ["v[1:2]", "x"], checked=checked)(V, X)
    full = fd_hess(lambda z: m.vval(z[:4], z[4]), np.append(V, X))
    keep = [1, 2, 4]
    np.testing.assert_allclose(h, full[np.ix_(keep, keep)], rtol=1e-5, atol=1e-6)
    twin = pyclad.hessian(m.vval_arr, ["v0[1:2]", "x"], checked=checked)(V, 4, X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)


@CHECKED
def test_hessian_over_a_std_array_matches_fd_and_the_array_twin(m, checked):
    a = np.array([0.3, -1.1, 0.8])
    h = pyclad.hessian(m.arr3, checked=checked)(a, X)
    assert h.shape == (4, 4)
    np.testing.assert_allclose(
        h, fd_hess(lambda z: m.arr3(z[:3], z[3]), np.append(a, X)), rtol=1e-5, atol=1e-6
    )
    twin = pyclad.hessian(m.arr3_arr, ["a[0:2]", "w"], checked=checked)(a, X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)


@CHECKED
@pytest.mark.parametrize("fn", ["rec", "rec_ref", "rec_ptr"])
def test_hessian_over_a_record_param_flattens_its_floating_fields_in_declaration_order(m, fn, checked):
    h = pyclad.hessian(m[fn], checked=checked)(params(m, *P), X)
    assert h.shape == (4, 4)  # a, q.b, c, x (the int field q.k is not a direction)
    want = fd_hess(lambda z: m.rec_flat(*z), [*P, X])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)
    twin = pyclad.hessian(m.rec_flat, checked=checked)(*P, X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)


@CHECKED
def test_hessian_over_record_fields_named_one_by_one(m, checked):
    h = pyclad.hessian(m.rec, ["p.q.b", "x"], checked=checked)(params(m, *P), X)
    full = fd_hess(lambda z: m.rec_flat(*z), [*P, X])
    np.testing.assert_allclose(h, full[np.ix_([1, 3], [1, 3])], rtol=1e-5, atol=1e-6)
    twin = pyclad.hessian(m.rec_flat, ["b", "x"], checked=checked)(*P, X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)


def test_hessian_over_a_container_the_function_resizes_is_a_located_unsupported_error(m):
    h = pyclad.hessian(m.grows, ["v", "x"])
    with pytest.raises(UnsupportedError, match="size") as err:
        h(V, X)
    assert ":75:" in str(err.value)


UNSUPPORTED = r"""
#include <vector>
struct B { double x, v; };
struct H { std::vector<double> w; double s; };
double bodies(const B* b, int n) { double s = 0; for (int i = 0; i < n; ++i) s += b[i].x * b[i].v; return s; }
double holds(const H& h) { return h.w[0] * h.s; }
double nested(const std::vector<std::vector<double>>& w) { return w[0][0] * w[0][1]; }
"""


def test_directions_that_cannot_be_laid_out_are_located_unsupported_errors():
    m = pyclad.cppdef(UNSUPPORTED)
    with pytest.raises(UnsupportedError, match="an array of records in vector mode") as err:
        pyclad.hessian(m.bodies, "b")
    assert "<string>:5:" in str(err.value)
    with pytest.raises(UnsupportedError, match="holds standard containers") as err:
        pyclad.hessian(m.holds)
    assert "<string>:6:" in str(err.value)
    with pytest.raises(UnsupportedError, match="containers of floating numbers") as err:
        pyclad.hessian(m.nested)([np.array([1.0, 2.0])])
    assert "<string>:7:" in str(err.value)


@CHECKED
def test_hessian_over_an_array_and_two_record_pointers_one_of_them_written(m, checked):
    w, pv, qv = np.array([0.4, -0.8]), (1.5, -0.5, 2.0), (0.3, 0.9, -1.2)
    h = pyclad.hessian(m.two, checked=checked)(w, params(m, *pv), params(m, *qv), X)
    assert h.shape == (9, 9)  # w[0:2], p (a, q.b, c), q (a, q.b, c), x
    want = fd_hess(lambda z: m.two_flat(z[:2], z[2:5], z[5:8], z[8]), [*w, *pv, *qv, X])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)
    twin = pyclad.hessian(m.two_flat, checked=checked)(w, np.array(pv), np.array(qv), X)
    np.testing.assert_allclose(h, twin, rtol=1e-12, atol=1e-14)


@CHECKED
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_with_a_by_value_std_vector_input_the_function_writes(m, mode, checked):
    v = np.array([0.6, -1.2])
    got = pyclad.jacobian(m.jvv, mode=mode, checked=checked)(v, X, np.zeros(2))

    def prim(z):
        out = np.zeros(2)
        m.jvv(z[:2], z[2], out)
        return out

    np.testing.assert_allclose(got, fd_jac(prim, np.append(v, X)), rtol=1e-7, atol=1e-9)
    twin = pyclad.jacobian(m.jvv_arr, mode=mode, checked=checked)(v, X, np.zeros(2))
    np.testing.assert_allclose(got, twin, rtol=1e-13, atol=1e-15)
