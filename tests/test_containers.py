"""std::vector and std::array in forward and reverse mode.

Each function written with a container has a twin written with a plain pointer and a
length: the derivatives of the container version must agree with the twin's (a second
program, differentiated through the array machinery) and with central finite
differences of the container version's own primal.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, fd, fd_each, with_cpp_vectors

import pyclad

SOURCE = r"""
#include <array>
#include <cmath>
#include <vector>

// Element reads through [], at, front, back; size() as a loop bound.
double reads(const std::vector<double>& v) {
    double s = v.front() * v.back();
    for (std::size_t i = 0; i < v.size(); ++i) s += v.at(i) * v[i] * std::sin(v[i]);
    return s;
}
double reads_arr(const double* v, int n) {
    double s = v[0] * v[n - 1];
    for (int i = 0; i < n; ++i) s += v[i] * v[i] * std::sin(v[i]);
    return s;
}

// By value: the function's own copy, overwritten in place.
double by_value(std::vector<double> v) {
    for (std::size_t i = 1; i < v.size(); ++i) v[i] = v[i] * v[i - 1] + 0.5;
    return v[v.size() - 1];
}
double by_value_arr(const double* x, int n) {
    double prev = x[0];
    for (int i = 1; i < n; ++i) prev = x[i] * prev + 0.5;
    return prev;
}

// A non-const reference, squared in place by a reference range-for, summed by a
// const-reference range-for and a by-value one.
double by_ref(std::vector<double>& v) {
    for (auto& x : v) x = x * x;
    double s = 0;
    for (const auto& x : v) s += x;
    for (double x : v) s += std::exp(-x);
    return s;
}
double by_ref_arr(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += x[i] * x[i] + std::exp(-x[i] * x[i]);
    return s;
}

// Locals: a copy, a sized vector, a filled one, an initialiser list.
double locals(const std::vector<double>& v) {
    std::vector<double> w = v;
    std::vector<double> sq(v.size());
    std::vector<double> ones(v.size(), v[0]);
    std::vector<double> pair = {v[0] * 2.0, v[1]};
    for (std::size_t i = 0; i < w.size(); ++i) sq[i] = w[i] * w[i] * ones[i];
    double s = pair[0] * pair[1];
    for (double x : sq) s += x;
    return s;
}
double locals_arr(const double* v, int n) {
    double s = v[0] * 2.0 * v[1];
    for (int i = 0; i < n; ++i) s += v[i] * v[i] * v[0];
    return s;
}

// std::array by value and by const reference.
double fixed(const std::array<double, 3>& a, std::array<double, 3> b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s * a.front() + b.back();
}
double fixed_arr(const double* a, const double* b) {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += a[i] * b[i];
    return s * a[0] + b[2];
}

// A pointer into the elements.
double through_data(const std::vector<double>& v) {
    const double* p = v.data();
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += p[i] * p[i] * p[i];
    return s;
}
double through_data_arr(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += v[i] * v[i] * v[i];
    return s;
}

// A vector of vectors (rows of different lengths).
double rows(const std::vector<std::vector<double>>& m) {
    double s = 0;
    for (const auto& r : m)
        for (double x : r) s += x * x;
    return s + m[1][0] * m[0][1];
}
"""

X = np.array([0.7, -1.3, 0.4, 1.1])
TWINS = ["reads", "by_value", "by_ref", "locals", "through_data"]


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", TWINS)
def test_the_gradient_wrt_a_vector_matches_the_array_twin_and_finite_differences(m, name, checked):
    f = getattr(m, name)
    got = pyclad.gradient(f, "v", checked=checked)(X)
    assert isinstance(got, np.ndarray) and got.shape == X.shape
    want = pyclad.gradient(getattr(m, f"{name}_arr"), checked=checked)(X, X.size)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, fd_each(with_cpp_vectors(f), [X], 0), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", TWINS)
def test_forward_mode_wrt_each_vector_element_matches_the_array_twin(m, name, checked):
    f = getattr(m, name)
    twin = getattr(m, f"{name}_arr")
    for k in range(X.size):
        got = pyclad.differentiate(f, f"v[{k}]", checked=checked)(X)
        want = pyclad.differentiate(twin, f"{twin.ir.params[0].name}[{k}]", checked=checked)(X, X.size)
        assert_close(got, want, rtol=1e-12, atol=1e-12, what=f"{name} d/dv[{k}]")
        assert_close(
            got, fd(with_cpp_vectors(f), [X], 0, k), rtol=1e-7, atol=1e-9, what=f"{name} fd d/dv[{k}]"
        )


def test_std_array_params_by_value_and_const_reference(m):
    a, b = np.array([0.3, -0.8, 1.7]), [1.1, 0.2, -0.6]
    ga, gb = pyclad.gradient(m.fixed)(a, b)
    ta, tb = pyclad.gradient(m.fixed_arr)(a, np.array(b))
    np.testing.assert_allclose(ga, ta, rtol=1e-12)
    np.testing.assert_allclose(gb, tb, rtol=1e-12)
    np.testing.assert_allclose(ga, fd_each(lambda x: m.fixed(x, b), [a], 0), rtol=1e-8)
    for k in range(3):
        got = pyclad.differentiate(m.fixed, f"b[{k}]")(a, b)
        assert_close(got, fd(lambda y: m.fixed(a, y), [np.array(b)], 0, k), rtol=1e-8)


def test_a_gradient_wrt_a_vector_of_vectors_is_a_list_of_arrays(m):
    rows = [np.array([0.5, -1.5, 2.0]), np.array([3.0, 0.25])]
    got = pyclad.gradient(m.rows, "m")(rows)
    want = [2 * rows[0] + np.array([0, rows[1][0], 0]), 2 * rows[1] + np.array([rows[0][1], 0])]
    assert len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_the_primal_takes_lists_and_arrays_for_vectors(m):
    assert_close(m.reads(list(X)), m.reads_arr(X, X.size), rtol=1e-15)
    assert_close(m.fixed([1.0, 2.0, 3.0], np.array([1.0, 1.0, 1.0])), 6.0 + 1.0, rtol=1e-15)


def test_a_wrong_std_array_length_names_the_parameter(m):
    with pytest.raises(pyclad.ArgumentError, match="'b'.*exactly 3"):
        m.fixed([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(pyclad.ArgumentError, match="'a'.*exactly 3"):
        pyclad.gradient(m.fixed)([1.0, 2.0], [1.0, 2.0, 3.0])


def test_a_vector_of_strings_or_a_scalar_is_refused_naming_the_parameter(m):
    with pytest.raises(pyclad.ArgumentError, match="'v'.*numbers"):
        m.reads(np.array(["a", "b"]))
    with pytest.raises(pyclad.ArgumentError, match="'v'"):
        m.reads(1.5)
    with pytest.raises(pyclad.ArgumentError, match="'v'.*1-D"):
        m.reads(np.ones((2, 2)))


def test_a_non_const_vector_reference_is_written_in_place_only_as_a_cpp_vector(m):
    import cppyy

    with pytest.raises(pyclad.ArgumentError, match="'v'.*non-const reference"):
        m.by_ref(X.copy())
    v = cppyy.gbl.std.vector["double"](X)
    assert_close(m.by_ref(v), m.by_ref_arr(X, X.size), rtol=1e-14)
    np.testing.assert_allclose(np.array(v), X * X)  # squared in place, as the C++ does


def test_a_checked_gradient_reports_an_index_past_the_vector_end():
    m = pyclad.cppdef(
        "#include <vector>\ndouble f(const std::vector<double>& v, int n) {\n"
        "    double s = 0; for (int i = 0; i <= n; ++i) s += v[i] * v[i]; return s; }"
    )
    g = pyclad.gradient(m.f, "v")
    np.testing.assert_allclose(g([1.0, 2.0, 3.0], 2), [2.0, 4.0, 6.0])
    with pytest.raises(pyclad.BoundsError, match="'v'.*length 3"):
        g([1.0, 2.0, 3.0], 3)


CUSTOM = r"""
#include <cmath>
#include <vector>
#include <pyclad/runtime.hpp>

double norm(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}
// The user's own derivatives of norm, found by the same lookup as the builtins' (their
// bodies differ from what pyclad would derive: a counter shows that they ran).
int calls = 0;
namespace pyclad { namespace custom_derivatives {
void norm_pullback(const std::vector<double>& v, double _d_y, std::vector<double>* _d_v) {
    ++calls;
    double n = norm(v);
    for (std::size_t i = 0; i < v.size(); ++i) (*_d_v)[i] += _d_y * v[i] / n;
}
::pyclad::ValueAndPushforward<double> norm_pushforward(const std::vector<double>& v,
                                                       const std::vector<double>& _d_v) {
    ++calls;
    double n = norm(v), d = 0;
    for (std::size_t i = 0; i < v.size(); ++i) d += v[i] * _d_v[i] / n;
    return {n, d};
}
}}  // namespace pyclad::custom_derivatives
double scaled(const std::vector<double>& v, double c) { return c * norm(v) * v[0]; }
int count() { return calls; }
"""


def test_a_custom_derivative_of_a_function_of_a_vector_is_used_in_both_modes():
    m = pyclad.cppdef(CUSTOM)
    x = np.array([0.6, -0.8, 1.2])
    n = np.linalg.norm(x)
    gv, gc = pyclad.gradient(m.scaled)(x, 2.0)
    np.testing.assert_allclose(gv, 2 * x / n * x[0] + np.array([2 * n, 0, 0]), rtol=1e-14)
    assert_close(gc, n * x[0], rtol=1e-14)
    assert m.count() == 1
    assert_close(pyclad.differentiate(m.scaled, "v[1]")(x, 2.0), 2 * x[1] / n * x[0], rtol=1e-14)
    assert m.count() == 2


def test_value_and_grad_of_a_function_that_resizes_its_vector_argument(m):
    m2 = pyclad.cppdef(
        "#include <vector>\ndouble f(std::vector<double>& v) {\n"
        "    double s = v[0] * v[1]; v.push_back(s); v.resize(1); return s * v[0]; }"
    )
    value, grad = pyclad.value_and_grad(m2.f)([3.0, 2.0])
    assert_close(value, 18.0, rtol=1e-15)
    np.testing.assert_allclose(grad[0], [2 * 3.0 * 2.0, 3.0 * 3.0], rtol=1e-15)


def test_an_index_vector_of_int_gathers_elements_and_their_adjoints_add_up():
    m = pyclad.cppdef(
        "#include <vector>\ndouble f(const std::vector<double>& v, const std::vector<int>& idx) {\n"
        "    std::vector<double> w; double s = 0;\n"
        "    for (int k : idx) w.emplace_back(v[k] * v[k]);\n"
        "    for (double y : w) s += y; return s; }"
    )
    v = np.array([1.0, 2.0, 3.0])
    assert_close(m.f(v, [0, 2, 2]), 19.0, rtol=1e-15)
    np.testing.assert_allclose(
        pyclad.gradient(m.f, "v")(v, np.array([0, 2, 2])), [2.0, 0.0, 12.0], rtol=1e-15
    )
    with pytest.raises(pyclad.ArgumentError, match="'idx'.*not integers"):
        m.f(v, [0.5])
    with pytest.raises(pyclad.ArgumentError, match="'idx'.*outside its range"):
        m.f(v, [2**40])


def test_check_grads_checks_vector_parameters_element_by_element(m):
    pyclad.check_grads(m.reads, (X,))
    pyclad.check_grads(m.fixed, (np.array([0.3, -0.8, 1.7]), [1.1, 0.2, -0.6]), order=2)


def test_second_order_forward_mode_wrt_a_vector_element_matches_finite_differences(m):
    from conftest import fd2

    for k in range(X.size):
        got = pyclad.differentiate(m.reads, f"v[{k}]", order=2)(X)
        assert_close(got, fd2(m.reads, [X], 0, k), rtol=1e-6, atol=1e-6, what=f"d2/dv[{k}]^2")


def test_a_vector_returned_by_a_call_carries_its_derivative_in_both_modes():
    m = pyclad.cppdef(
        "#include <vector>\nstd::vector<double> twice(const std::vector<double>& v) {\n"
        "    std::vector<double> w = v; for (auto& x : w) x *= 2; return w; }\n"
        "double f(const std::vector<double>& v) { std::vector<double> w = twice(v); return w[0] * v[0]; }"
    )
    np.testing.assert_allclose(m.twice([1.0, 2.0]), [2.0, 4.0])
    v = np.array([1.5, 2.0])  # f = 2 v0^2: d/dv0 = 4 v0, d/dv1 = 0
    np.testing.assert_allclose(pyclad.gradient(m.f, "v")(v), [4 * v[0], 0.0], rtol=1e-12)
    np.testing.assert_allclose(pyclad.differentiate(m.f, "v[0]")(v), 4 * v[0], rtol=1e-12)


NESTED = r"""
#include <vector>
double rows_built(const std::vector<double>& v, double c) {
    std::vector<std::vector<double>> m;
    m.push_back(v);
    std::vector<double> r(2, c);
    m.push_back(r);
    std::vector<double> z(3);
    m.push_back(z);
    m[2][1] = c * v[0];
    double s = 0;
    for (const auto& row : m)
        for (double x : row) s += x * x * m[0][1];
    return s;
}
double rows_built_arr(const double* v, double c) {
    double s = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + 2 * c * c + c * v[0] * c * v[0];
    return s * v[1];
}
"""


@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_of_vectors_built_row_by_row_differentiates_in_both_modes(checked):
    m = pyclad.cppdef(NESTED)
    x, c = np.array([0.6, -0.8, 1.2]), 0.7
    gv, gc = pyclad.gradient(m.rows_built, checked=checked)(x, c)
    tv, tc = pyclad.gradient(m.rows_built_arr, checked=checked)(x, c)
    np.testing.assert_allclose(gv, tv, rtol=1e-12)
    assert_close(gc, tc, rtol=1e-12)
    np.testing.assert_allclose(gv, fd_each(lambda y: m.rows_built(y, c), [x], 0), rtol=1e-8)
    for k in range(3):
        assert_close(pyclad.differentiate(m.rows_built, f"v[{k}]", checked=checked)(x, c), tv[k], rtol=1e-12)
    assert_close(pyclad.differentiate(m.rows_built, "c", checked=checked)(x, c), tc, rtol=1e-12)


def test_a_checked_gradient_reports_a_read_past_the_end_through_data():
    m = pyclad.cppdef(
        "#include <vector>\ndouble f(const std::vector<double>& v, int n) {\n"
        "    const double* p = v.data(); double s = 0;\n"
        "    for (int i = 0; i < n; ++i) s += p[i] * p[i]; return s; }"
    )
    g = pyclad.gradient(m.f, "v")
    np.testing.assert_allclose(g([1.0, 2.0], 2), [2.0, 4.0])
    with pytest.raises(pyclad.BoundsError, match="length 2"):
        g([1.0, 2.0], 3)


ARRAY_LOCALS = r"""
#include <array>
#include <cmath>
double f(double x, double y) {
    std::array<double, 3> a = {x, y, x * y};
    std::array<double, 3> b{};
    for (std::size_t i = 0; i < a.size(); ++i) b[i] = std::sin(a[i]);
    std::array<double, 3> c = b;
    double s = 0;
    for (auto v : c) s += v * a[0];
    return s;
}
double f_plain(double x, double y) { return (std::sin(x) + std::sin(y) + std::sin(x * y)) * x; }
"""


def test_std_array_locals_in_every_mode_match_the_scalar_twin():
    m = pyclad.cppdef(ARRAY_LOCALS)
    x, y = 0.7, -0.4
    g = pyclad.gradient(m.f)(x, y)
    want = pyclad.gradient(m.f_plain)(x, y)
    np.testing.assert_allclose(g, want, rtol=1e-14)
    assert_close(pyclad.differentiate(m.f, "x")(x, y), want[0], rtol=1e-14)
    assert_close(fd(m.f, [x, y], 1), want[1], rtol=1e-9)
    H = pyclad.hessian(m.f)(x, y)
    np.testing.assert_allclose(H, pyclad.hessian(m.f_plain)(x, y), rtol=1e-13)
