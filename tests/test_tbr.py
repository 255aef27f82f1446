"""To-be-recorded analysis: the forward sweep saves a value only where the reverse sweep reads
the value a write overwrote (ad/reverse/tbr.py).  Each kernel's generated code lacks the dead
saves, and its gradient agrees with 5-point finite differences of the primal."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import arr, fd

import pyclad

SRC = """\
#include <cmath>
// The inner accumulator is re-initialised before the next outer iteration reads it.
double layer(const double* w, const double* x, int n, int m) {
    double t = 0;
    for (int j = 0; j < m; ++j) {
        double a = 0;
        for (int i = 0; i < n; ++i) {
            a += w[j * n + i] * x[i];
        }
        t += std::tanh(a);
    }
    return t;
}
// A linear update: its partials do not read s; only the final s is read (by the return).
double linear(const double* x, int n, double m) {
    double s = 1.0;
    for (int j = 0; j < n; ++j) {
        s -= x[j] * m;
    }
    return s * s;
}
// A linear update of an array the reverse sweep reads later (in the forward order).
double kick(double* v, const double* f, int n, double c) {
    for (int i = 0; i < n; ++i) {
        v[i] += c * f[i];
    }
    double e = 0;
    for (int i = 0; i < n; ++i) {
        e += v[i] * v[i];
    }
    return e;
}
// A counter only the return reads: its inverse (--k) is not needed in the reversed loop.
double counted(const double* x, int n) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; ++i) {
        s += x[i] * x[i];
        k++;
    }
    return s + k * x[0];
}
// A nonlinear update: the old value is read by its partial, so it is saved.
double product(const double* x, int n) {
    double p = 1.0;
    for (int i = 0; i < n; ++i) {
        p *= 1 + 0.5 * x[i];
    }
    return p;
}
// A pullback must hand its caller's memory back as it found it, linear update or not.
static void kick_into(double* v, const double* f, int n, double c) {
    for (int i = 0; i < n; ++i) {
        v[i] += c * f[i];
    }
}
double kicked_twice(const double* v0, const double* f, double c) {
    double v[3] = {v0[0], v0[1], v0[2]};
    kick_into(v, f, 3, c);
    double e = 0;
    for (int i = 0; i < 3; ++i) {
        e += v[i] * v[i] * f[i];
    }
    kick_into(v, f, 3, c);
    for (int i = 0; i < 3; ++i) {
        e += v[i] * v[i] * v[i];
    }
    return e;
}
// A pointer bound to a local array: a store through it keeps the saves of the array.
double through(const double* x, int n) {
    double buf[2] = {1.0, 0.5};
    double* p = buf;
    double e = 0;
    for (int i = 0; i < n; ++i) {
        e += buf[i % 2] * x[i];
        p[i % 2] = x[i] * buf[(i + 1) % 2];
    }
    return e;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def _pushes(code: str, name: str) -> int:
    return len(re.findall(rf"::pyclad::push\(_t\d+, {re.escape(name)}\)", code))


def _check(m, name, args, wrt, checked=False):
    f = getattr(m, name)
    g = pyclad.gradient(f, wrt, checked=checked)
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    names = [p.name for p in f.ir.params]
    for w, value in zip(wrt.split(", "), got):
        k = names.index(w)
        if isinstance(args[k], np.ndarray):
            for e in range(len(args[k])):
                want = fd(f, args, k, e)
                assert abs(value[e] - want) <= 1e-7 * max(1.0, abs(want)), (name, w, e, value[e], want)
        else:
            want = fd(f, args, k)
            assert abs(value - want) <= 1e-7 * max(1.0, abs(want)), (name, w, value, want)
    return g


@pytest.mark.parametrize("checked", [False, True])
def test_an_inner_accumulator_reset_by_the_outer_loop_is_saved_only_at_the_reset(m, checked):
    w, x = np.linspace(-0.8, 0.9, 12), arr(0.3, -0.2, 0.7, 0.1)
    g = _check(m, "layer", [w, x, 4, 3], "w, x", checked)
    assert _pushes(g.code, "a") == 1  # before ``a = 0``, none in the inner loop
    inner = g.code.split("while (i < n) {")[1].split("++i;")[0]
    assert "a += w[j * n + i] * x[i];" in inner and "::pyclad::push" not in inner


def test_a_linear_scalar_update_in_a_loop_is_not_taped(m):
    g = _check(m, "linear", [arr(0.5, -1.5, 2.0, 0.25), 4, 0.75], "x, m")
    assert "::pyclad::tape<double>" not in g.code
    assert _pushes(g.code, "s") == 0


def test_a_linear_array_update_is_not_saved_when_the_later_reads_see_its_result(m):
    g = _check(m, "kick", [arr(0.5, -1.0, 2.0), arr(0.3, 0.2, -0.4), 3, 0.7], "v, f, c")
    assert "::pyclad::push" not in g.code
    assert "::pyclad::tape" not in g.code


def test_a_counter_read_only_after_its_loop_is_not_stepped_back_in_the_reversed_loop(m):
    g = _check(m, "counted", [arr(0.5, -1.0, 2.0, 0.1), 4], "x")
    assert "--k" not in g.code and "k--" not in g.code


def test_a_nonlinear_update_still_saves_the_value_its_partial_reads(m):
    g = _check(m, "product", [arr(0.5, -1.0, 2.0, 0.1), 4], "x")
    assert _pushes(g.code, "p") == 1


@pytest.mark.parametrize("checked", [False, True])
def test_a_pullback_restores_what_it_overwrote_in_its_callers_memory(m, checked):
    g = _check(m, "kicked_twice", [arr(0.5, -1.0, 0.8), arr(0.3, 0.2, -0.4), 0.7], "v0, f, c", checked)
    pullback = g.code.split("void kick_into_pullback")[-1]
    assert "::pyclad::push(_t0, v[i])" in pullback


def test_a_store_through_a_pointer_keeps_the_saves_of_the_array_it_points_into(m):
    _check(m, "through", [arr(0.5, -1.0, 0.8, 1.5, -0.3), 5], "x")
