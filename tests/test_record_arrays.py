"""Arrays of records from Python: a list of the module's record objects passes to ``const
Particle* ps`` / ``Particle ps[]`` and to ``std::vector<Particle>``; the gradient w.r.t. it is
a list of records of the same length.  Records holding containers (``struct Layer {
std::vector<double> w; double b; }``) in a ``std::vector``, as a parameter and as a local, in
forward and reverse mode.

Each derivative is compared with central finite differences of the primal and with the same
function written with plain arrays (``*_plain``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, gxx_build_and_run, pyclad_cli

import pyclad

SOURCE = """\
#include <cmath>
#include <vector>

struct Particle { double x, v, m; };

double energy(const Particle* ps, int n, double k) {
    double e = 0;
    for (int i = 0; i < n; ++i) e += 0.5 * ps[i].m * ps[i].v * ps[i].v + k * std::cos(ps[i].x);
    return e;
}
double energy_plain(const double* x, const double* v, const double* m, int n, double k) {
    double e = 0;
    for (int i = 0; i < n; ++i) e += 0.5 * m[i] * v[i] * v[i] + k * std::cos(x[i]);
    return e;
}

// Moves each particle (the caller's records are written), returns a potential of the result.
double kick(Particle ps[], int n, double dt) {
    double e = 0;
    for (int i = 0; i < n; ++i) {
        ps[i].x += dt * ps[i].v;
        e += ps[i].x * ps[i].x * ps[i].m;
    }
    return e;
}
double kick_plain(double* x, const double* v, const double* m, int n, double dt) {
    double e = 0;
    for (int i = 0; i < n; ++i) {
        x[i] += dt * v[i];
        e += x[i] * x[i] * m[i];
    }
    return e;
}

double triple(const Particle ps[3]) { return ps[0].x * ps[1].v + ps[2].m; }

double venergy(const std::vector<Particle>& ps, double k) {
    double e = 0;
    for (const Particle& p : ps) e += 0.5 * p.m * p.v * p.v + k * std::cos(p.x);
    return e;
}

struct Layer { std::vector<double> w; double b; };

double net(const std::vector<Layer>& ls, double x) {
    double h = x;
    for (const Layer& l : ls) {
        double s = l.b;
        for (std::size_t j = 0; j < l.w.size(); ++j) s += l.w[j] * std::pow(h, j + 1.0);
        h = std::tanh(s);
    }
    return h;
}
// The same network, its layers' weights in one flat array (offsets start[0..n]).
double net_plain(const double* w, const int* start, const double* b, int n, double x) {
    double h = x;
    for (int l = 0; l < n; ++l) {
        double s = b[l];
        for (int j = start[l]; j < start[l + 1]; ++j) s += w[j] * std::pow(h, j - start[l] + 1.0);
        h = std::tanh(s);
    }
    return h;
}

double layer(const Layer& l, double x) {
    double s = l.b;
    for (double w : l.w) s += w * x;
    return s * s;
}

// Layers built in the body: a std::vector<Layer> local, resized and filled.
double net_local(double x, double a) {
    std::vector<Layer> ls(2);
    ls[0].w.push_back(a);
    ls[0].w.push_back(2 * a * x);
    ls[0].b = x;
    ls[1].w.resize(1);
    ls[1].w[0] = x * a;
    ls[1].b = 0.5;
    double h = x;
    for (const Layer& l : ls) {
        double s = l.b;
        for (double w : l.w) s += w * h;
        h = std::tanh(s);
    }
    return h;
}
double net_local_plain(double x, double a) {
    double h = std::tanh(x + a * x + 2 * a * x * x);
    return std::tanh(0.5 + x * a * h);
}
"""

FIELDS = ("x", "v", "m")
K, DT = 0.8, 0.3
STATES = [(0.4, 1.5, 2.0), (-1.1, 0.2, 0.5), (2.3, -0.7, 1.25)]


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="record_arrays.cpp")


def particles(m, states=STATES):
    return [m.Particle(*s) for s in states]


def columns(states=STATES):
    """The plain twin's arrays: x, v and m of every particle."""
    return [np.array([s[k] for s in states]) for k in range(3)]


def values(records, names=FIELDS):
    return np.array([[getattr(r, f) for f in names] for r in records])


def fd_records(f, make, k, field, h=1e-5):
    """Central difference of ``f(*make())`` in ``field`` of record ``k`` of the first argument
    (``make`` gives fresh arguments: the primal may write its records)."""

    def at(delta):
        args = make()
        setattr(args[0][k], field, getattr(args[0][k], field) + delta)
        return f(*args)

    return (at(h) - at(-h)) / (2 * h)


def assert_all_close(got, want, rtol=1e-8, atol=1e-10):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (got, want)
    for g, w in zip(got.ravel(), want.ravel()):
        assert_close(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------- arrays of records
@pytest.mark.parametrize("checked", [True, False])
def test_a_list_of_records_passes_to_a_const_record_pointer_and_its_gradient_is_a_list_of_records(m, checked):
    ps = particles(m)
    gps, gk = pyclad.gradient(m.energy, "ps, k", checked=checked)(ps, 3, K)
    assert isinstance(gps, list) and len(gps) == 3 and all(type(r) is type(ps[0]) for r in gps)
    gx, gv, gm, gk_plain = pyclad.gradient(m.energy_plain, "x, v, m, k")(*columns(), 3, K)
    assert_all_close(values(gps), np.stack([gx, gv, gm], axis=1))
    assert_close(gk, gk_plain)
    for k in range(3):
        for j, f in enumerate(FIELDS):
            want = fd_records(m.energy, lambda: [particles(m), 3, K], k, f)
            assert_close(values(gps)[k, j], want, rtol=1e-6, atol=1e-8)
    assert m.energy(ps, 3, K) == pytest.approx(m.energy_plain(*columns(), 3, K), rel=1e-15)


@pytest.mark.parametrize("checked", [True, False])
def test_the_primal_writes_an_array_of_records_back_into_the_list_and_derivatives_leave_it_alone(m, checked):
    ps = particles(m)
    g = pyclad.gradient(m.kick, checked=checked)(ps, 3, DT)
    assert_all_close(values(ps), STATES)  # the gradient worked on a copy
    x, v, mass = columns()
    gx, gv, gm, gdt = pyclad.gradient(m.kick_plain, "x, v, m, dt")(x.copy(), v, mass, 3, DT)
    assert_all_close(values(g[0]), np.stack([gx, gv, gm], axis=1))
    assert_close(g[1], gdt)
    for k in range(3):
        want = fd_records(m.kick, lambda: [particles(m), 3, DT], k, "v")
        assert_close(values(g[0])[k, 1], want, rtol=1e-6, atol=1e-8)
    value = m.kick(ps, 3, DT)
    assert value == pytest.approx(m.kick_plain(x, v, mass, 3, DT), rel=1e-15)
    assert_all_close([p.x for p in ps], x)  # each object of the list updated in place
    assert_all_close([p.v for p in ps], v)


def test_value_and_grad_of_a_function_writing_its_records_takes_both_at_the_arguments_given(m):
    ps = particles(m)
    value, (gps, gdt) = pyclad.value_and_grad(m.kick)(ps, 3, DT)
    x, v, mass = columns()
    assert value == pytest.approx(m.kick_plain(x.copy(), v, mass, 3, DT), rel=1e-15)
    assert_close(gdt, pyclad.gradient(m.kick_plain, "dt")(x.copy(), v, mass, 3, DT))
    assert_close(
        gdt, (m.kick(particles(m), 3, DT + 1e-6) - m.kick(particles(m), 3, DT - 1e-6)) / 2e-6, rtol=1e-7
    )
    assert_close(values(gps)[1, 2], fd_records(m.kick, lambda: [particles(m), 3, DT], 1, "m"), rtol=1e-6)
    assert_all_close(values(ps), STATES)


def test_forward_mode_through_an_array_of_records_agrees_with_finite_differences(m):
    d = pyclad.differentiate(m.kick, "dt")
    want = (m.kick(particles(m), 3, DT + 1e-6) - m.kick(particles(m), 3, DT - 1e-6)) / 2e-6
    ps = particles(m)
    assert_close(d(ps, 3, DT), want, rtol=1e-7)
    assert_all_close(values(ps), STATES)


def test_a_cppyy_vector_of_records_passes_its_own_storage(m):
    import cppyy

    vec = cppyy.gbl.std.vector[type(m.Particle())]()
    for s in STATES:
        vec.push_back(m.Particle(*s))
    gps, _ = pyclad.gradient(m.energy, "ps, k")(vec, 3, K)
    want, _ = pyclad.gradient(m.energy, "ps, k")(particles(m), 3, K)
    assert_all_close(values(gps), values(want))
    m.kick(vec, 3, DT)  # the primal writes the vector in place
    assert_all_close([p.x for p in vec], [s[0] + DT * s[1] for s in STATES])


def test_one_record_passed_to_a_record_pointer_is_an_array_of_one_and_its_gradient_one_record(m):
    p = m.Particle(*STATES[0])
    g = pyclad.gradient(m.energy, "ps")(p, 1, K)
    assert type(g) is type(p)
    want = pyclad.gradient(m.energy, "ps")([m.Particle(*STATES[0])], 1, K)
    assert_all_close(values([g]), values(want))


def test_bad_arrays_of_records_are_argument_errors_naming_the_parameter(m):
    g = pyclad.gradient(m.energy)
    bad = [
        ([m.Particle(*STATES[0]), m.Layer([1.0], 0.0)], r"argument 'ps' of energy .*element 1 is a Layer"),
        ([m.Particle(*STATES[0]), 2.0], r"argument 'ps' of energy .*element 1 is a float"),
        ([], r"argument 'ps' of energy is an empty list"),
        (np.zeros(3, dtype=[("x", "f8"), ("v", "f8"), ("m", "f8")]), r"argument 'ps' .*not a numpy array"),
    ]
    for arg, message in bad:
        for call in (g, m.energy):
            with pytest.raises(pyclad.ArgumentError, match=message):
                call(arg, 1, K)
    with pytest.raises(pyclad.ArgumentError, match=r"'ps' of triple is declared Particle ps\[3\].*has 2"):
        m.triple(particles(m)[:2])
    with pytest.raises(pyclad.ArgumentError, match=r"'ps' of triple is declared Particle ps\[3\]"):
        pyclad.gradient(m.triple)(particles(m)[:2])
    with pytest.raises(
        pyclad.BoundsError, match=r"declared Particle ps\[3\], but the array passed has length 1"
    ):
        m.triple(m.Particle(*STATES[0]))  # one record is an array of one
    assert m.triple(particles(m)) == pytest.approx(0.4 * 0.2 + 1.25)
    with pytest.raises(pyclad.ArgumentError, match=r"'ps.x' seeds one record.*an array of 3 records"):
        pyclad.differentiate(m.energy, "ps.x")(particles(m), 3, K)


def test_a_count_beyond_the_list_is_a_located_bounds_error_and_nothing_is_written(m):
    with pytest.raises(pyclad.BoundsError, match=r"'ps' \(length 3\)") as err:
        pyclad.gradient(m.energy)(particles(m), 5, K)
    assert err.value.loc.line == 8


# ---------------------------------------------------------------------------- std::vector<Particle>
@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_of_records_takes_a_list_and_its_gradient_is_a_list_of_records(m, checked):
    gps, gk = pyclad.gradient(m.venergy, checked=checked)(particles(m), K)
    assert isinstance(gps, list) and len(gps) == 3
    gx, gv, gm, gk_plain = pyclad.gradient(m.energy_plain, "x, v, m, k")(*columns(), 3, K)
    assert_all_close(values(gps), np.stack([gx, gv, gm], axis=1))
    assert_close(gk, gk_plain)
    want = fd_records(m.venergy, lambda: [particles(m), K], 2, "x")
    assert_close(values(gps)[2, 0], want, rtol=1e-6, atol=1e-8)


def test_a_vector_of_records_refuses_other_classes_and_numpy_arrays(m):
    with pytest.raises(pyclad.ArgumentError, match=r"argument 'ps' of venergy .*element 0 is a Layer"):
        pyclad.gradient(m.venergy)([m.Layer([1.0], 0.0)], K)
    with pytest.raises(pyclad.ArgumentError, match=r"argument 'ps' of venergy .*pass a list of the module's"):
        m.venergy(np.zeros(3), K)


# ---------------------------------------------------------------------------- records holding containers
LAYERS = [([0.5, -0.3], 0.1), ([1.2, 0.4, -0.6], -0.2), ([0.7], 0.05)]
X = 0.7


def layers(m):
    return [m.Layer(list(w), b) for w, b in LAYERS]


def flat():
    w = np.concatenate([np.array(w) for w, _ in LAYERS])
    start = np.cumsum([0] + [len(w) for w, _ in LAYERS]).astype(np.int32)
    return w, start, np.array([b for _, b in LAYERS]), len(LAYERS)


def fd_weight(m, k, j, h=1e-5):
    def at(delta):
        ls = layers(m)
        ls[k].w[j] += delta
        return m.net(ls, X)

    return (at(h) - at(-h)) / (2 * h)


@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_of_layers_holding_vectors_has_a_gradient_shaped_like_it(m, checked):
    ls = layers(m)
    gls, gx = pyclad.gradient(m.net, checked=checked)(ls, X)
    assert [len(g.w) for g in gls] == [len(w) for w, _ in LAYERS]
    w, start, b, n = flat()
    gw, gb, gx_plain = pyclad.gradient(m.net_plain, "w, b, x")(w, start, b, n, X)
    assert_all_close(np.concatenate([list(g.w) for g in gls]), gw)
    assert_all_close([g.b for g in gls], gb)
    assert_close(gx, gx_plain)
    for k, (ws, _) in enumerate(LAYERS):
        for j in range(len(ws)):
            assert_close(gls[k].w[j], fd_weight(m, k, j), rtol=1e-6, atol=1e-9)
    assert [list(lay.w) for lay in ls] == [w for w, _ in LAYERS]  # the caller's layers unchanged


@pytest.mark.parametrize("checked", [True, False])
def test_forward_mode_through_a_vector_of_layers_agrees_with_finite_differences(m, checked):
    d = pyclad.differentiate(m.net, "x", checked=checked)(layers(m), X)
    want = (m.net(layers(m), X + 1e-6) - m.net(layers(m), X - 1e-6)) / 2e-6
    assert_close(d, want, rtol=1e-7)
    w, start, b, n = flat()
    assert_close(d, pyclad.differentiate(m.net_plain, "x")(w, start, b, n, X))


def test_the_gradient_wrt_one_record_holding_a_vector_is_a_record_with_a_vector_of_its_size(m):
    lay = m.Layer([0.5, -0.3, 0.9], 0.1)
    g, gx = pyclad.gradient(m.layer)(lay, X)
    s = 0.1 + (0.5 - 0.3 + 0.9) * X  # d s^2 = 2 s ds, by hand
    assert_all_close(list(g.w), [2 * s * X] * 3)
    assert_close(g.b, 2 * s)
    assert_close(gx, 2 * s * (0.5 - 0.3 + 0.9))


@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_of_layers_built_in_the_body_in_forward_and_reverse_mode(m, checked):
    a = -0.4
    ga = pyclad.gradient(m.net_local, checked=checked)(X, a)
    want = pyclad.gradient(m.net_local_plain)(X, a)
    assert_all_close(ga, want)
    assert_close(ga[1], (m.net_local(X, a + 1e-6) - m.net_local(X, a - 1e-6)) / 2e-6, rtol=1e-7)
    assert_close(pyclad.differentiate(m.net_local, "x", checked=checked)(X, a), want[0])
    assert m.net_local(X, a) == pytest.approx(m.net_local_plain(X, a), rel=1e-14)


def test_generated_gradients_of_vectors_of_records_compile_cleanly_and_run_under_the_sanitizers(tmp_path):
    (tmp_path / "model.cpp").write_text(SOURCE)
    for name in ("venergy", "net", "net_local"):
        r = pyclad_gen(tmp_path, name)
        assert r.returncode == 0, r.stderr
    r = pyclad_cli(
        "gen",
        "model.cpp",
        "-f",
        "net_local",
        "--mode",
        "forward",
        "--wrt",
        "x",
        "-o",
        "fwd.hpp",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    main = """\
#include <cstdio>
#include "model.cpp"
#include "venergy.hpp"
#include "net.hpp"
#include "net_local.hpp"
#include "fwd.hpp"
int main() {
    std::vector<Particle> ps = {{0.4, 1.5, 2.0}, {-1.1, 0.2, 0.5}};
    std::vector<Particle> dps(2);
    double dk = 0;
    venergy_grad(ps, 0.8, &dps, &dk);
    std::printf("%.12f %.12f %.12f %.12f\\n", dps[0].x, dps[1].v, dps[1].m, dk);
    std::vector<Layer> ls = {{{0.5, -0.3}, 0.1}, {{1.2}, -0.2}};
    std::vector<Layer> dls = {{{0.0, 0.0}, 0.0}, {{0.0}, 0.0}};
    double dx = 0;
    net_grad(ls, 0.7, &dls, &dx);
    std::printf("%.12f %.12f %.12f %.12f\\n", dls[0].w[1], dls[1].w[0], dls[0].b, dx);
    double lx = 0, la = 0;
    net_local_grad(0.7, -0.4, &lx, &la);  // a std::vector<Layer> local: its adjoint shaped like it
    std::printf("%.12f %.12f %.12f\\n", lx, la, net_local_darg0(0.7, -0.4));
}
"""
    (tmp_path / "main.cpp").write_text(main)
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra")
    assert warnings == ""
    m = pyclad.cppdef(SOURCE)
    gps, gk = pyclad.gradient(m.venergy)([m.Particle(0.4, 1.5, 2.0), m.Particle(-1.1, 0.2, 0.5)], 0.8)
    gls, gx = pyclad.gradient(m.net)([m.Layer([0.5, -0.3], 0.1), m.Layer([1.2], -0.2)], 0.7)
    first, second, third = out.splitlines()
    want = list(pyclad.gradient(m.net_local_plain)(0.7, -0.4))  # the plain twin, written by hand
    assert_all_close([float(v) for v in third.split()], want + want[:1], rtol=1e-10)
    assert_all_close([float(v) for v in first.split()], [gps[0].x, gps[1].v, gps[1].m, gk], rtol=1e-10)
    assert_all_close([float(v) for v in second.split()], [gls[0].w[1], gls[1].w[0], gls[0].b, gx], rtol=1e-10)


def pyclad_gen(tmp, name):
    return pyclad_cli("gen", "model.cpp", "-f", name, "--mode", "reverse", "-o", f"{name}.hpp", cwd=tmp)
