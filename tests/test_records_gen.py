"""`pyclad gen` for records: gradient and forward headers of functions over arrays of
records, records written through pointers, nested records with array fields and callees
returning records, compiled by g++ -Wall -Wextra -Werror and run under ASan/UBSan.  The
C++ program checks every derivative against central finite differences of the primal,
and the same derivatives from the JIT path must agree with it."""

from __future__ import annotations

import pytest
from conftest import gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <cmath>
struct Body { double x, v, m; int id; };
struct Sys { Body b[3]; double k; };

double energy(const Body* bs, int n, double k) {
    double e = 0;
    for (int i = 0; i < n; i++) {
        e += 0.5 * bs[i].m * bs[i].v * bs[i].v;
        for (int j = 0; j < i; j++) {
            double d = bs[i].x - bs[j].x;
            e += k * d * d;
        }
    }
    return e;
}

double drift(Body* bs, int n, double dt) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        bs[i].x += dt * bs[i].v;
        bs[i].v = bs[i].v * (1 - dt) + std::sin(bs[i].x);
        s += bs[i].m * bs[i].x * bs[i].v;
    }
    return s;
}

Body mid(const Body& a, const Body& b) {
    Body c = {0.5 * (a.x + b.x), 0.5 * (a.v + b.v), a.m + b.m, 0};
    return c;
}

double sys_energy(Sys s, double t) {
    Body first = s.b[0];
    first.x *= t;
    Body c = mid(first, s.b[2]);
    s.b[1] = c;
    return first.x * s.k + energy(s.b, 3, s.k) + c.m * c.v;
}
"""

MAIN = """\
#include <cmath>
#include <cstdio>
#include "model.cpp"
#include "rev.hpp"
#include "fwd.hpp"

static Body start[3] = {{0.3, 1.1, 2.0, 0}, {-0.4, 0.7, 1.5, 1}, {0.9, -0.2, 0.8, 2}};
static double worst = 0;

static void check(double got, double want) {
    double err = std::fabs(got - want) / (1e-6 + std::fabs(want));
    if (err > worst) worst = err;
}
static double* field(Body& b, int f) { return f == 0 ? &b.x : f == 1 ? &b.v : &b.m; }

int main() {
    const double h = 1e-6, k = 0.6, dt = 0.1, t = 1.3;
    // energy: w.r.t. every field of every body, and k
    Body dbs[3] = {};
    double dk = 0;
    energy_grad(start, 3, k, dbs, &dk);
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < 3; f++) {
            Body up[3], down[3];
            for (int j = 0; j < 3; j++) up[j] = down[j] = start[j];
            *field(up[i], f) += h;
            *field(down[i], f) -= h;
            check(*field(dbs[i], f), (energy(up, 3, k) - energy(down, 3, k)) / (2 * h));
        }
    check(dk, (energy(start, 3, k + h) - energy(start, 3, k - h)) / (2 * h));
    check(energy_darg2(start, 3, k), dk);
    std::printf("%.17g %.17g %.17g\\n", dk, dbs[0].x, dbs[2].m);
    // drift writes the bodies it is given
    Body moved[3], ddr[3] = {};
    for (int j = 0; j < 3; j++) moved[j] = start[j];
    double ddt = 0;
    drift_grad(moved, 3, dt, ddr, &ddt);
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < 3; f++) {
            Body up[3], down[3];
            for (int j = 0; j < 3; j++) up[j] = down[j] = start[j];
            *field(up[i], f) += h;
            *field(down[i], f) -= h;
            check(*field(ddr[i], f), (drift(up, 3, dt) - drift(down, 3, dt)) / (2 * h));
        }
    for (int j = 0; j < 3; j++) moved[j] = start[j];
    Body m2[3];
    for (int j = 0; j < 3; j++) m2[j] = start[j];
    check(ddt, (drift(moved, 3, dt + h) - drift(m2, 3, dt - h)) / (2 * h));
    std::printf("%.17g %.17g\\n", ddt, ddr[1].v);
    // a record with an array of records and a callee returning a record
    Sys s = {{start[0], start[1], start[2]}, k};
    Sys ds = {};
    double dtt = 0;
    sys_energy_grad(s, t, &ds, &dtt);
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < 3; f++) {
            Sys up = s, down = s;
            *field(up.b[i], f) += h;
            *field(down.b[i], f) -= h;
            check(*field(ds.b[i], f), (sys_energy(up, t) - sys_energy(down, t)) / (2 * h));
        }
    Sys up = s, down = s;
    up.k += h;
    down.k -= h;
    check(ds.k, (sys_energy(up, t) - sys_energy(down, t)) / (2 * h));
    check(dtt, (sys_energy(s, t + h) - sys_energy(s, t - h)) / (2 * h));
    check(sys_energy_darg1(s, t), dtt);
    std::printf("%.17g %.17g %.17g\\n", dtt, ds.k, ds.b[2].x);
    std::printf("%.3g\\n", worst);
    return 0;
}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recgen")
    (tmp / "model.cpp").write_text(MODEL)
    for mode, args, out in (
        ("reverse", ["-f", "energy", "-f", "drift", "-f", "sys_energy"], "rev.hpp"),
        ("forward", ["-f", "energy", "--wrt", "k"], "fwd_k.hpp"),
        ("forward", ["-f", "sys_energy", "--wrt", "t"], "fwd_t.hpp"),
    ):
        r = pyclad_cli("gen", "model.cpp", "--mode", mode, *args, "-o", out, cwd=tmp)
        assert r.returncode == 0, r.stderr
    (tmp / "fwd.hpp").write_text('#include "fwd_k.hpp"\n#include "fwd_t.hpp"\n')
    (tmp / "main.cpp").write_text(MAIN)
    out, warnings = gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")
    return [[float(v) for v in line.split()] for line in out.strip().splitlines()], warnings, tmp


def test_generated_record_derivatives_compile_without_warnings_and_agree_with_finite_differences(run):
    rows, warnings, _ = run
    assert warnings == ""
    assert rows[-1][0] < 1e-6  # the worst relative error against central differences


def test_the_generated_gradient_takes_record_adjoints_as_pointers_to_the_same_type(run):
    _, _, tmp = run
    rev = (tmp / "rev.hpp").read_text()
    assert "void energy_grad(const Body *bs, int n, double k, Body *_d_bs, double *_d_k)" in rev
    assert "void sys_energy_grad(Sys s, double t, Sys *_d_s, double *_d_t)" in rev
    assert "const Body &b, Body _d_y, Body *_d_a, Body *_d_b)" in rev  # mid_pullback


def test_the_jit_path_gives_the_numbers_the_generated_header_gives(run):
    rows, _, _ = run
    m = pyclad.cppdef(MODEL)
    s = m.Sys()
    for i, (x, v, mass) in enumerate([(0.3, 1.1, 2.0), (-0.4, 0.7, 1.5), (0.9, -0.2, 0.8)]):
        s.b[i].x, s.b[i].v, s.b[i].m, s.b[i].id = x, v, mass, i
    s.k = 0.6
    for checked in (True, False):
        ds, dt = pyclad.gradient(m.sys_energy, checked=checked)(s, 1.3)
        assert abs(dt - rows[2][0]) < 1e-12 * max(1, abs(dt))
        assert abs(ds.k - rows[2][1]) < 1e-12 * max(1, abs(ds.k))
        assert abs(ds.b[2].x - rows[2][2]) < 1e-12 * max(1, abs(ds.b[2].x))
        assert abs(pyclad.differentiate(m.sys_energy, "t", checked=checked)(s, 1.3) - dt) < 1e-12
