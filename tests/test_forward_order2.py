"""Higher-order forward mode: the transform applied to its own output.

Every second (and third) derivative is checked against a formula derived by hand,
and against a finite-difference second derivative of the primal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close, fd2

import pyclad

SOURCE = r"""
#include <cmath>
double cubic(double x, double y) { return x * x * x * y; }
double sin_exp(double x) { return std::sin(x) * std::exp(x); }
double rational(double x) { return 1 / (1 + x * x); }
double sq(double v) { return v * v; }
double sq_of_sin(double x) { return sq(std::sin(x)); }
double power_loop(double x, int n) {
    double r = 1;
    for (int i = 0; i < n; ++i) r *= x;
    return r;
}
double compound(double x) {
    double r = x;
    r *= x;
    r /= 1 + x;
    return r;
}
void cube_into(double x, double& y) { y = x * x * x; }
double out_param(double x) {
    double y;
    cube_into(x, y);
    return 3 * y;
}
double rpow(double x, int n) {
    if (n == 0) return 1;
    return x * rpow(x, n - 1);
}
double recursive(double x) { return rpow(x, 4); }
double mixed_powers(double x) { return std::pow(x, 3.5) + std::log(x) + std::sqrt(x); }
double tan_times_x(const double& x) { return std::tan(x) * x; }
double branchy(double x) {
    if (x > 1) return x * x * x;
    return x > 0 ? std::cos(x) : -x * x;
}
double arr_elem(double* a) { return a[0] * a[0] * a[1]; }
double x_sin(double x) { return x * std::sin(x); }
double cross(double x, double y) { return std::sin(x * y) + x * y * y; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def _sec2(x):
    return 1 / math.cos(x) ** 2


SECOND = [
    ("cubic", "x", (0.7, 1.3), lambda x, y: 6 * x * y),
    ("cubic", "y", (0.7, 1.3), lambda x, y: 0.0),
    ("sin_exp", "x", (0.7,), lambda x: 2 * math.cos(x) * math.exp(x)),
    ("rational", "x", (0.7,), lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
    ("sq_of_sin", "x", (0.7,), lambda x: 2 * math.cos(2 * x)),  # calls a user function
    ("power_loop", "x", (0.7, 5), lambda x, n: n * (n - 1) * x ** (n - 2)),  # a loop
    ("compound", "x", (0.7,), lambda x: 2 / (1 + x) ** 3),
    ("out_param", "x", (0.7,), lambda x: 18 * x),  # callee with a double& output
    ("recursive", "x", (0.7,), lambda x: 12 * x * x),
    ("mixed_powers", "x", (0.7,), lambda x: 3.5 * 2.5 * x**1.5 - 1 / x**2 - 0.25 * x**-1.5),
    ("tan_times_x", "x", (0.7,), lambda x: 2 * _sec2(x) * (1 + x * math.tan(x))),
    ("branchy", "x", (1.5,), lambda x: 6 * x),
    ("branchy", "x", (0.5,), lambda x: -math.cos(x)),
    ("branchy", "x", (-0.5,), lambda x: -2.0),
    ("cross", "y", (0.7, 1.3), lambda x, y: -x * x * math.sin(x * y) + 2 * x),
]


@pytest.mark.parametrize("name,wrt,args,ref", SECOND, ids=[f"{n}/d{w}2@{a[0]}" for n, w, a, _ in SECOND])
def test_second_derivative_matches_hand_formula(m, name, wrt, args, ref):
    f = getattr(m, name)
    d2 = pyclad.differentiate(f, wrt, order=2)
    got = d2(*args)
    assert_close(got, ref(*args), what=f"{name} d2/d{wrt}2 vs formula")
    k = 0 if wrt == "x" else 1
    # the finite-difference second derivative is good to ~1e-9 here (rounding ~eps/h^2)
    assert_close(got, fd2(f, list(args), k, h=5e-3), rtol=1e-7, atol=1e-7, what="vs finite differences")


def test_second_derivative_wrt_an_array_element(m):
    d2 = pyclad.differentiate(m.arr_elem, "a[0]", order=2)
    a = np.array([0.7, 1.5])
    assert_close(d2(a), 2 * a[1])


def test_third_derivative(m):
    d3 = pyclad.differentiate(m.x_sin, "x", order=3)
    x = 0.7
    assert_close(d3(x), -3 * math.sin(x) - x * math.cos(x))


def test_third_derivative_through_a_user_function(m):
    d3 = pyclad.differentiate(m.sq_of_sin, "x", order=3)
    x = 0.7
    assert_close(d3(x), -4 * math.sin(2 * x))


def test_higher_order_names_follow_clad(m):
    assert "double cubic_d2arg0(double x, double y)" in pyclad.differentiate(m.cubic, "x", order=2).code
    assert "double x_sin_d3arg0(double x)" in pyclad.differentiate(m.x_sin, "x", order=3).code


def test_first_and_second_order_of_the_same_function_coexist(m):
    d1 = pyclad.differentiate(m.rational, "x")
    d2 = pyclad.differentiate(m.rational, "x", order=2)
    x = 0.3
    assert_close(d1(x), -2 * x / (1 + x * x) ** 2)
    assert_close(d2(x), (6 * x * x - 2) / (1 + x * x) ** 3)


# ---------------------------------------------------------------------------- math library, second order
# name: (d2/dx2, d2/dy2) by hand; the points are those of the first-order table.
def _h(x, y):
    return math.hypot(x, y)


MATH2 = {
    "sin": (lambda x, y: -math.sin(x), None),
    "cos": (lambda x, y: -math.cos(x), None),
    "tan": (lambda x, y: 2 * math.tan(x) / math.cos(x) ** 2, None),
    "asin": (lambda x, y: x / (1 - x * x) ** 1.5, None),
    "acos": (lambda x, y: -x / (1 - x * x) ** 1.5, None),
    "atan": (lambda x, y: -2 * x / (1 + x * x) ** 2, None),
    "atan2": (lambda x, y: -2 * x * y / (x * x + y * y) ** 2, lambda x, y: 2 * x * y / (x * x + y * y) ** 2),
    "sinh": (lambda x, y: math.sinh(x), None),
    "cosh": (lambda x, y: math.cosh(x), None),
    "tanh": (lambda x, y: -2 * math.tanh(x) / math.cosh(x) ** 2, None),
    "exp": (lambda x, y: math.exp(x), None),
    "log": (lambda x, y: -1 / x**2, None),
    "log10": (lambda x, y: -1 / (x * x * math.log(10)), None),
    "log2": (lambda x, y: -1 / (x * x * math.log(2)), None),
    "pow": (lambda x, y: y * (y - 1) * x ** (y - 2), lambda x, y: x**y * math.log(x) ** 2),
    "sqrt": (lambda x, y: -0.25 * x**-1.5, None),
    "cbrt": (lambda x, y: -2 / 9 * x ** (-5 / 3), None),
    "fabs": (lambda x, y: 0.0, None),
    "abs": (lambda x, y: 0.0, None),
    "hypot": (lambda x, y: y * y / _h(x, y) ** 3, lambda x, y: x * x / _h(x, y) ** 3),
    "fmin": (lambda x, y: 0.0, lambda x, y: 0.0),
    "fmax": (lambda x, y: 0.0, lambda x, y: 0.0),
    "floor": (lambda x, y: 0.0, None),
    "ceil": (lambda x, y: 0.0, None),
    "round": (lambda x, y: 0.0, None),
    "trunc": (lambda x, y: 0.0, None),
}


@pytest.fixture(scope="module")
def mathlib():
    from test_forward import _math_cpp

    return pyclad.cppdef(_math_cpp())


def _math2_cases():
    from test_forward import MATH_CASES

    return [(n, t, w) for n, t, w in MATH_CASES if t == "std"]


@pytest.mark.parametrize("name,tag,wrt", _math2_cases(), ids=[f"{n}/d{w}2" for n, _, w in _math2_cases()])
def test_math_function_second_derivative(mathlib, name, tag, wrt):
    from test_forward import POINTS

    f = getattr(mathlib, f"m_{tag}_{name}")
    d2 = pyclad.differentiate(f, wrt, order=2)
    formula = MATH2[name][0 if wrt == "x" else 1]
    for x, y in POINTS:
        assert_close(d2(x, y), formula(x, y), what=f"{name} d2/d{wrt}2 at {x, y}")
