"""Counted loops in reverse mode (ad/reverse/counted.py): a loop whose bounds the reverse sweep
can evaluate again runs its reversed trips from them, with no trip count and no counter on a
tape; a loop that may leave early, steps otherwise, or whose bounds may change keeps its count.
Every gradient is checked against central differences of the primal."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import arr, fd

import pyclad

SRC = """\
#include <cmath>
#include <cstddef>
// The triangle of q_times_x: the inner start reads the outer counter.
double tri(const double* x, int d) {
    double s = 0;
    for (int j = 0; j < d; ++j) {
        for (int i = j + 1; i < d; ++i) {
            s += std::sin(x[i] * x[j]);
        }
    }
    return s;
}
// The bound changes inside the loop: the trips are counted.
double shrinking(const double* x, int n) {
    double s = 0;
    int m = n;
    for (int i = 0; i < m; ++i) {
        s += x[i] * x[i];
        if (x[i] > 1.0) {
            m = m - 1;
        }
    }
    return s;
}
// A loop that may leave early: the trips are counted.
double until(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        if (s > 2.0) {
            break;
        }
        s += x[i] * x[i];
    }
    return s;
}
// A counter stepping by two: the trips are counted.
double evens(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i += 2) {
        s += std::exp(x[i]);
    }
    return s;
}
// The bound is overwritten after the loop: the reverse sweep reads it as it was.
double rebound(const double* x, int n) {
    double s = 0;
    int m = n - 1;
    for (int k = 0; k < 2; ++k) {
        for (int i = 0; i < m; ++i) {
            s += x[i] * x[i + 1] * (k + 1);
        }
        m = m - 1;
    }
    return s;
}
// The bound can be written through a pointer: the trips are counted.
double aliased(const double* x, int n) {
    double s = 0;
    int m = n;
    int* pm = &m;
    for (int k = 0; k < 2; ++k) {
        for (int i = 0; i < m; ++i) {
            s += x[i] * x[i] * x[i];
        }
        *pm = 1;
    }
    return s;
}
// An unsigned counter, and a loop that may not run at all (lo > hi).
double unsigned_tail(const double* x, std::size_t n, std::size_t from) {
    double s = 0;
    for (std::size_t i = from; i < n; ++i) {
        s += x[i] * std::cos(x[i]);
    }
    return s;
}
// Nothing of the loop's forward work is read by the reverse sweep.
double sqdist(int d, const double* p, const double* c) {
    double s = 0;
    for (int i = 0; i < d; ++i) {
        double diff = p[i] - c[i];
        s += diff * diff;
    }
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def _check(m, name, args, wrt, checked=False):
    """The gradient of ``name`` w.r.t. the array parameter ``wrt``, against central differences."""
    f = getattr(m, name)
    g = pyclad.gradient(f, wrt, checked=checked)
    got = g(*args)
    got = got[0] if isinstance(got, tuple) else got
    k = [p.name for p in f.ir.params].index(wrt)
    for e in range(len(args[k])):
        want = fd(f, args, k, e)
        assert abs(got[e] - want) <= 1e-7 * max(1.0, abs(want)), (name, e, got[e], want)
    return g.code


X = arr(0.5, -1.2, 0.8, 1.5, -0.3, 0.9)


@pytest.mark.parametrize("checked", [False, True])
def test_a_triangular_nest_reverses_from_its_bounds_with_no_counts_taped(m, checked):
    code = _check(m, "tri", [X, 6], "x", checked)
    assert "_count" not in code and "::pyclad::tape" not in code
    assert "for (j = d; j > 0;) {" in code
    assert "for (i = d; i > j + 1;) {" in code


def test_a_loop_whose_bound_changes_in_its_body_counts_its_trips(m):
    code = _check(m, "shrinking", [arr(0.5, 1.5, 0.8, 1.2, -0.3), 5], "x")
    assert "_count" in code


def test_a_loop_that_may_break_counts_its_trips(m):
    code = _check(m, "until", [arr(0.5, 1.5, 0.8, 1.2, -0.3), 5], "x")
    assert "_count" in code


def test_a_counter_stepping_by_two_counts_its_trips(m):
    code = _check(m, "evens", [X, 6], "x")
    assert "_count" in code


def test_a_bound_overwritten_after_the_loop_is_read_as_it_was_by_the_reverse_loop(m):
    code = _check(m, "rebound", [X, 6], "x")
    assert "for (i = m; i > 0;) {" in code and "_count" not in code.split("for (k = 2")[-1]


def test_a_bound_that_a_pointer_can_write_counts_its_trips(m):
    code = _check(m, "aliased", [X, 6], "x")
    assert re.search(r"::pyclad::push\(_t\d+, _count\d+\)", code)


@pytest.mark.parametrize("start", [0, 2, 6, 9])
def test_an_unsigned_counter_reverses_from_its_bounds_even_when_the_loop_never_ran(m, start):
    code = _check(m, "unsigned_tail", [X, 6, start], "x")
    assert "for (i = n; i > from;) {" in code and "_count" not in code
    grad = pyclad.gradient(m.unsigned_tail, "x")(X, 6, start)
    want = np.where(np.arange(6) >= start, np.cos(X) - X * np.sin(X), 0.0)
    np.testing.assert_allclose(grad, want, rtol=1e-12, atol=1e-15)


def test_a_forward_loop_left_with_nothing_but_its_counter_vanishes(m):
    p, c = arr(0.5, -1.0, 2.0), arr(0.1, 0.3, -0.2)
    code = _check(m, "sqdist", [3, p, c], "c")
    assert "while" not in code and "i = 0;" not in code.replace("int i = 0;", "")
    grad = pyclad.gradient(m.sqdist, "c")(3, p, c)
    np.testing.assert_allclose(grad, -2 * (p - c), rtol=1e-12)


# --- dead stores in pullbacks (ad/reverse/prune.py) -------------------------------------------

PRUNE_SRC = """\
#include <cmath>
struct M2 {
    double a[4];
    M2() : a{} {}
    M2 operator*(const M2& o) const {
        M2 out;
        for (int r = 0; r < 2; ++r) {
            for (int c = 0; c < 2; ++c) {
                double s = 0;
                for (int k = 0; k < 2; ++k) {
                    s += a[2 * r + k] * o.a[2 * k + c];
                }
                out.a[2 * r + c] = s;
            }
        }
        return out;
    }
};
double det_of_square(const double* p) {
    M2 m;
    for (int i = 0; i < 4; ++i) {
        m.a[i] = p[i];
    }
    M2 q = m * m;
    return q.a[0] * q.a[3] - q.a[1] * q.a[2];
}
double norm2(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += v[i] * v[i];
    }
    return s;
}
// Each term's value is only needed by the primal's result, never by the derivative.
double penalty(const double* x, int k, int d, double g) {
    double out = 0;
    for (int j = 0; j < k; ++j) {
        double frob = norm2(&x[j * d], d) + std::lgamma(g + j);
        out += g * frob;
    }
    return out;
}
double uses_penalty(const double* x, int k, int d, double g) {
    return std::sqrt(1.0 + penalty(x, k, d, g));
}
"""


@pytest.fixture(scope="module")
def mp():
    return pyclad.cppdef(PRUNE_SRC)


def test_a_pullback_computes_no_record_that_only_the_primal_result_reads(mp):
    p = arr(0.5, -1.2, 0.8, 1.5)
    code = _check(mp, "det_of_square", [p], "p")
    pullback = code.split("operator_star")[1].split("\n}\n")[0]
    assert " out" not in pullback.replace("_d_out", "") and "while" not in pullback
    a, b, c, d = p  # det(P^2) = det(P)^2
    want = 2 * (a * d - b * c) * np.array([d, -c, -b, a])
    np.testing.assert_allclose(pyclad.gradient(mp.det_of_square, "p")(p), want, rtol=1e-12)


def test_a_pullback_does_not_evaluate_values_only_its_primal_result_needs(mp):
    x = arr(0.5, -1.2, 0.8, 1.5, -0.3, 0.9)
    code = _check(mp, "uses_penalty", [x, 3, 2, 0.7], "x")
    pullback = code.split("void penalty_pullback")[1].split("\n}\n")[0]
    assert not re.search(r"\bfrob\b", pullback) and "lgamma" not in pullback and "while" not in pullback


# --- scratch arrays filled in every trip (ad/reverse/scratch.py) ------------------------------

SCRATCH_SRC = """\
#include <cmath>
#include <vector>
static double energy(const double* v, int d) {
    double s = 0;
    for (int i = 0; i < d; ++i) {
        s += std::sin(v[i]) * v[i];
    }
    return s;
}
// GMM's xcentered: filled at the top of every trip, then read by a call.
double centred(const double* x, const double* mu, int n, int k, int d) {
    std::vector<double> xc(d);
    double total = 0;
    for (int a = 0; a < n; ++a) {
        for (int b = 0; b < k; ++b) {
            for (int i = 0; i < d; ++i) {
                xc[i] = x[a * d + i] - mu[b * d + i];
            }
            total += energy(xc.data(), d);
        }
    }
    return total;
}
// A trip reads what the previous trip left before it refills the array: taped.
double carried(const double* x, int n, int d) {
    double buf[4] = {0.5, 0.25, 0.125, 1.0};
    double total = 0;
    for (int a = 0; a < n; ++a) {
        total += buf[0] * buf[d - 1];
        for (int i = 0; i < d; ++i) {
            buf[i] = std::cos(x[a * d + i] * buf[i]);
        }
        total += energy(buf, d);
    }
    return total;
}
// The filled range grows with the outer counter: elements of earlier trips are read.
double growing(const double* x, int n) {
    double buf[5] = {0.5, 0.25, 0.125, 1.0, 2.0};
    double total = 0;
    for (int a = 0; a < n; ++a) {
        for (int i = 0; i < a; ++i) {
            buf[i] = x[a] * x[i];
        }
        total += energy(buf, 5);
    }
    return total;
}
static void halve(double* v, int d) {
    for (int i = 0; i < d; ++i) {
        v[i] = 0.5 * v[i];
    }
}
// A call writes the array after the filling loop: taped.
double written_by_a_call(const double* x, int n, int d) {
    std::vector<double> xc(d);
    double total = 0;
    for (int a = 0; a < n; ++a) {
        for (int i = 0; i < d; ++i) {
            xc[i] = x[a * d + i] * x[a * d + i];
        }
        halve(xc.data(), d);
        total += energy(xc.data(), d);
    }
    return total;
}
// The filling reads a scalar the trip changes before the last read: taped.
double shifting(const double* x, int n, int d) {
    std::vector<double> xc(d);
    double total = 0, shift = 0.1;
    for (int a = 0; a < n; ++a) {
        for (int i = 0; i < d; ++i) {
            xc[i] = x[a * d + i] - shift;
        }
        shift = shift + x[a * d];
        total += energy(xc.data(), d) * shift;
    }
    return total;
}
"""


@pytest.fixture(scope="module")
def ms():
    return pyclad.cppdef(SCRATCH_SRC)


def _taped(code: str, array: str) -> bool:
    return re.search(rf"::pyclad::push\(_t\d+, {array}\[", code) is not None


XS = np.linspace(-0.9, 1.1, 12)


@pytest.mark.parametrize("checked", [False, True])
def test_a_scratch_array_filled_in_every_trip_is_refilled_in_the_reverse_sweep_not_taped(ms, checked):
    mu = np.array([0.3, -0.2, 0.5, 0.1, -0.4, 0.2])
    f = ms.centred
    g = pyclad.gradient(f, "x, mu", checked=checked)
    gx, gmu = g(XS, mu, 4, 2, 3)
    for arg, got in ((0, gx), (1, gmu)):
        for e in range(len(got)):
            want = fd(f, [XS, mu, 4, 2, 3], arg, e)
            assert abs(got[e] - want) <= 1e-7 * max(1.0, abs(want)), (arg, e, got[e], want)
    assert not _taped(g.code, "xc") and "::pyclad::tape" not in g.code
    reverse = g.code.split("void centred_grad")[1].split("energy_pullback")[0]
    assert "for (i = 0; i < d; ++i) {" in reverse  # the filling loop, run again


def test_an_array_a_trip_reads_before_refilling_it_stays_taped(ms):
    code = _check(ms, "carried", [XS, 3, 4], "x")
    assert _taped(code, "buf")


def test_an_array_filled_over_a_range_that_changes_between_trips_stays_taped(ms):
    code = _check(ms, "growing", [XS[:5], 5], "x")
    assert _taped(code, "buf")


def test_an_array_a_call_writes_after_the_fill_stays_taped(ms):
    code = _check(ms, "written_by_a_call", [XS, 4, 3], "x")
    assert "undo" in code or _taped(code, "xc")
    assert "for (i = 0; i < d; ++i) {" not in code.split("void written_by_a_call_grad")[1]


def test_a_fill_reading_a_value_the_trip_changes_later_stays_taped(ms):
    code = _check(ms, "shifting", [XS, 4, 3], "x")
    assert _taped(code, "xc")


# --- one update per adjoint where a value reads a leaf twice (ad/reverse/adjoints.py) ---------

SQUARES_SRC = """\
double squares(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += x[i] > 0 ? x[i] * x[i] : x[i] * x[(i + 1) % n];
    }
    return s;
}
"""


def test_two_partials_into_the_same_adjoint_are_one_update_and_different_ones_stay_two():
    m = pyclad.cppdef(SQUARES_SRC)
    x = arr(0.5, -1.2, 0.8, -1.5, 0.3)
    code = _check(m, "squares", [x, 5], "x")
    assert "_d_x[i] += _d_s * x[i] + x[i] * _d_s;" in code
    assert len(re.findall(r"_d_x\[i\] \+=", code)) == 2  # the merged one, and x[i] * x[i + 1]'s
    assert "_d_x[(i + 1) % n] +=" in code
    want = np.where(x > 0, 2 * x, np.roll(x, -1))
    for i in range(5):  # the x[i - 1] * x[i] term of the element before
        if x[i - 1] <= 0:
            want[i] += x[i - 1]
    np.testing.assert_allclose(pyclad.gradient(m.squares, "x")(x, 5), want, rtol=1e-12)
