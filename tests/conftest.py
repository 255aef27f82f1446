"""Shared helpers: independent references for derivatives.

A derivative pyclad computes is only ever compared with something pyclad did
not produce: a formula derived by hand in Python, or central finite
differences of the primal (the C++ function itself, called from Python).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The suite never reads or fills the user's on-disk cache: a fresh one per run (unless the
# caller names one), so a cached derivative can never stand in for the code under test.  The
# JIT cache is off except in the tests of the cache itself (tests/test_cache.py turns it on):
# otherwise every big derivative would also start a background g++ build of its library.
os.environ.setdefault("PYCLAD_CACHE", "0")
if "PYCLAD_CACHE_DIR" not in os.environ:
    import atexit
    import tempfile

    os.environ["PYCLAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="pyclad-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PYCLAD_CACHE_DIR"], True)

import pyclad

# A 5-point central stencil with h = 1e-3 has truncation error ~h^4 f^(5) / 30
# and rounding error ~eps |f| / h: about 1e-12 relative on smooth functions.
FD_STEP = 1e-3
RTOL = 1e-8
ATOL = 1e-10


def pyclad_cli(*args, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed ``pyclad`` command (as ``python -m pyclad``), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "pyclad", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def moved_args(args, index, element, delta):
    """A copy of args with args[index] (or args[index][element]) moved by delta."""
    out = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            a = a.copy()  # the primal may write into its arrays
        if i == index:
            if element is None:
                a = a + delta
            else:
                a[element] += delta
        out.append(a)
    return out


def fd(f, args, index, element=None, h=FD_STEP):
    """d f / d args[index] (or its element) by the 5-point central stencil."""

    def at(k):
        return f(*moved_args(args, index, element, k * h))

    return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h)


def fd2(f, args, index, element=None, h=1e-3):
    """Second derivative by the 5-point stencil (error ~h^4, rounding ~eps/h^2)."""

    def at(k):
        return f(*moved_args(args, index, element, k * h))

    return (-at(2) + 16 * at(1) - 30 * at(0) + 16 * at(-1) - at(-2)) / (12 * h * h)


def fd_each(f, args, index, h=FD_STEP) -> np.ndarray:
    """d f / d args[index][k] for every element k of the array args[index] (5-point stencil)."""
    return np.array([fd(f, args, index, k, h) for k in range(np.size(args[index]))])


def cpp_vectors(args) -> list:
    """``args`` with each numpy array as a C++ ``std::vector<double>`` (a copy): what a
    non-const vector reference parameter takes, and what a function may resize."""
    import cppyy

    vec = cppyy.gbl.std.vector["double"]
    return [vec(a) if isinstance(a, np.ndarray) else a for a in args]


def with_cpp_vectors(f):
    """``f`` taking numpy arrays where it wants C++ vectors (for finite differences of it)."""
    return lambda *args: f(*cpp_vectors(args))


def directions(args, wrt):
    """Each scalar direction of a table entry ``wrt`` = [(param index, elements or None)]:
    ``(fresh args, index, element)``, element None for a scalar parameter."""
    for index, elements in wrt:
        for e in elements if elements is not None else (None,):
            yield list(args), index, e


def assert_gradients_agree(fn, twin, args, wrt, checked: bool, what: str = "") -> None:
    """The gradient of ``fn`` w.r.t. the parameters of ``wrt`` (see ``directions``) agrees
    with central finite differences of ``fn`` and with the gradient of its twin ``twin``
    (the same function written otherwise, e.g. with plain arrays)."""
    names = [fn.ir.params[i].name for i, _ in wrt]
    got = pyclad.gradient(fn, names, checked=checked)(*args)
    want = pyclad.gradient(twin, names, checked=checked)(*args)
    for k, (index, elements) in enumerate(wrt):
        for e in elements if elements is not None else (None,):
            g = got[k] if e is None else got[k][e]
            w = want[k] if e is None else want[k][e]
            assert_close(g, fd(fn, list(args), index, e), what=f"{what} d/d{names[k]}[{e}] vs fd")
            assert_close(g, w, what=f"{what} d/d{names[k]}[{e}] vs the twin")


def assert_forward_agrees(fn, twin, args, wrt, checked: bool, what: str = "") -> None:
    """Forward mode along each direction of ``wrt`` agrees with finite differences of ``fn``
    and with forward mode through its twin."""
    for at, index, e in directions(args, wrt):
        name = fn.ir.params[index].name
        spec = name if e is None else f"{name}[{e}]"
        got = pyclad.differentiate(fn, spec, checked=checked)(*at)
        assert_close(got, fd(fn, at, index, e), what=f"{what} {spec} vs fd")
        assert_close(got, pyclad.differentiate(twin, spec, checked=checked)(*at), what=f"{what} {spec}")


def arr(*xs) -> np.ndarray:
    """A float64 array of the given values."""
    return np.array(xs, dtype=np.float64)


def fresh(args):
    """Arrays copied, so that a call cannot see what an earlier call wrote."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def assert_close(got, want, rtol=RTOL, atol=ATOL, what=""):
    """Relative-or-absolute agreement, with a message that shows both numbers."""
    ok = math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)
    assert ok, f"{what}: got {got!r}, want {want!r} (diff {float(got) - float(want):.3e})"


# Every program the tests build from generated headers is built twice: as the user would
# (g++ -O2) and with AddressSanitizer and UBSan, where any write past a buffer, use after
# free or undefined behaviour aborts the run (-fno-sanitize-recover=all) and fails the test.
SANITIZE = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O0",  # compiles 4x faster than -O1; the sanitizers find the same
)


def gxx_build_and_run(tmp: Path, source: str, *flags: str, optimized: bool = True) -> tuple[str, str]:
    """Compile ``tmp/source`` with g++ -std=c++17 -O2 -Wall plus ``flags`` and run it; build
    and run it again under the sanitizers, which must find nothing and print the same
    (``optimized=False``: the sanitized build alone, for large tables of generated code).
    Returns (what the program printed, the compiler's warnings).  Skips without g++."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed")
    exe = tmp / Path(source).stem
    outputs, warnings = [], ""
    builds = [(("-O2",), ""), (SANITIZE, "_asan")] if optimized else [(SANITIZE, "_asan")]
    for extra, suffix in builds:
        build = subprocess.run(
            [
                gxx,
                "-std=c++17",
                *extra,
                "-Wall",
                f"-I{pyclad.get_include()}",
                *flags,
                source,
                "-o",
                f"{exe}{suffix}",
            ],
            check=False,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        assert build.returncode == 0, build.stderr
        warnings = warnings or build.stderr
        run = subprocess.run(
            [f"{exe}{suffix}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env=dict(
                os.environ, ASAN_OPTIONS="abort_on_error=0:detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1"
            ),
        )
        assert run.returncode == 0, f"{exe.name}{suffix} failed:\n{run.stdout}\n{run.stderr[-4000:]}"
        outputs.append(run.stdout)
    assert outputs[0] == outputs[-1], (
        f"the sanitizer build printed something else:\n{outputs[0]}\n{outputs[-1]}"
    )
    return outputs[0], warnings
