"""Reverse mode on bad input: a pyclad.PycladError subclass (with the matching Python
built-in exception where there is one) whose message names file:line:col in the user's
source; and after each error the same process still computes a correct gradient."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import pyclad

SRC = """\
#include <cmath>
double s(const double* x, int n) {
    double r = 0;
    for (int i = 0; i < n; i++) r += std::sin(x[i]) * x[i];
    return r;
}
double f(double x, int n) { return x * n; }
double withgoto(double x, int n) {
    double r = x;
    for (int i = 0; i < n; i++) {
        if (r > 100) goto done;
        r = r * x;
    }
done:
    return r;
}
double refloc(double* x, int n) {
    double acc = 0;
    for (int i = 0; i < n; i++) {
        double& r = x[i];
        r = r * r;
        acc += r;
    }
    return acc;
}
void sqr_all(double* a, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * a[i]; }
double writes_param(double* x, int n) {
    double first = x[0] * x[0];
    sqr_all(x, n);
    return first + x[1] * x[0];
}
bool bump(double x, double& y) {
    y = y * x;
    return y > 1;
}
double call_in_cond(double x) {
    double t = 1;
    int k = 0;
    while (!bump(x, t) && k < 10) k++;
    return t;
}
double step_in_cond(double x, int n) {
    double acc = 0;
    int i = 0;
    while (i++ < n) acc += x * i;
    return acc;
}
int count(double x) { return x > 0 ? 1 : 0; }
double unsequenced(double x) {
    double t = x;
    double r = bump(x, t) * 2.0 + t;
    return r;
}
double conditional_call(double x) {
    double t = x;
    bool ok = x > 0 && bump(x, t);
    return ok ? t : x;
}
"""


def line_of(text: str) -> int:
    return next(i for i, ln in enumerate(SRC.splitlines(), 1) if text in ln)


LOC = re.compile(r"<string>:(\d+):(\d+): error: ")


def located_at(exc: BaseException, line: int) -> None:
    m = LOC.search(str(exc))
    assert m, f"no file:line:col in {str(exc)!r}"
    assert int(m.group(1)) == line, f"expected line {line}: {exc}"
    assert exc.loc is not None and exc.loc.line == line and exc.loc.col >= 1


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def still_works(m):
    """The process (and this module) go on computing correct gradients."""
    x = np.array([0.3, -0.8, 1.2])
    g = pyclad.gradient(m.s, "x")(x, 3)
    np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-13)
    (d,) = pyclad.gradient(m.f)(0.5, 3)
    assert d == 3.0
    fresh = pyclad.cppdef("#include <cmath>\ndouble q(double x, double y) { return std::exp(x) * y; }")
    gx, gy = pyclad.gradient(fresh.q)(0.5, 2.0)
    assert math.isclose(gx, math.exp(0.5) * 2.0, rel_tol=1e-14) and math.isclose(gy, math.exp(0.5))


@pytest.mark.parametrize(
    "bad", [1.0, None, "abc", [[1.0, 2.0], [3.0, object()]]], ids=["float", "None", "str", "ragged"]
)
def test_pointer_param_without_an_array(m, bad):
    g = pyclad.gradient(m.s, "x")
    with pytest.raises(pyclad.ArgumentError) as info:
        g(bad, 3)
    assert isinstance(info.value, TypeError) and isinstance(info.value, pyclad.PycladError)
    assert "'x'" in str(info.value)
    located_at(info.value, line_of("double s(const double* x"))
    still_works(m)


def test_wrong_argument_count(m):
    with pytest.raises(pyclad.ArgumentError) as info:
        pyclad.gradient(m.s, "x")(np.ones(3))
    assert isinstance(info.value, TypeError)
    assert "takes 2 arguments, got 1" in str(info.value)
    located_at(info.value, line_of("double s(const double* x"))
    with pytest.raises(TypeError):
        pyclad.value_and_grad(m.f)(1.0)
    still_works(m)


def test_wrt_naming_an_int_param(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.gradient(m.f, "n")
    assert isinstance(info.value, ValueError)
    assert "'n'" in str(info.value) and "int" in str(info.value)
    located_at(info.value, line_of("double f(double x, int n)"))
    with pytest.raises(ValueError):
        pyclad.gradient(m.s, ["x", "n"])
    still_works(m)


@pytest.mark.parametrize("wrt", ["y", "x, q", ["x", "nope"]], ids=["y", "x_q", "list"])
def test_wrt_naming_a_non_parameter(m, wrt):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.gradient(m.f, wrt)
    assert isinstance(info.value, ValueError)
    assert "is not a parameter of 'f'" in str(info.value)
    assert "parameters: x, n" in str(info.value)
    located_at(info.value, line_of("double f(double x, int n)"))
    still_works(m)


def test_wrt_an_array_element_is_for_forward_mode(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.gradient(m.s, "x[1]")
    located_at(info.value, line_of("double s(const double* x"))
    still_works(m)


def test_function_without_floating_result(m):
    with pytest.raises(pyclad.PycladError) as info:
        pyclad.gradient(m.count)
    assert "returns int" in str(info.value)
    located_at(info.value, line_of("int count(double x)"))
    still_works(m)


def test_goto_inside_a_loop(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.withgoto)
    assert "goto" in str(info.value)
    located_at(info.value, line_of("goto done"))
    still_works(m)


def test_a_reference_local_inside_a_loop_is_differentiated_as_the_pointer_it_is(m):
    x = np.array([0.5, -1.5, 2.0])
    g = pyclad.gradient(m.refloc, "x")(x.copy(), 3)
    assert np.allclose(g, 2 * x, rtol=1e-14, atol=0)  # the sum of the squares


def test_callee_without_body_or_pullback(m):
    src = "double external(double x);\ndouble uses_external(double x) {\n    return external(x) * x;\n}\n"
    other = pyclad.cppdef(src)
    with pytest.raises(pyclad.NoDerivativeError) as info:
        pyclad.gradient(other.uses_external)
    assert "external" in str(info.value) and "external_pullback" in str(info.value)
    assert re.search(r"<string>:3:\d+: error: ", str(info.value)), str(info.value)
    still_works(m)


def test_a_callee_overwriting_an_array_of_unknown_length_is_undone_element_by_element(m):
    """sqr_all squares x in place and the reverse sweep needs x both before (x[0]*x[0]) and
    after the call: what the call overwrites is saved on the undo log as it overwrites it."""
    x = np.array([0.5, -1.5, 2.0])
    g = pyclad.gradient(m.writes_param, "x")(x.copy(), 3)
    x0, x1 = x[0], x[1]
    assert np.allclose(g, [2 * x0 + 2 * x0 * x1 * x1, 2 * x1 * x0 * x0, 0.0], rtol=1e-14, atol=0)


def test_call_writing_a_differentiated_variable_in_a_condition(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.call_in_cond)
    assert "condition" in str(info.value)
    located_at(info.value, line_of("while (!bump(x, t)"))
    still_works(m)


def test_increment_inside_a_loop_condition_is_differentiated(m):
    # acc = x (1 + 2 + ... + n)
    assert pyclad.gradient(m.step_in_cond, "x")(0.7, 4) == 10.0
    still_works(m)


def test_a_failed_request_leaves_no_half_generated_helpers(m):
    """After the failure in late_failure (whose callee's pullback and logging variant were
    already generated), a later request that uses the same callee compiles and is right."""
    extra = (
        "double late_failure(double* x, int n) {\n    sqr_all(x, n);\n    double t = x[0];\n"
        "    if (bump(x[1], t)) t = t * 2;\n    return t;\n}\n"
        "double ok_use(double x, double y) { double a[2] = {x, y}; sqr_all(a, 2); return a[0] * a[1]; }\n"
    )
    m2 = pyclad.cppdef(SRC + extra)
    with pytest.raises(pyclad.UnsupportedError, match="inside a condition"):
        pyclad.gradient(m2.late_failure, "x")
    gx, gy = pyclad.gradient(m2.ok_use)(0.5, -1.5)  # a local array: undone element by element
    assert math.isclose(gx, 2 * 0.5 * 1.5**2, rel_tol=1e-14) and math.isclose(
        gy, 2 * -1.5 * 0.5**2, rel_tol=1e-14
    )
    still_works(m)


def test_read_unsequenced_with_a_call_that_writes_it(m):
    """Whether ``t`` in ``bump(x, t) * 2.0 + t`` is read before or after bump writes it is
    unspecified in C++: no derivative is guessed."""
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.unsequenced)
    assert "'t'" in str(info.value) and "unspecified" in str(info.value)
    located_at(info.value, line_of("double r = bump(x, t) * 2.0 + t;"))
    still_works(m)


def test_call_that_writes_on_the_right_of_and(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.conditional_call)
    assert "on the right of &&" in str(info.value)
    located_at(info.value, line_of("bool ok = x > 0 && bump(x, t);"))
    still_works(m)
