"""`pyclad gen` for code with methods, constructors, operators, functors and lambdas: the
headers compile with g++ -Wall -Wextra -Werror, run clean under ASan/UBSan, and their
derivatives agree with the JIT path and with finite differences of the primal."""

from __future__ import annotations

import math
import shutil

import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <cmath>
struct Vec2 {
    double x, y;
    Vec2() = default;
    Vec2(double a, double b) : x(a), y(b) {}
    double norm2() const { return x * x + y * y; }
    double dot(const Vec2& o) const { return x * o.x + y * o.y; }
    Vec2& operator+=(const Vec2& o) { x += o.x; y += o.y; return *this; }
    Vec2 operator*(double s) const { return Vec2(x * s, y * s); }
};
Vec2 operator+(const Vec2& a, const Vec2& b) { return Vec2(a.x + b.x, a.y + b.y); }
struct Spring {
    double k, rest;
    double operator()(double len) const { return 0.5 * k * (len - rest) * (len - rest); }
};
namespace sim {
double energy(double u, double w) {
    Vec2 p(u, w);
    Vec2 q = p * 2.0 + Vec2(w, u);
    q += p;
    Spring s{1.5, 0.25};
    double acc = 0;
    auto add = [&](double v) { acc += v * v; };
    add(q.dot(p));
    add(std::sqrt(q.norm2()));
    return s(std::sqrt(p.norm2())) + acc * 0.01;
}
}  // namespace sim
"""

AT = (0.6, -0.4)

# Gradients of a method and of a functor's operator(): the object is an input, its adjoint
# a record of the same type.
METHODS_MAIN = """\
#include <cstdio>
#include "model.cpp"
#include "meth.hpp"
int main() {
    Vec2 p(0.3, -0.7), q(1.1, 0.4);
    Vec2 dp(0, 0), dq(0, 0);
    Vec2_dot_grad(p, q, &dp, &dq);
    std::printf("%.17g %.17g %.17g %.17g\\n", dp.x, dp.y, dq.x, dq.y);
    Spring s{2.0, 0.5};
    Spring ds{0, 0};
    double dlen = 0;
    Spring_operator_call_grad(s, 1.25, &ds, &dlen);
    std::printf("%.17g %.17g %.17g\\n", ds.k, ds.rest, dlen);
    return 0;
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    tmp = tmp_path_factory.mktemp("methgen")
    (tmp / "model.cpp").write_text(MODEL)
    for mode, out in (("reverse", "rev.hpp"), ("forward", "fwd.hpp")):
        r = pyclad_cli("gen", "model.cpp", "-f", "sim::energy", "--mode", mode, "-o", out, cwd=tmp)
        assert r.returncode == 0, r.stderr
    r = pyclad_cli(
        "gen",
        "model.cpp",
        "-f",
        "Vec2::dot",
        "-f",
        "Spring::operator()",
        "--mode",
        "reverse",
        "-o",
        "meth.hpp",
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "rev.hpp"
#include "fwd.hpp"
int main() {{
    double du = 0, dw = 0;
    sim::energy_grad({AT[0]!r}, {AT[1]!r}, &du, &dw);
    std::printf("%.17g %.17g\\n", du, dw);
    std::printf("%.17g\\n", sim::energy_darg0({AT[0]!r}, {AT[1]!r}));
    return 0;
}}
"""
    (tmp / "main.cpp").write_text(main)
    out, warnings = gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")
    (tmp / "meth.cpp").write_text(METHODS_MAIN)
    out2, warnings2 = gxx_build_and_run(tmp, "meth.cpp", "-Wextra", "-Werror")
    out, warnings = out + out2, warnings + warnings2
    rows = [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    return tmp, rows, warnings


@pytest.fixture(scope="module")
def jit():
    return pyclad.cppdef(MODEL)


def test_the_generated_header_compiles_warning_free_and_matches_finite_differences(built, jit):
    _, rows, warnings = built
    assert warnings == ""
    f = jit["sim::energy"]
    (du, dw), (d0,) = rows[:2]
    for got, i in ((du, 0), (dw, 1), (d0, 0)):
        assert math.isclose(got, fd(f, AT, i), rel_tol=1e-6), (got, i)


def test_the_generated_header_agrees_with_the_jit_gradient(built, jit):
    _, rows, _ = built
    g = pyclad.gradient(jit["sim::energy"])(*AT)
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(rows[0], g))


def test_the_header_holds_method_derivatives_as_free_functions(built):
    tmp, _, _ = built
    code = (tmp / "rev.hpp").read_text()
    for name in ("Vec2_dot_pullback", "Vec2_operator_star_pullback", "operator_plus_pullback"):
        assert name in code
    assert "Spring_operator_call_pullback" in code and "energy_lambda0" in code


def test_header_gradients_of_a_method_and_a_functor_match_the_hand_derivatives(built):
    _, rows, _ = built
    assert rows[2] == pytest.approx([1.1, 0.4, 0.3, -0.7], rel=1e-15)  # d(p.q)/dp = q, d/dq = p
    k, rest, length = 2.0, 0.5, 1.25
    stretch = length - rest
    assert rows[3] == pytest.approx([0.5 * stretch * stretch, -k * stretch, k * stretch], rel=1e-14)


def test_a_method_gradient_takes_the_object_first_and_its_adjoint_as_d_this(built):
    tmp, _, _ = built
    code = (tmp / "meth.hpp").read_text()
    assert "void Vec2_dot_grad(const Vec2 &_this, const Vec2 &o, Vec2 *_d_this, Vec2 *_d_o)" in code
