"""A gradient over some of the parameters, where a parameter left out of wrt is
overwritten by a differentiated value in the body: the derivative compiles (in the JIT
and as a `pyclad gen` header built with -Wall -Wextra -Werror) and matches hand formulas."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import gxx_build_and_run

import pyclad

SRC = """\
double scaled(double x, double y) { y = y * x; return y * x; }
double scales_array(double x, double* w, int n) {
    for (int i = 0; i < n; ++i) { w[i] = w[i] * x; }
    return w[0] * x + w[1];
}
double through_ref(double x, double& y) { y = y * x + 1; return y * y; }
double calls_it(double x, double y) { double r = through_ref(x, y); return r + scaled(x, y); }
"""


def d_scaled(x, y):  # y x^2
    return 2 * x * y


def d_scales_array(x, w):  # w0 x^2 + w1 x
    return 2 * w[0] * x + w[1]


def d_through_ref(x, y):  # (x y + 1)^2
    return 2 * (x * y + 1) * y


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def test_gradient_wrt_x_of_a_function_that_overwrites_scalar_y(m):
    assert math.isclose(pyclad.gradient(m.scaled, "x")(1.5, 2.0), d_scaled(1.5, 2.0), rel_tol=1e-14)


def test_gradient_wrt_x_of_a_function_that_overwrites_array_w(m):
    w = np.array([0.5, -1.0, 2.0])
    g = pyclad.gradient(m.scales_array, "x")(0.7, w, 3)
    assert math.isclose(g, d_scales_array(0.7, [0.5, -1.0]), rel_tol=1e-14)


def test_gradient_wrt_x_through_callees_that_overwrite_y(m):
    x, y = 0.4, 1.5
    # (x y + 1)^2 + (x y + 1) x^2: scaled sees the y that through_ref left
    want = d_through_ref(x, y) + y * x * x + (x * y + 1) * 2 * x
    assert math.isclose(pyclad.gradient(m.calls_it, "x")(x, y), want, rel_tol=1e-13)


def test_pyclad_gen_header_for_partial_wrt_compiles_cleanly_and_is_right(tmp_path):
    (tmp_path / "model.cpp").write_text(SRC)
    for f in ("scaled", "scales_array", "calls_it"):
        r = subprocess.run(
            [sys.executable, "-m", "pyclad", "gen", "model.cpp", "-f", f, "--mode", "reverse", "--wrt", "x"]
            + ["-o", f"{f}_d.hpp"],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
    grads = {
        f: next(
            line
            for line in (tmp_path / f"{f}_d.hpp").read_text().splitlines()
            if "_grad" in line and line.startswith("inline void")
        )
        for f in ("scaled", "scales_array", "calls_it")
    }
    name = {f: g.split("(")[0].split()[-1] for f, g in grads.items()}
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "scaled_d.hpp"
#include "scales_array_d.hpp"
#include "calls_it_d.hpp"
int main() {{
    double dx = 0;
    {name["scaled"]}(1.5, 2.0, &dx);
    double w[2] = {{0.5, -1.0}}, dw[2] = {{0, 0}}, gx = 0;
    {name["scales_array"]}(0.7, w, 2, &gx, dw);
    double cx = 0;
    {name["calls_it"]}(0.4, 1.5, &cx);
    std::printf("%.17g %.17g %.17g\\n", dx, gx, cx);
    return 0;
}}
"""
    (tmp_path / "main.cpp").write_text(main)
    out, _ = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    dx, gx, cx = (float(v) for v in out.split())
    assert math.isclose(dx, d_scaled(1.5, 2.0), rel_tol=1e-14)
    assert math.isclose(gx, d_scales_array(0.7, [0.5, -1.0]), rel_tol=1e-14)
    assert math.isclose(cx, d_through_ref(0.4, 1.5) + 1.5 * 0.4**2 + (0.4 * 1.5 + 1) * 0.8, rel_tol=1e-13)
