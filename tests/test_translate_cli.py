"""`pyclad translate` and `pyclad run` on the command line: outputs, exit statuses, and the
located errors for clad-API constructs pyclad cannot translate."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import pyclad_cli

import pyclad
from pyclad.translate import TranslateError, translate

PROGRAM = r"""#include "clad/Differentiator/Differentiator.h"
#include <cstdio>

double sq(double x) { return x * x * x; }

int main(int argc, char** argv) {
  auto d = clad::differentiate(sq, "x");
  std::printf("d %.3f args %d %s\n", d.execute(2.0), argc - 1, argc > 1 ? argv[1] : "-");
  return d.execute(1.0) == 3.0 ? 3 : 0;
}
"""

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")


def test_translate_writes_the_output_file_and_exits_0(tmp_path):
    src = tmp_path / "prog.cpp"
    src.write_text(PROGRAM)
    res = pyclad_cli("translate", src, "-o", tmp_path / "out.cpp")
    assert res.returncode == 0, res.stderr
    out = (tmp_path / "out.cpp").read_text()
    assert "double sq_darg0(double x)" in out
    assert "clad::differentiate(" not in out  # every call was replaced
    printed = pyclad_cli("translate", src)
    assert printed.returncode == 0 and printed.stdout == out


def test_translate_refuses_to_write_over_its_input_and_reports_a_missing_file(tmp_path):
    src = tmp_path / "prog.cpp"
    src.write_text(PROGRAM)
    over = pyclad_cli("translate", src, "-o", src)
    assert over.returncode == 2 and "refusing" in over.stderr
    assert src.read_text() == PROGRAM
    missing = pyclad_cli("translate", tmp_path / "nope.cpp")
    assert missing.returncode == 1 and "cannot read" in missing.stderr


@needs_gxx
def test_run_passes_the_arguments_and_the_exit_status_of_the_program(tmp_path):
    src = tmp_path / "prog.cpp"
    src.write_text(PROGRAM)
    res = pyclad_cli("run", src, "--", "hello")
    assert res.stdout == "d 12.000 args 1 hello\n"
    assert res.returncode == 3  # d/dx x^3 at 1 is 3: main returns 3


@needs_gxx
def test_run_reports_a_compile_error_at_the_users_line(tmp_path):
    src = tmp_path / "bad.cpp"
    src.write_text(PROGRAM.replace("return d.execute(1.0)", "return undeclared_name + d.execute(1.0)"))
    res = pyclad_cli("run", src)
    assert res.returncode == 1
    assert "error: 'undeclared_name'" in res.stderr or "undeclared_name" in res.stderr


@needs_gxx
def test_a_call_left_untranslated_fails_to_link_rather_than_run(tmp_path):
    src = tmp_path / "prog.cpp"
    src.write_text(PROGRAM)
    res = subprocess.run(
        ["g++", "-std=c++17", f"-I{pyclad.get_include()}", str(src), "-o", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode != 0 and "undefined reference" in res.stderr


HEAD = '#include "clad/Differentiator/Differentiator.h"\ndouble f(double x, double y) { return x * y; }\n'

UNTRANSLATABLE = [
    ("double e() { auto d = clad::estimate_error(f); return 0; }", 3, "clad::estimate_error"),
    (
        'double e() { return clad::differentiate<clad::opts::use_enzyme>(f, "x").execute(1.0, 2.0); }',
        3,
        "Enzyme",
    ),
    (
        'double e() { return clad::differentiate<1 << 20>(f, "x").execute(1.0, 2.0); }',
        3,
        "unknown clad option",
    ),
    ('double e() { return clad::gradient<2>(f, "x").execute(1.0, 2.0); }', 3, "order <2>"),
    (
        'double e() { auto l = [](double x) { return x * x; };\n  return clad::differentiate(l, "x").execute(1.0); }',
        4,
        "lambda 'l'",
    ),
    (
        'double e(double (*fp)(double, double)) { return clad::differentiate(fp, "x").execute(1.0, 2.0); }',
        3,
        "function argument 'fp'",
    ),
    ('double e() { return clad::differentiate(f, "z").execute(1.0, 2.0); }', 3, "'z'"),
    ("double e() { return clad::differentiate(f, 2).execute(1.0, 2.0); }", 3, "index 2"),
    (
        'const char* sel = "x";\ndouble e() { return clad::differentiate(f, sel).execute(1.0, 2.0); }',
        4,
        "'sel'",
    ),
    ('double e() { return clad::differentiate(f, "x, y").execute(1.0, 2.0); }', 3, "vector_mode"),
    (
        (
            "double g(const double* a) { return a[0] * a[1]; }\n"
            'double e(double* a) { return clad::differentiate(g, "a[1]").execute(a); }'
        ),
        4,
        "pointer 'a'",
    ),
    (
        (
            "struct S { double k; double m(double x) { return k * x; } };\n"
            "namespace clad { namespace custom_derivatives { namespace class_functions {\n"
            "void m_pullback(S*, double, double, S*, double*) {} } } }\n"
            "double e(S s) { double d = 0; S ds{0}; clad::gradient(&S::m).execute(s, 1.0, &ds, &d); return d; }"
        ),
        4,
        "class_functions",
    ),
]


@pytest.mark.parametrize("body, line, what", UNTRANSLATABLE)
def test_a_clad_construct_pyclad_cannot_translate_is_a_located_error_naming_it(tmp_path, body, line, what):
    src = tmp_path / "api.cpp"
    with pytest.raises(TranslateError) as info:
        translate(HEAD + body + "\n", str(src))
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{src}:{line}:") and "error:" in first and what in first, first


def test_the_command_exits_1_with_the_located_error_and_writes_nothing(tmp_path):
    src = tmp_path / "api.cpp"
    src.write_text(HEAD + UNTRANSLATABLE[0][0] + "\n")
    res = pyclad_cli("translate", src, "-o", tmp_path / "out.cpp")
    assert res.returncode == 1, res.stdout
    assert res.stderr.startswith(f"{src}:3:") and "clad::estimate_error" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out.cpp").exists()


@needs_gxx
def test_a_jacobian_matrix_narrower_than_the_jacobian_stops_the_program_instead_of_overflowing(tmp_path):
    src = tmp_path / "narrow.cpp"
    src.write_text(
        '#include "clad/Differentiator/Differentiator.h"\n'
        "void h(double x, double y, double* out) { out[0] = x * y; out[1] = x + y; }\n"
        "int main() {\n"
        "  clad::matrix<double> J(2, 1);  // two inputs need two columns\n"
        "  double out[2];\n"
        "  clad::jacobian(h).execute(1.0, 2.0, out, &J);\n"
        "  return 0;\n"
        "}\n"
    )
    res = pyclad_cli("run", src)
    assert res.returncode != 0
    assert "the matrix of 'out' has 1 columns, the Jacobian 2" in res.stderr
