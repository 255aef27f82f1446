"""Features that compose: a std::vector of records (built with push_back, read through
ps[i].x, range-for and methods of its elements), and records whose fields are
std::vectors, built by a user constructor and differentiated as a whole.

Every derivative is compared with central finite differences of the primal and with the
same mathematics written with plain arrays (``*_plain``)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd

import pyclad

SOURCE = """\
#include <cmath>
#include <vector>

struct Bead {
    double x;
    double w;
    int tag;
    double pull() const { return w * x * x; }
};

// A vector of records filled with push_back of an initialiser list (and of a record
// local), read through ps[i].x, a range-for and a method of each element.
double beads(const double* x, const double* w, int n, double c) {
    std::vector<Bead> ps;
    for (int i = 0; i < n; ++i) {
        ps.push_back(Bead{c * x[i], w[i], i});
    }
    Bead last{x[0] * x[n - 1], c, 0};
    ps.push_back(last);
    for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
        ps[i + 1].x += 0.5 * ps[i].x;
    }
    double e = 0.0;
    for (const Bead& p : ps) {
        e += p.pull() + std::sin(p.x);
    }
    return e;
}
double beads_plain(const double* x, const double* w, int n, double c, double* bx, double* bw) {
    for (int i = 0; i < n; ++i) {
        bx[i] = c * x[i];
        bw[i] = w[i];
    }
    bx[n] = x[0] * x[n - 1];
    bw[n] = c;
    for (int i = 0; i < n; ++i) {
        bx[i + 1] += 0.5 * bx[i];
    }
    double e = 0.0;
    for (int i = 0; i <= n; ++i) {
        e += bw[i] * bx[i] * bx[i] + std::sin(bx[i]);
    }
    return e;
}

// A record holding std::vectors, sized by its own constructor (no default constructor).
class Poly {
public:
    int n;
    std::vector<double> c;
    std::vector<double> s;
    double shift;
    Poly(int k) : n(k), c(k), s(k), shift(0.0) {}
    double eval(double t) const {
        double v = shift;
        for (int i = n - 1; i >= 0; --i) {
            v = v * t + c[i] * std::cos(s[i] * t);
        }
        return v;
    }
};
double fit(const double* p, const double* t, int m, int k) {
    Poly q(k);
    for (int i = 0; i < k; ++i) {
        q.c[i] = p[i];
        q.s[i] = p[k + i];
    }
    q.shift = p[2 * k];
    double loss = 0.0;
    for (int j = 0; j < m; ++j) {
        double r = q.eval(t[j]) - 1.0;
        loss += r * r;
    }
    return loss / m;
}
// Records with std::vectors nested in a record, each built by its own constructor.
struct Layer {
    std::vector<double> w;
    double b;
    Layer(int n) : w(n), b(0.0) {}
    double apply(const double* x, int n) const {
        double s = b;
        for (int i = 0; i < n; ++i) s += w[i] * x[i];
        return std::tanh(s);
    }
};
struct Net {
    Layer first;
    Layer second;
    int n;
    Net(int k) : first(k), second(k), n(k) {}
};
double two(const double* p, const double* x, int n) {
    Net net(n);
    for (int i = 0; i < n; ++i) {
        net.first.w[i] = p[i];
        net.second.w[i] = p[n + i];
    }
    net.first.b = p[2 * n];
    double h = net.first.apply(x, n);
    return h * net.second.apply(x, n) + net.second.w[0] * h;
}
double two_plain(const double* p, const double* x, int n) {
    double s1 = p[2 * n], s2 = 0.0;
    for (int i = 0; i < n; ++i) {
        s1 += p[i] * x[i];
        s2 += p[n + i] * x[i];
    }
    double h = std::tanh(s1);
    return h * std::tanh(s2) + p[n] * h;
}
double fit_plain(const double* p, const double* t, int m, int k) {
    double loss = 0.0;
    for (int j = 0; j < m; ++j) {
        double v = p[2 * k];
        for (int i = k - 1; i >= 0; --i) {
            v = v * t[j] + p[i] * std::cos(p[k + i] * t[j]);
        }
        double r = v - 1.0;
        loss += r * r;
    }
    return loss / m;
}
"""

N = 4
X = np.array([0.3, -0.7, 1.1, 0.4])
W = np.array([1.5, 0.5, 2.0, 1.2])
C = 0.8
K, M = 3, 5
P = np.array([0.5, -0.3, 0.2, 1.1, 0.7, -0.4, 0.25])
T = np.linspace(-1.0, 1.0, M)


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def close(got, want, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol, atol=atol)


def bead_args():
    return [X.copy(), W.copy(), N, C]


def fit_args():
    return [P.copy(), T.copy(), M, K]


def fd_array(f, args, index):
    return np.array([fd(f, args, index, j) for j in range(len(args[index]))])


@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_of_records_built_with_push_back_has_the_gradient_of_its_plain_twin(m, checked):
    dx, dw, dc = pyclad.gradient(m.beads, ["x", "w", "c"], checked=checked)(*bead_args())
    close(dx, fd_array(m.beads, bead_args(), 0))
    close(dw, fd_array(m.beads, bead_args(), 1))
    close(dc, fd(m.beads, bead_args(), 3))
    scratch = [np.zeros(N + 1), np.zeros(N + 1)]
    close(m.beads(*bead_args()), m.beads_plain(*bead_args(), *scratch))
    px, pw, pc = pyclad.gradient(m.beads_plain, ["x", "w", "c"], checked=checked)(*bead_args(), *scratch)
    close(dx, px)
    close(dw, pw)
    close(dc, pc)


def test_a_vector_of_records_built_with_push_back_has_a_forward_tangent(m):
    for j in range(N):
        close(pyclad.differentiate(m.beads, f"x[{j}]")(*bead_args()), fd(m.beads, bead_args(), 0, j))
    close(pyclad.differentiate(m.beads, "c")(*bead_args()), fd(m.beads, bead_args(), 3))


@pytest.mark.parametrize("checked", [True, False])
def test_a_record_with_vector_fields_built_by_its_constructor_has_the_gradient_of_its_plain_twin(m, checked):
    g = pyclad.gradient(m.fit, "p", checked=checked)(*fit_args())
    close(g, fd_array(m.fit, fit_args(), 0))
    close(m.fit(*fit_args()), m.fit_plain(*fit_args()))
    close(g, pyclad.gradient(m.fit_plain, "p", checked=checked)(*fit_args()))


def test_a_record_with_vector_fields_built_by_its_constructor_has_a_forward_tangent(m):
    for j in range(len(P)):
        close(pyclad.differentiate(m.fit, f"p[{j}]")(*fit_args()), fd(m.fit, fit_args(), 0, j))


def test_a_record_with_vector_fields_has_the_hessian_of_its_plain_twin(m):
    h = pyclad.hessian(m.fit, "p[0:6]")(*fit_args())
    close(h, pyclad.hessian(m.fit_plain, "p[0:6]")(*fit_args()))
    g = pyclad.gradient(m.fit, "p")
    eps = 1e-5
    rows = []
    for j in range(len(P)):
        up, dn = fit_args(), fit_args()
        up[0][j] += eps
        dn[0][j] -= eps
        rows.append((g(*up) - g(*dn)) / (2 * eps))
    close(h, np.array(rows)[:, :7], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("checked", [True, False])
def test_records_with_vector_fields_nested_in_a_record_have_the_derivatives_of_their_plain_twin(m, checked):
    args = [np.array([0.3, -0.2, 0.5, 0.1, 0.7, -0.4, 0.6]), np.array([0.5, 1.0, -0.3]), 3]
    g = pyclad.gradient(m.two, "p", checked=checked)(*args)
    close(g, fd_array(m.two, args, 0))
    close(g, pyclad.gradient(m.two_plain, "p", checked=checked)(*args))
    for j in (0, 4, 6):
        close(pyclad.differentiate(m.two, f"p[{j}]", checked=checked)(*args), g[j])


def test_the_generated_header_of_a_record_with_vector_fields_builds_warning_free_and_runs_clean(tmp_path):
    from conftest import gxx_build_and_run, pyclad_cli

    src = tmp_path / "fit.cpp"
    src.write_text(SOURCE)
    header = tmp_path / "fit_grad.hpp"
    for fn, wrt in (("fit", "p"), ("beads", "x, w, c")):
        r = pyclad_cli("gen", str(src), "-f", fn, "--mode", "reverse", "--wrt", wrt, "-o", str(header))
        assert r.returncode == 0, r.stderr
        main = tmp_path / f"{fn}_main.cpp"
        main.write_text(MAINS[fn].replace("HEADER", header.name))
        out, warnings = gxx_build_and_run(tmp_path, main.name, "-Wextra", "-Werror")
        assert out.strip() == "ok" and not warnings


MAINS = {
    "fit": r"""#include <cmath>
#include <cstdio>
#include "fit.cpp"
#include "HEADER"
int main() {
    double p[7] = {0.5, -0.3, 0.2, 1.1, 0.7, -0.4, 0.25}, t[4] = {-1.0, -0.3, 0.2, 0.9}, d[7] = {0};
    fit_grad_0(p, t, 4, 3, d);
    double worst = 0;
    for (int i = 0; i < 7; ++i) {
        double keep = p[i], h = 1e-6;
        p[i] = keep + h; double up = fit(p, t, 4, 3);
        p[i] = keep - h; double dn = fit(p, t, 4, 3);
        p[i] = keep;
        worst = std::fmax(worst, std::fabs(d[i] - (up - dn) / (2 * h)));
    }
    std::printf("%s\n", worst < 1e-6 ? "ok" : "WRONG");
}
""",
    "beads": r"""#include <cmath>
#include <cstdio>
#include "fit.cpp"
#include "HEADER"
int main() {
    double x[3] = {0.3, -0.7, 1.1}, w[3] = {1.5, 0.5, 2.0}, dx[3] = {0}, dw[3] = {0}, dc = 0;
    beads_grad(x, w, 3, 0.8, dx, dw, &dc);
    double h = 1e-6;
    double want = (beads(x, w, 3, 0.8 + h) - beads(x, w, 3, 0.8 - h)) / (2 * h);
    double worst = std::fabs(dc - want);
    for (int i = 0; i < 3; ++i) {
        double keep = x[i];
        x[i] = keep + h; double up = beads(x, w, 3, 0.8);
        x[i] = keep - h; double dn = beads(x, w, 3, 0.8);
        x[i] = keep;
        worst = std::fmax(worst, std::fabs(dx[i] - (up - dn) / (2 * h)));
    }
    std::printf("%s\n", worst < 1e-6 ? "ok" : "WRONG");
}
""",
}


JIT_AFTER_A_FAILURE = r'''
import cppyy, numpy as np, pyclad
pyclad.cppdef("double z(double x) { return x; }")  # pyclad's runtime is loaded
try:
    # A definition that instantiates a tape and then fails: cling rolls the definition back
    # but may keep believing in the instantiations it made on the way.
    cppyy.cppdef("void broken(double x) { ::pyclad::tape<double> t; t.push(x); x = t.pop(); undefined_name(x); }")
except SyntaxError:
    print("refused")
ok = pyclad.cppdef("""
#include <cmath>
double g(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        double t = std::exp(x[i]);
        for (int j = 0; j < 2; ++j) t = t * t;
        s += t;
    }
    return s;
}
""")
print(*pyclad.gradient(ok.g, "x")(np.array([0.1, 0.2]), 2))
'''


def test_a_derivative_that_fails_to_compile_in_the_jit_leaves_later_derivatives_linkable():
    # A fresh process: the first code to need the tapes' instantiations fails to compile.
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-c", JIT_AFTER_A_FAILURE], capture_output=True, text=True, timeout=300, check=False
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "refused"
    close([float(v) for v in lines[1].split()], 4 * np.exp(4 * np.array([0.1, 0.2])))  # d/dx e^(4x)
