"""With PYCLAD_COUNT_TAPE defined, the runtime's tapes and undo logs count the bytes they
take in (what benchmarks/bench_reverse.py reports as a gradient's tape memory): the count
of a loop whose old values the reverse sweep needs grows with its trips, and a gradient
that saves nothing counts nothing."""

from __future__ import annotations

import math

from conftest import gxx_build_and_run, pyclad_cli

MODEL = """\
#include <cmath>
double recurrence(const double* x, int n) {
    double v = x[0];
    for (int k = 0; k < n; ++k) {
        v = std::sin(v) * x[1];  // cos of the old v is needed in the reverse sweep
    }
    return v;
}
double sumsq(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += x[i] * x[i];
    }
    return s;
}
"""

MAIN = """\
#include <cmath>
#include <cstdio>
#include <vector>
#include "model.cpp"
#include "d.hpp"
int main() {
    double x[2] = {0.5, 0.9};
    for (int n : {1000, 2000}) {
        double dx[2] = {0, 0};
        ::pyclad::tape_counter() = ::pyclad::tape_count{};
        recurrence_grad(x, n, dx);
        // d v_n / d x0 = prod cos(v_k) * x1, by a forward recurrence
        double v = x[0], d = 1;
        for (int k = 0; k < n; ++k) { d *= std::cos(v) * x[1]; v = std::sin(v) * x[1]; }
        std::printf("%d %zu %zu %.17g %.17g\\n", n, ::pyclad::tape_counter().pushed, ::pyclad::tape_counter().peak,
                    dx[0], d);
    }
    std::vector<double> y(5000, 0.25), dy(5000, 0.0);
    ::pyclad::tape_counter() = ::pyclad::tape_count{};
    sumsq_grad(y.data(), 5000, dy.data());
    std::printf("sumsq %zu %.17g\\n", ::pyclad::tape_counter().pushed, dy[17]);
}
"""


def test_tape_bytes_grow_with_the_loop_trips_and_a_gradient_that_saves_nothing_counts_nothing(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = pyclad_cli(
        "gen",
        "model.cpp",
        "-f",
        "recurrence",
        "-f",
        "sumsq",
        "--mode",
        "reverse",
        "--wrt",
        "x",
        "-o",
        "d.hpp",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(MAIN)
    out, _ = gxx_build_and_run(tmp_path, "main.cpp", "-DPYCLAD_COUNT_TAPE")
    lines = [line.split() for line in out.strip().split("\n")]
    (_, pushed1, peak1, g1, want1), (_, pushed2, peak2, g2, want2) = lines[0], lines[1]
    assert int(pushed1) > 0 and int(pushed2) == 2 * int(pushed1)  # O(loop trips)
    assert int(peak1) <= int(pushed1) and int(peak2) <= int(pushed2)
    assert math.isclose(float(g1), float(want1), rel_tol=1e-12)
    assert math.isclose(float(g2), float(want2), rel_tol=1e-12)
    assert lines[2][0] == "sumsq" and int(lines[2][1]) == 0  # a linear update saves nothing
    assert float(lines[2][2]) == 0.5  # d/dy (sum y^2) = 2 y
