"""Methods, constructors, operators, functors and lambdas inside differentiated code, in
forward and reverse mode.  Each function is checked against central finite differences of
its primal and against the same function written with plain scalars (a second, independent
reference), with and without bounds checks."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import fd

import pyclad

SOURCE = """\
#include <cmath>
struct Vec2 {
    double x, y;
    Vec2() = default;
    Vec2(double a, double b) : x(a), y(b) {}
    double norm2() const { return x * x + y * y; }
    double norm() const { return std::sqrt(norm2()); }
    double dot(const Vec2& o) const;
    Vec2& operator+=(const Vec2& o) { x += o.x; y += o.y; return *this; }
    double operator[](int i) const { return i == 0 ? x : y; }
    Vec2 operator*(double s) const { return Vec2(x * s, y * s); }
    static double twice(double v) { return 2 * v; }
    void scale(double s) { x *= s; y = y * s; }
};
double Vec2::dot(const Vec2& o) const { return x * o.x + y * o.y; }
Vec2 operator+(const Vec2& a, const Vec2& b) { return Vec2(a.x + b.x, a.y + b.y); }
struct Quad {
    double a, b;
    double operator()(double t) const { return a * t * t + b * std::sin(t); }
};
struct Cell {
    double w = 0.5;
    double h;
    Cell() = default;
    Cell(double v, double k) : h(v * k) { h = h * w + k; }
};

double use_method(double u, double w) { Vec2 p(u, w); return p.norm() * u; }
double use_method_plain(double u, double w) { return std::sqrt(u * u + w * w) * u; }

double use_dot(double u, double w) { Vec2 p(u, w); Vec2 q = Vec2(w, 2 * u); return p.dot(q) * w; }
double use_dot_plain(double u, double w) { return (u * w + w * 2 * u) * w; }

double use_pointer(double u, double w) { Vec2 p(u, w); const Vec2* q = &p; return q->norm2() * w; }
double use_pointer_plain(double u, double w) { return (u * u + w * w) * w; }

double use_operators(double u, double w) {
    Vec2 p(u, w);
    Vec2 q(w, u * u);
    Vec2 s = p + q;
    s += p;
    Vec2 t = s * u;
    return t[0] * t[1];
}
double use_operators_plain(double u, double w) {
    double sx = u + w + u, sy = w + u * u + w;
    return sx * u * (sy * u);
}

double use_static(double u, double w) { return Vec2::twice(u) * w; }
double use_static_plain(double u, double w) { return 2 * u * w; }

double use_temporary(double u, double w) { return Vec2(u, w * u).norm2(); }
double use_temporary_plain(double u, double w) { return u * u + w * u * w * u; }

double use_mutating(double u, double w) { Vec2 p(u, w); p.scale(u); return p.x * p.y + w; }
double use_mutating_plain(double u, double w) { return u * u * (w * u) + w; }

double use_constructor(double u, double w) { Cell c(u, w); return c.h * c.w * u; }
double use_constructor_plain(double u, double w) { return (u * w * 0.5 + w) * 0.5 * u; }

double use_functor(double u, double w) { Quad q{u, w}; return q(w) * q(u); }
double use_functor_plain(double u, double w) {
    return (u * w * w + w * std::sin(w)) * (u * u * u + w * std::sin(u));
}

double use_lambda(double u, double w) {
    double acc = 0;
    auto add = [&](double v) { acc += v * v; };
    add(u);
    add(u * w);
    double k = w;
    auto lin = [k](double v) { return k * v; };
    k = 10.0;
    return acc + lin(u) * k;
}
double use_lambda_plain(double u, double w) { return u * u + u * w * u * w + w * u * 10.0; }

double use_inline_lambda(double u, double w) {
    return [&](double z) { return z * u * w; }(u + w);
}
double use_inline_lambda_plain(double u, double w) { return (u + w) * u * w; }

// User-written copies: called as the methods they are (n counts them).  Derivative code
// copies records, shadows included, with them too: they must copy, as C++ copy elision assumes.
struct Tally {
    double v;
    int n;
    Tally() = default;
    Tally(double a) : v(a), n(0) {}
    Tally(const Tally& o) : v(o.v), n(o.n + 1) {}
    Tally& operator=(const Tally& o) { v = o.v; n = o.n + 10; return *this; }
};
double use_copies(double u, double w) {
    Tally a(u * w);
    Tally b = a;
    Tally c(w);
    c = b;
    return c.v * a.v * w + c.n;
}
double use_copies_plain(double u, double w) { return u * w * u * w * w + 11; }

void use_jac(const double* x, double* out) {
    Vec2 p(x[0], x[1]);
    Quad q{x[1], 0.5};
    out[0] = p.norm() * q(x[0]);
    out[1] = (p + p * x[0]).dot(p);
}
void use_jac_plain(const double* x, double* out) {
    out[0] = std::sqrt(x[0] * x[0] + x[1] * x[1]) * (x[1] * x[0] * x[0] + 0.5 * std::sin(x[0]));
    out[1] = (x[0] + x[0] * x[0]) * x[0] + (x[1] + x[1] * x[0]) * x[1];
}

// A method that updates one field and reads another, in a loop where the other is then
// overwritten: the reverse sweep saves the field the call writes, and gets the other back
// from the save of the later assignment.
struct Acc {
    double x, y;
    void bump(double s) { y = y + x * s; }
};
double use_field_saves(double u, double w) {
    Acc a{u, w};
    for (int i = 0; i < 3; i++) {
        a.bump(u);
        a.x = a.x * w + a.y;
    }
    return a.x * a.y;
}
double use_field_saves_plain(double u, double w) {
    double x = u, y = w;
    for (int i = 0; i < 3; i++) {
        y = y + x * u;
        x = x * w + y;
    }
    return x * y;
}

double norm_of(double x, double y) { return Vec2(x, y).norm(); }
double quad_at(double a, double b, double t) { Quad q{a, b}; return q(t); }
"""

NAMES = [
    "use_method",
    "use_dot",
    "use_pointer",
    "use_operators",
    "use_static",
    "use_temporary",
    "use_mutating",
    "use_constructor",
    "use_functor",
    "use_lambda",
    "use_inline_lambda",
    "use_copies",
    "use_field_saves",
]
AT = (0.7, -1.3)


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="methods.cpp")


def _close(a: float, b: float, rtol: float = 1e-7) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-9)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_the_gradient_through_methods_matches_finite_differences_and_plain_code(m, name, checked):
    primal = m[name]
    assert _close(primal(*AT), m[name + "_plain"](*AT), 1e-12)
    got = pyclad.gradient(primal, checked=checked)(*AT)
    plain = pyclad.gradient(m[name + "_plain"], checked=checked)(*AT)
    for i in range(2):
        assert _close(got[i], fd(primal, AT, i), 1e-6), (i, got, fd(primal, AT, i))
        assert _close(got[i], plain[i], 1e-12), (i, got, plain)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_forward_mode_through_methods_matches_finite_differences_and_plain_code(m, name, checked):
    primal = m[name]
    for i, wrt in enumerate(("u", "w")):
        got = pyclad.differentiate(primal, wrt, checked=checked)(*AT)
        plain = pyclad.differentiate(m[name + "_plain"], wrt, checked=checked)(*AT)
        assert _close(got, fd(primal, AT, i), 1e-6), (wrt, got)
        assert _close(got, plain, 1e-12), (wrt, got, plain)


@pytest.mark.parametrize("name", ["use_dot", "use_operators", "use_functor", "use_lambda", "use_constructor"])
def test_the_hessian_through_methods_matches_the_plain_code(m, name):
    got = pyclad.hessian(m[name])(*AT)
    plain = pyclad.hessian(m[name + "_plain"])(*AT)
    assert got.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert _close(got[i][j], plain[i][j], 1e-10), (got, plain)
            grad = pyclad.gradient(m[name])
            want = fd(lambda u, w, j=j, grad=grad: grad(u, w)[j], AT, i)
            assert _close(got[i][j], want, 1e-5), (got, want)


def test_method_derivatives_are_free_functions_named_after_the_record(m):
    code = pyclad.gradient(m.use_operators).code
    for name in ("Vec2_constructor_pullback", "operator_plus_pullback", "Vec2_operator_plus_assign_pullback"):
        assert name in code
    assert "Vec2_operator_index_pullback" in code and "Vec2_operator_star_pullback" in code
    fwd = pyclad.differentiate(m.use_method, "u").code
    assert "Vec2_norm_pushforward" in fwd and "Vec2_norm2_pushforward" in fwd


def test_a_lambda_primal_is_emitted_with_the_derivatives_that_call_it(m):
    code = pyclad.differentiate(m.use_lambda, "u").code
    assert "use_lambda_lambda0_pushforward" in code
    assert "double use_lambda_lambda1(double k, double v)" in code or "use_lambda_lambda1_pushforward" in code


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_the_jacobian_through_methods_matches_the_plain_code(m, mode):
    x = np.array([0.7, -1.3])
    got = pyclad.jacobian(m.use_jac, mode=mode)(x, np.zeros(2))
    plain = pyclad.jacobian(m.use_jac_plain, mode=mode)(x, np.zeros(2))
    np.testing.assert_allclose(got, plain, rtol=1e-12)

    def out(k):
        def f(*xs):
            o = np.zeros(2)
            m.use_jac(np.array(xs), o)
            return o[k]

        return f

    for k in range(2):
        for i in range(2):
            assert _close(got[k][i], fd(out(k), tuple(x), i), 1e-6)


def test_vector_forward_mode_through_methods_matches_the_scalar_derivatives(m):
    got = pyclad.differentiate(m.use_operators, ["u", "w"])(*AT)
    for i, wrt in enumerate(("u", "w")):
        assert _close(got[i], pyclad.differentiate(m.use_operators_plain, wrt)(*AT), 1e-12)
        assert _close(got[i], fd(m.use_operators, AT, i), 1e-6)


@pytest.mark.parametrize("checked", [True, False])
def test_the_gradient_of_a_method_takes_the_object_as_an_input(m, checked):
    g = pyclad.gradient(m["Vec2::norm"], checked=checked)
    (dv,) = g(m.Vec2(0.6, -0.8))
    # d |v| / dv = v / |v|
    assert _close(dv.x, 0.6) and _close(dv.y, -0.8)
    assert _close(dv.x, fd(m.norm_of, (0.6, -0.8), 0), 1e-6)
    assert _close(dv.y, fd(m.norm_of, (0.6, -0.8), 1), 1e-6)


@pytest.mark.parametrize("checked", [True, False])
def test_the_gradient_of_a_functor_call_operator_covers_its_fields_and_arguments(m, checked):
    g = pyclad.gradient(m["Quad::operator()"], checked=checked)
    a, b, t = 1.5, 0.5, 0.3
    dq, dt = g(m.Quad(a, b), t)
    assert _close(dq.a, t * t) and _close(dq.b, math.sin(t))
    assert _close(dt, 2 * a * t + b * math.cos(t))
    for i, got in enumerate((dq.a, dq.b, dt)):
        assert _close(got, fd(m.quad_at, (a, b, t), i), 1e-6)


def test_a_method_differentiates_in_forward_mode_along_a_field_of_its_object(m):
    d = pyclad.differentiate(m["Quad::operator()"], "_this.a")
    assert _close(d(m.Quad(1.5, 0.5), 0.3), 0.3 * 0.3)
    d = pyclad.differentiate(m["Quad::operator()"], "t")
    assert _close(d(m.Quad(1.5, 0.5), 0.3), fd(m.quad_at, (1.5, 0.5, 0.3), 2), 1e-6)


def test_a_method_is_called_from_python_by_its_key_with_the_object_first(m):
    assert m["Vec2::norm"](m.Vec2(3.0, 4.0)) == pytest.approx(5.0)
    assert m["Quad::operator()"](m.Quad(1.0, 2.0), 0.5) == pytest.approx(0.25 + 2.0 * math.sin(0.5))
    assert m["Vec2::operator[]"](m.Vec2(3.0, 4.0), 1) == pytest.approx(4.0)


def test_a_call_that_updates_one_field_saves_that_field_only(m):
    code = pyclad.gradient(m.use_field_saves).code
    assert re.search(r"::pyclad::push\(_t\d+, a\.y\);\n\s*a\.bump\(u\);", code), code
    assert not re.search(r"::pyclad::push\(_t\d+, a\);", code)
