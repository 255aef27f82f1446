"""Class templates: ``Point<T>`` with operators, a small ``Matrix<T>`` with the const and
non-const ``operator()``, ``LayerParams<T>`` / ``State<T>`` records with constructors,
``std::vector<Point<T>>``; in forward and reverse mode, and a Hessian, vector mode and a
Jacobian on a subset.  References: finite differences, hand-derived formulas, and the same
code written without templates."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = """\
#include <cmath>
#include <vector>

template <typename T> struct Point {
    T x, y;
    Point() = default;
    Point(T a, T b) : x(a), y(b) {}
    T norm2() const { return x * x + y * y; }
    Point operator+(const Point& o) const { return Point(x + o.x, y + o.y); }
    Point operator*(T s) const { return Point(x * s, y * s); }
};

template <typename T> struct Matrix {
    T a[4];
    T& operator()(int i, int j) { return a[2 * i + j]; }
    const T& operator()(int i, int j) const { return a[2 * i + j]; }
    Point<T> apply(const Point<T>& p) const {
        return Point<T>((*this)(0, 0) * p.x + (*this)(0, 1) * p.y, (*this)(1, 0) * p.x + (*this)(1, 1) * p.y);
    }
};

template <typename T> struct LayerParams {
    T w, b;
    LayerParams() = default;
    LayerParams(T w_, T b_) : w(w_), b(b_) {}
    T apply(T x) const { return std::tanh(w * x + b); }
};

template <typename T> struct State {
    T h;
    State() = default;
    explicit State(T h0) : h(h0) {}
    void step(const LayerParams<T>& p, T x) { h = p.apply(x + h); }
};

double spring(double a, double b) {
    Point<double> p(a, b);
    Point<double> q = p + p * b;
    return q.norm2();
}

// spring without templates: the second reference.
struct PointD {
    double x, y;
    PointD() = default;
    PointD(double a, double b) : x(a), y(b) {}
    double norm2() const { return x * x + y * y; }
    PointD operator+(const PointD& o) const { return PointD(x + o.x, y + o.y); }
    PointD operator*(double s) const { return PointD(x * s, y * s); }
};
double spring_plain(double a, double b) {
    PointD p(a, b);
    PointD q = p + p * b;
    return q.norm2();
}

template <typename T> T energy(const std::vector<Point<T>>& pts, T k) {
    Matrix<T> m{};
    m(0, 0) = k;
    m(1, 1) = k * k;
    m(0, 1) = 0.5;
    T e = 0;
    for (const auto& p : pts) {
        Point<T> q = m.apply(p);
        e += q.norm2();
    }
    return e;
}

double energy_at(double k, double x0, double y0, double x1, double y1) {
    std::vector<Point<double>> pts;
    Point<double> p0(x0, y0), p1(x1, y1);
    pts.push_back(p0);
    pts.push_back(p1);
    return energy(pts, k);
}

template <typename T> T run(T w, T b, const T* xs, int n) {
    LayerParams<T> p(w, b);
    State<T> s(T(0));
    for (int i = 0; i < n; ++i) s.step(p, xs[i]);
    return s.h;
}

template <typename T> void turn(const T* x, T* out) {
    Matrix<T> m{};
    m(0, 0) = std::cos(x[2]);
    m(0, 1) = -std::sin(x[2]);
    m(1, 0) = std::sin(x[2]);
    m(1, 1) = std::cos(x[2]);
    Point<T> q = m.apply(Point<T>(x[0], x[1]));
    out[0] = q.x;
    out[1] = q.y;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def test_point_operators_and_methods_differentiate_like_the_non_template_copy(m):
    a, b = 1.5, 0.5
    # spring = (1 + b)^2 (a^2 + b^2)
    want = (2 * a * (1 + b) ** 2, 2 * (1 + b) * (a * a + b * b) + 2 * b * (1 + b) ** 2)
    got = pyclad.gradient(m.spring)(a, b)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    plain = pyclad.gradient(m.spring_plain)(a, b)
    assert_close(got[0], plain[0]) and assert_close(got[1], plain[1])
    assert_close(pyclad.differentiate(m.spring, "b")(a, b), want[1])
    code = pyclad.gradient(m.spring).code
    assert "void Point_double_operator_plus_pullback(const Point<double> &_this" in code


def test_a_matrix_template_with_the_const_pair_over_a_vector_of_points_differentiates(m):
    args = (1.3, 1.0, 2.0, -0.5, 0.3)
    g = pyclad.gradient(m.energy_at)(*args)
    for i in range(5):
        assert_close(g[i], fd(m.energy_at, args, i), rtol=1e-7)
    assert_close(pyclad.differentiate(m.energy_at, "x0")(*args), g[1])


def test_records_with_constructors_in_a_template_differentiate_in_both_modes_and_both_types(m):
    xs = np.array([0.5, -0.2, 0.9])
    w, b = 0.7, 0.1
    dw, db, dxs = pyclad.gradient(m.run)(w, b, xs, 3)
    assert_close(dw, fd(m.run, (w, b, xs, 3), 0), rtol=1e-7)
    assert_close(db, fd(m.run, (w, b, xs, 3), 1), rtol=1e-7)
    for k in range(3):
        assert_close(dxs[k], fd(m.run, (w, b, xs, 3), 2, k), rtol=1e-7)
    assert_close(pyclad.differentiate(m.run, "w")(w, b, xs, 3), dw)
    f32 = pyclad.gradient(m.run)(np.float32(w), np.float32(b), xs.astype(np.float32), 3)
    assert f32[2].dtype == np.float32
    assert_close(float(f32[0]), dw, rtol=1e-5)
    for checked in (True, False):
        assert_close(pyclad.gradient(m["run<double>"], "b", checked=checked)(w, b, xs, 3), db)


def test_hessian_and_vector_mode_of_a_class_template_function(m):
    xs = np.array([0.5, -0.2, 0.9])
    w, b = 0.7, 0.1
    fn = m["run<double>"]
    H = pyclad.hessian(fn, "w, b")(w, b, xs, 3)
    grad = pyclad.gradient(fn, "w, b")
    for i in range(2):
        for j in range(2):
            col = fd(lambda *a, i=i: grad(*a)[i], (w, b, xs, 3), j, h=1e-4)
            assert_close(H[i][j], col, rtol=1e-6, atol=1e-8)
    vw, vb = pyclad.differentiate(fn, ["w", "b"])(w, b, xs, 3)
    assert_close(vw, fd(fn, (w, b, xs, 3), 0), rtol=1e-7)
    assert_close(vb, fd(fn, (w, b, xs, 3), 1), rtol=1e-7)


def test_jacobian_of_a_template_writing_through_a_matrix_template(m):
    x = np.array([0.4, -1.1, 0.3])
    c, s = np.cos(x[2]), np.sin(x[2])
    want = np.array([[c, -s, -s * x[0] - c * x[1]], [s, c, c * x[0] - s * x[1]]])
    # Reverse mode (one pullback per row); vector forward mode does not take records yet.
    J = pyclad.jacobian(m["turn<double>"], mode="reverse")(x, np.zeros(2))
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-14)


def test_an_instance_of_a_class_template_is_the_modules_class(m):
    P = m["Point<double>"]
    assert P(3.0, 4.0).norm2() == 25.0
    assert m["Point<float>"](1.0, 2.0).norm2() == pytest.approx(5.0)


def test_generated_headers_for_class_templates_compile_with_warnings_as_errors(tmp_path, m):
    (tmp_path / "model.cpp").write_text(SRC)
    out = pyclad_cli(
        "gen", tmp_path / "model.cpp", "-f", "run<double>", "-f", "run<float>", "-f", "energy_at",
        "--mode", "reverse", "-o", tmp_path / "model_d.hpp",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "model_d.hpp"\n'
        "int main() {\n"
        "  double xs[3] = {0.5, -0.2, 0.9}, dxs[3] = {0, 0, 0}, dw = 0, db = 0;\n"
        "  float xf[3] = {0.5f, -0.2f, 0.9f}, dxf[3] = {0, 0, 0}, dwf = 0, dbf = 0;\n"
        "  double g[5] = {0, 0, 0, 0, 0};\n"
        "  run_double_grad(0.7, 0.1, xs, 3, &dw, &db, dxs);\n"
        "  run_float_grad(0.7f, 0.1f, xf, 3, &dwf, &dbf, dxf);\n"
        "  energy_at_grad(1.3, 1.0, 2.0, -0.5, 0.3, &g[0], &g[1], &g[2], &g[3], &g[4]);\n"
        '  std::printf("%.12g %.12g %.6g %.12g\\n", dw, dxs[2], (double)dwf, g[2]);\n'
        "}\n"
    )
    printed, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    dw, dx2, dwf, g2 = (float(v) for v in printed.split())
    xs = np.array([0.5, -0.2, 0.9])
    assert_close(dw, fd(m.run, (0.7, 0.1, xs, 3), 0), rtol=1e-7)
    assert_close(dx2, fd(m.run, (0.7, 0.1, xs, 3), 2, 2), rtol=1e-7)
    assert_close(dwf, dw, rtol=1e-4)
    assert_close(g2, fd(m.energy_at, (1.3, 1.0, 2.0, -0.5, 0.3), 2), rtol=1e-7)
    assert not warnings


def test_a_record_argument_deduces_the_template_argument_of_a_function_template():
    m = pyclad.cppdef(
        "template <typename T> struct P2 { T x, y; };\n"
        "template <typename T> T len2(const P2<T>& p, T s) { return s * (p.x * p.x + p.y * p.y); }\n"
    )
    p = m["P2<double>"]()
    p.x, p.y = 1.0, 2.0
    assert m.len2(p, 2.0) == 10.0
    dp, ds = pyclad.gradient(m.len2)(p, 2.0)  # d/dp = 2 s p, d/ds = |p|^2
    assert (dp.x, dp.y, ds) == (4.0, 8.0, 5.0)
