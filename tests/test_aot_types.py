"""Ahead-of-time modules (`pyclad build`) with index arrays, standard containers, records,
arrays and vectors of records: the calling conventions of the JIT path (numpy in; numpy
arrays, records of the module's classes and lists of them out), checked against finite
differences of the module's own primal, plain-array twins and the JIT.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import assert_close, pyclad_cli

import pyclad

pytest.importorskip("pybind11")
if shutil.which("g++") is None and not os.environ.get("CXX"):
    pytest.skip("a C++ compiler is needed", allow_module_level=True)

MODEL = """\
#include <array>
#include <cmath>
#include <vector>

struct Particle { double x, v, m; };
struct Layer { std::vector<double> w; double b; };
struct Params { double a = 1.0, b = 2.0; int n = 3; };

double gather(const double* x, const int* idx, const long* jdx, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += x[idx[i]] * x[jdx[i]];
    return s;
}
double shift(int* idx, int n, double x) {
    for (int i = 0; i < n; ++i) idx[i] += 1;
    return x * idx[0];
}
double vsum(const std::vector<double>& v, std::array<double, 3> q, double k) {
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += std::sin(v[i] * k);
    return s + q[0] * q[1] * q[2] * k;
}
double rows(const std::vector<std::vector<double>>& m) {
    double s = 0;
    for (const auto& r : m) for (double x : r) s += x * x * x;
    return s;
}
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
double kick(Particle ps[], int n, double dt) {
    double e = 0;
    for (int i = 0; i < n; ++i) { ps[i].x += dt * ps[i].v; e += ps[i].x * ps[i].x * ps[i].m; }
    return e;
}
double triple(const Particle ps[3]) { return ps[0].x * ps[1].v + ps[2].m; }
double venergy(const std::vector<Particle>& ps, double k) {
    double e = 0;
    for (const Particle& p : ps) e += 0.5 * p.m * p.v * p.v + k * std::cos(p.x);
    return e;
}
double net(const std::vector<Layer>& ls, double x) {
    double h = x;
    for (const Layer& l : ls) {
        double s = l.b;
        for (double w : l.w) s += w * h;
        h = std::tanh(s);
    }
    return h;
}
double score(Params p, const Params& q, Params& r, double x) {
    r.a *= x;
    return p.a * q.b * x + r.a * r.b + p.n;
}
double grow(std::vector<double>& v, double x) { v.push_back(x); return v[0] * x + v.back(); }
"""

REVERSE = [
    "gather",
    "shift",
    "vsum",
    "rows",
    "energy",
    "energy_plain",
    "kick",
    "triple",
    "venergy",
    "net",
    "score",
    "grow",
]
FORWARD = ["vsum", "kick", "net", "score"]
STATES = [(0.4, 1.5, 2.0), (-1.1, 0.2, 0.5), (2.3, -0.7, 1.25)]
K, DT, X = 0.8, 0.3, 0.7
H = 1e-6


@pytest.fixture(scope="module")
def mods(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aot_types")
    (tmp / "types.cpp").write_text(MODEL)
    builds = {  # name -> functions, mode, wrt
        "types_rev": (REVERSE, "reverse", None),
        "types_fwd": (FORWARD, "forward", None),
        "types_elem": (["vsum"], "forward", "v[1]"),
        "types_field": (["score"], "forward", "r.a"),
    }

    def one(name):
        functions, mode, wrt = builds[name]
        return pyclad.build(tmp / "types.cpp", functions, mode, wrt, out_dir=tmp / "out", name=name)

    with ThreadPoolExecutor(2) as pool:
        rev, fwd, elem, field = pool.map(one, builds)
    return tmp, rev, fwd, (elem, field), pyclad.load(tmp / "types.cpp")


def close(got, want, rtol=1e-10):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (got, want)
    for g, w in zip(got.ravel(), want.ravel()):
        assert_close(g, w, rtol=rtol, atol=1e-10)


def particles(mod, states=STATES):
    return [mod.Particle(*s) for s in states]


def values(records, names=("x", "v", "m")):
    return np.array([[getattr(r, f) for f in names] for r in records])


def central(f, at):
    """Central difference of ``f(at(delta))`` in delta."""
    return (f(*at(H)) - f(*at(-H))) / (2 * H)


# ---------------------------------------------------------------------------- index arrays
def test_index_arrays_take_int32_and_int64_arrays_and_lists_as_the_jit_does(mods):
    _, rev, _, _, jit = mods
    x = np.array([0.3, -1.2, 2.0, 0.7])
    idx, jdx = np.array([0, 2, 3], np.int32), np.array([1, 1, 3], np.int64)
    assert rev.gather(x, idx, jdx, 3) == pytest.approx(0.3 * -1.2 + 2.0 * -1.2 + 0.7 * 0.7, rel=1e-15)
    (g,) = rev.gather_grad(x, idx, jdx, 3)
    close(g, [-1.2, 0.3 + 2.0, -1.2, 2 * 0.7])  # d/dx of x0 x1 + x2 x1 + x3^2, by hand
    close(rev.gather_grad(x, [0, 2, 3], [1.0, 1.0, 3.0], 3)[0], g)  # converted when every value fits
    close(g, pyclad.gradient(jit.gather)(x, idx, jdx, 3)[0])


@pytest.mark.parametrize(
    "bad,message",
    [
        ([0.5, 1, 2], "non-integer values"),
        ([0, 1, 2**40], "outside its range"),
        ([], "empty array"),
        (3.0, "pass an array"),
    ],
    ids=["fraction", "range", "empty", "scalar"],
)
def test_bad_index_arrays_are_argument_errors_naming_the_parameter(mods, bad, message):
    _, rev, _, _, jit = mods
    x = np.ones(4)
    with pytest.raises(pyclad.ArgumentError, match=f"argument 'idx' of gather .*{message}") as aot:
        rev.gather_grad(x, bad, np.zeros(3, np.int64), 3)
    with pytest.raises(pyclad.ArgumentError, match=message) as jit_err:
        pyclad.gradient(jit.gather)(x, bad, np.zeros(3, np.int64), 3)
    assert aot.value.loc.line == jit_err.value.loc.line == 9


def test_an_index_array_the_primal_writes_must_be_its_exact_dtype_and_is_written_in_place(mods):
    _, rev, _, _, _ = mods
    idx = np.array([1, 5], np.int32)
    assert rev.shift(idx, 2, 1.5) == 3.0
    assert list(idx) == [2, 6]
    assert rev.shift_grad(idx, 2, 1.5) == (3.0,) and list(idx) == [2, 6]  # a derivative copies
    with pytest.raises(pyclad.ArgumentError, match="writable C-contiguous int32"):
        rev.shift(np.array([1, 5], np.int64), 2, 1.5)
    with pytest.raises(pyclad.ArgumentError, match="writable C-contiguous int32"):
        rev.shift([1, 5], 2, 1.5)


# ---------------------------------------------------------------------------- containers
def test_vectors_and_std_arrays_take_numpy_arrays_and_lists_and_gradients_are_numpy_arrays(mods):
    _, rev, fwd, one, jit = mods
    v, q = np.array([0.1, 0.5, -0.3]), [1.0, 2.0, 3.0]
    gv, gq, gk = rev.vsum_grad(v, q, K)
    assert isinstance(gv, np.ndarray) and isinstance(gq, np.ndarray)
    close(gv, K * np.cos(v * K))  # by hand
    close(gq, [6 * K / 1.0, 6 * K / 2.0, 6 * K / 3.0])
    close(gk, np.sum(v * np.cos(v * K)) + 6.0)
    close(gk, central(rev.vsum, lambda d: (v, q, K + d)), rtol=1e-7)
    close(fwd.vsum_darg2(list(v), np.array(q), K), gk)
    close(one[0].vsum_darg0_1(v, q, K), K * np.cos(0.5 * K))
    for got, want in zip(rev.vsum_grad(v, q, K), pyclad.gradient(jit.vsum)(v, q, K)):
        close(got, want)


def test_a_vector_of_vectors_takes_a_list_of_rows_and_its_gradient_is_a_list_of_arrays(mods):
    _, rev, _, _, _ = mods
    (g,) = rev.rows_grad([np.array([1.0, 2.0]), [3.0]])
    assert isinstance(g, list) and [r.shape for r in g] == [(2,), (1,)]
    close(np.concatenate(g), [3.0, 12.0, 27.0])  # 3 x^2


@pytest.mark.parametrize(
    "args,message",
    [
        ((np.ones(2), [1.0, 2.0], K), r"argument 'q' of vsum .*pass exactly 3 numbers, got 2"),
        ((3.0, [1.0, 2.0, 3.0], K), r"argument 'v' of vsum is a container: pass an array or a list"),
        ((np.ones((2, 2)), [1.0, 2.0, 3.0], K), r"argument 'v' of vsum .*expected a 1-D array"),
        ((["a"], [1.0, 2.0, 3.0], K), r"argument 'v' of vsum .*expected numbers"),
    ],
    ids=["short-array", "scalar", "2-d", "strings"],
)
def test_bad_container_arguments_are_argument_errors_as_on_the_jit_path(mods, args, message):
    _, rev, _, _, jit = mods
    with pytest.raises(pyclad.ArgumentError, match=message):
        rev.vsum_grad(*args)
    with pytest.raises(pyclad.ArgumentError, match=message.replace(" .*", ".*")):
        pyclad.gradient(jit.vsum)(*args)


def test_a_non_const_container_reference_is_differentiated_on_a_copy_and_the_primal_says_why_it_cannot(mods):
    _, rev, _, _, _ = mods
    v = np.array([2.0, 1.0])
    gv, gx = rev.grow_grad(v, X)
    close(gv, [X, 0.0])  # d/dv of v0 x + x (the pushed x is the last element)
    close(gx, 2.0 + 1.0)
    close(v, [2.0, 1.0])
    with pytest.raises(pyclad.ArgumentError, match=r"'v' of grow .*non-const reference.*call a derivative"):
        rev.grow(v, X)


# ---------------------------------------------------------------------------- records
def test_records_are_the_modules_classes_and_the_gradient_wrt_a_record_is_a_record(mods):
    _, rev, fwd, one, jit = mods
    p, q, r = rev.Params(1.5, -0.5, 2), rev.Params(0.3, 0.8, 1), rev.Params()
    assert (r.a, r.b, r.n) == (1.0, 2.0, 3)  # default member initialisers kept
    gp, gq, gr, gx = rev.score_grad(p, q, r, X)
    assert all(type(g) is rev.Params for g in (gp, gq, gr))
    # score = p.a q.b x + r.a x r.b + p.n, by hand
    close(
        [gp.a, gp.b, gq.a, gq.b, gr.a, gr.b, gx], [0.8 * X, 0, 0, 1.5 * X, X * 2.0, 1.0 * X, 1.5 * 0.8 + 2.0]
    )
    assert (r.a, r.b) == (1.0, 2.0)  # a derivative works on a copy
    # Each module has its own classes (pybind11's module-local types): records are built per module.
    with pytest.raises(
        pyclad.ArgumentError, match=r"module's class Params .*got a types_rev\._native\.Params"
    ):
        fwd.score_darg3(p, q, r, X)
    close(fwd.score_darg3(fwd.Params(1.5, -0.5, 2), fwd.Params(0.3, 0.8, 1), fwd.Params(), X), gx)
    field = one[1]
    close(field.score_darg2_a(field.Params(1.5, -0.5, 2), field.Params(0.3, 0.8, 1), field.Params(), X), gr.a)
    jp, jq, jr = jit.Params(1.5, -0.5, 2), jit.Params(0.3, 0.8, 1), jit.Params()
    jg = pyclad.gradient(jit.score)(jp, jq, jr, X)
    close([g.a for g in (gp, gq, gr)] + [gx], [g.a for g in jg[:3]] + [jg[3]])
    assert rev.score(p, q, r, X) == pytest.approx(1.5 * 0.8 * X + X * 2.0 + 2)
    assert r.a == pytest.approx(X)  # the primal wrote the record passed by reference


def test_a_record_of_another_class_is_an_argument_error_naming_the_parameter(mods):
    _, rev, _, _, _ = mods
    with pytest.raises(
        pyclad.ArgumentError, match=r"argument 'q' of score is const Params &: pass an object of the"
    ):
        rev.score_grad(rev.Params(), rev.Particle(), rev.Params(), X)
    with pytest.raises(pyclad.ArgumentError, match=r"argument 'p' of score .*got a float"):
        rev.score(1.0, rev.Params(), rev.Params(), X)
    with pytest.raises(TypeError, match="at most 3 field values"):
        rev.Params(1.0, 2.0, 3, 4)


# ---------------------------------------------------------------------------- arrays and vectors of records
def test_an_array_of_records_takes_a_list_and_its_gradient_is_a_list_of_records(mods):
    _, rev, _, _, _ = mods
    ps = particles(rev)
    gps, gk = rev.energy_grad(ps, 3, K)
    assert isinstance(gps, list) and len(gps) == 3 and all(type(g) is rev.Particle for g in gps)
    cols = [np.array([s[k] for s in STATES]) for k in range(3)]
    gx, gv, gm, gk_plain = rev.energy_plain_grad(*cols, 3, K)
    close(values(gps), np.stack([gx, gv, gm], axis=1))
    close(gk, gk_plain)

    def moved(k, field):
        def at(d):
            out = particles(rev)
            setattr(out[k], field, getattr(out[k], field) + d)
            return out, 3, K

        return at

    close(values(gps)[1, 0], central(rev.energy, moved(1, "x")), rtol=1e-7)
    close(values(gps)[2, 2], central(rev.energy, moved(2, "m")), rtol=1e-7)
    (one,) = [rev.energy_grad(rev.Particle(*STATES[0]), 1, K)[0]]
    assert type(one) is rev.Particle  # one object in, one record out
    close(values([one]), values(gps[:1]))


def test_the_primal_writes_an_array_of_records_back_into_the_objects_and_forward_mode_goes_through_it(mods):
    _, rev, fwd, _, jit = mods
    ps = particles(rev)
    gps, gdt = rev.kick_grad(ps, 3, DT)
    close(values(ps), STATES)  # the gradient worked on a copy
    close(gdt, central(rev.kick, lambda d: (particles(rev), 3, DT + d)), rtol=1e-7)
    close(fwd.kick_darg2(particles(fwd), 3, DT), gdt)
    jg = pyclad.gradient(jit.kick)([jit.Particle(*s) for s in STATES], 3, DT)
    close(values(gps), values(jg[0]))
    value = rev.kick(ps, 3, DT)
    close([p.x for p in ps], [s[0] + DT * s[1] for s in STATES])
    assert value == pytest.approx(sum((s[0] + DT * s[1]) ** 2 * s[2] for s in STATES), rel=1e-14)


def test_bad_arrays_of_records_are_argument_errors_and_a_count_beyond_them_a_bounds_error(mods):
    _, rev, _, _, _ = mods
    for arg, message in [
        (
            [rev.Particle(), rev.Params()],
            r"'ps' of energy .*element 1 is a .*Params, not the module's class Particle",
        ),
        ([], r"'ps' of energy is an empty list of Particle"),
        (np.zeros(3), r"'ps' of energy .*not a numpy array"),
        (2.0, r"'ps' of energy .*pass an object of the module's class Particle"),
    ]:
        with pytest.raises(pyclad.ArgumentError, match=message):
            rev.energy_grad(arg, 1, K)
    with pytest.raises(
        pyclad.ArgumentError, match=r"declared Particle ps\[3\], but the list passed has 2 records"
    ):
        rev.triple(particles(rev)[:2])
    with pytest.raises(pyclad.BoundsError, match=r"'ps' \(length 3\)"):
        rev.energy_grad(particles(rev), 5, K)


def test_a_vector_of_records_and_of_records_holding_vectors_have_gradients_shaped_like_them(mods):
    _, rev, fwd, _, jit = mods
    gps, _ = rev.venergy_grad(particles(rev), K)
    want, _ = rev.energy_grad(particles(rev), 3, K)
    close(values(gps), values(want))
    layers = [([0.5, -0.3], 0.1), ([1.2, 0.4, -0.6], -0.2)]
    ls = [rev.Layer(w, b) for w, b in layers]
    gls, gx = rev.net_grad(ls, X)
    assert [len(g.w) for g in gls] == [2, 3]

    def moved(k, j):
        def at(d):
            out = [rev.Layer(list(w), b) for w, b in layers]
            w = out[k].w
            w[j] += d
            out[k].w = w  # a container field reads as a copy: set it back
            return out, X

        return at

    for k, (w, _) in enumerate(layers):
        for j in range(len(w)):
            close(gls[k].w[j], central(rev.net, moved(k, j)), rtol=1e-6)
    close(gx, central(rev.net, lambda d: ([rev.Layer(w, b) for w, b in layers], X + d)), rtol=1e-7)
    close(fwd.net_darg1([fwd.Layer(w, b) for w, b in layers], X), gx)
    jg = pyclad.gradient(jit.net)([jit.Layer(w, b) for w, b in layers], X)
    close(np.concatenate([g.w for g in gls]), np.concatenate([list(g.w) for g in jg[0]]))


def test_jacobians_of_functions_taking_records_are_refused_with_a_location(tmp_path):
    (tmp_path / "m.cpp").write_text(
        "struct P { double a; };\nvoid h(const P& p, double* out) { out[0] = p.a; }\n"
    )
    r = pyclad_cli("build", "m.cpp", "-f", "h", "--mode", "jacobian", "-o", "out", cwd=tmp_path, timeout=300)
    assert (
        r.returncode == 1
        and "m.cpp:2:17: error: an ahead-of-time jacobian takes scalars and arrays" in r.stderr
    )
