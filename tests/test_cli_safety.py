"""``pyclad gen`` writes safely: never over an input, atomically, with guards and comment
lines that no file name or argument can break."""

from __future__ import annotations

import math
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import gxx_build_and_run, pyclad_cli

MODEL = "double sq(double x) { return x * x * x; }\n"  # d/dx = 3 x^2


def gen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return pyclad_cli("gen", *args, cwd=cwd)


def compile_and_run(tmp: Path, main: str) -> str:
    """Build main.cpp warning-free (with g++ -O2, and again under the sanitizers) and run it."""
    (tmp / "main.cpp").write_text(main)
    return gxx_build_and_run(tmp, "main.cpp", "-Wextra", "-Werror")[0]


@pytest.mark.parametrize("spelling", ["model.cpp", "./model.cpp", "sub/../model.cpp", "ABS", "link.cpp"])
def test_gen_refuses_to_write_over_its_own_input(tmp_path, spelling):
    (tmp_path / "model.cpp").write_text(MODEL)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.cpp").symlink_to(tmp_path / "model.cpp")
    out = str(tmp_path / "model.cpp") if spelling == "ABS" else spelling
    r = gen("model.cpp", "-f", "sq", "-o", out, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "refusing" in r.stderr and "over the input" in r.stderr
    assert (tmp_path / "model.cpp").read_text() == MODEL


def test_gen_refuses_to_write_over_a_header_the_input_includes(tmp_path):
    (tmp_path / "helper.hpp").write_text("inline double twice(double x) { return 2 * x; }\n")
    (tmp_path / "model.cpp").write_text('#include "helper.hpp"\n' + MODEL)
    r = gen("model.cpp", "-f", "sq", "-o", "helper.hpp", cwd=tmp_path)
    assert r.returncode == 2 and "helper.hpp" in r.stderr
    assert "twice" in (tmp_path / "helper.hpp").read_text()


def test_gen_writes_through_a_rename_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    (tmp_path / "out.hpp").write_text("old contents\n")
    before = (tmp_path / "out.hpp").stat().st_ino
    r = gen("model.cpp", "-f", "sq", "-o", "out.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.hpp").stat().st_ino != before  # a new file renamed into place
    assert "sq_darg0" in (tmp_path / "out.hpp").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.cpp", "out.hpp"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.hpp").stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_gen_that_cannot_write_keeps_the_old_output(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    outdir = tmp_path / "ro"
    outdir.mkdir()
    (outdir / "out.hpp").write_text("old contents\n")
    outdir.chmod(0o555)
    try:
        r = gen("model.cpp", "-f", "sq", "-o", "ro/out.hpp", cwd=tmp_path)
    finally:
        outdir.chmod(0o755)
    assert r.returncode == 1 and "cannot write" in r.stderr
    assert (outdir / "out.hpp").read_text() == "old contents\n"


def test_a_header_named_runtime_hpp_does_not_take_pyclads_own_guard(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = gen("model.cpp", "-f", "sq", "--mode", "reverse", "-o", "runtime.hpp", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header = (tmp_path / "runtime.hpp").read_text()
    assert "PYCLAD_RUNTIME_HPP" not in header
    main = (
        '#include <cstdio>\n#include <pyclad/runtime.hpp>\n#include "model.cpp"\n#include "runtime.hpp"\n'
        'int main() { double d = 0; sq_grad(0.5, &d); std::printf("%.17g\\n", d); }\n'
    )
    assert math.isclose(float(compile_and_run(tmp_path, main)), 0.75, rel_tol=1e-15)


def test_two_headers_of_one_name_in_different_directories_can_be_included_together(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL + "double cube(double x) { return x * x * x * x; }\n")
    for d, fn in (("a", "sq"), ("b", "cube")):
        (tmp_path / d).mkdir()
        r = gen("model.cpp", "-f", fn, "-o", f"{d}/d.hpp", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    main = (
        '#include <cstdio>\n#include "model.cpp"\n#include "a/d.hpp"\n#include "b/d.hpp"\n'
        'int main() { std::printf("%.17g %.17g\\n", sq_darg0(0.5), cube_darg0(0.5)); }\n'
    )
    got = [float(v) for v in compile_and_run(tmp_path, main).split()]
    assert math.isclose(got[0], 0.75, rel_tol=1e-15) and math.isclose(got[1], 0.5, rel_tol=1e-15)


@pytest.mark.parametrize(
    "name",
    ["new\nline.cpp", "back\\slash.cpp", "trail\\", "tri??=graph??-.cpp", "tab\tand\r.cpp"],
    ids=["newline", "backslash", "trailing-backslash", "trigraph", "control"],
)
def test_odd_characters_in_paths_cannot_break_the_header(tmp_path, name):
    (tmp_path / name).write_text(MODEL)
    out = name + ".hpp"
    r = gen(name, "-f", "sq", "--wrt", "x", "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header = (tmp_path / out).read_text()
    comments = [ln for ln in header.splitlines() if ln.startswith("//")][:2]
    assert all("\\" not in ln.replace("\\x", "") for ln in comments)
    assert re.search(r"#ifndef PYCLAD_GEN_\w+\n", header)
    (tmp_path / "model.cpp").write_text(MODEL)
    main = (
        '#include <cstdio>\n#include "model.cpp"\n#include "hdr.hpp"\n'
        'int main() { std::printf("%.17g\\n", sq_darg0(0.5)); }\n'
    )
    (tmp_path / "hdr.hpp").write_text(header)
    assert math.isclose(float(compile_and_run(tmp_path, main)), 0.75, rel_tol=1e-15)


def test_a_newline_in_wrt_is_refused_with_a_location(tmp_path):
    (tmp_path / "model.cpp").write_text(MODEL)
    r = gen(
        "model.cpp", "-f", "sq", "--mode", "reverse", "--wrt", "x\n#error boom", "-o", "o.hpp", cwd=tmp_path
    )
    assert r.returncode == 1 and "model.cpp:1:" in r.stderr
    assert not (tmp_path / "o.hpp").exists()


def test_gen_refuses_a_depfile_named_like_its_output_header(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x * x; }\n")
    r = gen("m.cpp", "-f", "f", "-MD", "-MF", "./m_d.hpp", "-o", "m_d.hpp", cwd=tmp_path)
    assert r.returncode == 2 and "depfile" in r.stderr
    assert not (tmp_path / "m_d.hpp").exists()


def test_gen_refuses_a_depfile_that_would_have_to_name_a_path_with_a_line_break(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x * x; }\n")
    r = gen("m.cpp", "-f", "f", "-MD", "-MF", "m.d", "-o", "a\nb.hpp", cwd=tmp_path)
    assert r.returncode == 1 and "line break" in r.stderr
    assert not (tmp_path / "m.d").exists()
