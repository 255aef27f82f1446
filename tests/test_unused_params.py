"""A derivative keeps clad's signature even where it does not read a parameter (the derivative
of a function linear in ``x`` does not read ``x``; a pushforward may ignore a tangent).  Such a
parameter is marked ``[[maybe_unused]]``, so generated headers compile warning-free under
``-Wall -Wextra -Werror``, and the JIT accepts the attribute too."""

from __future__ import annotations

import math
import subprocess
import sys

from conftest import gxx_build_and_run

import pyclad

SOURCE = """\
double cubic(double x, double y) { return x * x * x + y * y; }
double lin(double x, double y) { return 3 * x - 2 * y; }
double step(double x, double c) { return c > 0 ? x : -x; }
double uses(double x, double y) { return step(x * y, y) * y; }
double quad(double x, double y) { return x * x + 3 * x * y; }
"""
X, Y = 0.7, 1.3


def sign(v: float) -> float:
    return 1.0 if v > 0 else -1.0


# hand-derived references
DCUBIC_DX = 3 * X * X
GRAD_LIN = (3.0, -2.0)
GRAD_USES = (sign(Y) * Y * Y, sign(Y) * 2 * X * Y)  # step(x y, y) y = sign(y) x y^2 for y != 0
DUSES_DY = GRAD_USES[1]
HESS_QUAD = [[2.0, 3.0], [3.0, 0.0]]


def test_unread_parameters_of_derivatives_are_marked_and_read_ones_are_not():
    m = pyclad.cppdef(SOURCE)
    fwd = pyclad.differentiate(m.cubic, "x").code
    assert "double cubic_darg0(double x, [[maybe_unused]] double y) {" in fwd
    grad = pyclad.gradient(m.lin).code
    assert (
        "void lin_grad([[maybe_unused]] double x, [[maybe_unused]] double y, double *_d_x, double *_d_y)"
        in grad
    )
    push = pyclad.differentiate(m.uses, "y").code  # step's value does not depend on c
    assert "step_pushforward(double x, double c, double _d_x, [[maybe_unused]] double _d_c," in push
    pull = pyclad.gradient(m.uses).code
    assert (  # step's pullback, split: its reverse sweep alone (step_rev) reads neither x nor _d_c
        "step_rev([[maybe_unused]] double x, double c, double _d_y, double *_d_x, [[maybe_unused]] double *_d_c)"
        in pull
    )
    assert "[[maybe_unused]]" not in pyclad.gradient(m.cubic).code  # every parameter is read there


def test_the_jit_compiles_marked_parameters_and_the_derivatives_agree_with_the_hand_formulas():
    m = pyclad.cppdef(SOURCE)
    assert math.isclose(pyclad.differentiate(m.cubic, "x")(X, Y), DCUBIC_DX, rel_tol=1e-14)
    assert pyclad.gradient(m.lin)(X, Y) == GRAD_LIN
    assert math.isclose(pyclad.differentiate(m.uses, "y")(X, Y), DUSES_DY, rel_tol=1e-14)
    for got, want in zip(pyclad.gradient(m.uses)(X, Y), GRAD_USES):
        assert math.isclose(got, want, rel_tol=1e-14)
    H = pyclad.hessian(m.quad)(X, Y)
    assert [[float(v) for v in row] for row in H] == HESS_QUAD


GEN = [
    ("fwd.hpp", ["--mode", "forward", "-f", "cubic", "--wrt", "x"]),
    ("fwd2.hpp", ["--mode", "forward", "-f", "uses", "--wrt", "y"]),
    ("rev.hpp", ["--mode", "reverse", "-f", "lin", "-f", "uses"]),
    ("hess.hpp", ["--mode", "hessian", "-f", "quad"]),
]

MAIN = f"""\
#include <cstdio>
#include "model.cpp"
#include "fwd.hpp"
#include "fwd2.hpp"
#include "rev.hpp"
#include "hess.hpp"
int main() {{
    const double x = {X!r}, y = {Y!r};
    double gl[2] = {{0, 0}}, gu[2] = {{0, 0}}, h[4] = {{0, 0, 0, 0}};
    lin_grad(x, y, &gl[0], &gl[1]);
    uses_grad(x, y, &gu[0], &gu[1]);
    quad_hessian(x, y, h);
    std::printf("%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\\n",
                cubic_darg0(x, y), uses_darg1(x, y), gl[0], gl[1], gu[0], gu[1], h[0], h[1], h[2], h[3]);
    return 0;
}}
"""


def test_gen_headers_with_unread_parameters_compile_under_wextra_werror_and_give_the_derivatives(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    for out, args in GEN:
        r = subprocess.run(
            [sys.executable, "-m", "pyclad", "gen", "model.cpp", *args, "-o", out],
            check=False,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    headers = "".join((tmp_path / out).read_text() for out, _ in GEN)
    assert headers.count("[[maybe_unused]]") >= 4  # the checks below are not vacuous
    (tmp_path / "main.cpp").write_text(MAIN)
    out = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")[0].split()
    got = [float(v) for v in out]
    want = [DCUBIC_DX, DUSES_DY, *GRAD_LIN, *GRAD_USES, *HESS_QUAD[0], *HESS_QUAD[1]]
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g, w, rel_tol=1e-14, abs_tol=1e-15)
