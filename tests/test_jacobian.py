"""Jacobians (pyclad.jacobian), both modes, over a table of C++ maps.

Every Jacobian is computed in forward mode (vector forward mode) and in reverse
mode (one pullback per row) and each is checked against references pyclad did
not produce: 5-point central finite differences of the primal (column by
column) and, where the formula is short, a Jacobian derived by hand in Python.
The two modes must also agree with each other, and mode="auto" must pick
forward when there are no more inputs than outputs, reverse otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from conftest import arr

import pyclad

SOURCE = r"""
#include <pyclad/runtime.hpp>
#include <cmath>

void h(const double* x, double* out) {
    out[0] = x[0] * x[1];
    out[1] = std::sin(x[0]) + x[2];
    out[2] = x[1] * x[1];
}

void g(double a, double b, double* out) {
    out[0] = a * b;
    out[1] = std::sin(a) * std::exp(b);
    out[2] = a / b;
    out[3] = std::sqrt(a * a + b * b);
}

void polar(double r, double th, double* p) {
    p[0] = r * std::cos(th);
    p[1] = r * std::sin(th);
}

void scale_sq(double s, const double* x, int n, double* out) {
    for (int i = 0; i < n; i++)
        out[i] = s * x[i] * x[i] + std::sin(s * x[i]);
}

void two_out(const double* x, double* a, double* b) {
    a[0] = x[0] * x[1];
    a[1] = x[0] + x[1] * x[2];
    b[0] = std::sin(x[0]);
    b[1] = x[1] * x[1] * x[1];
    b[2] = x[0] / x[2];
}

void lorenz(const double* u, double sigma, double rho, double beta, double* du) {
    du[0] = sigma * (u[1] - u[0]);
    du[1] = u[0] * (rho - u[2]) - u[1];
    du[2] = u[0] * u[1] - beta * u[2];
}

// Method of lines for u_t = (kappa(u) u_x)_x + r u (1 - u) on n interior points,
// zero Dirichlet boundaries: nested user calls inside a loop.
double kappa(double u) { return 1.0 + 0.5 * u * u; }
double flux(double ul, double ur, double dx) {
    double k = 0.5 * (kappa(ul) + kappa(ur));
    return k * (ur - ul) / dx;
}
double reaction(double u, double r) { return r * u * (1.0 - u); }
void heat_rhs(const double* u, double r, int n, double* du) {
    double dx = 1.0 / (n + 1);
    for (int i = 0; i < n; i++) {
        double ul = i > 0 ? u[i - 1] : 0.0;
        double ur = i < n - 1 ? u[i + 1] : 0.0;
        du[i] = (flux(u[i], ur, dx) - flux(ul, u[i], dx)) / dx + reaction(u[i], r);
    }
}

void piecewise(const double* x, int n, double* out) {
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        if (x[i] > 1.0)
            out[i] = std::log(x[i]) + x[j];
        else if (x[i] > 0.0)
            out[i] = x[i] * x[i] - x[i] * x[j];
        else
            out[i] = 0.01 * x[i];
    }
}

void softmax(const double* x, int n, double* p) {
    double m = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > m) m = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) {
        p[i] = std::exp(x[i] - m);
        s += p[i];
    }
    for (int i = 0; i < n; i++) p[i] /= s;
}

void cumprod(const double* x, int n, double* out) {
    double acc = 1;
    for (int i = 0; i < n; i++) {
        acc *= x[i];
        out[i] = acc;
    }
}

void newton_sqrt(const double* x, int n, double* y) {
    for (int i = 0; i < n; i++) {
        double r = x[i] > 1 ? x[i] : 1.0;
        for (int k = 0; k < 30; k++) r = 0.5 * (r + x[i] / r);
        y[i] = r;
    }
}

void matvec(const double* A, const double* x, int n, double* y) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += A[i * n + j] * x[j];
        y[i] = s;
    }
}

double sq(double v) { return v * v; }
double norm2(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += sq(x[i]);
    return s;
}
void normalize(const double* x, int n, double* out) {
    double r = std::sqrt(norm2(x, n));
    for (int i = 0; i < n; i++) out[i] = x[i] / r;
}

void conv_sq(const double* x, const double* k, int n, int m, double* y) {
    for (int i = 0; i + m <= n; i++) {
        y[i] = 0;
        for (int j = 0; j < m; j++) y[i] += k[j] * x[i + j] * x[i + j];
    }
}

void local_array(const double* x, double* out) {
    double t[3];
    for (int i = 0; i < 3; i++) t[i] = std::exp(x[i]);
    out[0] = t[0] * t[1];
    out[1] = t[1] / t[2];
    out[2] = t[0] + t[1] + t[2];
    out[3] = std::pow(x[0], 3.0);
}

void moments(const double* x, int n, double* out) {
    double mean = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    double var = 0;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    out[0] = mean;
    out[1] = var / n;
}

void write2(double a, double b, double* o) {
    o[0] = a * b;
    o[1] = a - b;
}
void via_helper(const double* x, double* out) {
    write2(x[0], x[1], out);
    write2(x[1] * x[2], std::cos(x[0]), out + 2);
}

void via_helper_wide(const double* x, double* out) {  // 5 inputs, 2 outputs
    write2(x[0] * x[1], x[2] + x[3] * x[4], out);
}

// The helper's pointer is chosen by a condition: reverse mode cannot follow it.
void put_first(double a, double b, double* o, bool first) {
    double* p = first ? o : o + 1;
    p[0] = a * b;
}
void via_chosen_wide(const double* x, double* out) {  // 5 inputs, 2 outputs
    put_first(x[0] * x[1], x[2] + x[3] * x[4], out, true);
    out[1] = x[0] - x[2];
}

void split(const double* x, const double* y, double* a, double* b) {
    a[0] = x[0] * x[1];
    a[1] = std::exp(x[1]);
    b[0] = y[0] * y[0];
}

// A body pyclad cannot differentiate (goto); its derivatives are custom.
double opaque_cbrt(double x) {
    double r = x > 1 ? x / 3 : 1.0;
    int k = 0;
again:
    r = r - (r * r * r - x) / (3 * r * r);
    if (++k < 60) goto again;
    return r;
}
namespace pyclad { namespace custom_derivatives {
ValueAndPushforward<double, double> opaque_cbrt_pushforward(double x, double d_x) {
    double r = std::cbrt(x);
    return {r, d_x / (3 * r * r)};
}
void opaque_cbrt_pullback(double x, double _d_y, double* _d_x) {
    double r = std::cbrt(x);
    *_d_x += _d_y / (3 * r * r);
}
}}
void uses_custom(double a, double b, double* out) {  // 2 inputs, 3 outputs
    out[0] = opaque_cbrt(a * b);
    out[1] = a + b;
    out[2] = opaque_cbrt(a) * b;
}

void ffloat(const float* x, float s, int n, float* out) {
    for (int i = 0; i < n; i++) out[i] = x[i] * s * x[(i + 1) % n];
}

// u is both read and written: an output; the Jacobian is d u_new / d dt at u_old.
void euler_step(double* u, int n, double dt) {
    for (int i = 0; i < n; i++) u[i] = u[i] + dt * u[i] * u[i];
}

void early_return(const double* x, double* out) {
    out[0] = x[0] * x[1];
    if (x[0] < 0) {
        out[1] = 0;
        return;
    }
    out[1] = std::sin(x[0]) * x[1];
}

void pointer_walk(const double* x, int n, double* out) {  // the output pointer moves
    for (int i = 0; i < n; i++) {
        *out = x[i] * std::exp(x[i]);
        out++;
    }
}

void every_other(const double* x, int n, double* out) {  // odd rows are never written
    for (int i = 0; i < n; i++)
        if (i % 2 == 0) out[i] = x[i] * x[(i + 1) % n];
}

void via_local_array(const double* x, double* out) {
    double tmp[2];
    tmp[0] = x[0] * x[1];
    tmp[1] = tmp[0] * x[0];
    for (int i = 0; i < 2; i++) out[i] = tmp[i];
}

// array syntax for the parameters
void array_params(const double x[3], double out[2]) {
    out[0] = x[0] * x[1];
    out[1] = x[2] * x[2];
}

double scalar_only(double x) { return x * x; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


# ---------------------------------------------------------------- references


def _params(fn):
    return [p.name for p in fn.ir.params]


def primal_outputs(fn, args, outputs):
    """Call the primal on copies of args; the output arrays concatenated."""
    moved = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*moved)
    names = _params(fn)
    return np.concatenate([moved[names.index(o)] for o in outputs])


def fd_jacobian(fn, args, inputs, outputs, h=1e-3):
    """Rows = outputs, columns = inputs (arrays expanded): 5-point central differences."""
    names = _params(fn)
    cols = []
    for name in inputs:
        k = names.index(name)
        elements = range(len(args[k])) if isinstance(args[k], np.ndarray) else [None]
        for e in elements:

            def at(step, k=k, e=e):
                moved = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                if e is None:
                    moved[k] = moved[k] + step * h
                else:
                    moved[k][e] += step * h
                return primal_outputs(fn, moved, outputs)

            cols.append((8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h))
    return np.column_stack(cols)


def assert_matrix_close(got, want, rtol, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want))))
    err = np.abs(got - want)
    bad = err > rtol * np.maximum(np.abs(want), 1e-3 * scale)
    assert not bad.any(), (
        f"{what}: {bad.sum()} entries differ, worst at {np.unravel_index(np.argmax(err), err.shape)}\n"
        f"got\n{got}\nwant\n{want}"
    )


# ---------------------------------------------------------------- hand formulas


def hand_h(x, out):
    return np.array([[x[1], x[0], 0], [np.cos(x[0]), 0, 1], [0, 2 * x[1], 0]])


def hand_g(a, b, out):
    r = np.hypot(a, b)
    return np.array(
        [
            [b, a],
            [np.cos(a) * np.exp(b), np.sin(a) * np.exp(b)],
            [1 / b, -a / b**2],
            [a / r, b / r],
        ]
    )


def hand_polar(r, th, p):
    return np.array([[np.cos(th), -r * np.sin(th)], [np.sin(th), r * np.cos(th)]])


def hand_scale_sq(s, x, n, out):
    ds = x**2 + x * np.cos(s * x)
    dx = np.diag(2 * s * x + s * np.cos(s * x))
    return np.column_stack([ds, dx])


def hand_two_out(x, a, b):
    return np.array(
        [
            [x[1], x[0], 0],
            [1, x[2], x[1]],
            [np.cos(x[0]), 0, 0],
            [0, 3 * x[1] ** 2, 0],
            [1 / x[2], 0, -x[0] / x[2] ** 2],
        ]
    )


def hand_lorenz(u, s, rho, beta, du):
    return np.array(
        [
            [-s, s, 0, u[1] - u[0], 0, 0],
            [rho - u[2], -1, -u[0], 0, u[0], 0],
            [u[1], u[0], -beta, 0, 0, -u[2]],
        ]
    )


def hand_piecewise(x, n, out):
    J = np.zeros((n, n))
    for i in range(n):
        j = (i + 1) % n
        if x[i] > 1:
            J[i, i] += 1 / x[i]
            J[i, j] += 1
        elif x[i] > 0:
            J[i, i] += 2 * x[i] - x[j]
            J[i, j] += -x[i]
        else:
            J[i, i] += 0.01
    return J


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def hand_softmax(x, n, p):
    q = _softmax(x)
    return np.diag(q) - np.outer(q, q)


def hand_cumprod(x, n, out):
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            J[i, j] = np.prod([x[k] for k in range(i + 1) if k != j])
    return J


def hand_newton_sqrt(x, n, y):
    return np.diag(0.5 / np.sqrt(x))


def hand_matvec_x(A, x, n, y):
    return A.reshape(n, n)


def hand_matvec_all(A, x, n, y):
    J = np.zeros((n, n * n + n))
    for i in range(n):
        J[i, i * n : (i + 1) * n] = x
    J[:, n * n :] = A.reshape(n, n)
    return J


def hand_normalize(x, n, out):
    r = np.linalg.norm(x)
    u = x / r
    return (np.eye(n) - np.outer(u, u)) / r


def hand_conv_sq(x, k, n, mm, y):
    rows = n - mm + 1
    J = np.zeros((rows, n + mm))
    for i in range(rows):
        for j in range(mm):
            J[i, i + j] += 2 * k[j] * x[i + j]
            J[i, n + j] += x[i + j] ** 2
    return J


def hand_conv_sq_k(x, k, n, mm, y):
    return hand_conv_sq(x, k, n, mm, y)[:, n:]


def hand_local_array(x, out):
    e = np.exp(x)
    return np.array(
        [
            [e[0] * e[1], e[0] * e[1], 0],
            [0, e[1] / e[2], -e[1] / e[2]],
            [e[0], e[1], e[2]],
            [3 * x[0] ** 2, 0, 0],
        ]
    )


def hand_moments(x, n, out):
    mean = x.mean()
    return np.vstack([np.full(n, 1 / n), 2 * (x - mean) / n])


def hand_via_helper(x, out):
    c, s = np.cos(x[0]), np.sin(x[0])
    return np.array(
        [
            [x[1], x[0], 0],
            [1, -1, 0],
            [-x[1] * x[2] * s, x[2] * c, x[1] * c],
            [s, x[2], x[1]],
        ]
    )


# ---------------------------------------------------------------- the table


@dataclass
class JCase:
    fn: str
    args: tuple
    inputs: list[str]  # expected columns, in order (the test's own statement of the layout)
    outputs: list[str]  # expected rows
    wrt: object = None
    hand: Callable | None = None
    id: str = ""

    def __post_init__(self):
        if not self.id:
            self.id = self.fn if self.wrt is None else f"{self.fn}[{self.wrt}]"


X3 = arr(0.7, -1.3, 0.4)
U6 = arr(0.3, 0.5, 0.8, 0.6, 0.4, 0.2)

CASES = [
    JCase("h", (X3, np.zeros(3)), ["x"], ["out"], hand=hand_h),
    JCase("h", (arr(1.2, 0.5, 2.0), np.zeros(3)), ["x"], ["out"], wrt="x", hand=hand_h),
    JCase("g", (0.7, 1.3, np.zeros(4)), ["a", "b"], ["out"], hand=hand_g),
    JCase("g", (0.7, 1.3, np.zeros(4)), ["b"], ["out"], wrt="b", hand=lambda a, b, o: hand_g(a, b, o)[:, 1:]),
    JCase("polar", (1.7, 0.6, np.zeros(2)), ["r", "th"], ["p"], hand=hand_polar),
    JCase(
        "scale_sq", (0.9, arr(0.3, -0.8, 1.1, 0.5), 4, np.zeros(4)), ["s", "x"], ["out"], hand=hand_scale_sq
    ),
    JCase(
        "scale_sq",
        (0.9, arr(0.3, -0.8, 1.1, 0.5), 4, np.zeros(4)),
        ["x"],
        ["out"],
        wrt="x",
        hand=lambda s, x, n, o: hand_scale_sq(s, x, n, o)[:, 1:],
    ),
    JCase("two_out", (arr(0.7, -1.3, 0.4), np.zeros(2), np.zeros(3)), ["x"], ["a", "b"], hand=hand_two_out),
    JCase(
        "lorenz",
        (arr(1.1, -0.4, 2.3), 10.0, 28.0, 8.0 / 3.0, np.zeros(3)),
        ["u", "sigma", "rho", "beta"],
        ["du"],
        hand=hand_lorenz,
    ),
    JCase(
        "lorenz",
        (arr(1.1, -0.4, 2.3), 10.0, 28.0, 8.0 / 3.0, np.zeros(3)),
        ["u"],
        ["du"],
        wrt="u",
        hand=lambda *a: hand_lorenz(*a)[:, :3],
    ),
    JCase("heat_rhs", (U6, 2.5, 6, np.zeros(6)), ["u", "r"], ["du"]),
    JCase("piecewise", (arr(1.5, 0.4, -0.7, 2.2, 0.9), 5, np.zeros(5)), ["x"], ["out"], hand=hand_piecewise),
    JCase("softmax", (arr(0.3, -1.2, 2.0, 0.5), 4, np.zeros(4)), ["x"], ["p"], hand=hand_softmax),
    JCase("cumprod", (arr(0.9, 1.3, -0.7, 1.1, 0.6), 5, np.zeros(5)), ["x"], ["out"], hand=hand_cumprod),
    JCase("newton_sqrt", (arr(0.3, 2.0, 5.5), 3, np.zeros(3)), ["x"], ["y"], hand=hand_newton_sqrt),
    JCase(
        "matvec",
        (np.linspace(-1, 1.3, 9), arr(0.4, -0.2, 1.5), 3, np.zeros(3)),
        ["x"],
        ["y"],
        wrt="x",
        hand=hand_matvec_x,
    ),
    JCase(
        "matvec",
        (np.linspace(-1, 1.3, 9), arr(0.4, -0.2, 1.5), 3, np.zeros(3)),
        ["A", "x"],
        ["y"],
        hand=hand_matvec_all,
    ),
    JCase("normalize", (arr(0.3, -1.2, 2.0, 0.5), 4, np.zeros(4)), ["x"], ["out"], hand=hand_normalize),
    JCase("conv_sq", (U6, arr(0.5, -1.0, 2.0), 6, 3, np.zeros(4)), ["x", "k"], ["y"], hand=hand_conv_sq),
    JCase(
        "conv_sq", (U6, arr(0.5, -1.0, 2.0), 6, 3, np.zeros(4)), ["k"], ["y"], wrt="k", hand=hand_conv_sq_k
    ),
    JCase("local_array", (arr(0.2, -0.5, 0.9), np.zeros(4)), ["x"], ["out"], hand=hand_local_array),
    JCase(
        "early_return",
        (arr(0.5, 1.3), np.zeros(2)),
        ["x"],
        ["out"],
        id="early_return not taken",
        hand=lambda x, o: np.array([[x[1], x[0]], [np.cos(x[0]) * x[1], np.sin(x[0])]]),
    ),
    JCase(
        "early_return",
        (arr(-0.5, 1.3), np.zeros(2)),
        ["x"],
        ["out"],
        id="early_return taken",
        hand=lambda x, o: np.array([[x[1], x[0]], [0, 0]]),
    ),
    JCase(
        "pointer_walk",
        (arr(0.5, 1.3, -0.2), 3, np.zeros(3)),
        ["x"],
        ["out"],
        hand=lambda x, n, o: np.diag((1 + x) * np.exp(x)),
    ),
    JCase(
        "every_other",
        (arr(0.5, 1.3, 0.2, 0.7), 4, np.zeros(4)),
        ["x"],
        ["out"],
        hand=lambda x, n, o: np.array([[x[1], x[0], 0, 0], [0, 0, 0, 0], [0, 0, x[3], x[2]], [0, 0, 0, 0]]),
    ),
    JCase(
        "via_local_array",
        (arr(0.5, 1.3), np.zeros(2)),
        ["x"],
        ["out"],
        hand=lambda x, o: np.array([[x[1], x[0]], [2 * x[0] * x[1], x[0] ** 2]]),
    ),
    JCase(
        "moments", (arr(0.3, -1.2, 2.0, 0.5, 1.1, -0.4), 6, np.zeros(2)), ["x"], ["out"], hand=hand_moments
    ),
]


def test_case_count():
    assert len(CASES) >= 16
    assert len({c.fn for c in CASES}) >= 16


def _column_count(fn, case):
    names = _params(fn)
    return sum(
        len(case.args[names.index(i)]) if isinstance(case.args[names.index(i)], np.ndarray) else 1
        for i in case.inputs
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_jacobian_both_modes_against_references(m, case, monkeypatch):
    fn = getattr(m, case.fn)
    want = fd_jacobian(fn, case.args, case.inputs, case.outputs)
    results = {}
    # reverse mode has two drivers: all rows in one sweep (vec<rows> adjoints, the default
    # up to VECTOR_REVERSE_MAX_ROWS rows) and one pullback call per row (above it)
    for mode, rows_max in (("forward", None), ("reverse", None), ("reverse", 0)):
        if rows_max is not None:
            monkeypatch.setattr(pyclad.derivatives, "VECTOR_REVERSE_MAX_ROWS", rows_max)
        J = pyclad.jacobian(fn, case.wrt, mode=mode)
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in case.args]
        got = J(*args)
        what = f"{case.id} {mode}" + (" row by row" if rows_max == 0 else "")
        assert isinstance(got, np.ndarray) and got.ndim == 2
        assert J.last_mode == mode
        assert_matrix_close(got, want, 1e-6, f"{what} vs finite differences")
        if case.hand is not None:
            assert_matrix_close(got, case.hand(*case.args), 1e-9, f"{what} vs hand formula")
        results[what] = got
    monkeypatch.undo()
    first = results[f"{case.id} forward"]
    for what, got in results.items():
        assert_matrix_close(got, first, 1e-12, f"{what} vs forward")
    results = {"forward": first, "reverse": results[f"{case.id} reverse"]}

    # auto: forward when there are no more inputs (columns) than outputs (rows)
    J = pyclad.jacobian(fn, case.wrt)
    got = J(*[a.copy() if isinstance(a, np.ndarray) else a for a in case.args])
    rows, cols = want.shape
    assert J.last_mode == ("forward" if cols <= rows else "reverse"), (rows, cols, J.last_mode)
    assert_matrix_close(got, results[J.last_mode], 1e-14, f"{case.id} auto")


def test_the_table_covers_both_auto_choices(m):
    picks = set()
    for c in CASES:
        rows = sum(len(c.args[_params(getattr(m, c.fn)).index(o)]) for o in c.outputs)
        picks.add("forward" if _column_count(getattr(m, c.fn), c) <= rows else "reverse")
    assert picks == {"forward", "reverse"}


def test_auto_mode_follows_the_shape_of_each_call(m):
    """The same Jacobian object picks its mode per call, from the array lengths passed."""
    J = pyclad.jacobian(m.conv_sq, "x")
    # 4 inputs, 2 outputs: reverse
    x4 = arr(0.3, 0.5, 0.8, 0.6)
    k = arr(0.5, -1.0, 2.0)
    got = J(x4, k, 4, 3, np.zeros(2))
    assert J.last_mode == "reverse"
    assert_matrix_close(got, hand_conv_sq(x4, k, 4, 3, None)[:, :4], 1e-12, "conv_sq x, 4 -> 2")
    # 3 inputs, 3 outputs (window of one): forward
    x3 = arr(0.3, 0.5, 0.8)
    k1 = arr(1.5)
    got = J(x3, k1, 3, 1, np.zeros(3))
    assert J.last_mode == "forward"
    assert_matrix_close(got, np.diag(2 * 1.5 * x3), 1e-12, "conv_sq x, 3 -> 3")


def test_output_written_by_a_helper(m):
    """The output array is written only through a user function it is passed to (with
    pointer arithmetic): forward and reverse mode handle it."""
    x = arr(0.2, -0.5, 0.9)
    want = fd_jacobian(m.via_helper, (x, np.zeros(4)), ["x"], ["out"])
    J = pyclad.jacobian(m.via_helper, mode="forward")
    got = J(x, np.zeros(4))
    assert_matrix_close(got, want, 1e-6, "via_helper vs finite differences")
    assert_matrix_close(got, hand_via_helper(x, None), 1e-12, "via_helper vs hand formula")
    auto = pyclad.jacobian(m.via_helper)
    assert_matrix_close(auto(x, np.zeros(4)), got, 1e-15, "via_helper auto")
    assert auto.last_mode == "forward"  # 3 inputs, 4 outputs
    rev = pyclad.jacobian(m.via_helper, mode="reverse")(x, np.zeros(4))
    assert_matrix_close(
        rev, got, 1e-12, "via_helper reverse (the helper's stores undone before its pullback)"
    )
    still_works(m)


def _wide_want(x):
    return np.array(
        [
            [
                x[1] * (x[2] + x[3] * x[4]),
                x[0] * (x[2] + x[3] * x[4]),
                x[0] * x[1],
                x[0] * x[1] * x[4],
                x[0] * x[1] * x[3],
            ],
            [x[1], x[0], -1, -x[4], -x[3]],
        ]
    )


def test_auto_prefers_reverse_for_a_wide_function_whose_helper_writes_the_output(m):
    """5 inputs, 2 outputs: auto takes reverse mode, which handles the helper writing the output."""
    x = arr(0.2, -0.5, 0.9, 1.3, -0.7)
    want = _wide_want(x)
    assert_matrix_close(
        fd_jacobian(m.via_helper_wide, (x, np.zeros(2)), ["x"], ["out"]), want, 1e-6, "fd check"
    )
    J = pyclad.jacobian(m.via_helper_wide)
    for _ in range(2):
        assert_matrix_close(J(x, np.zeros(2)), want, 1e-12, "via_helper_wide auto")
        assert J.last_mode == "reverse"


def test_auto_falls_back_to_forward_when_reverse_cannot(m):
    """5 inputs, 2 outputs: auto prefers reverse, which cannot follow the helper's pointer
    chosen by a condition; auto then uses forward mode, and keeps using it."""
    x = arr(0.2, -0.5, 0.9, 1.3, -0.7)
    want = _wide_want(x)
    want[1] = [1, 0, -1, 0, 0]
    assert_matrix_close(
        fd_jacobian(m.via_chosen_wide, (x, np.zeros(2)), ["x"], ["out"]), want, 1e-6, "fd check"
    )
    J = pyclad.jacobian(m.via_chosen_wide)
    for _ in range(2):
        assert_matrix_close(J(x, np.zeros(2)), want, 1e-12, "via_chosen_wide auto")
        assert J.last_mode == "forward"
    with pytest.raises(pyclad.UnsupportedError):
        pyclad.jacobian(m.via_chosen_wide, mode="reverse")(x, np.zeros(2))


def test_custom_derivatives_reverse_and_auto(m):
    """Custom pushforwards are scalar: vector forward mode cannot use them (a clear error);
    reverse mode uses the custom pullback, and auto falls back to it."""
    a, b = 1.7, 0.6
    c = np.cbrt
    want = np.array(
        [
            [b / (3 * c(a * b) ** 2), a / (3 * c(a * b) ** 2)],
            [1, 1],
            [b / (3 * c(a) ** 2), c(a)],
        ]
    )
    assert_matrix_close(
        fd_jacobian(m.uses_custom, (a, b, np.zeros(3)), ["a", "b"], ["out"]), want, 1e-6, "fd"
    )
    got = pyclad.jacobian(m.uses_custom, mode="reverse")(a, b, np.zeros(3))
    assert_matrix_close(got, want, 1e-12, "uses_custom reverse")
    J = pyclad.jacobian(m.uses_custom)
    assert_matrix_close(J(a, b, np.zeros(3)), want, 1e-12, "uses_custom auto")
    assert J.last_mode == "reverse"
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.jacobian(m.uses_custom, mode="forward")(a, b, np.zeros(3))
    assert f"<string>:{_line('out[0] = opaque_cbrt(a * b)')}:" in str(info.value)
    still_works(m)


def test_output_no_input_reaches_has_zero_rows(m):
    x, y = arr(0.4, 1.3), arr(-0.8)
    want = np.array([[x[1], x[0]], [0, np.exp(x[1])], [0, 0]])
    for mode in ("forward", "reverse"):
        got = pyclad.jacobian(m.split, "x", mode=mode)(x, y, np.zeros(2), np.zeros(1))
        assert_matrix_close(got, want, 1e-12, f"split wrt x, {mode}")
        assert_matrix_close(
            got, fd_jacobian(m.split, (x, y, np.zeros(2), np.zeros(1)), ["x"], ["a", "b"]), 1e-6, "split fd"
        )
    full = np.array([[x[1], x[0], 0], [0, np.exp(x[1]), 0], [0, 0, 2 * y[0]]])
    for mode in ("forward", "reverse"):
        got = pyclad.jacobian(m.split, mode=mode)(x, y, np.zeros(2), np.zeros(1))
        assert_matrix_close(got, full, 1e-12, f"split, {mode}")


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_array_syntax_parameters(m, mode):
    x = arr(0.5, 1.0, 2.0)
    got = pyclad.jacobian(m.array_params, mode=mode)(x, np.zeros(2))
    assert_matrix_close(got, [[1.0, 0.5, 0.0], [0.0, 0.0, 4.0]], 1e-15, f"array_params {mode}")


def test_jacobian_does_not_change_the_callers_arrays(m):
    """Whichever mode runs, a Jacobian is taken at the arguments as given and leaves them
    as they were (forward mode used to leave the primal's output in ``out``)."""
    x = X3.copy()
    for mode in ("forward", "reverse"):
        out = np.full(3, 7.0)
        pyclad.jacobian(m.h, mode=mode)(x, out)
        assert np.array_equal(x, X3)
        assert np.array_equal(out, np.full(3, 7.0)), mode


@pytest.mark.parametrize("rows_max", [256, 0], ids=["one sweep", "row by row"])
def test_in_place_update(m, rows_max, monkeypatch):
    monkeypatch.setattr(pyclad.derivatives, "VECTOR_REVERSE_MAX_ROWS", rows_max)
    u0 = arr(0.5, 1.0, 2.0)
    for mode in ("forward", "reverse"):
        u = u0.copy()
        J = pyclad.jacobian(m.euler_step, mode=mode)
        assert_matrix_close(J(u, 3, 0.1), (u0 * u0)[:, None], 1e-14, f"euler_step {mode}")
        assert np.array_equal(u, u0), mode
        assert_matrix_close(J(u, 3, 0.1), fd_jacobian(m.euler_step, (u0, 3, 0.1), ["dt"], ["u"]), 1e-6, "fd")


@pytest.mark.parametrize("rows_max", [256, 0], ids=["one sweep", "row by row"])
def test_float_arrays(m, rows_max, monkeypatch):
    """float params: the row-by-row reverse driver passes adjoint buffers of their own type."""
    monkeypatch.setattr(pyclad.derivatives, "VECTOR_REVERSE_MAX_ROWS", rows_max)
    x = np.array([0.5, 2.0, 1.5], dtype=np.float32)
    s = 1.5
    want = np.zeros((3, 4))
    for i in range(3):
        j = (i + 1) % 3
        want[i, i] += s * x[j]
        want[i, j] += s * x[i]
        want[i, 3] = x[i] * x[j]
    got = {}
    for mode in ("forward", "reverse"):
        got[mode] = pyclad.jacobian(m.ffloat, mode=mode)(x, s, 3, np.zeros(3, dtype=np.float32))
        assert_matrix_close(got[mode], want, 1e-6, f"ffloat {mode}")  # float precision
    assert_matrix_close(got["forward"], got["reverse"], 1e-6, "ffloat forward vs reverse")


def test_jacobian_code_is_cpp(m):
    J = pyclad.jacobian(m.h, mode="reverse")
    assert "h_jac" in J.code and "pullback" in J.code


# ---------------------------------------------------------------- errors


def assert_located(err: Exception):
    assert isinstance(err, pyclad.PycladError)
    assert re.search(r"<string>:\d+:\d+", str(err)), str(err)


def still_works(m):
    for mode in ("forward", "reverse"):
        got = pyclad.jacobian(m.polar, mode=mode)(1.7, 0.6, np.zeros(2))
        assert_matrix_close(got, hand_polar(1.7, 0.6, None), 1e-12, f"polar after an error, {mode}")


def _line(text):
    return next(i for i, ln in enumerate(SOURCE.splitlines(), 1) if text in ln)


def test_jacobian_of_a_function_without_output_array(m):
    with pytest.raises(pyclad.PycladError) as info:
        pyclad.jacobian(m.scalar_only)
    assert_located(info.value)
    assert f"<string>:{_line('double scalar_only')}:" in str(info.value)
    assert "output" in str(info.value)
    still_works(m)


def test_jacobian_wrt_an_output_param(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.jacobian(m.h, "out")
    assert isinstance(info.value, ValueError)
    assert_located(info.value)
    assert "'out'" in str(info.value) and "output" in str(info.value)
    still_works(m)


def test_jacobian_wrt_an_unknown_param(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.jacobian(m.h, "y")
    assert_located(info.value)
    still_works(m)


@pytest.mark.parametrize("mode", ["backward", "Forward", "", None])
def test_jacobian_unknown_mode(m, mode):
    with pytest.raises(pyclad.PycladError) as info:
        pyclad.jacobian(m.h, mode=mode)
    assert isinstance(info.value, ValueError)
    assert_located(info.value)
    assert "mode" in str(info.value)
    still_works(m)


def test_jacobian_wrt_an_index_range_is_an_error(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.jacobian(m.h, "x[0:1]")
    assert_located(info.value)
    still_works(m)


def test_jacobian_wrong_argument_count(m):
    J = pyclad.jacobian(m.h)
    with pytest.raises(pyclad.ArgumentError) as info:
        J(X3)
    assert isinstance(info.value, TypeError)
    assert_located(info.value)
    still_works(m)
