"""Whole-program gradients: gradient time / primal time in one process, beside the same
mathematics written with plain arrays and scalars (tests/programs/*_plain.cpp).

Run on demand: python benchmarks/bench_programs.py [--quick]

The programs are the ones the tests differentiate (tests/programs/): a particle system
(records with a method, std::vector<Particle>, a lambda force law) and an MLP class with
std::vector weights and a forward() method.  Each primal and gradient is timed in a C++
loop compiled next to it, so Python's call overhead does not enter the ratios; a
gradient's time includes zeroing its adjoints, as a caller must.  Targets (issue "Real C++
types"): gradient / primal <= 3, and the record/container program's gradient no slower
than its plain twin's by more than 10%.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    import cppyy

    import pyclad

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    opts = ap.parse_args()
    rng = np.random.default_rng(0)
    print("pyclad whole-program gradients (gradient and primal timed in a C++ loop, same process)")
    print(
        f"  {'program':<10} {'size':<22} {'grad/primal':>11} {'plain twin':>11} {'grad / plain':>14}"
        f" {'primal µs':>10} {'grad µs':>10}"
    )

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
