"""Records inside functions with scalar and array interfaces, in vector forward mode,
Jacobians (forward and reverse) and Hessians: record locals, copies, callees taking and
returning records.  References: the same functions written with plain scalars, and finite
differences."""

from __future__ import annotations

import numpy as np
import pytest

import pyclad

SOURCE = """\
#include <cmath>
struct P { double a, b; int n; };
struct S { P in; double w[2]; };

double norm2(const P& p) { return p.a * p.a + p.b * p.b; }
P shifted(P p, double d) { P r = p; r.a += d; r.b *= d; return r; }

double inside(double x, double y) {
    P q = {x * y, std::sin(x), 2};
    P r = shifted(q, y);
    S s = {{r.b, x}, {y, q.a}};
    s.w[1] += norm2(s.in) * 0.1;
    return norm2(r) * q.b + s.w[0] * s.w[1];
}
double inside_plain(double x, double y) {
    double qa = x * y, qb = std::sin(x);
    double ra = qa + y, rb = qb * y;
    double ia = rb, ib = x, w0 = y, w1 = qa;
    w1 += (ia * ia + ib * ib) * 0.1;
    return (ra * ra + rb * rb) * qb + w0 * w1;
}

void outputs(const double* x, double* out) {
    P q = {x[0] * x[1], x[2], 0};
    P r = shifted(q, x[0]);
    out[0] = norm2(r);
    out[1] = q.a * r.b + std::cos(q.b);
}
void outputs_plain(const double* x, double* out) {
    double qa = x[0] * x[1], qb = x[2];
    double ra = qa + x[0], rb = qb * x[0];
    out[0] = ra * ra + rb * rb;
    out[1] = qa * rb + std::cos(qb);
}

double of_record(P p, double x) { return p.a * p.b * x; }
"""

AT = (0.7, -1.3)
X = np.array([0.5, 1.2, -0.3])


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def fd_jacobian(f, x, n_out, h=1e-6):
    cols = []
    for k in range(x.size):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        a, b = np.zeros(n_out), np.zeros(n_out)
        f(up, a)
        f(down, b)
        cols.append((a - b) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("checked", [True, False])
def test_vector_forward_mode_through_record_locals_and_callees(m, checked):
    got = pyclad.differentiate(m.inside, checked=checked)(*AT)
    want = pyclad.gradient(m.inside_plain)(*AT)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    h = 1e-6
    fd = [(m.inside(AT[0] + h, AT[1]) - m.inside(AT[0] - h, AT[1])) / (2 * h)]
    fd.append((m.inside(AT[0], AT[1] + h) - m.inside(AT[0], AT[1] - h)) / (2 * h))
    np.testing.assert_allclose(got, fd, rtol=1e-6)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("checked", [True, False])
def test_a_jacobian_through_record_locals_and_callees_in_both_modes(m, mode, checked):
    got = pyclad.jacobian(m.outputs, mode=mode, checked=checked)(X, np.zeros(2))
    want = pyclad.jacobian(m.outputs_plain, mode=mode)(X, np.zeros(2))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, fd_jacobian(m.outputs, X, 2), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("checked", [True, False])
def test_a_hessian_through_record_locals_and_callees(m, checked):
    got = pyclad.hessian(m.inside, checked=checked)(*AT)
    want = pyclad.hessian(m.inside_plain)(*AT)
    np.testing.assert_allclose(got, want, rtol=1e-11)
    g = pyclad.gradient(m.inside_plain)
    h = 1e-5
    for k in range(2):
        up, down = list(AT), list(AT)
        up[k] += h
        down[k] -= h
        np.testing.assert_allclose(got[k], (np.array(g(*up)) - np.array(g(*down))) / (2 * h), rtol=1e-6)


def test_second_order_forward_mode_through_records(m):
    got = pyclad.differentiate(m.inside, "x", order=2)(*AT)
    np.testing.assert_allclose(got, pyclad.differentiate(m.inside_plain, "x", order=2)(*AT), rtol=1e-12)


def test_a_hessian_of_a_function_taking_a_record_is_taken_over_its_scalars(m):
    p = m.P(1.5, -0.5, 0)
    np.testing.assert_allclose(pyclad.hessian(m.of_record, "x")(p, 0.8), [[0.0]], atol=1e-15)
    # over the record's floating fields too (a, b in declaration order; the int n is not one)
    a, b, x = 1.5, -0.5, 0.8
    want = [[0, x, b], [x, 0, a], [b, a, 0]]  # of p.a * p.b * x, by hand
    np.testing.assert_allclose(pyclad.hessian(m.of_record)(p, x), want, atol=1e-15)
    got = pyclad.differentiate(m.of_record, ["p.a", "x"])(p, x)
    np.testing.assert_allclose(got, (b * x, a * b), rtol=1e-15)
