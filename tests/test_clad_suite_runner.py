"""The clad suite runner (benchmarks/clad_suite.py) on a small clad-shaped tree made here:
which files it picks, how it reads RUN lines (compile flags, clad options, programs, prefixes),
how each kind of failure is reported, and the per-folder table.  The translator is a stub given
with --translator (it copies the file, or fails where the file asks it to), so these tests do
not depend on what pyclad translate can do; the real measurement is the benchmark's."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import clad_runlines

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")

STUB = textwrap.dedent(
    """\
    import sys
    src, out = sys.argv[1], sys.argv[sys.argv.index("-o") + 1]
    text = open(src).read()
    if "TRANSLATE_CRASH" in text:
        raise ValueError("substring not found")
    if "TRANSLATE_FAIL" in text:
        sys.stderr.write(src + ":3:1: error: cannot translate this construct\\n")
        sys.exit(1)
    args = " ".join(sys.argv[3:])
    open(out, "w").write("// translated with: " + args + "\\n" + text)
    """
)

COMPILE = "// RUN: %cladclang %s -I%S/../../include -oX.out 2>&1 | %filecheck %s\n// RUN: ./X.out | %filecheck_exec %s\n"

FILES = {
    "Gradient/Passes.C": COMPILE
    + '#include <cstdio>\nint main() { std::printf("x = %.2f\\n", 1.5); std::printf("y\\n"); }\n'
    "// CHECK-EXEC: x = 1.50\n// CHECK-EXEC-NEXT: y\n",
    "Gradient/WrongValue.C": COMPILE
    + '#include <cstdio>\nint main() { std::printf("x = 2.00\\n"); }\n// CHECK: ignored\n// CHECK-EXEC: x = 1.50\n',
    "Gradient/Crashes.C": COMPILE
    + "#include <cstdlib>\nint main() { std::abort(); }\n// CHECK-EXEC: never\n",
    "Gradient/DoesNotCompile.C": COMPILE + "int main() { return undeclared; }\n// CHECK-EXEC: never\n",
    "Hessian/NoTranslation.C": COMPILE + "// TRANSLATE_FAIL\nint main() {}\n// CHECK-EXEC: never\n",
    "Hessian/ExitStatus.C": COMPILE + '#include <cstdio>\nint main() { std::printf("ok\\n"); return 3; }\n'
    "// CHECK-EXEC: ok\n",
    "Hessian/TranslatorCrash.C": COMPILE + "// TRANSLATE_CRASH\nint main() {}\n// CHECK-EXEC: never\n",
    # as in lit: a program run without FileCheck is judged by its exit status, a -fsyntax-only
    # line by compiling
    "Gradient/BareRun.C": "// RUN: %cladclang %s -oB.out\n// RUN: ./B.out\n"
    + '#include <cstdio>\nint main() { std::printf("other\\n"); }\n// CHECK-EXEC: never printed\n',
    "Gradient/SyntaxOnly.C": "// RUN: %cladclang %s -I%S/../../include -fsyntax-only 2>&1\n"
    + "int main() { return 0; }\n// CHECK-EXEC: never printed\n",
    "Hessian/NeedsFeature.C": "// REQUIRES: some-missing-feature\n"
    + COMPILE
    + "int main() {}\n// CHECK-EXEC: x\n",
    # two builds in two standards, run each; a -D and a header of the test tree (%S)
    "Misc/TwoStandards.cpp": textwrap.dedent(
        """\
        // RUN: %cladclang -DVALUE=7 %s -I%S/../../include -o %t
        // RUN: %t | %filecheck_exec %s
        // RUN: %cladclang -Xclang -plugin-arg-clad -Xclang -disable-tbr -std=c++14 -DVALUE=7 \\
        // RUN:   %s -I%S/../../include -o %t14
        // RUN: %t14 | %filecheck_exec %s
        #include "../Local.h"
        #include <cstdio>
        int main() { std::printf("value %d %ld translated %d\\n", VALUE, __cplusplus, LOCAL); }
        // CHECK-EXEC: value 7 {{2014|2017}}{{[0-9]+}} translated 1
        """
    ),
    "Local.h": "#define LOCAL 1\n",
    # picked by nobody: CUDA/ and Enzyme/ are skipped, a file without CHECK-EXEC, a header
    "CUDA/Kernel.cpp": COMPILE + "int main() {}\n// CHECK-EXEC: x\n",
    "Enzyme/Fwd.C": COMPILE + "int main() {}\n// CHECK-EXEC: x\n",
    "ExecOnly/Self.C": COMPILE + "int main() {}\n// CHECK-EXEC: x\n",  # excluded by clad's lit.cfg
    "Gradient/CompileOnly.C": "// RUN: %cladclang %s -I%S/../../include -oY.out 2>&1 | %filecheck %s\n// CHECK: x\n",
    "Gradient/Helper.h": "// CHECK-EXEC: x\n",
}


@pytest.fixture(scope="module")
def clad_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clad")
    for rel, text in FILES.items():
        path = root / "test" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # clad's own headers must never be used: pyclad's stand in for them
    own = root / "include" / "clad" / "Differentiator"
    own.mkdir(parents=True)
    (own / "Differentiator.h").write_text('#error "clad\'s own header was included"\n')
    (root / "stub.py").write_text(STUB)
    return root


def run_suite(clad_src: Path, stub: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "clad_suite.py"), "--clad-src", str(clad_src)]
        + ["--translator", f"{sys.executable} {stub}", "-j", "2", *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def report(clad_tree) -> str:
    return run_suite(clad_tree, clad_tree / "stub.py")


def failure_line(report: str, path: str) -> str:
    lines = [ln for ln in report.splitlines() if ln.startswith(path + ":")]
    assert len(lines) == 1, report
    return lines[0]


def test_the_table_counts_each_folder_and_the_total(report):
    assert "| Gradient | 6 | 3 | 3 | 0 | 50.0% |" in report
    assert "| Hessian | 4 | 0 | 3 | 1 | 0.0% |" in report
    assert "| Misc | 1 | 1 | 0 | 0 | 100.0% |" in report
    assert "| **all** | 11 | 4 | 6 | 1 | 40.0% |" in report


def test_cuda_enzyme_headers_and_files_without_exec_checks_are_not_run(report):
    for name in ("Kernel.cpp", "Fwd.C", "Self.C", "CompileOnly.C", "Helper.h"):
        assert name not in report


def test_a_wrong_value_reports_the_first_unmatched_check(report):
    line = failure_line(report, "Gradient/WrongValue.C")
    assert line.endswith("check mismatch: expected string not found in output: line 6: CHECK-EXEC: x = 1.50")


def test_a_crash_a_compile_error_a_translate_error_and_an_exit_status_are_told_apart(report):
    assert "run crash: run line 2: killed by signal 6" in failure_line(report, "Gradient/Crashes.C")
    compile_error = failure_line(report, "Gradient/DoesNotCompile.C")
    assert "compile error:" in compile_error and "undeclared" in compile_error
    translate = failure_line(report, "Hessian/NoTranslation.C")
    assert translate.endswith(
        "translate error: Hessian/NoTranslation.C:3:1: error: cannot translate this construct"
    )
    assert "run exit status: run line 2: exit status 3" in failure_line(report, "Hessian/ExitStatus.C")
    crash = failure_line(report, "Hessian/TranslatorCrash.C")
    assert crash.endswith("translator crash: crashed: ValueError: substring not found")


def test_a_bare_run_line_and_a_syntax_only_line_are_judged_as_lit_judges_them(report):
    assert "Gradient/BareRun.C" not in report and "Gradient/SyntaxOnly.C" not in report


def test_an_unmet_requirement_is_reported_as_unsupported(report):
    assert failure_line(report, "Hessian/NeedsFeature.C").endswith(
        "unsupported: REQUIRES some-missing-feature"
    )


def test_failure_causes_are_counted(report):
    causes = report.split("## Failure causes", 1)[1]
    assert "| 1 | check mismatch: expected string not found in output |" in causes
    assert "| 1 | translate error:" in causes


def test_a_saved_run_prints_the_same_report(clad_tree, tmp_path):
    saved = tmp_path / "run.json"
    out = run_suite(
        clad_tree, clad_tree / "stub.py", "--only", "Misc", "--only", "Hessian", "--json", str(saved)
    )
    again = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "clad_suite.py"), "--from-json", str(saved)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout == out


def test_only_runs_the_named_folder(clad_tree):
    out = run_suite(clad_tree, clad_tree / "stub.py", "--only", "Misc")
    assert "| **all** | 1 | 1 | 0 | 0 | 100.0% |" in out and "Gradient" not in out


def test_a_bare_git_directory_is_read_through_its_head(clad_tree, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(clad_tree, work)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(work)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "test", "include"], check=True)
    subprocess.run([*git, "commit", "-qm", "tree"], check=True)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    out = run_suite(bare, clad_tree / "stub.py", "--only", "Misc")
    assert "| **all** | 1 | 1 | 0 | 0 | 100.0% |" in out


def test_kept_builds_show_the_flags_given_to_the_translator(clad_tree, tmp_path):
    run_suite(clad_tree, clad_tree / "stub.py", "--only", "Misc", "--keep", str(tmp_path))
    build = tmp_path / "Misc" / "TwoStandards_cpp"
    first = (build / "TwoStandards.translated.cpp").read_text().splitlines()[0]
    second = (build / "TwoStandards.translated2.cpp").read_text().splitlines()[0]
    assert "--std c++17" in first and "-D VALUE=7" in first and "-D CLAD_NO_NUM_DIFF" in first
    assert "--std c++14" in second
    assert str(clad_tree / "include") not in first  # clad's include dir is not passed on


def test_run_lines_give_each_build_its_flags_and_clad_options(tmp_path):
    text = FILES["Misc/TwoStandards.cpp"]
    plan = clad_runlines.plan(text, tmp_path / "TwoStandards.cpp", tmp_path)
    first, run1, second, run2 = plan.steps
    assert first.std == "c++17" and first.defines == ["VALUE=7"] and first.clad_options == []
    assert second.std == "c++14" and second.clad_options == ["-disable-tbr"]
    assert run1.program == first.output and run2.program == second.output != first.output
    assert run1.prefix == "CHECK-EXEC" and run1.implicit_not == ()


def test_a_run_line_checked_by_plain_filecheck_with_the_exec_prefix_keeps_its_implicit_nots(tmp_path):
    text = "// RUN: %cladclang %s -oA.out\n// RUN: ./A.out | %filecheck -check-prefix=CHECK-EXEC %s\n"
    plan = clad_runlines.plan(text, tmp_path / "a.C", tmp_path)
    assert plan.steps[1].implicit_not == clad_runlines.IMPLICIT_NOT


def test_an_option_the_runner_cannot_reproduce_is_named(tmp_path):
    text = "// RUN: %cladclang -fmodules %s -oA.out\n// RUN: ./A.out | %filecheck_exec %s\n"
    plan = clad_runlines.plan(text, tmp_path / "a.C", tmp_path)
    assert plan.unsupported == "compile line 1: clang option -fmodules"
