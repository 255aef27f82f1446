"""What a call does with the caller's arrays.

- A primal call writes its non-const pointer parameters in place, so it refuses anything it
  cannot write in place (a list, another dtype, a strided view, read-only memory) instead of
  writing into a hidden copy or into memory that must not change.
- A derivative call, of any kind, never modifies the caller's arrays: it is taken at the
  arguments as given, so calling it twice gives the same result.
- An array written by the function may not share memory with another array argument.

References: numpy formulas for the primal's writes, central finite differences
(conftest.fd) for the derivatives.
"""

from __future__ import annotations

import mmap

import numpy as np
import pytest
from conftest import arr, fd

import pyclad

SOURCE = r"""#include <cmath>
void squares(const double* x, double* out, int n) {
    for (int i = 0; i < n; ++i)
        out[i] = x[i] * x[i];
}

// Writes its own input (x) and a scratch array (work): s = sum 1.5 x_i^3.
double drift(double* x, double* work, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        work[i] = x[i] * x[i];
        x[i] = x[i] * 1.5;
        s += work[i] * x[i];
    }
    return s;
}

// out[i] = sin(2 x[i]) through a scratch array that is written too (its rows: 2 I).
void sin_twice(const double* x, double* out, double* work, int n) {
    for (int i = 0; i < n; ++i)
        work[i] = 2 * x[i];
    for (int i = 0; i < n; ++i)
        out[i] = std::sin(work[i]);
}

// Array parameters: a[3] is written, b[3] and c[] are const inputs.
void fixed(double a[3], const double b[3], const double c[]) {
    for (int i = 0; i < 3; ++i)
        a[i] = b[i] * c[i];
}

void halve(float* v, int n) {
    for (int i = 0; i < n; ++i)
        v[i] = v[i] / 2;
}

// Not const-correct, but reads both arrays: dot(x, x) is no aliasing.
double dot(double* a, double* b, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i)
        s += a[i] * b[i];
    return s;
}

// With out aliasing x, out[0] overwrites x[0] before the later terms read it.
double scale_by_first(const double* x, double* out, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        out[i] = x[0] * x[i];
        s += out[i] * x[i];
    }
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="arguments.cpp")


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(SOURCE.splitlines(), 1) if text in line)


def read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


X = arr(0.3, -1.2, 0.8)

# -------------------------------------------------------------- primal calls (item 3)

UNWRITABLE = {
    "list": ([0.0, 0.0, 0.0], "a list"),
    "float32": (np.zeros(3, dtype=np.float32), "a float32 array"),
    "int64": (np.zeros(3, dtype=np.int64), "a int64 array"),
    "strided": (np.zeros(6)[::2], "a non-contiguous (strided) float64 array"),
    "read-only": (read_only(np.zeros(3)), "a read-only float64 array"),
    "frombuffer(bytes)": (np.frombuffer(bytes(24), dtype=np.float64), "a read-only float64 array"),
}


@pytest.mark.parametrize("kind", list(UNWRITABLE))
def test_a_primal_refuses_an_output_it_cannot_write_in_place(m, kind):
    out, described = UNWRITABLE[kind]
    before = np.array(out, dtype=np.float64, copy=True)
    with pytest.raises(pyclad.ArgumentError) as info:
        m.squares(X, out, 3)
    msg = str(info.value)
    assert "argument 'out' of squares (double *out) can be written in place by squares" in msg, msg
    assert "pass a writable C-contiguous float64 numpy array" in msg, msg
    assert f"got {described}" in msg, msg
    assert info.value.loc is not None and info.value.loc.line == line_of("void squares(")
    np.testing.assert_array_equal(np.asarray(out, dtype=np.float64), before)  # nothing written


def test_a_primal_writes_a_writable_output_in_place(m):
    out = np.full(3, 7.0)
    m.squares(X, out, 3)
    np.testing.assert_array_equal(out, X * X)
    grid = np.zeros((1, 3))  # any C-contiguous shape: written through a flat view
    m.squares(X, grid, 3)
    np.testing.assert_array_equal(grid[0], X * X)


def test_array_parameters_follow_the_same_rule_and_keep_their_const(m):
    a = np.zeros(3)
    m.fixed(a, [1.0, 2.0, 3.0], (0.5, 0.5, 2.0))  # const double b[3], c[]: converted
    np.testing.assert_array_equal(a, [0.5, 1.0, 6.0])
    with pytest.raises(pyclad.ArgumentError, match=r"argument 'a' of fixed \(double \*a\) can be written"):
        m.fixed([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    J = pyclad.jacobian(m.fixed, mode="reverse")(a, [1.0, 2.0, 3.0], [0.5, 0.5, 2.0])
    want = np.hstack([np.diag([0.5, 0.5, 2.0]), np.diag([1.0, 2.0, 3.0])])  # columns: b, then c
    np.testing.assert_array_equal(J, want)
    np.testing.assert_array_equal(a, [0.5, 1.0, 6.0])


def test_a_float_output_takes_a_float32_array_in_place(m):
    v = np.array([1.0, 3.0, -5.0], dtype=np.float32)
    m.halve(v, 3)
    np.testing.assert_array_equal(v, np.array([0.5, 1.5, -2.5], dtype=np.float32))
    with pytest.raises(
        pyclad.ArgumentError,
        match=r"pass a writable C-contiguous float32 numpy array .*; got a float64 array",
    ):
        m.halve(np.ones(3), 3)


@pytest.mark.parametrize(
    "x",
    [list(X), X.astype(np.float32), read_only(X), np.repeat(X, 2)[::2], np.frombuffer(X.tobytes())],
    ids=["list", "float32", "read-only", "strided", "frombuffer"],
)
def test_a_const_input_may_be_anything_convertible(m, x):
    out = np.zeros(3)
    m.squares(x, out, 3)
    want = np.asarray(x, dtype=np.float64) ** 2
    np.testing.assert_array_equal(out, want)


def test_a_read_only_mmap_is_refused_as_an_output_and_read_as_an_input(m, tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(X.tobytes())
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        view = np.frombuffer(mapped, dtype=np.float64)
        with pytest.raises(pyclad.ArgumentError, match="got a read-only float64 array"):
            m.squares(X, view, 3)  # writing it would be a segfault
        out = np.zeros(3)
        m.squares(view, out, 3)
        np.testing.assert_array_equal(out, X * X)
        g = pyclad.gradient(m.drift, "x")(view, np.zeros(3), 3)  # a derivative's private copy
        np.testing.assert_allclose(g, 4.5 * X * X, rtol=1e-14)
        del view
        mapped.close()
    assert path.read_bytes() == X.tobytes()


# ------------------------------------------------------ derivative calls (item 4)


def drift_calls(m):
    """Every derivative kind of drift, with its reference: s = 1.5 sum x_i^3, so
    ds/dx_i = 4.5 x_i^2 (checked against finite differences) and the Hessian is diag(9 x_i)."""
    dx = 4.5 * X * X
    np.testing.assert_allclose([fd(m.drift, (X, np.zeros(3), 3), 0, k) for k in range(3)], dx, rtol=1e-9)
    value = 1.5 * float(np.sum(X**3))
    return [
        ("forward", pyclad.differentiate(m.drift, "x[1]"), dx[1]),
        ("vector", pyclad.differentiate(m.drift, "x"), dx),
        ("gradient", pyclad.gradient(m.drift, "x"), dx),
        ("value_and_grad", pyclad.value_and_grad(m.drift, "x"), (value, dx)),
        ("hessian", pyclad.hessian(m.drift, "x"), np.diag(9 * X)),
    ]


def assert_same(got, want, rtol):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w, rtol)
        return
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-9)


def test_every_derivative_kind_leaves_the_callers_arrays_alone(m):
    """drift writes x and work: each derivative is taken at the x given, twice the same."""
    for kind, d, want in drift_calls(m):
        x, work = X.copy(), np.full(3, 5.0)
        first = d(x, work, 3)
        second = d(x, work, 3)
        np.testing.assert_array_equal(x, X, err_msg=f"{kind} wrote the caller's x")
        np.testing.assert_array_equal(work, np.full(3, 5.0), err_msg=f"{kind} wrote the caller's work")
        assert_same(first, want, 1e-7)
        assert_same(second, first, 0)


def test_a_jacobian_leaves_the_callers_arrays_alone(m):
    x, out, work = X.copy(), np.full(3, 7.0), np.full(3, 5.0)
    want = np.vstack([np.diag(2 * np.cos(2 * X)), 2 * np.eye(3)])  # rows: out, then work
    for mode in ("forward", "reverse"):
        J = pyclad.jacobian(m.sin_twice, "x", mode=mode)
        first, second = J(x, out, work, 3), J(x, out, work, 3)
        np.testing.assert_array_equal(x, X)
        np.testing.assert_array_equal(out, np.full(3, 7.0))
        np.testing.assert_array_equal(work, np.full(3, 5.0))
        np.testing.assert_allclose(first, want, rtol=1e-13, err_msg=mode)
        np.testing.assert_array_equal(second, first)


@pytest.mark.parametrize(
    "x",
    [list(X), X.astype(np.float32).astype(np.float64).tolist(), read_only(X)],
    ids=["list", "list-again", "read-only"],
)
def test_a_derivative_accepts_any_convertible_array_where_the_function_writes(m, x):
    g = pyclad.gradient(m.drift, "x")(x, [0.0, 0.0, 0.0], 3)
    np.testing.assert_allclose(g, 4.5 * np.asarray(x) ** 2, rtol=1e-14)
    d = pyclad.differentiate(m.drift, "x[2]")(x, np.zeros(3, dtype=np.float32), 3)
    assert abs(d - 4.5 * np.asarray(x)[2] ** 2) < 1e-12


def test_a_float32_array_where_the_function_writes_is_a_private_float64_copy(m):
    x32 = X.astype(np.float32)
    g = pyclad.gradient(m.drift, "x")(x32, np.zeros(3), 3)
    np.testing.assert_allclose(g, 4.5 * x32.astype(np.float64) ** 2, rtol=1e-14)
    np.testing.assert_array_equal(x32, X.astype(np.float32))


# ------------------------------------------------------------- aliasing (item 10)


def test_aliasing_changes_the_result_of_the_fixture(m):
    """The reason for refusing: scale_by_first on one array differs from separate arrays."""
    x = X.copy()
    separate = sum(X[0] * X[i] * X[i] for i in range(3))
    # Computed by hand as the C++ would with out == x: out[0] = x0^2 replaces x[0].
    x0 = X[0] * X[0]
    aliased = x0 * X[0] + sum(x0 * X[i] * X[i] for i in range(1, 3))
    assert abs(separate - aliased) > 0.1
    assert abs(m.scale_by_first(x, np.zeros(3), 3) - separate) < 1e-14


def aliased_calls(m):
    return {
        "primal": m.scale_by_first,
        "forward": pyclad.differentiate(m.scale_by_first, "x[0]"),
        "vector": pyclad.differentiate(m.scale_by_first, "x"),
        "gradient": pyclad.gradient(m.scale_by_first, "x"),
        "value_and_grad": pyclad.value_and_grad(m.scale_by_first, "x"),
        "hessian": pyclad.hessian(m.scale_by_first, "x"),
    }


@pytest.mark.parametrize("kind", ["primal", "forward", "vector", "gradient", "value_and_grad", "hessian"])
def test_the_same_array_as_output_and_input_is_refused(m, kind):
    f = aliased_calls(m)[kind]
    buf = X.copy()
    with pytest.raises(pyclad.ArgumentError) as info:
        f(buf, buf, 3)
    msg = str(info.value)
    assert "arguments 'x' and 'out' of scale_by_first share memory" in msg, msg
    assert "'out' is written by scale_by_first" in msg, msg
    assert info.value.loc is not None and info.value.loc.line == line_of("double scale_by_first(")
    np.testing.assert_array_equal(buf, X)


@pytest.mark.parametrize("kind", ["primal", "gradient", "hessian"])
def test_overlapping_views_are_refused_and_disjoint_views_accepted(m, kind):
    f = aliased_calls(m)[kind]
    buf = np.concatenate([X, np.zeros(3)])
    with pytest.raises(pyclad.ArgumentError, match="share memory"):
        f(buf[0:3], buf[2:5], 3)
    f(buf[0:3], buf[3:6], 3)  # the same buffer, no overlap: fine
    strided = np.concatenate([X, X]).reshape(2, 3).T.copy().reshape(-1)  # x0 x0 x1 x1 x2 x2
    if kind != "primal":  # a derivative takes a strided output (a private copy), but not an overlapping one
        with pytest.raises(pyclad.ArgumentError, match="share memory"):
            f(strided[::2], strided[::2], 3)


def test_a_jacobian_refuses_aliased_arrays(m):
    J = pyclad.jacobian(m.squares)
    buf = X.copy()
    with pytest.raises(pyclad.ArgumentError, match="'x' and 'out' of squares share memory"):
        J(buf, buf, 3)
    np.testing.assert_allclose(J(buf, np.zeros(3), 3), np.diag(2 * X), rtol=1e-15)


def test_the_same_array_for_two_pointers_that_are_only_read_is_fine(m):
    """dot's params are non-const but never written (the write analysis says so): passing one
    array twice is no aliasing; the gradient is per parameter, d/da = b and d/db = a."""
    x = X.copy()
    assert abs(m.dot(x, x, 3) - float(X @ X)) < 1e-15
    ga, gb = pyclad.gradient(m.dot)(x, x, 3)
    np.testing.assert_array_equal(ga, X)
    np.testing.assert_array_equal(gb, X)
    np.testing.assert_allclose(
        [fd(lambda v, n: m.dot(v, v.copy(), n), (x, 3), 0, k) for k in range(3)], 2 * X, rtol=1e-9
    )
    with pytest.raises(pyclad.ArgumentError, match="can be written in place by dot"):
        m.dot(x, [1.0, 2.0, 3.0], 3)  # the primal's rule is by type: a non-const pointer


def test_an_int_too_large_for_any_double_is_an_argument_error_naming_the_parameter():
    m = pyclad.cppdef("double big_sq(double x) { return x * x; }")
    for call in (m.big_sq, pyclad.gradient(m.big_sq), pyclad.differentiate(m.big_sq, "x")):
        with pytest.raises(pyclad.ArgumentError, match="'x' of big_sq is double: 1000+ is outside its range"):
            call(10**400)
    assert pyclad.gradient(m.big_sq, "x")(2**60) == 2.0 * 2**60  # a large int that fits


def test_check_grads_given_a_bare_number_for_its_arguments_says_to_pass_a_tuple():
    m = pyclad.cppdef("double cg_sq(double x) { return x * x; }")
    with pytest.raises(pyclad.ArgumentError, match="as a tuple"):
        pyclad.check_grads(m.cg_sq, 3.0)
    pyclad.check_grads(m.cg_sq, (3.0,))


def test_options_of_the_wrong_kind_are_refused_not_taken_for_truthy_values():
    m = pyclad.cppdef("double opt_sq(double x, double y) { return x * x * y; }")
    with pytest.raises(pyclad.ArgumentError, match="checked must be True or False"):
        pyclad.gradient(m.opt_sq, checked="no")
    with pytest.raises(pyclad.WrtError, match="order must be a positive integer"):
        pyclad.differentiate(m.opt_sq, "x", order=True)
    with pytest.raises(pyclad.WrtError, match="wrt is empty"):
        pyclad.gradient(m.opt_sq, [])
    assert pyclad.gradient(m.opt_sq, ["y"])(3.0, 2.0) == (9.0,)  # d/dy = x^2


@pytest.mark.parametrize("bad", [3, b"double q(double x) { return x; }", None], ids=["int", "bytes", "None"])
def test_load_and_cppdef_given_something_other_than_a_path_or_source_text_say_what_they_take(bad):
    with pytest.raises(pyclad.ArgumentError, match="cppdef takes the C\\+\\+ source as a str"):
        pyclad.cppdef(bad)
    with pytest.raises(pyclad.ArgumentError, match="load takes the path of a C\\+\\+ file"):
        pyclad.load(bad)
