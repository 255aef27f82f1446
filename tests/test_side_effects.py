"""Side effects inside expressions are differentiated in every mode: increments, nested
and chained assignments and the comma operator are sequenced into statements of their
own, as C++ evaluates them.  Where C++ leaves the order unspecified, the construct is
refused with a located error.  References are hand-derived formulas."""

from __future__ import annotations

import math
import re

import pytest
from conftest import assert_close

import pyclad

SRC = """\
double post_decrement(double x) { double a = x; double b = a--; return b * a; }
double pre_increment(double x) { double a = x; double b = ++a; return b * a; }
double step_in_update(double x) { double r = 0; double a = x; r += (a++) * 0.5; return r * a; }
double return_assignment(double x) { double y; return y = x * x; }
double comma_value(double x) { return (x, x * x); }
double comma_with_assignment(double x) { double a; return (a = x * x, a + 1); }
double nested_assignment(double x, double y) { double a = 0; double b = (a = x * y) * 2; return a + b; }
double chained(double x) { double r, s; r = s = 3 * x; return r * s; }
double in_condition(double x) { double a = x; if ((a *= 2) > 0) { return a * x; } return a; }
double in_call(double x) { double a = x; double r = std::sin(a++) * x; return r + a; }
double step_in_loop(double x) {
    double a = x, s = 0;
    for (int i = 0; i < 3; ++i) { s += a-- * x; }
    return s + a;
}
double return_post(double& a) { return a++ * 2; }
double through_ref(double x) { double a = x; double r = return_post(a); return r * a; }
double while_step(double x) { double a = 0, s = 0; while ((a += 0.5) < 2) { s += a * x; } return s * x; }
double for_step(double x) {
    double s = 0;
    int k = 0;
    for (double a = x; (a *= 2) < 40 * x; k++) { if (k == 1) continue; s += a; }
    return s;
}
double do_step(double x) { double a = x, s = 0; do { s += a * a; } while ((a -= 0.4) > 0); return s; }
double unsequenced(double x) { double a = x; return a++ * a; }
"""

X = 1.5
CASES = {
    # name: (d/dx as a function of x)
    "post_decrement": lambda x: 2 * x - 1,  # x (x - 1)
    "pre_increment": lambda x: 2 * (x + 1),  # (x + 1)^2
    "step_in_update": lambda x: 0.5 * (2 * x + 1),  # 0.5 x (x + 1)
    "return_assignment": lambda x: 2 * x,
    "comma_value": lambda x: 2 * x,
    "comma_with_assignment": lambda x: 2 * x,
    "chained": lambda x: 18 * x,  # 9 x^2
    "in_condition": lambda x: 4 * x,  # 2 x^2 for x > 0
    "in_call": lambda x: math.cos(x) * x + math.sin(x) + 1,  # x sin(x) + x + 1
    # s = x (x + (x - 1) + (x - 2)) = 3x^2 - 3x, a = x - 3
    "step_in_loop": lambda x: 6 * x - 3 + 1,
    "through_ref": lambda x: 2 * (2 * x + 1),  # 2x (x + 1)
    "while_step": lambda x: 2 * (0.5 + 1.0 + 1.5) * x,  # (0.5 + 1 + 1.5) x^2
    # a = 2x, 4x, 8x, 16x, 32x (then 64x ends it), k = 1 skipped: s = (2 + 8 + 16 + 32) x
    "for_step": lambda x: 2 + 8 + 16 + 32,
    # a = x, x - 0.4, ..., while positive: at x = 1.5, four terms
    "do_step": lambda x: sum(2 * (x - 0.4 * k) for k in range(4)),
}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef("#include <cmath>\n" + SRC)


@pytest.mark.parametrize("name", sorted(CASES))
def test_side_effect_inside_an_expression_is_differentiated_in_forward_mode(m, name):
    assert_close(pyclad.differentiate(getattr(m, name), "x")(X), CASES[name](X), what=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_side_effect_inside_an_expression_is_differentiated_in_reverse_mode(m, name):
    g = pyclad.gradient(getattr(m, name), "x")(X)
    assert_close(g, CASES[name](X), what=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_side_effect_inside_an_expression_has_the_right_second_derivative(m, name):
    h = 1e-4
    want = (CASES[name](X + h) - CASES[name](X - h)) / (2 * h)  # the formulas are at most quadratic
    assert_close(pyclad.hessian(getattr(m, name))(X)[0, 0], want, rtol=1e-6, atol=1e-6, what=name)


def test_nested_assignment_in_vector_mode_gives_both_partials(m):
    # a = x y, b = 2 x y: f = 3 x y
    dx, dy = pyclad.differentiate(m.nested_assignment, ["x", "y"])(1.5, -0.5)
    assert_close(dx, 3 * -0.5) and assert_close(dy, 3 * 1.5)


def test_the_primal_effects_survive_sequencing(m):
    assert m.post_decrement(X) == X * (X - 1)
    assert m.through_ref(X) == 2 * X * (X + 1)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_variable_modified_and_read_without_a_sequence_point_is_refused_with_its_location(m, mode):
    with pytest.raises(pyclad.UnsupportedError) as info:
        if mode == "forward":
            pyclad.differentiate(m.unsequenced, "x")
        else:
            pyclad.gradient(m.unsequenced)
    line = SRC.splitlines().index(next(s for s in SRC.splitlines() if "unsequenced" in s)) + 2
    assert re.search(rf"<string>:{line}:\d+", str(info.value)), str(info.value)
    assert "'a'" in str(info.value) and "unspecified" in str(info.value)
