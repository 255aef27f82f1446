"""`pyclad gen` headers for dynamic memory, reference locals, 2-D local arrays and in-place
updates through calls, built with g++ -Wall -Wextra -Werror and run under AddressSanitizer
and UBSan (no leak, no use after free, no overrun), their numbers equal to the JIT path's
and to finite differences of the primal."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <cmath>
#include <cstdlib>

double cubes(const double* x, int n) {
    double* t = new double[n];
    for (int i = 0; i < n; i++) t[i] = x[i] * x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += t[i] * x[i];
    delete[] t;
    return s;
}
double boxed(double x, double y) {
    double* p = new double(x);
    *p = *p * y;
    double r = *p * x;
    delete p;
    return r;
}
double reversed_dot(const double* x, int n) {
    int* idx = (int*)malloc(n * sizeof(int));
    double* w = static_cast<double*>(calloc(n, sizeof(double)));
    for (int i = 0; i < n; i++) {
        idx[i] = n - 1 - i;
        w[i] = x[i] * x[i];
    }
    double* p = w + 1;
    double s = 0;
    for (int i = 0; i < n - 1; i++) s += x[idx[i]] * p[i];
    free(idx);
    free(w);
    return s;
}
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
double bump(double* v, const double* a, double x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        double& r = v[i];
        const double& c = a[n - 1 - i];
        r += x * c;
        s += r * r * c;
    }
    return s;
}
double gram(const double* x) {
    double m[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) m[i][j] = x[i] * x[j];
    for (int i = 0; i < 3; i++) m[i][i] += x[i];
    double s = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) s += m[i][j] * m[j][i];
    return s;
}
void distort(double* proj, double k1) {
    double r2 = proj[0] * proj[0] + proj[1] * proj[1];
    proj[0] = proj[0] * (1.0 + k1 * r2);
    proj[1] = proj[1] * (1.0 + k1 * r2);
}
double reproject(const double* cam, const double* pt) {
    double proj[2];
    proj[0] = pt[0] / pt[2] + cam[0];
    proj[1] = pt[1] / pt[2] + cam[1];
    distort(proj, cam[2]);
    return proj[0] * proj[0] + proj[1] * proj[1];
}
void step(double* state, const double* w, int n) {
    for (int i = 0; i < n; i++) state[i] = std::sin(state[i] * w[i]) + 0.5 * state[(i + 1) % n];
}
double run(const double* w, int n, int steps) {
    double* state = new double[n]();
    double loss = 0;
    for (int t = 0; t < steps; t++) {
        state[t % n] += 1.0;
        step(state, w, n);
        loss += state[0] * state[n - 1];
    }
    delete[] state;
    return loss;
}
double gather(const double* x, const int* idx, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += x[idx[k]] * x[idx[k]] * x[k];
    return s;
}
"""

X = [0.7, -1.3, 2.1, 0.4]
V = [0.3, -0.6, 1.1]
A = [1.2, 0.4, -0.9]
IDX = [2, 0, 3, 1]

# (function, wrt, the C++ statements that compute and print the gradient, its Python arguments,
# the differentiated arguments' indices)
CALLS = [
    ("cubes", "x", "double d[4] = {0}; cubes_grad(x, 4, d); P4(d);", lambda: (np.array(X), 4), [0]),
    (
        "boxed",
        "x, y",
        "double a = 0, b = 0; boxed_grad(0.8, -1.7, &a, &b); P2(a, b);",
        lambda: (0.8, -1.7),
        [0, 1],
    ),
    (
        "reversed_dot",
        "x",
        "double d[4] = {0}; reversed_dot_grad(x, 4, d); P4(d);",
        lambda: (np.array(X), 4),
        [0],
    ),
    ("rounds", "x", "double d[4] = {0}; rounds_grad(x, 4, d); P4(d);", lambda: (np.array(X), 4), [0]),
    (
        "bump",
        "v, a, x",
        (
            "double v[3] = {0.3, -0.6, 1.1}; double a[3] = {1.2, 0.4, -0.9}; double dv[3] = {0}, da[3] = {0};"
            " double dx = 0; bump_grad(v, a, 0.8, 3, dv, da, &dx); P3(dv); P3(da); P1(dx);"
        ),
        lambda: (np.array(V), np.array(A), 0.8, 3),
        [0, 1, 2],
    ),
    ("gram", "x", "double d[3] = {0}; gram_grad(x, d); P3(d);", lambda: (np.array(X[:3]),), [0]),
    (
        "reproject",
        "cam, pt",
        (
            "double cam[3] = {0.1, -0.2, 0.05}, pt[3] = {0.4, -0.3, 2.0}, dc[3] = {0}, dp[3] = {0};"
            " reproject_grad(cam, pt, dc, dp); P3(dc); P3(dp);"
        ),
        lambda: (np.array([0.1, -0.2, 0.05]), np.array([0.4, -0.3, 2.0])),
        [0, 1],
    ),
    ("run", "w", "double d[3] = {0}; run_grad(x, 3, 5, d); P3(d);", lambda: (np.array(X[:3]), 3, 5), [0]),
    (
        "gather",
        "x",
        "int idx[4] = {2, 0, 3, 1}; double d[4] = {0}; gather_grad(x, idx, 4, d); P4(d);",
        lambda: (np.array(X), np.array(IDX, dtype=np.int32), 4),
        [0],
    ),
]

MAIN = """\
#include <cstdio>
#include "model.cpp"
#include "grad.hpp"
#define P1(a) std::printf("%.17g\\n", a)
#define P2(a, b) std::printf("%.17g %.17g\\n", a, b)
#define P3(d) std::printf("%.17g %.17g %.17g\\n", d[0], d[1], d[2])
#define P4(d) std::printf("%.17g %.17g %.17g %.17g\\n", d[0], d[1], d[2], d[3])
int main() {
    double x[4] = {0.7, -1.3, 2.1, 0.4};
    (void)x;
BODY
    return 0;
}
"""


def _flat(got):
    out = []
    for g in got if isinstance(got, tuple) else (got,):
        out.extend(np.ravel(g).tolist())
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    tmp = tmp_path_factory.mktemp("memgen")
    (tmp / "model.cpp").write_text(MODEL)
    args = []
    for name, _, _, _, _ in CALLS:
        args += ["-f", name]  # each w.r.t. all its floating parameters
    r = pyclad_cli("gen", "model.cpp", "--mode", "reverse", *args, "-o", "grad.hpp", cwd=tmp)
    assert r.returncode == 0, r.stderr
    body = "\n".join("    { " + stmts + " }" for _, _, stmts, _, _ in CALLS)
    (tmp / "main.cpp").write_text(MAIN.replace("BODY", body))
    out, warnings = gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")
    rows = [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    return (tmp / "grad.hpp").read_text(), rows, warnings


@pytest.fixture(scope="module")
def jit():
    return pyclad.cppdef(MODEL)


def test_the_headers_build_warning_free_and_run_clean_under_the_sanitizers(built):
    code, _, warnings = built
    assert "warning" not in warnings
    assert "::pyclad::deferred_release" in code and "delete[] t" not in code
    assert (
        "distort_reverse_forw(proj, cam[2], _log)" in code and "step_reverse_forw(state, w, n, _log)" in code
    )


def test_the_header_gradients_equal_the_jit_ones_and_finite_differences(built, jit):
    _, rows, _ = built
    printed = [v for row in rows for v in row]
    k = 0
    for name, wrt, _, make, indices in CALLS:
        fn = getattr(jit, name)
        got = _flat(pyclad.gradient(fn, [w.strip() for w in wrt.split(",")])(*make()))
        want_fd = []
        for i in indices:
            a = make()[i]
            for e in range(a.size) if isinstance(a, np.ndarray) else (None,):
                want_fd.append(fd(fn, list(make()), i, e))
        n = len(got)
        for g, p, f in zip(got, printed[k : k + n], want_fd):
            assert math.isclose(p, g, rel_tol=1e-12, abs_tol=1e-14), (name, printed[k : k + n], got)
            assert math.isclose(p, f, rel_tol=1e-8, abs_tol=1e-10), (name, printed[k : k + n], want_fd)
        k += n
    assert k == len(printed)


def test_the_forward_headers_build_and_run_clean_under_the_sanitizers(tmp_path, jit):
    (tmp_path / "model.cpp").write_text(MODEL)
    for out, args in (
        ("fwd_x.hpp", ["-f", "cubes", "-f", "reversed_dot", "-f", "gram", "--wrt", "x"]),
        ("fwd_s.hpp", ["-f", "boxed", "--wrt", "x"]),
    ):
        r = pyclad_cli("gen", "model.cpp", "--mode", "forward", *args, "-o", out, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    main = """\
#include <cstdio>
#include "model.cpp"
#include "fwd_x.hpp"
#include "fwd_s.hpp"
int main() {
    double x[4] = {0.7, -1.3, 2.1, 0.4};
    for (int k = 0; k < 4; k++) {
        double e[4] = {0, 0, 0, 0};
        e[k] = 1;
        std::printf("%.17g %.17g", cubes_darg0(x, 4, e), reversed_dot_darg0(x, 4, e));
        std::printf(" %.17g\\n", k < 3 ? gram_darg0(x, e) : 0.0);
    }
    std::printf("%.17g\\n", boxed_darg0(0.8, -1.7));
    return 0;
}
"""
    (tmp_path / "main.cpp").write_text(main)
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert "warning" not in warnings
    rows = [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    x = np.array(X)
    for k in range(4):
        for col, name in enumerate(("cubes", "reversed_dot")):
            want = fd(getattr(jit, name), [x, 4], 0, k)
            assert math.isclose(rows[k][col], want, rel_tol=1e-8, abs_tol=1e-10), (name, k, rows[k])
        if k < 3:
            assert math.isclose(rows[k][2], fd(jit.gram, [x[:3]], 0, k), rel_tol=1e-8), ("gram", k)
    want = pyclad.differentiate(jit.boxed, "x")(0.8, -1.7)
    assert math.isclose(rows[4][0], want, rel_tol=1e-12)
    assert math.isclose(rows[4][0], 2 * 0.8 * -1.7, rel_tol=1e-12)
