"""Dynamic memory in differentiated code: ``new[]`` / ``delete[]``, ``new T(x)`` /
``delete``, ``malloc`` / ``calloc`` / ``free`` scratch buffers with their casts, and local
pointers into them.

The shadow of a buffer is allocated beside it, zeroed; in reverse mode what the primal
frees is released after the reverse sweep, which may still read it (an index buffer freed
before ``return``).  Every derivative is compared with finite differences of the primal and
with the same function written with plain arrays and scalars (``*_plain``)."""

import numpy as np
import pytest
from conftest import arr, assert_close, assert_forward_agrees, assert_gradients_agree, fd

import pyclad

SOURCE = """\
#include <cstdlib>

double cubes(const double* x, int n) {
    double* t = new double[n];
    for (int i = 0; i < n; i++) t[i] = x[i] * x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += t[i] * x[i];
    delete[] t;
    return s;
}
double cubes_plain(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i] * x[i];
    return s;
}

double boxed(double x, double y) {
    double* p = new double(x);
    *p = *p * y;
    double* q = new double;
    *q = *p + x;
    double* z = new double();
    *z += *q * *p;
    double r = *z;
    delete p;
    delete q;
    delete z;
    return r;
}
double boxed_plain(double x, double y) { return (x * y + x) * (x * y); }

double scratch(const double* x, int n) {
    double* t = (double*)malloc(n * sizeof(double));
    double* u = static_cast<double*>(calloc(n, sizeof(double)));
    for (int i = 0; i < n; i++) {
        t[i] = x[i] * 2.0;
        u[i] += t[i] * x[i];
    }
    double* p = t + 1;
    double s = 0;
    for (int i = 0; i < n - 1; i++) s += p[i] * u[i];
    free(t);
    free(u);
    return s;
}
double scratch_plain(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n - 1; i++) s += 2.0 * x[i + 1] * (2.0 * x[i] * x[i]);
    return s;
}

// The index buffer is freed before the return: the reverse sweep reads it afterwards.
double reversed_dot(const double* x, int n) {
    int* idx = (int*)malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[idx[i]] * x[i] * x[i];
    free(idx);
    return s;
}
double reversed_dot_new(const double* x, int n) {
    int* idx = new int[n];
    for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[idx[i]] * x[i] * x[i];
    delete[] idx;
    return s;
}
double reversed_dot_plain(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[n - 1 - i] * x[i] * x[i];
    return s;
}

// A scratch buffer allocated and freed in every trip of a loop, overwritten each time.
double rounds(const double* x, int n) {
    double s = 1.0;
    for (int r = 0; r < 3; r++) {
        double* w = new double[n]();
        for (int i = 0; i < n; i++) w[i] += s * x[i];
        s = 0.5 * s;
        for (int i = 0; i < n; i++) s += w[i] * w[i];
        delete[] w;
    }
    return s;
}
double rounds_plain(const double* x, int n) {
    double s = 1.0;
    for (int r = 0; r < 3; r++) {
        double q = 0;
        for (int i = 0; i < n; i++) q += (s * x[i]) * (s * x[i]);
        s = 0.5 * s + q;
    }
    return s;
}

double initialised(const double* x, double c) {
    double* v = new double[3]{c, 2.0, x[1]};
    double s = v[0] * v[2] + v[1] * x[0];
    delete[] v;
    return s;
}
double initialised_plain(const double* x, double c) { return c * x[1] + 2.0 * x[0]; }

void spread(const double* x, int n, double* out) {
    double* t = (double*)malloc(n * sizeof(double));
    double* u = new double[n];
    for (int i = 0; i < n; i++) {
        t[i] = x[i] * x[i];
        u[i] = x[(i + 1) % n];
    }
    for (int i = 0; i < n; i++) out[i] = t[i] * u[i];
    free(t);
    delete[] u;
}

double overrun(const double* x, int n) {
    double* t = new double[n];
    for (int i = 0; i <= n; i++) t[i] = x[0] * i;
    double s = t[1];
    delete[] t;
    return s;
}
"""

X = arr(0.7, -1.3, 2.1, 0.4)
N = 4

# name, arguments, (index of each differentiated argument, its elements or None)
CASES = {
    "cubes": ((X, N), ((0, range(N)),)),
    "boxed": ((0.8, -1.7), ((0, None), (1, None))),
    "scratch": ((X, N), ((0, range(N)),)),
    "reversed_dot": ((X, N), ((0, range(N)),)),
    "reversed_dot_new": ((X, N), ((0, range(N)),)),
    "rounds": ((X, N), ((0, range(N)),)),
    "initialised": ((X[:2], 1.3), ((0, range(2)), (1, None))),
}
PLAIN = {"reversed_dot_new": "reversed_dot_plain"}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def _plain(m, case):
    return getattr(m, PLAIN.get(case, f"{case}_plain"))


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_gradient_matches_finite_differences_and_the_plain_function(m, case, checked):
    args, wrt = CASES[case]
    assert_gradients_agree(getattr(m, case), _plain(m, case), args, wrt, checked, case)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_mode_matches_finite_differences_and_the_plain_function(m, case, checked):
    args, wrt = CASES[case]
    assert_forward_agrees(getattr(m, case), _plain(m, case), args, wrt, checked, case)


def test_vector_mode_gives_every_direction_of_a_buffer_function_at_once(m):
    got = pyclad.differentiate(m.scratch, "x")(X, N)
    for e in range(N):
        assert_close(got[e], fd(m.scratch, [X, N], 0, e), what=f"x[{e}]")


def test_the_hessian_of_a_function_with_a_scratch_buffer_matches_the_plain_one(m):
    h = pyclad.hessian(m.rounds, "x[0:3]")(X, N)
    want = pyclad.hessian(m.rounds_plain, "x[0:3]")(X, N)
    assert np.allclose(h, want, rtol=1e-10, atol=1e-12)
    x, y = 0.8, -1.7
    # boxed = x^2 (y + 1) y: d2/dx2 = 2 (y + 1) y, d2/dxdy = 2 x (2 y + 1), d2/dy2 = 2 x^2
    want = [[2 * (y + 1) * y, 2 * x * (2 * y + 1)], [2 * x * (2 * y + 1), 2 * x * x]]
    assert np.allclose(pyclad.hessian(m.boxed)(x, y), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_the_jacobian_through_scratch_buffers_is_the_hand_derived_one(m, mode, checked):
    jac = pyclad.jacobian(m.spread, mode=mode, checked=checked)(X, N, np.zeros(N))
    want = np.zeros((N, N))
    for i in range(N):
        want[i, i] += 2 * X[i] * X[(i + 1) % N]
        want[i, (i + 1) % N] += X[i] * X[i]
    assert np.allclose(jac, want, rtol=1e-12, atol=0)


def test_the_shadow_buffer_is_allocated_zeroed_beside_the_primal_one(m):
    fwd = pyclad.differentiate(m.cubes, "x[0]").code
    assert "double *_d_t = new double[n]();" in fwd and "delete[] _d_t;" in fwd
    rev = pyclad.gradient(m.scratch, "x").code
    assert "_d_t = static_cast<double *>(::calloc(n, sizeof(double)));" in rev


def test_reverse_mode_releases_what_the_primal_frees_after_the_reverse_sweep(m):
    code = pyclad.gradient(m.reversed_dot, "x").code
    assert "::free(idx)" not in code  # not where the primal frees it: the reverse sweep reads idx[i]
    assert "_released.free(idx)" in code
    assert "::pyclad::deferred_release _released" in code
    assert "_d_idx" not in code  # an integer buffer carries no shadow


def test_a_write_past_an_allocated_buffer_is_a_bounds_error_in_the_checked_variant(m):
    for mode in (lambda f: pyclad.gradient(f, "x"), lambda f: pyclad.differentiate(f, "x[0]")):
        with pytest.raises(pyclad.BoundsError, match="a buffer from new"):
            mode(m.overrun)(X, N)


def test_placement_new_and_realloc_are_located_errors_not_wrong_derivatives():
    src = (
        "#include <new>\n#include <cstdlib>\n"
        "double place(double x) { double buf[2]; double* p = new (buf) double(x); return *p * x; }\n"
        "double grow(const double* x, int n) {\n"
        "    double* t = (double*)malloc(n * sizeof(double));\n"
        "    t = (double*)realloc(t, 2 * n * sizeof(double));\n"
        "    t[0] = x[0];\n"
        "    double s = t[0] * x[0];\n"
        "    free(t);\n"
        "    return s;\n"
        "}\n"
    )
    m = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError, match="placement new") as info:
        pyclad.gradient(m.place)
    assert ":3:" in str(info.value)
    with pytest.raises(pyclad.PycladError, match=r"<string>:6:\d+:"):
        pyclad.gradient(m.grow, "x")
    with pytest.raises(pyclad.PycladError, match="realloc"):
        pyclad.differentiate(m.grow, "x[0]")


def test_the_shadow_of_a_buffer_the_caller_owns_is_never_released():
    """A primal that frees its parameter frees the caller's memory; the derivative frees the
    same, but never the caller's adjoint or tangent buffer."""
    src = """\
double consume(double* x, int n) {
    double* t = new double[n];
    for (int i = 0; i < n; i++) t[i] = x[i] * x[i];
    double s = t[0] * x[1];
    delete[] t;
    delete[] x;
    return s;
}
"""
    m = pyclad.cppdef(src)
    rev = pyclad.gradient(m.consume, "x").code
    assert "_released.delete_array(x);" in rev and "_released.delete_array(_d_t);" in rev
    assert "delete_array(_d_x)" not in rev
    fwd = pyclad.differentiate(m.consume, "x[0]").code
    assert "delete[] x;" in fwd and "delete[] _d_t;" in fwd and "delete[] _d_x" not in fwd
