"""Object-like and function-like macros of the user's own file lower to the right constants.

References are hand-derived formulas; the same source goes through the JIT and through
``pyclad gen`` + g++ -Wall -Wextra -Werror.
"""

import math
import subprocess
import sys

import pytest
from conftest import gxx_build_and_run

import pyclad

SOURCE = """\
#define K 3.0
#define N 4
#define TWOK (2 * K)
#define SQ(a) ((a) * (a))
#define HALF 0.5f
#define TINY 1.25e-3L
#define BIG 4000000000u
#define ON true
#define LETTER 'a'
#define WIDTH sizeof(double)
#define LIMIT(i) (i < N)
#define HEX 0x10
#define NEG -

double consts(double x) { return K * x + TWOK * SQ(x) + HEX; }
double loop(double x) {
    double s = 0;
    for (int i = 0; i < N; ++i) s += K * x;
    for (int i = 0; LIMIT(i); i += 2) s += x;
    return s;
}
double kinds(double x) {
    float h = HALF;
    long double t = TINY;
    unsigned int b = BIG;
    bool on = ON;
    char c = LETTER;
    return on ? h * x + (double)t * x + (b > 3000000000u ? x : 0.0) + (c - 'a') + WIDTH * x : 0.0;
}
double arr(const double* v) { double a[N] = {K, 1, 2, SQ(2.0)}; double s = 0; for (int i = 0; i < N; ++i) s += a[i] * v[i]; return NEG s; }
"""

X = 0.7
# Hand-derived: consts = 3x + 6x^2 + 16; loop = 4 * 3x + 2x (i = 0, 2); kinds = (0.5 + 1.25e-3 + 1 + 8) x.
REFS = {
    "consts": (lambda x: 3 * x + 6 * x * x + 16, lambda x: 3 + 12 * x),
    "loop": (lambda x: 14 * x, lambda x: 14.0),
    "kinds": (lambda x: (0.5 + 1.25e-3 + 1 + 8) * x, lambda x: 0.5 + 1.25e-3 + 1 + 8),
}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


@pytest.mark.parametrize("name", list(REFS))
def test_macros_give_the_right_primal_and_derivatives(m, name):
    value, deriv = REFS[name]
    assert math.isclose(m[name](X), value(X), rel_tol=1e-12)
    assert math.isclose(pyclad.differentiate(m[name], "x")(X), deriv(X), rel_tol=1e-12)
    (g,) = pyclad.gradient(m[name])(X)
    assert math.isclose(g, deriv(X), rel_tol=1e-12)


def test_a_macro_array_dimension_and_initialisers(m):
    import numpy as np

    v = np.array([0.3, -1.0, 2.0, 0.5])
    assert math.isclose(m.arr(v), -(3 * 0.3 - 1 + 4 + 4 * 0.5), rel_tol=1e-12)
    (g,) = pyclad.gradient(m.arr)(v)
    np.testing.assert_allclose(g, [-3.0, -1.0, -2.0, -4.0], rtol=1e-12)


def test_generated_code_spells_the_macro_values(m):
    code = pyclad.gradient(m.consts).code + pyclad.differentiate(m.kinds, "x").code
    assert "#define" not in code
    assert "3.0" in code and "0.5f" in code and "1.25e-3L" in code


def test_a_command_line_macro_still_works():
    m = pyclad.cppdef("double f(double x) { return SCALE * x * x; }", defines={"SCALE": "2.5"})
    assert math.isclose(pyclad.differentiate(m.f, "x")(X), 5 * X, rel_tol=1e-12)


def test_gen_headers_with_macros_compile_and_give_the_derivatives(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    for mode, out in (("forward", "fwd.hpp"), ("reverse", "rev.hpp")):
        args = ["gen", "model.cpp", "--mode", mode, "-f", "consts", "-f", "loop", "-f", "kinds", "-o", out]
        r = subprocess.run(
            [sys.executable, "-m", "pyclad", *args], check=False, capture_output=True, text=True, cwd=tmp_path
        )
        assert r.returncode == 0, r.stderr
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "fwd.hpp"
#include "rev.hpp"
int main() {{
    const double x = {X!r};
    double g[3] = {{0, 0, 0}};
    consts_grad(x, &g[0]);
    loop_grad(x, &g[1]);
    kinds_grad(x, &g[2]);
    std::printf("%.17g %.17g %.17g %.17g %.17g %.17g\\n",
                consts_darg0(x), loop_darg0(x), kinds_darg0(x), g[0], g[1], g[2]);
    return 0;
}}
"""
    (tmp_path / "main.cpp").write_text(main)
    out = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")[0].split()
    want = [REFS[n][1](X) for n in ("consts", "loop", "kinds")] * 2
    for got, w in zip(map(float, out), want):
        assert math.isclose(got, w, rel_tol=1e-12)


STATEMENT_MACROS = """\
#define N 4
#define ACC(s, v) s += v
#define FOR(i, n) for (int i = 0; i < n; ++i)
#define BODY { s += x * i; }
#define FOREVER for (;;)
double loops(double x) {
    double s = 0;
    FOR(i, N) ACC(s, x * x);
    for (int i = 0; i < N; ++i) BODY
    for (int i = 0;; ++i) { if (i == N) break; s += x; }
    return s;
}
double forever(double x) { FOREVER { return x; } }
"""


def test_loops_and_statements_written_by_macros():
    m = pyclad.cppdef(STATEMENT_MACROS)
    x = 1.5
    assert m.loops(x) == 4 * x * x + 6 * x + 4 * x  # N x^2 + x (0 + 1 + 2 + 3) + N x
    assert math.isclose(pyclad.differentiate(m.loops, "x")(x), 8 * x + 10, rel_tol=1e-14)
    (g,) = pyclad.gradient(m.loops)(x)
    assert math.isclose(g, 8 * x + 10, rel_tol=1e-14)


def test_a_macro_loop_with_an_empty_part_is_a_located_error_not_a_wrong_loop():
    m = pyclad.cppdef(STATEMENT_MACROS)
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.forever)
    assert "macro" in str(info.value) and info.value.loc.line == 13
