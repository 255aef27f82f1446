"""Statements that carry no derivatives: assert, printf / fprintf / std::cout, throw in a guard,
and loops under #pragma omp.

Each derivative is compared with central finite differences of the primal; each statement
must run exactly as often per derivative call as per primal call (counted in what they print),
in the forward sweep, never again in a reverse sweep; a throw or a failing assert must behave
in the derivative as in the primal."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import arr, fd, gxx_build_and_run, pyclad_cli

import pyclad

SOURCE = r"""
#include <cassert>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

double scaled(double x, int k) {
    std::fprintf(stderr, "scaled %d\n", k);
    return k * x * x;
}

// A callee that writes through a pointer and prints.
void shift(double* v, double by) {
    std::fprintf(stderr, "shift\n");
    v[0] = v[0] * by + by;
}

double energy(const double* x, int n, double w) {
    if (n <= 0) throw std::invalid_argument("n must be positive, got " + std::to_string(n));
    assert(w > 0);
    double s = 0;
    for (int i = 0; i < n; ++i) {
        std::fprintf(stderr, "step %d %g\n", i, x[i]);
        s += w * std::sin(x[i]) * x[i];
    }
    std::cerr << "sum " << s << std::endl;
    double t[1] = {s};
    shift(t, w);
    return t[0] * t[0] + scaled(s, 2);
}

double tail(double x) { return scaled(x, 3); }

double plain(const double* x, int n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s)
    for (int i = 0; i < n; ++i) s += x[i] * x[i] * x[(i + 1) % n];
    return s;
}

void spread(const double* x, int n, double* out) {
#pragma omp parallel for
    for (int i = 0; i < n; ++i) out[i] = std::exp(x[i]) * x[(i + 1) % n];
}
"""

X = arr(0.3, -0.8, 1.2)


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def printed(capfd, call):
    """What ``call()`` wrote to stderr (C stdio, unbuffered), as lines."""
    capfd.readouterr()
    value = call()
    return value, capfd.readouterr().err.splitlines()


@pytest.mark.parametrize("checked", [True, False])
def test_gradient_with_prints_asserts_and_a_throw_guard_matches_finite_differences(m, checked):
    dx, dw = pyclad.gradient(m.energy, "x, w", checked=checked)(X, 3, 0.7)
    for k in range(3):
        assert dx[k] == pytest.approx(fd(m.energy, [X, 3, 0.7], 0, k, h=1e-3), rel=1e-7)
    assert dw == pytest.approx(fd(m.energy, [X, 3, 0.7], 2, h=1e-3), rel=1e-7)


def test_forward_mode_and_the_hessian_match_finite_differences(m):
    d = pyclad.differentiate(m.energy, "x[1]")(X, 3, 0.7)
    assert d == pytest.approx(fd(m.energy, [X, 3, 0.7], 0, 1, h=1e-3), rel=1e-7)
    hess = pyclad.hessian(m.energy, "w")(X, 3, 0.7)
    h = 1e-3
    want = (m.energy(X, 3, 0.7 + h) - 2 * m.energy(X, 3, 0.7) + m.energy(X, 3, 0.7 - h)) / h**2
    assert hess[0, 0] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize(
    "make, runs",
    [
        (lambda m: pyclad.gradient(m.energy, "x, w"), 1),
        (lambda m: pyclad.gradient(m.energy, "x, w", checked=False), 1),
        (lambda m: pyclad.value_and_grad(m.energy, "w"), 2),  # the primal, then the gradient
        (lambda m: pyclad.differentiate(m.energy, "w"), 1),
        (lambda m: pyclad.differentiate(m.energy, "x, w"), 1),
        (lambda m: pyclad.hessian(m.energy, "w"), 1),
    ],
    ids=["gradient", "unchecked", "value_and_grad", "forward", "vector", "hessian"],
)
def test_each_statement_without_derivatives_runs_once_per_call_in_primal_order(m, capfd, make, runs):
    d = make(m)
    _, primal = printed(capfd, lambda: m.energy(X, 3, 0.7))
    assert primal[:3] == ["step 0 0.3", "step 1 -0.8", "step 2 1.2"]
    assert primal[3].startswith("sum ") and primal[4:] == ["shift", "scaled 2"]
    _, lines = printed(capfd, lambda: d(X, 3, 0.7))
    assert lines == primal * runs


def test_a_call_with_effects_in_a_return_runs_once_in_the_forward_sweep(m, capfd):
    g = pyclad.gradient(m.tail)
    value, lines = printed(capfd, lambda: g(1.5))
    assert value == (pytest.approx(2 * 3 * 1.5),)
    assert lines == ["scaled 3"]
    assert "scaled(" not in g.code.split("void tail_grad")[1].split("scaled_pullback")[1]


def test_a_throw_in_a_guard_surfaces_in_the_derivative_as_in_the_primal(m):
    with pytest.raises(Exception) as primal:
        m.energy(X, 0, 0.7)
    for d in (pyclad.gradient(m.energy, "x, w"), pyclad.differentiate(m.energy, "w")):
        with pytest.raises(type(primal.value), match="n must be positive, got 0"):
            d(X, 0, 0.7)


def test_a_failing_assert_behaves_in_the_derivative_as_in_the_primal(m):
    try:
        m.energy(X, 3, -1.0)
        primal = None
    except Exception as exc:  # noqa: BLE001 - whatever the primal does, the derivative must do
        primal = type(exc)
    g = pyclad.gradient(m.energy, "x, w")
    if primal is None:
        g(X, 3, -1.0)
    else:
        with pytest.raises(primal):
            g(X, 3, -1.0)


def test_the_reverse_sweep_of_an_omp_loop_is_sequential_and_says_so(m):
    x = arr(0.4, 1.1, -0.6, 0.9)
    g = pyclad.gradient(m.plain, "x")
    got = g(x, 4)
    for k in range(4):
        assert got[k] == pytest.approx(fd(m.plain, [x, 4], 0, k), rel=1e-8)
    assert "#pragma omp parallel for reduction(+ : s)" in g.code
    assert "runs sequentially" in g.code and "would race" in g.code
    assert "#pragma" not in g.code.split("void plain_grad")[1]


def test_the_jacobian_of_an_omp_loop_matches_finite_differences_in_both_modes(m):
    x = arr(0.4, 1.1, -0.6)
    for mode in ("forward", "reverse"):
        jac = pyclad.jacobian(m.spread, mode=mode)(x, 3, np.zeros(3))

        def out(a, k):
            o = np.zeros(3)
            m.spread(a, 3, o)
            return o[k]

        for r in range(3):
            for c in range(3):
                want = fd(lambda a, r=r: out(a, r), [x], 0, c)
                assert jac[r, c] == pytest.approx(want, rel=1e-8, abs=1e-12)


def test_a_parallel_region_that_is_not_a_loop_is_a_located_refusal():
    with pytest.raises(pyclad.UnsupportedError, match=r"<string>:4:5: .*'#pragma omp parallel'"):
        pyclad.gradient(
            pyclad.cppdef(
                "double f(double x) {\n    double s = 0;\n#pragma omp parallel\n    { s += x; }\n    return s;\n}"
            ).f
        )


def test_try_and_catch_stay_a_located_refusal():
    src = "double f(double x) {\n    try { return x * x; } catch (...) { return 0; }\n}"
    with pytest.raises(pyclad.UnsupportedError, match=r"<string>:2:5: .*try block"):
        pyclad.gradient(pyclad.cppdef(src).f)


def test_an_assignment_inside_a_print_is_a_located_refusal():
    src = '#include <cstdio>\ndouble f(double x) {\n    int k = 0;\n    printf("%d", k++);\n    return x;\n}'
    with pytest.raises(pyclad.UnsupportedError, match=r"<string>:4:.*assignment or increment inside a print"):
        pyclad.gradient(pyclad.cppdef(src).f)


MAIN = r"""
#include "model.cpp"
#include "model_d.hpp"

int main(int argc, char**) {
    double x[3] = {0.3, -0.8, 1.2}, dx[3] = {0, 0, 0}, dw = 0;
    std::printf("primal\n");
    std::fflush(stdout);
    energy(x, 3, 0.7);
    std::fprintf(stderr, "gradient\n");
    energy_grad(x, 3, 0.7, dx, &dw);
    std::printf("%.17g %.17g %.17g %.17g\n", dx[0], dx[1], dx[2], dw);
    if (argc > 1) energy_grad(x, 3, -1.0, dx, &dw);  // fails the assert, as energy would
    return 0;
}
"""


def test_gen_header_runs_each_statement_once_compiles_cleanly_and_matches(tmp_path, m):
    (tmp_path / "model.cpp").write_text(SOURCE)
    run = pyclad_cli(
        "gen",
        "model.cpp",
        "-f",
        "energy",
        "--mode",
        "reverse",
        "--wrt",
        "x, w",
        "-o",
        "model_d.hpp",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    (tmp_path / "main.cpp").write_text(MAIN)
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", optimized=False)
    assert "model_d.hpp" not in warnings, warnings
    got = [float(v) for v in out.splitlines()[-1].split()]
    want = [fd(m.energy, [X, 3, 0.7], 0, k, h=1e-3) for k in range(3)] + [
        fd(m.energy, [X, 3, 0.7], 2, h=1e-3)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-7)
    exe = tmp_path / "main_asan"
    plain = subprocess.run([exe], capture_output=True, text=True, check=True)
    primal, gradient = plain.stderr.split("gradient\n")
    assert primal == gradient
    assert primal.count("step") == 3 and primal.count("shift") == 1 and primal.count("scaled 2") == 1
    failing = subprocess.run([exe, "fail"], capture_output=True, text=True, check=False)
    assert failing.returncode != 0 and "Assertion `w > 0' failed" in failing.stderr


def test_vjp_jvp_and_an_output_gradient_run_each_statement_once_and_match(capfd):
    m = pyclad.cppdef(
        "#include <cstdio>\n#include <cmath>\n"
        "void model(const double* x, double* err) {\n"
        '    std::fprintf(stderr, "model %g\\n", x[0]);\n'
        "    err[0] = std::sin(x[0]) * x[1];\n"
        "}\n"
    )
    x = arr(0.5, 2.0)
    for d in (pyclad.gradient(m.model, output="err"), pyclad.vjp(m.model), pyclad.jvp(m.model)):
        extra = (
            (arr(1.0),) if isinstance(d, pyclad.api.VJP) else (arr(1.0, 0.0),) * isinstance(d, pyclad.api.JVP)
        )
        value, lines = printed(capfd, lambda d=d, extra=extra: d(x, np.zeros(1), *extra))
        assert lines == ["model 0.5"]
        got = value[0] if isinstance(d, pyclad.api.Gradient) else value
        want = [np.cos(0.5) * 2.0, np.sin(0.5)] if not isinstance(d, pyclad.api.JVP) else [np.cos(0.5) * 2.0]
        np.testing.assert_allclose(np.ravel(got), want, rtol=1e-12)


def test_exit_in_a_guard_is_kept_and_the_gradient_matches_the_hand_formula():
    src = "#include <cstdlib>\ndouble f(double x, int n) {\n    if (n < 0) std::exit(3);\n    return n * x * x;\n}\n"
    g = pyclad.gradient(pyclad.cppdef(src).f)
    assert "std::exit(3);" in g.code
    assert g(1.5, 2) == (pytest.approx(6.0),)


OMP_MAIN = r"""
#include <cstdio>
#include <omp.h>
#include "model.cpp"
#include "model_d.hpp"

int main() {
    double x[64], dx[64], h = 1e-6;
    for (int i = 0; i < 64; ++i) x[i] = 0.01 * i - 0.3, dx[i] = 0;
    plain_grad(x, 64, dx);
    double worst = 0;
    for (int i = 0; i < 64; ++i) {  // central differences of the primal, which runs in parallel
        double keep = x[i];
        x[i] = keep + h;
        double up = plain(x, 64);
        x[i] = keep - h;
        double down = plain(x, 64);
        x[i] = keep;
        double err = (up - down) / (2 * h) - dx[i];
        worst = err < 0 ? (-err > worst ? -err : worst) : (err > worst ? err : worst);
    }
    std::printf("%d %.3g\n", omp_get_max_threads(), worst);
    return 0;
}
"""


def test_gen_gradient_of_an_omp_loop_beside_its_parallel_primal_built_with_fopenmp(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    run = pyclad_cli(
        "gen", "model.cpp", "-f", "plain", "--mode", "reverse", "-o", "model_d.hpp", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    (tmp_path / "main.cpp").write_text(OMP_MAIN)
    build = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O2",
            "-fopenmp",
            "-Wall",
            "-Wextra",
            f"-I{pyclad.get_include()}",
            "main.cpp",
            "-o",
            "main",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0 and "omp.h" in build.stderr:
        pytest.skip("the compiler has no OpenMP")
    assert build.returncode == 0, build.stderr
    assert "model_d.hpp" not in build.stderr, build.stderr
    out = subprocess.run(
        [tmp_path / "main"], capture_output=True, text=True, check=True, env={"OMP_NUM_THREADS": "4"}
    ).stdout.split()
    assert out[0] == "4" and float(out[1]) < 1e-6


def test_a_macro_of_the_source_inside_a_print_is_a_located_refusal():
    src = '#include <cstdio>\n#define FMT "%g\\n"\ndouble f(double x) {\n    printf(FMT, x);\n    return x * x;\n}\n'
    with pytest.raises(pyclad.UnsupportedError, match=r"<string>:4:5: .*macro 'FMT'"):
        pyclad.gradient(pyclad.cppdef(src).f)


def test_a_macro_inside_an_assert_is_expanded_into_the_condition():
    src = "#include <cassert>\n#define LIMIT 100\ndouble f(double x, int n) {\n    assert(n <= LIMIT);\n    return n * x;\n}\n"
    g = pyclad.gradient(pyclad.cppdef(src).f)
    assert "LIMIT" not in g.code and g(1.5, 3) == (pytest.approx(3.0),)


def test_a_forward_and_a_vector_reverse_jacobian_run_each_statement_once(capfd):
    m = pyclad.cppdef(
        "#include <cstdio>\n#include <cmath>\n"
        "void model(const double* x, double* out) {\n"
        '    std::fprintf(stderr, "model\\n");\n'
        "    out[0] = std::sin(x[0]) * x[1];\n"
        "    out[1] = x[0] * x[0];\n"
        "}\n"
    )
    x = arr(0.5, 2.0)
    want = [[np.cos(0.5) * 2.0, np.sin(0.5)], [1.0, 0.0]]
    for mode in ("forward", "reverse"):
        jac, lines = printed(capfd, lambda mode=mode: pyclad.jacobian(m.model, mode=mode)(x, np.zeros(2)))
        assert lines == ["model"], mode
        np.testing.assert_allclose(jac, want, rtol=1e-12)
