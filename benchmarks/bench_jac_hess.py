"""Jacobian and Hessian benchmarks, timed in C++ loops compiled next to the generated code.

Run on demand: python benchmarks/bench_jac_hess.py [--quick]

- Jacobian of a 100 -> 100 map (a discretised reaction-diffusion right-hand side):
  vector forward mode, reverse mode (one pullback per row) and central finite
  differences, each as a multiple of one primal call.
- Hessian of the n-dimensional Rosenbrock function, n = 10 and 100, as a
  multiple of one gradient call (target: at most 3n).
"""

from __future__ import annotations

import argparse

import numpy as np

SOURCE = r"""
#include <cmath>

double reaction(double u) { return u * (1 - u) * std::exp(-u); }

void rhs(const double* u, double* du, int n) {
    // du_i = (u_{i-1} - 2 u_i + u_{i+1}) / h^2 + r(u_i), zero boundary values
    double h2 = 1.0 / ((n + 1.0) * (n + 1.0));
    for (int i = 0; i < n; ++i) {
        double left = i > 0 ? u[i - 1] : 0.0;
        double right = i < n - 1 ? u[i + 1] : 0.0;
        du[i] = (left - 2 * u[i] + right) / h2 + reaction(u[i]);
    }
}

double rosen(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i + 1] - x[i] * x[i];
        double b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    return s;
}
"""

TIMER = """\
#include <chrono>
#include <cstring>
#include <vector>
namespace {b} {{
using clk = std::chrono::steady_clock;
double ns(clk::time_point a, clk::time_point b, int reps) {{
    return std::chrono::duration<double, std::nano>(b - a).count() / reps;
}}
double rhs_ns(const double* u, int n, int reps) {{
    std::vector<double> du(n);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(u) : "memory");
        {ns}::rhs(u, du.data(), n);
        asm volatile("" : : "r"(du.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double jac_rev_ns(const double* u, int n, int reps) {{
    std::vector<double> du(n), jac(n * n);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(u) : "memory");
        {ns}::{jac_rev}(u, du.data(), n, jac.data(), n, n);
        asm volatile("" : : "r"(jac.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double jac_fwd_ns(const double* u, int n, double* seed, double* out, int reps) {{
    std::vector<double> du(n);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(u), "r"(seed) : "memory");
        {ns}::{jac_fwd}(u, du.data(), n, seed, out);
        asm volatile("" : : "r"(out) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double jac_vrev_ns(const double* u, int n, const double* eye, int reps) {{
    std::vector<double> du(n), du_adj(n * n), u_adj(n * n);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        std::memset(u_adj.data(), 0, sizeof(double) * n * n);
        std::memcpy(du_adj.data(), eye, sizeof(double) * n * n);
        asm volatile("" : : "r"(u) : "memory");
        {ns}::{jac_vrev}(u, du.data(), n, u_adj.data(), du_adj.data());
        asm volatile("" : : "r"(u_adj.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double grad_ns(const double* x, int n, int reps) {{
    std::vector<double> g(n);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        std::memset(g.data(), 0, sizeof(double) * n);
        asm volatile("" : : "r"(x) : "memory");
        {ns}::rosen_grad(x, n, g.data());
        asm volatile("" : : "r"(g.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double hess10_ns(const double* x, int reps) {{
    std::vector<double> h(100);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(x) : "memory");
        {ns}::{hess10}(x, 10, h.data(), 10);
        asm volatile("" : : "r"(h.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
double hess100_ns(const double* x, int reps) {{
    std::vector<double> h(100 * 100);
    auto t0 = clk::now();
    for (int r = 0; r < reps; ++r) {{
        asm volatile("" : : "r"(x) : "memory");
        {ns}::{hess100}(x, 100, h.data(), 100);
        asm volatile("" : : "r"(h.data()) : "memory");
    }}
    return ns(t0, clk::now(), reps);
}}
}}
"""


def main() -> None:
    import cppyy

    import pyclad
    from pyclad.api import _derive

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    opts = ap.parse_args()
    scale = 1 if opts.quick else 10

    m = pyclad.cppdef(SOURCE)
    n = 100
    u = np.random.default_rng(1).uniform(0, 1, n)

    # Correctness first: both Jacobian modes against central differences.
    jr = pyclad.jacobian(m.rhs, "u", mode="reverse", checked=False)
    jf = pyclad.jacobian(m.rhs, "u", mode="forward", checked=False)
    J_rev = jr(u, np.zeros(n), n)
    J_fwd = jf(u, np.zeros(n), n)
    fd = np.zeros((n, n))
    h = 1e-6
    for k in range(n):
        up, um = u.copy(), u.copy()
        up[k] += h
        um[k] -= h
        a, b = np.zeros(n), np.zeros(n)
        m.rhs(up, a, n)
        m.rhs(um, b, n)
        fd[:, k] = (a - b) / (2 * h)
    assert np.allclose(J_rev, J_fwd, rtol=1e-12, atol=1e-9)
    assert np.allclose(J_rev, fd, rtol=1e-5, atol=1e-3)

    src = m.source
    vres = _derive(m.rhs, lambda: src.vector("rhs", [("u", 0, n - 1)], "jac_fwd"))
    pyclad.gradient(m.rosen, "x", checked=False)  # compiles rosen_grad, which the timing loop calls
    h10 = _derive(m.rosen, lambda: src.hessian_function("rosen", "x[0:9]"))
    h100 = _derive(m.rosen, lambda: src.hessian_function("rosen", "x[0:99]"))
    jac_rev_name = jr.result.function.name
    layout = jr.layout
    vrev = _derive(m.rhs, lambda: src.jacobian_vector_reverse("rhs", layout, n))

    bench = f"{m._jit.namespace}_jhbench"
    cppyy.cppdef(
        TIMER.format(
            b=bench,
            ns=m._jit.namespace,
            jac_rev=jac_rev_name,
            jac_vrev=vrev.function.name,
            jac_fwd=vres.function.name,
            hess10=h10.function.name,
            hess100=h100.function.name,
        )
    )
    t = getattr(cppyy.gbl, bench)
    seed = np.eye(n).reshape(-1).copy()
    out = np.zeros(n * n)

    def best(f, *args):
        return min(f(*args) for _ in range(5))

    primal = best(t.rhs_ns, u, n, 2000 * scale)
    rev = best(t.jac_rev_ns, u, n, 20 * scale)
    vrev = best(t.jac_vrev_ns, u, n, seed, 20 * scale)
    fwd = best(t.jac_fwd_ns, u, n, seed, out, 20 * scale)
    assert np.allclose(out.reshape(n, n), J_rev, rtol=1e-12, atol=1e-9)
    print("Jacobian of a 100 -> 100 map (reaction-diffusion right-hand side), C++ timing loops")
    print(f"  primal call                 {primal / 1e3:10.2f} µs     1.0 x primal")
    print(f"  vector forward mode         {fwd / 1e3:10.2f} µs {fwd / primal:7.1f} x primal")
    print(f"  vector reverse mode         {vrev / 1e3:10.2f} µs {vrev / primal:7.1f} x primal")
    print(f"  reverse, one pullback a row {rev / 1e3:10.2f} µs {rev / primal:7.1f} x primal")
    print(f"  central differences         {2 * n * primal / 1e3:10.2f} µs {2 * n:7.1f} x primal (2n calls)")

    x10 = np.linspace(0.3, 1.2, 10)
    x100 = np.linspace(0.3, 1.2, 100)
    H = pyclad.hessian(m.rosen, "x[0:9]")(x10, 10)
    assert np.allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())
    g10 = best(t.grad_ns, x10, 10, 20000 * scale)
    g100 = best(t.grad_ns, x100, 100, 2000 * scale)
    hh10 = best(t.hess10_ns, x10, 2000 * scale)
    hh100 = best(t.hess100_ns, x100, 20 * scale)
    print("\nHessian of Rosenbrock (forward over reverse), as a multiple of one gradient call")
    print(
        f"  n = 10:  gradient {g10 / 1e3:8.3f} µs, Hessian {hh10 / 1e3:9.2f} µs = {hh10 / g10:7.1f} x"
        f" gradient (target <= {3 * 10})"
    )
    print(
        f"  n = 100: gradient {g100 / 1e3:8.3f} µs, Hessian {hh100 / 1e3:9.2f} µs = {hh100 / g100:7.1f} x"
        f" gradient (target <= {3 * 100})"
    )


if __name__ == "__main__":
    main()
