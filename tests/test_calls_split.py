"""A callee's pullback split into NAME_forw (run once, in the caller's forward sweep) and
NAME_rev (its reverse sweep alone), and the tapes that allocate nothing per call: the
generated text shows what runs where, the numbers are checked against hand formulas and
central differences, and a `pyclad gen` header runs under g++ -Wall -Wextra -Werror and the
sanitizers, called again and from two threads."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from conftest import gxx_build_and_run, pyclad_cli

import pyclad

RECURSIVE = """\
#include <vector>
double power_rec(double x, int n) {
    if (n == 0) return 1.0;
    return x * power_rec(x, n - 1);
}

// The determinant by cofactor expansion along the first row.
double det(const std::vector<double>& a, int n) {
    if (n == 1) return a[0];
    double out = 0;
    double sign = 1;
    std::vector<double> minor((n - 1) * (n - 1));
    for (int col = 0; col < n; ++col) {
        int k = 0;
        for (int r = 1; r < n; ++r) {
            for (int c = 0; c < n; ++c) {
                if (c != col) {
                    minor[k] = a[r * n + c];
                    ++k;
                }
            }
        }
        out += sign * a[col] * det(minor, n - 1);
        sign = -sign;
    }
    return out;
}
"""

LOOPS = """\
#include <cmath>
// A callee whose reverse sweep needs values its forward sweep tapes in a loop.
double chain(const double* x, int n, double s) {
    double p = s;
    for (int i = 0; i < n; ++i) p = p * std::sin(x[i]) + 0.5 * p;
    return p;
}
double outer(const double* x, int n, int m) {
    double t = 1.0;
    for (int j = 0; j < m; ++j) t = 0.5 * t + chain(x, n, t) * x[j % n];
    return t;
}
// A call that is the returned value: the forward sweep does not run it.
double returned(const double* x, int n) {
    double u = x[0] * x[1];
    return chain(x, n, u);
}
// One in a returned expression is taken out of it first, and runs there.
double scaled(const double* x, int n) {
    double u = x[0] * x[1];
    return chain(x, n, u) * u;
}
"""


def fd(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function f at x."""
    out = np.empty_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        out[i] = (f(xp) - f(xm)) / (2 * h)
    return out


def _function(code: str, name: str) -> str:
    """The text of one generated function's body."""
    m = re.search(rf"\n[^\n;]* {name}\([^\n]*\) \{{\n.*?\n\}}", code, re.DOTALL)
    assert m, name
    return m.group(0)


@pytest.fixture(scope="module")
def rec():
    return pyclad.cppdef(RECURSIVE)


@pytest.fixture(scope="module")
def loops():
    return pyclad.cppdef(LOOPS)


def test_a_recursive_callee_runs_its_forward_sweep_once(rec):
    g = pyclad.gradient(rec.power_rec, "x")
    for depth in (1, 5, 300):
        assert g(0.999, depth) == pytest.approx(depth * 0.999 ** (depth - 1), rel=1e-12)
    rev = _function(g.code, "power_rec_rev")
    assert "power_rec_rev(x, n - 1" in rev
    assert "power_rec_forw" not in rev and "power_rec(" not in rev  # nothing of the forward sweep again
    assert "power_rec_pullback" not in g.code
    forw = _function(g.code, "power_rec_forw")
    assert "power_rec_forw(x, n - 1)" in forw and "::pyclad::stash(" in forw


def test_the_determinant_gradient_is_the_cofactor_matrix_with_the_split_pullback(rec):
    rng = np.random.default_rng(3)
    g = pyclad.gradient(rec.det, "a")
    for n in (1, 2, 3, 5):
        a = rng.standard_normal(n * n)
        A = a.reshape(n, n)
        want = np.linalg.det(A) * np.linalg.inv(A).T
        np.testing.assert_allclose(g(a, n), want.ravel(), rtol=1e-9, atol=1e-12)
    rev = _function(g.code, "det_rev")
    assert "det_rev(minor, n - 1" in rev and "det(" not in rev.replace("det_rev(", "")
    # the base case hands over its branch outcome alone, the loop's state only where it ran
    forw = _function(g.code, "det_forw")
    assert forw.count("::pyclad::stash(") == 2


def test_the_split_pair_shares_its_tapes_across_calls_and_saves_after_the_call(rec):
    code = pyclad.gradient(rec.det, "a").code
    forw, rev = _function(code, "det_forw"), _function(code, "det_rev")
    for body in (forw, rev):
        tapes = re.findall(r"::pyclad::tape<[^>]*> &(\w+) = ::pyclad::shared_tape<", body)
        assert tapes and not re.search(r"::pyclad::tape<[^>]*> \w+;", body)
    # the callee's entries go on the shared tapes before the caller saves the value it overwrites
    call = forw.index("= det_forw(minor, n - 1);")
    save = forw.index("::pyclad::push(", call)
    assert forw[call:save].count("\n") == 1


def test_a_callee_in_a_loop_is_split_and_its_value_kept_for_the_reverse_sweep(loops):
    rng = np.random.default_rng(1)
    x = 0.3 + rng.random(4)
    g = pyclad.gradient(loops.outer, "x")
    np.testing.assert_allclose(g(x, 4, 6), fd(lambda v: loops.outer(v, 4, 6), x), rtol=1e-6, atol=1e-9)
    grad = _function(g.code, "outer_grad")
    assert "chain_forw(x, n, t)" in grad and "chain_rev(" in grad
    assert "chain(x" not in grad  # the value comes from the forward sweep, not a second call


def test_a_callee_in_a_returned_expression_keeps_its_combined_pullback(loops):
    rng = np.random.default_rng(2)
    x = 0.3 + rng.random(3)
    g = pyclad.gradient(loops.returned, "x")
    np.testing.assert_allclose(g(x, 3), fd(lambda v: loops.returned(v, 3), x), rtol=1e-6, atol=1e-9)
    assert "chain_pullback(x, n, u, 1" in g.code and "chain_forw" not in g.code
    g = pyclad.gradient(loops.scaled, "x")
    np.testing.assert_allclose(g(x, 3), fd(lambda v: loops.scaled(v, 3), x), rtol=1e-6, atol=1e-9)
    assert "chain_forw(x, n, u)" in g.code and "chain_pullback" not in g.code


def test_the_hessian_through_a_split_callee_matches_finite_differences_of_the_gradient(loops):
    x = np.array([0.4, 0.9, 1.3])
    g = pyclad.gradient(loops.outer, "x")
    first = g(x, 3, 4)  # the split pair exists before the Hessian is asked for
    H = pyclad.hessian(loops.outer, "x[0:2]")(x, 3, 4)
    want = np.stack([fd(lambda v, k=k: g(v, 3, 4)[k], x) for k in range(3)])
    np.testing.assert_allclose(H, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g(x, 3, 4), first, rtol=0, atol=0)


MAIN = r"""
#include "model.cpp"
#include "grad.hpp"
#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>
static long allocations = 0;  // every operator new of the program (std::thread's own aside)
void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
int main() {
    double x[4] = {0.4, 0.9, 1.3, 0.7}, dx[4] = {0, 0, 0, 0}, dx2[4] = {0, 0, 0, 0};
    outer_grad(x, 4, 6, dx);
    for (double& d : dx) d = 0;
    long before = allocations;
    outer_grad(x, 4, 6, dx);  // the second call: every tape's buffer comes from the first
    std::printf("%ld\n", allocations - before);
    double dp = 0;
    power_rec_grad(0.999, 50, &dp);
    std::printf("%.17g\n", dp);
    std::thread other([&] { outer_grad(x, 4, 6, dx2); });  // tapes and stashes are per thread
    other.join();
    for (int i = 0; i < 4; ++i) std::printf("%.17g %.17g\n", dx[i], dx2[i]);
    std::vector<double> a = {0.3, -1.2, 0.8, 2.0, 0.1, -0.4, 1.5, 0.9, -0.7, 0.2, 1.1, -1.3, 0.6, 0.4, -0.9, 1.7};
    std::vector<double> da(16, 0.0), da2(16, 0.0);
    std::thread one([&] { det_grad(a, 4, &da); });  // two recursions at once, each on its own tapes
    std::thread two([&] { det_grad(a, 4, &da2); });
    one.join();
    two.join();
    for (int i = 0; i < 16; ++i) std::printf("%.17g %.17g\n", da[i], da2[i]);
    return 0;
}
"""


def test_a_generated_header_allocates_nothing_on_a_second_call_and_runs_in_threads(tmp_path, loops):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    (tmp_path / "model.cpp").write_text(LOOPS + RECURSIVE)
    r = pyclad_cli(
        "gen",
        "model.cpp",
        "-f",
        "outer",
        "-f",
        "power_rec",
        "-f",
        "det",
        "--mode",
        "reverse",
        "-o",
        "grad.hpp",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(MAIN)
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror", "-pthread")
    lines = out.split("\n")
    assert lines[0] == "0"
    assert float(lines[1]) == pytest.approx(50 * 0.999**49, rel=1e-12)
    x = np.array([0.4, 0.9, 1.3, 0.7])
    want = fd(lambda v: loops.outer(v, 4, 6), x)
    got = np.array([[float(v) for v in line.split()] for line in lines[2:6]])
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(got[:, 0], got[:, 1])
    A = np.array([[float(v) for v in line.split()] for line in lines[6:22]])
    a = np.array([0.3, -1.2, 0.8, 2.0, 0.1, -0.4, 1.5, 0.9, -0.7, 0.2, 1.1, -1.3, 0.6, 0.4, -0.9, 1.7])
    cof = np.linalg.det(a.reshape(4, 4)) * np.linalg.inv(a.reshape(4, 4)).T
    np.testing.assert_allclose(A[:, 0], cof.ravel(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(A[:, 0], A[:, 1])
    assert not warnings
