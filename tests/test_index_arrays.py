"""Integer index arrays as parameters (``const int* idx``, ``long* idx``): callable from
Python with numpy arrays of the C++ type's dtype (int32 for ``int``, int64 for ``long`` /
``int64_t``), differentiated through ``x[idx[k]]`` in every mode, never truncated or written
outside what the caller passed."""

import numpy as np
import pytest
from conftest import arr, assert_close, fd

import pyclad
from pyclad.errors import ArgumentError

SOURCE = """\
#include <cstdint>
double gather(const double* x, const int* idx, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += x[idx[k]] * x[idx[k]] * x[k];
    return s;
}
double gather_plain(const double* x, int i0, int i1, int i2) {
    return x[i0] * x[i0] * x[0] + x[i1] * x[i1] * x[1] + x[i2] * x[i2] * x[2];
}
double wide(const double* x, const long* idx, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += x[idx[k]] * x[k];
    return s;
}
double fixed(const double* x, const int64_t* idx, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += x[idx[k]] * x[idx[k]];
    return s;
}
void spread(const double* x, const int* idx, int n, double* out) {
    for (int k = 0; k < n; k++) out[k] = x[idx[k]] * x[k];
}
void permute(int* idx, int n) { for (int k = 0; k < n; k++) idx[k] = n - 1 - k; }
double scatter(double* y, const double* x, const int* idx, int n) {
    for (int k = 0; k < n; k++) y[idx[k]] += x[k] * x[k];
    return y[0] * y[1] + y[2];
}
"""

X = arr(0.7, -1.3, 2.1)
IDX = np.array([2, 0, 1], dtype=np.int32)


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


@pytest.mark.parametrize("checked", [True, False])
def test_the_gradient_through_an_int32_index_array_matches_finite_differences_and_the_unrolled_sum(
    m, checked
):
    g = pyclad.gradient(m.gather, "x", checked=checked)(X, IDX, 3)
    plain = pyclad.gradient(m.gather_plain, "x", checked=checked)(X, 2, 0, 1)
    for k in range(3):
        assert_close(g[k], fd(m.gather, [X, IDX, 3], 0, k), what=f"d/dx[{k}] vs fd")
        assert_close(g[k], plain[k], what=f"d/dx[{k}] vs unrolled")


def test_forward_mode_differentiates_through_an_index_array(m):
    for k in range(3):
        d = pyclad.differentiate(m.gather, f"x[{k}]")(X, IDX, 3)
        assert_close(d, fd(m.gather, [X, IDX, 3], 0, k), what=f"x[{k}]")


def test_a_long_index_array_takes_int64_and_an_int64_t_one_too(m):
    idx = np.array([1, 2, 0], dtype=np.int64)
    assert_close(m.wide(X, idx, 3), X[1] * X[0] + X[2] * X[1] + X[0] * X[2])
    g = pyclad.gradient(m.fixed, "x")(X, idx, 3)
    for k in range(3):
        assert_close(g[k], fd(m.fixed, [X, idx, 3], 0, k), what=f"x[{k}]")


def test_a_const_index_array_of_another_integer_dtype_or_a_list_is_converted(m):
    want = m.gather(X, IDX, 3)
    assert_close(m.gather(X, IDX.astype(np.int64), 3), want)
    assert_close(m.gather(X, [2, 0, 1], 3), want)
    assert_close(m.gather(X, np.array([2.0, 0.0, 1.0]), 3), want)


def test_an_index_array_with_non_integer_or_out_of_range_values_is_refused_not_truncated(m):
    with pytest.raises(ArgumentError, match="non-integer"):
        m.gather(X, np.array([2.5, 0.0, 1.0]), 3)
    with pytest.raises(ArgumentError, match="outside its range"):
        m.gather(X, np.array([2**40, 0, 1], dtype=np.int64), 3)


def test_a_written_int_array_must_be_int32_and_is_written_in_place(m):
    idx = np.zeros(4, dtype=np.int32)
    m.permute(idx, 4)
    assert idx.tolist() == [3, 2, 1, 0]
    with pytest.raises(ArgumentError, match="int32"):
        m.permute(np.zeros(4, dtype=np.int64), 4)


def test_an_index_read_past_the_array_passed_is_a_bounds_error(m):
    with pytest.raises(pyclad.BoundsError):
        pyclad.gradient(m.gather, "x")(X, IDX[:2], 3)


def test_a_scatter_through_an_index_array_has_the_gradient_of_finite_differences(m):
    y = arr(0.5, 1.5, -0.25)
    gy, gx = pyclad.gradient(m.scatter, ["y", "x"])(y, X, IDX, 3)
    for k in range(3):
        assert_close(gy[k], fd(m.scatter, [y, X, IDX, 3], 0, k), what=f"y[{k}]")
        assert_close(gx[k], fd(m.scatter, [y, X, IDX, 3], 1, k), what=f"x[{k}]")


def test_the_jacobian_through_an_index_array_is_the_hand_derived_one(m):
    jac = pyclad.jacobian(m.spread)(X, IDX, 3, np.zeros(3))
    want = np.zeros((3, 3))
    for k in range(3):
        want[k, IDX[k]] += X[k]
        want[k, k] += X[IDX[k]]
    assert np.allclose(jac, want, rtol=1e-12, atol=0)


def test_the_hessian_through_an_index_array_matches_finite_differences_of_the_gradient(m):
    h = pyclad.hessian(m.gather, "x[0:2]")(X, IDX, 3)
    grad = pyclad.gradient(m.gather, "x")
    for i in range(3):
        for j in range(3):
            dj = fd(lambda *a, j=j: grad(*a)[j], [X, IDX, 3], 0, i)
            assert_close(h[i][j], dj, rtol=1e-6, what=f"H[{i}][{j}]")
