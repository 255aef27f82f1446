"""The `pyclad` command: headers that a plain g++ build compiles, and errors a user can read.

A header's derivatives are checked three ways: against the JIT path (same
generated code, compiled by cppyy), against a formula derived by hand, and by
compiling and running them with the system compiler.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from conftest import gxx_build_and_run, pyclad_cli

import pyclad

MODEL = """\
#include <cmath>

double sq(double x) { return x * x; }

// Energy of a spring (stiffness k) with a mass moving at v, damped by exp(-c x).
double energy(double x, double v, double k) {
    double e = 0.5 * k * sq(x) + 0.5 * sq(v);
    return e * std::exp(-0.1 * x);
}

double chain(const double* a, int n, double t) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += std::sin(a[i] * t);
    }
    return s;
}
"""

X, V, K = 0.7, -1.3, 2.5
A, T = [0.3, -1.1, 2.0], 0.9


def energy_dx(x, v, k):
    e = 0.5 * k * x * x + 0.5 * v * v
    return (k * x - 0.1 * e) * math.exp(-0.1 * x)


def energy_dxx(x, v, k):
    e = 0.5 * k * x * x + 0.5 * v * v
    return (k - 0.2 * k * x + 0.01 * e) * math.exp(-0.1 * x)


def energy_dk(x, v, k):
    return 0.5 * x * x * math.exp(-0.1 * x)


def chain_dt(a, t):
    return sum(ai * math.cos(ai * t) for ai in a)


def compile_and_run(tmp: Path, main: str, *flags: str) -> str:
    """Build main.cpp (with g++ -O2, and again under the sanitizers) and run it."""
    (tmp / "main.cpp").write_text(main)
    return gxx_build_and_run(tmp, "main.cpp", *flags)[0]


def rel_close(got: float, want: float, rtol: float = 1e-12) -> bool:
    return math.isclose(got, want, rel_tol=rtol, abs_tol=1e-300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """model.cpp, its header from `pyclad gen`, and what the compiled program printed."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "model.cpp").write_text(MODEL)
    runs = [
        ("model_d2.hpp", ["-f", "energy", "--wrt", "x", "--order", "2"]),
        ("chain_d.hpp", ["-f", "chain", "--wrt", "t"]),
    ]
    for out, args in runs:
        r = pyclad_cli("gen", "model.cpp", *args, "-o", out, cwd=tmp)
        assert r.returncode == 0, r.stderr
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "model_d2.hpp"
#include "chain_d.hpp"
int main() {{
    double a[3] = {{{A[0]!r}, {A[1]!r}, {A[2]!r}}};
    std::printf("%.17g\\n", energy_d2arg0({X!r}, {V!r}, {K!r}));
    std::printf("%.17g\\n", chain_darg2(a, 3, {T!r}));
    return 0;
}}
"""
    output = compile_and_run(tmp, main)
    return tmp, [float(v) for v in output.split()]


def test_gen_failing_on_one_of_several_functions_writes_nothing(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli(
        "gen", "model.cpp", "-f", "energy", "-f", "chain", "--wrt", "x", "-o", "d.hpp", cwd=tmp_path
    )
    assert r.returncode == 1 and "'x' is not a parameter of 'chain'" in r.stderr
    assert not (tmp_path / "d.hpp").exists()


def test_gen_header_compiles_with_gxx_and_matches_jit_and_hand_formula(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "energy", "--wrt", "x, k", "-o", "model_d.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "model_d.hpp"
int main() {{
    std::printf("%.17g %.17g\\n", energy_darg0({X!r}, {V!r}, {K!r}), energy_darg2({X!r}, {V!r}, {K!r}));
}}
"""
    dx, dk = (float(v) for v in compile_and_run(tmp_path, main).split())

    m = pyclad.load(tmp_path / "model.cpp")
    jit_dx = pyclad.differentiate(m.energy, "x")(X, V, K)
    jit_dk = pyclad.differentiate(m.energy, "k")(X, V, K)
    assert rel_close(dx, jit_dx), (dx, jit_dx)
    assert rel_close(dk, jit_dk), (dk, jit_dk)
    assert math.isclose(dx, energy_dx(X, V, K), rel_tol=1e-12)
    assert math.isclose(dk, energy_dk(X, V, K), rel_tol=1e-12)


def test_gen_header_carries_the_pushforward_of_a_nested_call(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "energy", "--wrt", "x", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header = r.stdout
    assert "inline double sq_pushforward(" in header
    assert header.index("sq_pushforward(") < header.index("energy_darg0(")
    guard = re.search(r"#ifndef (PYCLAD_GEN_MODEL_D_HPP_[0-9A-F]{8})\n#define \1\n", header)
    assert guard and header.rstrip().endswith(f"#endif  // {guard.group(1)}")
    assert "#include <cmath>" in header
    assert "model.cpp" in header.splitlines()[0] and "-f energy" in header


def test_gen_second_order_and_array_loop_compile_and_match(built):
    tmp, (d2, dt) = built
    m = pyclad.load(tmp / "model.cpp")
    jit_d2 = pyclad.differentiate(m.energy, "x", order=2)(X, V, K)
    jit_dt = pyclad.differentiate(m.chain, "t")(A, len(A), T)
    assert rel_close(d2, jit_d2), (d2, jit_d2)
    assert rel_close(dt, jit_dt), (dt, jit_dt)
    assert math.isclose(d2, energy_dxx(X, V, K), rel_tol=1e-12)
    assert math.isclose(dt, chain_dt(A, T), rel_tol=1e-12)


def test_gen_is_deterministic(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    a = pyclad_cli("gen", "model.cpp", "-f", "energy", "--wrt", "x", cwd=tmp_path)
    b = pyclad_cli("gen", "model.cpp", "-f", "energy", "--wrt", "x", cwd=tmp_path)
    assert a.returncode == 0 and a.stdout == b.stdout


def test_gen_uses_include_dirs_defines_and_namespaces(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "consts.h").write_text("constexpr double GAIN = 3.0;\n")
    (tmp_path / "model.cpp").write_text(
        '#include "consts.h"\n'
        "namespace phys {\n"
        "#ifdef CUBIC\n"
        "double g(double x) { return GAIN * x * x * x; }\n"
        "#else\n"
        "double g(double x) { return GAIN * x * x; }\n"
        "#endif\n"
        "}\n"
    )
    r = pyclad_cli(
        "gen", "model.cpp", "-f", "phys::g", "-I", "inc", "-D", "CUBIC", "-o", "d.hpp", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    main = '#include <cstdio>\n#include "model.cpp"\n#include "d.hpp"\n'
    main += 'int main() { std::printf("%.17g\\n", phys::g_darg0(1.5)); }\n'
    out = compile_and_run(tmp_path, main, "-Iinc", "-DCUBIC")
    assert float(out) == pytest.approx(3 * 3.0 * 1.5 * 1.5, rel=1e-15)


def test_gen_define_with_a_value(tmp_path):
    (tmp_path / "model.cpp").write_text("double g(double x) { return SCALE * x * x; }\n")
    r = pyclad_cli("gen", "model.cpp", "-f", "g", "-D", "SCALE=2.0", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2.0" in r.stdout


def test_gen_syntax_error_is_located_in_the_users_file(tmp_path):
    (tmp_path / "bad.cpp").write_text("double f(double x) {\n    return x +;\n}\n")
    r = pyclad_cli("gen", "bad.cpp", "-f", "f", cwd=tmp_path)
    assert r.returncode == 1
    assert "bad.cpp:2:" in r.stderr and ": error:" in r.stderr
    assert "Traceback" not in r.stderr


def test_gen_unknown_function_names_the_file_and_what_it_defines(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "nope", cwd=tmp_path)
    assert r.returncode == 1
    assert re.match(r"model\.cpp(:\d+:\d+)?: error: no function 'nope'", r.stderr), r.stderr
    assert "energy" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_gen_bad_wrt_points_at_the_function(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "energy", "--wrt", "z", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("model.cpp:6:8: error: 'z' is not a parameter of 'energy'"), r.stderr
    assert "Traceback" not in r.stderr


def test_gen_missing_file_is_an_error_not_a_traceback(tmp_path):
    r = pyclad_cli("gen", "missing.cpp", "-f", "f", cwd=tmp_path)
    assert r.returncode == 1
    assert "error: cannot read missing.cpp" in r.stderr and "Traceback" not in r.stderr


def test_gen_hessian_header_compiles_and_matches_hand_formula(tmp_path):
    (tmp_path / "rosen.cpp").write_text(
        "double rosen(const double* x, int n) { double s = 0; for (int i = 0; i < n - 1; i++) {"
        " double a = x[i+1] - x[i]*x[i]; double b = 1 - x[i]; s += 100 * a * a + b * b; } return s; }\n"
    )
    r = pyclad_cli(
        "gen", "rosen.cpp", "-f", "rosen", "--mode", "hessian", "--wrt", "x[0:2]", "-o", "h.hpp", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    main = """\
#include <cstdio>
#include "rosen.cpp"
#include "h.hpp"
int main() {
    double x[3] = {0.5, 1.1, 0.9}, h[9];
    rosen_hessian_0_0_2(x, 3, h, 3);
    for (double v : h) std::printf("%.17g ", v);
}
"""
    got = [float(v) for v in compile_and_run(tmp_path, main).split()]
    x = [0.5, 1.1, 0.9]
    want = [  # d2/dxi dxj of sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, by hand
        1200 * x[0] ** 2 - 400 * x[1] + 2,
        -400 * x[0],
        0,
        -400 * x[0],
        200 + 1200 * x[1] ** 2 - 400 * x[2] + 2,
        -400 * x[1],
        0,
        -400 * x[1],
        200,
    ]
    assert all(rel_close(g, w, 1e-12) or abs(g - w) < 1e-9 for g, w in zip(got, want)), (got, want)


def test_gen_headers_sharing_a_helper_can_be_included_together(tmp_path):
    (tmp_path / "two.cpp").write_text(
        "#include <cmath>\ndouble sq(double t) { return t * t; }\n"
        "double a(double x) { return sq(std::sin(x)); }\ndouble b(double x) { return sq(x) * x; }\n"
    )
    for f in ("a", "b"):
        r = pyclad_cli("gen", "two.cpp", "-f", f, "--mode", "reverse", "-o", f"{f}.hpp", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    main = """\
#include <cstdio>
#include "two.cpp"
#include "a.hpp"
#include "b.hpp"
int main() { double da = 0, db = 0; a_grad(0.7, &da); b_grad(0.7, &db); std::printf("%.17g %.17g", da, db); }
"""
    da, db = (float(v) for v in compile_and_run(tmp_path, main).split())
    assert rel_close(da, 2 * math.sin(0.7) * math.cos(0.7))
    assert rel_close(db, 3 * 0.7 * 0.7)


def test_gen_reverse_mode_header_compiles_and_matches_jit_and_hand_formula(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "energy", "--mode", "reverse", "-o", "d.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "d.hpp"
int main() {{
    double dx = 0, dv = 0, dk = 0;
    energy_grad({X!r}, {V!r}, {K!r}, &dx, &dv, &dk);
    std::printf("%.17g %.17g %.17g\\n", dx, dv, dk);
}}
"""
    got = [float(v) for v in compile_and_run(tmp_path, main).split()]
    jit = pyclad.gradient(pyclad.load(tmp_path / "model.cpp").energy)(X, V, K)
    hand = [energy_dx(X, V, K), V * math.exp(-0.1 * X), energy_dk(X, V, K)]
    for g, j, h in zip(got, jit, hand):
        assert rel_close(g, j), (got, jit)
        assert math.isclose(g, h, rel_tol=1e-12), (got, hand)


JAC_MODEL = """\
#include <cmath>
void h(const double* x, double* out) {
    out[0] = x[0] * x[1];
    out[1] = std::sin(x[0]) + x[1] * x[1];
}
"""


def test_gen_jacobian_header_compiles_and_matches_jit_and_hand_formula(tmp_path):
    (tmp_path / "model.cpp").write_text(JAC_MODEL)
    r = pyclad_cli("gen", "model.cpp", "-f", "h", "--mode", "jacobian", "-o", "d.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    x0, x1 = 0.4, -1.7
    main = f"""\
#include <cstdio>
#include "model.cpp"
#include "d.hpp"
int main() {{
    double x[2] = {{{x0!r}, {x1!r}}}, out[2], jac[4];
    h_jac(x, out, jac, 2, 2);
    for (double v : jac) std::printf("%.17g\\n", v);
}}
"""
    got = [float(v) for v in compile_and_run(tmp_path, main).split()]
    jit = pyclad.jacobian(pyclad.load(tmp_path / "model.cpp").h)([x0, x1], [0.0, 0.0])
    hand = [x1, x0, math.cos(x0), 2 * x1]
    for g, j, h in zip(got, list(jit.reshape(-1)), hand):
        assert rel_close(g, j), (got, jit)
        assert math.isclose(g, h, rel_tol=1e-12), (got, hand)


def test_version_and_help():
    r = pyclad_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"pyclad {pyclad.__version__}"
    r = pyclad_cli("--help")
    assert r.returncode == 0 and "gen" in r.stdout
    r = pyclad_cli("gen", "--help")
    assert r.returncode == 0 and "--wrt" in r.stdout and "--mode" in r.stdout


def test_include_dir_holds_the_runtime_header():
    r = pyclad_cli("--include-dir")
    assert r.returncode == 0
    assert (Path(r.stdout.strip()) / "pyclad" / "runtime.hpp").is_file()


def test_main_returns_status_instead_of_exiting(tmp_path, capsys):
    from pyclad.cli import main

    (tmp_path / "model.cpp").write_text(MODEL)
    out = tmp_path / "d.hpp"
    assert main(["gen", str(tmp_path / "model.cpp"), "-f", "energy", "--wrt", "v", "-o", str(out)]) == 0
    assert "energy_darg1" in out.read_text()
    assert main(["gen", str(tmp_path / "model.cpp"), "-f", "energy", "--order", "0"]) == 2
    assert "--order" in capsys.readouterr().err
