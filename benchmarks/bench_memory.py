"""The cost of dynamic memory and of in-place updates through calls in reverse mode.

Run on demand: python benchmarks/bench_memory.py [--quick]

(a) an RNN-like state of n values updated in place by a helper ``step(state, w, n)`` for T
    steps, in a ``new double[n]`` buffer: gradient time / primal time, against the same
    function with the update written inline (no call, so no undo log);
(b) a ``new double[n]`` scratch buffer freed before the return, against the same sum
    without the buffer.
Gradients are called with checked=False (the plain kernels, as ``pyclad gen`` writes them);
best of several repeats, in ms.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import pyclad

SOURCE = """\
#include <cmath>
void step(double* state, const double* w, int n) {
    for (int i = 0; i < n; i++) state[i] = std::tanh(state[i] * w[i] + 0.5 * state[(i + 1) % n]);
}
double run(const double* w, int n, int steps) {
    double* state = new double[n]();
    double loss = 0;
    for (int t = 0; t < steps; t++) {
        state[t % n] += 1.0;
        step(state, w, n);
        loss += state[0] * state[n - 1];
    }
    delete[] state;
    return loss;
}
double run_inline(const double* w, int n, int steps) {
    double* state = new double[n]();
    double loss = 0;
    for (int t = 0; t < steps; t++) {
        state[t % n] += 1.0;
        for (int i = 0; i < n; i++) state[i] = std::tanh(state[i] * w[i] + 0.5 * state[(i + 1) % n]);
        loss += state[0] * state[n - 1];
    }
    delete[] state;
    return loss;
}
double cubes(const double* x, int n) {
    double* t = new double[n];
    for (int i = 0; i < n; i++) t[i] = x[i] * x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += t[i] * x[i];
    delete[] t;
    return s;
}
double cubes_plain(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i] * x[i];
    return s;
}
"""


def best(fn, number: int, repeat: int) -> float:
    """Seconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def ratio(m, name: str, args, repeat: int) -> tuple[float, float]:
    fn = getattr(m, name)
    g = pyclad.gradient(fn, fn.ir.params[0].name, checked=False)
    primal = best(lambda: fn(*args), 5, repeat)
    grad = best(lambda: g(*args), 5, repeat)
    return primal, grad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    quick = ap.parse_args().quick
    repeat = 3 if quick else 7
    m = pyclad.cppdef(SOURCE, filename="bench_memory.cpp")
    n, steps = (200, 20) if quick else (1000, 100)
    w = np.linspace(0.2, 0.9, n)
    print(f"(a) state of n = {n} updated in place for {steps} steps")
    for name in ("run", "run_inline"):
        p, g = ratio(m, name, (w, n, steps), repeat)
        print(f"    {name:12s} primal {p * 1e3:8.3f} ms  gradient {g * 1e3:8.3f} ms  ({g / p:5.2f}x)")
    n = 10_000 if quick else 100_000
    x = np.linspace(0.1, 1.0, n)
    print(f"(b) scratch buffer, n = {n}")
    for name in ("cubes", "cubes_plain"):
        p, g = ratio(m, name, (x, n), repeat)
        print(f"    {name:12s} primal {p * 1e3:8.3f} ms  gradient {g * 1e3:8.3f} ms  ({g / p:5.2f}x)")


if __name__ == "__main__":
    main()
