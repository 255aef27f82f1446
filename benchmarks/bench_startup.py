"""Start-up benchmarks: a fresh process, from `python` to the first derivative value.

Run on demand: python benchmarks/bench_startup.py [--repeat N]

- JIT path without the cache (PYCLAD_CACHE=0): cling start, transforms, cling's JIT.
- JIT path with the on-disk cache, emptied first: the first process (which stores the
  derivative and compiles its library in the background), then later processes (which load
  both from the cache).
- An ahead-of-time module (pyclad.build, compiled once): import and the first gradient.

The function is a 400-statement straight-line model (about 1500 lines of gradient code),
the size where cling's JIT time shows.  Each number is the median of --repeat fresh
processes; the machine's load makes single runs noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

JIT_RUN = """
import time
t0 = time.perf_counter()
import numpy as np, pyclad
m = pyclad.load({path!r})
g = pyclad.gradient(m.big, "x")
v = g(np.linspace(0.1, 0.8, 8), 8)
print(time.perf_counter() - t0)
from pyclad.backends import jit_cache
jit_cache.wait()  # the library compiled in the background, outside the time measured
"""

AOT_RUN = """
import time
t0 = time.perf_counter()
import sys
sys.path.insert(0, {out!r})
import big_d
v = big_d.big_grad([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], 8)
print(time.perf_counter() - t0)
"""


def model(n: int = 400) -> str:
    """A straight-line function of 8 inputs with n statements (deterministic)."""
    rnd = random.Random(1)
    lines = ["#include <cmath>", "double big(const double* x, int n) {", "    double s = 0;"]
    for i in range(n):
        a, b = rnd.randrange(8), rnd.randrange(8)
        op = rnd.choice(["std::sin", "std::cos", "std::exp", ""])
        lines.append(f"    double t{i} = {op}(x[{a}] * {0.1 + i % 7 * 0.05:.2f}) * x[{b}] + s * 0.001;")
        lines.append(f"    s += t{i};")
    return "\n".join(lines + ["    return s;", "}"]) + "\n"


def fresh(code: str, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    n = ap.parse_args().repeat
    tmp = tempfile.mkdtemp(prefix="pyclad-bench-")
    path = os.path.join(tmp, "big.cpp")
    with open(path, "w") as fh:
        fh.write(model())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    jit = JIT_RUN.format(path=path)

    off = [fresh(jit, dict(env, PYCLAD_CACHE="0")) for _ in range(n)]
    firsts, seconds = [], []
    for k in range(n):
        cached = dict(env, PYCLAD_CACHE_DIR=os.path.join(tmp, f"cache{k}"))
        firsts.append(fresh(jit, cached))
        seconds += [fresh(jit, cached) for _ in range(2)]

    out = os.path.join(tmp, "aot")
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pyclad",
            "build",
            path,
            "-f",
            "big",
            "--wrt",
            "x",
            "-o",
            out,
            "--name",
            "big_d",
        ],
        env=env,
        check=True,
    )
    build = time.perf_counter() - t
    aot = [fresh(AOT_RUN.format(out=out), env) for _ in range(max(n, 5))]

    med = statistics.median
    print(f"fresh process to the first gradient value of a 400-statement function (median of {n}):")
    print(f"  JIT, cache off                  {med(off):6.3f} s")
    print(f"  JIT, cache: first process       {med(firsts):6.3f} s")
    print(f"  JIT, cache: later processes     {med(seconds):6.3f} s")
    print(f"  AOT module: import + gradient   {med(aot):6.3f} s   (built once in {build:.1f} s)")


if __name__ == "__main__":
    main()
