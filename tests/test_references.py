"""Reference locals (``double& r = v[i]; r += x;``, ``const double& c = a[j];``, references
to scalars) and multi-dimensional local arrays (``double m[3][3]``, nested loops over them,
``m[i][j] += ...``) in forward and reverse mode.

A scalar reference local is lowered as the pointer it is (``double* r = &v[i]``, each use
``*r``); one bound to a temporary holds a copy.  Each derivative is compared with finite
differences and with the same function written without references or 2-D arrays
(``*_plain``)."""

import numpy as np
import pytest
from conftest import arr, assert_close, assert_forward_agrees, assert_gradients_agree, fd

import pyclad

SOURCE = """\
double bump(double* v, const double* a, double x, int n) {
    double s = 0;
    double& acc = s;
    for (int i = 0; i < n; i++) {
        double& r = v[i];
        const double& c = a[n - 1 - i];
        r += x * c;
        r *= r;
        acc += r * c;
    }
    const double& twice = 2.0 * x;
    return s + twice * v[0];
}
double bump_plain(double* v, const double* a, double x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        v[i] = (v[i] + x * a[n - 1 - i]) * (v[i] + x * a[n - 1 - i]);
        s += v[i] * a[n - 1 - i];
    }
    return s + 2.0 * x * v[0];
}

double scale_ref(double x, double y) {
    double t = x;
    double& u = t;
    u *= y;
    double& w = u;
    w += x * x;
    return t * u;
}
double scale_ref_plain(double x, double y) { return (x * y + x * x) * (x * y + x * x); }

double gram(const double* x) {
    double m[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) m[i][j] = x[i] * x[j];
    for (int i = 0; i < 3; i++) m[i][i] += x[i];
    double s = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) s += m[i][j] * m[j][i] * (i + 1);
    return s;
}
double gram_plain(const double* x) {
    double s = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double a = x[i] * x[j] + (i == j ? x[i] : 0.0);
            s += a * a * (i + 1);
        }
    return s;
}

double rotate(const double* x) {
    double r[2][2] = {{x[0], -x[1]}, {x[1], x[0]}};
    double p[2] = {1.5, -0.5};
    double q0 = r[0][0] * p[0] + r[0][1] * p[1];
    double q1 = r[1][0] * p[0] + r[1][1] * p[1];
    return q0 * q0 * q1;
}
double rotate_plain(const double* x) {
    double q0 = x[0] * 1.5 - x[1] * -0.5;
    double q1 = x[1] * 1.5 + x[0] * -0.5;
    return q0 * q0 * q1;
}
"""

V = arr(0.3, -0.6, 1.1)
A = arr(1.2, 0.4, -0.9)
X3 = arr(0.7, -1.3, 0.5)

CASES = {
    "bump": ((V, A, 0.8, 3), ((0, range(3)), (1, range(3)), (2, None))),
    "scale_ref": ((0.9, -1.4), ((0, None), (1, None))),
    "gram": ((X3,), ((0, range(3)),)),
    "rotate": ((X3[:2],), ((0, range(2)),)),
}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_gradient_matches_finite_differences_and_the_plain_function(m, case, checked):
    args, wrt = CASES[case]
    assert_gradients_agree(getattr(m, case), getattr(m, f"{case}_plain"), args, wrt, checked, case)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_mode_matches_finite_differences_and_the_plain_function(m, case, checked):
    args, wrt = CASES[case]
    assert_forward_agrees(getattr(m, case), getattr(m, f"{case}_plain"), args, wrt, checked, case)


def test_a_reference_local_is_the_pointer_it_is_in_generated_code(m):
    code = pyclad.gradient(m.bump, ["v", "x"]).code
    assert "double *r = &v[i];" in code or "r = &v[i];" in code
    assert "_d_r = &_d_v[i];" in code


def test_vector_mode_and_the_hessian_through_a_two_dimensional_local_array(m):
    got = pyclad.differentiate(m.gram, "x")(X3)
    for e in range(3):
        assert_close(got[e], fd(m.gram, [X3], 0, e), what=f"x[{e}]")
    h = pyclad.hessian(m.gram, "x[0:2]")(X3)
    assert np.allclose(h, pyclad.hessian(m.gram_plain, "x[0:2]")(X3), rtol=1e-10, atol=1e-12)
    h = pyclad.hessian(m.scale_ref)(0.9, -1.4)
    assert np.allclose(h, pyclad.hessian(m.scale_ref_plain)(0.9, -1.4), rtol=1e-10, atol=1e-12)


def test_the_jacobian_of_a_function_with_reference_locals_is_the_plain_one(m):
    src = """
    void spin(const double* x, double* out) {
        for (int i = 0; i < 2; i++) { double& o = out[i]; const double& a = x[1 - i]; o = a * x[i]; }
    }
    """
    j = pyclad.jacobian(pyclad.cppdef(src).spin)(X3[:2], np.zeros(2))
    want = [[X3[1], X3[0]], [X3[1], X3[0]]]
    assert np.allclose(j, want, rtol=1e-12, atol=0)
