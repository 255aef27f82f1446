"""``pyclad check FILE.cpp -f NAME --at ...``: derivatives against finite differences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOOD = "#include <cmath>\ndouble f(double x, double y) { return x * x * std::sin(y); }\n"
# A custom pullback that is deliberately wrong for y (the true partial is x^2 cos y).
WRONG = """\
#include <pyclad/runtime.hpp>
#include <cmath>
double g(double x, double y) { return x * x * std::sin(y); }
namespace pyclad { namespace custom_derivatives {
void g_pullback(double x, double y, double d, double* d_x, double* d_y) {
    *d_x += d * 2 * x * std::sin(y);
    *d_y += d * 3.0;
}
pyclad::ValueAndPushforward<double, double> g_pushforward(double x, double y, double dx, double dy) {
    return {x * x * std::sin(y), 2 * x * std::sin(y) * dx + 3.0 * dy};
}
}}
double uses(double x, double y) { return g(x, y); }
"""


def check(tmp: Path, src: str, *args: str) -> subprocess.CompletedProcess:
    (tmp / "m.cpp").write_text(src)
    return subprocess.run(
        [sys.executable, "-m", "pyclad", "check", "m.cpp", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp,
    )


def test_check_passes_with_a_table_of_every_derivative(tmp_path):
    r = check(tmp_path, GOOD, "-f", "f", "--at", "1.0, 2.0")
    assert r.returncode == 0, r.stderr
    assert "passed" in r.stdout and "\n  x " in r.stdout and "\n  y " in r.stdout


def test_check_fails_on_a_wrong_derivative_with_a_located_table(tmp_path):
    r = check(tmp_path, WRONG, "-f", "uses", "--at", "0.5, 1.0")
    assert r.returncode == 1
    assert "m.cpp:13:" in r.stderr and "\n  y " in r.stderr and "Traceback" not in r.stderr


def test_check_of_a_missing_function_or_bad_point_is_an_error_not_a_traceback(tmp_path):
    for args in (["-f", "nope", "--at", "1.0"], ["-f", "f", "--at", "1.0"], ["-f", "f", "--at", "[1, "]):
        r = check(tmp_path, GOOD, *args)
        assert r.returncode == 1 and "error" in r.stderr and "Traceback" not in r.stderr, r.stderr
