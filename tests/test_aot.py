"""Ahead-of-time modules (`pyclad build`, `pyclad.build`): compiled by g++ with pybind11, they
agree with the JIT path and with formulas derived by hand, refuse bad arguments as it does,
and import in a process that never imports cppyy.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import pyclad_cli

import pyclad

pytest.importorskip("pybind11")
if shutil.which("g++") is None and not os.environ.get("CXX"):
    pytest.skip("a C++ compiler is needed", allow_module_level=True)

MODEL = """\
#include <cmath>

double sq(double x) { return x * x; }

double energy(double x, double v, double k) {
    double e = 0.5 * k * sq(x) + 0.5 * sq(v);
    return e * std::exp(-0.1 * x);
}

double chain(const double* a, int n, double t) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::sin(a[i] * t);
    return s;
}

// Scales w in place and returns the sum of squares of the result.
double scaled(double* w, int n, double s) {
    double r = 0;
    for (int i = 0; i < n; ++i) {
        w[i] *= s;
        r += w[i] * w[i];
    }
    return r;
}

void polar(double r, double th, double* p) {
    p[0] = r * std::cos(th);
    p[1] = r * std::sin(th);
}

double rosen(const double* x) {
    double s = 0;
    for (int i = 0; i < 2; ++i) s += 100 * sq(x[i + 1] - x[i] * x[i]) + sq(1 - x[i]);
    return s;
}
"""

X, V, K = 0.7, -1.3, 2.5
A, T = np.array([0.3, -1.1, 2.0]), 0.9
R3 = np.array([0.4, -0.3, 1.2])
TOL = 1e-12

BUILDS = {  # module name -> functions, mode, wrt
    "rev_d": (["energy", "chain", "scaled"], "reverse", None),
    "rev1_d": (["energy"], "reverse", "x"),
    "fwd_d": (["energy"], "forward", "x, k"),
    "jac_d": (["polar"], "jacobian", None),
    "hess_d": (["rosen"], "hessian", "x[0:2]"),
}


def cli(*args, cwd) -> subprocess.CompletedProcess:
    return pyclad_cli(*args, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The five modules, built two at a time: 'rev_d' by the command line, 'jac_d' by
    pyclad.build into the cache, the others by pyclad.build into a folder."""
    tmp = tmp_path_factory.mktemp("aot")
    (tmp / "model.cpp").write_text(MODEL)
    out = tmp / "out"
    cache = tmp / "cache"

    def one(name):
        functions, mode, wrt = BUILDS[name]
        if name == "rev_d":
            flags = [a for f in functions for a in ("-f", f)]
            r = cli("build", "model.cpp", *flags, "--mode", mode, "-o", str(out), "--name", name, cwd=tmp)
            assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
            return None
        if name == "jac_d":
            return None  # needs the cache directory set: built below
        return pyclad.build(tmp / "model.cpp", functions, mode, wrt, out_dir=out, name=name)

    with ThreadPoolExecutor(2) as pool:
        mods = dict(zip(BUILDS, pool.map(one, BUILDS)))
    old = os.environ.get("PYCLAD_CACHE_DIR")
    os.environ["PYCLAD_CACHE_DIR"] = str(cache)
    try:
        functions, mode, wrt = BUILDS["jac_d"]
        mods["jac_d"] = pyclad.build(tmp / "model.cpp", functions, mode, wrt, name="jac_d")
        mods["jac_d_again"] = pyclad.build(tmp / "model.cpp", functions, mode, wrt, name="jac_d")
    finally:
        if old is None:
            del os.environ["PYCLAD_CACHE_DIR"]
        else:
            os.environ["PYCLAD_CACHE_DIR"] = old
    sys.path.insert(0, str(out))
    try:
        import rev_d
    finally:
        sys.path.remove(str(out))
    mods["rev_d"] = rev_d
    return tmp, mods, pyclad.load(tmp / "model.cpp")


def close(got, want, tol=TOL):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape and np.allclose(got, want, rtol=tol, atol=tol), (got, want)


def as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


# ---------------------------------------------------------------------------- values
def test_primal_of_a_module_is_the_cpp_function(built):
    _, mods, jit = built
    assert mods["rev_d"].energy(X, V, K) == jit.energy(X, V, K)
    assert mods["rev_d"].chain(A, 3, T) == pytest.approx(sum(math.sin(a * T) for a in A), rel=1e-15)


def test_reverse_module_agrees_with_jit_and_hand_formula(built):
    _, mods, jit = built
    g = mods["rev_d"].energy_grad(X, V, K)
    assert isinstance(g, tuple) and len(g) == 3 and all(type(v) is float for v in g)
    close(g, pyclad.gradient(jit.energy)(X, V, K))
    e = 0.5 * K * X * X + 0.5 * V * V
    hand = ((K * X - 0.1 * e) * math.exp(-0.1 * X), V * math.exp(-0.1 * X), 0.5 * X * X * math.exp(-0.1 * X))
    close(g, hand)


def test_reverse_module_returns_arrays_for_array_params(built):
    _, mods, jit = built
    ga, gt = mods["rev_d"].chain_grad(A, 3, T)
    assert isinstance(ga, np.ndarray) and ga.shape == (3,)
    close(ga, A * 0 + T * np.cos(A * T))
    close(gt, np.sum(A * np.cos(A * T)))
    ja, jt = pyclad.gradient(jit.chain)(A, 3, T)
    close(ga, ja)
    close(gt, jt)


def test_gradient_wrt_one_name_is_the_bare_value(built):
    _, mods, jit = built
    g = mods["rev1_d"].energy_grad_0(X, V, K)
    assert type(g) is float
    e = 0.5 * K * X * X + 0.5 * V * V
    close(g, (K * X - 0.1 * e) * math.exp(-0.1 * X))
    close(g, as_tuple(pyclad.gradient(jit.energy, "x")(X, V, K))[0])


def test_forward_module_agrees_with_jit_and_hand_formula(built):
    _, mods, jit = built
    e = 0.5 * K * X * X + 0.5 * V * V
    dx, dk = mods["fwd_d"].energy_darg0(X, V, K), mods["fwd_d"].energy_darg2(X, V, K)
    close(dx, (K * X - 0.1 * e) * math.exp(-0.1 * X))
    close(dk, 0.5 * X * X * math.exp(-0.1 * X))
    close(dx, pyclad.differentiate(jit.energy, "x")(X, V, K))
    close(dk, pyclad.differentiate(jit.energy, "k")(X, V, K))


def test_jacobian_module_agrees_with_jit_and_hand_formula(built):
    _, mods, jit = built
    r, th = 1.7, 0.6
    J = mods["jac_d"].polar_jac(r, th, np.zeros(2))
    close(J, [[math.cos(th), -r * math.sin(th)], [math.sin(th), r * math.cos(th)]])
    close(J, pyclad.jacobian(jit.polar)(r, th, np.zeros(2)))


def test_hessian_module_agrees_with_jit_and_hand_formula(built):
    _, mods, jit = built
    x = R3
    H = mods["hess_d"].rosen_hessian_0_0_2(x)
    want = [
        [1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0], 0],
        [-400 * x[0], 200 + 1200 * x[1] ** 2 - 400 * x[2] + 2, -400 * x[1]],
        [0, -400 * x[1], 200],
    ]
    close(H, want)
    close(H, pyclad.hessian(jit.rosen, "x[0:2]")(x))


# ---------------------------------------------------------------------------- arrays
def test_primal_writes_into_the_callers_float64_array_and_derivatives_do_not(built):
    _, mods, _ = built
    w = np.array([1.0, -2.0, 0.5])
    before = w.copy()
    gw, gs = mods["rev_d"].scaled_grad(w, 3, 1.5)
    close(w, before)  # a derivative leaves the caller's array alone
    close(gw, 2 * 1.5**2 * before)  # d/dw sum (s w)^2, by hand
    close(gs, 2 * 1.5 * np.sum(before**2))
    assert mods["rev_d"].scaled(w, 3, 2.0) == pytest.approx(4 * np.sum(before**2), rel=1e-15)
    close(w, 2 * before)  # the primal wrote into the array passed: no hidden copy


def test_lists_and_other_dtypes_are_converted(built):
    _, mods, _ = built
    want = mods["rev_d"].chain(A, 3, T)
    assert mods["rev_d"].chain(list(A), 3, T) == want
    assert mods["rev_d"].chain(A.astype(np.float32), 3, T) == pytest.approx(want, rel=1e-6)
    assert mods["rev_d"].chain(np.array([[0.3, -1.1, 2.0]]), np.int64(3), np.float64(T)) == want


def test_read_only_array_is_refused_where_the_primal_writes(built):
    _, mods, _ = built
    w = np.array([1.0, 2.0])
    w.setflags(write=False)
    with pytest.raises(pyclad.ArgumentError, match="read-only"):
        mods["rev_d"].scaled(w, 2, 1.0)
    assert mods["rev_d"].scaled_grad(w, 2, 1.0)[1] == pytest.approx(10.0)  # a derivative copies


# ---------------------------------------------------------------------------- errors
BAD = [
    ("energy_grad", (X, V)),
    ("energy_grad", ("a", V, K)),
    ("energy_grad", (True, V, K)),
    ("energy_grad", (None, V, K)),
    ("chain_grad", (1.0, 3, T)),
    ("chain_grad", (None, 3, T)),
    ("chain_grad", (np.array([]), 0, T)),
    ("chain_grad", (["a", "b"], 2, T)),
    ("chain_grad", (A, 2.5, T)),
    ("chain_grad", (A, "3", T)),
    ("chain_grad", (A, float("inf"), T)),
]


@pytest.mark.parametrize("name,args", BAD, ids=[f"{n}{i}" for i, (n, _) in enumerate(BAD)])
def test_bad_arguments_raise_argument_error_like_the_jit(built, name, args):
    _, mods, jit = built
    primal = name.removesuffix("_grad")
    with pytest.raises(pyclad.ArgumentError) as jit_err:
        pyclad.gradient(getattr(jit, primal))(*args)
    with pytest.raises(pyclad.ArgumentError) as aot_err:
        getattr(mods["rev_d"], name)(*args)
    assert isinstance(aot_err.value, TypeError)
    assert str(aot_err.value).startswith(f"{jit_err.value.loc}: error: ")
    for word in ("takes", "number", "integer", "array", "empty"):
        assert (word in str(jit_err.value)) == (word in str(aot_err.value)), (jit_err.value, aot_err.value)


def test_an_integer_out_of_range_for_its_parameter_is_refused(built):
    _, mods, _ = built
    with pytest.raises(pyclad.ArgumentError, match="out of range"):
        mods["rev_d"].chain_grad(A, 2**40, T)
    assert mods["rev_d"].chain(A, 3.0, T) == mods["rev_d"].chain(A, 3, T)  # an integral float passes


def test_hessian_index_range_outside_the_array_is_refused(built):
    _, mods, _ = built
    with pytest.raises(pyclad.ArgumentError, match="outside the array"):
        mods["hess_d"].rosen_hessian_0_0_2(np.array([1.0, 2.0]))


def test_build_refuses_parameters_python_cannot_pass_with_a_location(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double& x, double y) { x = y; return x * y; }\n")
    r = cli("build", "m.cpp", "-f", "f", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1 and "m.cpp:1:18: error:" in r.stderr and "'x' of 'f' is double &" in r.stderr
    r = cli("build", "m.cpp", "-f", "f", "--mode", "sideways", cwd=tmp_path)
    assert r.returncode == 2


# ---------------------------------------------------------------------------- import, cache
def test_module_imports_and_runs_in_a_process_that_never_imports_cppyy(built):
    tmp, _, _ = built
    code = f"""
import sys
sys.path.insert(0, {str(tmp / "out")!r})
import rev_d
g = rev_d.energy_grad({X!r}, {V!r}, {K!r})
assert "cppyy" not in sys.modules and "numpy" not in sys.modules, sorted(sys.modules)
try:
    rev_d.energy_grad("bad", 1.0, 1.0)
except TypeError as exc:
    assert type(exc).__name__ == "ArgumentError", type(exc)
assert "cppyy" not in sys.modules
print(repr(g))
"""
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=os.environ
    )
    assert r.returncode == 0, r.stderr
    e = 0.5 * K * X * X + 0.5 * V * V
    close(eval(r.stdout)[0], (K * X - 0.1 * e) * math.exp(-0.1 * X))


def test_build_into_the_cache_reuses_an_unchanged_request(built):
    tmp, mods, _ = built
    first, again = mods["jac_d"], mods["jac_d_again"]
    assert Path(first.__file__).parent == Path(again.__file__).parent
    assert str(tmp / "cache") in first.__file__
    assert len(list((tmp / "cache").rglob("_native*"))) == 1


# ---------------------------------------------------------------------------- buffers, namespaces
SAFETY = """\
namespace a { double f(double x) { return x * x; } }
namespace b { double f(double x) { return x * x * x; } }
double total(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += v[i] * v[i];
    return s;
}
double vol(double e[3]) { return e[0] * e[1] * e[2]; }
double grow(double* w, int n) {
    double r = 0;
    for (int i = 0; i < n; ++i) { w[i] *= 2; r += w[i]; }
    return r;
}
"""


@pytest.fixture(scope="module")
def safety(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aot_safety")
    (tmp / "safe.cpp").write_text(SAFETY)
    mod = pyclad.build(tmp / "safe.cpp", ["a::f", "b::f", "total", "vol", "grow"], "reverse", out_dir=tmp)
    return mod, pyclad.load(tmp / "safe.cpp")


def test_functions_of_the_same_name_in_two_namespaces_get_their_own_gradients(safety):
    mod, _ = safety
    assert mod.a_f_grad(2.0) == (4.0,)  # d x^2 / dx
    assert mod.b_f_grad(2.0) == (12.0,)  # d x^3 / dx
    assert mod.a_f(3.0) == 9.0 and mod.b_f(3.0) == 27.0


def test_an_array_shorter_than_the_gradient_indexes_is_a_located_bounds_error_and_nothing_is_written(safety):
    mod, jit = safety
    canary = np.full(8, 7.0)
    v = canary[:3]  # the elements after it are the canary
    with pytest.raises(pyclad.BoundsError) as aot_err:
        mod.total_grad(v, 6)
    with pytest.raises(pyclad.BoundsError) as jit_err:
        pyclad.gradient(jit.total)(v, 6)
    assert str(aot_err.value) == str(jit_err.value)
    assert isinstance(aot_err.value, IndexError) and aot_err.value.loc.line == 5
    # The reverse sweep runs i = 5, 4, ...: the first access is refused.
    assert "'v'" in str(aot_err.value) and "index 5" in str(aot_err.value)
    assert (canary == 7.0).all()
    close(mod.total_grad(np.array([1.0, -2.0]), 2)[0], [2.0, -4.0])  # 2 v


def test_an_array_shorter_than_its_declared_length_is_refused_as_the_jit_refuses_it(safety):
    mod, jit = safety
    for aot_call, jit_call in [(mod.vol, jit.vol), (mod.vol_grad, pyclad.gradient(jit.vol))]:
        with pytest.raises(pyclad.BoundsError) as aot_err:
            aot_call(np.ones(2))
        with pytest.raises(pyclad.BoundsError) as jit_err:
            jit_call(np.ones(2))
        assert str(aot_err.value) == str(jit_err.value) and "e[3]" in str(aot_err.value)
    close(mod.vol_grad(np.array([1.0, 2.0, 3.0]))[0], [6.0, 3.0, 2.0])


@pytest.mark.parametrize(
    "arg",
    [[1.0, 2.0], np.ones(2, np.float32), np.ones(4)[::2], np.frombuffer(b"\0" * 16)],
    ids=["list", "float32", "strided", "read-only"],
)
def test_the_primal_refuses_an_output_it_could_only_write_into_a_hidden_copy(safety, arg):
    mod, jit = safety
    with pytest.raises(pyclad.ArgumentError, match="writable C-contiguous float64") as aot_err:
        mod.grow(arg, 2)
    with pytest.raises(pyclad.ArgumentError, match="writable C-contiguous float64"):
        jit.grow(arg, 2)
    assert aot_err.value.loc.line == 9
    w = np.array([1.0, 2.0])
    assert mod.grow(w, 2) == 6.0 and list(w) == [2.0, 4.0]  # written in place


def test_scalars_are_read_as_the_jit_reads_them_huge_ints_refused_and_0d_arrays_taken(safety):
    mod, jit = safety
    with pytest.raises(pyclad.ArgumentError) as aot_err:
        mod.a_f_grad(10**400)
    with pytest.raises(pyclad.ArgumentError) as jit_err:
        pyclad.gradient(jit["a::f"])(10**400)
    assert "outside its range" in str(aot_err.value) and "outside its range" in str(jit_err.value)
    assert mod.a_f_grad(np.array(2.0)) == pyclad.gradient(jit["a::f"])(np.array(2.0)) == (4.0,)


def test_build_into_a_path_that_is_a_file_is_an_error_without_a_traceback(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x * x; }\n")
    (tmp_path / "taken").write_text("")
    r = cli("build", "m.cpp", "-f", "f", "-o", "taken", cwd=tmp_path)
    assert r.returncode == 1 and "cannot create the package directory" in r.stderr
    assert "Traceback" not in r.stderr


def test_build_refuses_a_forward_wrt_naming_a_variable_twice_as_the_jit_does(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x, double y) { return x * y; }\n")
    r = cli("build", "m.cpp", "-f", "f", "--mode", "forward", "--wrt", "x, x", "-o", "o", cwd=tmp_path)
    assert r.returncode == 1 and "m.cpp:1:8: error: 'x' is named twice" in r.stderr, r.stderr
