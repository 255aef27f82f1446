"""How generation time grows with the size of the function (it must grow linearly).

Run on demand: python benchmarks/bench_generation.py [--quick] [--no-jit]

For straight-line functions of 500 / 1000 / 2000 / 5000 statements and for single
expressions of 1000 / 4000 / 8000 terms, reports separately
- parse: libclang parsing and lowering to the IR;
- transform + emit: the forward derivative and the gradient, IR and C++ text;
- JIT: compiling the generated C++ with cppyy (the user's source included).
"""

from __future__ import annotations

import argparse
import time

import pyclad
from pyclad.source import Source


def straight_line(n: int) -> str:
    lines = ["double f(double x, double y) {", "    double a = x, b = y;"]
    for k in range(n):
        if k % 3 == 0:
            lines.append(f"    a = a * 0.999 + std::sin(b) * {0.5 + k % 7 * 0.1};")
        elif k % 3 == 1:
            lines.append(f"    b = b + a * x / (1.5 + a * a) - {0.01 * (k % 5)};")
        else:
            lines.append(f"    double t{k} = a * b + y; a += t{k} * 0.001;")
    lines += ["    return a * b;", "}"]
    return "#include <cmath>\n" + "\n".join(lines) + "\n"


def one_expression(terms: int) -> str:
    parts = []
    for k in range(terms):
        parts.append(["x * y", "std::sin(x)", "y * 0.5", "x / (1.5 + y * y)"][k % 4])
    return "#include <cmath>\ndouble f(double x, double y) {\n    return " + " + ".join(parts) + ";\n}\n"


def measure(label: str, src: str, jit: bool) -> None:
    t0 = time.perf_counter()
    s = Source(src, "<bench>")
    s.function("f")
    t1 = time.perf_counter()
    fwd = s.forward("f", "x").code
    t2 = time.perf_counter()
    rev = s.gradient("f").code
    t3 = time.perf_counter()
    line = (
        f"  {label:<28} parse {t1 - t0:6.2f} s   forward {t2 - t1:6.2f} s   reverse {t3 - t2:6.2f} s"
        f"   ({len(fwd) // 1000} + {len(rev) // 1000} kB of C++)"
    )
    if jit:
        m = pyclad.cppdef(src)
        t4 = time.perf_counter()
        d = pyclad.differentiate(m.f, "x")
        d(0.3, 0.7)
        t5 = time.perf_counter()
        g = pyclad.gradient(m.f)
        g(0.3, 0.7)
        t6 = time.perf_counter()
        line += f"   JIT (incl. generation) forward {t5 - t4:6.2f} s, reverse {t6 - t5:6.2f} s"
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the smaller sizes only")
    ap.add_argument("--no-jit", action="store_true", help="skip compiling the generated code")
    a = ap.parse_args()
    sizes = (500, 1000) if a.quick else (500, 1000, 2000, 5000)
    terms = (1000,) if a.quick else (1000, 4000, 8000)
    print("Straight-line functions (transform + emit per mode; target: 5000 statements < 2 s)")
    for n in sizes:
        measure(f"{n} statements", straight_line(n), not a.no_jit)
    print("Single expressions")
    for n in terms:
        measure(f"{n} terms", one_expression(n), not a.no_jit)


if __name__ == "__main__":
    main()
