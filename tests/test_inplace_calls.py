"""In-place updates through calls in reverse mode: a callee that overwrites a pointer argument
(``distort(proj)``; a state array updated by a helper ``step(state, ...)`` in a loop).

The forward sweep calls the callee's ``NAME_reverse_forw``, which saves each element on an
undo log just before it overwrites it; the reverse sweep undoes that call's stores before
the callee's pullback.  Nothing saves a whole array, of unknown or of declared size.  Each
gradient is compared with finite differences and with the same function written without
the call (``*_plain``)."""

import re

import numpy as np
import pytest
from conftest import arr, assert_close, fd

import pyclad

SOURCE = """\
#include <cmath>

void distort(double* proj, double k1, double k2) {
    double r2 = proj[0] * proj[0] + proj[1] * proj[1];
    double f = 1.0 + r2 * (k1 + k2 * r2);
    proj[0] = proj[0] * f;
    proj[1] = proj[1] * f;
}
double reproject(const double* cam, const double* pt, const double* obs) {
    double proj[2];
    proj[0] = pt[0] / pt[2] + cam[0];
    proj[1] = pt[1] / pt[2] + cam[1];
    distort(proj, cam[2], cam[3]);
    double ex = proj[0] - obs[0], ey = proj[1] - obs[1];
    return ex * ex + ey * ey;
}
double reproject_plain(const double* cam, const double* pt, const double* obs) {
    double p0 = pt[0] / pt[2] + cam[0];
    double p1 = pt[1] / pt[2] + cam[1];
    double r2 = p0 * p0 + p1 * p1;
    double f = 1.0 + r2 * (cam[2] + cam[3] * r2);
    double ex = p0 * f - obs[0], ey = p1 * f - obs[1];
    return ex * ex + ey * ey;
}

void step(double* state, const double* w, int n) {
    for (int i = 0; i < n; i++) state[i] = std::sin(state[i] * w[i]) + 0.5 * state[(i + 1) % n];
}
double run(const double* w, const double* s0, int n, int steps) {
    double* state = new double[n];
    for (int i = 0; i < n; i++) state[i] = s0[i];
    double loss = 0;
    for (int t = 0; t < steps; t++) {
        step(state, w, n);
        loss += state[0] * state[n - 1];
    }
    delete[] state;
    return loss;
}
double run_plain(const double* w, const double* s0, int n, int steps) {
    double state[8];
    for (int i = 0; i < n; i++) state[i] = s0[i];
    double loss = 0;
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < n; i++) state[i] = std::sin(state[i] * w[i]) + 0.5 * state[(i + 1) % n];
        loss += state[0] * state[n - 1];
    }
    return loss;
}

void sqr_all(double* a, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * a[i]; }
void twice(double* a, int n) { sqr_all(a, n); double* b = a + 1; b[0] += a[0]; sqr_all(a, n); }
double writes_param(double* x, int n) {
    double first = x[0] * x[0];
    twice(x, n);
    return first + x[1] * x[0];
}
double writes_param_plain(double* x, int n) {
    double first = x[0] * x[0];
    double a0 = x[0] * x[0], a1 = x[1] * x[1] + x[0] * x[0];
    return first + a1 * a1 * (a0 * a0);
}

double scale_norm(double* a, double& total, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        a[i] = a[i] * total;
        s += a[i] * a[i];
    }
    total = total * 0.5;
    return s;
}
double uses_value(double* a, double c, int n) {
    double t = c;
    double r = 2.0 * scale_norm(a, t, n);
    r += a[0];
    return r * t + a[1];
}
double uses_value_plain(double* a, double c, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (a[i] * c) * (a[i] * c);
    double r = 2.0 * s + a[0] * c;
    return r * (c * 0.5) + a[1] * c;
}
"""

CAM = arr(0.1, -0.2, 0.05, -0.01)
PT = arr(0.4, -0.3, 2.0)
OBS = arr(0.3, -0.25)
W = arr(0.9, -1.1, 0.7)
S0 = arr(0.2, 0.5, -0.4)
XS = arr(0.8, -0.6, 1.3)

CASES = {
    "reproject": ((CAM, PT, OBS), [(0, 4), (1, 3)]),
    "run": ((W, S0, 3, 4), [(0, 3), (1, 3)]),
    "writes_param": ((XS, 3), [(0, 3)]),
    "uses_value": ((XS, 1.4, 3), [(0, 3), (1, None)]),
}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_gradient_through_a_writing_call_matches_finite_differences_and_the_inlined_function(
    m, case, checked
):
    fn, plain = getattr(m, case), getattr(m, f"{case}_plain")
    args, wrt = CASES[case]
    names = [fn.ir.params[i].name for i, _ in wrt]
    got = pyclad.gradient(fn, names, checked=checked)(*args)
    want = pyclad.gradient(plain, names, checked=checked)(*args)
    for k, (index, size) in enumerate(wrt):
        for e in range(size) if size is not None else (None,):
            g = got[k] if e is None else got[k][e]
            w = want[k] if e is None else want[k][e]
            assert_close(g, fd(fn, list(args), index, e), what=f"{case} d/d{names[k]}[{e}] vs fd")
            assert_close(g, w, what=f"{case} d/d{names[k]}[{e}] vs inlined")


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_mode_through_a_writing_call_matches_finite_differences(m, case):
    fn = getattr(m, case)
    args, wrt = CASES[case]
    for index, size in wrt:
        name = fn.ir.params[index].name
        for e in range(size) if size is not None else (None,):
            got = pyclad.differentiate(fn, name if e is None else f"{name}[{e}]")(*args)
            assert_close(got, fd(fn, list(args), index, e), what=f"{case} {name}[{e}]")


def test_no_whole_array_is_saved_around_a_writing_call(m):
    for case in CASES:
        code = pyclad.gradient(getattr(m, case)).code
        assert not re.search(r"for \(int _k\d+ = ", code), code  # the old whole-array copy loops
        assert not re.search(r"double _t\d+\[", code), code  # nor a local copy of an array
    code = pyclad.gradient(m.reproject, ["cam", "pt"]).code
    assert "::pyclad::mark(_log);" in code and "distort_reverse_forw(proj, cam[2], cam[3], _log);" in code
    assert "::pyclad::undo(_log);" in code
    forw = code[code.index("void distort_reverse_forw") :]
    forw = forw[: forw.index("\n}\n")]
    # each element saved just before it is overwritten, and nothing else
    assert forw.count("::pyclad::save(_log, ") == 2
    assert "::pyclad::save(_log, proj[0]);\n    proj[0] = proj[0] * f;" in forw


def test_a_state_updated_by_a_helper_in_a_loop_saves_one_value_per_overwritten_element(m):
    code = pyclad.gradient(m.run, ["w", "s0"]).code
    forw = code[code.index("void step_reverse_forw") :]
    assert "::pyclad::save(_log, state[i]);" in forw


def test_a_writing_call_works_in_vector_reverse_mode_and_the_hessian(m):
    jac_src = """
    void sqr_all(double* a, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * a[i]; }
    void outs(const double* x, double* out) {
        double t[2] = {x[0], x[1]};
        sqr_all(t, 2);
        out[0] = t[0] * x[1];
        out[1] = t[1] + x[0];
    }
    """
    outs = pyclad.cppdef(jac_src).outs
    x0, x1 = XS[0], XS[1]
    for mode in ("reverse", "forward"):
        j = pyclad.jacobian(outs, mode=mode)(XS[:2], np.zeros(2))
        assert np.allclose(j, [[2 * x0 * x1, x0 * x0], [1.0, 2 * x1]], rtol=1e-12, atol=0), mode
    h = pyclad.hessian(m.writes_param, "x[0:1]")(XS, 3)
    want = pyclad.hessian(m.writes_param_plain, "x[0:1]")(XS, 3)
    assert np.allclose(h, want, rtol=1e-10, atol=1e-12)


CALLEES = """\
void sqr_all(double* a, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * a[i]; }
// writes its own local array through a nested call (not logged) and the caller's p[0]
void outer(double* p) { double tmp[2] = {p[0], p[1]}; sqr_all(tmp, 2); p[0] = tmp[0] + tmp[1] * p[0]; }
double use_outer(const double* x) { double q[2] = {x[0], x[1]}; outer(q); return q[0] * q[1] + q[0]; }
// a pointer parameter that walks the caller's array
void walk(double* p, int n) { for (int i = 0; i < n; i++) { *p = *p * *p + 1.0; p++; } }
double use_walk(double* x, int n) { double a = x[0] * x[1]; walk(x, n); return a * x[0] + x[1] * x[2]; }
// recursion: each level's logging variant calls the next one's
void rec(double* p, int n) { if (n <= 1) return; p[0] *= p[1]; rec(p + 1, n - 1); }
double use_rec(double* x, int n) { rec(x, n); double s = 0; for (int i = 0; i < n; i++) s += x[i] * (i + 1); return s * x[0]; }
// a scalar by reference and an array, both overwritten, called in a loop
void scale(double& s, double* v, int n) { for (int i = 0; i < n; i++) { v[i] *= s; s += v[i]; } }
double use_scale(double* v, double c, int n) { double s = c; for (int k = 0; k < 2; k++) scale(s, v, n); return s * v[n - 1]; }
"""


@pytest.mark.parametrize(
    "name, args, wrt",
    [
        ("use_outer", (XS[:2],), ["x"]),
        ("use_walk", (XS, 3), ["x"]),
        ("use_rec", (XS, 3), ["x"]),
        ("use_scale", (XS, 0.9, 3), ["v", "c"]),
    ],
)
def test_callees_that_walk_recurse_or_write_their_own_locals_have_the_gradient_of_finite_differences(
    name, args, wrt
):
    fn = getattr(pyclad.cppdef(CALLEES), name)
    got = pyclad.gradient(fn, wrt)(*args)
    names = [p.name for p in fn.ir.params]
    for k, w in enumerate(wrt):
        i = names.index(w)
        if isinstance(args[i], np.ndarray):
            for e in range(args[i].size):
                assert_close(got[k][e], fd(fn, list(args), i, e), what=f"{name} d/d{w}[{e}]")
        else:
            assert_close(got[k], fd(fn, list(args), i), what=f"{name} d/d{w}")


def test_a_callee_storing_through_a_pointer_into_either_its_own_or_the_callers_memory_is_refused():
    src = """\
void put(double a, double* o, bool mine) {
    double tmp[1];
    double* p = tmp;
    if (!mine) p = o;
    p[0] = a * a;
}
double use_put(double* x) { put(x[0], x, false); return x[0] * x[1]; }
"""
    m = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError, match="caller's memory or into the function's own") as info:
        pyclad.gradient(m.use_put, "x")
    assert "<string>:5:" in str(info.value)
    x = arr(0.5, 2.0)
    assert_close(
        pyclad.differentiate(m.use_put, "x[0]")(
            x,
        ),
        2 * 0.5 * 2.0,
    )  # forward mode is fine
