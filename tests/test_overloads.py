"""Overloaded functions and methods: a call differentiates the overload it resolves to, each
overload's derivatives have names of their own, and from Python an overloaded name picks
the overload from the arguments or is named by its signature."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = """\
#include <cmath>
struct Vec2 { double x, y; };
double sq(double a) { return a * a; }
double sq(const Vec2& v) { return v.x * v.x + v.y * v.y; }
float sq(float a) { return 3 * a; }

struct Mat {
    double a[4];
    double& operator[](int i) { return a[i]; }
    const double& operator[](int i) const { return a[i]; }
    // Not accessors (more than one statement): called, with derivatives of their own.
    double& at(int i) { if (i < 0) { return a[0]; } return a[i]; }
    const double& at(int i) const { if (i < 0) { return a[0]; } return a[i]; }
};

double both(double t, double u) {
    Vec2 v{t, u};
    return sq(t) * std::sin(sq(v));
}

double fill(double t, double s) {
    Mat m{};
    m[0] = t * s;
    m[1] = std::cos(s);
    m[1] *= t;
    m[2] += m[0] * m[1];
    const double r = m[2];
    return r * s + m[0];
}

double read(const Mat& m, double t) { return m[0] * t + m[3] * t * t + m.at(1) * m.at(2); }

double through(double t, double s) {
    Mat m{};
    m[0] = t * s;
    m[1] = s;
    m[2] = t;
    m[3] = 1;
    double w = m.at(2);  // the non-const at(): m is not const here
    return read(m, t) + w * s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def _both(t, u):
    return t * t * np.sin(t * t + u * u)


def _through(t, s):
    return (t * s) * t + 1 * t * t + s * t + t * s


def test_a_call_differentiates_the_overload_libclang_resolves_it_to(m):
    g = pyclad.gradient(m.both)
    t, u = 0.7, -0.4
    dt, du = g(t, u)
    assert_close(dt, (_both(t + 1e-6, u) - _both(t - 1e-6, u)) / 2e-6, rtol=1e-7)
    assert_close(du, (_both(t, u + 1e-6) - _both(t, u - 1e-6)) / 2e-6, rtol=1e-7)
    assert_close(pyclad.differentiate(m.both, "t")(t, u), dt)
    assert_close(pyclad.differentiate(m.both, "u")(t, u), du)
    # each overload's own pullback (split: sq_double_forw + sq_double_rev, sq_Vec2_forw + ...)
    assert "sq_double_rev(" in g.code and "sq_Vec2_rev(" in g.code


def test_the_const_and_non_const_subscript_pair_works_as_lvalue_and_value_in_both_modes(m):
    t, s = 0.8, 1.3
    g = pyclad.gradient(m.fill)(t, s)
    for i in range(2):
        want = fd(m.fill, (t, s), i)
        assert_close(g[i], want, rtol=1e-7)
        assert_close(pyclad.differentiate(m.fill, ["t", "s"][i])(t, s), want, rtol=1e-7)


def test_overloaded_methods_that_are_called_get_a_derivative_each_named_by_its_signature(m):
    t, s = 0.6, -1.1
    g = pyclad.gradient(m.through)
    dt, ds = g(t, s)
    assert_close(dt, (_through(t + 1e-6, s) - _through(t - 1e-6, s)) / 2e-6, rtol=1e-7)
    assert_close(ds, (_through(t, s + 1e-6) - _through(t, s - 1e-6)) / 2e-6, rtol=1e-7)
    assert_close(pyclad.differentiate(m.through, "t")(t, s), dt)
    assert "Mat_at_int_const_pullback(" in g.code  # read() sees a const Mat
    assert "Mat_at_int_pullback(" in g.code
    for checked in (True, False):
        assert_close(pyclad.gradient(m.through, "s", checked=checked)(t, s), ds)


def test_an_overloaded_name_picks_the_overload_from_the_python_arguments(m):
    assert m.sq(3.0) == 9.0
    assert m.sq(np.float32(2.0)) == 6.0  # the float overload: 3 * a
    assert m.sq(m.Vec2(1.0, 2.0)) == 5.0
    assert m["sq(double)"](np.float32(2.0)) == 4.0
    assert m["sq( const Vec2 & )"](m.Vec2(2.0, 1.0)) == 5.0
    g = pyclad.gradient(m.sq)
    assert g(3.0) == (6.0,)
    (dv,) = g(m.Vec2(1.0, 2.0))
    assert (dv.x, dv.y) == (2.0, 4.0)
    assert pyclad.differentiate(m.sq, "a")(np.float32(1.5)) == pytest.approx(3.0)


def test_arguments_no_overload_takes_are_a_type_error_listing_the_candidates(m):
    with pytest.raises(pyclad.ArgumentError, match=r"no overload of 'sq' takes \(str\)") as info:
        m.sq("x")
    assert isinstance(info.value, TypeError)
    assert "m['sq(double)']" in str(info.value) and "m['sq(const Vec2&)']" in str(info.value)
    with pytest.raises(pyclad.ArgumentError, match="sq"):
        pyclad.gradient(m.sq)([1.0, 2.0])


def test_an_overloaded_method_is_named_with_its_constness(m):
    mat = m.Mat()
    for i in range(4):
        mat.a[i] = i + 1.0
    assert m["Mat::operator[](int) const"](mat, 2) == 3.0
    assert m["Mat::at(int)"](mat, 1) == 2.0


def test_derivatives_of_overloads_whose_parameters_would_coincide_do_not_share_a_name(tmp_path):
    # f(x, y)'s gradient and g's w.r.t. x and y would both take (double, double, double*, double*).
    src = (
        "double f(double x, double y) { return x * y * y; }\n"
        "double f(double x, double y, double* z) { z[0] = x; return x * x + y; }\n"
    )
    m = pyclad.cppdef(src)
    a = pyclad.gradient(m["f(double, double)"])
    b = pyclad.gradient(m["f(double, double, double*)"], "x, y")
    assert a(2.0, 3.0) == (9.0, 12.0)
    assert b(2.0, 3.0, np.zeros(1)) == (4.0, 1.0)
    assert "void f_double_double_grad(double x, double y, double *_d_x, double *_d_y)" in a.code
    assert "void f_double_double_double_ptr_grad_0_1(" in b.code
    (tmp_path / "f.cpp").write_text(src)
    out = pyclad_cli(
        "gen", tmp_path / "f.cpp", "-f", "f(double, double)", "-f", "f(double,double,double*)",
        "--mode", "reverse", "--wrt", "x, y", "-o", tmp_path / "f_d.hpp",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "f.cpp"\n#include "f_d.hpp"\n'
        "int main() { double dx = 0, dy = 0, ex = 0, ey = 0, z[1], dz[1] = {0};\n"
        "  f_double_double_grad(2, 3, &dx, &dy); f_double_double_double_ptr_grad_0_1(2, 3, z, &ex, &ey, dz);\n"
        '  std::printf("%g %g %g %g\\n", dx, dy, ex, ey); }\n'
    )
    printed, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert printed.split() == ["9", "12", "4", "1"] and not warnings


def test_the_cli_names_one_overload_by_its_signature_and_refuses_the_bare_name(tmp_path):
    (tmp_path / "m.cpp").write_text(SRC)
    bare = pyclad_cli("gen", tmp_path / "m.cpp", "-f", "sq", "--mode", "reverse")
    assert bare.returncode == 1
    assert "'sq' is overloaded" in bare.stderr and "'sq(const Vec2&)'" in bare.stderr
    assert "m.cpp:3:" in bare.stderr
    one = pyclad_cli("gen", tmp_path / "m.cpp", "-f", "sq(const Vec2&)", "--mode", "reverse")
    assert one.returncode == 0, one.stderr
    assert "inline void sq_Vec2_grad(const Vec2 &v, Vec2 *_d_v)" in one.stdout


def test_overloads_no_call_can_tell_apart_are_a_located_name_clash():
    m = pyclad.cppdef(
        "double h(double x) { return x; }\n"
        "double h(const double& x) { return 2 * x; }\n"
        "double k(double x) { return x; }\n"
    )
    pyclad.gradient(m["h(double)"])
    with pytest.raises(pyclad.PycladError, match="h_double") as info:
        pyclad.gradient(m["h(const double&)"])
    assert "<string>:2:" in str(info.value)


def test_a_declaration_spelled_with_a_typedef_is_the_same_function_not_an_overload():
    m = pyclad.cppdef(
        "typedef double Real;\n"
        "double f(Real x);\n"
        "double f(double x) { return x * x; }\n"
        "double g(double x) { return f(x) * 2; }\n"
    )
    assert pyclad.gradient(m.f)(3.0) == (6.0,)  # m.f is the one function
    assert pyclad.gradient(m.g)(3.0) == (12.0,)


def test_a_derivative_of_an_overloaded_name_shows_its_code_once_an_overload_is_chosen(m):
    g = pyclad.gradient(m.sq)
    with pytest.raises(pyclad.ArgumentError, match="call it first"):
        _ = g.code
    assert g(2.0) == (4.0,)
    assert "sq_double_grad" in g.code and "sq_Vec2_grad" not in g.code
    assert "sq_Vec2_grad" in g.for_args((m.Vec2(1.0, 1.0),)).code
