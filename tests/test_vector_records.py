"""Vector forward mode through records with array fields (a 2x2 matrix class storing
``double a[4]``, read and written through ``operator()(r, c)`` at run-time indices): the
shadow's array field is one array of ``pyclad::vec<N>``, so ``a[2 * r + c]`` picks one
element of it.  Jacobians are checked against central differences and against reverse mode."""

from __future__ import annotations

import numpy as np
import pytest

import pyclad

SOURCE = """\
#include <cmath>
struct Mat2 {
    double a[4];
    Mat2() : a{} {}
    double& operator()(int r, int c) { return a[2 * r + c]; }
    const double& operator()(int r, int c) const { return a[2 * r + c]; }
    static Mat2 rotation(double t) {
        Mat2 m;
        m(0, 0) = std::cos(t);
        m(0, 1) = -std::sin(t);
        m(1, 0) = std::sin(t);
        m(1, 1) = std::cos(t);
        return m;
    }
    Mat2 operator*(const Mat2& o) const {
        Mat2 out;
        for (int r = 0; r < 2; ++r) {
            for (int c = 0; c < 2; ++c) {
                double s = 0;
                for (int k = 0; k < 2; ++k) {
                    s += (*this)(r, k) * o(k, c);
                }
                out(r, c) = s;
            }
        }
        return out;
    }
};
struct Pose {
    Mat2 R;
    double shift;
};
// out[0..3]: the entries of rotation(x0) * rotation(x1) * x2 (a shifted, scaled rotation)
void compose(const double* x, double* out) {
    Pose p{Mat2::rotation(x[0]) * Mat2::rotation(x[1]), x[2]};
    for (int k = 0; k < 4; ++k) {
        out[k] = p.R.a[k] * p.shift + p.shift * p.shift;
    }
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def _primal(x: np.ndarray) -> np.ndarray:
    t = x[0] + x[1]
    rot = np.array([np.cos(t), -np.sin(t), np.sin(t), np.cos(t)])
    return rot * x[2] + x[2] ** 2


def test_a_record_with_an_array_field_indexed_at_run_time_has_a_vector_forward_jacobian(m):
    x = np.array([0.3, -0.8, 1.7])
    J = pyclad.jacobian(m.compose, mode="forward")
    got = J(x, np.zeros(4))
    assert J.last_mode == "forward"
    h = 1e-6
    fd = np.column_stack([(_primal(x + h * e) - _primal(x - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(got, fd, rtol=1e-8, atol=1e-9)
    rev = pyclad.jacobian(m.compose, mode="reverse")(x, np.zeros(4))
    np.testing.assert_allclose(got, rev, rtol=1e-13, atol=1e-15)


def test_the_array_field_shadow_is_one_array_of_vectors(m):
    J = pyclad.jacobian(m.compose, mode="forward")
    J(np.array([0.3, -0.8, 1.7]), np.zeros(4))
    code = J.code
    assert "::pyclad::vec<3> _d_m_a[4] = {};" in code  # Mat2's shadow in rotation: a[4] of vectors
    assert "_d_m_a[2 * " in code  # written at the run-time index of operator()


CHAIN = """\
#include <cmath>
#include <vector>
struct Joint {
    double c[2];
    double s;
};
// Joints built one after another, each from the one before (a std::vector of records),
// then read back at run-time indices.
void chain(const double* t, int n, double* out) {
    std::vector<Joint> js;
    for (int k = 0; k < n; ++k) {
        Joint j{{std::cos(t[k]), std::sin(t[k])}, t[k] * t[k]};
        if (k > 0) {
            j.s = j.s + js[k - 1].s * j.c[0];
        }
        js.push_back(j);
    }
    for (int k = 0; k < n; ++k) {
        out[k] = js[n - 1 - k].c[k % 2] + js[k].s;
    }
}
"""


def _chain(t: np.ndarray) -> np.ndarray:
    n = len(t)
    c = np.stack([np.cos(t), np.sin(t)], axis=1)
    s = t * t
    for k in range(1, n):
        s[k] = s[k] + s[k - 1] * c[k, 0]
    return np.array([c[n - 1 - k, k % 2] + s[k] for k in range(n)])


def test_a_vector_of_records_has_a_vector_forward_tangent_of_rows():
    m = pyclad.cppdef(CHAIN)
    t = np.array([0.4, -1.1, 0.7, 2.0])
    J = pyclad.jacobian(m.chain, "t", mode="forward")
    got = J(t, 4, np.zeros(4))
    h = 1e-6
    fd = np.column_stack([(_chain(t + h * e) - _chain(t - h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(got, fd, rtol=1e-8, atol=1e-9)
    # one row of 3 vectors per Joint (c[0], c[1], s), filled by push_back
    assert "::std::vector<::std::array<::pyclad::vec<4>, 3>> _d_js" in J.code
    assert "_d_js.push_back({" in J.code


def test_the_skinning_jacobian_in_vector_forward_mode_matches_central_differences_and_reverse_mode():
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "examples" / "realworld"
    m = pyclad.load(folder / "hand.cpp", include_dirs=[folder])
    f = m["hand_objective<double>"]
    nb, nv = 4, 6
    parents = np.array([-1, 0, 1, 1], dtype=np.int32)
    rng = np.random.default_rng(1)
    offsets, joints = 0.3 * rng.standard_normal(3 * nb), np.zeros(3 * nb)
    for j in range(nb):
        joints[3 * j : 3 * j + 3] = offsets[3 * j : 3 * j + 3] + (
            joints[3 * parents[j] : 3 * parents[j] + 3] if j else 0
        )
    rest, weights = rng.standard_normal(3 * nv), np.zeros(nv * nb)
    for i in range(nv):
        weights[i * nb + i % nb], weights[i * nb + (i + 1) % nb] = 0.7, 0.3
    observed, theta = rng.standard_normal(3 * nv), 0.3 * rng.standard_normal(3 * nb + 3)
    args = (nb, nv, parents, offsets, joints, rest, weights, observed)
    J = pyclad.jacobian(f, "theta", mode="forward")
    got = J(*args, theta, np.zeros(3 * nv))
    assert J.last_mode == "forward"

    def primal(t):
        out = np.zeros(3 * nv)
        f(*args, t, out)
        return out

    h = 1e-6
    fd = np.column_stack(
        [(primal(theta + h * e) - primal(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    )
    np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)
    rev = pyclad.jacobian(f, "theta", mode="reverse")(*args, theta, np.zeros(3 * nv))
    np.testing.assert_allclose(got, rev, rtol=1e-12, atol=1e-14)
