"""User-defined literals, enum class, anonymous namespaces, names that clash with generated
ones, and custom derivatives with the wrong parameters.  References are hand formulas."""

import math
import subprocess
import sys

import pytest
from conftest import gxx_build_and_run

import pyclad

SOURCE = """\
#include <pyclad/runtime.hpp>
double operator""_k(long double v) { return double(v) * 1000; }
#define KILO 2.0_k
enum class Mode { A = 1, B = 2 };
enum Plain { P0, P1, P2 };
namespace { double sq(double x) { return x * x; } }
double weight(Mode m) { return m == Mode::B ? 2.0 : 1.0; }
double f(double x) {
    Mode m = Mode::B;
    int k = static_cast<int>(Mode::A) + P2;
    return 1.5_k * x + (double)m * x + k + sq(x) + weight(m) * x + KILO;
}
"""
X = 0.7


def value(x):
    return 1500 * x + 2 * x + 3 + x * x + 2 * x + 2000


def deriv(x):
    return 1500 + 2 + 2 * x + 2


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def test_user_literals_enum_class_and_anonymous_namespaces_in_every_mode(m):
    assert math.isclose(m.f(X), value(X), rel_tol=1e-12)
    assert math.isclose(pyclad.differentiate(m.f, "x")(X), deriv(X), rel_tol=1e-12)
    (g,) = pyclad.gradient(m.f)(X)
    assert math.isclose(g, deriv(X), rel_tol=1e-12)
    h = pyclad.hessian(m.f)(X)
    assert math.isclose(h[0, 0], 2.0, rel_tol=1e-12)


def test_a_user_literal_is_applied_once_in_the_generated_code(m):
    code = pyclad.gradient(m.f).code + pyclad.differentiate(m.f, "x").code
    assert "1.5_k" in code and 'operator""' not in code
    assert "Mode::B" in code


def test_gen_header_with_literals_enums_and_anonymous_namespaces_compiles(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    for mode, out in (("forward", "fwd.hpp"), ("reverse", "rev.hpp")):
        args = [sys.executable, "-m", "pyclad", "gen", "model.cpp", "--mode", mode, "-f", "f", "-o", out]
        r = subprocess.run(args, check=False, capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "fwd.hpp"\n#include "rev.hpp"\n'
        f'int main() {{ double g = 0; f_grad({X!r}, &g); std::printf("%.17g %.17g\\n", f_darg0({X!r}), g); }}\n'
    )
    out = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")[0].split()
    assert all(math.isclose(float(v), deriv(X), rel_tol=1e-12) for v in out)


# ---------------------------------------------------------------------------- name clashes
CLASH = """\
double f(double x) { return x * x; }
double f_grad(double x) { return 2 * x; }
double f_darg0(double x) { return 2 * x; }
double g(double x) { return f(x) * x; }
double g_pullback(double x) { return x; }
"""


@pytest.mark.parametrize(
    "make, name, line",
    [
        (lambda m: pyclad.gradient(m.f), "f_grad", 2),
        (lambda m: pyclad.differentiate(m.f, "x"), "f_darg0", 3),
        (lambda m: pyclad.gradient(m.g, "x"), None, None),  # g_grad is free, and f_pullback too
    ],
    ids=["grad", "darg0", "no clash"],
)
def test_a_user_function_named_like_a_generated_one_is_a_located_error(make, name, line):
    m = pyclad.cppdef(CLASH)
    if name is None:
        dg = make(m)(X)  # a single wrt name: the bare value
        assert math.isclose(dg, 3 * X * X, rel_tol=1e-12)
        return
    with pytest.raises(pyclad.PycladError) as info:
        make(m)
    err = info.value
    assert f"'{name}'" in str(err) and "rename" in str(err)
    assert err.loc is not None and err.loc.line == line
    assert math.isclose(m[name](X), 2 * X)  # the user's own function still works


# ---------------------------------------------------------------------------- custom signatures
CUSTOM = """\
#include <pyclad/runtime.hpp>
double g(double x, double y) { return x * y; }
namespace pyclad { namespace custom_derivatives {
void g_pullback(double x, double y, double* d_x, double* d_y) { *d_x += y; *d_y += x; }
}}
double uses(double x, double y) { return g(x, y) + x; }
"""


def test_a_custom_pullback_with_the_wrong_parameters_names_the_expected_signature():
    with pytest.raises(pyclad.PycladError) as info:
        m = pyclad.cppdef(CUSTOM)
        pyclad.gradient(m.uses)
    err = info.value
    assert isinstance(err, TypeError)
    assert "void g_pullback(double x, double y, double _d_result, double *_d_x, double *_d_y)" in str(err)
    assert err.loc is not None and err.loc.line == 4


def test_a_custom_pushforward_with_the_wrong_parameters_names_the_expected_signature():
    src = CUSTOM.replace(
        "void g_pullback(double x, double y, double* d_x, double* d_y) { *d_x += y; *d_y += x; }",
        "pyclad::ValueAndPushforward<double, double> g_pushforward(double x, double d_x) { return {x, d_x}; }",
    )
    with pytest.raises(pyclad.PycladError) as info:
        m = pyclad.cppdef(src)
        pyclad.differentiate(m.uses, "x")
    assert "g_pushforward(double x, double y, double _d_x, double _d_y)" in str(info.value)
    assert info.value.loc.line == 4


def test_a_custom_pullback_with_the_right_parameters_is_used():
    src = CUSTOM.replace(
        "void g_pullback(double x, double y, double* d_x, double* d_y) { *d_x += y; *d_y += x; }",
        "void g_pullback(double x, double y, double d, double* d_x, double* d_y) { *d_x += 10 * d; (void)x; (void)y;"
        " *d_y += 0 * d; }",
    )
    m = pyclad.cppdef(src)
    gx, gy = pyclad.gradient(m.uses)(X, 2.0)
    assert math.isclose(gx, 11.0) and gy == 0.0  # the custom rule, deliberately not the true one


def test_a_custom_derivative_for_double_serves_a_call_with_float_arguments():
    # std::sin(float) is the float overload; the custom rule takes doubles, which C++ converts.
    src = """\
#include <pyclad/runtime.hpp>
#include <cmath>
namespace pyclad { namespace custom_derivatives {
pyclad::ValueAndPushforward<double, double> sin_pushforward(double x, double d_x) {
    return {std::sin(x), 10 * std::cos(x) * d_x};  // 10x on purpose: shows the custom rule is used
}
}}
float f(float x) { return std::sin(x); }
"""
    m = pyclad.cppdef(src)
    assert math.isclose(pyclad.differentiate(m.f, "x")(0.5), 10 * math.cos(0.5), rel_tol=1e-6)
