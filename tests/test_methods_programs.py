"""A whole program written with a struct with methods, a functor and a lambda (a particle
chain, tests/programs/particle_chain.cpp), differentiated unmodified through the Python API
and through `pyclad gen` + g++, against finite differences and against the same program
written with plain arrays."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

PROGRAM = Path(__file__).parent / "programs" / "particle_chain.cpp"
X0 = np.array([0.0, 1.3, 2.1])
ARGS = (X0, 2.0, 0.05, 20)


@pytest.fixture(scope="module")
def m():
    return pyclad.load(PROGRAM)


def _close(a, b, rtol):
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-10)


@pytest.mark.parametrize("checked", [True, False])
def test_the_particle_chain_gradient_matches_finite_differences_and_the_plain_program(m, checked):
    assert _close(m.simulate(*ARGS), m.simulate_plain(*ARGS), 1e-13)
    dx, dk, ddt = pyclad.gradient(m.simulate, "x0, k, dt", checked=checked)(*ARGS)
    px, pk, pdt = pyclad.gradient(m.simulate_plain, "x0, k, dt", checked=checked)(*ARGS)
    np.testing.assert_allclose(dx, px, rtol=1e-11)
    assert _close(dk, pk, 1e-11) and _close(ddt, pdt, 1e-11)
    for i in range(3):
        assert _close(dx[i], fd(m.simulate, ARGS, 0, i), 1e-6)
    assert _close(dk, fd(m.simulate, ARGS, 1), 1e-6)
    assert _close(ddt, fd(m.simulate, ARGS, 2, h=1e-5), 1e-6)  # dt is small: a small step


def test_the_particle_chain_forward_derivative_matches_the_plain_program(m):
    got = pyclad.differentiate(m.simulate, "k")(*ARGS)
    assert _close(got, pyclad.differentiate(m.simulate_plain, "k")(*ARGS), 1e-11)
    assert _close(got, fd(m.simulate, ARGS, 1), 1e-6)


def test_the_particle_chain_header_builds_clean_and_agrees_with_the_jit(m, tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    shutil.copy(PROGRAM, tmp_path / "chain.cpp")
    r = pyclad_cli(
        "gen",
        "chain.cpp",
        "-f",
        "simulate",
        "--mode",
        "reverse",
        "--wrt",
        "x0, k, dt",
        "-o",
        "d.hpp",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        """\
#include <cstdio>
#include "chain.cpp"
#include "d.hpp"
int main() {
    double x0[3] = {0.0, 1.3, 2.1}, dx[3] = {0, 0, 0}, dk = 0, ddt = 0;
    simulate_grad(x0, 2.0, 0.05, 20, dx, &dk, &ddt);
    std::printf("%.17g %.17g %.17g %.17g %.17g\\n", dx[0], dx[1], dx[2], dk, ddt);
    return 0;
}
"""
    )
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert warnings == ""
    got = [float(v) for v in out.split()]
    dx, dk, ddt = pyclad.gradient(m.simulate, "x0, k, dt")(*ARGS)
    want = [*dx, dk, ddt]
    assert all(_close(a, b, 1e-12) for a, b in zip(got, want)), (got, want)
