"""Constructs met in whole programs (examples/realworld/), each reduced to a small case.

A helper that writes its result through a pointer into a `std::vector`'s storage
(`v.data()`, `&v[0]`, `v.data() + k`, a pointer local), and helpers in a namespace called
from a bounds-checked derivative: each gradient is checked against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd, fd2, gxx_build_and_run, pyclad_cli

import pyclad

WRITER = r"""
#include <vector>
// out = L x for the lower-bidiagonal L with diagonal q and subdiagonal q[1:].
void lower_times(int d, const double* q, const double* x, double* out) {
    for (int i = 0; i < d; ++i) out[i] = q[i] * x[i];
    for (int i = 1; i < d; ++i) out[i] += q[i] * x[i - 1];
}
double energy(int d, const double* q, const double* x) {
    std::vector<double> o(d + 1);
    CALL;
    double s = 0;
    for (int i = 0; i < d + 1; ++i) s += o[i] * o[i];
    return s;
}
"""

CALLS = {
    "data": "lower_times(d, q, x, o.data())",
    "address of the first element": "lower_times(d, q, x, &o[0])",
    "data plus an offset": "lower_times(d, q, x, o.data() + 1)",
    "a pointer local to data": "double* p = o.data(); lower_times(d, q, x, p)",
    "a pointer local to an element": "double* p = &o[1]; lower_times(d, q, x, p)",
}


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("how", list(CALLS))
def test_a_callee_writing_into_a_vector_through_a_pointer_carries_the_derivative(how, checked):
    m = pyclad.cppdef(WRITER.replace("CALL", CALLS[how]))
    q, x = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    g = pyclad.gradient(m.energy, "q", checked=checked)(3, q, x)
    want = [fd(m.energy, [3, q, x], 1, i) for i in range(3)]
    np.testing.assert_allclose(g, want, rtol=1e-8)
    assert np.any(np.asarray(g) != 0)


def test_a_generated_gradient_writing_into_vector_storage_runs_clean_under_the_sanitizers(tmp_path):
    src = tmp_path / "writer.cpp"
    src.write_text(WRITER.replace("CALL", CALLS["data plus an offset"]))
    hdr = tmp_path / "writer_grad.hpp"
    r = pyclad_cli("gen", src, "-f", "energy", "--mode", "reverse", "--wrt", "q", "-o", hdr)
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "writer.cpp"\n#include "writer_grad.hpp"\n'
        "int main() {\n"
        "    double q[3] = {1.0, 2.0, 3.0}, x[3] = {0.5, -1.0, 2.0}, dq[3] = {0, 0, 0};\n"
        "    energy_grad_1(3, q, x, dq);\n"
        '    std::printf("%.12f %.12f %.12f\\n", dq[0], dq[1], dq[2]);\n'
        "}\n"
    )
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra")
    m = pyclad.cppdef(WRITER.replace("CALL", CALLS["data plus an offset"]))
    q, x = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    want = [fd(m.energy, [3, q, x], 1, i) for i in range(3)]
    np.testing.assert_allclose([float(v) for v in out.split()], want, rtol=1e-8)
    assert "warning" not in warnings


NAMESPACED = r"""
namespace rw {
double sqnorm(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += v[i] * v[i];
    return s;
}
void scale(int n, double a, const double* v, double* out) {
    for (int i = 0; i < n; ++i) out[i] = a * v[i];
}
}  // namespace rw
double objective(int n, const double* v, double a) {
    double w[4];
    rw::scale(n, a, v, w);
    double r = rw::sqnorm(w, n);
    return r * rw::sqnorm(v, n);
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_namespaced_helpers_are_reached_from_a_bounds_checked_gradient(checked):
    m = pyclad.cppdef(NAMESPACED)
    v = np.array([1.0, -2.0, 0.5, 3.0])
    gv, ga = pyclad.gradient(m.objective, "v, a", checked=checked)(4, v, 1.5)
    np.testing.assert_allclose(gv, [fd(m.objective, [4, v, 1.5], 1, i) for i in range(4)], rtol=1e-8)
    np.testing.assert_allclose(ga, fd(m.objective, [4, v, 1.5], 2), rtol=1e-8)


RANGE = r"""
#include <cmath>
#include <vector>
double f(const double* x, int n) {
    std::vector<double> s(x, x + n);
    std::vector<double> t(&x[1], x + n);
    double r = 0;
    for (int i = 0; i < n; ++i) {
        s[i] *= s[i];
        r += s[i];
    }
    for (double v : t) r += v * v * v;
    return r;
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_a_vector_built_from_a_pointer_range_copies_the_derivatives_in_both_modes(checked):
    m = pyclad.cppdef(RANGE)
    x = np.array([1.0, 2.0, -3.0])
    want = 2 * x + 3 * np.r_[0.0, x[1:] ** 2]  # d/dx of sum x^2 + sum_{i>0} x^3
    np.testing.assert_allclose(pyclad.gradient(m.f, "x", checked=checked)(x, 3), want, rtol=1e-12)
    for i in range(3):
        d = pyclad.differentiate(m.f, f"x[{i}]", checked=checked)(x, 3)
        np.testing.assert_allclose(d, want[i], rtol=1e-12)
        np.testing.assert_allclose(d, fd(m.f, [x, 3], 0, i), rtol=1e-8)


LAYERS = r"""
#include <cmath>
#include <vector>
// Each layer updates its slice of the state in place, through a pointer re-seated per layer.
void layers(int l, int b, const double* w, double* s) {
    for (int layer = 0; layer < l; ++layer) {
        double* h = &s[layer * b];
        const double* below = layer > 0 ? &s[(layer - 1) * b] : s;
        for (int i = 0; i < b; ++i) h[i] = std::tanh(w[layer * b + i] * h[i] + below[i]);
    }
}
void model(int l, int b, const double* w, const double* s0, double* out) {
    std::vector<double> s(s0, s0 + l * b);
    layers(l, b, w, s.data());
    for (int i = 0; i < b; ++i) out[i] = s[(l - 1) * b + i];
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_the_jacobian_through_pointers_re_seated_in_a_callee_matches_finite_differences(checked):
    m = pyclad.cppdef(LAYERS)
    rng = np.random.default_rng(2)
    l, b = 3, 2
    w, s0 = rng.normal(size=l * b), rng.normal(size=l * b)
    J = np.asarray(pyclad.jacobian(m.model, "w, s0", checked=checked)(l, b, w, s0, np.zeros(b)))

    def column(k, v):
        def at(t):
            ww, ss = w.copy(), s0.copy()
            (ww if k == 0 else ss)[v] += t
            out = np.zeros(b)
            m.model(l, b, ww, ss, out)
            return out

        h = 1e-6
        return (at(h) - at(-h)) / (2 * h)

    want = np.stack([column(0, v) for v in range(l * b)] + [column(1, v) for v in range(l * b)], axis=1)
    np.testing.assert_allclose(J, want, rtol=1e-6, atol=1e-9)


RETURNS = r"""
#include <array>
#include <cmath>
#include <vector>
// One explicit Euler step of a pendulum: the new state as a std::array, built in the return.
std::array<double, 2> step(const std::array<double, 2>& y, double h, double a) {
    return {y[0] + h * a * y[1], y[1] - h * std::sin(y[0])};
}
std::vector<double> squares(const double* x, int n) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) out.push_back(x[i] * x[i]);
    return out;
}
// The state replaced by the call's result in a loop (std::array's operator=).
double pendulum(const double* y0, double a, int steps) {
    std::array<double, 2> y{y0[0], y0[1]};
    for (int s = 0; s < steps; ++s) y = step(y, 0.1, a);
    return y[0] * y[1];
}
double roots(const double* x, int n) {
    std::vector<double> s = squares(x, n);
    double r = 0;
    for (double v : s) r += std::sqrt(v + 1.0);
    return r;
}
"""


@pytest.fixture(scope="module")
def returns():
    return pyclad.cppdef(RETURNS)


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_a_container_returned_by_a_call_carries_its_adjoint_back(returns, checked):
    y0 = np.array([0.3, -0.2])
    gy, ga = pyclad.gradient(returns.pendulum, "y0, a", checked=checked)(y0, 1.5, 5)
    np.testing.assert_allclose(gy, [fd(returns.pendulum, [y0, 1.5, 5], 0, i) for i in range(2)], rtol=1e-8)
    np.testing.assert_allclose(ga, fd(returns.pendulum, [y0, 1.5, 5], 1), rtol=1e-8)
    x = np.array([1.0, 2.0, -3.0])
    g = pyclad.gradient(returns.roots, "x", checked=checked)(x, 3)
    np.testing.assert_allclose(g, x / np.sqrt(x**2 + 1), rtol=1e-12)  # d/dx sqrt(x^2 + 1)


def test_a_container_returned_by_a_call_carries_its_tangent_and_second_derivative(returns):
    y0 = np.array([0.3, -0.2])
    d = pyclad.differentiate(returns.pendulum, "a")(y0, 1.5, 5)
    np.testing.assert_allclose(d, fd(returns.pendulum, [y0, 1.5, 5], 1), rtol=1e-8)
    x = np.array([1.0, 2.0, -3.0])
    np.testing.assert_allclose(pyclad.differentiate(returns.roots, "x[1]")(x, 3), 2 / np.sqrt(5), rtol=1e-12)
    H = np.asarray(pyclad.hessian(returns.pendulum, "a")(y0, 1.5, 5))
    np.testing.assert_allclose(H[0, 0], fd2(returns.pendulum, [y0, 1.5, 5], 1), rtol=1e-5)
    Hx = np.asarray(pyclad.hessian(returns.roots, "x[0:2]")(x, 3))
    np.testing.assert_allclose(np.diag(Hx), (x**2 + 1) ** -1.5, rtol=1e-10)  # d2/dx2 sqrt(x^2 + 1)


def test_a_generated_gradient_through_returned_containers_runs_clean_under_the_sanitizers(tmp_path):
    (tmp_path / "returns.cpp").write_text(RETURNS)
    for fn in ("pendulum", "roots"):
        r = pyclad_cli(
            "gen", "returns.cpp", "-f", fn, "--mode", "reverse", "-o", f"{fn}_grad.hpp", cwd=tmp_path
        )
        assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "returns.cpp"\n#include "pendulum_grad.hpp"\n#include "roots_grad.hpp"\n'
        "int main() {\n"
        "    double y0[2] = {0.3, -0.2}, dy[2] = {0, 0}, da = 0;\n"
        "    pendulum_grad(y0, 1.5, 5, dy, &da);\n"
        "    double x[3] = {1.0, 2.0, -3.0}, dx[3] = {0, 0, 0};\n"
        "    roots_grad(x, 3, dx);\n"
        '    std::printf("%.12f %.12f %.12f %.12f %.12f %.12f\\n", dy[0], dy[1], da, dx[0], dx[1], dx[2]);\n'
        "}\n"
    )
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra")
    m = pyclad.cppdef(RETURNS)
    y0, x = np.array([0.3, -0.2]), np.array([1.0, 2.0, -3.0])
    want = [fd(m.pendulum, [y0, 1.5, 5], 0, i) for i in range(2)] + [fd(m.pendulum, [y0, 1.5, 5], 1)]
    want += list(x / np.sqrt(x**2 + 1))
    np.testing.assert_allclose([float(v) for v in out.split()], want, rtol=1e-8)
    assert "warning" not in warnings


BODIES = r"""
#include <cmath>
#include <vector>
namespace rw {
class Point {
public:
    double x, y;
    Point() : x(0), y(0.0) {}
    Point(double x_, double y_) : x(x_), y(y_) {}
    Point operator-(const Point& o) const { return Point(x - o.x, y - o.y); }
    double norm2() const { return x * x + y * y; }
};
}  // namespace rw
struct Body {
    rw::Point pos;
    rw::Point vel;
    double mass;
};
// Bodies built from constructor calls and stored; every pair interacts.
double energy(int n, const double* xy, const double* v, const double* mass) {
    std::vector<Body> bodies;
    for (int i = 0; i < n; ++i) {
        bodies.push_back(Body{rw::Point(xy[2 * i], xy[2 * i + 1]), rw::Point(v[2 * i], v[2 * i + 1]), mass[i]});
    }
    double e = 0;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        e += 0.5 * bodies[i].mass * bodies[i].vel.norm2();
        for (std::size_t j = i + 1; j < bodies.size(); ++j) {
            e -= bodies[i].mass * bodies[j].mass / std::sqrt((bodies[i].pos - bodies[j].pos).norm2() + 0.01);
        }
    }
    return e;
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_records_built_by_constructors_and_stored_in_a_vector_carry_their_adjoints(checked):
    m = pyclad.cppdef(BODIES)
    rng = np.random.default_rng(4)
    xy, v, mass = rng.normal(size=6), rng.normal(size=6), rng.random(3) + 0.5
    args = [3, xy, v, mass]
    gxy, gv = pyclad.gradient(m.energy, "xy, v", checked=checked)(*args)
    np.testing.assert_allclose(gxy, [fd(m.energy, args, 1, i) for i in range(6)], rtol=1e-7)
    np.testing.assert_allclose(gv, mass.repeat(2) * v, rtol=1e-12)  # d/dv of 1/2 m v^2
    np.testing.assert_allclose(
        pyclad.differentiate(m.energy, "xy[2]", checked=checked)(*args), gxy[2], rtol=1e-10
    )


@pytest.mark.parametrize(
    "record, why",
    [
        ("struct P { double a = 5.0; };", "default construction sets fields"),
        ("struct P { double a; P() : a(1.0) {} };", "default construction sets fields"),
    ],
)
def test_a_vector_of_records_whose_default_is_not_a_zero_is_a_located_refusal(record, why):
    src = f"""
#include <vector>
{record}
double f(const double* x, int n) {{
    std::vector<P> ps(n);
    for (int i = 0; i < n; ++i) ps[i].a = x[i] * x[i];
    double s = 0;
    for (int i = 0; i < n; ++i) s += ps[i].a;
    return s;
}}
"""
    m = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError, match=why) as info:
        pyclad.gradient(m.f, "x")(np.array([1.0, 2.0]), 2)
    assert info.value.loc is not None


NESTED_CALLS = r"""
#include <array>
#include <vector>
std::array<double, 2> axpy(const std::array<double, 2>& y, double h, const std::array<double, 2>& k) {
    return {y[0] + h * k[0], y[1] + h * k[1]};
}
std::array<double, 2> rhs(double a, double b, const std::array<double, 2>& y) {
    return {a * y[0] - b * y[0] * y[1], b * y[0] * y[1] - a * y[1]};
}
std::vector<double> scaled(const std::vector<double>& v, double s) {
    std::vector<double> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = s * v[i];
    return out;
}
double total(const std::vector<double>& v) {
    double t = 0;
    for (double x : v) t += x * x;
    return t;
}
// Containers computed in the arguments of other calls, as a Runge-Kutta stage is written.
double stage(const double* p, const double* y0) {
    std::array<double, 2> y{y0[0], y0[1]};
    std::array<double, 2> k1 = rhs(p[0], p[1], y);
    std::array<double, 2> k2 = rhs(p[0], p[1], axpy(y, 0.5, k1));
    std::vector<double> v{y0[0], p[1]};
    return k2[0] * k2[1] + k1[0] + total(scaled(v, p[0]));
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_a_container_computed_in_a_call_argument_passes_its_adjoint_on(checked):
    m = pyclad.cppdef(NESTED_CALLS)
    p, y0 = np.array([1.1, 0.4]), np.array([1.5, 0.7])
    gp, gy = pyclad.gradient(m.stage, "p, y0", checked=checked)(p, y0)
    np.testing.assert_allclose(gp, [fd(m.stage, [p, y0], 0, i) for i in range(2)], rtol=1e-8)
    np.testing.assert_allclose(gy, [fd(m.stage, [p, y0], 1, i) for i in range(2)], rtol=1e-8)
    d = pyclad.differentiate(m.stage, "p[0]", checked=checked)(p, y0)
    np.testing.assert_allclose(d, gp[0], rtol=1e-10)


@pytest.mark.parametrize(
    "ctor, zero",
    [
        ("P() : a(0), b(0.0) {}", True),
        ("P() : a{}, b() {}", True),
        ("P() : a(0) {}", False),  # b is left uninitialised
        ("P() : a(0), b(5) {}", False),
        ("P() : a(0), b(0) { b = 1; }", False),
    ],
)
def test_only_a_default_constructor_that_zeroes_every_field_makes_value_initialisation_a_zero(ctor, zero):
    src = f"""
#include <vector>
struct P {{ double a, b; {ctor} P(double x, double y) : a(x), b(y) {{}} }};
double f(const double* x, int n) {{
    std::vector<P> ps;
    for (int i = 0; i < n; ++i) ps.push_back(P(x[i], 2 * x[i]));
    double s = 0;
    for (const P& p : ps) s += p.a * p.b;
    return s;
}}
"""
    m = pyclad.cppdef(src)
    x = np.array([1.0, -2.0])
    if zero:
        np.testing.assert_allclose(pyclad.gradient(m.f, "x")(x, 2), 4 * x, rtol=1e-12)  # d/dx 2 x^2
    else:
        with pytest.raises(pyclad.UnsupportedError, match="default construction sets fields"):
            pyclad.gradient(m.f, "x")(x, 2)


SCALED = r"""
#include <vector>
struct Acc {
    double v[2];
    void scale(double s) { for (int i = 0; i < 2; ++i) v[i] *= s; }
    double prod() const { return v[0] * v[1]; }
};
struct Stack {
    std::vector<double> w;
    double u;
    void grow(double s) { w[1] *= s; }
};
// a^3 b, with the record's array field scaled in place by a method
double arr(double a, double b) {
    Acc m{{a, b}};
    m.scale(a);
    return m.prod();
}
// a b^2 c, with an element of the record's vector field scaled in place
double vec(double a, double b, double c) {
    Stack m;
    m.w.push_back(a);
    m.w.push_back(b);
    m.u = b;
    m.grow(c);
    return m.w[0] * m.w[1] * m.u;
}
"""


@pytest.mark.parametrize("checked", [True, False])
def test_a_method_that_overwrites_elements_of_a_field_has_the_record_saved_for_its_pullback(checked):
    m = pyclad.cppdef(SCALED)
    a, b, c = 0.7, 1.3, 1.1
    np.testing.assert_allclose(
        pyclad.gradient(m.arr, checked=checked)(a, b), (3 * a * a * b, a**3), rtol=1e-12
    )
    want = (b * b * c, 2 * a * b * c, a * b * b)
    np.testing.assert_allclose(pyclad.gradient(m.vec, checked=checked)(a, b, c), want, rtol=1e-12)
    assert abs(want[0] - fd(m.vec, (a, b, c), 0)) < 1e-6
