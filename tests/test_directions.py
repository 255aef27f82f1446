"""Directions do not poison each other: in vector forward mode, Jacobians and Hessians an
infinite or NaN partial along one direction leaves every other direction's derivative as
scalar mode gives it (a direction whose tangent is zero contributes exactly zero).

References are hand-derived formulas."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import arr, gxx_build_and_run

import pyclad

SRC = """
#include <cmath>
double sqrt_sum(double x, double y) { return x * x + std::sqrt(y); }
double power(double x, double y) { return std::pow(x, y); }
double log_quot(double x, double y) { return x * x * x / y + std::log(y); }
void two_outputs(const double* u, double* out) {
    out[0] = u[0] * u[0] + std::sqrt(u[1]);
    out[1] = std::log(u[1]) + 3 * u[0];
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def test_vector_mode_derivative_along_x_is_finite_where_sqrt_of_y_has_an_infinite_slope(m):
    d = pyclad.differentiate(m.sqrt_sum, ["x", "y"])
    dx, dy = d(1.5, 0.0)
    assert dx == 3.0  # 2x
    assert dy == math.inf


def test_vector_mode_derivative_along_x_is_finite_where_the_partial_along_y_is_nan(m):
    d = pyclad.differentiate(m.power, ["x", "y"])
    dx, dy = d(-2.0, 2.0)
    assert dx == -4.0  # y x^(y-1)
    assert math.isnan(dy)  # x^y log x, log of a negative base


def test_hessian_of_pow_at_a_negative_base_keeps_the_finite_entry(m):
    h = pyclad.hessian(m.power)(-2.0, 2.0)
    assert h[0, 0] == 2.0  # y (y - 1) x^(y-2)
    assert math.isnan(h[0, 1]) and math.isnan(h[1, 0]) and math.isnan(h[1, 1])


def test_hessian_of_sqrt_at_zero_has_exact_zero_cross_terms(m):
    h = pyclad.hessian(m.sqrt_sum)(1.5, 0.0)
    assert h[0, 0] == 2.0
    assert h[0, 1] == 0.0 and h[1, 0] == 0.0
    assert h[1, 1] == -math.inf  # -y^(-3/2) / 4


def test_hessian_with_a_division_by_zero_in_one_direction_keeps_the_other(m):
    # f = x^3 / y + log y at y = 0: d2f/dx2 = 6x / y is inf, but the x-row of the
    # gradient's tangent along x must not be NaN from the y-direction.
    d = pyclad.differentiate(m.log_quot, ["x", "y"])
    dx, dy = d(0.0, 1.0)
    assert dx == 0.0 and dy == 1.0  # 3x^2 / y, -x^3 / y^2 + 1 / y


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_rows_are_not_poisoned_by_an_infinite_partial(m, mode):
    j = pyclad.jacobian(m.two_outputs, mode=mode)(arr(1.5, 0.0), np.zeros(2))
    # rows: 2 u0 + inf-slope sqrt(u1); 1 / u1 + 3 u0
    assert j.tolist() == [[3.0, math.inf], [3.0, math.inf]]


def test_pyclad_gen_hessian_writes_zero_rows_where_the_gradient_entry_is_constant(tmp_path):
    """d f / d x = 2 does not depend on any direction: its Hessian row is written as zeros,
    not left as the caller's memory was."""
    (tmp_path / "f.cpp").write_text("double lin(double x, double y) { return 2 * x + y * y; }\n")
    r = subprocess.run(
        [sys.executable, "-m", "pyclad", "gen", "f.cpp", "-f", "lin", "--mode", "hessian", "-o", "f_h.hpp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    name = re.search(r"inline void (lin_hessian\w*)\(", (tmp_path / "f_h.hpp").read_text()).group(1)
    main = (
        '#include <cstdio>\n#include "f.cpp"\n#include "f_h.hpp"\n'
        f"int main() {{ double h[4] = {{42, 42, 42, 42}}; {name}(0.5, 1.5, h);\n"
        ' std::printf("%g %g %g %g\\n", h[0], h[1], h[2], h[3]); }\n'
    )
    (tmp_path / "main.cpp").write_text(main)
    out, _ = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra")
    assert [float(v) for v in out.split()] == [0.0, 0.0, 0.0, 2.0]  # d2/dx2, d2/dxdy, d2/dydx, d2/dy2
