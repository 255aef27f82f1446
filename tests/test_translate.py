"""`pyclad translate`: programs written against clad's API, translated, built with g++ and run.

Each program prints its derivatives one request per line ("name v1 v2 ..."); the test
compares them with central finite differences of the same functions written in Python,
or with hand-derived formulas.  Several requests share one program (one g++ build each).
"""

from __future__ import annotations

import math
from pathlib import Path

from conftest import gxx_build_and_run

from pyclad.translate import translate

H = 1e-5


def fd(f, args, i, h=H):
    """Central difference of f along argument i."""
    up = list(args)
    dn = list(args)
    up[i] += h
    dn[i] -= h
    return (f(*up) - f(*dn)) / (2 * h)


def fd2(f, args, i, j, h=1e-4):
    """Second central difference d2 f / (d args[i] d args[j])."""
    return fd(lambda *a: fd(f, a, j, h), args, i, h)


def build(tmp_path: Path, text: str, name: str = "prog.cpp") -> dict[str, list[float]]:
    """Translate ``text``, build it with g++ -Wall -Wextra (and under the sanitizers), run it,
    and read its "name v1 v2 ..." lines."""
    src = tmp_path / name
    src.write_text(text)
    (tmp_path / ("t_" + name)).write_text(translate(text, str(src)))
    out, warnings = gxx_build_and_run(tmp_path, "t_" + name, "-Wextra", "-Werror")
    assert not warnings
    values = {}
    for line in out.splitlines():
        head, *rest = line.split()
        values[head] = [float(v) for v in rest]
    return values


def close(got: list[float], want: list[float], tol: float = 1e-6) -> bool:
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=tol, abs_tol=tol) for g, w in zip(got, want)
    )


FREE = r"""
#include "clad/Differentiator/Differentiator.h"
#include <cmath>
#include <cstdio>

double f(double x, double y) { return x * x * std::sin(y) + x * y * y; }
double sumcube(const double* a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * a[i] * a[i];
  return s;
}
double prod3(double p[3]) { return p[0] * p[1] * std::exp(p[2]); }
void outputs(double x, double y, double* out) {
  out[0] = x * y;
  out[1] = x + y * y;
  out[2] = std::sin(x);
}
namespace geo { double cubic(double x) { return x * x * x - 2 * x; } }
namespace other { double cubic(double x) { return 2 * x * x * x; } }  // the same names, apart
template <typename T> T quartic(T x) { return x * x * x * x; }

int main() {
  printf("darg0 %.10f\n", clad::differentiate(f, "x").execute(1.3, 0.7));
  printf("darg1 %.10f\n", clad::differentiate(f, 1).execute(1.3, 0.7));
  printf("d2arg0 %.10f\n", clad::differentiate<2>(f, "x").execute(1.3, 0.7));
  printf("d3arg1 %.10f\n", clad::differentiate<3>(f, "y").execute(1.3, 0.7));
  double p[3] = {0.5, -1.5, 0.25};
  printf("element %.10f\n", clad::differentiate(prod3, "p[2]").execute(p));
  printf("namespace %.10f\n", clad::differentiate(geo::cubic).execute(2.0));
  printf("namespace2 %.10f\n", clad::differentiate(other::cubic).execute(2.0));
  printf("template %.10f\n", clad::differentiate(quartic<double>, "x").execute(1.5));

  double dx = 0, dy = 0;
  auto grad = clad::gradient(f);
  grad.execute(1.3, 0.7, &dx, &dy);
  printf("grad %.10f %.10f\n", dx, dy);
  double dyonly = 0;
  clad::gradient(f, "y").execute(1.3, 0.7, &dyonly);
  printf("grad_1 %.10f\n", dyonly);
  double a[3] = {1.0, -2.0, 0.5}, da[3] = {0, 0, 0};
  int dn = 7;
  clad::gradient(sumcube).execute(a, 3, da, &dn);  // clad gives the int parameter an adjoint too
  printf("grad_array %.10f %.10f %.10f %d\n", da[0], da[1], da[2], dn);

  double hm[4];
  clad::hessian(f).execute(1.3, 0.7, hm);
  printf("hessian %.10f %.10f %.10f %.10f\n", hm[0], hm[1], hm[2], hm[3]);
  double ha[4];
  clad::hessian(sumcube, "a[0:1]").execute(a, 2, ha);
  printf("hessian_range %.10f %.10f %.10f %.10f\n", ha[0], ha[1], ha[2], ha[3]);
  double diag[2];
  clad::hessian<clad::opts::diagonal_only>(f, "x, y").execute(1.3, 0.7, diag);
  printf("hessian_diag %.10f %.10f\n", diag[0], diag[1]);

  clad::matrix<double> jac(3, 2);
  double out[3];
  clad::jacobian(outputs).execute(1.3, 0.7, out, &jac);
  printf("jacobian %.10f %.10f %.10f %.10f %.10f %.10f\n", jac[0][0], jac[0][1], jac[1][0], jac[1][1],
         jac[2][0], jac[2][1]);

  double vx = 0, vy = 0;
  clad::differentiate<clad::opts::vector_mode>(f, "x, y").execute(1.3, 0.7, &vx, &vy);
  printf("dvec %.10f %.10f\n", vx, vy);
  auto tuned = clad::gradient<clad::opts::disable_tbr>(f, "x");
  double tx = 0;
  tuned(1.3, 0.7, &tx);
  printf("options %.10f\n", tx);
  return 0;
}
"""


def _f(x, y):
    return x * x * math.sin(y) + x * y * y


def test_every_entry_point_and_option_prints_the_derivative_finite_differences_give(tmp_path):
    got = build(tmp_path, FREE)
    at = (1.3, 0.7)
    assert close(got["darg0"], [fd(_f, at, 0)])
    assert close(got["darg1"], [fd(_f, at, 1)])
    assert close(got["d2arg0"], [fd2(_f, at, 0, 0)], 1e-5)
    x, y = at
    assert close(got["d3arg1"], [-x * x * math.cos(y)])  # d3/dy3 of x^2 sin y + x y^2, by hand
    assert close(got["element"], [0.5 * -1.5 * math.exp(0.25)])
    assert close(got["namespace"], [3 * 2.0**2 - 2])
    assert close(got["namespace2"], [6 * 2.0**2])
    assert close(got["template"], [4 * 1.5**3])
    assert close(got["grad"], [fd(_f, at, 0), fd(_f, at, 1)])
    assert close(got["grad_1"], [fd(_f, at, 1)])
    assert close(got["grad_array"], [3.0, 12.0, 0.75, 7.0])  # 3 a_i^2; the int's adjoint untouched
    hess = [fd2(_f, at, i, j) for i in range(2) for j in range(2)]
    assert close(got["hessian"], hess, 1e-5)
    assert close(got["hessian_range"], [6.0, 0.0, 0.0, -12.0])  # 6 a_i on the diagonal
    assert close(got["hessian_diag"], [hess[0], hess[3]], 1e-5)

    def outs(a, b):
        return [a * b, a + b * b, math.sin(a)]

    jac = [
        (
            outs(*[v + (H if k == j else 0) for k, v in enumerate(at)])[i]
            - outs(*[v - (H if k == j else 0) for k, v in enumerate(at)])[i]
        )
        / (2 * H)
        for i in range(3)
        for j in range(2)
    ]
    assert close(got["jacobian"], jac)
    assert close(got["dvec"], [fd(_f, at, 0), fd(_f, at, 1)])
    assert close(got["options"], [fd(_f, at, 0)])


METHODS = r"""
#include "clad/Differentiator/Differentiator.h"
#include <cmath>
#include <cstdio>

class Spring {
  double k;  // private: the derivatives read it as the methods do
 public:
  explicit Spring(double stiffness) : k(stiffness) {}
  double energy(double x, double v) const { return 0.5 * k * x * x + 0.5 * v * v * std::cos(x); }
  double energy_darg0(double x, double v) const;  // declared here, defined by the translation
  double stiffness() const { return k; }
};

struct Poly {
  double c;
  void both(double a, double b, double* out) const { out[0] = c * a * b; out[1] = a + c * b; }
  double operator()(double x, double y) const { return c * x * x * y; }
};

int main() {
  Spring s(2.5);
  auto dx = clad::differentiate(&Spring::energy, "x");
  printf("method_darg0 %.10f\n", dx.execute(s, 0.4, 1.2));
  printf("member %.10f\n", s.energy_darg0(0.4, 1.2));
  Spring ds(0.0);
  double gx = 0, gv = 0;
  clad::gradient(&Spring::energy).execute(s, 0.4, 1.2, &ds, &gx, &gv);
  printf("method_grad %.10f %.10f %.10f\n", ds.stiffness(), gx, gv);

  Poly p{2.0};
  printf("functor_darg0 %.10f\n", clad::differentiate(p, "x").execute(1.5, 3.0));
  auto dp = clad::differentiate(&p, 1);  // a pointer to the functor works too
  printf("functor_darg1 %.10f\n", dp.execute(1.5, 3.0));
  Poly dpoly{0.0};
  double px = 0, py = 0;
  clad::gradient(p).execute(1.5, 3.0, &dpoly, &px, &py);
  printf("functor_grad %.10f %.10f %.10f\n", dpoly.c, px, py);
  double qx = 0, qy = 0;  // clad's execute also takes the gradient without the object's adjoint
  clad::gradient(p).execute(1.5, 3.0, &qx, &qy);
  printf("functor_grad_padded %.10f %.10f\n", qx, qy);
  double sx = 0, sv = 0;
  clad::gradient(&Spring::energy).execute(s, 0.4, 1.2, &sx, &sv);
  printf("method_grad_padded %.10f %.10f\n", sx, sv);
  double hm[4];  // over the method's parameters only, as clad's, not the object's fields
  clad::hessian(&Spring::energy).execute(s, 0.4, 1.2, hm);
  printf("method_hessian %.10f %.10f %.10f %.10f\n", hm[0], hm[1], hm[2], hm[3]);
  clad::matrix<double> jm(2, 2);
  double out[2];
  clad::jacobian(&Poly::both).execute(p, 1.0, 3.0, out, &jm);
  printf("method_jacobian %.10f %.10f %.10f %.10f\n", jm[0][0], jm[0][1], jm[1][0], jm[1][1]);
  p.c = 4.0;  // the CladFunction holds the functor's address, as clad's does
  auto again = clad::differentiate(p, "x");
  printf("functor_state %.10f\n", again(1.5, 3.0));
  return 0;
}
"""


def test_methods_functors_and_declared_member_derivatives_give_their_derivatives(tmp_path):
    got = build(tmp_path, METHODS)
    k, x, v = 2.5, 0.4, 1.2

    def energy(k, x, v):
        return 0.5 * k * x * x + 0.5 * v * v * math.cos(x)

    assert close(got["method_darg0"], [fd(energy, (k, x, v), 1)])
    assert close(got["member"], [fd(energy, (k, x, v), 1)])
    assert close(got["method_grad"], [fd(energy, (k, x, v), i) for i in range(3)])
    assert close(got["functor_darg0"], [2 * 2.0 * 1.5 * 3.0])
    assert close(got["functor_darg1"], [2.0 * 1.5**2])
    assert close(got["functor_grad"], [1.5**2 * 3.0, 2 * 2.0 * 1.5 * 3.0, 2.0 * 1.5**2])
    assert close(got["functor_grad_padded"], [2 * 2.0 * 1.5 * 3.0, 2.0 * 1.5**2])
    assert close(got["method_grad_padded"], [fd(energy, (k, x, v), i) for i in (1, 2)])
    hess = [fd2(lambda x, v: energy(k, x, v), (x, v), i, j) for i in range(2) for j in range(2)]
    assert close(got["method_hessian"], hess, 1e-5)
    assert close(got["method_jacobian"], [2.0 * 3.0, 2.0 * 1.0, 1.0, 2.0])
    assert close(got["functor_state"], [2 * 4.0 * 1.5 * 3.0])


CUSTOM = r"""
#include "clad/Differentiator/Differentiator.h"
#include <cmath>
#include <cstdio>

double soft(double x) { return std::log(1 + std::exp(x)); }
namespace clad {
namespace custom_derivatives {
// A deliberately different rule (3x the true derivative), so the test sees it was used.
// (::std: clad's builtin derivatives live in clad::custom_derivatives::std, as clad's do.)
clad::ValueAndPushforward<double, double> soft_pushforward(double x, double _d_x) {
  return {::std::log(1 + ::std::exp(x)), 3 / (1 + ::std::exp(-x)) * _d_x};
}
void soft_pullback(double x, double _d_y, double* _d_x) { *_d_x += 3 / (1 + ::std::exp(-x)) * _d_y; }
}  // namespace custom_derivatives
}  // namespace clad

double model(double x, double w) { return soft(w * x) * w; }

int main() {
  printf("forward %.10f\n", clad::differentiate(model, "x").execute(0.8, 1.7));
  double dx = 0, dw = 0;
  clad::gradient(model).execute(0.8, 1.7, &dx, &dw);
  printf("reverse %.10f %.10f\n", dx, dw);
  auto d = clad::differentiate(model, "w");
  d.dump();
  const char* code = d.getCode();
  printf("named %d\n", code[0] != 0 && std::strstr(code, "model_darg1(") != nullptr);
  return 0;
}
"""


def test_custom_derivatives_are_used_and_dump_prints_the_generated_code(tmp_path):
    text = CUSTOM.replace("#include <cstdio>", "#include <cstdio>\n#include <cstring>")
    src = tmp_path / "custom.cpp"
    src.write_text(text)
    (tmp_path / "t_custom.cpp").write_text(translate(text, str(src)))
    out, _ = gxx_build_and_run(tmp_path, "t_custom.cpp", "-Wextra")
    lines = out.splitlines()
    x, w = 0.8, 1.7

    def sig(t):
        return 1 / (1 + math.exp(-t))

    fwd = float(lines[0].split()[1])
    dx, dw = map(float, lines[1].split()[1:])
    assert math.isclose(fwd, 3 * sig(w * x) * w * w, rel_tol=1e-9)
    assert math.isclose(dx, 3 * sig(w * x) * w * w, rel_tol=1e-9)
    assert math.isclose(dw, 3 * sig(w * x) * x * w + math.log(1 + math.exp(w * x)), rel_tol=1e-9)
    assert lines[2] == "The code is: "
    assert any(line.startswith("double model_darg1(double x, double w)") for line in lines)
    assert lines[-1] == "named 1"


def test_the_translation_keeps_the_line_numbers_of_the_users_file(tmp_path):
    text = FREE.replace("int main() {", 'int main() {\n  printf("line %d\\n", __LINE__);')
    got = build(tmp_path, text, "lines.cpp")
    want = text.splitlines().index('  printf("line %d\\n", __LINE__);') + 1
    assert got["line"] == [float(want)]


MACROS = r"""
#include "clad/Differentiator/Differentiator.h"
#include <cstdio>

double f(double x, double y) { return x * x * y; }
double g(double x, double y) { return x * y * y; }
struct Scale {
  double s;
  double operator()(double x, double y) const { return s * x * y; }
};

#define GRAD_X(NAME, F, ...)                          \
  {                                                   \
    auto d = clad::gradient(F, __VA_ARGS__);          \
    double dx = 0;                                    \
    d.execute(2.0, 3.0, &dx);                         \
    printf("%s %.10f\n", NAME, dx);                   \
  }
#define DERIV(NAME, F, SEL) printf("%s %.10f\n", NAME, clad::differentiate(F, SEL).execute(2.0, 3.0));
#define DERIV_OBJ(NAME, OBJ) printf("%s %.10f\n", NAME, clad::differentiate(OBJ, "x").execute(2.0, 3.0));

int main() {
  GRAD_X("grad_f", f, "x");
  GRAD_X("grad_g", g, "x");
  DERIV("d_f_y", f, "y")
  DERIV("d_g_index", &g, 1)
  Scale sc{1.5};
  DERIV_OBJ("d_functor", sc)
  printf("line %d\n", __LINE__);
  return 0;
}
"""


def test_clad_calls_in_the_files_macros_pick_each_expansions_derivative(tmp_path):
    got = build(tmp_path, MACROS, "macros.cpp")
    assert close(got["grad_f"], [2 * 2.0 * 3.0])
    assert close(got["grad_g"], [3.0**2])
    assert close(got["d_f_y"], [2.0**2])
    assert close(got["d_g_index"], [2 * 2.0 * 3.0])
    assert close(got["d_functor"], [1.5 * 3.0])
    assert got["line"] == [float(MACROS.splitlines().index('  printf("line %d\\n", __LINE__);') + 1)]
