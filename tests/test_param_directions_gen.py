"""`pyclad gen` for directions along container and record parameters: a vector-mode
kernel (``--mode vector``), a Jacobian and Hessians, compiled by g++ -Wall -Wextra -Werror
and run under ASan/UBSan.  The C++ program compares every entry with central finite
differences of the primal, and the JIT path must print the same numbers."""

from __future__ import annotations

import numpy as np
from conftest import gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <array>
#include <cmath>
#include <vector>

struct Inner { double b; int k; };
struct Params { double a; Inner q; double c; };

double vsum(const std::vector<double>& v, double x) {
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += std::sin(v[i]) * v[i] * x;
    return s * x + v[0] * v[v.size() - 1];
}
double arr3(const std::array<double, 3>& a, double w) { return a[0] * a[1] * w + std::exp(a[2]) * a[0] * w * w; }
double rec(Params p, double x) { return p.a * p.q.b * x + p.c * p.c * p.a + std::sin(p.q.b) * x * x; }
double rec_ptr(const Params* p, double x) { return p->a * p->q.b * x + p->c * p->c * p->a + std::sin(p->q.b) * x * x; }
void jv(const std::vector<double>& v, double x, double* out) {
    out[0] = v[0] * v[1] * x;
    out[1] = std::sin(v[1]) + x * v[0] * v[2];
}
"""

MAIN = r"""
#include <cmath>
#include <cstdio>
#include <vector>
#include "model.cpp"
#include "vec1.hpp"
#include "vec2.hpp"
#include "jac.hpp"
#include "hess1.hpp"
#include "hess2.hpp"

static double worst = 0;
static void check(double got, double want) {
    double err = std::fabs(got - want) / (1 + std::fabs(want));
    if (err > worst) worst = err;
}

// f of a flat point z: v = z[0..3], x = z[4] / p = (z[0], z[1], z[2]), x = z[3] / a = z[0..2], w = z[3]
static double f_vsum(const double* z) { std::vector<double> v(z, z + 4); return vsum(v, z[4]); }
static double f_rec(const double* z) { Params p{z[0], {z[1], 3}, z[2]}; return rec(p, z[3]); }
static double f_arr(const double* z) { std::array<double, 3> a{z[0], z[1], z[2]}; return arr3(a, z[3]); }

static double fd1(double (*f)(const double*), std::vector<double> z, int i) {
    const double h = 1e-5;
    z[i] += h; double up = f(z.data());
    z[i] -= 2 * h; double down = f(z.data());
    return (up - down) / (2 * h);
}
static double fd2(double (*f)(const double*), std::vector<double> z, int i, int j) {
    const double h = 1e-3;
    auto at = [&](double si, double sj) { std::vector<double> y = z; y[i] += si * h; y[j] += sj * h; return f(y.data()); };
    return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h);
}

int main() {
    std::vector<double> v = {0.7, -1.3, 0.4, 2.1};
    double x = 1.7;
    std::vector<double> zv = {0.7, -1.3, 0.4, 2.1, 1.7};
    // vector mode: the elements v[0:3] and x (seeds: row k of _d_v_buf has a 1 in column k)
    std::vector<double> dv(4 * 5, 0.0), res(5, 0.0);
    for (int k = 0; k < 4; ++k) dv[k * 5 + k] = 1;
    vsum_dvec_0_0_3_1(v, x, dv.data(), res.data());
    for (int k = 0; k < 5; ++k) { check(res[k], fd1(f_vsum, zv, k)); std::printf("%.12g ", res[k]); }
    std::printf("\n");
    // vector mode along a record through a pointer: one buffer row per floating field
    Params p{1.5, {-0.5, 3}, 2.0};
    std::vector<double> zp = {1.5, -0.5, 2.0, 1.7};
    std::vector<double> dp(3 * 4, 0.0), rp(4, 0.0);
    for (int k = 0; k < 3; ++k) dp[k * 4 + k] = 1;
    rec_ptr_dvec_0_0_2_1(&p, x, dp.data(), rp.data());
    for (int k = 0; k < 4; ++k) { check(rp[k], fd1(f_rec, zp, k)); std::printf("%.12g ", rp[k]); }
    std::printf("\n");
    // the Jacobian: rows out[0:2], columns v[0:v.size()], x
    std::vector<double> v3 = {0.7, -1.3, 0.4}, out(2), jac(2 * 4);
    jv_jac(v3, x, out.data(), jac.data(), 2);
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 4; ++c) {
            std::vector<double> z = {0.7, -1.3, 0.4, 1.7};
            const double h = 1e-6;
            double o1[2], o2[2];
            z[c] += h; { std::vector<double> w(z.begin(), z.begin() + 3); jv(w, z[3], o1); }
            z[c] -= 2 * h; { std::vector<double> w(z.begin(), z.begin() + 3); jv(w, z[3], o2); }
            check(jac[r * 4 + c], (o1[r] - o2[r]) / (2 * h));
            std::printf("%.12g ", jac[r * 4 + c]);
        }
    std::printf("\n");
    // Hessians: over v[0:3] and x; over the record's fields (a, q.b, c) and x; over a std::array and w
    std::vector<double> hv(25), hr(16), ha(16);
    vsum_hessian_0_0_3_1(v, x, hv.data());
    rec_hessian(p, x, hr.data());
    std::array<double, 3> a = {0.3, -1.1, 0.8};
    std::vector<double> za = {0.3, -1.1, 0.8, 1.7};
    arr3_hessian(a, x, ha.data());
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) { check(hv[i * 5 + j], fd2(f_vsum, zv, i, j)); std::printf("%.12g ", hv[i * 5 + j]); }
    std::printf("\n");
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            check(hr[i * 4 + j], fd2(f_rec, zp, i, j));
            check(ha[i * 4 + j], fd2(f_arr, za, i, j));
            std::printf("%.12g %.12g ", hr[i * 4 + j], ha[i * 4 + j]);
        }
    std::printf("\nworst %.3g\n", worst);
    return 0;
}
"""


def test_generated_vector_jacobian_and_hessian_headers_over_container_and_record_params(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    (tmp_path / "main.cpp").write_text(MAIN)
    requests = [
        ("vec1.hpp", "vector", ["-f", "vsum", "--wrt", "v[0:3], x"]),
        ("vec2.hpp", "vector", ["-f", "rec_ptr", "--wrt", "p, x"]),
        ("jac.hpp", "jacobian", ["-f", "jv"]),
        ("hess1.hpp", "hessian", ["-f", "vsum", "--wrt", "v[0:3], x"]),
        ("hess2.hpp", "hessian", ["-f", "rec", "-f", "arr3"]),
    ]
    for out, mode, args in requests:
        r = pyclad_cli("gen", "model.cpp", "--mode", mode, *args, "-o", out, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    printed, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert warnings == ""
    lines = printed.strip().splitlines()
    assert float(lines[-1].split()[1]) < 1e-5, printed

    # the JIT path gives the same numbers
    m = pyclad.cppdef(MODEL)
    v, x = np.array([0.7, -1.3, 0.4, 2.1]), 1.7
    dv, dx = pyclad.differentiate(m.vsum, ["v", "x"])(v, x)
    np.testing.assert_allclose(np.append(dv, dx), [float(t) for t in lines[0].split()], rtol=1e-10)
    h = pyclad.hessian(m.vsum)(v, x)
    np.testing.assert_allclose(h.ravel(), [float(t) for t in lines[3].split()], rtol=1e-10, atol=1e-12)


def test_generated_vector_mode_over_a_std_vector_without_an_index_range_is_a_located_error(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "--mode", "vector", "-f", "vsum", "--wrt", "v, x", cwd=tmp_path)
    assert r.returncode == 1
    assert "model.cpp:8:40:" in r.stderr and "give an index range for array parameter 'v'" in r.stderr
