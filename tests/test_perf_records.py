"""What the reverse sweep of programs over records and containers saves and repeats: only
the fields it reads, element by element, and no callee forward work it does not need.  Each
kernel's generated code shows the saving; its gradient agrees with 5-point finite
differences of the primal and with the same mathematics written with plain arrays."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import arr, fd, gxx_build_and_run, pyclad_cli

import pyclad

SRC = """\
#include <cstddef>
#include <vector>
struct P {
    double x, v, m;
};
// Reads the x of every particle, nothing else.
double spread(const std::vector<P>& ps) {
    double s = 0;
    for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
        double d = ps[i + 1].x - ps[i].x;
        s += d * d;
    }
    return s;
}
// v is updated linearly and read by no partial: only x needs saving.
double drift(const double* x0, const double* v0, int n, double dt, int steps) {
    std::vector<P> ps;
    for (int i = 0; i < n; ++i) {
        ps.push_back(P{x0[i], v0[i], 1.0 + i});
    }
    double e = 0;
    for (int s = 0; s < steps; ++s) {
        for (int i = 0; i < n; ++i) {
            ps[i].v += dt * ps[i].x / ps[i].m;
            ps[i].x += dt * ps[i].v;
        }
        e += spread(ps);
    }
    return e;
}
// Fills f from the positions: no partial of it reads f.
void fill(const std::vector<P>& ps, double k, std::vector<double>& f) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
        f[i] = -k * ps[i].x;
    }
    for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
        double t = k * (ps[i + 1].x - ps[i].x);
        f[i] += t;
        f[i + 1] -= t;
    }
}
// Squares f in place: its partial reads the old f.
void square(std::vector<double>& f) {
    for (std::size_t i = 0; i < f.size(); ++i) {
        f[i] = f[i] * f[i];
    }
}
double pushed(const double* x0, int n, double k, double dt, int steps) {
    std::vector<P> ps;
    for (int i = 0; i < n; ++i) {
        ps.push_back(P{x0[i], 0.0, 1.0});
    }
    std::vector<double> f(n);
    double e = 0;
    for (int s = 0; s < steps; ++s) {
        fill(ps, k, f);
        square(f);
        for (int i = 0; i < n; ++i) {
            ps[i].v += dt * f[i];
            ps[i].x += dt * ps[i].v;
        }
    }
    for (int i = 0; i < n; ++i) {
        e += ps[i].x * ps[i].x;
    }
    return e;
}
double pushed_plain(const double* x0, int n, double k, double dt, int steps, double* x, double* v, double* f) {
    for (int i = 0; i < n; ++i) {
        x[i] = x0[i];
        v[i] = 0.0;
    }
    for (int s = 0; s < steps; ++s) {
        for (int i = 0; i < n; ++i) {
            f[i] = -k * x[i];
        }
        for (int i = 0; i + 1 < n; ++i) {
            double t = k * (x[i + 1] - x[i]);
            f[i] += t;
            f[i + 1] -= t;
        }
        for (int i = 0; i < n; ++i) {
            v[i] += dt * (f[i] * f[i]);
            x[i] += dt * v[i];
        }
    }
    double e = 0;
    for (int i = 0; i < n; ++i) {
        e += x[i] * x[i];
    }
    return e;
}
// Updates two elements of w in place: what it overwrites is logged element by element.
void bump(std::vector<double>& w, int k, double a) {
    w[k] = w[k] * a;
    w[k + 1] += a * w[k];
}
double bumped(const double* w0, int n, double a) {
    std::vector<double> w;
    for (int i = 0; i < n; ++i) {
        w.push_back(w0[i]);
    }
    double e = 0;
    for (int k = 0; k + 1 < n; ++k) {
        bump(w, k, a);
        e += w[k] * w[k + 1];
        w.push_back(e);  // grows w after the call: the elements the call wrote move
    }
    return e;
}
double bumped_plain(const double* w0, int n, double a, double* w) {
    for (int i = 0; i < n; ++i) {
        w[i] = w0[i];
    }
    int len = n;
    double e = 0;
    for (int k = 0; k + 1 < n; ++k) {
        w[k] = w[k] * a;
        w[k + 1] += a * w[k];
        e += w[k] * w[k + 1];
        w[len] = e;
        len++;
    }
    return e;
}
double drift_plain(const double* x0, const double* v0, int n, double dt, int steps, double* x, double* v) {
    for (int i = 0; i < n; ++i) {
        x[i] = x0[i];
        v[i] = v0[i];
    }
    double e = 0;
    for (int s = 0; s < steps; ++s) {
        for (int i = 0; i < n; ++i) {
            v[i] += dt * x[i] / (1.0 + i);
            x[i] += dt * v[i];
        }
        for (int i = 0; i + 1 < n; ++i) {
            e += (x[i + 1] - x[i]) * (x[i + 1] - x[i]);
        }
    }
    return e;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def _saves(code: str, what: str) -> int:
    return len(re.findall(rf"::pyclad::push\(_t\d+, {re.escape(what)}\)", code))


def _against_fd(f, args, wrt, got):
    names = [p.name for p in f.ir.params]
    for w, value in zip(wrt, got):
        k = names.index(w)
        for e in range(len(args[k])):
            want = fd(f, args, k, e)
            assert abs(value[e] - want) <= 1e-7 * max(1.0, abs(want)), (w, e, value[e], want)


@pytest.mark.parametrize("checked", [False, True])
def test_a_record_field_the_reverse_sweep_never_reads_is_not_saved(m, checked):
    x0, v0 = arr(0.1, 1.3, 1.9, 3.2), arr(0.2, -0.1, 0.05, 0.3)
    args = [x0, v0, 4, 0.05, 3]
    g = pyclad.gradient(m.drift, "x0, v0", checked=checked)
    got = g(*args)
    _against_fd(m.drift, args, ["x0", "v0"], got)
    plain = pyclad.gradient(m.drift_plain, "x0, v0", checked=checked)(*args, np.zeros(4), np.zeros(4))
    np.testing.assert_allclose(got, plain, rtol=1e-12, atol=1e-14)
    main = g.code.split("void drift_grad")[-1]
    assert _saves(main, "ps[i0].x") == 1  # the spread's pullback reads x
    assert _saves(main, "ps[i0].v") == 0  # no partial and no callee reads v


def _function(code: str, name: str) -> str:
    return code.split(f"void {name}(")[1].split("\n}\n")[0]


@pytest.mark.parametrize("checked", [False, True])
def test_a_pullback_leaves_alone_a_reference_parameter_whose_stores_its_reverse_sweep_never_reads(m, checked):
    x0 = arr(0.1, 1.3, 1.9, 3.2)
    args = [x0, 4, 1.5, 0.05, 3]
    g = pyclad.gradient(m.pushed, "x0, k", checked=checked)
    got = g(*args)
    _against_fd(m.pushed, args, ["x0"], got[:1])
    assert abs(got[1] - fd(m.pushed, args, 2)) <= 1e-7 * max(1.0, abs(got[1]))
    plain = pyclad.gradient(m.pushed_plain, "x0, k", checked=checked)(*args, *(np.zeros(4) for _ in range(3)))
    np.testing.assert_allclose(got[0], plain[0], rtol=1e-12, atol=1e-14)
    assert abs(got[1] - plain[1]) <= 1e-12 * max(1.0, abs(plain[1]))
    fill = _function(g.code, "fill_pullback")
    assert "f[i] =" not in fill and "f[i0] +=" not in fill  # the forward sweep stores nothing into f
    assert "::pyclad::tape" not in fill and "::pyclad::push" not in fill
    square = _function(g.code, "square_pullback")
    assert "::pyclad::push(_t0, f[i])" in square  # its partial reads f: saved and restored


PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(scope="module")
def particles():
    return pyclad.load(PROGRAMS / "particles.cpp"), pyclad.load(PROGRAMS / "particles_plain.cpp")


@pytest.mark.parametrize("checked", [False, True])
def test_the_particle_gradient_saves_positions_only_and_gives_the_masses_no_adjoint(particles, checked):
    m, mp = particles
    n, steps = 5, 4
    x0 = np.arange(n) + 0.1 * np.sin(np.arange(n))
    v0, mass = 0.1 * np.cos(np.arange(n)), 1.0 + 0.1 * np.arange(n)
    args = [x0, v0, mass, n, 1.7, 0.05, steps]
    g = pyclad.gradient(m.simulate, "x0, v0, k", checked=checked)
    got = g(*args)
    plain = pyclad.gradient(mp.simulate_plain, "x0, v0, k", checked=checked)(
        *args, *(np.zeros(n) for _ in range(3))
    )
    for a, b in zip(got, plain):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    assert abs(got[2] - fd(m.simulate, args, 4)) <= 1e-6 * max(1.0, abs(got[2]))
    main = g.code.split("void simulate_grad")[-1]
    assert ".m +=" not in main  # the masses come from an input outside wrt: no adjoint
    assert "::pyclad::tape<::std::vector<double>>" not in main  # the forces are never saved whole
    assert re.findall(r"::pyclad::push\(_t\d+, ([^)]*)\)", main).count("ps[i0].x") == 1
    assert "::pyclad::tape" not in _function(g.code, "forces_pullback")


def test_a_record_parameters_adjoint_is_accumulated_in_a_local_record_inside_loops(particles):
    m, mp = particles
    n, steps = 4, 3
    args = [np.arange(n) + 0.05, 0.1 * np.ones(n), 1.0 + 0.2 * np.arange(n), n, 2.1, 0.05, steps]
    g = pyclad.gradient(m.simulate, "x0, v0, k", checked=False)
    got = g(*args)
    want = pyclad.gradient(mp.simulate_plain, "x0, v0, k", checked=False)(
        *args, *(np.zeros(n) for _ in range(3))
    )
    assert abs(got[2] - want[2]) <= 1e-11 * max(1.0, abs(want[2]))
    forces = _function(g.code, "forces_pullback")
    body, tail = forces.rsplit("    }\n", 1)
    assert "Springs _d_s0 = {};" in forces and "_d_s0.anchor +=" in body
    assert "_d_s->" not in body  # the caller's record is added to once, after the loops
    assert "_d_s->anchor += _d_s0.anchor;" in tail


@pytest.mark.parametrize("checked", [False, True])
def test_a_vector_a_callee_overwrites_in_a_few_places_is_logged_element_by_element(m, checked):
    w0 = arr(0.7, -0.4, 1.1, 0.3, -0.8)
    args = [w0, 5, 1.3]
    g = pyclad.gradient(m.bumped, "w0, a", checked=checked)
    got = g(*args)
    _against_fd(m.bumped, args, ["w0"], got[:1])
    assert abs(got[1] - fd(m.bumped, args, 2)) <= 1e-7 * max(1.0, abs(got[1]))
    plain = pyclad.gradient(m.bumped_plain, "w0, a", checked=checked)(*args, np.zeros(10))
    np.testing.assert_allclose(got[0], plain[0], rtol=1e-12, atol=1e-14)
    assert abs(got[1] - plain[1]) <= 1e-12 * max(1.0, abs(plain[1]))
    assert "bump_reverse_forw(w, k, a, _log);" in g.code
    assert "::pyclad::save_element(_log, w, k, w[k]);" in _function(g.code, "bump_reverse_forw")
    assert "::pyclad::tape<::std::vector<double>>" not in g.code  # never the whole vector


def test_a_vector_a_callee_sweeps_over_is_copied_once_per_call_when_its_old_value_is_read(m):
    g = pyclad.gradient(m.pushed, "x0, k", checked=False)
    main = g.code.split("void pushed_grad")[-1]
    assert main.count("::pyclad::push(_t0, f);") == 1  # before square, whose partial reads f
    assert "_reverse_forw" not in main


def test_a_loop_local_no_partial_reads_is_not_recomputed_in_the_reverse_sweep(particles):
    _, mp = particles
    n = 4
    args = [np.arange(n) + 0.05, 0.1 * np.ones(n), 1.0 + 0.2 * np.arange(n), n, 2.1, 0.05, 3]
    g = pyclad.gradient(mp.simulate_plain, "x0, v0, k", checked=False)
    plain = args + [np.zeros(n) for _ in range(3)]
    got = g(*plain)
    for k in (0, 1):
        for e in range(n):
            want = fd(mp.simulate_plain, plain, k, e)
            assert abs(got[k][e] - want) <= 1e-7 * max(1.0, abs(want))
    assert abs(got[2] - fd(mp.simulate_plain, plain, 4)) <= 1e-7 * max(1.0, abs(got[2]))
    # t0 = k * (...) feeds f[i] += t0 and f[i + 1] -= t0, whose partials are constants
    assert g.code.count("t0 = k * (x[i4 + 1] - x[i4] - rest);") == 1  # the forward sweep's only


def test_the_header_of_a_gradient_that_logs_vector_elements_builds_warning_free_and_runs_clean(m, tmp_path):
    (tmp_path / "bumped.cpp").write_text(SRC)
    header = tmp_path / "bumped_grad.hpp"
    r = pyclad_cli("gen", str(tmp_path / "bumped.cpp"), "-f", "bumped", "--mode", "reverse", "--wrt", "w0, a")
    assert r.returncode == 0, r.stderr
    header.write_text(r.stdout)
    assert "::pyclad::save_element" in r.stdout
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "bumped.cpp"\n#include "bumped_grad.hpp"\n'
        "int main() {\n"
        "    double w0[5] = {0.7, -0.4, 1.1, 0.3, -0.8}, dw[5] = {0}, da = 0;\n"
        "    bumped_grad(w0, 5, 1.3, dw, &da);\n"
        '    for (double d : dw) std::printf("%.17g\\n", d);\n'
        '    std::printf("%.17g\\n", da);\n'
        "}\n"
    )
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra", "-Werror")
    assert not warnings
    got = [float(v) for v in out.split()]
    want = pyclad.gradient(m.bumped, "w0, a", checked=False)(arr(0.7, -0.4, 1.1, 0.3, -0.8), 5, 1.3)
    np.testing.assert_allclose(got[:5], want[0], rtol=1e-13, atol=1e-15)
    assert abs(got[5] - want[1]) <= 1e-13 * max(1.0, abs(want[1]))


def test_the_hessian_over_a_gradient_that_logs_vector_elements_matches_differences_of_the_gradient(m):
    w0, a = arr(0.7, -0.4, 1.1, 0.3, -0.8), 1.3
    H = pyclad.hessian(m.bumped, "w0[0:4], a")
    assert "::pyclad::save_element" in H.code
    g = pyclad.gradient(m.bumped, "w0, a", checked=False)
    eps, cols = 1e-6, []
    for k in range(6):
        step = np.eye(6)[k] * eps
        (gp, ap), (gm, am) = g(w0 + step[:5], 5, a + step[5]), g(w0 - step[:5], 5, a - step[5])
        cols.append(np.append(gp - gm, ap - am) / (2 * eps))
    np.testing.assert_allclose(H(w0, 5, a), np.array(cols).T, rtol=1e-6, atol=1e-6)
