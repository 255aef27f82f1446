"""Derived classes (non-virtual bases): a derived record is its bases' fields then its own;
base methods called on derived objects, derived objects passed where a base is expected,
sliced copies, base initialisers in constructors and braced aggregate initialisation.
References: hand-derived formulas, central differences, and the same model written without
inheritance."""

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = r"""
#include <cmath>
#include <vector>

struct Body {
    double x, v;
    double kinetic(double m) const { return 0.5 * m * v * v; }
};

struct Charged : Body {
    double q;
    double energy(double m, double field) const { return kinetic(m) + q * field * x; }
};

class Spring : public Charged {
public:
    Spring(double x0, double v0, double q0, double k) : Charged{{x0, v0}, q0}, k_(k) {}
    double total(double m, double field) const { return energy(m, field) + 0.5 * k_ * x * x; }

private:
    double k_;
};

struct Anchor {
    double x0, k;
    Anchor(double a, double b) : x0(a), k(b * b) {}
};

struct Pinned : Anchor {
    double w;
    Pinned(double a, double b, double c) : Anchor(a, b), w(c * a) {}
};

double mass_energy(const Body& b, double m) { return b.kinetic(m); }

// E = 0.5 m v^2 + q F x + 0.5 k x^2, three ways of building the object
double total(double x, double v, double q, double k) {
    Spring s(x, v, q, k);
    return s.total(2.0, 3.0);
}

double braced(double x, double v, double q) {
    Charged c{{x, v}, q};
    Body sliced = c;
    return c.energy(2.0, 3.0) + mass_energy(c, 1.0) + sliced.x * sliced.v;
}

double pinned(double a, double b, double c) {
    Pinned p(a, b, c);
    return p.x0 * p.k + p.w * p.w;
}

double system(const std::vector<Charged>& ps, double field) {
    double e = 0;
    for (const Charged& p : ps) e += p.energy(1.5, field);
    return e;
}
"""

PLAIN = r"""
double total(double x, double v, double q, double k) { return v * v + 3 * q * x + 0.5 * k * x * x; }
double braced(double x, double v, double q) { return v * v + 3 * q * x + 0.5 * v * v + x * v; }
double pinned(double a, double b, double c) { return a * b * b + c * a * c * a; }
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


@pytest.fixture(scope="module")
def plain():
    return pyclad.cppdef(PLAIN)


CASES = [
    ("total", (0.7, 1.3, 1.1, 0.9), "xvqk"),
    ("braced", (0.7, 1.3, 1.1), "xvq"),
    ("pinned", (0.7, 1.3, 1.1), "abc"),
]


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize(("name", "at", "params"), CASES, ids=[c[0] for c in CASES])
def test_derived_classes_differentiate_like_the_same_model_written_without_them(
    m, plain, name, at, params, checked
):
    assert m[name](*at) == pytest.approx(plain[name](*at), rel=1e-14)
    want = pyclad.gradient(plain[name])(*at)
    np.testing.assert_allclose(pyclad.gradient(m[name], checked=checked)(*at), want, rtol=1e-12)
    for k, p in enumerate(params):
        assert pyclad.differentiate(m[name], p, checked=checked)(*at) == pytest.approx(want[k], rel=1e-12)
        assert want[k] == pytest.approx(fd(m[name], at, k), rel=1e-6, abs=1e-9)


def test_the_hessian_of_a_derived_class_model_matches_the_plain_one(m, plain):
    at = (0.7, 1.3, 1.1)
    np.testing.assert_allclose(pyclad.hessian(m.pinned)(*at), pyclad.hessian(plain.pinned)(*at), rtol=1e-12)
    # vector mode splits a record into its fields; a derived object passed to a method of its
    # base would need the base's fields only
    with pytest.raises(pyclad.UnsupportedError, match="a derived object passed to a call in vector mode"):
        pyclad.hessian(m.total)


def test_a_vector_of_derived_records_from_python_gets_a_gradient_per_field(m):
    ps = []
    for x, v, q in ((0.7, 1.3, 1.1), (-0.4, 0.2, 2.0)):
        p = m.Charged()
        p.x, p.v, p.q = x, v, q
        ps.append(p)
    dps, dfield = pyclad.gradient(m.system)(ps, 3.0)
    for p, d in zip(ps, dps):  # e = 0.75 v^2 + q F x
        assert (d.x, d.v, d.q) == pytest.approx((p.q * 3.0, 1.5 * p.v, 3.0 * p.x), rel=1e-12)
    assert dfield == pytest.approx(sum(p.q * p.x for p in ps), rel=1e-12)


def test_generated_headers_for_derived_classes_compile_warning_free_and_run_clean(tmp_path, plain):
    (tmp_path / "model.cpp").write_text(SRC)
    out = pyclad_cli(
        "gen", tmp_path / "model.cpp", "-f", "total", "-f", "braced", "-f", "pinned", "--mode", "reverse",
        "-o", tmp_path / "model_d.hpp",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "model_d.hpp"\n'
        "int main() {\n"
        "  double g[4] = {0, 0, 0, 0}, h[3] = {0, 0, 0}, p[3] = {0, 0, 0};\n"
        "  total_grad(0.7, 1.3, 1.1, 0.9, &g[0], &g[1], &g[2], &g[3]);\n"
        "  braced_grad(0.7, 1.3, 1.1, &h[0], &h[1], &h[2]);\n"
        "  pinned_grad(0.7, 1.3, 1.1, &p[0], &p[1], &p[2]);\n"
        '  for (double d : g) std::printf("%.15g ", d);\n'
        '  for (double d : h) std::printf("%.15g ", d);\n'
        '  for (double d : p) std::printf("%.15g ", d);\n'
        "}\n"
    )
    # A constructor's pullback still replays the fields of an object nothing reads afterwards.
    printed, warnings = gxx_build_and_run(
        tmp_path, "main.cpp", "-Wextra", "-Werror", "-Wno-unused-but-set-variable"
    )
    assert not warnings
    got = [float(v) for v in printed.split()]
    want = [
        *pyclad.gradient(plain.total)(0.7, 1.3, 1.1, 0.9),
        *pyclad.gradient(plain.braced)(0.7, 1.3, 1.1),
        *pyclad.gradient(plain.pinned)(0.7, 1.3, 1.1),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


REFUSED = """\
struct A { double x; };
struct V : virtual A { double y; };
double virtual_base(double t) { V v; v.x = t; v.y = t; return v.x * v.y; }
template <typename T> struct B { T x; };
template <typename T> struct D : B<T> { T y; };
double templated(double t) { D<double> d; d.x = t; d.y = t; return d.x * d.y; }
"""


@pytest.mark.parametrize(
    ("name", "what", "line"),
    [
        ("virtual_base", "a virtual base class", 2),
        ("templated", "a base class of the class template instance", 5),
    ],
)
def test_virtual_bases_and_bases_of_class_template_instances_are_located_errors(name, what, line):
    r = pyclad.cppdef(REFUSED, filename="bases.cpp")
    for derive in (lambda f: pyclad.gradient(f), lambda f: pyclad.differentiate(f, "t")):
        with pytest.raises(pyclad.UnsupportedError) as info:
            derive(r[name])
        assert what in str(info.value) and info.value.loc.line == line, str(info.value)
