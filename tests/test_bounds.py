"""No derivative call writes outside a buffer: an array shorter than the code indexes raises
pyclad.BoundsError (an IndexError) naming the buffer, the index and the line of the access,
before anything past the end is touched; the process keeps working."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import arr, gxx_build_and_run

import pyclad

SRC = """\
double sumsq(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += x[i] * x[i];
    }
    return s;
}
void square(const double* x, double* out, int n) {
    for (int i = 0; i < n; ++i) {
        out[i] = x[i] * x[i];
    }
}
double ramp(double* y, double s, int n) {
    double t = 0;
    for (int i = 0; i < n; ++i) {
        y[i] = s * i;
        t += y[i] * s;
    }
    return t;
}
double three(double a[3]) {
    a[2] = 7;
    return a[0] * a[1];
}
"""
ACCESS_LINES = {4, 10, 16, 17}  # the lines of x[i], out[i], y[i] above
SENTINEL = -12345.0


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC, filename="bounds.cpp")


def _kinds(m):
    """(derivative, args that index one element past x's end, args that fit, the right answer)."""
    x = arr(1.0, 2.0, 3.0)
    return {
        "gradient": (pyclad.gradient(m.sumsq, "x"), (x, 4), (x, 3), 2 * x),
        "value_and_grad": (pyclad.value_and_grad(m.sumsq, "x"), (x, 4), (x, 3), (14.0, 2 * x)),
        "forward": (pyclad.differentiate(m.sumsq, "x[1]"), (x, 4), (x, 3), 4.0),
        "vector": (pyclad.differentiate(m.sumsq, "x"), (x, 4), (x, 3), 2 * x),
        "hessian": (pyclad.hessian(m.sumsq, "x[0:1]"), (x, 4), (x, 3), 2 * np.eye(2)),
        "jacobian_fwd": (
            pyclad.jacobian(m.square, "x", mode="forward"),
            (x, np.zeros(3), 4),
            (x, np.zeros(3), 3),
            np.diag(2 * x),
        ),
        "jacobian_rev": (
            pyclad.jacobian(m.square, "x", mode="reverse"),
            (x, np.zeros(3), 4),
            (x, np.zeros(3), 3),
            np.diag(2 * x),
        ),
    }


def _same(got, want):
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13)


@pytest.mark.parametrize(
    "kind", ["gradient", "value_and_grad", "forward", "vector", "hessian", "jacobian_fwd", "jacobian_rev"]
)
def test_a_short_array_raises_a_located_bounds_error_and_the_next_call_works(m, kind):
    d, short, fits, want = _kinds(m)[kind]
    with pytest.raises(pyclad.BoundsError) as info:
        d(*short)
    e = info.value
    assert isinstance(e, IndexError) and isinstance(e, pyclad.PycladError)
    assert e.index == 3 and e.length == 3, str(e)
    assert "x" in e.param or "out" in e.param, str(e)
    assert e.loc is not None and e.loc.file == "bounds.cpp", str(e)
    assert e.loc.line in ACCESS_LINES, str(e)
    assert f"bounds.cpp:{e.loc.line}:" in str(e) and "index 3" in str(e)
    _same(d(*fits), want)  # hand formula: d/dx_i sum x^2 = 2 x_i


def _canary(n: int, tail: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A view of the first n elements of a buffer whose tail holds a sentinel."""
    buf = np.full(n + tail, SENTINEL)
    buf[:n] = 0.0
    return buf, buf[:n]


@pytest.mark.parametrize(
    "make", [lambda m: pyclad.differentiate(m.ramp, "s"), lambda m: pyclad.gradient(m.ramp, "s")]
)
def test_nothing_past_the_end_of_a_short_output_is_written(m, make):
    d = make(m)
    buf, y = _canary(3)
    with pytest.raises(pyclad.BoundsError) as info:
        d(y, 2.0, 6)
    assert info.value.param in ("y", "_d_y") and info.value.index == 3 and info.value.loc.line == 16
    assert (buf[3:] == SENTINEL).all(), buf


def test_the_canary_sees_a_write_past_the_end():
    """The primal is not checked: the same call writes into the tail (inside our own buffer, so
    harmlessly), which shows the canary above can fail."""
    m = pyclad.cppdef(SRC, filename="bounds.cpp")
    buf, y = _canary(3)
    m.ramp(y, 2.0, 5)
    np.testing.assert_array_equal(buf[3:5], [6.0, 8.0])  # y[i] = s * i, written past y's end


def test_unchecked_derivatives_agree_with_the_hand_formula(m):
    x = arr(0.5, -1.5, 2.0)
    _same(pyclad.gradient(m.sumsq, "x", checked=False)(x, 3), 2 * x)
    _same(pyclad.differentiate(m.sumsq, "x", checked=False)(x, 3), 2 * x)
    _same(pyclad.hessian(m.sumsq, "x[0:2]", checked=False)(x, 3), 2 * np.eye(3))
    _same(pyclad.jacobian(m.square, "x", mode="reverse", checked=False)(x, np.zeros(3), 3), np.diag(2 * x))
    # ramp: t = sum_i s^2 i, dt/ds = 2 s sum_i i
    assert pyclad.differentiate(m.ramp, "s", checked=False)(np.zeros(4), 1.5, 4) == pytest.approx(18.0)


@pytest.mark.parametrize("call", ["primal", "gradient", "forward"])
def test_a_declared_array_parameter_given_fewer_elements_is_refused_before_the_call(m, call):
    fn = {
        "primal": m.three,
        "gradient": pyclad.gradient(m.three),
        "forward": pyclad.differentiate(m.three, "a[0]"),
    }[call]
    buf, a = _canary(2)
    a[:] = [2.0, 5.0]
    with pytest.raises(pyclad.BoundsError, match=r"double a\[3\].*length 2") as info:
        fn(a)
    assert info.value.param == "a" and info.value.loc.line == 21
    assert (buf[2:] == SENTINEL).all()  # a[2] = 7 never ran
    # d(a0 a1)/da = (a1, a0, 0) at a = (2, 5, 1)
    got = pyclad.gradient(m.three)(arr(2.0, 5.0, 1.0))
    _same(got, (arr(5.0, 2.0, 0.0),))


def test_a_local_array_and_a_pointer_into_it_are_checked_by_their_declared_size():
    m = pyclad.cppdef(
        """\
double window(const double* x, int k) {
    double w[3] = {x[0], x[1], x[2]};
    double* p = &w[1];
    return w[0] * p[k];
}
""",
        filename="local.cpp",
    )
    g = pyclad.gradient(m.window, "x")
    _same(g(arr(2.0, 3.0, 4.0), 1), arr(4.0, 0.0, 2.0))  # d(x0 x2) = (x2, 0, x0)
    with pytest.raises(pyclad.BoundsError) as info:
        g(arr(2.0, 3.0, 4.0), 2)  # p[2] is w[3]
    assert info.value.index == 3 and info.value.length == 3 and info.value.loc.line == 4


def test_code_shows_the_plain_kernel(m):
    g = pyclad.gradient(m.sumsq, "x")
    assert "checked" not in g.code and "void sumsq_grad(const double *x, int n, double *_d_x)" in g.code


def test_the_sanitizer_build_of_a_generated_program_fails_on_a_write_past_a_buffer(tmp_path):
    """The shared g++ helper runs a second, sanitized build: a one-past-the-end write that the
    -O2 build survives silently fails it."""
    (tmp_path / "overflow.cpp").write_text(
        "#include <cstdio>\n#include <vector>\n"
        "int main(int argc, char**) {\n"
        "    std::vector<double> v(4);\n"
        "    v.data()[3 + argc] = 1.0;  // argc = 1: index 4, inside the allocation's slack\n"
        '    std::printf("%g\\n", v[0]);\n'
        "}\n"
    )
    with pytest.raises(AssertionError, match="overflow_asan failed"):
        gxx_build_and_run(tmp_path, "overflow.cpp")


def test_a_users_function_template_takes_the_plain_pointer_from_a_checked_kernel():
    """count_pos(x, n) deduces T from const T*: the checked kernel passes it x's plain pointer."""
    m = pyclad.cppdef(
        """\
template <class T> int count_pos(const T* p, int n) {
    int c = 0;
    for (int i = 0; i < n; ++i) c += p[i] > 0;
    return c;
}
double scaled(const double* x, int n) { return count_pos(x, n) * x[0] * x[0]; }
"""
    )
    x = arr(2.0, -3.0, 1.0)
    _same(pyclad.gradient(m.scaled)(x, 3), (arr(2 * 2 * 2.0, 0.0, 0.0),))  # d(c x0^2) = 2 c x0, c = 2


NS_SRC = """
namespace a {
double h(const double* x, int i) { return x[i] * x[i]; }
double f(const double* x, int n) { double s = 0; for (int i = 0; i < n; ++i) s += h(x, i); return s; }
}
namespace b {
double h(const double* x, int i) { return 3 * x[i]; }
double f(const double* x, int n) { double s = 0; for (int i = 0; i < n; ++i) s += h(x, i); return s; }
}
double both(const double* x, int n) { return a::f(x, n) + b::f(x, n); }
"""


def test_checked_kernels_of_functions_in_namespaces_call_their_own_checked_helpers():
    m = pyclad.cppdef(NS_SRC, filename="ns.cpp")
    x = arr(1.0, 2.0, 3.0)
    # Hand formulas: d/dx sum x_i^2 = 2x, d/dx sum 3 x_i = 3, and their sum.
    _same(pyclad.gradient(m.a.f, "x")(x, 3), 2 * x)
    _same(pyclad.gradient(m.b.f, "x")(x, 3), np.full(3, 3.0))
    _same(pyclad.gradient(m.both, "x")(x, 3), 2 * x + 3)
    with pytest.raises(pyclad.BoundsError) as info:
        pyclad.gradient(m.both, "x")(x, 4)
    assert info.value.index == 3 and info.value.loc.file == "ns.cpp" and info.value.loc.line in (3, 7)
    _same(pyclad.gradient(m.both, "x")(x, 3), 2 * x + 3)
