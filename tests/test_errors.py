"""Errors: each is a PycladError subclass that names file:line:col in the user's code,
and the process carries on differentiating correctly afterwards."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from conftest import assert_close

import pyclad

SOURCE = """#include <cmath>
double f(double x, int n) { return x * n; }
double with_goto(double x) {
    if (x > 0) goto end;
    x = x * 2;
end:
    return x;
}
double with_asm(double x) {
    asm("nop");
    return x;
}
double ext(double x);
double uses_ext(double x) { return std::sin(x) + ext(x) * 2; }
double calls_uses_ext(double x) { return uses_ext(x * x); }
double chained(double x) {
    double r = 0, s = 0;
    r = s = x;
    return r;
}
double G;
double stores_global(double x) {
    G = x * x;
    return x;
}
double callee_with_goto(double v) {
    goto out;
out:
    return v;
}
double calls_goto(double x) { return callee_with_goto(x) * x; }
double sq(double v) { return v * v; }
double fine(double x) { return sq(std::exp(x)); }
double arr_sum(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * a[i];
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def line_of(text: str, source: str = SOURCE) -> int:
    """1-based line of the first line of ``source`` containing ``text``."""
    return next(i for i, ln in enumerate(source.splitlines(), 1) if text in ln)


def assert_located(err: Exception, line: int, file: str = "<string>"):
    assert isinstance(err, pyclad.PycladError)
    assert re.search(rf"{re.escape(file)}:{line}:\d+", str(err)), str(err)


def still_works(m):
    """The same process, after an error: another derivative is generated and correct."""
    d = pyclad.differentiate(m.fine, "x")
    x = 0.3
    assert_close(d(x), 2 * math.exp(2 * x))


def test_syntax_error_reports_the_line_in_the_string(m):
    with pytest.raises(pyclad.CompileError) as info:
        pyclad.cppdef("#include <cmath>\ndouble f(double x) {\n    return x * ;\n}\n")
    assert_located(info.value, 3)
    assert "expected expression" in str(info.value)
    still_works(m)


def test_syntax_error_in_a_file_reports_its_path(tmp_path, m):
    path = tmp_path / "broken.cpp"
    path.write_text("double f(double x) {\n\n    return x +* 2\n}\n")
    with pytest.raises(pyclad.CompileError) as info:
        pyclad.load(path)
    assert_located(info.value, 3, str(path))
    still_works(m)


def test_missing_file_is_a_pyclad_error(tmp_path, m):
    with pytest.raises(pyclad.PycladError):
        pyclad.load(tmp_path / "does_not_exist.cpp")
    still_works(m)


def test_unknown_function_name(m):
    with pytest.raises(pyclad.FunctionNotFoundError) as info:
        _ = m.nosuch
    assert isinstance(info.value, AttributeError)
    assert "nosuch" in str(info.value)
    # No made-up place (there is no line of a missing function): the error lists what exists.
    assert info.value.loc is None and "functions: " in str(info.value) and "sq" in str(info.value)
    assert not hasattr(m, "nosuch")
    still_works(m)


def test_declared_but_undefined_function(m):
    with pytest.raises(pyclad.FunctionNotFoundError) as info:
        _ = m.ext
    assert_located(info.value, line_of("double ext(double x);"))
    still_works(m)


def test_unknown_wrt_name(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.differentiate(m.f, "z")
    assert isinstance(info.value, ValueError)
    assert "'z'" in str(info.value)
    assert_located(info.value, line_of("double f(double x, int n)"))
    still_works(m)


def test_wrt_an_int_param(m):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.differentiate(m.f, "n")
    assert "int" in str(info.value)
    assert_located(info.value, line_of("double f(double x, int n)"))
    still_works(m)


@pytest.mark.parametrize("wrt", ["x[0]", "a[", "", "x, x"])
def test_malformed_wrt(m, wrt):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.differentiate(m.f, wrt)
    assert_located(info.value, line_of("double f(double x, int n)"))
    still_works(m)


def test_order_must_be_positive(m):
    with pytest.raises(pyclad.WrtError):
        pyclad.differentiate(m.f, "x", order=0)
    still_works(m)


def test_goto_is_unsupported(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m.with_goto, "x")
    assert "goto" in str(info.value)
    assert_located(info.value, line_of("goto end;"))
    still_works(m)


def test_inline_asm_is_unsupported(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m.with_asm, "x")
    assert "assembly" in str(info.value)
    assert_located(info.value, line_of('asm("nop");'))
    still_works(m)


def test_unsupported_construct_in_a_callee_points_into_the_callee(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m.calls_goto, "x")
    assert_located(info.value, line_of("goto out;"))
    still_works(m)


def test_call_to_a_function_without_body_or_custom_derivative(m):
    with pytest.raises(pyclad.NoDerivativeError) as info:
        pyclad.differentiate(m.uses_ext, "x")
    assert "ext" in str(info.value) and "custom_derivatives" in str(info.value)
    assert_located(info.value, line_of("ext(x) * 2"))
    still_works(m)


def test_failed_callee_leaves_nothing_half_generated(m):
    for _ in range(2):  # the second request must fail the same way, not find a stale pushforward
        with pytest.raises(pyclad.NoDerivativeError) as info:
            pyclad.differentiate(m.calls_uses_ext, "x")
        assert_located(info.value, line_of("ext(x) * 2"))
    still_works(m)


def test_assignment_chain_to_an_active_variable_is_differentiated(m):
    # r = s = x is s = x; r = s: d r / d x = 1
    assert pyclad.differentiate(m.chained, "x")(2.5) == 1.0
    still_works(m)


def test_storing_a_derivative_carrying_value_in_a_global_is_unsupported(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m.stores_global, "x")
    assert "G" in str(info.value)
    assert_located(info.value, line_of("G = x * x;"))
    still_works(m)


def test_wrong_argument_count(m):
    d = pyclad.differentiate(m.f, "x")
    for call in (lambda: d(1.0), lambda: d(1.0, 2, 3), lambda: m.f(1.0)):
        with pytest.raises(pyclad.ArgumentError) as info:
            call()
        assert isinstance(info.value, TypeError)
        assert "2 arguments" in str(info.value)
        assert_located(info.value, line_of("double f(double x, int n)"))
    assert_close(d(2.0, 3), 3.0)
    still_works(m)


@pytest.mark.parametrize(
    "args",
    [("a", 2), (1.0, 2.5), (None, 2), (1.0, "3"), ([1.0], 2)],
    ids=["str", "float-int", "none", "str-int", "list"],
)
def test_wrong_argument_types(m, args):
    d = pyclad.differentiate(m.f, "x")
    with pytest.raises(pyclad.ArgumentError) as info:
        d(*args)
    assert isinstance(info.value, TypeError)
    assert_located(info.value, line_of("double f(double x, int n)"))
    still_works(m)


@pytest.mark.parametrize(
    "a", [1.0, np.array([]), np.array(["a", "b"]), None], ids=["scalar", "empty", "strings", "none"]
)
def test_bad_array_arguments(m, a):
    d = pyclad.differentiate(m.arr_sum, "a[0]")
    with pytest.raises(pyclad.ArgumentError) as info:
        d(a, 1)
    assert_located(info.value, line_of("double arr_sum("))
    assert_close(d(np.array([0.5, 2.0]), 2), 1.0)


def test_array_element_beyond_the_array(m):
    d = pyclad.differentiate(m.arr_sum, "a[5]")
    with pytest.raises(pyclad.ArgumentError) as info:
        d(np.array([0.5, 2.0]), 2)
    assert "out of range" in str(info.value)
    assert_located(info.value, line_of("double arr_sum("))
    still_works(m)


def test_differentiate_needs_a_module_function():
    with pytest.raises(pyclad.ArgumentError):
        pyclad.differentiate(math.sin, "x")


def test_higher_order_through_a_custom_derivative_is_a_clear_error(m):
    src = """#include <pyclad/runtime.hpp>
double mysq(double x) { return x * x; }
namespace pyclad { namespace custom_derivatives {
pyclad::ValueAndPushforward<double, double> mysq_pushforward(double x, double d_x) {
    return {x * x, 2 * x * d_x};
}
}}
double uses(double x) { return mysq(x) * x; }
"""
    mc = pyclad.cppdef(src)
    assert_close(pyclad.differentiate(mc.uses, "x")(0.5), 3 * 0.25)
    with pytest.raises(pyclad.NoDerivativeError) as info:
        pyclad.differentiate(mc.uses, "x", order=2)
    assert "mysq_pushforward" in str(info.value)
    assert_located(info.value, line_of("mysq(x) * x", src))
    still_works(m)


def test_changing_an_active_pointer_inside_a_condition_is_unsupported(m):
    src = """double cond_step(const double* p) {
    double s = 0;
    while (*p++ > 0) s += *p;
    return s;
}
"""
    mc = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(mc.cond_step, "p[0]")
    assert_located(info.value, 3)
    still_works(m)


def test_compiler_warnings_are_not_errors(m):
    src = "double no_return(double x) {\n    if (x > 0) return x * x;\n}\n"
    with pytest.warns(SyntaxWarning):
        mw = pyclad.cppdef(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # the derivative has the same missing return
        assert_close(pyclad.differentiate(mw.no_return, "x")(1.5), 3.0)


def test_call_writing_an_output_inside_an_integer_expression_is_unsupported(m):
    src = """#include <cmath>
int status_exp(double x, double& y) { y = std::exp(x); return 1; }
double int_expr(double x) {
    double y = 0;
    int k = status_exp(x, y) + 1;
    return y * k;
}
"""
    mc = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(mc.int_expr, "x")
    assert_located(info.value, line_of("int k = status_exp(x, y) + 1;", src))
    still_works(m)


def test_forward_mode_needs_a_floating_return(m):
    mi = pyclad.cppdef("int truncate(double x) {\n    return (int)x;\n}\n")
    with pytest.raises(pyclad.PycladError) as info:
        pyclad.differentiate(mi.truncate, "x")
    assert "returns int" in str(info.value)
    assert_located(info.value, 1)
    still_works(m)


def test_a_function_that_cannot_be_differentiated_can_still_be_called(m):
    # (a module of its own: SOURCE declares ext() without defining it, which the JIT
    # cannot link, so none of SOURCE's primals can be called)
    start = line_of("double with_goto(double x) {")
    mg = pyclad.cppdef("\n".join(SOURCE.splitlines()[start - 1 : line_of("double ext(double x);") - 1]))
    assert mg.with_goto(1.5) == 1.5 and mg.with_goto(-1.5) == -3.0
    assert mg.with_asm(2.5) == 2.5
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(mg.with_goto, "x")
    assert_located(info.value, line_of("goto end;") - start + 1)
    still_works(m)


def test_integer_abs_of_a_floating_value_is_refused_with_a_fix(m):
    """``abs(x)`` of a double with only <cmath> is the integer abs in standard C++ (the JIT
    may pick a floating overload): refused rather than differentiated as a constant."""
    src = "#include <cmath>\ndouble f(double x) { return abs(x) * x; }\n"
    other = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(other.f, "x")
    assert "std::abs" in str(info.value)
    assert_located(info.value, 2)
    still_works(m)
