"""Reverse-mode benchmarks: gradient time / primal time, measured in one process.

Run on demand: python benchmarks/bench_reverse.py [--quick] [--show-code]

Both the primal and the generated gradient are timed in a C++ loop compiled
next to them (so Python's call overhead does not enter the ratio); the
gradient's time includes zeroing its adjoint array, as a caller must.
Central finite differences cost 2n primal calls; for n = 1e5 that is timed
on a slice of the components and scaled up (said so in the table).

A reduction over 10^7 inputs runs beside the same reduction over 10^3: its gradient must cost
the same per element.  The tape memory of each gradient (bytes its tapes and undo logs take
in, and the most they hold at once) is counted in a separate build of the same kernels by
``pyclad gen`` and g++ with ``PYCLAD_COUNT_TAPE`` defined, so that the counting stays out of
the timings; it should grow with the loop trips, never faster.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from timing import best, cxx_timer, per_call

CASES = r"""
#include <cmath>
#include <vector>

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

double branchif(const double* x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        if (x[i] > 0) {
            s += x[i] * x[i];
        } else {
            s += std::exp(x[i]);
        }
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

// Hand-written gradients of three kernels (the issue's side-by-side references).
void branchy_hand(const double* x, int n, double* dx) {
    for (int i = 0; i < n; ++i) {
        dx[i] += x[i] > 0 ? 2 * x[i] : std::exp(x[i]);
    }
}

void branchif_hand(const double* x, int n, double* dx) { branchy_hand(x, n, dx); }

void product_hand(const double* x, int n, double* dx) {
    std::vector<double> before(n);  // the prefix products: what a reverse sweep needs
    double p = 1.0;
    for (int i = 0; i < n; ++i) {
        before[i] = p;
        p *= 1 + 1e-3 * x[i];
    }
    double after = 1.0;
    for (int i = n - 1; i >= 0; --i) {
        dx[i] += 1e-3 * before[i] * after;
        after *= 1 + 1e-3 * x[i];
    }
}

void stencil_hand(const double* x, int n, double* dx) {
    for (int i = 1; i < n - 1; ++i) {
        for (int j = 1; j < n - 1; ++j) {
            double lap = x[(i - 1) * n + j] + x[(i + 1) * n + j] + x[i * n + j - 1] + x[i * n + j + 1]
                         - 4 * x[i * n + j];
            dx[(i - 1) * n + j] += lap;
            dx[(i + 1) * n + j] += lap;
            dx[i * n + j - 1] += lap;
            dx[i * n + j + 1] += lap;
            dx[i * n + j] -= 4 * lap;
        }
    }
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
{grad}{hand}
}}
"""

# One timed loop of a gradient kernel (``which``: "grad", the generated one; "hand", one written by hand).
GRADIENT_LOOP = """double {which}_ns(const double* x, int n, double* dx, int len, int reps) {{{{
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{{{
        std::memset(dx, 0, sizeof(double) * len);
        asm volatile("" : : "r"(x), "r"(dx) : "memory");
        {{ns}}::{{f}}_{which}(x, n, dx);
        asm volatile("" : : "r"(dx) : "memory");
    }}}}
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}}}
"""
GRAD, HAND = GRADIENT_LOOP.format(which="grad"), GRADIENT_LOOP.format(which="hand")

HANDS = ("branchy", "branchif", "product", "stencil")  # kernels with a hand-written gradient beside them

# name, n argument, array length, target ratio
RUNS = [
    ("sumsin", 1_000, 1_000, 3.0),
    ("sumsin", 100_000, 100_000, 3.0),
    ("sumsin", 10_000_000, 10_000_000, 3.0),  # a reduction over 10^7 inputs: the ratio of 10^3
    ("branchy", 100_000, 100_000, 3.0),
    ("branchif", 100_000, 100_000, 3.0),
    ("product", 100_000, 100_000, 3.0),
    ("recurrence", 10_000, 2, 6.0),
    ("stencil", 100, 100 * 100, 3.0),
]


PROGRAMS = Path(__file__).resolve().parent.parent / "tests" / "programs"

PLAIN = """\
double sink;
double particles(const double* x0, const double* v0, const double* m, int n, int steps, double* s, int reps) {{
    return time_ns([&] {{ sink += {ns}::simulate_plain(x0, v0, m, n, 3.0, 0.01, steps, s, s + n, s + 2 * n); }},
                   reps);
}}
double particles_grad(const double* x0, const double* v0, const double* m, int n, int steps, double* s, double* d,
                      int reps) {{
    return time_ns([&] {{
        std::memset(d, 0, sizeof(double) * 5 * n);
        double dk = 0;
        {ns}::{gk}(x0, v0, m, n, 3.0, 0.01, steps, s, s + n, s + 2 * n, d, d + n, &dk, d + 2 * n, d + 3 * n,
                   d + 4 * n);
    }}, reps);
}}
double particles_grad_xv(const double* x0, const double* v0, const double* m, int n, int steps, double* s,
                         double* d, int reps) {{
    return time_ns([&] {{
        std::memset(d, 0, sizeof(double) * 5 * n);
        {ns}::{gxv}(x0, v0, m, n, 3.0, 0.01, steps, s, s + n, s + 2 * n, d, d + n, d + 2 * n, d + 3 * n,
                    d + 4 * n);
    }}, reps);
}}
double mlp(const double* th, const double* X, const double* y, int ns, int ni, int nh, int reps) {{
    return time_ns([&] {{ sink += {nsm}::mse_loss_plain(th, X, y, ns, ni, nh); }}, reps);
}}
double mlp_grad(const double* th, const double* X, const double* y, int ns, int ni, int nh, double* d, int nt,
                int reps) {{
    return time_ns([&] {{
        std::memset(d, 0, sizeof(double) * nt);
        {nsm}::{gm}(th, X, y, ns, ni, nh, d);
    }}, reps);
}}
"""


def plain_programs(quick: bool) -> None:
    """The plain-array whole programs of tests/programs (a particle system, an MLP)."""
    import cppyy

    import pyclad

    if not (PROGRAMS / "particles_plain.cpp").exists():
        return
    mp, mm = pyclad.load(PROGRAMS / "particles_plain.cpp"), pyclad.load(PROGRAMS / "mlp_plain.cpp")
    gk = pyclad.gradient(mp.simulate_plain, "x0, v0, k", checked=False)
    gxv = pyclad.gradient(mp.simulate_plain, "x0, v0", checked=False)
    gm = pyclad.gradient(mm.mse_loss_plain, "theta", checked=False)
    small = (np.ones(3), np.ones(3), np.ones(3), 3, 1.0, 0.1, 2, np.zeros(3), np.zeros(3), np.zeros(3))
    gk(*small)  # compiled on first call
    gxv(*small)
    gm(np.ones(4), np.ones(2), np.ones(2), 2, 1, 1)
    bench = f"{mp._jit.namespace}_plain"
    cppyy.cppdef(
        cxx_timer(
            bench,
            PLAIN.format(ns=mp._jit.namespace, nsm=mm._jit.namespace, gk=gk.name, gxv=gxv.name, gm=gm.name),
        )
    )
    t = getattr(cppyy.gbl, bench)
    rng = np.random.default_rng(0)
    n, steps, reps = (200, 20, 3) if quick else (1000, 100, 10)
    x0, v0, mass = (
        np.arange(n) + 0.1 * rng.standard_normal(n),
        0.1 * rng.standard_normal(n),
        1 + rng.random(n),
    )
    s, d = np.zeros(3 * n), np.zeros(5 * n)
    primal = best(t.particles, x0, v0, mass, n, steps, s, reps)
    for what, f in (("x0, v0, k", t.particles_grad), ("x0, v0", t.particles_grad_xv)):
        grad = best(f, x0, v0, mass, n, steps, s, d, reps)
        print(f"  {'particles_plain':<16} {f'n={n}, steps={steps}':<18} {what:<12} {grad / primal:>12.2f}")
    ns, ni, nh = (200, 10, 16) if quick else (1000, 10, 32)
    nt = ni * nh + 2 * nh + 1
    th, X, y = 0.3 * rng.standard_normal(nt), rng.standard_normal(ns * ni), rng.standard_normal(ns)
    primal = best(t.mlp, th, X, y, ns, ni, nh, reps)
    grad = best(t.mlp_grad, th, X, y, ns, ni, nh, np.zeros(nt), nt, reps)
    print(f"  {'mlp_plain':<16} {f'{ni}-{nh}-1, {ns} samples':<18} {'theta':<12} {grad / primal:>12.2f}")


TAPE_MAIN = r"""
#include <cstdio>
#include <vector>
#include "cases.cpp"
#include "cases_d.hpp"
// Bytes the tapes and undo logs of one gradient call take in, and the most they hold at once.
template <class G>
static void tape_bytes(const char* name, int n, int length, G grad) {
    std::vector<double> x(length), dx(length);
    for (int i = 0; i < length; ++i) x[i] = 0.5 - (i % 7) * 0.1;
    if (length == 2) x[1] = 1.0;
    ::pyclad::tape_counter() = ::pyclad::tape_count{};
    grad(x.data(), n, dx.data());
    const ::pyclad::tape_count& c = ::pyclad::tape_counter();
    std::printf("%s|%d|%zu|%zu\n", name, n, c.pushed, c.peak);
}
int main() {
{calls}
}
"""


def tape_memory(quick: bool) -> None:
    """Per gradient of RUNS: the bytes its tapes take in (``PYCLAD_COUNT_TAPE`` build of the
    ``pyclad gen`` header), and per unit of n (the loop trips, or a grid side for stencil)."""
    if shutil.which("g++") is None:
        print("  (g++ is needed)")
        return
    names = list(dict.fromkeys(name for name, *_ in RUNS))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "cases.cpp").write_text(CASES)
        gen = [sys.executable, "-m", "pyclad", "gen", "cases.cpp", "--mode", "reverse", "--wrt", "x"]
        gen += [a for name in names for a in ("-f", name)] + ["-o", "cases_d.hpp"]
        r = subprocess.run(gen, cwd=work, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(f"  pyclad gen failed: {r.stderr.strip()[:300]}")
            return
        calls = "\n".join(
            f'    tape_bytes("{name}", {n}, {length}, {name}_grad);'
            for name, n, length, _ in RUNS
            if not (quick and length > 1_000_000)
        )
        (work / "main.cpp").write_text(TAPE_MAIN.replace("{calls}", calls))
        import pyclad

        build = ["g++", "-std=c++17", "-O1", "-DPYCLAD_COUNT_TAPE", f"-I{pyclad.get_include()}", "main.cpp"]
        r = subprocess.run([*build, "-o", "tapes"], cwd=work, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(f"  the counting build failed: {r.stderr.strip()[:300]}")
            return
        out = subprocess.run([str(work / "tapes")], capture_output=True, text=True, check=True).stdout
    print(f"  {'function':<12} {'n':>9} {'bytes pushed':>14} {'peak bytes':>12} {'per n':>9}")
    for line in out.split():
        name, n, pushed, peak = line.split("|")
        print(f"  {name:<12} {int(n):>9} {int(pushed):>14} {int(peak):>12} {int(pushed) / int(n):>9.1f}")


RECURSIVE = r"""
double power_rec(double x, int n) {
    if (n == 0) return 1.0;
    return x * power_rec(x, n - 1);
}
"""


def recursion() -> None:
    """A recursive gradient's time at growing depths (the primal is O(depth))."""
    import pyclad

    m = pyclad.cppdef(RECURSIVE)
    g = pyclad.gradient(m.power_rec, "x", checked=False)
    for depth in (100, 1000, 10000):
        want = depth * 0.9999 ** (depth - 1)
        got = g(0.9999, depth)
        assert abs(got - want) <= 1e-9 * abs(want), (depth, got, want)
        dt = per_call(lambda g=g, depth=depth: g(0.9999, depth))
        print(f"  {'power_rec':<12} depth {depth:>6} {dt * 1e3:>10.3f} ms per gradient")


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
        f" {'FD / grad':>12} {'hand':>8}"
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
        ns = m._jit.namespace
        hand = HAND.format(ns=ns, f=name) if name in HANDS else ""
        cppyy.cppdef(TIMER.format(bench=bench, ns=ns, f=name, grad=GRAD.format(ns=ns, f=name), hand=hand))
        t = getattr(cppyy.gbl, bench)
        reps = max(3, int(budget / max(length, n) / 10))
        dx = np.zeros(length)
        primal = best(t.primal_ns, x, n, reps)
        grad = best(t.grad_ns, x, n, dx, length, reps)
        by_hand = f"{best(t.hand_ns, x, n, dx, length, reps) / primal:>8.2f}" if hand else ""
        fd = 2 * length * primal  # central differences: two primal calls per component
        print(
            f"  {name:<12} {n:>8} {primal / 1e3:>11.2f} {grad / 1e3:>11.2f} {grad / primal:>12.2f}"
            f" {target:>7.1f} {fd / grad:>12.0f} {by_hand:>8}"
        )
        if opts.show_code and name not in shown:
            shown.add(name)
            print(textwrap.indent(g.code, "      "))
    print("  FD / grad: central finite differences cost 2n primal calls (estimated from the primal time).")
    print("  hand: a hand-written gradient's time / primal time, timed the same way.")
    print("\ntape memory of each gradient (bytes its tapes and undo logs take in; per loop trip)")
    tape_memory(opts.quick)
    print("\nrecursion: gradient time by depth (called from Python, ~0.2 µs of call overhead)")
    recursion()
    if (PROGRAMS / "particles_plain.cpp").exists():
        print(f"\nwhole programs ({PROGRAMS}): gradient / primal")
        plain_programs(opts.quick)


if __name__ == "__main__":
    main()
