"""Timing shared by the benchmarks.

Ratios (gradient / primal) are timed in C++ loops compiled next to the code they time, so
Python's call overhead stays out of them: ``cxx_timer`` wraps C++ that calls
``time_ns(f, reps)``, the nanoseconds per call of the lambda ``f`` (a memory barrier after
each call keeps the compiler from dropping or merging calls).  Calls from Python are timed
by ``seconds_per_call`` (timeit) and ``per_call`` (until a time budget is spent); ``best``
keeps the fastest of several runs of any timer, the least disturbed by other load.
"""

from __future__ import annotations

import time
import timeit

_TIMER = """\
#include <chrono>
#include <cstring>
namespace {bench} {{
template <class F>
double time_ns(F f, int reps) {{
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {{
        f();
        asm volatile("" : : : "memory");
    }}
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / reps;
}}
{body}
}}
"""


def cxx_timer(namespace: str, body: str) -> str:
    """C++ for cppyy.cppdef: the namespace ``namespace`` holding ``time_ns`` and ``body``
    (functions that time something with it and return nanoseconds per call)."""
    return _TIMER.format(bench=namespace, body=body)


def best(timer, *args, tries: int = 5) -> float:
    """The smallest of ``tries`` results of ``timer(*args)``."""
    return min(timer(*args) for _ in range(tries))


def seconds_per_call(fn, number: int, repeat: int) -> float:
    """Seconds per call of ``fn()``, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def per_call(fn, at_least: int = 3, seconds: float = 0.5) -> float:
    """Seconds per call of ``fn()``, calling it at least ``at_least`` times and for ``seconds``."""
    reps, t0 = 0, time.perf_counter()
    while reps < at_least or time.perf_counter() - t0 < seconds:
        fn()
        reps += 1
    return (time.perf_counter() - t0) / reps
