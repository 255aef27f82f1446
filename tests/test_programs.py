"""Whole programs written the way physicists and ML engineers write C++ (tests/programs/):
records with methods, std::vector members and locals, lambdas, records as parameters.
Each is differentiated unmodified, through the Python API and through ``pyclad gen`` +
g++, and checked against central finite differences and against the same mathematics
written with plain arrays and scalars (tests/programs/*_plain.cpp, or numpy)."""

from pathlib import Path

import numpy as np
import pytest
from conftest import fd, gxx_build_and_run, pyclad_cli

import pyclad

PROGRAMS = Path(__file__).parent / "programs"
RTOL = 1e-6


def close(got, want, rtol=RTOL, atol=1e-8):
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol, atol=atol
    )


def fd_array(f, args, index):
    return np.array([fd(f, args, index, j) for j in range(len(args[index]))])


# ----------------------------------------------------------------------------- particles

N, STEPS, DT, K = 6, 5, 0.05, 3.0
RNG = np.random.default_rng(8)
X0 = np.arange(N) * 1.0 + 0.1 * RNG.standard_normal(N)
V0 = 0.2 * RNG.standard_normal(N)
MASS = 1.0 + 0.5 * RNG.random(N)


@pytest.fixture(scope="module")
def particles():
    return pyclad.load(PROGRAMS / "particles.cpp")


@pytest.fixture(scope="module")
def particles_plain():
    return pyclad.load(PROGRAMS / "particles_plain.cpp")


def particle_args():
    return [X0.copy(), V0.copy(), MASS.copy(), N, K, DT, STEPS]


def test_the_particle_system_and_its_plain_twin_compute_the_same_energy(particles, particles_plain):
    scratch = [np.zeros(N) for _ in range(3)]
    close(particles.simulate(*particle_args()), particles_plain.simulate_plain(*particle_args(), *scratch))


@pytest.mark.parametrize("checked", [True, False])
def test_the_particle_energy_gradient_matches_finite_differences_and_the_plain_twin(
    particles, particles_plain, checked
):
    g = pyclad.gradient(particles.simulate, ["x0", "v0", "mass", "k"], checked=checked)
    dx, dv, dm, dk = g(*particle_args())
    args = particle_args()
    close(dx, fd_array(particles.simulate, args, 0))
    close(dv, fd_array(particles.simulate, args, 1))
    close(dm, fd_array(particles.simulate, args, 2))
    close(dk, fd(particles.simulate, args, 4))
    gp = pyclad.gradient(particles_plain.simulate_plain, ["x0", "v0", "mass", "k"], checked=checked)
    scratch = [np.zeros(N) for _ in range(3)]
    px, pv, pm, pk = gp(*particle_args(), *scratch)
    close(dx, px)
    close(dv, pv)
    close(dm, pm)
    close(dk, pk)


def test_the_particle_energy_tangent_along_the_first_position_matches_finite_differences(particles):
    d = pyclad.differentiate(particles.simulate, "x0[0]")
    close(d(*particle_args()), fd(particles.simulate, particle_args(), 0, 0))


# ----------------------------------------------------------------------------- MLP

N_IN, N_HIDDEN, N_SAMPLES = 3, 4, 7
N_THETA = N_IN * N_HIDDEN + 2 * N_HIDDEN + 1
THETA = 0.5 * RNG.standard_normal(N_THETA)
XS = RNG.standard_normal((N_SAMPLES, N_IN)).ravel()
YS = RNG.standard_normal(N_SAMPLES)


def mlp_args():
    return [THETA.copy(), XS.copy(), YS.copy(), N_SAMPLES, N_IN, N_HIDDEN]


def mlp_numpy(theta, X, y, n_samples, n_in, n_hidden):
    w1 = theta[: n_in * n_hidden].reshape(n_hidden, n_in)
    b1 = theta[n_in * n_hidden : n_in * n_hidden + n_hidden]
    w2 = theta[n_in * n_hidden + n_hidden : n_in * n_hidden + 2 * n_hidden]
    b2 = theta[-1]
    out = np.tanh(X.reshape(n_samples, n_in) @ w1.T + b1) @ w2 + b2
    return np.mean((out - y) ** 2)


@pytest.fixture(scope="module")
def mlp():
    return pyclad.load(PROGRAMS / "mlp.cpp")


@pytest.fixture(scope="module")
def mlp_plain():
    return pyclad.load(PROGRAMS / "mlp_plain.cpp")


def test_the_mlp_class_computes_the_loss_numpy_computes(mlp):
    close(mlp.mse_loss(*mlp_args()), mlp_numpy(*mlp_args()))


@pytest.mark.parametrize("checked", [True, False])
def test_the_mlp_loss_gradient_matches_finite_differences_and_the_plain_twin(mlp, mlp_plain, checked):
    g = pyclad.gradient(mlp.mse_loss, "theta", checked=checked)(*mlp_args())
    close(g, fd_array(mlp.mse_loss, mlp_args(), 0))
    close(g, pyclad.gradient(mlp_plain.mse_loss_plain, "theta", checked=checked)(*mlp_args()))


def test_the_mlp_loss_hessian_diagonal_block_matches_the_plain_twin(mlp, mlp_plain):
    h = pyclad.hessian(mlp.mse_loss, "theta[0:3]")(*mlp_args())
    hp = pyclad.hessian(mlp_plain.mse_loss_plain, "theta[0:3]")(*mlp_args())
    close(h, hp)


# ----------------------------------------------------------------------------- mixture

KC, NX = 3, 20
LOGITS = RNG.standard_normal(KC)
MEANS = np.array([-1.0, 0.5, 2.0])
LOG_SIGMAS = 0.3 * RNG.standard_normal(KC)
XMIX = RNG.standard_normal(NX) * 1.5


def mixture_numpy(logits, means, log_sigmas, K, x, n, prior):
    scale, alpha, beta = prior
    logw = logits - (np.max(logits) + np.log(np.sum(np.exp(logits - np.max(logits)))))
    z = (x[:, None] - means[None, :]) * np.exp(-log_sigmas)[None, :]
    ld = logw - log_sigmas - 0.5 * np.log(2 * np.pi) - 0.5 * z * z
    best = ld.max(axis=1)
    ll = np.sum(best + np.log(np.sum(np.exp(ld - best[:, None]), axis=1)))
    lp = np.sum(-0.5 * (means / scale) ** 2 - alpha * log_sigmas - beta * np.exp(-2 * log_sigmas))
    return -(ll + lp)


@pytest.fixture(scope="module")
def mixture():
    return pyclad.load(PROGRAMS / "mixture.cpp")


def mixture_args(m):
    return [LOGITS.copy(), MEANS.copy(), LOG_SIGMAS.copy(), KC, XMIX.copy(), NX, m.Prior(2.0, 1.5, 0.3)]


def test_the_mixture_takes_its_prior_as_a_record_and_computes_what_numpy_computes(mixture):
    close(
        mixture.neg_log_posterior(*mixture_args(mixture)),
        mixture_numpy(*mixture_args(mixture)[:6], (2.0, 1.5, 0.3)),
    )


@pytest.mark.parametrize("checked", [True, False])
def test_the_mixture_gradient_matches_finite_differences(mixture, checked):
    g = pyclad.gradient(mixture.neg_log_posterior, ["logits", "means", "log_sigmas"], checked=checked)
    got = g(*mixture_args(mixture))

    def f(logits, means, log_sigmas, K, x, n):
        return mixture_numpy(logits, means, log_sigmas, K, x, n, (2.0, 1.5, 0.3))

    args = mixture_args(mixture)[:6]
    for i in range(3):
        close(got[i], fd_array(f, args, i), rtol=1e-6)


def test_the_mixture_gradient_with_respect_to_its_prior_record_is_a_prior(mixture):
    dp = pyclad.gradient(mixture.neg_log_posterior, "prior")(*mixture_args(mixture))
    assert type(dp).__name__ == "Prior"
    args = mixture_args(mixture)[:6]
    want = []
    for j in range(3):

        def f(v, j=j):
            p = [2.0, 1.5, 0.3]
            p[j] = v
            return mixture_numpy(*args, tuple(p))

        want.append(fd(f, [[2.0, 1.5, 0.3][j]], 0))
    close([dp.mean_scale, dp.alpha, dp.beta], want)


# ----------------------------------------------------------------------------- pyclad gen + g++

GEN_MAIN = {
    "particles": (
        "simulate",
        "x0, v0, k",
        r"""
int main() {
    const int n = 4;
    double x0[n] = {0.1, 1.05, 1.9, 3.2}, v0[n] = {0.1, -0.2, 0.05, 0.0}, mass[n] = {1.0, 1.5, 1.2, 0.8};
    double dx[n] = {0}, dv[n] = {0}, dk = 0;
    simulate_grad_0_1_4(x0, v0, mass, n, 3.0, 0.05, 5, dx, dv, &dk);
    const double h = 1e-6;
    double worst = 0;
    for (int i = 0; i < n; ++i) {
        double xp[n], xm[n];
        for (int j = 0; j < n; ++j) { xp[j] = x0[j]; xm[j] = x0[j]; }
        xp[i] += h; xm[i] -= h;
        double want = (simulate(xp, v0, mass, n, 3.0, 0.05, 5) - simulate(xm, v0, mass, n, 3.0, 0.05, 5)) / (2 * h);
        worst = std::fmax(worst, std::fabs(dx[i] - want) / (1 + std::fabs(want)));
    }
    double wk = (simulate(x0, v0, mass, n, 3.0 + h, 0.05, 5) - simulate(x0, v0, mass, n, 3.0 - h, 0.05, 5)) / (2 * h);
    worst = std::fmax(worst, std::fabs(dk - wk) / (1 + std::fabs(wk)));
    std::printf("%s\n", worst < 1e-6 ? "ok" : "WRONG");
}
""",
    ),
    "mlp": (
        "mse_loss",
        "theta",
        r"""
int main() {
    const int n_in = 2, n_h = 3, ns = 4, nt = n_in * n_h + 2 * n_h + 1;
    double theta[nt], X[ns * n_in], y[ns], d[nt] = {0};
    for (int i = 0; i < nt; ++i) theta[i] = 0.3 * std::sin(1.0 + i);
    for (int i = 0; i < ns * n_in; ++i) X[i] = std::cos(0.7 * i);
    for (int i = 0; i < ns; ++i) y[i] = 0.5 * i - 1.0;
    mse_loss_grad_0(theta, X, y, ns, n_in, n_h, d);
    const double h = 1e-6;
    double worst = 0;
    for (int i = 0; i < nt; ++i) {
        double keep = theta[i];
        theta[i] = keep + h; double up = mse_loss(theta, X, y, ns, n_in, n_h);
        theta[i] = keep - h; double dn = mse_loss(theta, X, y, ns, n_in, n_h);
        theta[i] = keep;
        double want = (up - dn) / (2 * h);
        worst = std::fmax(worst, std::fabs(d[i] - want) / (1 + std::fabs(want)));
    }
    std::printf("%s\n", worst < 1e-6 ? "ok" : "WRONG");
}
""",
    ),
}


@pytest.mark.parametrize("program", sorted(GEN_MAIN))
def test_the_generated_gradient_header_of_a_whole_program_builds_warning_free_and_runs_clean(
    tmp_path, program
):
    fn, wrt, main = GEN_MAIN[program]
    header = tmp_path / f"{program}_grad.hpp"
    r = pyclad_cli(
        "gen",
        str(PROGRAMS / f"{program}.cpp"),
        "-f",
        fn,
        "--mode",
        "reverse",
        "--wrt",
        wrt,
        "-o",
        str(header),
    )
    assert r.returncode == 0, r.stderr
    src = tmp_path / f"{program}_main.cpp"
    src.write_text(
        f'#include <cmath>\n#include <cstdio>\n#include "{PROGRAMS / program}.cpp"\n#include "{header.name}"\n{main}'
    )
    out, warnings = gxx_build_and_run(tmp_path, src.name, "-Wextra", "-Werror")
    assert out.strip() == "ok" and not warnings
