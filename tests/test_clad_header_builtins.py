"""The builtin derivatives of pyclad's clad-compatible header (clad/Differentiator/
BuiltinDerivatives.h): each clad::custom_derivatives::std::NAME_pushforward against central
finite differences of std::NAME, each NAME_pullback against the same differences (and adding
into the adjoints it is given), and the helper types user code writes (ValueAndPushforward
conversions, ValueAndAdjoint, pullback_state, Tag), in programs built with -Wall -Wextra."""

from __future__ import annotations

import pytest
from conftest import gxx_build_and_run

UNARY = {  # name: a point inside its domain, away from kinks
    "sin": 0.7,
    "cos": 0.7,
    "tan": 0.4,
    "asin": 0.3,
    "acos": -0.4,
    "atan": 1.3,
    "sinh": 0.6,
    "cosh": 0.6,
    "tanh": 0.8,
    "asinh": 1.1,
    "acosh": 1.7,
    "atanh": 0.35,
    "exp": 0.9,
    "exp2": 1.4,
    "expm1": 0.2,
    "log": 2.5,
    "log10": 3.5,
    "log2": 1.5,
    "log1p": 0.5,
    "sqrt": 2.2,
    "cbrt": 3.1,
    "erf": 0.45,
    "erfc": 0.45,
    "fabs": -1.2,
    "abs": -2.5,
    "floor": 1.3,
    "ceil": 1.3,
    "trunc": -1.7,
    "round": 2.2,
}
BINARY = {  # name: (x, y)
    "pow": (1.7, 2.3),
    "atan2": (0.8, -1.9),
    "hypot": (1.2, -0.7),
    "fmod": (5.3, 1.7),
    "remainder": (5.3, 1.7),
    "fmax": (0.4, 1.1),
    "fmin": (0.4, 1.1),
    "fdim": (2.5, 1.0),
}

PROGRAM = r"""
#include "clad/Differentiator/BuiltinDerivatives.h"
#include <cmath>
#include <cstdio>
namespace cd = clad::custom_derivatives::std;
static double central(double (*f)(double), double x) {
    const double h = 1e-6;
    return (f(x + h) - f(x - h)) / (2 * h);
}
static double central2(double (*f)(double, double), double x, double y, int wrt) {
    const double h = 1e-6;
    return wrt == 0 ? (f(x + h, y) - f(x - h, y)) / (2 * h) : (f(x, y + h) - f(x, y - h)) / (2 * h);
}
static void report(const char* name, double got, double want) {
    std::printf("%s %.3e\n", name, std::fabs(got - want) / (1 + std::fabs(want)));
}
#define UNARY(NAME, X)                                                              \
    {                                                                               \
        auto r = cd::NAME##_pushforward(X, 1.0);                                    \
        report(#NAME, r.pushforward, central([](double t) { return std::NAME(t); }, X)); \
        report(#NAME "_value", r.value, std::NAME(X));                              \
        auto s = cd::NAME##_pushforward(X, 3.0);                                    \
        report(#NAME "_scaled", s.pushforward, 3.0 * r.pushforward);               \
    }
#define BINARY(NAME, X, Y)                                                                  \
    {                                                                                       \
        double (*f)(double, double) = [](double a, double b) { return std::NAME(a, b); };   \
        auto dx = cd::NAME##_pushforward(X, Y, 1.0, 0.0);                                   \
        auto dy = cd::NAME##_pushforward(X, Y, 0.0, 1.0);                                   \
        report(#NAME "_dx", dx.pushforward, central2(f, X, Y, 0));                          \
        report(#NAME "_dy", dy.pushforward, central2(f, X, Y, 1));                          \
        report(#NAME "_value", dx.value, f(X, Y));                                          \
        double ax = 1, ay = 1;                                                              \
        cd::NAME##_pullback(X, Y, 2.0, &ax, &ay);                                           \
        report(#NAME "_pullback_x", ax, 1 + 2 * central2(f, X, Y, 0));                      \
        report(#NAME "_pullback_y", ay, 1 + 2 * central2(f, X, Y, 1));                      \
        auto fx = cd::NAME##f_pushforward(float(X), float(Y), 1.0f, 0.0f);                  \
        report(#NAME "f_dx", fx.pushforward, central2(f, X, Y, 0) * (1 + 0 * fx.value));   \
    }
int main() {
    @UNARY@
    @BINARY@
    {   // float and long double spellings
        auto f = cd::sinf_pushforward(0.5f, 1.0f);
        report("sinf", f.pushforward, std::cos(0.5));
        auto l = cd::expl_pushforward(0.5L, 1.0L);
        report("expl", static_cast<double>(l.pushforward), std::exp(0.5));
    }
    {   // pow of a negative base with a constant exponent stays finite: 3 (-2)^2 = 12
        auto p = cd::pow_pushforward(-2.0, 3.0, 1.0, 0.0);
        report("pow_negative_base", p.pushforward, 12.0);
        auto q = cd::pow_pushforward(2.0, 3, 1.0, 0);  // an int exponent
        report("pow_int_exponent", q.pushforward, 12.0);
    }
    {   // fma(a, b, c) = a b + c: partials b, a, 1
        auto r = cd::fma_pushforward(2.0, 3.0, 4.0, 1.0, 10.0, 100.0);
        report("fma", r.pushforward, 3.0 * 1 + 2.0 * 10 + 100);
        report("fma_value", r.value, 10.0);
        double da = 0, db = 0, dc = 0;
        cd::fma_pullback(2.0, 3.0, 4.0, 5.0, &da, &db, &dc);
        report("fma_pullback", da + 10 * db + 100 * dc, 15.0 + 100.0 + 500.0);
    }
    {   // min / max / clamp take the derivative of the argument chosen
        report("min", cd::min_pushforward(1.0, 2.0, 10.0, 20.0).pushforward, 10.0);
        report("max", cd::max_pushforward(1.0, 2.0, 10.0, 20.0).pushforward, 20.0);
        double da = 0, db = 0;
        cd::max_pullback(1.0, 2.0, 3.0, &da, &db);
        report("max_pullback", da + 10 * db, 30.0);
        report("clamp_low", cd::clamp_pushforward(-1.0, 0.0, 1.0, 5.0, 6.0, 7.0).pushforward, 6.0);
        report("clamp_mid", cd::clamp_pushforward(0.5, 0.0, 1.0, 5.0, 6.0, 7.0).pushforward, 5.0);
        report("clamp_high", cd::clamp_pushforward(2.0, 0.0, 1.0, 5.0, 6.0, 7.0).pushforward, 7.0);
    }
    {   // the types user code writes
        clad::ValueAndPushforward<float, float> vf{1.5f, 2.5f};
        clad::ValueAndPushforward<double, double> vd = vf;
        report("vap_convert", vd.value + 10 * vd.pushforward, 26.5);
        auto made = clad::make_value_and_pushforward(2.0, 3.0);
        report("vap_make", made.value + 10 * made.pushforward, 32.0);
        double x = 4, dx = 5;
        clad::ValueAndAdjoint<double&, double&> va{x, dx};
        va.adjoint += 1;
        report("vaa_reference", dx, 6.0);
        clad::pullback_state<double> st;
        report("pullback_state_zero", st.data, 0.0);
        clad::pullback_state<> none;
        (void)none;
        clad::Tag<double> tag;
        (void)tag;
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def errors(tmp_path_factory) -> dict[str, float]:
    tmp = tmp_path_factory.mktemp("builtins")
    unary = "\n    ".join(f"UNARY({n}, {x})" for n, x in UNARY.items())
    binary = "\n    ".join(f"BINARY({n}, {x}, {y})" for n, (x, y) in BINARY.items())
    (tmp / "builtins.cpp").write_text(PROGRAM.replace("@UNARY@", unary).replace("@BINARY@", binary))
    out, warnings = gxx_build_and_run(tmp, "builtins.cpp", "-Wextra", optimized=False)
    assert warnings == "", warnings
    table = {}
    for line in out.splitlines():
        name, err = line.split()
        table[name] = float(err)
    return table


@pytest.mark.parametrize("name", sorted(UNARY))
def test_each_unary_pushforward_matches_central_differences(errors, name):
    assert errors[name] < 1e-6, errors[name]
    assert errors[f"{name}_value"] < 1e-15
    assert errors[f"{name}_scaled"] < 1e-12  # linear in the tangent


@pytest.mark.parametrize("name", sorted(BINARY))
def test_each_binary_pushforward_and_pullback_match_central_differences(errors, name):
    for part in ("dx", "dy", "pullback_x", "pullback_y"):
        assert errors[f"{name}_{part}"] < 1e-6, (part, errors[f"{name}_{part}"])
    assert errors[f"{name}_value"] < 1e-15
    assert errors[f"{name}f_dx"] < 1e-4  # the float spelling, in float precision


@pytest.mark.parametrize(
    "name",
    [
        "sinf",
        "expl",
        "pow_negative_base",
        "pow_int_exponent",
        "fma",
        "fma_value",
        "fma_pullback",
        "min",
        "max",
        "max_pullback",
        "clamp_low",
        "clamp_mid",
        "clamp_high",
        "vap_convert",
        "vap_make",
        "vaa_reference",
        "pullback_state_zero",
    ],
)
def test_hand_worked_builtin_results(errors, name):
    assert errors[name] < 1e-7, errors[name]
