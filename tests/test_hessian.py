"""Hessians (pyclad.hessian: vector forward mode over the gradient) over a table of C++ functions.

pyclad's Hessian is built on its gradient, so checking it only against
finite differences of pyclad.gradient would let a bug shared by both pass.
Every Hessian is therefore checked against three references:
  - 5-point central differences of pyclad.gradient (column by column),
  - second differences of the primal itself (the C++ function, nothing of pyclad's
    derivative machinery), Richardson-extrapolated,
  - a Hessian derived by hand in Python, where the formula is short;
and it must be symmetric.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from conftest import arr
from conftest import fresh as copies

import pyclad

SOURCE = r"""
#include <pyclad/runtime.hpp>
#include <cmath>

double f(double x, double y) { return x * x * std::sin(y) + std::exp(x * y); }

double trip(double x, double y, double z) { return x * y * z + x * x * y + z / x; }

double rosen(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n - 1; i++) {
        double a = x[i + 1] - x[i] * x[i];
        double b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    return s;
}

double lse(const double* x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > m) m = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += std::exp(x[i] - m);
    return m + std::log(s);
}

double quad(const double* A, const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) s += x[i] * A[i * n + j] * x[j];
    return s;
}

double horner(const double* c, int n, double x) {
    double p = c[n - 1];
    for (int k = n - 2; k >= 0; k--) p = p * x + c[k];
    return p;
}

double branchy(double x, double y) {
    if (x > y) return x * x * y + std::sin(y);
    double e = std::exp(x);
    return e * y * y;
}

double sq(double v) { return v * v; }
double cube(double v) { return v * sq(v); }
double nested(double a, double b) { return sq(std::sin(a) * b) + cube(a + b); }

double scaled(double s, const double* x, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) t += x[i] * x[i] * x[i];
    return s * s * t + std::sin(s * x[0]);
}

double dot(const double* a, const double* b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
double dotsq(const double* x, int n) {
    double d = dot(x, x, n);
    return d * d;
}

double pair_energy(const double* x, int n) {
    double e = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double d = x[i] - x[j];
            e += 1.0 / (d * d + 1.0);
        }
    return e;
}

double local_arr(double x, double y, double z) {
    double v[3] = {x * y, y * z, z * x};
    return v[0] * v[1] + v[2] * v[2];
}

double mathy(double x, double y) {
    return std::log(x) * std::sqrt(y) + std::pow(x, 2.5) * y + std::tanh(x * y) + std::atan2(y, x);
}

double newton_sqrt(double a) {
    double r = a > 1 ? a : 1.0;
    int k = 0;
    while (k < 40) {
        r = 0.5 * (r + a / r);
        k++;
    }
    return r;
}

double smoothabs(const double* x, int n, double eps) {
    double s = 0;
    for (int i = 0; i < n; i++) s += std::sqrt(x[i] * x[i] + eps);
    return s;
}

double rpow(double x, int n) {
    if (n == 0) return 1.0;
    return x * rpow(x, n - 1);
}
double use_rpow(double x, double y) { return rpow(x, 4) * y + rpow(y, 3); }

double prodsum(const double* x, int n) {
    double p = 1, s = 0;
    for (int i = 0; i < n; i++) {
        p *= x[i];
        s += p;
    }
    return s;
}

double ternary_mix(double x, double y) {
    double a = x > 0 ? x * y : -x * x;
    double b = y > 1 ? std::log(y) * a : a * a;
    return a * b;
}

// compound assignments whose value reads the target (s += x * s): the adjoint of s
// must not feed back into the value's own partials
double compound_self(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i] * s + x[i];
    return s * s;
}
double sub_self(double x, double y) {
    double s = y;
    for (int i = 0; i < 3; i++) s -= 0.1 * x * s * s - y;
    return s;
}
double early_exit(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] < 0) return s * x[i];
        s += x[i] * x[i] * s + x[i];
    }
    return s * s;
}

double alias(const double* x, int n) {  // a local pointer into the array
    const double* p = x + 1;
    double s = 0;
    for (int i = 0; i < n - 1; i++) s += p[i] * x[i];
    return s * s;
}

// cross-entropy of a softmax computed by a callee into a local array
void softmax(const double* x, int n, double* p) {
    double mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) {
        p[i] = std::exp(x[i] - mx);
        s += p[i];
    }
    for (int i = 0; i < n; i++) p[i] /= s;
}
double cross_entropy(const double* x, int n, int label) {
    double p[8];
    softmax(x, n, p);
    return -std::log(p[label]);
}

// a small network: weights w (4 x n) and inputs x, tanh hidden layer in a local array
double mlp(const double* w, const double* x, int n) {
    double h[4];
    for (int j = 0; j < 4; j++) {
        double a = 0;
        for (int i = 0; i < n; i++) a += w[j * n + i] * x[i];
        h[j] = std::tanh(a);
    }
    double out = 0;
    for (int j = 0; j < 4; j++) out += h[j] * h[j] * (j + 1);
    return out;
}

// d/dx is piecewise constant (zero): the gradient's _d_x carries no tangent
double stepped(double x, double y) {
    int k = (int)(x * 4);
    return k * y + y * y * y;
}

float ffloat(float x, float y) { return x * x * y; }
float fcubes(const float* x, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i] * x[i];
    return s;
}

double opaque_cbrt(double x) {
    double r = x > 1 ? x / 3 : 1.0;
    for (int k = 0; k < 60; k++) r = r - (r * r * r - x) / (3 * r * r);
    return r;
}
namespace pyclad { namespace custom_derivatives {
void opaque_cbrt_pullback(double x, double _d_y, double* _d_x) {
    double r = std::cbrt(x);
    *_d_x += _d_y / (3 * r * r);
}
}}
double uses_custom(double a, double b) { return opaque_cbrt(a * b) * a; }

int not_floating(double x) { return (int)x; }
void no_return(double x, double* out) { out[0] = x; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


# ---------------------------------------------------------------- the variables of a Hessian


def directions(fn, args, wrt):
    """[(parameter index, element or None)] in the order the Hessian's rows should come:
    wrt order; an array without a range stands for all its elements, in order."""
    names = [p.name for p in fn.ir.params]
    if wrt is None:
        items = [n for n, a in zip(names, args) if isinstance(a, (float, np.ndarray))]
    else:
        items = [w.strip() for w in (wrt.split(",") if isinstance(wrt, str) else wrt)]
    out = []
    for item in items:
        mt = re.fullmatch(r"(\w+)(?:\[(\d+)(?::(\d+))?\])?", item)
        name, a, b = mt.group(1), mt.group(2), mt.group(3)
        k = names.index(name)
        if isinstance(args[k], np.ndarray):
            lo, hi = (0, len(args[k]) - 1) if a is None else (int(a), int(b if b is not None else a))
            out.extend((k, e) for e in range(lo, hi + 1))
        else:
            out.append((k, None))
    return out


def moved(args, steps):
    """Copies of args, with each (k, e) -> delta of steps added."""
    out = copies(args)
    for (k, e), delta in steps:
        if e is None:
            out[k] = out[k] + delta
        else:
            out[k][e] += delta
    return out


def fd_of_gradient(fn, args, dirs, h=1e-3):
    """Column j: 5-point central difference of pyclad.gradient along direction j."""
    names = [p.name for p in fn.ir.params]
    wrt = sorted({names[k] for k, _ in dirs}, key=names.index)
    grad = pyclad.gradient(fn, wrt)

    def g(at):
        out = grad(*at)
        return np.array(
            [out[wrt.index(names[k])] if e is None else out[wrt.index(names[k])][e] for k, e in dirs]
        )

    cols = []
    for d in dirs:
        cols.append(
            (
                8 * (g(moved(args, [(d, h)])) - g(moved(args, [(d, -h)])))
                - (g(moved(args, [(d, 2 * h)])) - g(moved(args, [(d, -2 * h)])))
            )
            / (12 * h)
        )
    return np.column_stack(cols)


def second_differences(fn, args, dirs, h=2e-3):
    """d2f / di dj from the primal alone: the 4-point mixed difference
    (f(+h,+h) - f(+h,-h) - f(-h,+h) + f(-h,-h)) / 4h^2 (for i = j, a second difference of
    step 2h), Richardson-extrapolated from h and 2h (error O(h^4))."""

    def d2(i, j, step):
        def at(si, sj):
            return fn(*moved(args, [(dirs[i], si * step), (dirs[j], sj * step)]))

        return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * step * step)

    n = len(dirs)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (4 * d2(i, j, h) - d2(i, j, 2 * h)) / 3
    return H


def assert_matrix_close(got, want, rtol, what, floor=None):
    """Entrywise |got - want| <= rtol * max(|want|, floor); floor defaults to 1e-3 max|want|
    (entries that are zero need an absolute scale: the matrix's own)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    scale = max(float(np.max(np.abs(want))), 1e-300)
    floor = 1e-3 * scale if floor is None else floor
    err = np.abs(got - want)
    bad = err > rtol * np.maximum(np.abs(want), floor)
    assert not bad.any(), (
        f"{what}: {bad.sum()} entries differ, worst {err.max():.3e} at "
        f"{np.unravel_index(np.argmax(err), err.shape)}\ngot\n{got}\nwant\n{want}"
    )


def assert_symmetric(H, what):
    scale = max(float(np.max(np.abs(H))), 1e-300)
    asym = float(np.max(np.abs(H - H.T)))
    assert asym <= 1e-12 * scale, f"{what}: not symmetric, max |H - H^T| = {asym:.3e} (max |H| {scale:.3e})"


# ---------------------------------------------------------------- hand formulas


def hand_f(x, y):
    e = math.exp(x * y)
    return np.array(
        [
            [2 * math.sin(y) + y * y * e, 2 * x * math.cos(y) + e * (1 + x * y)],
            [2 * x * math.cos(y) + e * (1 + x * y), -x * x * math.sin(y) + x * x * e],
        ]
    )


def hand_trip(x, y, z):
    return np.array(
        [
            [2 * y + 2 * z / x**3, z + 2 * x, y - 1 / x**2],
            [z + 2 * x, 0, x],
            [y - 1 / x**2, x, 0],
        ]
    )


def hand_rosen(x, n):
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
    return H


def hand_lse(x, n):
    p = np.exp(x - x.max())
    p /= p.sum()
    return np.diag(p) - np.outer(p, p)


def hand_quad_x(A, x, n):
    A = A.reshape(n, n)
    return A + A.T


def hand_horner_x(c, n, x):
    return np.array([[sum(k * (k - 1) * c[k] * x ** (k - 2) for k in range(2, n))]])


def hand_horner_cx(c, n, x):
    """wrt "c, x": rows c[0..n-1], then x."""
    H = np.zeros((n + 1, n + 1))
    for k in range(1, n):
        H[k, n] = H[n, k] = k * x ** (k - 1)
    H[n, n] = hand_horner_x(c, n, x)[0, 0]
    return H


def hand_branchy(x, y):
    if x > y:
        return np.array([[2 * y, 2 * x], [2 * x, -math.sin(y)]])
    e = math.exp(x)
    return np.array([[e * y * y, 2 * e * y], [2 * e * y, 2 * e]])


def hand_nested(a, b):
    # sin(a)^2 b^2 + (a + b)^3
    s, c, u = math.sin(a), math.cos(a), 6 * (a + b)
    return np.array(
        [
            [2 * b * b * (c * c - s * s) + u, 4 * s * c * b + u],
            [4 * s * c * b + u, 2 * s * s + u],
        ]
    )


def hand_scaled(s, x, n, rows):
    """Full Hessian over (s, x[0..n-1]), then the rows/cols asked for."""
    t = float(np.sum(x**3))
    H = np.zeros((n + 1, n + 1))
    H[0, 0] = 2 * t - x[0] ** 2 * math.sin(s * x[0])
    for i in range(n):
        H[0, 1 + i] = H[1 + i, 0] = 2 * s * 3 * x[i] ** 2
        H[1 + i, 1 + i] = s * s * 6 * x[i]
    H[0, 1] += math.cos(s * x[0]) - s * x[0] * math.sin(s * x[0])
    H[1, 0] = H[0, 1]
    H[1, 1] += -s * s * math.sin(s * x[0])
    return H[np.ix_(rows, rows)]


def hand_dotsq(x, n):
    return 8 * np.outer(x, x) + 4 * float(x @ x) * np.eye(n)


def hand_pair(x, n):
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d = x[i] - x[j]
            g2 = (6 * d * d - 2) / (d * d + 1) ** 3
            H[i, i] += g2
            H[j, j] += g2
            H[i, j] -= g2
            H[j, i] -= g2
    return H


def hand_local_arr(x, y, z):
    # x y^2 z + z^2 x^2
    return np.array(
        [
            [2 * z * z, 2 * y * z, y * y + 4 * x * z],
            [2 * y * z, 2 * x * z, 2 * x * y],
            [y * y + 4 * x * z, 2 * x * y, 2 * x * x],
        ]
    )


def hand_newton_sqrt(a):
    return np.array([[-0.25 * a**-1.5]])


def hand_smoothabs(x, n, eps):
    return np.diag(eps / (x * x + eps) ** 1.5)


def hand_use_rpow(x, y):
    return np.array([[12 * x * x * y, 4 * x**3], [4 * x**3, 6 * y]])


def hand_alias(x, n):
    s = float(np.sum(x[1:] * x[:-1]))
    g = np.zeros(n)
    g[:-1] += x[1:]
    g[1:] += x[:-1]
    hs = np.eye(n, k=1) + np.eye(n, k=-1)
    return 2 * np.outer(g, g) + 2 * s * hs


# ---------------------------------------------------------------- the table


@dataclass
class HCase:
    fn: str
    args: tuple
    wrt: object = None
    hand: Callable | None = None
    id: str = ""

    def __post_init__(self):
        if not self.id:
            self.id = self.fn if self.wrt is None else f"{self.fn}[{self.wrt}]"


X10 = arr(0.5, 1.1, 0.9, 1.3, -0.4, 0.7, 1.6, 0.2, -1.1, 0.8)
C5 = arr(0.5, -1.2, 0.8, 2.0, -0.3)
A3 = arr(1.0, 2.0, -0.5, 0.3, -1.5, 0.7, 2.2, 0.4, 0.9)  # not symmetric
X4 = arr(0.4, -0.9, 1.3, 0.6)

CASES = [
    HCase("f", (0.7, 1.3), hand=hand_f),
    HCase("f", (0.7, 1.3), wrt="y, x", hand=lambda x, y: hand_f(x, y)[::-1, ::-1], id="f[y, x] (wrt order)"),
    HCase("trip", (0.8, -1.1, 1.7), hand=hand_trip),
    HCase("rosen", (X10, 10), hand=hand_rosen, id="rosen n=10"),
    HCase("rosen", (X10[:6].copy(), 6), wrt="x[1:3]", hand=lambda x, n: hand_rosen(x, n)[1:4, 1:4]),
    HCase("lse", (arr(0.3, -1.2, 2.0, 0.5, 1.1), 5), hand=hand_lse),
    HCase("quad", (A3, arr(0.4, -0.2, 1.5), 3), wrt="x", hand=hand_quad_x),
    HCase("horner", (C5, 5, 0.7), wrt="x", hand=hand_horner_x),
    HCase("horner", (C5, 5, 0.7), wrt="c, x", hand=hand_horner_cx),
    HCase("branchy", (1.5, 0.4), hand=hand_branchy, id="branchy x>y"),
    HCase("branchy", (0.3, 0.9), hand=hand_branchy, id="branchy x<=y"),
    HCase("nested", (0.7, -0.4), hand=hand_nested),
    HCase("scaled", (0.9, X4, 4), wrt="s, x[0:2]", hand=lambda s, x, n: hand_scaled(s, x, n, [0, 1, 2, 3])),
    HCase("scaled", (0.9, X4, 4), wrt="x", hand=lambda s, x, n: hand_scaled(s, x, n, [1, 2, 3, 4])),
    HCase("scaled", (0.9, X4, 4), hand=lambda s, x, n: hand_scaled(s, x, n, [0, 1, 2, 3, 4])),
    HCase("dotsq", (X4, 4), hand=hand_dotsq),
    HCase("pair_energy", (arr(0.1, 0.9, -0.6, 1.7, 0.4), 5), hand=hand_pair),
    HCase("local_arr", (0.8, -1.1, 1.7), hand=hand_local_arr),
    HCase("mathy", (1.3, 0.8)),
    HCase("newton_sqrt", (2.7,), hand=hand_newton_sqrt),
    HCase("smoothabs", (arr(0.3, -0.1, 0.05, -0.7), 4, 0.01), wrt="x", hand=hand_smoothabs),
    HCase("use_rpow", (0.9, 1.4), hand=hand_use_rpow),
    HCase("prodsum", (arr(0.9, 1.3, -0.7, 1.1, 0.6), 5)),
    HCase("compound_self", (arr(0.5, 1.0, 0.3), 3)),
    HCase("sub_self", (0.7, 1.3)),
    HCase("early_exit", (arr(0.5, 1.0, -0.3, 2.0), 4), id="early_exit taken"),
    HCase("early_exit", (arr(0.5, 1.0, 0.3, 0.2), 4), id="early_exit not taken"),
    HCase("alias", (arr(0.5, 1.0, -0.3, 2.0), 4), hand=lambda x, n: hand_alias(x, n)),
    HCase("stepped", (0.7, 1.3), hand=lambda x, y: np.array([[0.0, 0.0], [0.0, 6 * y]])),
    HCase("stepped", (0.7, 1.3), wrt="x", hand=lambda x, y: np.zeros((1, 1)), id="stepped[x] (all zero)"),
    HCase("cross_entropy", (arr(0.3, -1.2, 2.0, 0.5), 4, 2), hand=lambda x, n, k: hand_lse(x, n)),
    HCase("mlp", (np.linspace(-1, 1, 12), arr(0.5, -0.3, 0.8), 3), id="mlp (w, x)"),
    HCase("mlp", (np.linspace(-1, 1, 12), arr(0.5, -0.3, 0.8), 3), wrt="w[4:7], x[1:2]"),
    HCase("ternary_mix", (0.7, 1.6), id="ternary_mix a"),
    HCase("ternary_mix", (-0.7, 0.6), id="ternary_mix b"),
]


def test_case_count():
    assert len(CASES) >= 16
    assert len({c.fn for c in CASES}) >= 16


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hessian_against_references(m, case):
    fn = getattr(m, case.fn)
    dirs = directions(fn, case.args, case.wrt)
    H = pyclad.hessian(fn, case.wrt)(*copies(case.args))
    assert isinstance(H, np.ndarray) and H.shape == (len(dirs), len(dirs))
    assert_symmetric(H, case.id)
    assert_matrix_close(
        H, fd_of_gradient(fn, case.args, dirs), 1e-6, f"{case.id} vs differences of the gradient"
    )
    assert_matrix_close(H, second_differences(fn, case.args, dirs), 1e-5, f"{case.id} vs second differences")
    if case.hand is not None:
        assert_matrix_close(H, case.hand(*case.args), 1e-12, f"{case.id} vs hand formula", floor=1e-12)


def test_gradient_of_compound_self_assignment(m):
    """The bug the asymmetric Hessians of compound_self exposed was in the gradient:
    check it against the primal directly (its hand formula: s = x0 (1 + x1) + x1, f = s^2)."""
    x = arr(0.5, 1.0)
    (g,) = pyclad.gradient(m.compound_self)(x, 2)
    s = x[0] * x[0] * 0 + x[0]
    s = s + x[1] * x[1] * s + x[1]
    s1 = x[0]
    want = 2 * s * np.array([1 + x[1] * x[1], 2 * x[1] * s1 + 1])
    assert_matrix_close(g, want, 1e-14, "compound_self gradient", floor=1e-12)


def test_rosenbrock_n10_is_tridiagonal_and_exact(m):
    H = pyclad.hessian(m.rosen)(X10, 10)
    assert np.array_equal(H, np.triu(np.tril(H, 1), -1))
    assert_matrix_close(H, hand_rosen(X10, 10), 1e-14, "rosen", floor=1e-12)


def test_index_range_is_a_sub_block_of_the_full_hessian(m):
    x = X10[:6].copy()
    full = pyclad.hessian(m.rosen)(x, 6)
    for a, b in [(1, 3), (0, 0), (2, 5), (0, 5)]:
        sub = pyclad.hessian(m.rosen, f"x[{a}:{b}]")(x, 6)
        assert_matrix_close(sub, full[a : b + 1, a : b + 1], 1e-14, f"x[{a}:{b}]", floor=1e-12)


def test_mixed_wrt_is_a_sub_block(m):
    s, x = 0.9, X4
    full = pyclad.hessian(m.scaled, "s, x")(s, x, 4)
    mixed = pyclad.hessian(m.scaled, "s, x[0:2]")(s, x, 4)
    assert_matrix_close(mixed, full[:4, :4], 1e-14, "s, x[0:2]", floor=1e-12)
    tail = pyclad.hessian(m.scaled, "x[2:3], s")(s, x, 4)
    idx = [3, 4, 0]
    assert_matrix_close(tail, full[np.ix_(idx, idx)], 1e-14, "x[2:3], s", floor=1e-12)


def test_same_hessian_object_at_other_lengths_and_points(m):
    H = pyclad.hessian(m.lse)
    for x in (arr(0.1, 0.2), arr(1.0, -2.0, 0.5), np.linspace(-1, 1, 7)):
        assert_matrix_close(H(x, len(x)), hand_lse(x, len(x)), 1e-9, f"lse n={len(x)}", floor=1e-12)


def test_quadratic_form_does_not_differentiate_A(m):
    """A is a floating array but not in wrt: the Hessian is n x n, constant in x."""
    H = pyclad.hessian(m.quad, "x")
    for x in (arr(0.4, -0.2, 1.5), arr(10.0, 3.0, -7.0)):
        assert_matrix_close(H(A3, x, 3), hand_quad_x(A3, x, 3), 1e-14, "quad", floor=1e-12)


def test_gradient_after_an_uncalled_hessian():
    """hessian() generates the gradient up front (to report errors early); a later
    pyclad.gradient must still compile and run it (it used to find it 'already there')."""
    mod = pyclad.cppdef("double k(double x, double y) { return x * x * y; }")
    pyclad.hessian(mod.k)
    assert pyclad.gradient(mod.k)(3.0, 2.0) == (12.0, 9.0)
    assert_matrix_close(pyclad.hessian(mod.k)(3.0, 2.0), [[4.0, 6.0], [6.0, 0.0]], 1e-15, "k", floor=1e-12)


def test_hessian_leaves_the_callers_arrays_alone(m):
    x = X4.copy()
    pyclad.hessian(m.dotsq)(x, 4)
    assert np.array_equal(x, X4)


def test_hessian_code_is_cpp(m):
    H = pyclad.hessian(m.f)  # scalars: compiled at once
    assert "f_grad" in H.code and "::pyclad::vec<2>" in H.code
    H = pyclad.hessian(m.rosen, "x[1:3]")  # explicit ranges: compiled at once too
    assert "rosen_grad" in H.code and "::pyclad::vec<3>" in H.code
    H = pyclad.hessian(m.rosen)  # a whole array: the kernel is made for the first call's length
    assert H.code == ""
    H(X10, 10)
    assert "::pyclad::vec<10>" in H.code


def test_float_functions(m):
    """float params: the gradient's adjoint outputs are float buffers."""
    H = pyclad.hessian(m.ffloat)(0.7, 1.3)
    assert_matrix_close(H, [[2 * 1.3, 2 * 0.7], [2 * 0.7, 0]], 1e-6, "ffloat", floor=1e-6)
    x = np.array([0.5, 1.0, -2.0], dtype=np.float32)
    H = pyclad.hessian(m.fcubes)(x, 3)
    assert_matrix_close(H, np.diag(6 * x.astype(float)), 1e-6, "fcubes", floor=1e-6)


def test_hessian_through_a_custom_pullback_is_a_clear_error(m):
    """Forward over reverse would need the custom pullback's own derivative."""
    with pytest.raises(pyclad.PycladError) as info:  # scalars only: reported by hessian() itself
        pyclad.hessian(m.uses_custom)
    assert "opaque_cbrt_pullback" in str(info.value)
    assert f"<string>:{_line('double uses_custom')}:" in str(info.value)
    still_works(m)
    # the gradient itself is fine
    (ga, _gb) = pyclad.gradient(m.uses_custom)(1.7, 0.6)
    c = np.cbrt(1.7 * 0.6)
    assert math.isclose(ga, c + 1.7 * 0.6 / (3 * c * c), rel_tol=1e-13)


# ---------------------------------------------------------------- errors


def _line(text):
    return next(i for i, ln in enumerate(SOURCE.splitlines(), 1) if text in ln)


def still_works(m):
    got = pyclad.hessian(m.f)(0.7, 1.3)
    assert_matrix_close(got, hand_f(0.7, 1.3), 1e-12, "f after an error", floor=1e-12)


def test_index_range_outside_the_array_is_an_argument_error_at_call_time(m):
    H = pyclad.hessian(m.rosen, "x[0:9]")  # fine until it is called with a shorter array
    with pytest.raises(pyclad.ArgumentError) as info:
        H(arr(0.5, 1.1, 0.9, 1.3), 4)
    err = info.value
    assert isinstance(err, TypeError) and isinstance(err, pyclad.PycladError)
    assert f"<string>:{_line('double rosen(')}:" in str(err)
    assert "x[0:9]" in str(err) and "4" in str(err)
    still_works(m)
    # the same Hessian object works with an array that is long enough
    got = H(X10, 10)
    assert_matrix_close(got, hand_rosen(X10, 10), 1e-14, "rosen x[0:9]", floor=1e-12)


def test_hessian_of_a_function_without_floating_result(m):
    for name in ("not_floating", "no_return"):
        with pytest.raises(pyclad.PycladError) as info:
            pyclad.hessian(getattr(m, name))
        assert re.search(r"<string>:\d+:\d+", str(info.value)), str(info.value)
    still_works(m)


@pytest.mark.parametrize("wrt", ["n", "z", "x[2:1]", "x, x"])
def test_hessian_bad_wrt(m, wrt):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.hessian(m.rosen, wrt)
    assert isinstance(info.value, ValueError)
    assert re.search(r"<string>:\d+:\d+", str(info.value)), str(info.value)
    still_works(m)


def test_hessian_wrong_argument_count(m):
    H = pyclad.hessian(m.f)
    with pytest.raises(pyclad.ArgumentError) as info:
        H(0.7)
    assert re.search(r"<string>:\d+:\d+", str(info.value)), str(info.value)
    still_works(m)
