"""The Jacobian driver of a header (``pyclad gen --mode jacobian``) runs vector-mode kernels in
passes: vector forward mode, 8 columns per pass, while the columns are at most 8 times the
rows, else vector reverse mode, 4 rows per pass.  Each is checked against central
differences of the primal, computed in the same C++ program, under g++ -Wextra -Werror and
again under the sanitizers."""

from __future__ import annotations

import re

import pytest
from conftest import gxx_build_and_run, pyclad_cli

# Each output reads its own value at entry (a forward pass after the first must see that
# value again), a scalar input mixes with an array input, and the shape comes at run time.
MODEL = """\
#include <cmath>
void mix(const double* x, double s, double* out, int n, int m) {
    for (int i = 0; i < m; ++i) {
        double acc = out[i] * s;
        for (int j = 0; j < n; ++j) {
            acc += std::sin(x[j] * (i + 1)) * s;
        }
        out[i] = acc * x[i % n];
    }
}
"""

DRIVER = """\
#include <cmath>
#include <cstdio>
#include <vector>
#include "model.cpp"
#include "d.hpp"
// The largest difference between mix_jac and central differences of mix at one point.
static double worst(int n, int m) {
    std::vector<double> x(n), out0(m), out(m), jac(m * (n + 1)), xp(n + 1);
    for (int j = 0; j < n; ++j) x[j] = 0.3 + 0.05 * j;
    for (int i = 0; i < m; ++i) out0[i] = 0.5 - 0.1 * i;
    double s = 0.7;
    out = out0;
    mix_jac_0_1(x.data(), s, out.data(), n, m, jac.data(), n, m);
    double err = 0;
    for (int c = 0; c <= n; ++c) {
        const double h = 1e-6;
        std::vector<double> up(m), down(m);
        for (int side = 0; side < 2; ++side) {
            std::vector<double> xs = x;
            double ss = s;
            double step = side == 0 ? h : -h;
            if (c < n) xs[c] += step; else ss += step;
            std::vector<double>& o = side == 0 ? up : down;
            o = out0;
            mix(xs.data(), ss, o.data(), n, m);
        }
        for (int i = 0; i < m; ++i) {
            double want = (up[i] - down[i]) / (2 * h);
            err = std::fmax(err, std::fabs(jac[i * (n + 1) + c] - want) / (1 + std::fabs(want)));
        }
    }
    return err;
}
int main() {
    // (n, m): 21 columns x 3 rows (3 forward passes), 4 x 9 (one forward pass),
    // 31 x 2 (one reverse pass), 51 x 6 (two reverse passes)
    int shapes[4][2] = {{20, 3}, {3, 9}, {30, 2}, {50, 6}};
    for (auto& sh : shapes) std::printf("%d %d %.3g\\n", sh[0], sh[1], worst(sh[0], sh[1]));
}
"""


@pytest.fixture(scope="module")
def header(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("passes")
    (tmp / "model.cpp").write_text(MODEL)
    r = pyclad_cli(
        "gen", "model.cpp", "-f", "mix", "--mode", "jacobian", "--wrt", "x, s", "-o", "d.hpp", cwd=tmp
    )
    assert r.returncode == 0, r.stderr
    return tmp, (tmp / "d.hpp").read_text()


def _driver(text: str) -> str:
    """The text of the driver mix_jac_0_1."""
    start = text.index("inline void mix_jac_0_1(")
    return text[start : text.index("\n}\n", start)]


def test_the_header_jacobian_runs_vector_passes_not_one_pullback_per_row(header):
    _, text = header
    body = _driver(text)
    assert re.search(r"mix_jac_fwd8\(", body), body  # vector forward mode, 8 lanes
    assert re.search(r"mix_jac_rev4\(", body), body  # vector reverse mode, 4 lanes
    assert "if (_cols <= 8 * _rows)" in body
    assert "_pullback" not in body  # no pullback call per row
    assert "std::vector" not in body  # the seeds live in the per-thread scratch
    assert "::pyclad::jacobian_scratch(" in body


def test_a_scalar_input_takes_its_tangent_from_a_buffer_of_the_pass(header):
    _, text = header
    kernel = text[text.index("inline void mix_jac_fwd8(") :]
    signature = kernel[: kernel.index("{")]
    assert "double *_d_s_buf" in signature
    assert "*::pyclad::as_vec<8>(_d_s_buf)" in kernel


def test_forward_and_reverse_passes_match_central_differences(header):
    tmp, _ = header
    (tmp / "main.cpp").write_text(DRIVER)
    out, warnings = gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")
    assert not warnings
    rows = [line.split() for line in out.split("\n") if line.strip()]
    assert len(rows) == 4
    for n, m, err in rows:
        assert float(err) < 1e-7, (n, m, err)


def test_a_jacobian_vector_mode_cannot_take_is_still_written_row_by_row(tmp_path):
    # sq's body is elsewhere and its custom pullback takes scalar adjoints: neither vector
    # mode can differentiate f.
    (tmp_path / "model.cpp").write_text(
        """\
double sq(double x);
namespace pyclad::custom_derivatives {
void sq_pullback(double x, double d_y, double* d_x) { *d_x += 2 * x * d_y; }
}
void f(const double* x, double* out) { out[0] = sq(x[0]); out[1] = x[0] * x[1]; }
"""
    )
    r = pyclad_cli("gen", "model.cpp", "-f", "f", "--mode", "jacobian", "-o", "d.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "d.hpp").read_text()
    body = text[text.index("inline void f_jac") :]
    assert "one pullback per row" in text and "_pullback" in body
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "d.hpp"\ndouble sq(double x) { return x * x; }\n'
        "int main() { double x[2] = {1.5, -2.0}, out[2], jac[4]; f_jac(x, out, jac, 2, 2);\n"
        'for (double v : jac) std::printf("%.17g\\n", v); }\n'
    )
    got = [float(v) for v in gxx_build_and_run(tmp_path, "main.cpp")[0].split()]
    assert got == [3.0, 0.0, -2.0, 1.5]  # d(x0^2)/dx = 2 x0, d(x0 x1) = (x1, x0)


def test_outputs_are_kept_for_later_forward_passes_only_when_the_function_reads_them(header, tmp_path):
    _, text = header
    assert "::std::copy(_keep, _keep + _n_out, out);" in _driver(text)  # mix reads out[i]
    (tmp_path / "model.cpp").write_text(
        "void g(const double* x, double* out) { out[0] = x[0] * x[1]; out[1] = x[1]; }\n"
    )
    r = pyclad_cli("gen", "model.cpp", "-f", "g", "--mode", "jacobian", "-o", "d.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "d.hpp").read_text()
    assert "_keep" not in text[text.index("inline void g_jac(") :]  # out is only written
