"""Forward-mode benchmarks: JIT latency, call overhead, and derivative cost relative to the primal.

Run on demand: python benchmarks/bench_forward.py [--quick]

(a) seconds from source text to the first derivative value: cold (a fresh
    process, `import pyclad` included) and warm (same process, a new source);
(b) the cost of one call of a scalar derivative from Python;
(c) derivative time / primal time for f(x) = sum_i sin(x_i) * x_i, n = 1000,
    w.r.t. x[0]: timed from Python, and in a C++ loop JIT-compiled next to the
    functions, so that Python's call overhead does not hide the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

# About 30 lines: a helper call, a loop, a branch, the math library.
MEDIUM = """\
#include <cmath>

double {p}_softplus(double z) {{ return std::log1p(std::exp(z)); }}

double {p}_f(double x, double y) {{
    double acc = 0.0;
    double prev = x;
    for (int i = 1; i <= 8; ++i) {{
        double t = prev * std::sin(y * i) + std::cos(x / i);
        if (t > 0.5) {{
            acc += {p}_softplus(t) * x;
        }} else {{
            acc -= t * t * y;
        }}
        prev = 0.5 * (prev + t);
    }}
    double r = std::sqrt(acc * acc + 1.0);
    double s = std::tanh(r - x) + std::exp(-y * y);
    double u = std::pow(std::fabs(x) + 1.0, 1.5);
    double w = std::atan2(y, u);
    double v = s * u + w * x;
    for (int k = 0; k < 4; ++k) {{
        v = v * 0.9 + std::sin(v + k) * x;
    }}
    double q = v / (1.0 + x * x);
    q += std::log(1.0 + y * y) * std::cosh(0.1 * x);
    if (q < 0.0) {{
        q = -q;
    }}
    return q + r * {c};
}}
"""

SUM_SIN = """\
#include <cmath>

double sumsin(const double* x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        s += std::sin(x[i]) * x[i];
    }
    return s;
}
"""

COLD = """\
import time
t0 = time.perf_counter()
import pyclad
t1 = time.perf_counter()
m = pyclad.cppdef({src!r})
t2 = time.perf_counter()
d = pyclad.differentiate(m.cold_f, "x")
v = d(0.3, 0.7)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def bench_latency(runs: int) -> dict[str, float]:
    """(a) Cold: fresh processes. Warm: this process, after one module was already loaded."""
    cold = []
    for _ in range(runs):
        src = MEDIUM.format(p="cold", c=1.0)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(src=src)], capture_output=True, text=True, check=True
        ).stdout
        wall = time.perf_counter() - start
        imp, load, deriv = (float(v) for v in out.split())
        cold.append((wall, imp, load, deriv))

    import pyclad

    warm = []
    m0 = pyclad.cppdef(MEDIUM.format(p="w0", c=0.0))  # the interpreter and pyclad are warm now
    pyclad.differentiate(m0.w0_f, "x")(0.3, 0.7)
    for k in range(1, runs + 1):
        p = f"w{k}"
        t0 = time.perf_counter()
        m = pyclad.cppdef(MEDIUM.format(p=p, c=float(k)))
        t1 = time.perf_counter()
        pyclad.differentiate(getattr(m, f"{p}_f"), "x")(0.3, 0.7)
        t2 = time.perf_counter()
        warm.append((t2 - t0, t1 - t0, t2 - t1))

    med = statistics.median
    return {
        "cold: process start to first derivative value": med(c[0] for c in cold),
        "cold:   import pyclad": med(c[1] for c in cold),
        "cold:   cppdef (starts cling, parses, JITs the primal)": med(c[2] for c in cold),
        "cold:   differentiate + first call": med(c[3] for c in cold),
        "warm: cppdef to first derivative value": med(w[0] for w in warm),
        "warm:   cppdef": med(w[1] for w in warm),
        "warm:   differentiate + first call": med(w[2] for w in warm),
    }


def per_call(fn, args, calls: int, repeats: int = 5) -> float:
    """Best-of-repeats seconds per call of fn(*args)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def bench_call_overhead(calls: int) -> dict[str, float]:
    """(b) Microseconds per call from Python: pyclad wrapper vs the raw cppyy function."""
    import pyclad

    m = pyclad.cppdef("#include <cmath>\ndouble g(double x, double y) { return x * x * std::sin(y); }\n")
    d = pyclad.differentiate(m.g, "x", checked=False)  # the plain kernel, called raw below
    raw = m._jit.get(d.name)
    return {
        "primal m.g(x, y)": per_call(m.g, (3.0, 2.0), calls) * 1e6,
        "derivative d(x, y)": per_call(d, (3.0, 2.0), calls) * 1e6,
        "same derivative, raw cppyy call": per_call(raw, (3.0, 2.0), calls) * 1e6,
    }


TIMER = """\
#include <chrono>
namespace {bench} {{
// Nanoseconds per call of the primal and of the derivative, in a loop the optimizer cannot drop.
double primal_ns(const double* x, int n, int reps) {{
    double sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(x) : "memory");
        sink += {ns}::sumsin(x, n);
    }}
    auto t1 = std::chrono::steady_clock::now();
    asm volatile("" : : "r"(&sink) : "memory");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}
double derivative_ns(const double* x, int n, const double* dx, int reps) {{
    double sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(x), "r"(dx) : "memory");
        sink += {ns}::{dname}(x, n, dx);
    }}
    auto t1 = std::chrono::steady_clock::now();
    asm volatile("" : : "r"(&sink) : "memory");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}
}}
"""


def bench_ratio(n: int, calls: int, reps: int) -> tuple[dict[str, float], str]:
    """(c) Forward derivative / primal for sum_i sin(x_i) x_i w.r.t. x[0]."""
    import cppyy

    import pyclad

    m = pyclad.cppdef(SUM_SIN)
    d = pyclad.differentiate(m.sumsin, "x[0]", checked=False)  # the timing loop calls it by name
    x = np.random.default_rng(0).uniform(-2, 2, n)
    assert abs(d(x, n) - (np.cos(x[0]) * x[0] + np.sin(x[0]))) < 1e-12

    py_primal = per_call(m.sumsin, (x, n), calls)
    py_deriv = per_call(d, (x, n), calls)

    bench = f"{m._jit.namespace}_bench"
    cppyy.cppdef(TIMER.format(bench=bench, ns=m._jit.namespace, dname=d.name))
    timer = getattr(cppyy.gbl, bench)
    dx = np.zeros(n)
    dx[0] = 1.0
    c_primal = min(timer.primal_ns(x, n, reps) for _ in range(5))
    c_deriv = min(timer.derivative_ns(x, n, dx, reps) for _ in range(5))
    rows = {
        "called from Python: primal (µs)": py_primal * 1e6,
        "called from Python: derivative (µs)": py_deriv * 1e6,
        "called from Python: derivative / primal": py_deriv / py_primal,
        "C++ timing loop: primal (µs)": c_primal / 1e3,
        "C++ timing loop: derivative (µs)": c_deriv / 1e3,
        "C++ timing loop: derivative / primal": c_deriv / c_primal,
    }
    return rows, d.code


def table(title: str, rows: dict[str, float], unit: str = "") -> None:
    print(f"\n{title}")
    width = max(len(k) for k in rows)
    for k, v in rows.items():
        print(f"  {k:<{width}}  {v:10.3f}{unit}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--show-code", action="store_true", help="print the generated derivative of (c)")
    opts = ap.parse_args()
    runs, calls, reps = (1, 20_000, 2_000) if opts.quick else (3, 200_000, 20_000)

    latency = bench_latency(runs)
    overhead = bench_call_overhead(calls)
    ratio, code = bench_ratio(1000, calls // 20, reps)

    print(f"pyclad forward-mode benchmarks (python {sys.version.split()[0]})")
    table(f"(a) seconds from source to first derivative value, ~30-line function (median of {runs})", latency)
    table(f"(b) µs per call from Python, scalar f(x, y) (best of 5 x {calls} calls)", overhead)
    table("(c) f(x) = sum_i sin(x_i) x_i, n = 1000, d/dx[0]: µs per call and ratio", ratio)
    if opts.show_code:
        print("\n" + textwrap.indent(code, "    "))


if __name__ == "__main__":
    main()
