"""Classes as C++ code writes them: private data and helper methods, constructors taking
values and no default constructor.  Generated code reaches private members through
accessors (pyclad/access.py), in the JIT and in generated headers; the zero shadow of a
record without a default constructor is ``pyclad::zero_bits``.  References: hand-derived
formulas and central differences."""

import math

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = r"""
#include <cmath>

template <typename T>
class Mat2 {
public:
    Mat2(T a, T b, T c, T d) : m_{a, b, c, d} {}
    T operator()(int i, int j) const { return m_[2 * i + j]; }
    T det() const { return m_[0] * m_[3] - m_[1] * m_[2]; }
    void scale(T s) { for (int i = 0; i < 4; ++i) m_[i] *= s; }
    T trace() const { return diag(0) + diag(1); }

private:
    T diag(int i) const { return m_[3 * i]; }
    T m_[4];
};

class Spring {
public:
    Spring(double k, double rest) : rest_(rest), k_(k) {}
    double energy(double x) const { return 0.5 * k_ * sq(x - rest_); }
    void stiffen(double f) { k_ *= f; }

protected:
    double rest_;

private:
    static double sq(double u) { return u * u; }
    double k_;
};

// f = a^3 b^2 - 2 a^3 b + a b sin(b) + a^2 + a b^2
double f(double a, double b) {
    Mat2<double> m(a, b, 2.0 * a, b * b);
    m.scale(a);
    return m.det() + m(0, 1) * std::sin(b) + m.trace();
}

// g = 0.5 k f (x - 1.5)^2
double g(double k, double x, double f) {
    Spring s(k, 1.5);
    s.stiffen(f);
    return s.energy(x);
}

double h(const Spring& s, double x) { return s.energy(x) * x; }

// sum_i 0.5 k_i (x - i)^2, k_i = k (1 + i): records without a default constructor built in a loop
double chain(double k, double x, int n) {
    double e = 0;
    for (int i = 0; i < n; ++i) {
        Spring s(k * (1 + i), i);
        e += s.energy(x);
    }
    return e;
}
"""


def f_grad(a, b):
    return (
        3 * a * a * b * b - 6 * a * a * b + b * math.sin(b) + 2 * a + b * b,
        2 * a**3 * b - 2 * a**3 + a * math.sin(b) + a * b * math.cos(b) + 2 * a * b,
    )


def g_grad(k, x, f):
    u = x - 1.5
    return (0.5 * f * u * u, k * f * u, 0.5 * k * u * u)


def assert_close(got, want, rtol=1e-10):
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol, atol=1e-12
    )


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


@pytest.mark.parametrize("checked", [True, False])
def test_private_fields_and_methods_of_a_class_template_differentiate_in_both_modes(m, checked):
    a, b = 0.7, 1.3
    want = f_grad(a, b)
    assert_close(pyclad.gradient(m.f, checked=checked)(a, b), want)
    assert_close(pyclad.differentiate(m.f, "a", checked=checked)(a, b), want[0])
    assert_close(pyclad.differentiate(m.f, "b", checked=checked)(a, b), want[1])
    assert_close(want[0], fd(m.f, (a, b), 0), rtol=1e-7)


def test_a_private_static_method_and_protected_fields_differentiate(m):
    at = (0.7, 1.3, 1.1)
    assert_close(pyclad.gradient(m.g)(*at), g_grad(*at))
    assert_close(pyclad.differentiate(m.g, "x")(*at), g_grad(*at)[1])


@pytest.mark.parametrize("checked", [True, False])
def test_records_without_a_default_constructor_built_in_a_loop_differentiate(m, checked):
    k, x, n = 0.7, 1.3, 4
    want = (sum(0.5 * (1 + i) * (x - i) ** 2 for i in range(n)), sum(k * (1 + i) * (x - i) for i in range(n)))
    assert_close(pyclad.gradient(m.chain, "k, x", checked=checked)(k, x, n), want)
    assert_close(pyclad.differentiate(m.chain, "x", checked=checked)(k, x, n), want[1])


def test_the_hessian_reaches_private_members(m):
    k, x, f = 0.7, 1.3, 1.1
    u = x - 1.5
    want = np.array([[0, f * u, 0.5 * u * u], [f * u, k * f, k * u], [0.5 * u * u, k * u, 0]])
    assert_close(pyclad.hessian(m.g)(k, x, f), want)


def test_a_record_argument_with_private_fields_differentiates_wrt_its_other_params(m):
    s = m.Spring(0.7, 1.5)
    x = 1.3
    _, dx = pyclad.gradient(m.h)(s, x)
    # h = 0.5 k (x - r)^2 x: dh/dx = 0.5 k (x - r)^2 + k (x - r) x
    assert_close(dx, 0.5 * 0.7 * (x - 1.5) ** 2 + 0.7 * (x - 1.5) * x)


def test_generated_headers_reach_private_members_and_can_be_included_together(tmp_path):
    (tmp_path / "model.cpp").write_text(SRC)
    for name, fn in (("f_d.hpp", "f"), ("g_d.hpp", "g"), ("h_d.hpp", "h")):
        out = pyclad_cli("gen", tmp_path / "model.cpp", "-f", fn, "--mode", "reverse", "-o", tmp_path / name)
        assert out.returncode == 0, out.stderr
    out = pyclad_cli("gen", tmp_path / "model.cpp", "-f", "g", "--mode", "forward", "--wrt", "x", "-o",
                     tmp_path / "g_fwd.hpp")  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "g_d.hpp").read_text()
    assert "pyclad_private::k_(" in text and "&Spring::k_" in text
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n'
        '#include "f_d.hpp"\n#include "g_d.hpp"\n#include "h_d.hpp"\n#include "g_fwd.hpp"\n'
        "int main() {\n"
        "  double da = 0, db = 0, dk = 0, dx = 0, df = 0, dx2 = 0;\n"
        "  f_grad(0.7, 1.3, &da, &db);\n"
        "  g_grad(0.7, 1.3, 1.1, &dk, &dx, &df);\n"
        "  Spring s(0.7, 1.5), ds = pyclad::zero_bits<Spring>();\n"
        "  h_grad(s, 1.3, &ds, &dx2);\n"
        '  std::printf("%.15g %.15g %.15g %.15g %.15g %.15g %.15g\\n", da, db, dk, dx, df,\n'
        "              g_darg1(0.7, 1.3, 1.1), dx2);\n"
        "}\n"
    )
    printed, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert not warnings
    got = [float(v) for v in printed.split()]
    assert_close(got[:2], f_grad(0.7, 1.3))
    assert_close(got[2:5], g_grad(0.7, 1.3, 1.1))
    assert_close(got[5], g_grad(0.7, 1.3, 1.1)[1])
    assert_close(got[6], 0.5 * 0.7 * 0.2**2 - 0.7 * 0.2 * 1.3)
