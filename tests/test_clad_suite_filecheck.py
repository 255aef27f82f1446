"""The FileCheck matcher of the clad suite runner (benchmarks/filecheck.py) decides pass or fail
for every clad test, so each verdict here is stated by hand and, where LLVM's FileCheck is
installed, also confirmed against it: the table cannot drift from the tool it imitates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "benchmarks"))
import filecheck as fc

P = "CHECK-EXEC"


def _llvm_filecheck() -> str | None:
    found = shutil.which("FileCheck")
    if found:
        return found
    for path in sorted(Path("/usr/lib").glob("llvm-*/bin/FileCheck"), reverse=True):
        return str(path)
    return None


FILECHECK = _llvm_filecheck()


def llvm_verdict(tmp_path: Path, checks: str, output: str, *extra: str) -> bool:
    check_file = tmp_path / "checks.txt"
    check_file.write_text(checks)
    run = subprocess.run(
        [FILECHECK, f"--check-prefix={P}", *extra, str(check_file)],
        input=output,
        capture_output=True,
        text=True,
        check=False,
    )
    return run.returncode == 0


# (checks, output, passes) -- the verdicts FileCheck gives, stated by hand.
CASES = {
    "plain checks match in order as substrings": (
        "// CHECK-EXEC: 1.00\n// CHECK-EXEC: 2.5\n",
        "x 1.00\n2.50\n",
        True,
    ),
    "plain checks out of order fail": ("// CHECK-EXEC: 2\n// CHECK-EXEC: 1\n", "1\n2\n", False),
    "a plain check may match later on the line of the previous match": (
        "// CHECK-EXEC: a\n// CHECK-EXEC: b\n",
        "a b\n",
        True,
    ),
    "a check whose text is missing fails": ("// CHECK-EXEC: 6.00\n", "5.00\n", False),
    "a check is not whole-line: it matches inside a longer number": ("// CHECK-EXEC: 6.0\n", "16.00\n", True),
    "runs of blanks in output and pattern are one space": ("// CHECK-EXEC: a  b\n", "a \t b\n", True),
    "a blank in the pattern needs a blank in the output": ("// CHECK-EXEC: a b\n", "ab\n", False),
    "a regex part matches": ("// CHECK-EXEC: x = {{[0-9]+}}.5\n", "x = 42.5\n", True),
    "a regex part that does not match fails": ("// CHECK-EXEC: x = {{[0-9]+}}.5\n", "x = a.5\n", False),
    "an alternation inside a regex part stays inside it": ("// CHECK-EXEC: x{{a|b}}y\n", "xby\n", True),
    "literal regex metacharacters are literal": ("// CHECK-EXEC: {1.0, (2)}*\n", "{1.0, (2)}*\n", True),
    "literal metacharacters do not act as a regex": ("// CHECK-EXEC: a.c\n", "abc\n", False),
    "NEXT matches on the following line": ("// CHECK-EXEC: a\n// CHECK-EXEC-NEXT: b\n", "a\nb\n", True),
    "NEXT two lines later fails": ("// CHECK-EXEC: a\n// CHECK-EXEC-NEXT: b\n", "a\nx\nb\n", False),
    "NEXT on the same line fails": ("// CHECK-EXEC: a\n// CHECK-EXEC-NEXT: b\n", "a b\n", False),
    "NEXT takes the first match even when a later one is on the right line": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-NEXT: b\n",
        "a\nx\nb\n",
        False,
    ),
    "SAME matches on the line of the previous match": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-SAME: c\n",
        "a b c\n",
        True,
    ),
    "SAME on the next line fails": ("// CHECK-EXEC: a\n// CHECK-EXEC-SAME: c\n", "a b\nc\n", False),
    "NOT between two matches": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-NOT: FAIL\n// CHECK-EXEC: b\n",
        "a\nb\nFAIL\n",
        True,
    ),
    "NOT found between two matches fails": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-NOT: FAIL\n// CHECK-EXEC: b\n",
        "a\nFAIL\nb\n",
        False,
    ),
    "a NOT at the end reaches the end of the output": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-NOT: FAIL\n",
        "a\nok FAIL\n",
        False,
    ),
    "a NOT alone checks the whole output": ("// CHECK-EXEC-NOT: FAIL\n", "all good\n", True),
    "DAG matches in any order": ("// CHECK-EXEC-DAG: b\n// CHECK-EXEC-DAG: a\n", "a\nb\n", True),
    "DAG matches do not overlap": ("// CHECK-EXEC-DAG: a\n// CHECK-EXEC-DAG: a\n", "a\n", False),
    "DAG matches find a second occurrence": ("// CHECK-EXEC-DAG: a\n// CHECK-EXEC-DAG: a\n", "a\na\n", True),
    "a check after a DAG group starts after its last match": (
        "// CHECK-EXEC-DAG: b\n// CHECK-EXEC-DAG: a\n// CHECK-EXEC: a\n",
        "a\nb\n",
        False,
    ),
    "EMPTY matches an empty next line": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-EMPTY:\n// CHECK-EXEC-NEXT: b\n",
        "a\n\nb\n",
        True,
    ),
    "EMPTY fails on a line with text": ("// CHECK-EXEC: a\n// CHECK-EXEC-EMPTY:\n", "a\nb\n", False),
    "EMPTY is met by the end of an output ending in a newline": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-EMPTY:\n",
        "a\n",
        True,
    ),
    "EMPTY fails where the output ends without a newline": (
        "// CHECK-EXEC: a\n// CHECK-EXEC-EMPTY:\n",
        "a",
        False,
    ),
    "COUNT needs that many matches": ("// CHECK-EXEC-COUNT-2: x\n", "x\nx\n", True),
    "COUNT with too few matches fails": ("// CHECK-EXEC-COUNT-3: x\n", "x\nx\n", False),
    "an empty output fails": ("// CHECK-EXEC: a\n", "", False),
    "no directive of the prefix fails": ("// CHECK: a\n", "a\n", False),
    "a prefix inside a longer word is not a directive": (
        "// XCHECK-EXEC: zzz\n// CHECK-EXEC: a\n",
        "a\n",
        True,
    ),
    "another prefix's directives are ignored": ("// CHECK: zzz\n// CHECK-EXEC: a\n", "a\n", True),
    "an empty pattern is an error": ("// CHECK-EXEC:\n", "a\n", False),
    "NEXT before any match is an error": ("// CHECK-EXEC-NEXT: a\n", "a\n", False),
    "NEXT after only a DAG is an error": ("// CHECK-EXEC-DAG: a\n// CHECK-EXEC-NEXT: b\n", "a\nb\n", False),
    "a directive after code on the same line counts": ('printf("%d", 1); // CHECK-EXEC: 1\n', "1\n", True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_matcher_gives_filecheck_verdict(name):
    checks, output, passes = CASES[name]
    assert fc.filecheck(checks, output, P).ok is passes


@pytest.mark.skipif(FILECHECK is None, reason="LLVM FileCheck is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_stated_verdicts_are_llvm_filechecks(name, tmp_path):
    checks, output, passes = CASES[name]
    assert llvm_verdict(tmp_path, checks, output) is passes


def test_a_failure_names_the_first_unmatched_check_and_its_line():
    result = fc.filecheck(
        "int x; // CHECK-EXEC: 1\n\n// CHECK-EXEC: 7.50\n// CHECK-EXEC: 9\n", "1\n7.25\n9\n", P
    )
    assert not result.ok
    assert result.check.line == 3 and result.check.pattern == "7.50"
    assert result.summary() == "expected string not found in output: line 3: CHECK-EXEC: 7.50"


def test_a_next_on_the_wrong_line_says_so():
    result = fc.filecheck("// CHECK-EXEC: a\n// CHECK-EXEC-NEXT: b\n", "a\n\nb\n", P)
    assert "not on the line after" in result.reason and result.check.kind == "NEXT"


def test_implicit_check_not_rejects_an_error_line_outside_the_matches():
    checks = "// CHECK-EXEC: ok\n"
    assert fc.filecheck(checks, "ok\n", P, implicit_not=("error:",)).ok
    failed = fc.filecheck(checks, "ok\nerror: oops\n", P, implicit_not=("error:",))
    assert not failed.ok and failed.check.pattern == "error:"


@pytest.mark.skipif(FILECHECK is None, reason="LLVM FileCheck is not installed")
def test_implicit_check_not_agrees_with_llvm_filecheck(tmp_path):
    checks = "// CHECK-EXEC: ok\n"
    for output in ("ok\n", "ok\nerror: oops\n", "error: x\nok\n"):
        mine = fc.filecheck(checks, output, P, implicit_not=("error:",)).ok
        assert mine is llvm_verdict(tmp_path, checks, output, "--implicit-check-not", "error:")


def test_filecheck_variables_are_reported_not_matched():
    result = fc.filecheck("// CHECK-EXEC: x = [[VAL:[0-9]+]]\n", "x = 1\n", P)
    assert not result.ok and "variables are not supported" in result.reason


# Random small check files over a tiny alphabet, where coincidences (repeats, same-line
# matches, overlaps) are frequent: the matcher and LLVM's FileCheck must agree on each.
_WORDS = st.sampled_from(["a", "b", "a b", "ab", "{{a|b}}", "{{[ab]}} b"])
_KINDS = st.sampled_from(["", "-NEXT", "-SAME", "-NOT", "-DAG", "-EMPTY"])
_LINES = st.lists(st.sampled_from(["a", "b", "a b", "ab", "", "b a"]), min_size=1, max_size=5)


@st.composite
def _check_files(draw):
    checks = [f"// CHECK-EXEC: {draw(_WORDS)}"]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(_KINDS)
        pattern = "" if kind == "-EMPTY" else " " + draw(_WORDS)
        checks.append(f"// CHECK-EXEC{kind}:{pattern}")
    if draw(st.booleans()):
        checks.reverse()
    return "\n".join(checks) + "\n"


@pytest.mark.skipif(FILECHECK is None, reason="LLVM FileCheck is not installed")
@settings(max_examples=300, deadline=None)
@given(checks=_check_files(), lines=_LINES, trailing=st.booleans())
def test_random_check_files_get_llvm_filechecks_verdict(tmp_path_factory, checks, lines, trailing):
    output = "\n".join(lines) + ("\n" if trailing else "")
    tmp = tmp_path_factory.mktemp("fc")
    assert fc.filecheck(checks, output, P).ok is llvm_verdict(tmp, checks, output), (checks, output)
