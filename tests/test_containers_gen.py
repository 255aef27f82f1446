"""`pyclad gen` for functions over std::vector and std::array: the headers compile with
g++ -Wall -Wextra -Werror, run clean under AddressSanitizer and UBSan, and print the
gradients and tangents the JIT path computes (which the other container tests check
against finite differences and array twins); here, also against finite differences."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

MODEL = r"""
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

double energy(const std::vector<double>& x, double k) {
    std::vector<double> d;
    for (std::size_t i = 1; i < x.size(); ++i) d.push_back(x[i] - x[i - 1]);
    double e = 0;
    for (double y : d) e += 0.5 * k * y * y;
    return e + std::accumulate(x.begin(), x.end(), 0.0) * 0.1;
}

double reshape(std::vector<double>& v, double c) {
    double head = v[2] * v[3];
    v.resize(2);
    v.resize(4, c * c);
    std::vector<double> w(v.size());
    std::copy(v.begin(), v.end(), w.begin());
    std::swap(w[0], w[3]);
    return head + std::inner_product(v.begin(), v.end(), w.begin(), 0.0) + *std::max_element(w.begin(), w.end());
}

double fixed(const std::array<double, 3>& a, std::array<double, 3> b) {
    double s = 0;
    for (auto it = a.begin(); it != a.end(); ++it) s += *it * *it;
    for (auto& y : b) y = std::sin(y);
    return s * b[0] + b[1] * b[2];
}
"""

X = [0.3, -0.8, 1.2, 0.5]
K = 1.7


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    tmp = tmp_path_factory.mktemp("vecgen")
    (tmp / "model.cpp").write_text(MODEL)
    for out, mode in (("rev.hpp", "reverse"), ("fwd.hpp", "forward")):
        r = pyclad_cli(
            "gen",
            "model.cpp",
            "--mode",
            mode,
            "-f",
            "energy",
            "-f",
            "reshape",
            "-f",
            "fixed",
            "-o",
            out,
            cwd=tmp,
        )
        assert r.returncode == 0, r.stderr
    x = ", ".join(repr(v) for v in X)
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "rev.hpp"
#include "fwd.hpp"
static void print(const std::vector<double>& v) {{
    for (double y : v) std::printf("%.17g ", y);
    std::printf("\\n");
}}
int main() {{
    std::vector<double> x = {{{x}}};
    std::vector<double> dx(x.size(), 0.0);
    double dk = 0;
    energy_grad(x, {K!r}, &dx, &dk);
    print(dx);
    std::printf("%.17g\\n", dk);
    std::vector<double> v = x;
    std::vector<double> dv(v.size(), 0.0);
    double dc = 0;
    reshape_grad(v, 0.9, &dv, &dc);
    print(dv);
    std::printf("%.17g\\n", dc);
    print(v);  // the reverse sweep put back what resize destroyed
    std::array<double, 3> a = {{0.4, -1.1, 0.6}}, b = {{0.9, 0.3, -0.7}};
    std::array<double, 3> da = {{}}, db = {{}};
    fixed_grad(a, b, &da, &db);
    std::printf("%.17g %.17g %.17g %.17g %.17g %.17g\\n", da[0], da[1], da[2], db[0], db[1], db[2]);
    std::vector<double> seed(x.size(), 0.0);
    seed[2] = 1;
    std::printf("%.17g\\n", energy_darg0(x, {K!r}, seed));
    return 0;
}}
"""
    (tmp / "main.cpp").write_text(main)
    out, warnings = gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")
    rows = [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    return rows, warnings


@pytest.fixture(scope="module")
def jit():
    return pyclad.cppdef(MODEL)


def _vec(x):
    import cppyy

    return cppyy.gbl.std.vector["double"](np.asarray(x, dtype=float))


def test_generated_container_gradients_compile_without_warnings_and_run_clean(built):
    _, warnings = built
    assert warnings == ""


def test_the_generated_gradients_agree_with_the_jit_and_finite_differences(built, jit):
    rows, _ = built
    x = np.array(X)
    gx, gk = pyclad.gradient(jit.energy)(x, K)
    np.testing.assert_allclose(rows[0], gx, rtol=1e-12)
    np.testing.assert_allclose(rows[1], [gk], rtol=1e-12)
    np.testing.assert_allclose(rows[0], [fd(jit.energy, [x, K], 0, k) for k in range(4)], rtol=1e-8)
    gv, gc = pyclad.gradient(jit.reshape)(x, 0.9)
    np.testing.assert_allclose(rows[2], gv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rows[3], [gc], rtol=1e-12)

    def reshape(v, c):
        return jit.reshape(_vec(v), c)

    np.testing.assert_allclose(rows[2], [fd(reshape, [x, 0.9], 0, k) for k in range(4)], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(rows[4], X, rtol=0)
    a, b = np.array([0.4, -1.1, 0.6]), np.array([0.9, 0.3, -0.7])
    ga, gb = pyclad.gradient(jit.fixed)(a, b)
    np.testing.assert_allclose(rows[5], np.concatenate([ga, gb]), rtol=1e-12)
    np.testing.assert_allclose(rows[5][:3], [fd(jit.fixed, [a, b], 0, k) for k in range(3)], rtol=1e-8)


def test_the_generated_forward_derivative_agrees_with_finite_differences(built, jit):
    rows, _ = built
    x = np.array(X)
    np.testing.assert_allclose(rows[6], [fd(jit.energy, [x, K], 0, 2)], rtol=1e-8)
