"""Function templates, differentiated as instances: deduced from the Python arguments or
named (``m["f<double>"]``, ``pyclad gen -f 'f<double>'``); templates they call are
instantiated with the same arguments; non-type parameters, ``std::array<T, N>``, ``auto``
return types, ``constexpr`` functions and ``if constexpr``.  Every derivative is compared
with finite differences or with the same function written without templates."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = """\
#include <array>
#include <cmath>
#include <string>
#include <type_traits>

template <typename T> T sq(T x) { return x * x; }
template <typename T> T damped(T x) { return std::exp(-sq(x)) * x; }

template <typename T>
T f(T x, const T* a, int n) {
    T s = 0;
    for (int i = 0; i < n; ++i) s += damped(a[i] * x) + sq(a[i]);
    return s;
}

// The same function written without templates: the second reference.
double sq_plain(double x) { return x * x; }
double damped_plain(double x) { return std::exp(-sq_plain(x)) * x; }
double f_plain(double x, const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += damped_plain(a[i] * x) + sq_plain(a[i]);
    return s;
}

template <typename T> constexpr T cube(T x) { return x * x * x; }

template <typename T, int N>
auto norm_cubed(const std::array<T, N>& v, T w) {
    T s = 0;
    for (int i = 0; i < N; ++i) s += sq(v[i]) * w;
    return cube(std::sqrt(s));
}

template <typename T, int N>
T poly(const T* c, T x) {
    T acc = 0;
    if constexpr (N > 2) {
        acc = c[2] * cube(x);
    } else {
        acc = c[0] * x;
    }
    if constexpr (std::is_same_v<T, float>) acc *= 2;
    for (int i = 0; i < N; ++i) acc += c[i] * std::pow(x, i);
    return acc;
}

double uses(double x) {
    double c[2] = {x, 1.0};
    return poly<double, 2>(c, x) + sq(x);
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


A = np.array([0.3, -1.2, 0.7])


def test_a_template_gradient_deduces_double_from_python_floats_and_matches_finite_differences(m):
    x = 0.8
    dx, da = pyclad.gradient(m.f)(x, A, 3)
    assert_close(dx, fd(m.f, (x, A, 3), 0), rtol=1e-7)
    for k in range(3):
        assert_close(da[k], fd(m.f, (x, A, 3), 1, k), rtol=1e-7)
    assert_close(pyclad.differentiate(m.f, "x")(x, A, 3), dx)
    assert_close(pyclad.differentiate(m.f, "a[2]")(x, A, 3), da[2])
    for checked in (True, False):
        assert_close(pyclad.gradient(m.f, "x", checked=checked)(x, A, 3), dx)


def test_a_template_and_its_non_template_copy_give_the_same_derivatives(m):
    x = -0.45
    got = pyclad.gradient(m["f<double>"])(x, A, 3)
    want = pyclad.gradient(m.f_plain)(x, A, 3)
    assert_close(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    assert_close(pyclad.differentiate(m.f, "x")(x, A, 3), pyclad.differentiate(m.f_plain, "x")(x, A, 3))


def test_float32_arguments_make_the_float_instance_and_its_derivatives_do_not_collide(m):
    x = np.float32(0.8)
    a32 = A.astype(np.float32)
    dx32, da32 = pyclad.gradient(m.f)(x, a32, 3)
    dx64, da64 = pyclad.gradient(m.f)(0.8, A, 3)
    assert da32.dtype == np.float32
    assert_close(float(dx32), dx64, rtol=1e-5)
    np.testing.assert_allclose(da32.astype(np.float64), da64, rtol=1e-5, atol=1e-6)
    code32 = pyclad.gradient(m["f<float>"]).code
    assert "void f_float_grad(float x, const float *a, int n, float *_d_x, float *_d_a)" in code32
    for callee in ("damped_float", "sq_float"):  # its pullback, whole or split (forw + rev)
        assert f"{callee}_pullback" in code32 or f"{callee}_rev(" in code32


def test_an_instance_is_named_by_its_template_arguments(m):
    assert m.f["double"] is m["f<double>"]
    assert m["f< double >"].name == "f<double>"
    assert m["f<double>"](0.5, A, 3) == pytest.approx(m.f_plain(0.5, A, 3))
    assert "void f_double_grad(double x, const double *a, int n, double *_d_x, double *_d_a)" in (
        pyclad.gradient(m["f<double>"]).code
    )


def test_non_type_parameters_std_array_auto_and_constexpr_callees_differentiate(m):
    v, w = np.array([0.5, -1.5, 2.0]), 0.7
    key = "norm_cubed<double, 3>"
    dv, dw = pyclad.gradient(m.norm_cubed)(v, w)  # N deduced from the array's length
    s = w * float(v @ v)
    np.testing.assert_allclose(dv, 3 * np.sqrt(s) * w * v, rtol=1e-12)  # d s^1.5 = 1.5 s^0.5 ds
    assert_close(dw, 1.5 * np.sqrt(s) * float(v @ v))
    assert_close(pyclad.differentiate(m[key], "w")(v, w), dw)
    assert_close(pyclad.differentiate(m[key], "v[1]")(v, w), dv[1])


def test_if_constexpr_lowers_only_the_branch_the_template_arguments_select(m):
    c, x = np.array([1.5, -2.0, 0.5]), 0.6
    for key, want_dx in (
        ("poly<double, 3>", 3 * 0.5 * x**2 + (-2.0) + 2 * 0.5 * x),
        ("poly<double, 2>", 1.5 + (-2.0)),
        ("poly<float, 2>", 2 * 1.5 + (-2.0)),
    ):
        fn = m[key]
        args = (c.astype(np.float32), np.float32(x)) if "float" in key else (c, x)
        dc, dx = pyclad.gradient(fn)(*args)
        assert_close(float(dx), want_dx, rtol=1e-5)
        assert_close(float(pyclad.differentiate(fn, "x")(*args)), want_dx, rtol=1e-5)
        if "double" in key:
            for k in range(2):
                assert_close(dc[k], fd(fn, args, 0, k), rtol=1e-7)


def test_a_non_template_function_calling_templates_differentiates_their_instances(m):
    x = 1.3
    # poly<double, 2>({x, 1}, x) = x * x + x + 1 * x; sq(x) = x * x
    assert_close(pyclad.gradient(m.uses, "x")(x), fd(m.uses, (x,), 0), rtol=1e-7)
    assert_close(pyclad.differentiate(m.uses, "x")(x), 4 * x + 2)


def test_a_template_argument_that_does_not_compile_is_a_located_compile_error(m):
    with pytest.raises(pyclad.CompileError) as info:
        m["poly<std::string, 2>"]
    text = str(info.value)
    assert "'poly<std::string, 2>' cannot be instantiated" in text
    line = SRC.splitlines().index("T poly(const T* c, T x) {") + 1
    assert f"<string>:{line}:" in text  # the template's line
    assert "invalid operands" in text


def test_arguments_that_deduce_no_instance_are_a_type_error_naming_the_explicit_form(m):
    with pytest.raises(
        pyclad.ArgumentError, match=r"cannot deduce the template parameter 'N' of 'poly'"
    ) as info:
        pyclad.gradient(m.poly)(np.ones(3), 0.5)
    assert isinstance(info.value, TypeError) and "m['poly<double, N>']" in str(info.value)
    with pytest.raises(pyclad.ArgumentError, match="both 'double' and 'float'"):
        m.f(0.5, A.astype(np.float32), 3)
    with pytest.raises(pyclad.FunctionNotFoundError, match="takes 2"):
        m["poly<double>"]


def test_two_instances_in_one_generated_header_compile_and_agree_with_finite_differences(tmp_path, m):
    (tmp_path / "model.cpp").write_text(SRC)
    out = pyclad_cli(
        "gen", tmp_path / "model.cpp", "-f", "f<double>", "-f", "f<float>", "-f", "norm_cubed<double, 3>",
        "--mode", "reverse", "-o", tmp_path / "model_d.hpp",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "model_d.hpp"\n'
        "int main() {\n"
        "  double a[3] = {0.3, -1.2, 0.7}, da[3] = {0, 0, 0}, dx = 0;\n"
        "  float af[3] = {0.3f, -1.2f, 0.7f}, daf[3] = {0, 0, 0}, dxf = 0;\n"
        "  f_double_grad(0.8, a, 3, &dx, da);\n"
        "  f_float_grad(0.8f, af, 3, &dxf, daf);\n"
        '  std::printf("%.12g %.12g %.6g %.6g\\n", dx, da[1], (double)dxf, (double)daf[1]);\n'
        "}\n"
    )
    printed, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    dx, da1, dxf, daf1 = (float(v) for v in printed.split())
    assert_close(dx, fd(m.f, (0.8, A, 3), 0), rtol=1e-7)
    assert_close(da1, fd(m.f, (0.8, A, 3), 1, 1), rtol=1e-7)
    assert_close(dxf, dx, rtol=1e-4) and not warnings
    assert_close(daf1, da1, rtol=1e-4)
    fwd = pyclad_cli(
        "gen", tmp_path / "model.cpp", "-f", "poly<double, 3>", "--mode", "forward", "--wrt", "x"
    )
    assert fwd.returncode == 0, fwd.stderr
    assert "double poly_double_3_darg1(const double *c, double x)" in fwd.stdout


def test_an_explicit_specialization_is_differentiated_as_written_and_used_by_other_instances():
    m = pyclad.cppdef(
        "template <typename T> T tw(T x) { return x * x; }\n"
        "template <> double tw<double>(double x) { return 3 * x; }\n"
        "template <typename T> T tw2(T x) { return tw(x) + x; }\n"
    )
    assert pyclad.gradient(m.tw)(2.0) == (3.0,)  # the specialization: 3 x
    assert pyclad.gradient(m.tw2)(2.0) == (4.0,)
    assert pyclad.differentiate(m.tw, "x")(np.float32(2.0)) == pytest.approx(4.0)  # tw<float>: x * x


def test_overloaded_function_templates_are_a_located_unsupported_error():
    m = pyclad.cppdef(
        "template <typename T> T ov(T x) { return x; }\n"
        "template <typename T> T ov(T x, T y) { return x * y; }\n"
        "double calls_ov(double x) { return ov(x) * x; }\n"
    )
    with pytest.raises(pyclad.UnsupportedError, match="overloaded function templates") as info:
        pyclad.gradient(m.calls_ov)
    assert "<string>:2:" in str(info.value)


def test_templates_in_a_namespace_and_member_templates_differentiate():
    m = pyclad.cppdef(
        "namespace phys {\n"
        "template <typename T> T spring(T x, T k) { return 0.5 * k * x * x; }\n"
        "}\n"
        "struct Scaler {\n"
        "    double s;\n"
        "    template <typename T> T scale(T x) const { return s * x; }\n"
        "};\n"
        "double total(double x) { return phys::spring(x, 2.0) + phys::spring<double>(x, 1.0); }\n"
        "double member(double x) { Scaler sc{3.0}; return sc.scale(x) * x; }\n"
    )
    assert pyclad.gradient(m.phys.spring)(2.0, 3.0) == (6.0, 2.0)  # k x, x^2 / 2
    assert pyclad.gradient(m.total)(2.0) == (6.0,)  # 1.5 x^2
    assert "namespace phys" in pyclad.gradient(m["phys::spring<double>"]).code
    assert pyclad.gradient(m.member)(2.0) == (12.0,)  # 3 x^2
    assert pyclad.differentiate(m.member, "x")(2.0) == 12.0


def test_the_cli_asked_for_a_template_by_its_bare_name_says_it_is_a_template(tmp_path):
    (tmp_path / "model.cpp").write_text(SRC)
    out = pyclad_cli("gen", tmp_path / "model.cpp", "-f", "f", "--mode", "reverse")
    assert out.returncode == 1
    assert "'f' is a function template <T>: name an instance, e.g. 'f<double>'" in out.stderr
    assert "model.cpp:10:" in out.stderr


def test_the_branch_if_constexpr_discards_need_not_compile_for_the_instance():
    m = pyclad.cppdef(
        "#include <string>\n"
        "#include <type_traits>\n"
        "template <typename T> double size_or_cube(T x) {\n"
        "    if constexpr (std::is_floating_point_v<T>) { return x * x * x; }\n"
        "    else { return static_cast<double>(x.size()); }\n"
        "}\n"
    )
    assert pyclad.gradient(m.size_or_cube)(2.0) == (12.0,)
    assert pyclad.differentiate(m["size_or_cube<double>"], "x")(2.0) == 12.0


def test_an_ahead_of_time_module_binds_an_instance_and_an_overload_by_their_stems(tmp_path, m):
    pytest.importorskip("pybind11")
    (tmp_path / "model.cpp").write_text(
        SRC + "double sq2(double x) { return x * x; }\ndouble sq2(int n) { return n; }\n"
    )
    mod = pyclad.build(tmp_path / "model.cpp", ["f<double>", "sq2(double)"], "reverse", out_dir=tmp_path)
    dx, da = mod.f_double_grad(0.8, A, 3)
    assert_close(mod.f_double(0.8, A, 3), m.f(0.8, A, 3))
    assert_close(dx, fd(m.f, (0.8, A, 3), 0), rtol=1e-7)
    assert_close(da[1], fd(m.f, (0.8, A, 3), 1, 1), rtol=1e-7)
    assert mod.sq2_double(3.0) == 9.0 and mod.sq2_double_grad(3.0) == (6.0,)
