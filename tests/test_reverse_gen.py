"""`pyclad gen --mode reverse`: headers of gradients that a plain g++ build compiles.

The gradients printed by the g++-built program must agree with the JIT path
(pyclad.gradient on the same file) to 1e-12, and both with finite differences
of the primal.  The functions need tapes (values overwritten in loops, branch
outcomes and trip counts inside loops) and pullbacks of nested calls.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <cmath>

double helper(double a, double b) { return a * std::sin(b) + b * b * 0.5; }
double outer(double u, double x) { return helper(u, x) * u - x * x; }
void h(double x, double& y) { y = x * y + std::sin(x); }

// Overwrites s in a loop (a tape), branches on data inside the loop (a tape of
// branch outcomes), an inner loop with a data-dependent trip count (a tape of
// trip counts), and calls that nest (outer -> helper).
double tape_loop(const double* x, int n, double c) {
    double s = c;
    for (int i = 0; i < n; i++) {
        s = outer(s * x[i], c) * 0.1 + x[i];
        if (s > 1.0) {
            s = std::sqrt(s);
        } else {
            s = s * s + 0.5;
        }
        double t = s;
        while (t < 4.0) t = t * 1.7 + x[i] * x[i];
        s = s + 0.01 * t;
    }
    return s * c;
}

// A reference output written by a callee in a loop; an early return.
double with_ref(double x, double y, int n) {
    double t = y;
    for (int i = 0; i < n; i++) {
        h(x, t);
        if (t > 50) return t * x;
    }
    return t;
}

double subset(double x, double y, double z) { return std::exp(x * y) * z + outer(x, z); }

namespace phys {
double spring(double x, double k) {
    double e = 0;
    for (int i = 1; i <= 3; i++) e += 0.5 * k * std::pow(x / i, 2.0);
    return e;
}
}  // namespace phys
"""

X = [0.3, -0.8, 1.2, 0.5]
C = 0.7


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed")
    tmp = tmp_path_factory.mktemp("revgen")
    (tmp / "model.cpp").write_text(MODEL)
    runs = [
        ("loops_d.hpp", ["-f", "tape_loop", "-f", "with_ref"]),
        ("subset_d.hpp", ["-f", "subset", "--wrt", "x, z"]),
        ("phys_d.hpp", ["-f", "phys::spring"]),
    ]
    headers = {}
    for out, args in runs:
        r = pyclad_cli("gen", "model.cpp", "--mode", "reverse", *args, "-o", out, cwd=tmp)
        assert r.returncode == 0, r.stderr
        headers[out] = (tmp / out).read_text()
    x = ", ".join(repr(v) for v in X)
    # Headers from separate `gen` runs each carry the helpers they need (helper_pullback is in
    # loops_d.hpp and subset_d.hpp): they go into separate programs.
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "loops_d.hpp"
#include "phys_d.hpp"
int main() {{
    double x[4] = {{{x}}};
    double dx[4] = {{0, 0, 0, 0}};
    double dc = 0;
    tape_loop_grad(x, 4, {C!r}, dx, &dc);
    std::printf("%.17g %.17g %.17g %.17g %.17g\\n", dx[0], dx[1], dx[2], dx[3], dc);
    double rx = 0, ry = 0;
    with_ref_grad(0.7, 1.3, 3, &rx, &ry);
    std::printf("%.17g %.17g\\n", rx, ry);
    rx = 0; ry = 0;
    with_ref_grad(1.9, 2.0, 6, &rx, &ry);  // leaves through the early return
    std::printf("%.17g %.17g\\n", rx, ry);
    double px = 0, pk = 0;
    phys::spring_grad(0.8, 2.5, &px, &pk);
    std::printf("%.17g %.17g\\n", px, pk);
    return 0;
}}
"""
    main2 = """\
#include <cstdio>
#include "model.cpp"
#include "subset_d.hpp"
int main() {
    double sx = 0, sz = 0;
    subset_grad_0_2(0.4, -0.6, 1.1, &sx, &sz);
    std::printf("%.17g %.17g\\n", sx, sz);
    return 0;
}
"""
    rows, warnings = [], ""
    for name, text in (("main", main), ("main2", main2)):
        (tmp / f"{name}.cpp").write_text(text)
        out, warned = gxx_build_and_run(tmp, f"{name}.cpp", "-Wextra")
        warnings += warned
        rows += [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    return tmp, headers, rows, warnings


@pytest.fixture(scope="module")
def jit():
    return pyclad.cppdef(MODEL)


def agree(got, want, rtol):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300 if rtol < 1e-10 else 1e-9), (got, want)


def test_header_matches_the_jit_gradient_with_tapes_and_nested_calls(built, jit):
    _, headers, rows, _ = built
    code = headers["loops_d.hpp"]
    assert "::pyclad::tape<" in code and "#include <pyclad/runtime.hpp>" in code
    for callee in ("outer", "helper", "h"):  # its pullback, whole or split (forw + rev)
        assert f"{callee}_pullback" in code or f"{callee}_rev(" in code
    x = np.array(X)
    dx, dc = pyclad.gradient(jit.tape_loop)(x.copy(), 4, C)
    agree(rows[0], list(dx) + [dc], 1e-12)
    for e in range(4):
        agree([rows[0][e]], [fd(jit.tape_loop, [x, 4, C], 0, e)], 1e-8)
    agree([rows[0][4]], [fd(jit.tape_loop, [x, 4, C], 2)], 1e-8)


@pytest.mark.parametrize("row, args", [(1, (0.7, 1.3, 3)), (2, (1.9, 2.0, 6))], ids=["loop", "early_return"])
def test_reference_output_in_a_loop(built, jit, row, args):
    _, _, rows, _ = built
    want = pyclad.gradient(jit.with_ref)(*args)
    agree(rows[row], list(want), 1e-12)
    agree(rows[row], [fd(jit.with_ref, list(args), k) for k in (0, 1)], 1e-8)


def test_wrt_subset_header(built, jit):
    _, headers, rows, _ = built
    assert (
        "void subset_grad_0_2(double x, double y, double z, double *_d_x, double *_d_z)"
        in headers["subset_d.hpp"]
    )
    want = pyclad.gradient(jit.subset, "x, z")(0.4, -0.6, 1.1)
    agree(rows[4], list(want), 1e-12)
    agree(rows[4], [fd(jit.subset, [0.4, -0.6, 1.1], k) for k in (0, 2)], 1e-8)


def test_function_in_a_namespace(built, jit):
    _, headers, rows, _ = built
    assert "namespace phys {" in headers["phys_d.hpp"]
    agree(rows[3], [2.5 * 0.8 * (1 + 1 / 4 + 1 / 9), 0.5 * 0.64 * (1 + 1 / 4 + 1 / 9)], 1e-12)
    # (the Python API cannot call a function in a namespace yet: m.phys / getattr(m, "phys::spring")
    # both fail, so this one is checked against the hand formula only)


def test_headers_compile_without_warnings(built):
    _, _, _, warnings = built
    assert "warning" not in warnings, warnings


def test_same_request_gives_the_same_header(built):
    tmp, headers, _, _ = built
    r = pyclad_cli(
        "gen",
        "model.cpp",
        "--mode",
        "reverse",
        "-f",
        "tape_loop",
        "-f",
        "with_ref",
        "-o",
        "again.hpp",
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp / "again.hpp").read_text() == headers["loops_d.hpp"].replace(
        "loops_d.hpp", "again.hpp"
    ).replace("LOOPS_D_HPP", "AGAIN_HPP")


def test_gen_reverse_error_is_located(tmp_path):
    (tmp_path / "bad.cpp").write_text(
        "bool up(double& y) { y = y * 2; return y > 1; }\n"
        "double f(double x) {\n    double t = x;\n    if (up(t)) return t;\n    return t * x;\n}\n"
    )
    r = pyclad_cli("gen", "bad.cpp", "--mode", "reverse", "-f", "f", "-o", "bad.hpp", cwd=tmp_path)
    assert r.returncode == 1
    assert "bad.cpp:4:" in r.stderr and "inside a condition" in r.stderr
    assert not (tmp_path / "bad.hpp").exists()
