"""The cost of bounds-checked kernels: checked vs unchecked vs the primal, and per-call overhead.

Run on demand: python benchmarks/bench_checked.py [--quick]

(a) f(x) = sum_i sin(x_i) * x_i * x_{i-1} over n = 10^5: the primal, its gradient and its
    forward derivative w.r.t. x[1], each called from Python with the checked kernel (the
    default) and with checked=False; best of several repeats, in ms;
(b) the cost of one call of a scalar derivative from Python (f(x, y) = x * y), checked and
    unchecked (no arrays: the checks cost nothing there), in microseconds; and the cost of
    the fault guard itself (cppyy's signals as exceptions) on a bare cppyy call.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import seconds_per_call

import pyclad

LOOP = """\
#include <cmath>
double f(const double* x, int n) {
    double s = 0;
    for (int i = 1; i < n; ++i) {
        s += std::sin(x[i]) * x[i] * x[i - 1];
    }
    return s;
}
double g(double x, double y) { return x * y; }
"""


def loop_costs(n: int, repeat: int) -> None:
    m = pyclad.cppdef(LOOP, filename="bench_checked.cpp")
    x = np.linspace(0.1, 1.0, n)
    primal = seconds_per_call(lambda: m.f(x, n), 5, repeat)
    print(f"(a) n = {n}: primal {primal * 1e3:.3f} ms")
    for label, make in (
        ("gradient", lambda c: pyclad.gradient(m.f, "x", checked=c)),
        ("forward d/dx[1]", lambda c: pyclad.differentiate(m.f, "x[1]", checked=c)),
    ):
        d_checked, d_plain = make(True), make(False)
        tc = seconds_per_call(lambda d=d_checked: d(x, n), 5, repeat)
        tu = seconds_per_call(lambda d=d_plain: d(x, n), 5, repeat)
        print(
            f"    {label:16s} checked {tc * 1e3:8.3f} ms ({tc / primal:5.2f}x primal)   "
            f"unchecked {tu * 1e3:8.3f} ms ({tu / primal:5.2f}x primal)   checked/unchecked {tc / tu:5.2f}"
        )


def call_overhead(repeat: int) -> None:
    m = pyclad.cppdef(LOOP, filename="bench_checked_calls.cpp")
    number = 20000
    prim = seconds_per_call(lambda: m.g(1.5, 2.0), number, repeat)
    dc = pyclad.differentiate(m.g, "x")
    du = pyclad.differentiate(m.g, "x", checked=False)
    gc = pyclad.gradient(m.g)
    gu = pyclad.gradient(m.g, checked=False)
    print(f"(b) per call from Python: primal {prim * 1e6:.2f} us")
    for label, d in (
        ("forward checked", dc),
        ("forward unchecked", du),
        ("gradient checked", gc),
        ("gradient unchecked", gu),
    ):
        print(f"    {label:20s} {seconds_per_call(lambda d=d: d(1.5, 2.0), number, repeat) * 1e6:.2f} us")
    import cppyy
    import cppyy.ll

    cppyy.cppdef("double bench_checked_bare(double x) { return 2 * x; }")
    bare = cppyy.gbl.bench_checked_bare
    cppyy.ll.set_signals_as_exception(False)
    off = seconds_per_call(lambda: bare(1.0), number * 5, repeat)
    cppyy.ll.set_signals_as_exception(True)
    on = seconds_per_call(lambda: bare(1.0), number * 5, repeat)

    def ctx():
        with cppyy.ll.signals_as_exception():
            return bare(1.0)

    cppyy.ll.set_signals_as_exception(False)
    scoped = seconds_per_call(ctx, number * 5, repeat)
    cppyy.ll.set_signals_as_exception(True)  # what pyclad runs with
    print(
        f"    bare cppyy call: {off * 1e6:.2f} us; with signals as exceptions (pyclad's setting) "
        f"{on * 1e6:.2f} us; with the context manager per call {scoped * 1e6:.2f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 10^4 and fewer repeats")
    a = ap.parse_args()
    loop_costs(10_000 if a.quick else 100_000, 3 if a.quick else 7)
    call_overhead(3 if a.quick else 7)


if __name__ == "__main__":
    main()
