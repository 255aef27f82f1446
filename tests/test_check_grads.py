"""pyclad.check_grads: forward mode, reverse mode and finite differences compared.

It must pass on correct derivatives and catch a wrong one -- here a custom derivative
(a clad-style pushforward or pullback) that is deliberately wrong, which is a real way a
derivative can be wrong without pyclad's transforms being at fault.  The expected numbers
in the failure tables are derived by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyclad
from pyclad.check import DEFAULT_ATOL, DEFAULT_RTOL, compare, parse_at, run_cli_check

SOURCE = r"""#include <cmath>
#include <pyclad/runtime.hpp>
double poly(double x, double y) { return x * x * y + std::sin(y) / (1 + x * x); }

double rosen(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i + 1] - x[i] * x[i];
        double b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    return s;
}

double power_loop(double x, int n) {
    double r = 1;
    for (int i = 0; i < n; ++i)
        r *= x;
    return r * std::exp(-x);
}

double scaled_norm(double s, const double* v, int n) {
    double t = 0;
    for (int i = 0; i < n; ++i)
        t += v[i] * v[i];
    return s * std::sqrt(t);
}

// sq(x) = x^2: the pushforward is right, the pullback says 3x instead of 2x.
double sq(double x) { return x * x; }
// cube(x) = x^3: the pullback is right, the pushforward says 2x^2 instead of 3x^2.
double cube(double x) { return x * x * x; }
namespace pyclad { namespace custom_derivatives {
pyclad::ValueAndPushforward<double, double> sq_pushforward(double x, double d_x) { return {x * x, 2 * x * d_x}; }
void sq_pullback(double x, double _d_y, double* _d_x) { *_d_x += 3 * x * _d_y; }
pyclad::ValueAndPushforward<double, double> cube_pushforward(double x, double d_x) {
    return {x * x * x, 2 * x * x * d_x};
}
void cube_pullback(double x, double _d_y, double* _d_x) { *_d_x += 3 * x * x * _d_y; }
}}

double sum_sq(double x, const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i)
        s += sq(a[i]) * x;
    return s;
}
double uses_cube(double x, double y) { return cube(x) + y; }
int count(double x) { return x > 0; }
void polar(double r, double t, double* p) {
    p[0] = r * std::cos(t);
    p[1] = r * std::sin(t);
}
void apply_sq(const double* x, double* out, int n) {
    for (int i = 0; i < n; ++i)
        out[i] = sq(x[i]) + x[0];
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="checked.cpp")


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(SOURCE.splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    "name, args",
    [
        ("poly", (0.7, -1.3)),
        ("rosen", (np.array([0.3, -0.8, 1.1, 0.5]), 4)),
        ("power_loop", (1.3, 4)),
        ("scaled_norm", (1.5, [0.3, -0.8, 1.1], 3)),
    ],
)
@pytest.mark.parametrize("order", [1, 2])
def test_correct_derivatives_pass(m, name, args, order):
    assert pyclad.check_grads(getattr(m, name), args, order=order) is None
    assert pyclad.check_grads(getattr(m, name), args, order=order, modes=("rev",)) is None
    assert pyclad.check_grads(getattr(m, name), args, order=order, modes="fwd") is None


def test_the_comparison_covers_every_scalar_and_array_element(m):
    entries = compare(m.scaled_norm, (1.5, [0.3, -0.8, 1.1], 3))
    assert [e.label for e in entries] == ["s", "v[0]", "v[1]", "v[2]"]
    norm = np.sqrt(0.3**2 + 0.8**2 + 1.1**2)
    want = [norm, 1.5 * 0.3 / norm, 1.5 * -0.8 / norm, 1.5 * 1.1 / norm]  # by hand
    for e, w in zip(entries, want):
        assert abs(e.fd - w) < 1e-9 and set(e.values) == {"fwd", "rev"}
        assert all(abs(v - w) < 1e-13 for v in e.values.values())
    second = compare(m.poly, (0.7, -1.3), order=2)
    labels = [e.label for e in second]
    assert labels[2:] == ["d2/dx dx", "d2/dx dy", "d2/dy dx", "d2/dy dy"]
    assert set(second[2].values) == {"fwd", "rev"} and set(second[3].values) == {"rev"}


def test_a_wrong_custom_pullback_fails_with_a_table_of_the_worst_entries(m):
    """sum_sq = x sum a_i^2; the pullback's 3a instead of 2a makes d/da_i = 3 a_i x."""
    with pytest.raises(pyclad.GradientCheckError) as info:
        pyclad.check_grads(m.sum_sq, (0.5, [1.0, 2.0, 3.0], 3))
    err = info.value
    assert isinstance(err, AssertionError) and isinstance(err, pyclad.PycladError)
    assert err.loc is not None and err.loc.line == line_of("double sum_sq(")
    msg = str(err)
    assert "gradient check of sum_sq at (0.5, [1., 2., 3.], 3) failed: 3 of 4 derivatives" in msg, msg
    lines = msg.splitlines()
    assert lines[1].split() == ["input", "fwd", "rev", "fd", "abs", "err", "rel", "err"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["a[2]", "a[1]", "a[0]"]  # the worst first; x is right
    for r, a in zip(rows, (3.0, 2.0, 1.0)):
        fwd, rev, fd, abs_err = map(float, r[1:5])
        assert fwd == 2 * a * 0.5 and rev == 3 * a * 0.5 and abs(fd - 2 * a * 0.5) < 1e-9
        assert abs(abs_err - a * 0.5) < 1e-6


def test_a_wrong_custom_pushforward_is_caught_in_forward_mode_only(m):
    """uses_cube = x^3 + y: the pushforward's 2x^2 is wrong, the pullback's 3x^2 right."""
    with pytest.raises(pyclad.GradientCheckError) as info:
        pyclad.check_grads(m.uses_cube, (1.5, 0.2))
    row = next(line.split() for line in str(info.value).splitlines() if line.split()[:1] == ["x"])
    assert float(row[1]) == 2 * 1.5**2 and float(row[2]) == 3 * 1.5**2
    assert "1 of 2 derivatives" in str(info.value)
    pyclad.check_grads(m.uses_cube, (1.5, 0.2), modes=("rev",))  # the pullback alone is right


def test_a_function_writing_outputs_has_its_jacobian_checked(m):
    pyclad.check_grads(m.polar, (1.5, 0.3, np.zeros(2)))
    entries = compare(m.polar, (1.5, 0.3, np.zeros(2)))
    assert [e.label for e in entries] == ["dp[0]/dr", "dp[0]/dt", "dp[1]/dr", "dp[1]/dt"]
    want = [np.cos(0.3), -1.5 * np.sin(0.3), np.sin(0.3), 1.5 * np.cos(0.3)]  # by hand
    for e, w in zip(entries, want):
        assert abs(e.fd - w) < 1e-9 and all(abs(v - w) < 1e-14 for v in e.values.values())


def test_a_wrong_custom_pullback_inside_a_jacobian_is_caught_in_reverse_mode(m):
    """apply_sq: out[i] = x[i]^2 + x[0]; the wrong pullback makes the diagonal 3 x[i] where
    it is 2 x[i]."""
    x = [0.5, -1.0, 2.0]
    with pytest.raises(pyclad.GradientCheckError) as info:
        pyclad.check_grads(m.apply_sq, (x, np.zeros(3), 3))
    msg = str(info.value)
    assert "3 of 9 derivatives" in msg, msg
    rows = {line.split()[0]: line.split() for line in msg.splitlines()[2:]}
    assert set(rows) == {"dout[0]/dx[0]", "dout[1]/dx[1]", "dout[2]/dx[2]"}
    # A custom derivative has no vector forward mode: the forward column is not available.
    fwd, rev, fd = rows["dout[2]/dx[2]"][1:4]
    assert fwd == "-" and float(rev) == 6.0 and abs(float(fd) - 4.0) < 1e-9
    with pytest.raises(pyclad.UnsupportedError, match="custom derivative in vector mode"):
        pyclad.check_grads(m.apply_sq, (x, np.zeros(3), 3), modes=("fwd",))


def test_tolerances_apply_to_second_order_entries(m):
    """With zero tolerance the finite differences' own error fails; the table then names
    Hessian entries too."""
    with pytest.raises(pyclad.GradientCheckError) as info:
        pyclad.check_grads(m.poly, (0.7, -1.3), order=2, atol=0, rtol=0)
    assert "d2/d" in str(info.value)
    assert DEFAULT_ATOL == DEFAULT_RTOL == 1e-6
    pyclad.check_grads(m.poly, (0.7, -1.3), order=2, eps=1e-2, atol=1e-4, rtol=1e-4)


def test_bad_requests_are_refused_with_a_location(m):
    with pytest.raises(pyclad.ArgumentError, match="order must be 1 or 2"):
        pyclad.check_grads(m.poly, (0.7, 1.0), order=3)
    with pytest.raises(pyclad.ArgumentError, match="modes must be"):
        pyclad.check_grads(m.poly, (0.7, 1.0), modes=("bwd",))
    with pytest.raises(pyclad.ArgumentError, match="eps must be a positive number"):
        pyclad.check_grads(m.poly, (0.7, 1.0), eps=0)
    with pytest.raises(pyclad.ArgumentError, match="takes 2 arguments"):
        pyclad.check_grads(m.poly, (0.7,))
    with pytest.raises(pyclad.PycladError, match="floating return value or of output arrays") as info:
        pyclad.check_grads(m.count, (0.7,))
    assert info.value.loc.line == line_of("int count(")
    with pytest.raises(pyclad.ArgumentError, match="order 2 needs a floating return value"):
        pyclad.check_grads(m.polar, (1.5, 0.3, np.zeros(2)), order=2)


def test_cli_check_reads_numbers_and_bracketed_arrays(m, tmp_path):
    path = tmp_path / "model.cpp"
    path.write_text(SOURCE)
    ok, report = run_cli_check(str(path), "poly", "0.7, -1.3")
    assert ok and report.startswith("gradient check of poly at (0.7, -1.3) passed:")
    assert report.splitlines()[1].split()[:4] == ["input", "fwd", "rev", "fd"]
    ok, report = run_cli_check(str(path), "scaled_norm", "1.5, [0.3, -0.8, 1.1], 3", order=2)
    assert ok and "v[2]" in report and "d2/dv[0] dv[1]" in report
    ok, report = run_cli_check(str(path), "sum_sq", "0.5, [1, 2, 3], 3")
    assert not ok and "3 of 4 derivatives differ" in report and "a[2]" in report
    assert f"{path}:{line_of('double sum_sq(')}:" in report


def test_cli_check_refuses_unreadable_points(tmp_path):
    path = tmp_path / "model.cpp"
    path.write_text(SOURCE)
    for at in ("0.7, abc", "0.7, [", "0.7, []", "0.7, True", "{1: 2}"):
        with pytest.raises(pyclad.ArgumentError, match="cannot read --at"):
            run_cli_check(str(path), "poly", at)
    with pytest.raises(pyclad.ArgumentError, match="takes 2 arguments"):
        run_cli_check(str(path), "poly", "0.7")
    assert parse_at("1, [2, 3.5], -4e-1") == [1, [2, 3.5], -0.4]


def test_check_grads_passes_a_correct_single_precision_gradient_and_still_catches_a_wrong_one():
    m = pyclad.cppdef(
        """
#include <pyclad/runtime.hpp>
float sp_sum(const float* a, int n) { float r = 0; for (int i = 0; i < n; ++i) r += a[i] * a[i]; return r; }
float sp_sq(float x) { return x * x; }
float sp_twice(float x) { return 2 * sp_sq(x); }
namespace pyclad { namespace custom_derivatives {
// Wrong on purpose: d x^2 = 2 x dx, not 2.1 x dx (5% off).
pyclad::ValueAndPushforward<float, float> sp_sq_pushforward(float x, float d_x) { return {x * x, 2.1f * x * d_x}; }
}}
"""
    )
    pyclad.check_grads(m.sp_sum, (np.array([1.0, 2.0, -0.5], np.float32), 3))
    with pytest.raises(pyclad.GradientCheckError):
        pyclad.check_grads(m.sp_twice, (1.5,), modes=("fwd",))
