"""Functions of the same short name in different namespaces get their own derivatives.

Every reference is a hand-derived formula.  The same source is differentiated in the JIT
(every mode) and by ``pyclad gen`` into headers that g++ compiles with -Wall -Wextra.
"""

import math
import shutil

import numpy as np
import pytest
from conftest import arr, gxx_build_and_run, pyclad_cli

import pyclad

SOURCE = """\
#include <cmath>
namespace a {
double h(double x) { return x * x; }
double f(double x, double y) { return h(x) * y; }
double rec(double x, int n) { return n == 0 ? x : x * rec(x, n - 1); }
void out(const double* x, double* o) { o[0] = h(x[0]) * x[1]; o[1] = x[0]; }
}
namespace b {
double h(double x) { return x * x * x; }
double f(double x, double y) { return h(x) + y * y; }
double rec(double x, int n) { return n == 0 ? x : rec(x, n - 1) + x * x; }
void out(const double* x, double* o) { o[0] = h(x[0]) + x[1]; o[1] = x[1] * x[1]; }
namespace a {
double f(double x, double y) { return std::sin(x) * y; }
}
}
double h(double x) { return x * x + x; }
namespace c {
double f(double x) { return h(x) * x; }  // ::h: c::h is declared only below
double h(double x) { return 100 * x; }
}
namespace {
double hidden(double x) { return 3 * x * x; }
}
double uses_hidden(double x) { return hidden(x) + x; }
"""

X, Y = 0.7, -1.3

# Hand-derived: value, gradient and Hessian of each f at (x, y).
FS = {
    "a::f": (
        lambda x, y: x * x * y,
        lambda x, y: (2 * x * y, x * x),
        lambda x, y: [[2 * y, 2 * x], [2 * x, 0]],
    ),
    "b::f": (lambda x, y: x**3 + y * y, lambda x, y: (3 * x * x, 2 * y), lambda x, y: [[6 * x, 0], [0, 2]]),
    "b::a::f": (
        lambda x, y: math.sin(x) * y,
        lambda x, y: (math.cos(x) * y, math.sin(x)),
        lambda x, y: [[-math.sin(x) * y, math.cos(x)], [math.cos(x), 0]],
    ),
}
RECS = {"a::rec": lambda x, n: (n + 1) * x**n, "b::rec": lambda x, n: 1 + 2 * n * x}
JACS = {
    "a::out": lambda x: [[2 * x[0] * x[1], x[0] ** 2], [1, 0]],
    "b::out": lambda x: [[3 * x[0] ** 2, 1], [0, 2 * x[1]]],
}


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def close(got, want, what):
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-12, atol=1e-14, err_msg=what
    )


@pytest.mark.parametrize("name", list(FS))
def test_same_named_functions_have_their_own_primal_forward_and_reverse_derivatives(m, name):
    value, grad, _ = FS[name]
    close(m[name](X, Y), value(X, Y), f"{name} primal")
    close(pyclad.differentiate(m[name], "x")(X, Y), grad(X, Y)[0], f"{name} d/dx")
    close(pyclad.differentiate(m[name], "y")(X, Y), grad(X, Y)[1], f"{name} d/dy")
    close(pyclad.gradient(m[name])(X, Y), grad(X, Y), f"{name} gradient")


def test_attribute_access_reaches_nested_namespaces(m):
    close(pyclad.gradient(m.b.a.f)(X, Y), FS["b::a::f"][1](X, Y), "m.b.a.f")
    close(pyclad.gradient(m.a.f)(X, Y), FS["a::f"][1](X, Y), "m.a.f")


@pytest.mark.parametrize("name", list(FS))
def test_same_named_functions_have_their_own_vector_mode_derivatives_and_hessians(m, name):
    _, grad, hess = FS[name]
    close(pyclad.differentiate(m[name], ["x", "y"])(X, Y), grad(X, Y), f"{name} vector mode")
    close(pyclad.hessian(m[name])(X, Y), hess(X, Y), f"{name} Hessian")


@pytest.mark.parametrize("name", list(RECS))
def test_same_named_recursive_functions_differentiate_each_their_own_recursion(m, name):
    for n in (0, 1, 3):
        close(pyclad.differentiate(m[name], "x")(X, n), RECS[name](X, n), f"{name} forward n={n}")
        close(pyclad.gradient(m[name], "x")(X, n), [RECS[name](X, n)], f"{name} reverse n={n}")


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("name", list(JACS))
def test_same_named_functions_have_their_own_jacobians(m, name, mode):
    x = arr(0.6, -1.4)
    close(pyclad.jacobian(m[name], mode=mode)(x, np.zeros(2)), JACS[name](x), f"{name} Jacobian ({mode})")


def test_a_call_to_the_global_function_from_a_namespace_with_one_of_the_same_name(m):
    # c::f calls ::h (x^2 + x), not c::h (100x, declared after c::f): f = x^3 + x^2.  Derivative code
    # written inside c after both must still call ::h.
    close(m.c.f(X), X**3 + X * X, "primal")
    close(pyclad.gradient(m.c.f)(X), [3 * X * X + 2 * X], "gradient")
    close(pyclad.differentiate(m.c.f, "x")(X), 3 * X * X + 2 * X, "forward")


def test_functions_of_an_anonymous_namespace_are_differentiated_through(m):
    close(pyclad.gradient(m.uses_hidden)(X), [6 * X + 1], "gradient")
    close(pyclad.differentiate(m.uses_hidden, "x")(X), 6 * X + 1, "forward")
    close(pyclad.gradient(m.hidden)(X), [6 * X], "gradient of the hidden function itself")


def test_generated_names_are_qualified_and_written_inside_their_namespace(m):
    code = pyclad.gradient(m.b.f).code
    assert "namespace b {" in code and "void f_grad(" in code
    assert "::b::h_pullback(" in code  # never a::h's
    assert pyclad.gradient(m.a.f).name == "a::f_grad"


# ---------------------------------------------------------------------------- pyclad gen + g++
GEN = [
    (
        "fwd.hpp",
        [
            "--mode",
            "forward",
            "-f",
            "a::f",
            "-f",
            "b::f",
            "-f",
            "b::a::f",
            "-f",
            "a::rec",
            "-f",
            "b::rec",
            "--wrt",
            "x",
        ],
    ),
    (
        "rev.hpp",
        [
            "--mode",
            "reverse",
            "-f",
            "a::f",
            "-f",
            "b::f",
            "-f",
            "b::a::f",
            "-f",
            "c::f",
            "-f",
            "a::rec",
            "-f",
            "b::rec",
            "-f",
            "uses_hidden",
        ],
    ),
    ("jac.hpp", ["--mode", "jacobian", "-f", "a::out", "-f", "b::out"]),
    ("hess.hpp", ["--mode", "hessian", "-f", "a::f", "-f", "b::f", "-f", "b::a::f"]),
]

MAIN = """\
#include <cstdio>
#include "model.cpp"
#include "fwd.hpp"
#include "rev.hpp"
#include "jac.hpp"
#include "hess.hpp"
static void row(const char* what, const double* v, int n) {
    std::printf("%s", what);
    for (int i = 0; i < n; ++i) std::printf(" %.17g", v[i]);
    std::printf("\\n");
}
int main() {
    const double x = X_, y = Y_;
    double g[2];
    double H[4];
    double fw[2] = {a::f_darg0(x, y), b::f_darg0(x, y)};
    row("fwd", fw, 2);
    double fw2[3] = {b::a::f_darg0(x, y), a::rec_darg0(x, 3), b::rec_darg0(x, 3)};
    row("fwd2", fw2, 3);
    g[0] = g[1] = 0; a::f_grad(x, y, &g[0], &g[1]); row("a::f", g, 2);
    g[0] = g[1] = 0; b::f_grad(x, y, &g[0], &g[1]); row("b::f", g, 2);
    g[0] = g[1] = 0; b::a::f_grad(x, y, &g[0], &g[1]); row("b::a::f", g, 2);
    g[0] = 0; c::f_grad(x, &g[0]); row("c::f", g, 1);
    g[0] = 0; a::rec_grad(x, 3, &g[0]); row("a::rec", g, 1);
    g[0] = 0; b::rec_grad(x, 3, &g[0]); row("b::rec", g, 1);
    g[0] = 0; uses_hidden_grad(x, &g[0]); row("uses_hidden", g, 1);
    double v[2] = {0.6, -1.4}, o[2], J[4];
    a::out_jac(v, o, J, 2, 2); row("a::out", J, 4);
    b::out_jac(v, o, J, 2, 2); row("b::out", J, 4);
    a::f_hessian(x, y, H); row("Ha", H, 4);
    b::f_hessian(x, y, H); row("Hb", H, 4);
    b::a::f_hessian(x, y, H); row("Hba", H, 4);
    return 0;
}
"""


def test_gen_headers_of_same_named_functions_compile_together_and_give_each_its_derivative(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    for out, args in GEN:
        r = pyclad_cli("gen", "model.cpp", *args, "-o", out, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    rev = (tmp_path / "rev.hpp").read_text()
    assert "namespace b {" in rev
    for ns in ("a", "b"):  # each h's own pullback, whole or split (h_forw + h_rev)
        assert f"::{ns}::h_pullback(" in rev or f"::{ns}::h_rev(" in rev
    (tmp_path / "main.cpp").write_text(MAIN.replace("X_", repr(X)).replace("Y_", repr(Y)))
    lines, _ = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    got = {line.split()[0]: [float(t) for t in line.split()[1:]] for line in lines.splitlines()}
    x, y, v = X, Y, [0.6, -1.4]
    close(got["fwd"], [FS["a::f"][1](x, y)[0], FS["b::f"][1](x, y)[0]], "forward")
    close(got["fwd2"], [FS["b::a::f"][1](x, y)[0], RECS["a::rec"](x, 3), RECS["b::rec"](x, 3)], "forward 2")
    for name in FS:
        close(got[name], FS[name][1](x, y), f"{name} gradient")
    close(got["c::f"], [3 * x * x + 2 * x], "c::f gradient")
    close(got["a::rec"], [RECS["a::rec"](x, 3)], "a::rec gradient")
    close(got["b::rec"], [RECS["b::rec"](x, 3)], "b::rec gradient")
    close(got["uses_hidden"], [6 * x + 1], "uses_hidden gradient")
    close(got["a::out"], np.ravel(JACS["a::out"](v)), "a::out Jacobian")
    close(got["b::out"], np.ravel(JACS["b::out"](v)), "b::out Jacobian")
    for key, name in (("Ha", "a::f"), ("Hb", "b::f"), ("Hba", "b::a::f")):
        close(got[key], np.ravel(FS[name][2](x, y)), f"{name} Hessian")


def test_gen_keeps_every_function_of_the_same_short_name(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    r = pyclad_cli("gen", "model.cpp", "--mode", "reverse", "-f", "a::f", "-f", "b::f", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("void f_grad(double x, double y, double *_d_x, double *_d_y)") == 2
    assert r.stdout.count("void h_pullback(") + r.stdout.count("void h_rev(") == 2


CUSTOM = """\
#include <pyclad/runtime.hpp>
namespace a { double g(double x) { return x * x; } double f(double x) { return g(x); } }
namespace b { double g(double x) { return x * x; } double f(double x) { return g(x); } }
namespace pyclad { namespace custom_derivatives { namespace a {
// Deliberately not the derivative of x*x, so that using it is visible: d g = 10 per unit.
void g_pullback(double x, double d_y, double* d_x) { (void)x; *d_x += 10 * d_y; }
pyclad::ValueAndPushforward<double, double> g_pushforward(double x, double d_x) { return {x * x, 10 * d_x}; }
} } }
"""


def test_a_custom_derivative_in_a_nested_custom_namespace_applies_to_that_namespace_only():
    m = pyclad.cppdef(CUSTOM)
    close(pyclad.gradient(m.a.f)(X), [10.0], "a::f uses custom_derivatives::a::g_pullback")
    close(pyclad.differentiate(m.a.f, "x")(X), 10.0, "a::f uses custom_derivatives::a::g_pushforward")
    close(pyclad.gradient(m.b.f)(X), [2 * X], "b::f differentiates b::g's body")
    close(pyclad.differentiate(m.b.f, "x")(X), 2 * X, "b::f forward")


MUTUAL = """\
namespace a {
double p(double x, int n);
double q(double x, int n) { return n <= 0 ? x : x * p(x, n - 1); }
double p(double x, int n) { return n <= 0 ? x * x : q(x, n - 1) + x; }
}
namespace b {
double p(double x, int n) { return n <= 0 ? 1.0 : 2 * x * p(x, n - 1); }
}
"""


def mutual(x, n, which):  # (value, derivative) by the chain rule, written out by hand
    if which == "q":
        if n <= 0:
            return x, 1.0
        v, d = mutual(x, n - 1, "p")
        return x * v, v + x * d
    if n <= 0:
        return x * x, 2 * x
    v, d = mutual(x, n - 1, "q")
    return v + x, d + 1


def test_mutual_recursion_inside_a_namespace_beside_a_same_named_function(tmp_path):
    m = pyclad.cppdef(MUTUAL)
    for n in (0, 1, 2, 5):
        value, deriv = mutual(X, n, "q")
        close(m.a.q(X, n), value, f"a::q n={n}")
        close(pyclad.gradient(m.a.q, "x")(X, n), deriv, f"a::q reverse n={n}")
        close(pyclad.differentiate(m.a.q, "x")(X, n), deriv, f"a::q forward n={n}")
        close(pyclad.gradient(m.b.p, "x")(X, n), n * 2**n * X ** (n - 1) if n else 0.0, f"b::p n={n}")
    if shutil.which("g++") is None:
        return
    (tmp_path / "m.cpp").write_text(MUTUAL)
    r = pyclad_cli(
        "gen",
        "m.cpp",
        "--mode",
        "reverse",
        "-f",
        "a::q",
        "-f",
        "b::p",
        "--wrt",
        "x",
        "-o",
        "d.hpp",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "m.cpp"\n#include "d.hpp"\nint main() {\n'
        "    const int ns[4] = {0, 1, 2, 5};\n"
        "    for (int n : ns) {\n"
        "        double dq = 0, dp = 0;\n"
        f"        a::q_grad({X!r}, n, &dq);\n"
        f"        b::p_grad({X!r}, n, &dp);\n"
        '        std::printf("%.17g %.17g\\n", dq, dp);\n'
        "    }\n}\n"
    )
    out, _ = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    for n, line in zip((0, 1, 2, 5), out.splitlines(), strict=True):
        dq, dp = (float(v) for v in line.split())
        close(dq, mutual(X, n, "q")[1], f"generated a::q_grad n={n}")
        close(dp, n * 2**n * X ** (n - 1) if n else 0.0, f"generated b::p_grad n={n}")
