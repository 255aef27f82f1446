"""Whole-program gradients: gradient time / primal time in one process, beside the same
mathematics written with plain arrays and scalars (tests/programs/*_plain.cpp).

Run on demand: python benchmarks/bench_programs.py [--quick] [--compiled]

The programs are the ones the tests differentiate (tests/programs/): a particle system
(records with a method, std::vector<Particle>, a lambda force law) and an MLP class with
std::vector weights and a forward() method.  Each primal and gradient is timed in a C++
loop compiled next to it, so Python's call overhead does not enter the ratios; a
gradient's time includes zeroing its adjoints, as a caller must.  By default the code is
the JIT's (cling, as the Python API runs it); ``--compiled`` generates each gradient with
``pyclad gen`` and times it in one g++ -O2 driver beside its primal, as a C++ user builds it.  Targets (issue "Real C++
types"): gradient / primal <= 3, and the record/container program's gradient no slower
than its plain twin's by more than 10%.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import best, cxx_timer

PROGRAMS = Path(__file__).resolve().parent.parent / "tests" / "programs"

PARTICLES = """\
double sink;
double primal(const double* x0, const double* v0, const double* m, int n, int steps, int reps) {{
    return time_ns([&] {{ sink += {ns}::simulate(x0, v0, m, n, 3.0, 0.01, steps); }}, reps);
}}
double grad(const double* x0, const double* v0, const double* m, int n, int steps, double* dx, double* dv,
            int reps) {{
    return time_ns([&] {{
        std::memset(dx, 0, sizeof(double) * n);
        std::memset(dv, 0, sizeof(double) * n);
        double dk = 0;
        {ns}::{grad}(x0, v0, m, n, 3.0, 0.01, steps, dx, dv, &dk);
    }}, reps);
}}
double primal_plain(const double* x0, const double* v0, const double* m, int n, int steps, double* x, double* v,
                    double* f, int reps) {{
    return time_ns([&] {{ sink += {nsp}::simulate_plain(x0, v0, m, n, 3.0, 0.01, steps, x, v, f); }}, reps);
}}
double grad_plain(const double* x0, const double* v0, const double* m, int n, int steps, double* x, double* v,
                  double* f, double* dx, double* dv, double* s1, double* s2, double* s3, int reps) {{
    return time_ns([&] {{
        std::memset(dx, 0, sizeof(double) * n);
        std::memset(dv, 0, sizeof(double) * n);
        std::memset(s1, 0, sizeof(double) * n);
        std::memset(s2, 0, sizeof(double) * n);
        std::memset(s3, 0, sizeof(double) * n);
        double dk = 0;
        {nsp}::{grad_plain}(x0, v0, m, n, 3.0, 0.01, steps, x, v, f, dx, dv, &dk, s1, s2, s3);
    }}, reps);
}}
"""

MLP = """\
double sink;
double primal(const double* th, const double* X, const double* y, int ns, int ni, int nh, int reps) {{
    return time_ns([&] {{ sink += {ns}::mse_loss(th, X, y, ns, ni, nh); }}, reps);
}}
double grad(const double* th, const double* X, const double* y, int ns, int ni, int nh, double* d, int nt,
            int reps) {{
    return time_ns([&] {{
        std::memset(d, 0, sizeof(double) * nt);
        {ns}::{grad}(th, X, y, ns, ni, nh, d);
    }}, reps);
}}
double primal_plain(const double* th, const double* X, const double* y, int ns, int ni, int nh, int reps) {{
    return time_ns([&] {{ sink += {nsp}::mse_loss_plain(th, X, y, ns, ni, nh); }}, reps);
}}
double grad_plain(const double* th, const double* X, const double* y, int ns, int ni, int nh, double* d, int nt,
                  int reps) {{
    return time_ns([&] {{
        std::memset(d, 0, sizeof(double) * nt);
        {nsp}::{grad_plain}(th, X, y, ns, ni, nh, d);
    }}, reps);
}}
"""


def row(name, size, primal, grad, primal_plain, grad_plain):
    print(
        f"  {name:<10} {size:<22} {grad / primal:>11.2f} {grad_plain / primal_plain:>11.2f}"
        f" {grad / grad_plain:>14.2f} {primal / 1e3:>10.1f} {grad / 1e3:>10.1f}"
    )


COMPILED = r"""
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
static double sink;
template <class F>
static double time_ns(F f) {
    double best = 1e300;
    for (int trial = 0; trial < 5; ++trial) {
        int reps = 1;
        for (;;) {
            auto t0 = std::chrono::steady_clock::now();
            for (int r = 0; r < reps; ++r) f();
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (s >= 0.05) {
                best = std::min(best, 1e9 * s / reps);
                break;
            }
            reps *= 2;
        }
    }
    return best;
}
int main() {
    std::mt19937 rng(0);
    std::normal_distribution<double> nd;
    const int n = N_PARTICLES, steps = STEPS;
    std::vector<double> x0(n), v0(n), mass(n), dx(n), dv(n), x(n), v(n), f(n), s1(n), s2(n), s3(n);
    for (int i = 0; i < n; ++i) { x0[i] = i + 0.1 * nd(rng); v0[i] = 0.1 * nd(rng); mass[i] = 1.5 + 0.5 * nd(rng) * 0.1; }
    double p = time_ns([&] { sink += simulate(x0.data(), v0.data(), mass.data(), n, 3.0, 0.01, steps); });
    double g = time_ns([&] {
        std::memset(dx.data(), 0, sizeof(double) * n); std::memset(dv.data(), 0, sizeof(double) * n);
        double dk = 0;
        PARTICLES_GRAD(x0.data(), v0.data(), mass.data(), n, 3.0, 0.01, steps, dx.data(), dv.data(), &dk);
    });
    double pp = time_ns([&] { sink += simulate_plain(x0.data(), v0.data(), mass.data(), n, 3.0, 0.01, steps, x.data(), v.data(), f.data()); });
    double gp = time_ns([&] {
        std::memset(dx.data(), 0, sizeof(double) * n); std::memset(dv.data(), 0, sizeof(double) * n);
        std::memset(s1.data(), 0, sizeof(double) * n); std::memset(s2.data(), 0, sizeof(double) * n);
        std::memset(s3.data(), 0, sizeof(double) * n);
        double dk = 0;
        PLAIN_GRAD(x0.data(), v0.data(), mass.data(), n, 3.0, 0.01, steps, x.data(), v.data(), f.data(), dx.data(), dv.data(), &dk, s1.data(), s2.data(), s3.data());
    });
    std::printf("particles|n=%d, steps=%d|%.1f|%.1f|%.1f|%.1f\n", n, steps, p, g, pp, gp);
    const int ns = N_SAMPLES, ni = 10, nh = N_HIDDEN, nt = ni * nh + 2 * nh + 1;
    std::vector<double> th(nt), X(ns * ni), y(ns), d(nt);
    for (auto& e : th) e = 0.3 * nd(rng);
    for (auto& e : X) e = nd(rng);
    for (auto& e : y) e = nd(rng);
    double mp = time_ns([&] { sink += mse_loss(th.data(), X.data(), y.data(), ns, ni, nh); });
    double mg = time_ns([&] { std::memset(d.data(), 0, sizeof(double) * nt); MLP_GRAD(th.data(), X.data(), y.data(), ns, ni, nh, d.data()); });
    double mpp = time_ns([&] { sink += mse_loss_plain(th.data(), X.data(), y.data(), ns, ni, nh); });
    double mgp = time_ns([&] { std::memset(d.data(), 0, sizeof(double) * nt); MLP_PLAIN_GRAD(th.data(), X.data(), y.data(), ns, ni, nh, d.data()); });
    std::printf("mlp|%d-%d-1, %d samples|%.1f|%.1f|%.1f|%.1f\n", ni, nh, ns, mp, mg, mpp, mgp);
}
"""


def _generated(work: Path, source: str, function: str, wrt: str) -> tuple[Path, str]:
    """``pyclad gen`` of one gradient: the header and the name of the function it defines."""
    header = work / f"{function}_d.hpp"
    subprocess.run(
        [sys.executable, "-m", "pyclad", "gen", str(PROGRAMS / source), "-f", function, "--mode", "reverse",
         "--wrt", wrt, "-o", str(header)],
        check=True,
    )  # fmt: skip
    names = re.findall(r"^inline \S.*? (\w+)\(", header.read_text(), re.MULTILINE)
    return header, names[-1]


def compiled(quick: bool) -> None:
    """The programs and their twins through ``pyclad gen`` and one g++ -O2 driver."""
    import pyclad

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parts = [
            ("particles.cpp", "simulate", "x0, v0, k", "PARTICLES_GRAD"),
            ("particles_plain.cpp", "simulate_plain", "x0, v0, k", "PLAIN_GRAD"),
            ("mlp.cpp", "mse_loss", "theta", "MLP_GRAD"),
            ("mlp_plain.cpp", "mse_loss_plain", "theta", "MLP_PLAIN_GRAD"),
        ]
        includes, defines = [], []
        for source, function, wrt, macro in parts:
            header, name = _generated(work, source, function, wrt)
            includes += [f'#include "{PROGRAMS / source}"', f'#include "{header}"']
            defines.append(f"-D{macro}={name}")
        sizes = {"N_PARTICLES": 200, "STEPS": 20, "N_SAMPLES": 200, "N_HIDDEN": 16} if quick else {
            "N_PARTICLES": 1000, "STEPS": 100, "N_SAMPLES": 1000, "N_HIDDEN": 32}  # fmt: skip
        defines += [f"-D{k}={v}" for k, v in sizes.items()]
        driver = work / "driver.cpp"
        driver.write_text("\n".join(includes) + "\n" + COMPILED)
        exe = work / "driver"
        subprocess.run(
            ["g++", "-std=c++17", "-O2", f"-I{pyclad.get_include()}", *defines, str(driver), "-o", str(exe)],
            check=True,
        )
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        name, size, *times = line.split("|")
        row(name, size, *(float(t) for t in times))


def main() -> None:
    import cppyy

    import pyclad

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument(
        "--compiled", action="store_true", help="pyclad gen + one g++ -O2 driver instead of the JIT"
    )
    opts = ap.parse_args()
    rng = np.random.default_rng(0)
    how = "pyclad gen + g++ -O2" if opts.compiled else "the JIT (cling)"
    print(f"pyclad whole-program gradients ({how}; gradient and primal timed in a C++ loop, same process)")
    print(
        f"  {'program':<10} {'size':<22} {'grad/primal':>11} {'plain twin':>11} {'grad / plain':>14}"
        f" {'primal µs':>10} {'grad µs':>10}"
    )
    if opts.compiled:
        compiled(opts.quick)
        print("  plain twin: grad/primal of the same mathematics written with plain arrays;")
        print(
            "  grad / plain: the program's gradient time over its plain twin's gradient time (target <= 1.10)."
        )
        return

    # Particle system.
    m, mp = pyclad.load(PROGRAMS / "particles.cpp"), pyclad.load(PROGRAMS / "particles_plain.cpp")
    g = pyclad.gradient(m.simulate, "x0, v0, k", checked=False)
    gp = pyclad.gradient(mp.simulate_plain, "x0, v0, k", checked=False)
    n, steps = (200, 20) if opts.quick else (1000, 100)
    reps = 3 if opts.quick else 10
    cppyy.cppdef(
        cxx_timer(
            f"{m._jit.namespace}_bp",
            PARTICLES.format(ns=m._jit.namespace, nsp=mp._jit.namespace, grad=g.name, grad_plain=gp.name),
        )
    )
    t = getattr(cppyy.gbl, f"{m._jit.namespace}_bp")
    x0 = np.arange(n) + 0.1 * rng.standard_normal(n)
    v0, mass = 0.1 * rng.standard_normal(n), 1 + rng.random(n)
    z = [np.zeros(n) for _ in range(8)]
    row(
        "particles",
        f"n={n}, steps={steps}",
        best(t.primal, x0, v0, mass, n, steps, reps),
        best(t.grad, x0, v0, mass, n, steps, z[0], z[1], reps),
        best(t.primal_plain, x0, v0, mass, n, steps, z[2], z[3], z[4], reps),
        best(t.grad_plain, x0, v0, mass, n, steps, z[2], z[3], z[4], z[0], z[1], z[5], z[6], z[7], reps),
    )

    # MLP.
    m, mp = pyclad.load(PROGRAMS / "mlp.cpp"), pyclad.load(PROGRAMS / "mlp_plain.cpp")
    g = pyclad.gradient(m.mse_loss, "theta", checked=False)
    gp = pyclad.gradient(mp.mse_loss_plain, "theta", checked=False)
    ns, ni, nh = (200, 10, 16) if opts.quick else (1000, 10, 32)
    nt = ni * nh + 2 * nh + 1
    cppyy.cppdef(
        cxx_timer(
            f"{m._jit.namespace}_bm",
            MLP.format(ns=m._jit.namespace, nsp=mp._jit.namespace, grad=g.name, grad_plain=gp.name),
        )
    )
    t = getattr(cppyy.gbl, f"{m._jit.namespace}_bm")
    th, X, y = 0.3 * rng.standard_normal(nt), rng.standard_normal(ns * ni), rng.standard_normal(ns)
    d = np.zeros(nt)
    row(
        "mlp",
        f"{ni}-{nh}-1, {ns} samples",
        best(t.primal, th, X, y, ns, ni, nh, reps),
        best(t.grad, th, X, y, ns, ni, nh, d, nt, reps),
        best(t.primal_plain, th, X, y, ns, ni, nh, reps),
        best(t.grad_plain, th, X, y, ns, ni, nh, d, nt, reps),
    )
    print("  plain twin: grad/primal of the same mathematics written with plain arrays;")
    print("  grad / plain: the program's gradient time over its plain twin's gradient time (target <= 1.10).")


if __name__ == "__main__":
    main()
