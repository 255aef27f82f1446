"""Generation runs with Python's cyclic garbage collector paused.

The transforms allocate millions of small immutable IR nodes, most of which live
until the derivative is finished.  Each collection of the oldest generation walks
all of them, and those collections come often enough while the output grows that
generation time became superlinear in the size of the function (measured by
benchmarks/bench_generation.py).  IR trees hold no reference cycles, so reference
counting frees them on its own; the collector is switched back on (if it was on)
when the outermost transform returns.
"""

from __future__ import annotations

import functools
import gc


def collector_paused(fn):
    """Decorator: run ``fn`` with the cyclic collector off (nested calls are fine)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        was_on = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_on:
                gc.enable()

    return run
