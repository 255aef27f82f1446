"""Call overhead of pyclad's derivative objects from Python, over the compiled kernel.

Run on demand: python benchmarks/bench_overhead.py [--quick]

For each derivative kind on a tiny function (forward, vector forward, gradient,
value_and_grad, Jacobian, Hessian), times one call of the pyclad object and one raw
cppyy call of the very kernel(s) that call runs, with the arguments it passes (captured
from the wrapper itself), and prints both and their difference.  The difference is what
the Python layer costs: argument checks and conversion, private copies of written arrays,
buffer allocation and shaping the result.  The target is at most 2 µs for scalar
functions; no C++ is generated or rendered after the first call for a set of lengths.
"""

from __future__ import annotations

import argparse
import sys
import timeit

import numpy as np

import pyclad
from pyclad import api, derivatives

SOURCE = r"""
double f(double x, double y) { return x * x * y + y; }
void h(double x, double y, double* out) {
    out[0] = x * y;
    out[1] = x + y;
}
double fa(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * a[i];
    return s;
}
"""


def captured(call, args):
    """The (kernel, arguments) pairs the wrapper passes to cppyy in one call of ``call``."""
    seen = []
    original = api.invoke

    def spy(native, conv, name):
        seen.append((native, list(conv)))
        return original(native, conv, name)

    api.invoke = derivatives.invoke = spy  # primal calls go through api, derivative calls not
    try:
        call(*args)
    finally:
        api.invoke = derivatives.invoke = original
    return seen


def per_call_us(fn, calls: int) -> float:
    """Best of 5 runs of ``calls`` calls, in µs per call."""
    return min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e6


def measure(call, args, calls: int) -> tuple[float, float]:
    call(*args)  # generate, compile, and lay out the buffers for these lengths
    kernels = captured(call, args)

    def raw():
        for native, conv in kernels:
            native(*conv)

    return per_call_us(lambda: call(*args), calls), per_call_us(raw, calls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    opts = ap.parse_args()
    calls = 20_000 if opts.quick else 200_000

    m = pyclad.cppdef(SOURCE)
    a = np.linspace(0.1, 0.8, 4)
    cases = [
        ("primal m.f", m.f, (3.0, 2.0)),
        ("differentiate(f, 'x')", pyclad.differentiate(m.f, "x"), (3.0, 2.0)),
        ("differentiate(f), vector mode", pyclad.differentiate(m.f), (3.0, 2.0)),
        ("gradient(f)", pyclad.gradient(m.f), (3.0, 2.0)),
        ("value_and_grad(f)", pyclad.value_and_grad(m.f), (3.0, 2.0)),
        ("jacobian(h)", pyclad.jacobian(m.h), (3.0, 2.0, np.zeros(2))),
        ("hessian(f)", pyclad.hessian(m.f), (3.0, 2.0)),
        ("gradient(fa, 'a'), n = 4", pyclad.gradient(m.fa, "a"), (a, 4)),
        ("differentiate(fa, 'a'), n = 4", pyclad.differentiate(m.fa, "a"), (a, 4)),
        ("hessian(fa, 'a'), n = 4", pyclad.hessian(m.fa, "a"), (a, 4)),
    ]
    print(f"pyclad call overhead (python {sys.version.split()[0]}, numpy {np.__version__})")
    print(f"µs per call, best of 5 x {calls} calls; raw = cppyy call(s) of the same kernel(s)\n")
    width = max(len(name) for name, _, _ in cases)
    print(f"  {'derivative':<{width}}  {'pyclad':>8}  {'raw':>8}  {'overhead':>8}")
    for name, call, args in cases:
        wrapped, raw = measure(call, args, calls)
        print(f"  {name:<{width}}  {wrapped:8.2f}  {raw:8.2f}  {wrapped - raw:8.2f}")


if __name__ == "__main__":
    main()
