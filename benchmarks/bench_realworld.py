"""The real-world programs (examples/realworld/) at realistic sizes: derivative time /
objective time, beside central differences (2N objective evaluations for N inputs).

Run on demand: python benchmarks/bench_realworld.py [--quick] [--only NAME]

Each derivative is generated as a C++ user would (``pyclad gen`` on the program, as
written), compiled with the program by g++ -O2 into one driver, and timed there in a loop
beside the objective, so the ratios are those of compiled code, free of Python's call
overhead.  A gradient's time includes zeroing its adjoints, as a caller must.  Before
timing, the driver checks a few derivative entries against central differences (printed as
the largest relative error).  The targets are the performance issue's (gradient / objective):
GMM <= 2.5, LSTM <= 2.5, bundle-adjustment Jacobian <= 4.5, log-sum-exp <= 1.3, least squares
<= 1.5, determinant <= 4, RK4 <= 3.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REALWORLD = ROOT / "examples" / "realworld"

COMMON = r"""
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
static std::mt19937 rng(7);
[[maybe_unused]] static double normal() { static std::normal_distribution<double> d; return d(rng); }
[[maybe_unused]] static double uniform() { static std::uniform_real_distribution<double> d(0.0, 1.0); return d(rng); }
[[maybe_unused]] static std::vector<double> randn(std::size_t n, double s = 1.0) {
    std::vector<double> v(n);
    for (auto& x : v) x = s * normal();
    return v;
}
template <class F>
static double time_ns(F f, double min_seconds) {
    int reps = 1;
    for (;;) {
        auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) {
            f();
            asm volatile("" : : : "memory");
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s >= min_seconds) return 1e9 * s / reps;
        reps *= 2;
    }
}
static double sink;
// The largest relative error of a few gradient entries against central differences of f.
template <class F>
static double check(F f, std::vector<double>& x, const std::vector<double>& g, int samples) {
    double worst = 0;
    for (int s = 0; s < samples; ++s) {
        std::size_t i = (s * 7919u) % x.size();
        double h = 1e-6 * (1 + std::fabs(x[i])), xi = x[i];
        x[i] = xi + h; double fp = f();
        x[i] = xi - h; double fm = f();
        x[i] = xi;
        double want = (fp - fm) / (2 * h);
        worst = std::fmax(worst, std::fabs(g[i] - want) / (std::fabs(want) + 1e-6));
    }
    return worst;
}
static void report(const char* name, const char* size, std::size_t n, double primal, double deriv, double err) {
    std::printf("%s|%s|%zu|%.1f|%.1f|%.3g\n", name, size, n, primal, deriv, err);
}
"""

# name: (source, function, gen options, driver body with {fn} for the generated function)
PROGRAMS = {
    "gmm": (
        "gmm.cpp",
        "gmm_objective<double>",
        ["--mode", "reverse", "--output", "err", "--wrt", "alphas, means, icf"],
        r"""
    const int d = {d}, k = {k}, n = {n};
    const int icf_size = d * (d + 1) / 2;
    auto alphas = randn(k), means = randn(k * d), icf = randn(k * icf_size, 0.3), x = randn(n * d);
    Wishart w{{1.0, 0}};
    double err = 0, derr = 0;
    std::vector<double> da(k), dm(k * d), di(k * icf_size);
    double primal = time_ns([&] {{ gmm_objective(d, k, n, alphas.data(), means.data(), icf.data(), x.data(), w, &err); sink += err; }}, {t});
    double grad = time_ns([&] {{
        std::fill(da.begin(), da.end(), 0.0); std::fill(dm.begin(), dm.end(), 0.0); std::fill(di.begin(), di.end(), 0.0);
        derr = 0;
        {fn}(d, k, n, alphas.data(), means.data(), icf.data(), x.data(), w, &err, da.data(), dm.data(), di.data(), &derr);
    }}, {t});
    double e = check([&] {{ gmm_objective(d, k, n, alphas.data(), means.data(), icf.data(), x.data(), w, &err); return err; }}, icf, di, 5);
    report("GMM", "d={d} K={k} n={n}", k + k * d + k * icf_size, primal, grad, e);
""",
        {"quick": {"d": 5, "k": 10, "n": 200}, "full": {"d": 10, "k": 25, "n": 1000}},
    ),
    "lstm": (
        "lstm.cpp",
        "lstm_objective<double>",
        ["--mode", "reverse", "--output", "loss", "--wrt", "main_params, extra_params"],
        r"""
    const int l = {l}, c = {c}, b = {b};
    auto mp = randn(2 * l * 4 * b, 0.5), ep = randn(3 * b, 0.5), st = randn(2 * l * b, 0.5);
    std::vector<double> seq(c * b, 0.0);
    for (int t = 0; t < c; ++t) seq[t * b + (int)(uniform() * b) % b] = 1.0;
    double loss = 0, dloss = 0;
    std::vector<double> dmp(mp.size()), dep(ep.size());
    double primal = time_ns([&] {{ lstm_objective(l, c, b, mp.data(), ep.data(), st.data(), seq.data(), &loss); sink += loss; }}, {t});
    double grad = time_ns([&] {{
        std::fill(dmp.begin(), dmp.end(), 0.0); std::fill(dep.begin(), dep.end(), 0.0); dloss = 0;
        {fn}(l, c, b, mp.data(), ep.data(), st.data(), seq.data(), &loss, dmp.data(), dep.data(), &dloss);
    }}, {t});
    double e = check([&] {{ lstm_objective(l, c, b, mp.data(), ep.data(), st.data(), seq.data(), &loss); return loss; }}, mp, dmp, 5);
    report("LSTM", "l={l} c={c} b={b}", mp.size() + ep.size(), primal, grad, e);
""",
        {"quick": {"l": 2, "c": 128, "b": 14}, "full": {"l": 2, "c": 1024, "b": 14}},
    ),
    "ba": (
        "ba.cpp",
        "reprojection_error<double>",
        ["--mode", "jacobian", "--wrt", "cam, X, w"],
        r"""
    const int p = {p};
    std::vector<double> cams(11 * p), X(3 * p), w(p), feat = randn(2 * p);
    for (int i = 0; i < p; ++i) {{
        for (int j = 0; j < 11; ++j) cams[11 * i + j] = 0.1 * normal();
        cams[11 * i + 6] = 1.0 + 0.1 * uniform();
        for (int j = 0; j < 3; ++j) X[3 * i + j] = normal();
        X[3 * i + 2] += 5;
        w[i] = 0.5 + 0.5 * uniform();
    }}
    std::vector<double> err(2 * p), jac(30 * p);
    double primal = time_ns([&] {{
        for (int i = 0; i < p; ++i) reprojection_error(&cams[11 * i], &X[3 * i], &w[i], &feat[2 * i], &err[2 * i]);
        sink += err[0];
    }}, {t});
    double deriv = time_ns([&] {{
        for (int i = 0; i < p; ++i) {fn}(&cams[11 * i], &X[3 * i], &w[i], &feat[2 * i], &err[2 * i], &jac[30 * i], 11, 3, 1, 2);
    }}, {t});
    // d err[0] / d cam[0..10] of observation 0 against central differences
    std::vector<double> cam0(cams.begin(), cams.begin() + 11), row(jac.begin(), jac.begin() + 11);
    double e = check([&] {{ double r[2]; reprojection_error(cam0.data(), &X[0], &w[0], &feat[0], r); return r[0]; }}, cam0, row, 11);
    report("BA Jacobian", "p={p} observations", 15, primal, deriv, e);
""",
        {"quick": {"p": 1000}, "full": {"p": 100000}},
    ),
    "hand": (
        "hand.cpp",
        "hand_objective<double>",
        ["--mode", "jacobian", "--wrt", "theta"],
        r"""
    const int nb = {nb}, nv = {nv};
    std::vector<int> parents(nb);
    for (int j = 0; j < nb; ++j) parents[j] = j == 0 ? -1 : (j - 1) / 2;
    auto offsets = randn(3 * nb, 0.3), rest = randn(3 * nv), observed = randn(3 * nv), theta = randn(3 * nb + 3, 0.3);
    std::vector<double> joints(3 * nb, 0.0), weights(nv * nb, 0.0);
    for (int j = 0; j < nb; ++j)
        for (int c = 0; c < 3; ++c) joints[3 * j + c] = offsets[3 * j + c] + (j ? joints[3 * parents[j] + c] : 0.0);
    for (int i = 0; i < nv; ++i) {{  // each vertex follows two bones
        weights[i * nb + i % nb] = 0.7;
        weights[i * nb + (i + 1) % nb] = 0.3;
    }}
    std::vector<double> err(3 * nv), jac(3 * nv * theta.size());
    auto run = [&] {{ hand_objective(nb, nv, parents.data(), offsets.data(), joints.data(), rest.data(), weights.data(),
                                    observed.data(), theta.data(), err.data()); }};
    double primal = time_ns([&] {{ run(); sink += err[0]; }}, {t});
    double deriv = time_ns([&] {{
        {fn}(nb, nv, parents.data(), offsets.data(), joints.data(), rest.data(), weights.data(), observed.data(),
             theta.data(), err.data(), jac.data(), theta.size(), err.size());
    }}, {t});
    std::vector<double> row(jac.begin(), jac.begin() + theta.size());  // d err[0] / d theta
    double e = check([&] {{ run(); return err[0]; }}, theta, row, 5);
    report("skinning Jac.", "{nb} bones, {nv} vertices", theta.size(), primal, deriv, e);
""",
        {"quick": {"nb": 6, "nv": 50}, "full": {"nb": 22, "nv": 544}},
    ),
    "logsumexp": (
        "logsumexp.cpp",
        "logsumexp<double>",
        ["--mode", "reverse"],
        r"""
    auto x = randn({n});
    std::vector<double> dx(x.size());
    double primal = time_ns([&] {{ sink += logsumexp(x); }}, {t});
    double grad = time_ns([&] {{ std::fill(dx.begin(), dx.end(), 0.0); {fn}(x, &dx); }}, {t});
    double e = check([&] {{ return logsumexp(x); }}, x, dx, 5);
    report("log-sum-exp", "n={n}", x.size(), primal, grad, e);
""",
        {"quick": {"n": 10000}, "full": {"n": 100000}},
    ),
    "least_squares": (
        "least_squares.cpp",
        "least_squares<double>",
        ["--mode", "reverse", "--wrt", "x"],
        r"""
    const int m = {m}, n = {n};
    auto A = randn(m * n), b = randn(m), x = randn(n);
    std::vector<double> dx(n);
    double primal = time_ns([&] {{ sink += least_squares(m, n, A.data(), b.data(), x.data()); }}, {t});
    double grad = time_ns([&] {{ std::fill(dx.begin(), dx.end(), 0.0); {fn}(m, n, A.data(), b.data(), x.data(), dx.data()); }}, {t});
    double e = check([&] {{ return least_squares(m, n, A.data(), b.data(), x.data()); }}, x, dx, 5);
    report("least squares", "m={m} n={n}", n, primal, grad, e);
""",
        {"quick": {"m": 200, "n": 50}, "full": {"m": 1000, "n": 200}},
    ),
    "kmeans": (
        "kmeans.cpp",
        "kmeans_cost<double>",
        ["--mode", "reverse", "--wrt", "centers"],
        r"""
    const int n = {n}, k = {k}, d = {d};
    auto pts = randn(n * d), cs = randn(k * d);
    std::vector<double> dc(cs.size());
    double primal = time_ns([&] {{ sink += kmeans_cost(n, k, d, pts.data(), cs.data()); }}, {t});
    double grad = time_ns([&] {{ std::fill(dc.begin(), dc.end(), 0.0); {fn}(n, k, d, pts.data(), cs.data(), dc.data()); }}, {t});
    double e = check([&] {{ return kmeans_cost(n, k, d, pts.data(), cs.data()); }}, cs, dc, 5);
    report("k-means", "n={n} k={k} d={d}", cs.size(), primal, grad, e);
""",
        {"quick": {"n": 1000, "k": 10, "d": 4}, "full": {"n": 10000, "k": 25, "d": 8}},
    ),
    "determinant": (
        "determinant.cpp",
        "det<double>",
        ["--mode", "reverse", "--wrt", "a"],
        r"""
    const int n = {n};
    auto a = randn(n * n);
    std::vector<double> da(a.size());
    double primal = time_ns([&] {{ sink += det(a, n); }}, {t});
    double grad = time_ns([&] {{ std::fill(da.begin(), da.end(), 0.0); {fn}(a, n, &da); }}, {t});
    double e = check([&] {{ return det(a, n); }}, a, da, 5);
    report("determinant", "{n}x{n} cofactors", a.size(), primal, grad, e);
""",
        {"quick": {"n": 6}, "full": {"n": 8}},
    ),
    "rk4": (
        "rk4.cpp",
        "rk4_loss<double>",
        ["--mode", "reverse", "--wrt", "params, y0"],
        r"""
    std::vector<double> params = {{1.1, 0.4, 0.1, 0.4}}, y0 = {{10.0, 10.0}}, target = {{5.0, 3.0}};
    const int steps = {steps};
    const double h = 10.0 / steps;
    std::vector<double> dp(4), dy(2);
    double primal = time_ns([&] {{ sink += rk4_loss(params.data(), y0.data(), h, steps, target.data()); }}, {t});
    double grad = time_ns([&] {{
        std::fill(dp.begin(), dp.end(), 0.0); std::fill(dy.begin(), dy.end(), 0.0);
        {fn}(params.data(), y0.data(), h, steps, target.data(), dp.data(), dy.data());
    }}, {t});
    double e = check([&] {{ return rk4_loss(params.data(), y0.data(), h, steps, target.data()); }}, params, dp, 4);
    report("RK4 ODE", "{steps} steps", 6, primal, grad, e);
""",
        {"quick": {"steps": 100}, "full": {"steps": 1000}},
    ),
    "particles": (
        "particles.cpp",
        "simulate<double>",
        ["--mode", "reverse", "--wrt", "xy0, v0"],
        r"""
    const int n = {n}, steps = {steps};
    auto xy = randn(2 * n), v = randn(2 * n, 0.1);
    std::vector<double> mass(n);
    for (auto& m : mass) m = 0.5 + uniform();
    std::vector<double> dxy(2 * n), dv(2 * n);
    double primal = time_ns([&] {{ sink += simulate(n, xy.data(), v.data(), mass.data(), 0.001, steps); }}, {t});
    double grad = time_ns([&] {{
        std::fill(dxy.begin(), dxy.end(), 0.0); std::fill(dv.begin(), dv.end(), 0.0);
        {fn}(n, xy.data(), v.data(), mass.data(), 0.001, steps, dxy.data(), dv.data());
    }}, {t});
    double e = check([&] {{ return simulate(n, xy.data(), v.data(), mass.data(), 0.001, steps); }}, xy, dxy, 5);
    report("particles", "n={n} steps={steps}", 4 * n, primal, grad, e);
""",
        {"quick": {"n": 16, "steps": 20}, "full": {"n": 64, "steps": 100}},
    ),
}


def entry_name(header: str) -> str:
    """The generated function the header was asked for: its last definition."""
    names = re.findall(r"^inline \S.*? (\w+)\(", header, re.MULTILINE)
    return names[-1]


def run(
    name: str, quick: bool, work: Path, seconds: float | None = None, flags: tuple[str, ...] = ()
) -> str | None:
    """Generate, build and run the driver of program ``name``: its report line
    (``name|size|inputs|objective ns|derivative ns|largest relative error``), or why not.
    ``seconds``: how long each timing loop runs at least (0: once, to check the numbers);
    ``flags``: more g++ options (the tests add ``-Wall -Wextra -Werror``)."""
    source, function, options, body = PROGRAMS[name][:4]
    sizes = PROGRAMS[name][4]["quick" if quick else "full"]
    header = work / f"{name}_d.hpp"
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyclad",
            "gen",
            str(REALWORLD / source),
            "-I",
            str(REALWORLD),
            "-f",
            function,
            *options,
            "-o",
            str(header),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if gen.returncode != 0:
        return f"{name}: pyclad gen failed: {gen.stderr.strip().splitlines()[0] if gen.stderr else ''}"
    fn = entry_name(header.read_text())
    driver = work / f"{name}_bench.cpp"
    if seconds is None:
        seconds = 0.05 if quick else 0.3
    code = body.format(fn=fn, t=seconds, **sizes)
    driver.write_text(
        f'#include "{REALWORLD / source}"\n#include "{header}"\n{COMMON}\nint main() {{\n{code}\n}}\n'
    )
    import pyclad

    exe = work / f"{name}_bench"
    build = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O2",
            "-march=native",
            f"-I{pyclad.get_include()}",
            f"-I{REALWORLD}",
            *flags,
            str(driver),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        return f"{name}: the driver does not compile: {build.stderr.strip()[:400]}"
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return out.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, shorter timing")
    ap.add_argument("--only", action="append", choices=sorted(PROGRAMS), help="run only these programs")
    opts = ap.parse_args()
    if shutil.which("g++") is None:
        sys.exit("g++ is needed")
    print("pyclad on the real-world programs (pyclad gen + g++ -O2, timed in one C++ driver)")
    print(
        f"  {'program':<14} {'size':<22} {'inputs':>7} {'objective µs':>13} {'deriv. µs':>10}"
        f" {'deriv./obj.':>11} {'central diff./obj.':>18} {'check':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in opts.only or PROGRAMS:
            line = run(name, opts.quick, Path(tmp))
            if line is None or "|" not in line:
                print(f"  {line}")
                continue
            label, size, n, primal, deriv, err = line.split("|")
            primal_ns, deriv_ns = float(primal), float(deriv)
            print(
                f"  {label:<14} {size:<22} {n:>7} {primal_ns / 1e3:>13.1f} {deriv_ns / 1e3:>10.1f}"
                f" {deriv_ns / primal_ns:>11.2f} {2 * int(n):>18} {float(err):>8.1e}"
            )


if __name__ == "__main__":
    main()
