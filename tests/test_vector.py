"""Vector forward mode: pyclad.differentiate with several inputs (["x", "y"], "x, arr", None).

One call gives the derivative along every input at once (pyclad::vec<N> tangents).
Each result is checked against the scalar forward mode (one differentiate(fn, "x")
or differentiate(fn, "arr[k]") per input: a different instantiation of the
transform, tangents of type double) and against 5-point central finite
differences of the primal, which owe nothing to pyclad's derivative code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import arr, fd
from conftest import fresh as copies

import pyclad

SOURCE = r"""
#include <pyclad/runtime.hpp>
#include <cmath>

double f(double x, double y) { return x * x * std::sin(y) + std::exp(x * y); }

double horner_loop(double x, double y, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s = s * x + y / (i + 1);
    return s;
}

double sq(double v) { return v * v; }
double helper(double a, double b) { return a * std::sin(b) + sq(b) * 0.5; }
double calls(double x, double y, double z) { return helper(x, y) * helper(y, z) + sq(x * z); }

double arrfn(double s, const double* a, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) t += std::sin(s * a[i]) * a[i];
    return t * s;
}

double branchy(double x, double y) {
    if (x > y) return x * x * y + std::sin(y);
    double e = std::exp(x);
    return e * y * y;
}

double wloop(double x, double y) {
    while (x < 10) x = x * 1.5 + y;
    return x * y;
}

double dot(const double* a, const double* b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
double norm_call(const double* v, int n, double w) { return std::sqrt(dot(v, v, n)) * w + dot(v, v, n) / w; }

double locarr(double x, double y) {
    double v[3] = {x * y, y - x, std::exp(x)};
    double s = 0;
    for (int i = 0; i < 3; i++) s += v[i] * v[(i + 1) % 3];
    return s;
}

double rpow(double x, int n) {
    if (n == 0) return 1.0;
    return x * rpow(x, n - 1);
}
double use_rpow(double x, double y) { return rpow(x, 4) * y + rpow(y, 3); }

void polar(double r, double t, double& px, double& py) {
    px = r * std::cos(t);
    py = r * std::sin(t);
}
double use_polar(double r, double t) {
    double a, b;
    polar(r, t, a, b);
    return a * b + a;
}

double mathy(double x, double y) {
    return std::log(x) * std::sqrt(y) + std::pow(x, 2.5) * y + std::tanh(x * y) + std::atan2(y, x);
}

double two_arrays(const double* a, const double* b, int n, double c) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * a[i] * b[i] + c * std::cos(b[i]);
    return s;
}

double ternary_loop(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] > 0 ? x[i] * x[i] : -0.5 * x[i];
    return s;
}

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
}}
double uses_custom(double a, double b) { return opaque_cbrt(a * b) + a * b * b; }

const double kScale = 2.5;
void scale(double& v, double k) { v *= k; }
double usescale(double* a, int n, double k) {  // writes its array through a callee
    double s = 0;
    for (int i = 0; i < n; i++) {
        scale(a[i], k);
        s += a[i] * a[i];
    }
    return s;
}
double builtins(double x, double y) {
    return std::pow(x, y) + std::hypot(x, y) * std::fmax(x, y) + std::floor(x * 3) * y +
           kScale * std::fabs(x - y) + std::atan2(x, y);
}
double do_while(double x, double y) {
    double s = 1;
    int i = 0;
    do {
        s = s * x + y;
        i++;
    } while (i < 4);
    return s;
}
double sw(double x, double y, int k) {
    double r = 1;
    switch (k) {
        case 0: r = x; break;
        case 1: r = x * y;  // falls through
        case 2: r += y * y; break;
        default: r = std::exp(x);
    }
    return r * y;
}
double continue_break(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        if (a[i] < 0) continue;
        if (s > 3) break;
        s += a[i] * a[i];
    }
    return s;
}

void no_result(double x, double y, double* out) { out[0] = x * y; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def close(got, want, rtol, what, atol=1e-10):
    assert math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol), (
        f"{what}: got {float(got)!r}, want {float(want)!r} (diff {float(got) - float(want):.3e})"
    )


# ---------------------------------------------------------------- the table


@dataclass
class VCase:
    fn: str
    points: list[tuple]
    wrt: object = None
    id: str = ""

    def __post_init__(self):
        if not self.id:
            self.id = f"{self.fn}[{self.wrt}]"


A5 = arr(0.3, -0.8, 1.1, 0.5, -1.4)

CASES = [
    VCase("f", [(0.7, 1.3), (-0.4, 2.1)], ["x", "y"]),
    VCase("f", [(0.7, 1.3)], None),
    VCase("f", [(0.7, 1.3)], "y, x"),
    VCase("horner_loop", [(0.7, 1.3, 5), (1.2, -0.4, 1)], "x, y"),
    VCase("calls", [(0.7, 1.3, -0.6)], None),
    VCase("calls", [(0.7, 1.3, -0.6)], "z, x"),
    VCase("arrfn", [(0.9, A5, 5)], "s, a"),
    VCase("arrfn", [(0.9, A5, 5)], None),
    VCase("arrfn", [(0.9, A5, 5)], "a"),
    VCase("arrfn", [(0.9, A5, 5)], "a[1:3], s"),
    VCase("branchy", [(1.5, 0.4), (0.3, 0.9)], ["x", "y"]),
    VCase("wloop", [(0.7, 1.3), (2.0, 0.5), (11.0, 0.3)], None),
    VCase("norm_call", [(A5, 5, 1.7)], None),
    VCase("norm_call", [(A5, 5, 1.7)], "v[0:2], w"),
    VCase("locarr", [(0.7, 1.3)], None),
    VCase("use_rpow", [(0.9, 1.4)], None),
    VCase("use_polar", [(1.7, 0.6)], None),
    VCase("mathy", [(1.3, 0.8)], None),
    VCase("two_arrays", [(A5, arr(0.2, 0.4, -0.6, 0.8, 1.0), 5, 0.7)], None),
    VCase("two_arrays", [(A5, arr(0.2, 0.4, -0.6, 0.8, 1.0), 5, 0.7)], "c, b"),
    VCase("ternary_loop", [(A5, 5)], "x"),
    VCase("usescale", [(arr(0.5, 1.2, -0.7), 3, 1.3)], None),
    VCase("builtins", [(0.7, 1.3), (1.6, 0.4)], None),
    VCase("do_while", [(0.7, 1.3)], ["y", "x"]),
    VCase("sw", [(0.7, 1.3, k) for k in range(4)], None),
    VCase("continue_break", [(arr(0.5, -1.2, 1.7, 1.1, 0.4), 5)], None),
]


def test_case_count():
    assert len({c.fn for c in CASES}) >= 8


def _inputs(fn, point, wrt):
    """[(name, param index, elements or None)] in the order the result tuple should have."""
    names = [p.name for p in fn.ir.params]
    if wrt is None:
        items = [n for n, a in zip(names, point) if isinstance(a, (float, np.ndarray))]
    else:
        items = [w.strip() for w in (wrt.split(",") if isinstance(wrt, str) else wrt)]
    out = []
    for item in items:
        mt = re.fullmatch(r"(\w+)(?:\[(\d+):(\d+)\])?", item)
        name = mt.group(1)
        k = names.index(name)
        if isinstance(point[k], np.ndarray):
            lo, hi = (0, len(point[k]) - 1) if mt.group(2) is None else (int(mt.group(2)), int(mt.group(3)))
            out.append((name, k, list(range(lo, hi + 1))))
        else:
            out.append((name, k, None))
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_vector_mode_against_scalar_forward_and_finite_differences(m, case):
    fn = getattr(m, case.fn)
    d = pyclad.differentiate(fn, case.wrt)
    for point in case.points:
        got = d(*copies(point))
        inputs = _inputs(fn, point, case.wrt)
        if isinstance(case.wrt, str) and "," not in case.wrt:  # a single name: the bare value
            assert not isinstance(got, tuple)
            got = (got,)
        assert isinstance(got, tuple) and len(got) == len(inputs)
        for (name, k, elements), g in zip(inputs, got):
            if elements is None:
                assert isinstance(g, float)
                one = pyclad.differentiate(fn, name)(*copies(point))
                close(g, one, 1e-13, f"{case.id}{point} d/d{name} vs scalar forward")
                close(g, fd(fn, point, k), 1e-8, f"{case.id}{point} d/d{name} vs finite differences")
                continue
            assert isinstance(g, np.ndarray) and g.shape == (len(elements),)
            for gi, e in zip(g, elements):
                one = pyclad.differentiate(fn, f"{name}[{e}]")(*copies(point))
                close(gi, one, 1e-13, f"{case.id} d/d{name}[{e}] vs scalar forward")
                close(gi, fd(fn, point, k, e), 1e-8, f"{case.id} d/d{name}[{e}] vs finite differences")
    assert "::pyclad::vec<" in d.code


def test_user_functions_get_vector_pushforwards(m):
    d = pyclad.differentiate(m.calls)
    d(0.7, 1.3, -0.6)
    assert re.search(r"helper_pushforward\w*_vec3", d.code), d.code
    assert re.search(r"sq_pushforward\w*_vec3", d.code), d.code


def test_a_single_name_returns_the_bare_value_and_a_list_a_tuple(m):
    """A single name (a string without a comma) gives the bare value, as JAX's argnums=0;
    a list or a comma-separated string gives a tuple, even of one entry (argnums=(0,))."""
    assert isinstance(pyclad.differentiate(m.f, "x")(0.7, 1.3), float)
    assert isinstance(pyclad.differentiate(m.arrfn, "a[2]")(0.9, A5, 5), float)
    assert isinstance(pyclad.differentiate(m.arrfn, "a[2:2]")(0.9, A5, 5), float)  # one element
    one = pyclad.differentiate(m.arrfn, ["a[2]"])(0.9, A5, 5)
    assert isinstance(one, tuple) and len(one) == 1 and isinstance(one[0], float)
    assert pyclad.differentiate(m.arrfn, "a[2],")(0.9, A5, 5) == one
    got = pyclad.differentiate(m.arrfn, "a[2:3]")(0.9, A5, 5)
    assert isinstance(got, np.ndarray) and got.shape == (2,)
    whole = pyclad.differentiate(m.arrfn, "a")(0.9, A5, 5)
    assert isinstance(whole, np.ndarray) and whole.shape == (5,)
    listed = pyclad.differentiate(m.arrfn, ["a"])(0.9, A5, 5)
    assert isinstance(listed, tuple) and len(listed) == 1
    np.testing.assert_array_equal(listed[0], whole)
    for k in (2, 3):
        close(got[k - 2], fd(m.arrfn, (0.9, A5, 5), 1, k), 1e-8, f"d/da[{k}] vs finite differences")


def test_consecutive_elements_in_a_list_are_one_range(m):
    """["a[1]", "a[2]", "a[3]"] is "a[1:3]": one tuple entry holding the three derivatives."""
    listed = pyclad.differentiate(m.arrfn, ["s", "a[1]", "a[2]", "a[3]"])(0.9, A5, 5)
    ranged = pyclad.differentiate(m.arrfn, "s, a[1:3]")(0.9, A5, 5)
    assert len(listed) == 2 and listed[1].shape == (3,)
    close(listed[0], ranged[0], 0, "d/ds")
    np.testing.assert_array_equal(listed[1], ranged[1])
    for k in (1, 2, 3):
        close(listed[1][k - 1], fd(m.arrfn, (0.9, A5, 5), 1, k), 1e-8, f"d/da[{k}] vs finite differences")
    with pytest.raises(pyclad.WrtError, match="named twice"):
        pyclad.differentiate(m.arrfn, ["a[1]", "a[3]"])  # not consecutive: not one range


def test_same_object_at_other_array_lengths(m):
    d = pyclad.differentiate(m.arrfn, "s, a")
    for a in (arr(0.4), arr(0.4, -0.2, 1.5), np.linspace(-1, 1, 9)):
        ds, da = d(0.9, a, len(a))
        close(ds, fd(m.arrfn, [0.9, a, len(a)], 0), 1e-8, f"d/ds n={len(a)}")
        for e in range(len(a)):
            close(da[e], fd(m.arrfn, [0.9, a, len(a)], 1, e), 1e-8, f"d/da[{e}] n={len(a)}")


def test_custom_derivative_in_vector_mode(m):
    """A custom pushforward takes scalar tangents: vector mode uses it one direction at a time."""
    a, b = 1.7, 0.6
    da, db = pyclad.differentiate(m.uses_custom)(a, b)
    c = np.cbrt(a * b)
    close(da, b / (3 * c * c) + b * b, 1e-13, "d/da")
    close(db, a / (3 * c * c) + 2 * a * b, 1e-13, "d/db")
    close(da, fd(m.uses_custom, [a, b], 0), 1e-8, "d/da fd")


def test_vector_mode_leaves_the_callers_arrays_alone(m):
    a = A5.copy()
    pyclad.differentiate(m.norm_call)(a, 5, 1.7)
    assert np.array_equal(a, A5)


# ---------------------------------------------------------------- errors


def _line(text):
    return next(i for i, ln in enumerate(SOURCE.splitlines(), 1) if text in ln)


def still_works(m):
    dx, _dy = pyclad.differentiate(m.f, ["x", "y"])(0.7, 1.3)
    close(dx, 2 * 0.7 * math.sin(1.3) + 1.3 * math.exp(0.7 * 1.3), 1e-13, "f after an error")


def test_range_outside_the_array_is_an_argument_error_at_call_time(m):
    d = pyclad.differentiate(m.arrfn, "s, a[0:9]")
    with pytest.raises(pyclad.ArgumentError) as info:
        d(0.9, A5, 5)
    assert f"<string>:{_line('double arrfn(')}:" in str(info.value)
    assert "a[0:9]" in str(info.value)
    still_works(m)
    _ds, da = d(0.9, np.linspace(0.1, 1, 10), 10)
    assert da.shape == (10,)


@pytest.mark.parametrize("wrt", [["x", "x"], "x, q", "x, n", ["x", 3]])
def test_bad_wrt(m, wrt):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.differentiate(m.horner_loop, wrt)
    assert isinstance(info.value, ValueError)
    assert re.search(r"<string>:\d+:\d+", str(info.value)), str(info.value)
    still_works(m)


def test_vector_mode_of_a_function_without_floating_result(m):
    with pytest.raises(pyclad.PycladError) as info:
        pyclad.differentiate(m.no_result, ["x", "y"])
    assert f"<string>:{_line('void no_result')}:" in str(info.value)
    still_works(m)


def test_order_two_with_several_inputs_is_an_error(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.differentiate(m.f, ["x", "y"], order=2)
    assert re.search(r"<string>:\d+:\d+", str(info.value)), str(info.value)
    still_works(m)


def test_unsupported_construct_is_reported_by_vector_mode(m):
    """A construct neither mode can differentiate (a variable written and read in one
    expression, in an order C++ leaves unspecified): the error names it and its place."""
    mod = pyclad.cppdef(
        "double g(double x, double y) {\n"
        "    double a = 0;\n"
        "    double b = (a = x * y) + a;\n"
        "    return a * b;\n"
        "}\n"
    )
    with pytest.raises(pyclad.UnsupportedError) as info:  # scalars only: reported at once
        pyclad.differentiate(mod.g, ["x", "y"])
    assert re.search(r"<string>:3:\d+", str(info.value)), str(info.value)
    assert "'a'" in str(info.value) and "unspecified" in str(info.value)
    still_works(m)


def test_vector_code_is_there_before_the_first_call_for_scalar_inputs(m):
    d = pyclad.differentiate(m.calls)
    assert "::pyclad::vec<3>" in d.code
    d = pyclad.differentiate(m.arrfn, "s, a[1:2]")  # explicit ranges: no length needed
    assert "::pyclad::vec<3>" in d.code
    d = pyclad.differentiate(m.arrfn, "s, a")  # a whole array: its length comes with the call
    assert d.code == ""
    d(0.9, A5, 5)
    assert "::pyclad::vec<6>" in d.code
