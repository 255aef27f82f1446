"""The on-disk cache: a later process reuses what an earlier one generated and compiled.

Every derivative read back from the cache is checked against a formula derived by hand, so
a stale or wrong entry cannot pass for a hit.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import pyclad
from pyclad.ad import reverse
from pyclad.backends import cache

SOURCE = """\
#include <cmath>
#include "scale.h"
double f(double x, double y) { return kScale * x * x * y + std::sin(y); }
double h(double x, double y) { return kScale * x * y; }
"""


def grad_by_hand(x, y, scale):
    return 2 * scale * x * y, scale * x * x + math.cos(y)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCLAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYCLAD_CACHE", "1")
    return tmp_path / "cache"


@pytest.fixture
def counted(monkeypatch):
    """How many times the reverse transform ran."""
    calls = []
    real = reverse.gradient

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(reverse, "gradient", counting)
    return calls


def model(tmp_path: Path, scale: float) -> Path:
    (tmp_path / "scale.h").write_text(f"#pragma once\nconstexpr double kScale = {scale!r};\n")
    (tmp_path / "f.cpp").write_text(SOURCE)
    return tmp_path / "f.cpp"


def close(got, want):
    assert all(math.isclose(g, w, rel_tol=1e-13) for g, w in zip(got, want)), (got, want)


def test_a_second_load_takes_the_gradient_from_the_cache(tmp_path, cache_dir, counted):
    path = model(tmp_path, 1.5)
    close(pyclad.gradient(pyclad.load(path).f)(0.7, -0.4), grad_by_hand(0.7, -0.4, 1.5))
    assert len(counted) == 1
    close(pyclad.gradient(pyclad.load(path).f)(0.3, 0.9), grad_by_hand(0.3, 0.9, 1.5))
    assert len(counted) == 1  # a hit: the transform did not run again
    assert cache.info().entries >= 1


def test_editing_the_source_is_a_miss(tmp_path, cache_dir, counted):
    path = model(tmp_path, 1.5)
    pyclad.gradient(pyclad.load(path).f)(0.7, -0.4)
    path.write_text(SOURCE.replace("std::sin(y)", "std::sin(y) + 0.0"))
    close(pyclad.gradient(pyclad.load(path).f)(0.7, -0.4), grad_by_hand(0.7, -0.4, 1.5))
    assert len(counted) == 2


def test_editing_an_included_header_is_a_miss(tmp_path, cache_dir):
    # In other processes: cling keeps the first copy of a header it included.
    path = model(tmp_path, 1.5)
    values, stats = answer(worker(path, env()))
    close(values, grad_by_hand(0.7, -0.4, 1.5))
    model(tmp_path, 4.0)  # the same f.cpp, a new kScale
    values, stats = answer(worker(path, env(), 4.0))
    close(values, grad_by_hand(0.7, -0.4, 4.0))
    assert stats["results_made"] == 2 and stats["results_read"] == 0
    values, stats = answer(worker(path, env(), 4.0))
    assert stats["results_made"] == 0 and stats["results_read"] == 2


def test_a_corrupted_entry_is_ignored_and_written_again(tmp_path, cache_dir, counted):
    path = model(tmp_path, 1.5)
    pyclad.gradient(pyclad.load(path).f)(0.7, -0.4)
    (entry,) = cache_dir.rglob("result.pickle")
    for damage in (b"garbage", entry.read_bytes()[:-40]):  # not ours; cut short
        entry.write_bytes(damage)
        close(pyclad.gradient(pyclad.load(path).f)(0.7, -0.4), grad_by_hand(0.7, -0.4, 1.5))
        assert entry.read_bytes() != damage  # rewritten whole
    assert len(counted) == 3
    close(pyclad.gradient(pyclad.load(path).f)(0.2, 0.1), grad_by_hand(0.2, 0.1, 1.5))
    assert len(counted) == 3  # and read back


def test_a_pickle_whose_digest_matches_but_does_not_load_is_a_miss(tmp_path, cache_dir, counted):
    path = model(tmp_path, 1.5)
    pyclad.gradient(pyclad.load(path).f)(0.7, -0.4)
    (entry,) = cache_dir.rglob("result.pickle")
    key = entry.parent.name
    cache.write("jit", key, "result.pickle", b"\x80\x05not a pickle")
    close(pyclad.gradient(pyclad.load(path).f)(0.7, -0.4), grad_by_hand(0.7, -0.4, 1.5))
    assert len(counted) == 2


def test_concurrent_writers_of_one_entry_leave_a_whole_file(cache_dir):
    k = cache.key("text", [], [], "request")
    blobs = [bytes([i]) * 200_000 for i in range(8)]
    seen: list[bytes | None] = []

    def writer(b):
        for _ in range(20):
            cache.write("jit", k, "blob", b)

    def reader():
        for _ in range(200):
            seen.append(cache.read("jit", k, "blob"))

    threads = [threading.Thread(target=writer, args=(b,)) for b in blobs] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.read("jit", k, "blob") in blobs
    assert all(s is None or s in blobs for s in seen)
    assert [p.name for p in Path(cache.entry_dir("jit", k)).iterdir()] == ["blob"]  # no temporaries left


WORKER = """
import inspect, json, sys, pyclad
from pyclad.backends import jit_cache
jit_cache.LIBRARY_MIN_LINES = 0  # the small test function goes through a library too
# Bounds-checked variants, where the API has them, are always JIT-compiled: the plain kernels.
plain = {"checked": False} if "checked" in inspect.signature(pyclad.gradient).parameters else {}
m = pyclad.load(sys.argv[1])
gh = pyclad.gradient(m.h, **plain)(0.7, -0.4)
assert abs(gh[0] - {scale} * -0.4) < 1e-14 and abs(gh[1] - {scale} * 0.7) < 1e-14, gh  # by hand
print(*pyclad.gradient(m.f, **plain)(0.7, -0.4))
jit_cache.wait()
print(json.dumps(jit_cache.stats))
"""


def worker(path: Path, env: dict, scale: float = 1.5) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER.replace("{scale}", repr(scale)), str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answer(p: subprocess.Popen) -> tuple[list[float], dict]:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    values, stats = out.splitlines()
    return [float(v) for v in values.split()], json.loads(stats)


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(Path(pyclad.__file__).parents[1]))


def test_two_processes_at_once_then_a_third_loads_the_compiled_library(tmp_path, cache_dir):
    path = model(tmp_path, 1.5)
    first = [worker(path, env()) for _ in range(2)]  # both miss, both write the same entries
    for p in first:  # (the slower may find what the faster wrote: either is right)
        values, stats = answer(p)
        close(values, grad_by_hand(0.7, -0.4, 1.5))
    assert len(list(cache_dir.rglob("__pyclad_c*.so"))) == 2  # one per derivative
    assert len(list(cache_dir.rglob("result.pickle"))) == 2
    values, stats = answer(worker(path, env()))
    close(values, grad_by_hand(0.7, -0.4, 1.5))
    assert stats == {"results_read": 2, "results_made": 0, "libraries_loaded": 2}  # not from cling


def test_a_damaged_library_falls_back_to_the_jit_and_is_rebuilt(tmp_path, cache_dir):
    path = model(tmp_path, 1.5)
    answer(worker(path, env()))
    lib, _ = cache_dir.rglob("__pyclad_c*.so")
    lib.write_bytes(b"not a shared library")
    values, stats = answer(worker(path, env()))
    close(values, grad_by_hand(0.7, -0.4, 1.5))
    assert stats["libraries_loaded"] == 1 and lib.read_bytes()[:4] == b"\x7fELF"  # the other; rebuilt


def test_cache_off_writes_nothing(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("PYCLAD_CACHE", "0")
    path = model(tmp_path, 1.5)
    close(pyclad.gradient(pyclad.load(path).f)(0.7, -0.4), grad_by_hand(0.7, -0.4, 1.5))
    assert not cache_dir.exists()


def test_cache_dir_comes_from_pyclad_cache_dir_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCLAD_CACHE_DIR", str(tmp_path / "a"))
    assert cache.root() == str(tmp_path / "a")
    monkeypatch.delenv("PYCLAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache.root() == str(tmp_path / "x" / "pyclad")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.root() == str(tmp_path / "home" / ".cache" / "pyclad")


def test_cache_info_and_clear_from_the_command_line(tmp_path, cache_dir):
    path = model(tmp_path, 1.5)
    pyclad.gradient(pyclad.load(path).f)(0.7, -0.4)
    (cache_dir / "unrelated.txt").write_text("not pyclad's")

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "pyclad", *args], capture_output=True, text=True, check=False
        )

    r = cli("cache", "info")
    assert r.returncode == 0 and r.stdout.startswith(f"{cache_dir}: 1 entries")
    r = cli("cache", "clear")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert cli("cache", "info").stdout.startswith(f"{cache_dir}: 0 entries")
    assert (cache_dir / "unrelated.txt").exists()  # only pyclad's own folders go
    assert cli("cache", "drop").returncode == 2


def test_a_library_the_compiler_refuses_is_not_tried_again(tmp_path, cache_dir):
    path = model(tmp_path, 1.5)
    failing = dict(env(), CXX="false")  # a compiler that always fails
    values, _ = answer(worker(path, failing))
    close(values, grad_by_hand(0.7, -0.4, 1.5))
    markers = sorted(cache_dir.rglob("*.so.failed"))
    assert len(markers) == 2 and not list(cache_dir.rglob("*.so"))
    stamps = [m.stat().st_mtime_ns for m in markers]
    values, stats = answer(worker(path, failing))
    close(values, grad_by_hand(0.7, -0.4, 1.5))
    assert stats["libraries_loaded"] == 0 and [m.stat().st_mtime_ns for m in markers] == stamps


CHECKED_WORKER = """
import json, sys
import numpy as np
import pyclad
from pyclad.backends import jit_cache
jit_cache.LIBRARY_MIN_LINES = 0  # the small test function goes through a library too
m = pyclad.load(sys.argv[1])
g = pyclad.gradient(m.sumsq, "x")  # bounds-checked, the default
x = np.array([0.5, -1.5, 2.0])
assert np.allclose(g(x, 3), 2 * x, rtol=1e-14, atol=0)  # by hand: d sum x_i^2 = 2x
try:
    g(x, 4)
    raise SystemExit("no BoundsError")
except pyclad.BoundsError as e:
    assert e.index == 3 and e.loc.file.endswith("sq.cpp") and e.loc.line == 3, str(e)
jit_cache.wait()
print(json.dumps(jit_cache.stats))
"""


def test_a_bounds_checked_gradient_comes_from_the_library_and_still_checks(tmp_path, cache_dir):
    path = tmp_path / "sq.cpp"
    path.write_text(
        "double sumsq(const double* x, int n) {\n"
        "    double s = 0;\n"
        "    for (int i = 0; i < n; ++i) s += x[i] * x[i];\n"
        "    return s;\n"
        "}\n"
    )

    def run() -> dict:
        p = subprocess.run(
            [sys.executable, "-c", CHECKED_WORKER, str(path)],
            check=False,
            env=env(),
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.splitlines()[-1])

    assert run()["libraries_loaded"] == 0  # the first process JIT-compiles and builds the library
    assert len(list(cache_dir.rglob("__pyclad_c*.so"))) == 1
    assert run() == {"results_read": 1, "results_made": 0, "libraries_loaded": 1}
