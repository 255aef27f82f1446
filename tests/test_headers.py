"""Code in the user's headers: bodies of functions (and records) in headers that the user's
file includes with quotes or finds in include_dirs are differentiated like bodies in the
file itself; the standard library's are not (they take the rule registry or are a located
error naming the function).  Derivatives are checked against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import arr, fd, gxx_build_and_run, pyclad_cli

import pyclad

HELPERS = r"""
#pragma once
#include <cmath>

struct Gauss {
    double mu;
    double sigma;
};

inline double sq(double x) { return x * x; }

double log_density(const Gauss& g, double x) {
    double z = (x - g.mu) / g.sigma;
    return -0.5 * sq(z) - std::log(g.sigma);
}

template <typename T>
T unused_template(T x) { return x; }  // never called: never lowered
"""

OBJECTIVE = r"""
#include "helpers.hpp"
#include <cmath>

double nll(const double* x, int n, double mu, double sigma) {
    Gauss g{mu, sigma};
    double s = 0;
    for (int i = 0; i < n; ++i) s -= log_density(g, x[i]);
    return s + sq(mu) * 0.01;
}
"""

X = arr(0.3, -1.2, 2.5, 0.8)


def nll_by_hand(x, mu, sigma):
    z = (x - mu) / sigma
    return float(np.sum(0.5 * z * z + np.log(sigma)) + 0.01 * mu * mu)


def grad_by_hand(x, mu, sigma):
    z = (x - mu) / sigma
    dmu = float(np.sum(-z / sigma)) + 0.02 * mu
    dsigma = float(np.sum(-z * z / sigma + 1 / sigma))
    dx = z / sigma
    return dx, dmu, dsigma


@pytest.fixture()
def program(tmp_path):
    (tmp_path / "helpers.hpp").write_text(HELPERS)
    (tmp_path / "nll.cpp").write_text(OBJECTIVE)
    return tmp_path


@pytest.mark.parametrize("checked", [True, False])
def test_a_gradient_through_helpers_in_a_header_matches_finite_differences(program, checked):
    m = pyclad.load(program / "nll.cpp")
    assert m.nll(X, 4, 0.4, 1.3) == pytest.approx(nll_by_hand(X, 0.4, 1.3), rel=1e-12)
    dx, dmu, dsigma = pyclad.gradient(m.nll, "x, mu, sigma", checked=checked)(X, 4, 0.4, 1.3)
    for k in range(4):
        assert dx[k] == pytest.approx(fd(m.nll, [X, 4, 0.4, 1.3], 0, k), rel=1e-8)
    assert dmu == pytest.approx(fd(m.nll, [X, 4, 0.4, 1.3], 2), rel=1e-8)
    assert dsigma == pytest.approx(fd(m.nll, [X, 4, 0.4, 1.3], 3), rel=1e-8)
    hx, hmu, hsigma = grad_by_hand(X, 0.4, 1.3)
    np.testing.assert_allclose(dx, hx, rtol=1e-12)
    assert (dmu, dsigma) == (pytest.approx(hmu, rel=1e-12), pytest.approx(hsigma, rel=1e-12))


def test_forward_mode_through_a_header_matches_finite_differences(program):
    m = pyclad.load(program / "nll.cpp")
    d = pyclad.differentiate(m.nll, "sigma")(X, 4, 0.4, 1.3)
    assert d == pytest.approx(fd(m.nll, [X, 4, 0.4, 1.3], 3), rel=1e-8)


def test_a_header_function_is_a_function_of_the_module_too(program):
    m = pyclad.load(program / "nll.cpp")
    assert m.sq(3.0) == 9.0
    assert pyclad.gradient(m.sq)(3.0) == (6.0,)


def test_a_header_found_in_include_dirs_is_the_users_code(tmp_path):
    inc = tmp_path / "include" / "lib"
    inc.mkdir(parents=True)
    (inc / "helpers.hpp").write_text(HELPERS)
    (tmp_path / "nll.cpp").write_text(OBJECTIVE.replace('"helpers.hpp"', "<lib/helpers.hpp>"))
    m = pyclad.load(tmp_path / "nll.cpp", include_dirs=[tmp_path / "include"])
    _, dmu, _ = pyclad.gradient(m.nll, "x, mu, sigma")(X, 4, 0.4, 1.3)
    assert dmu == pytest.approx(grad_by_hand(X, 0.4, 1.3)[1], rel=1e-12)


def test_reloading_after_a_header_edit_gives_the_new_derivative(program):
    m1 = pyclad.load(program / "nll.cpp")
    g1 = pyclad.gradient(m1.nll, "mu")(X, 4, 0.4, 1.3)
    (program / "helpers.hpp").write_text(HELPERS.replace("return x * x;", "return 3 * x * x;"))
    m2 = pyclad.load(program / "nll.cpp")
    g2 = pyclad.gradient(m2.nll, "mu")(X, 4, 0.4, 1.3)
    assert g2 != pytest.approx(g1)
    assert g2 == pytest.approx(fd(m2.nll, [X, 4, 0.4, 1.3], 2), rel=1e-8)
    assert m2.nll(X, 4, 0.4, 1.3) != pytest.approx(m1.nll(X, 4, 0.4, 1.3))
    # The first module keeps its own code.
    assert pyclad.gradient(m1.nll, "mu")(X, 4, 0.4, 1.3) == pytest.approx(g1, rel=1e-15)


def test_a_standard_library_function_without_a_rule_is_a_located_error_naming_it():
    src = "#include <cmath>\ndouble f(double x) {\n    return std::riemann_zeta(x) * x;\n}\n"
    with pytest.raises(pyclad.NoDerivativeError, match=r"<string>:3:12: .*riemann_zeta") as info:
        pyclad.gradient(pyclad.cppdef(src).f)
    assert "bits/" not in str(info.value).split("\n")[0]


def test_a_standard_library_function_with_a_rule_takes_the_rule_not_its_body():
    m = pyclad.cppdef("#include <cmath>\ndouble f(double x) { return std::hypot(x, 2.0) + std::exp(x); }")
    g = pyclad.gradient(m.f)
    assert g(1.5)[0] == pytest.approx(1.5 / np.hypot(1.5, 2.0) + np.exp(1.5), rel=1e-12)
    assert "hypot_pullback" not in g.code and "exp_pullback" not in g.code


MAIN = r"""
#include <cstdio>
#include "nll.cpp"
#include "nll_d.hpp"

int main() {
    double x[4] = {0.3, -1.2, 2.5, 0.8}, dx[4] = {0, 0, 0, 0}, dmu = 0, dsigma = 0;
    nll_grad(x, 4, 0.4, 1.3, dx, &dmu, &dsigma);
    std::printf("%.17g %.17g %.17g %.17g %.17g %.17g\n", dx[0], dx[1], dx[2], dx[3], dmu, dsigma);
    return 0;
}
"""


def test_gen_header_for_code_in_a_header_compiles_with_wextra_and_matches(program):
    run = pyclad_cli("gen", "nll.cpp", "-f", "nll", "--mode", "reverse", "-o", "nll_d.hpp", cwd=program)
    assert run.returncode == 0, run.stderr
    header = (program / "nll_d.hpp").read_text()
    assert "log_density_pullback" in header and "sq_pullback" in header
    (program / "main.cpp").write_text(MAIN)
    out, warnings = gxx_build_and_run(program, "main.cpp", "-Wextra")
    assert "warning" not in warnings, warnings
    got = [float(v) for v in out.split()]
    hx, hmu, hsigma = grad_by_hand(X, 0.4, 1.3)
    np.testing.assert_allclose(got, [*hx, hmu, hsigma], rtol=1e-12)


def test_the_disk_cache_keys_on_the_headers_content(program, tmp_path, monkeypatch):
    from pyclad.backends import jit_cache

    monkeypatch.setenv("PYCLAD_CACHE", "1")
    monkeypatch.setenv("PYCLAD_CACHE_DIR", str(tmp_path / "cache"))
    g1 = pyclad.gradient(pyclad.load(program / "nll.cpp").nll, "mu")(X, 4, 0.4, 1.3)
    read = jit_cache.stats["results_read"]
    again = pyclad.gradient(pyclad.load(program / "nll.cpp").nll, "mu")(X, 4, 0.4, 1.3)
    assert jit_cache.stats["results_read"] == read + 1 and again == g1  # the cache is in use
    (program / "helpers.hpp").write_text(HELPERS.replace("return x * x;", "return 3 * x * x;"))
    m = pyclad.load(program / "nll.cpp")
    g2 = pyclad.gradient(m.nll, "mu")(X, 4, 0.4, 1.3)
    assert jit_cache.stats["results_read"] == read + 1  # a miss: the header changed
    assert g2 == pytest.approx(fd(m.nll, [X, 4, 0.4, 1.3], 2), rel=1e-8) and g2 != pytest.approx(g1)
