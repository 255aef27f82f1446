"""The real-world programs of examples/realworld/, differentiated as they are written.

Every program is generic (`template <typename T>`), keeps its helpers in headers and uses
records, small classes, `std::vector` and `std::array`. Each derivative is checked against
two references: central finite differences of the C++ primal, and finite differences of the
same model written again in numpy (tests/realworld_numpy.py), whose value must also agree
with the C++ primal. Sizes are small so that the suite stays fast; the benchmark
(benchmarks/bench_realworld.py) runs them at realistic sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import realworld_numpy as ref

import pyclad

REALWORLD = Path(__file__).resolve().parent.parent / "examples" / "realworld"
H = 1e-6
RTOL = 1e-6
ATOL = 1e-8


def load(name: str, **kw):
    return pyclad.load(str(REALWORLD / f"{name}.cpp"), include_dirs=[str(REALWORLD)], **kw)


def fd_gradient(f, x: np.ndarray, h: float = H) -> np.ndarray:
    """Central differences of the scalar f at x, entry by entry."""
    out = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += h
        xm.flat[i] -= h
        out.flat[i] = (f(xp) - f(xm)) / (2 * h)
    return out


def fd_jacobian(f, x: np.ndarray, h: float = H) -> np.ndarray:
    """Central differences of the vector function f at x: rows = outputs, columns = inputs."""
    cols = []
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += h
        xm.flat[i] -= h
        cols.append((np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * h))
    return np.stack(cols, axis=1)


def close(got, want, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol, atol=atol
    )


# --- Gaussian mixture model --------------------------------------------------------------


@pytest.fixture(scope="module")
def gmm():
    return load("gmm")


def gmm_point(seed=3, d=3, k=4, n=6):
    rng = np.random.default_rng(seed)
    return (
        d,
        k,
        n,
        rng.normal(size=k),
        rng.normal(size=k * d),
        0.3 * rng.normal(size=k * d * (d + 1) // 2),
        rng.normal(size=n * d),
    )


def test_gmm_gradient_matches_finite_differences_and_numpy(gmm):
    d, k, n, alphas, means, icf, x = gmm_point()
    wishart = gmm.Wishart()
    wishart.gamma, wishart.m = 1.5, 2
    f = gmm["gmm_objective<double>"]
    err = np.zeros(1)
    f(d, k, n, alphas, means, icf, x, wishart, err)
    close(err[0], ref.gmm_objective(d, k, n, alphas, means, icf, x, 1.5, 2), rtol=1e-12)

    grad = pyclad.gradient(f, "alphas, means, icf", output="err")
    g_alphas, g_means, g_icf = grad(d, k, n, alphas, means, icf, x, wishart, np.zeros(1))

    def primal(a, mu, q):
        out = np.zeros(1)
        f(d, k, n, a, mu, q, x, wishart, out)
        return out[0]

    close(g_alphas, fd_gradient(lambda a: primal(a, means, icf), alphas))
    close(g_means, fd_gradient(lambda mu: primal(alphas, mu, icf), means))
    close(g_icf, fd_gradient(lambda q: primal(alphas, means, q), icf))
    close(g_icf, fd_gradient(lambda q: ref.gmm_objective(d, k, n, alphas, means, q, x, 1.5, 2), icf))


# --- bundle adjustment -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ba():
    return load("ba")


def ba_point(seed=5, rotate=True):
    rng = np.random.default_rng(seed)
    cam = 0.1 * rng.normal(size=11)
    if not rotate:
        cam[0:3] = 0.0
    cam[6] = 1.2
    X = rng.normal(size=3)
    X[2] += 5.0
    return cam, X, np.array([0.8]), rng.normal(size=2)


@pytest.mark.parametrize("rotate", [True, False], ids=["rotated", "near-identity"])
def test_bundle_adjustment_jacobian_matches_finite_differences_and_numpy(ba, rotate):
    cam, X, w, feat = ba_point(rotate=rotate)
    f = ba["reprojection_error<double>"]
    err = np.zeros(2)
    f(cam, X, w, feat, err)
    close(err, ref.reprojection_error(cam, X, w, feat), rtol=1e-12)

    J = pyclad.jacobian(f, "cam, X, w")(cam, X, w, feat, np.zeros(2))
    assert np.asarray(J).shape == (2, 15)
    packed = np.concatenate([cam, X, w])

    def primal(p):
        out = np.zeros(2)
        f(p[0:11].copy(), p[11:14].copy(), p[14:15].copy(), feat, out)
        return out

    close(J, fd_jacobian(primal, packed))
    close(J, fd_jacobian(lambda p: ref.reprojection_error(p[0:11], p[11:14], p[14:15], feat), packed))


# --- LSTM --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lstm():
    return load("lstm")


def test_lstm_loss_gradient_matches_finite_differences_and_numpy(lstm):
    rng = np.random.default_rng(7)
    l, c, b = 2, 5, 4
    main = 0.5 * rng.normal(size=2 * l * 4 * b)
    extra = 0.5 * rng.normal(size=3 * b)
    state = 0.5 * rng.normal(size=2 * l * b)
    seq = np.zeros(c * b)
    for t in range(c):
        seq[t * b + rng.integers(b)] = 1.0
    f = lstm["lstm_objective<double>"]
    loss = np.zeros(1)
    f(l, c, b, main, extra, state, seq, loss)
    close(loss[0], ref.lstm_objective(l, c, b, main, extra, state, seq), rtol=1e-12)

    g_main, g_extra = pyclad.gradient(f, "main_params, extra_params", output="loss")(
        l, c, b, main, extra, state, seq, np.zeros(1)
    )

    def primal(mp, ep):
        out = np.zeros(1)
        f(l, c, b, mp, ep, state, seq, out)
        return out[0]

    close(g_main, fd_gradient(lambda mp: primal(mp, extra), main))
    close(g_extra, fd_gradient(lambda ep: primal(main, ep), extra))
    close(g_main, fd_gradient(lambda mp: ref.lstm_objective(l, c, b, mp, extra, state, seq), main))


# --- hand-tracking skinning --------------------------------------------------------------


@pytest.fixture(scope="module")
def hand():
    return load("hand")


def test_skinning_jacobian_matches_finite_differences_and_numpy(hand):
    rng = np.random.default_rng(11)
    nbones, nverts = 4, 5
    parents = np.array([-1, 0, 1, 1], dtype=np.int32)
    offsets = rng.normal(size=3 * nbones)
    joints = np.zeros(3 * nbones)
    for j in range(nbones):
        base = joints[3 * parents[j] : 3 * parents[j] + 3] if parents[j] >= 0 else 0.0
        joints[3 * j : 3 * j + 3] = base + offsets[3 * j : 3 * j + 3]
    rest = rng.normal(size=3 * nverts)
    weights = rng.random(size=nverts * nbones)
    weights[1] = 0.0  # a vertex not attached to a bone
    observed = rng.normal(size=3 * nverts)
    theta = 0.5 * rng.normal(size=3 * nbones + 3)
    consts = (nbones, nverts, parents, offsets, joints, rest, weights, observed)
    f = hand["hand_objective<double>"]

    def primal(t):
        out = np.zeros(3 * nverts)
        f(*consts, t, out)
        return out

    close(primal(theta), ref.hand_objective(*consts, theta), rtol=1e-12)
    J = pyclad.jacobian(f, "theta", mode="reverse")(*consts, theta, np.zeros(3 * nverts))
    assert np.asarray(J).shape == (3 * nverts, 3 * nbones + 3)
    close(J, fd_jacobian(primal, theta))
    close(J, fd_jacobian(lambda t: ref.hand_objective(*consts, t), theta))


# --- small objectives --------------------------------------------------------------------


def test_logsumexp_gradient_is_the_softmax():
    m = load("logsumexp")
    x = np.random.default_rng(13).normal(size=9)
    g = pyclad.gradient(m.logsumexp, "x")(x)  # the instantiation deduced from a float64 array
    soft = np.exp(x - x.max())
    close(g, soft / soft.sum(), rtol=1e-12)
    close(g, fd_gradient(lambda v: m.logsumexp(v), x))


def test_least_squares_gradient_is_a_transpose_residual():
    m = load("least_squares")
    rng = np.random.default_rng(17)
    A, b, x = rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=4)
    g = pyclad.gradient(m["least_squares<double>"], "x")(6, 4, A.ravel(), b, x)
    close(g, A.T @ (A @ x - b), rtol=1e-12)
    close(g, fd_gradient(lambda v: m["least_squares<double>"](6, 4, A.ravel(), b, v), x))


def test_kmeans_gradient_pulls_each_centre_to_its_points():
    m = load("kmeans")
    rng = np.random.default_rng(19)
    n, k, d = 12, 3, 2
    points, centers = rng.normal(size=n * d), rng.normal(size=k * d)
    g = pyclad.gradient(m["kmeans_cost<double>"], "centers")(n, k, d, points, centers)
    p, c = points.reshape(n, d), centers.reshape(k, d)
    nearest = ((p[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
    want = np.zeros((k, d))
    for i in range(n):
        want[nearest[i]] += 2 * (c[nearest[i]] - p[i])
    close(g, want.ravel(), rtol=1e-12)
    close(g, fd_gradient(lambda v: ref.kmeans_cost(n, k, d, points, v), centers))


def test_determinant_gradient_is_the_cofactor_matrix():
    m = load("determinant")
    a = np.random.default_rng(23).normal(size=(5, 5))
    g = pyclad.gradient(m["det<double>"], "a")(a.ravel(), 5)
    close(np.asarray(g).ravel(), (np.linalg.det(a) * np.linalg.inv(a).T).ravel(), rtol=1e-9)
    close(np.asarray(g).ravel(), fd_gradient(lambda v: m["det<double>"](v, 5), a.ravel()))


def test_rk4_fit_gradient_matches_finite_differences_and_numpy():
    m = load("rk4")
    f = m["rk4_loss<double>"]
    params, y0, target = np.array([1.1, 0.4, 0.1, 0.4]), np.array([10.0, 10.0]), np.array([5.0, 3.0])
    h, steps = 0.05, 40
    close(f(params, y0, h, steps, target), ref.lotka_volterra_rk4(params, y0, h, steps, target), rtol=1e-12)
    g_params, g_y0 = pyclad.gradient(f, "params, y0")(params, y0, h, steps, target)
    close(g_params, fd_gradient(lambda p: f(p, y0, h, steps, target), params), rtol=1e-5)
    close(g_y0, fd_gradient(lambda y: ref.lotka_volterra_rk4(params, y, h, steps, target), y0), rtol=1e-5)


def test_particle_energy_gradient_matches_finite_differences_and_numpy():
    m = load("particles")
    f = m["simulate<double>"]
    rng = np.random.default_rng(29)
    n = 4
    xy, v, mass = rng.normal(size=2 * n), 0.1 * rng.normal(size=2 * n), rng.random(n) + 0.5
    dt, steps = 0.01, 20
    close(f(n, xy, v, mass, dt, steps), ref.particles(n, xy, v, mass, dt, steps), rtol=1e-12)
    g_xy, g_v = pyclad.gradient(f, "xy0, v0")(n, xy, v, mass, dt, steps)
    close(g_xy, fd_gradient(lambda p: f(n, p, v, mass, dt, steps), xy))
    close(g_v, fd_gradient(lambda q: ref.particles(n, xy, q, mass, dt, steps), v))


# --- the same programs through pyclad gen + g++ ----------------------------------------------


WERROR = ("-Wall", "-Wextra", "-Werror")


def _bench():
    import importlib.util

    path = REALWORLD.parent.parent / "benchmarks" / "bench_realworld.py"
    spec = importlib.util.spec_from_file_location("bench_realworld", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "name",
    ["gmm", "lstm", "ba", "hand", "logsumexp", "least_squares", "kmeans", "determinant", "rk4", "particles"],
)
def test_each_program_through_pyclad_gen_and_gxx_matches_central_differences(name, tmp_path):
    """The generated header, compiled with the program by g++ -O2 -Wall -Wextra -Werror (no
    warning: no local set and never read, no unused parameter): its derivative entries agree
    with central differences of the compiled objective (the driver of the benchmark, at small
    sizes, each loop run once)."""
    import shutil

    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    line = _bench().run(name, quick=True, work=tmp_path, seconds=0.0, flags=WERROR)
    assert line is not None and "|" in line, line
    err = float(line.split("|")[-1])
    assert err < 1e-4, line
