"""pyclad in C++ builds: `pyclad gen -MD -MF` and `-p`, the CMake package, the example project,
and the wheel carrying the headers and the CMake package.

Derivatives built here are checked in C++ against finite differences (the example's own
ctest) or against a formula derived by hand.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import pyclad

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cmake"
GENERATORS = {"Ninja": "ninja", "Unix Makefiles": "make"}

needs_cmake = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("g++") is None, reason="cmake and g++ are needed"
)


def env() -> dict[str, str]:
    """The environment for pyclad subprocesses: this copy of pyclad first on the path."""
    here = str(Path(pyclad.__file__).resolve().parents[1])
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([here] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return out


def run(*cmd, cwd=None, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env(), capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}"
    return r


def gen(*args, cwd) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "pyclad", "gen", *args, cwd=cwd, check=False)


def read_depfile(path: Path) -> tuple[str, list[str]]:
    target, _, deps = path.read_text().replace("\\\n", " ").partition(":")
    return target.strip(), [d.replace("\0", " ") for d in deps.replace("\\ ", "\0").split()]


# ------------------------------------------------------------------------ gen -MD -MF, -p
def test_gen_depfile_names_the_output_the_source_and_every_user_header_but_no_system_header(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "inner scale.h").write_text("#pragma once\nconstexpr double kInner = 2.0;\n")
    (tmp_path / "outer.h").write_text('#pragma once\n#include <vector>\n#include "inc/inner scale.h"\n')
    (tmp_path / "m.cpp").write_text(
        '#include <cmath>\n#include "outer.h"\ndouble f(double x) { return kInner * std::sin(x); }\n'
    )
    r = gen("m.cpp", "-f", "f", "-o", "m_d.hpp", "-MD", "-MF", "deps/m.d", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
    target, deps = read_depfile(tmp_path / "deps" / "m.d")
    assert target == "m_d.hpp"
    assert deps == [
        str(tmp_path / "m.cpp"),
        str(tmp_path / "outer.h"),
        str(tmp_path / "inc" / "inner scale.h"),
    ]
    # -MD alone names the depfile after the output
    r = gen("m.cpp", "-f", "f", "-o", "again.hpp", "-MD", cwd=tmp_path)
    assert r.returncode == 0 and read_depfile(tmp_path / "again.hpp.d") == ("again.hpp", deps)


def test_gen_depfile_needs_an_output_file(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x * x; }\n")
    r = gen("m.cpp", "-f", "f", "-MD", cwd=tmp_path)
    assert r.returncode == 2 and "-MD/-MF need -o" in r.stderr


def test_gen_with_p_takes_include_dirs_defines_and_std_from_compile_commands(tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "scale.h").write_text("#pragma once\nconstexpr double kScale = SCALE;\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.cpp").write_text(
        '#include "scale.h"\ndouble f(double x) { return kScale * x * x; }\n'
    )
    (tmp_path / "build").mkdir()
    entry = {
        "directory": str(tmp_path / "build"),
        "command": "g++ -std=c++17 -I../cfg -DSCALE=3.5 -DDROPPED -UDROPPED -O2 -c ../src/m.cpp -o m.o",
        "file": "../src/m.cpp",
    }
    (tmp_path / "build" / "compile_commands.json").write_text(json.dumps([entry]))
    r = gen("src/m.cpp", "-f", "f", "-o", "m_d.hpp", cwd=tmp_path)
    assert r.returncode == 1 and "scale.h" in r.stderr  # without -p the header is not found
    r = gen("src/m.cpp", "-f", "f", "-o", "m_d.hpp", "-p", "build", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "src/m.cpp"\n#include "m_d.hpp"\n'
        'int main() { std::printf("%.17g\\n", f_darg0(0.7)); }\n'
    )
    run(
        "g++",
        "-std=c++17",
        "-Icfg",
        "-DSCALE=3.5",
        f"-I{pyclad.get_include()}",
        "main.cpp",
        "-o",
        "main",
        cwd=tmp_path,
    )
    got = float(run(tmp_path / "main").stdout)
    assert math.isclose(got, 2 * 3.5 * 0.7, rel_tol=1e-15)  # d/dx kScale x^2, by hand


def test_gen_with_p_reports_a_missing_database_or_entry(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x * x; }\n")
    r = gen("m.cpp", "-f", "f", "-o", "m_d.hpp", "-p", "nowhere", cwd=tmp_path)
    assert r.returncode == 1 and "compile_commands.json" in r.stderr
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "compile_commands.json").write_text("[]")
    r = gen("m.cpp", "-f", "f", "-o", "m_d.hpp", "-p", "b", cwd=tmp_path)
    assert r.returncode == 1 and "no entry for m.cpp" in r.stderr


def test_include_dir_and_cmake_dir_name_the_headers_and_the_cmake_package():
    inc = run(sys.executable, "-m", "pyclad", "--include-dir").stdout.strip()
    cm = run(sys.executable, "-m", "pyclad", "--cmake-dir").stdout.strip()
    assert inc == pyclad.get_include() and (Path(inc) / "pyclad" / "runtime.hpp").is_file()
    assert (Path(inc) / "clad" / "Differentiator" / "Differentiator.h").is_file()
    assert (Path(cm) / "pycladConfig.cmake").is_file()
    version = (Path(cm) / "pycladConfigVersion.cmake").read_text()
    assert f'set(PACKAGE_VERSION "{pyclad.__version__}")' in version


# ------------------------------------------------------------------------ the example project
def configure(src: Path, build: Path, generator: str, *extra: str) -> None:
    cmake_dir = run(sys.executable, "-m", "pyclad", "--cmake-dir").stdout.strip()
    run(
        "cmake", "-S", src, "-B", build, "-G", generator, f"-Dpyclad_DIR={cmake_dir}",
        f"-DPYCLAD_EXECUTABLE={sys.executable};-m;pyclad", *extra,
    )  # fmt: skip


HEADERS = ("chain_d.hpp", "well_grad.hpp", "well_hessian.hpp")


def build_and_see(build: Path) -> set[str]:
    """Build; the generated headers that were written again."""
    before = {h: (build / h).stat().st_mtime_ns if (build / h).exists() else None for h in HEADERS}
    out = run("cmake", "--build", build, "-j2").stdout
    again = {h for h in HEADERS if (build / h).stat().st_mtime_ns != before[h]}
    ran = out.count("pyclad: ")  # each regeneration prints its COMMENT line
    assert ran == len(again), out
    return again


def touch(path: Path) -> None:
    time.sleep(0.02)  # newer than anything the last build wrote, whatever the clock's grain
    os.utime(path)


@pytest.fixture(scope="module", params=list(GENERATORS))
def example(request, tmp_path_factory):
    generator = request.param
    if shutil.which("cmake") is None or shutil.which("g++") is None:
        pytest.skip("cmake and g++ are needed")
    if shutil.which(GENERATORS[generator]) is None:
        pytest.skip(f"{GENERATORS[generator]} is not installed")
    tmp = tmp_path_factory.mktemp("example")
    src = tmp / "src"
    shutil.copytree(EXAMPLE, src)
    configure(src, tmp / "build", generator)
    return src, tmp / "build", build_and_see(tmp / "build")


def test_example_builds_from_a_clean_directory_and_its_ctest_passes(example):
    _, build, first = example
    assert first == set(HEADERS)
    r = run("ctest", "--test-dir", build, "--output-on-failure")
    assert "100% tests passed" in r.stdout
    assert "chain gradient ok" in run(build / "test_chain_gradient").stdout
    assert "equilibrium after" in run(build / "hang").stdout


def test_example_regenerates_a_derivative_exactly_when_its_source_or_an_included_header_changes(example):
    src, build, _ = example
    assert build_and_see(build) == set()  # untouched: nothing regenerated
    touch(src / "params.hpp")  # included by chain.hpp only
    assert build_and_see(build) == {"chain_d.hpp"}
    assert build_and_see(build) == set()
    touch(src / "well.hpp")  # the source of both well headers
    assert build_and_see(build) == {"well_grad.hpp", "well_hessian.hpp"}
    touch(src / "hang.cpp")  # a consumer, not a source pyclad reads
    assert build_and_see(build) == set()
    run("ctest", "--test-dir", build)


@needs_cmake
def test_top_level_project_builds_and_runs_the_runtime_tests(tmp_path):
    run("cmake", "-S", ROOT, "-B", tmp_path, "-G", "Unix Makefiles", "-DPYCLAD_BUILD_EXAMPLES=OFF")
    run("cmake", "--build", tmp_path, "-j2")
    r = run("ctest", "--test-dir", tmp_path, "--output-on-failure")
    assert "runtime_tape" in r.stdout and "runtime_vec" in r.stdout and "100% tests passed" in r.stdout


# ------------------------------------------------------------------------ the wheel
TINY = """\
cmake_minimum_required(VERSION 3.20)
project(tiny LANGUAGES CXX)
find_package(pyclad 0.1 CONFIG REQUIRED)
add_executable(tiny main.cpp)
pyclad_add_derivatives(tiny SOURCE model.hpp FUNCTIONS f MODE reverse)
"""


@needs_cmake
def test_the_wheel_holds_headers_and_cmake_package_and_find_package_works_from_a_venv(tmp_path):
    tree = tmp_path / "tree"  # a copy, so that building leaves nothing in the checkout
    for part in ("pyclad", "cpp", "cmake"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / part, tree / part)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", tree)
    (wheel,) = (tmp_path / "dist").glob("pyclad-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("pyclad/include/pyclad/runtime.hpp", "pyclad/include/clad/Differentiator/Differentiator.h"):
        assert f in names
    assert {"pyclad/cmake/pycladConfig.cmake", "pyclad/cmake/pycladConfigVersion.cmake"} <= names

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    vpy = venv / "bin" / "python"
    site = run(vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    outer = run(sys.executable, "-c", "import site; print('\\n'.join(site.getsitepackages()))").stdout
    Path(site, "outer.pth").write_text(outer)  # libclang and numpy from here; pyclad from the wheel
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        vpy,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        "--ignore-installed",
        wheel,
    )

    clean = {k: v for k, v in env().items() if k != "PYTHONPATH"}
    inc, cm = (
        subprocess.run(
            [venv / "bin" / "pyclad", flag], env=clean, capture_output=True, text=True, check=True
        ).stdout.strip()
        for flag in ("--include-dir", "--cmake-dir")
    )
    assert inc == str(Path(site, "pyclad", "include")) and cm == str(Path(site, "pyclad", "cmake"))

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "CMakeLists.txt").write_text(TINY)
    (proj / "model.hpp").write_text("inline double f(double x, double y) { return x * x * y + y; }\n")
    (proj / "main.cpp").write_text(
        '#include <cstdio>\n#include "model.hpp"\n#include "model_d.hpp"\n'
        "int main() { double dx = 0, dy = 0; f_grad(1.5, -2.0, &dx, &dy); "
        'std::printf("%.17g %.17g\\n", dx, dy); }\n'
    )
    for cmd in (
        ["cmake", "-S", proj, "-B", proj / "b", f"-Dpyclad_DIR={cm}"],  # PYCLAD_EXECUTABLE: found in the venv
        ["cmake", "--build", proj / "b"],
    ):
        r = subprocess.run([str(c) for c in cmd], env=clean, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
    assert str(venv / "bin" / "pyclad") in (proj / "b" / "CMakeCache.txt").read_text()
    dx, dy = map(float, run(proj / "b" / "tiny").stdout.split())
    assert (dx, dy) == (2 * 1.5 * -2.0, 1.5 * 1.5 + 1)  # by hand: 2xy, x^2 + 1
