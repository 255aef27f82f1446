"""The cost of methods, functors and lambdas in derivatives: the particle chain of
tests/programs/particle_chain.cpp (a struct with methods, a spring functor, a lambda pair
force) against the same program written with plain arrays.

Run on demand: python benchmarks/bench_methods.py [--quick]

Prints, for the primal, the gradient (reverse mode, w.r.t. x0, k, dt) and the forward
derivative w.r.t. k: the time per call of each version (best of several repeats, called
from Python with checked=False), the gradient / primal ratio, and method version / plain
version.
"""

from __future__ import annotations

import argparse
import timeit
from pathlib import Path

import numpy as np

import pyclad

PROGRAM = Path(__file__).resolve().parent.parent / "tests" / "programs" / "particle_chain.cpp"


def best(fn, number: int, repeat: int) -> float:
    """Seconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    steps, repeat = (200, 3) if opts.quick else (5000, 7)
    m = pyclad.load(PROGRAM)
    args = (np.array([0.0, 1.3, 2.1]), 2.0, 1e-3, steps)
    rows = {}
    for name in ("simulate", "simulate_plain"):
        f = m[name]
        g = pyclad.gradient(f, "x0, k, dt", checked=False)
        d = pyclad.differentiate(f, "k", checked=False)
        rows[name] = [best(lambda f=f: f(*args), 20, repeat), best(lambda g=g: g(*args), 20, repeat)]
        rows[name].append(best(lambda d=d: d(*args), 20, repeat))
    print(f"particle chain, {steps} steps (times per call in microseconds)")
    print(f"{'':16}{'primal':>10}{'gradient':>10}{'forward':>10}{'grad/primal':>13}")
    for name, (p, g, d) in rows.items():
        print(f"{name:16}{p * 1e6:10.1f}{g * 1e6:10.1f}{d * 1e6:10.1f}{g / p:13.2f}")
    (p1, g1, d1), (p0, g0, d0) = rows["simulate"], rows["simulate_plain"]
    print(f"methods / plain: primal {p1 / p0:.2f}, gradient {g1 / g0:.2f}, forward {d1 / d0:.2f}")


if __name__ == "__main__":
    main()
