"""Reverse-mode benchmarks: gradient time / primal time, measured in one process.

Run on demand: python benchmarks/bench_reverse.py [--quick] [--show-code]

Both the primal and the generated gradient are timed in a C++ loop compiled
next to them (so Python's call overhead does not enter the ratio); the
gradient's time includes zeroing its adjoint array, as a caller must.
Central finite differences cost 2n primal calls; for n = 1e5 that is timed
on a slice of the components and scaled up (said so in the table).
"""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

CASES = r"""
#include <cmath>

double sumsin(const double* x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        s += std::sin(x[i]) * x[i];
    }
    return s;
}

double branchy(const double* x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        s += x[i] > 0 ? x[i] * x[i] : std::exp(x[i]);
    }
    return s;
}

double product(const double* x, int n) {
    double p = 1.0;
    for (int i = 0; i < n; ++i) {
        p *= 1 + 1e-3 * x[i];
    }
    return p;
}

double recurrence(const double* x, int n) {
    double v = x[0];
    double p = x[1];
    for (int k = 0; k < n; ++k) {
        v = std::sin(v) * p;
    }
    return v;
}

double stencil(const double* x, int n) {
    // 5-point Laplacian energy on an n x n grid (interior points).
    double e = 0.0;
    for (int i = 1; i < n - 1; ++i) {
        for (int j = 1; j < n - 1; ++j) {
            double lap = x[(i - 1) * n + j] + x[(i + 1) * n + j] + x[i * n + j - 1] + x[i * n + j + 1]
                         - 4 * x[i * n + j];
            e += 0.5 * lap * lap;
        }
    }
    return e;
}
"""

TIMER = """\
#include <chrono>
#include <cstring>
namespace {bench} {{
double primal_ns(const double* x, int n, int reps) {{
    double sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(x) : "memory");
        sink += {ns}::{f}(x, n);
    }}
    auto t1 = std::chrono::steady_clock::now();
    asm volatile("" : : "r"(&sink) : "memory");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}
double grad_ns(const double* x, int n, double* dx, int len, int reps) {{
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{
        std::memset(dx, 0, sizeof(double) * len);
        asm volatile("" : : "r"(x), "r"(dx) : "memory");
        {ns}::{f}_grad(x, n, dx);
        asm volatile("" : : "r"(dx) : "memory");
    }}
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}
}}
"""

# name, n argument, array length, target ratio
RUNS = [
    ("sumsin", 1_000, 1_000, 3.0),
    ("sumsin", 100_000, 100_000, 3.0),
    ("branchy", 100_000, 100_000, 3.0),
    ("product", 100_000, 100_000, 3.0),
    ("recurrence", 10_000, 2, 6.0),
    ("stencil", 100, 100 * 100, 3.0),
]


def check(m, g, name, x, n):
    """The gradient agrees with forward mode (a separate transform) on a few components."""
    import pyclad

    f = getattr(m, name)
    grad = g(x, n)
    for k in sorted({0, len(x) // 2, len(x) - 1}):
        ref = pyclad.differentiate(f, f"x[{k}]")(x, n)
        assert abs(ref - grad[k]) <= 1e-9 * max(1.0, abs(ref)), (name, k, ref, grad[k])


def main() -> None:
    import cppyy

    import pyclad

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--show-code", action="store_true", help="print the generated gradients")
    opts = ap.parse_args()
    budget = 2e7 if opts.quick else 2e8  # primal element-evaluations per measurement

    m = pyclad.cppdef(CASES)
    rng = np.random.default_rng(0)
    print("pyclad reverse-mode benchmarks: gradient / primal, both timed in a C++ loop")
    print(
        f"  {'function':<12} {'n':>8} {'primal µs':>11} {'grad µs':>11} {'grad/primal':>12} {'target':>7}"
        f" {'FD / grad':>12}"
    )
    shown = set()
    for k, (name, n, length, target) in enumerate(RUNS):
        g = pyclad.gradient(getattr(m, name), "x", checked=False)  # the timing loop calls it by name
        if name == "recurrence":
            # p = 1: the adjoint decays polynomially.  With a contracting p (say 1.1)
            # it decays geometrically into subnormal numbers, where x86 arithmetic
            # is ~10x slower in any implementation; that would time the hardware.
            x = np.array([0.5, 1.0])
        else:
            x = rng.uniform(-1, 1, length)
        check(m, g, name, x, n)
        bench = f"{m._jit.namespace}_rbench{k}"
        cppyy.cppdef(TIMER.format(bench=bench, ns=m._jit.namespace, f=name))
        t = getattr(cppyy.gbl, bench)
        reps = max(3, int(budget / max(length, n) / 10))
        dx = np.zeros(length)
        primal = min(t.primal_ns(x, n, reps) for _ in range(5))
        grad = min(t.grad_ns(x, n, dx, length, reps) for _ in range(5))
        fd = 2 * length * primal  # central differences: two primal calls per component
        print(
            f"  {name:<12} {n:>8} {primal / 1e3:>11.2f} {grad / 1e3:>11.2f} {grad / primal:>12.2f}"
            f" {target:>7.1f} {fd / grad:>12.0f}"
        )
        if opts.show_code and name not in shown:
            shown.add(name)
            print(textwrap.indent(g.code, "      "))
    print("  FD / grad: central finite differences cost 2n primal calls (estimated from the primal time).")


if __name__ == "__main__":
    main()
