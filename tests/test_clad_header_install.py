"""pyclad's clad-compatible headers are found where clad's are (#include
"clad/Differentiator/ArrayRef.h" with -I$(pyclad --include-dir)), each compiles on its own
without warnings in the standards clad's tests use, with g++ and with clang++ where installed,
and the package installs every one of them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pyclad

ROOT = Path(__file__).resolve().parent.parent
HEADERS = sorted(p.name for p in (ROOT / "cpp" / "include" / "clad" / "Differentiator").glob("*.h"))
# The data types and builtin derivatives: code written for clad builds with them in C++14 too.
CXX14 = [h for h in HEADERS if h != "Differentiator.h"]
COMPILERS = [c for c in ("g++", "clang++") if shutil.which(c)]


def syntax_check(tmp_path: Path, compiler: str, std: str, header: str) -> subprocess.CompletedProcess:
    src = tmp_path / "one.cpp"
    src.write_text(f'#include "clad/Differentiator/{header}"\nint main() {{ return 0; }}\n')
    cmd = [
        compiler,
        f"-std={std}",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsyntax-only",
        f"-I{pyclad.get_include()}",
    ]
    return subprocess.run([*cmd, str(src)], capture_output=True, text=True, check=False)


def test_the_headers_are_all_there():
    expected = {"Array.h", "ArrayRef.h", "Matrix.h", "Tape.h", "BuiltinDerivatives.h", "STLBuiltins.h"}
    assert expected <= set(HEADERS)


@pytest.mark.skipif(not COMPILERS, reason="no C++ compiler")
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("header", HEADERS)
def test_each_header_compiles_on_its_own_without_warnings(tmp_path, compiler, header):
    done = syntax_check(tmp_path, compiler, "c++17", header)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not COMPILERS, reason="no C++ compiler")
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("header", CXX14)
def test_each_api_header_compiles_in_cxx14(tmp_path, compiler, header):
    done = syntax_check(tmp_path, compiler, "c++14", header)
    assert done.returncode == 0, done.stderr


def test_the_package_installs_every_clad_header(tmp_path):
    """setup.py's package data, built from a copy of the tree (the build writes metadata where it runs)."""
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("pyclad", "cpp", "cmake"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "build"
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    installed = sorted(p.name for p in (out / "pyclad" / "include" / "clad" / "Differentiator").glob("*.h"))
    assert installed == HEADERS
