"""clad's own test suite through ``pyclad translate`` and g++: the pass rate per folder.

Run on demand:
    python benchmarks/clad_suite.py --clad-src DIR [--only FOLDER] [-j N] [--keep DIR] [--json OUT]

DIR is a checkout of clad's repository (a work tree, or a bare git directory, whose test/
folder is then exported to a scratch directory); it is read where it lies, nothing of it is
copied into this repository.  Every test file (lit's suffixes .C and .cpp) with CHECK-EXEC
lines outside CUDA/ and Enzyme/ is followed as its RUN lines say: each ``%cladclang`` line is
translated (``python -m pyclad translate``, or ``--translator CMD``) and built by g++ with the
line's -std / -D / -I flags and pyclad's include directory in front of clad's, and each run
line starts the program and matches what it prints against the file's CHECK-EXEC lines with
FileCheck's semantics (benchmarks/filecheck.py).  A file passes when every run of it passes.

The report: a pass rate per folder, then one line per failing file with its first failure
(translate error / compile error / run crash / the first unmatched CHECK-EXEC line), then the
failure causes counted, the most common first.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clad_runlines
import filecheck

ROOT = Path(__file__).resolve().parent.parent
PYCLAD_INCLUDE = ROOT / "cpp" / "include"
SUFFIXES = (".C", ".cpp")
# CUDA/ and Enzyme/ need what g++ does not have; clad's lit.cfg itself excludes ExecOnly/
# (its one file checks the lit setup, and is expected to fail on its own).
SKIPPED_FOLDERS = ("CUDA", "Enzyme", "ExecOnly")
TIMEOUTS = {"translate": 300, "compile": 300, "run": 60}


@dataclass
class Outcome:
    """How one test file fared: status pass / fail / unsupported / xfail / xpass."""

    path: str
    status: str
    category: str = ""
    message: str = ""

    @property
    def folder(self) -> str:
        return self.path.split("/", 1)[0] if "/" in self.path else "."


class StepFailed(Exception):
    """A build or run step of a test failed; carries the category and a one-line message."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category, self.message = category, message


def test_root(clad_src: Path, scratch: Path) -> Path:
    """clad's test/ folder: in a work tree as it lies, from a bare git dir exported to ``scratch``."""
    if (clad_src / "test").is_dir():
        return clad_src / "test"
    if (clad_src / "HEAD").is_file() and (clad_src / "objects").is_dir():
        archive = subprocess.run(
            ["git", f"--git-dir={clad_src}", "archive", "HEAD", "test"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
        return scratch / "test"
    raise SystemExit(f"clad_suite: {clad_src} is neither a clad work tree nor a bare git directory")


def discover(root: Path, only: list[str]) -> list[Path]:
    """The test files with CHECK-EXEC lines, sorted, outside CUDA/ and Enzyme/ (and in ``only``)."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in SUFFIXES or not path.is_file() or rel.parts[0] in SKIPPED_FOLDERS:
            continue
        if only and rel.parts[0] not in only:
            continue
        if "CHECK-EXEC" in path.read_text(errors="replace"):
            found.append(path)
    return found


def first_line(text: str, wanted: str = "error") -> str:
    """The first line of a tool's message that mentions ``wanted``, else its first non-empty line;
    for a Python traceback (the translator itself failed), the exception it ends with."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        return "crashed: " + lines[-1]
    for ln in lines:
        if wanted in ln:
            return ln
    return lines[0] if lines else "(no message)"


def _short(message: str, workdir: Path) -> str:
    """A message without the scratch folder and pyclad's include folder in its paths."""
    return message.replace(f"{workdir}/", "").replace(f"{PYCLAD_INCLUDE}/", "")


def _call(cmd: list[str], category: str, cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(
            cmd, check=False, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{category} timeout", f"{category} took more than {timeout} s") from None
    except OSError as exc:
        raise StepFailed(f"{category} error", str(exc)) from None
    return done


class Suite:
    """Runs test files: holds the translator command, the tree, and what was built already."""

    def __init__(self, root: Path, translator: list[str], cxx: str, clad_include: Path) -> None:
        self.root, self.translator, self.cxx, self.clad_include = root, translator, cxx, clad_include
        self.features = {"shell"} | ({"OpenMP"} if self._has_openmp() else set())

    def _has_openmp(self) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "omp.cpp"
            src.write_text("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
            probe = subprocess.run(
                [self.cxx, "-fopenmp", str(src), "-o", str(Path(tmp) / "omp")], check=False
            )
            return probe.returncode == 0

    def includes(self, comp: clad_runlines.Compile) -> list[str]:
        """The line's -I folders but clad's own include/ (pyclad's headers stand in for it)."""
        return [d for d in comp.includes if Path(d).resolve() != self.clad_include.resolve()]

    def translate(self, source: Path, comp: clad_runlines.Compile, workdir: Path, build: int) -> Path:
        """The translated copy of ``source`` (in ``workdir``, numbered by the file's build)."""
        out = workdir / f"{source.stem}.translated{build if build > 1 else ''}{source.suffix}"
        cmd = [*self.translator, str(source), "-o", str(out), "--std", comp.std]
        for d in self.includes(comp):
            cmd += ["-I", d]
        for d in comp.defines + ([] if comp.num_diff else ["CLAD_NO_NUM_DIFF"]):
            cmd += ["-D", d]
        done = _call(cmd, "translate", workdir, TIMEOUTS["translate"])
        if done.returncode != 0 or not out.is_file():
            message = first_line(done.stderr + done.stdout)
            raise StepFailed(
                "translator crash" if message.startswith("crashed: ") else "translate error", message
            )
        return out

    def build(self, comp: clad_runlines.Compile, test: Path, workdir: Path, build: int) -> None:
        """Translate the test file (and any other source of the line that calls clad), then compile."""
        sources = []
        for src in map(Path, comp.sources):
            translated = src == test or (src.is_file() and "clad::" in src.read_text(errors="replace"))
            sources.append(str(self.translate(src, comp, workdir, build) if translated else src))
        Path(comp.output).parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.cxx, f"-std={comp.std}", f"-I{PYCLAD_INCLUDE}"]
        # The translated file is not beside its source: the source's folder is searched for
        # the includes it names relative to itself (#include "../TestUtils.h").
        cmd += [f"-I{d}" for d in dict.fromkeys(str(Path(s).parent) for s in comp.sources)]
        cmd += [f"-I{d}" for d in self.includes(comp)] + [f"-D{d}" for d in comp.defines]
        cmd += [] if comp.num_diff else ["-DCLAD_NO_NUM_DIFF"]
        cmd += [*comp.flags, *sources]
        cmd += ["-fsyntax-only"] if comp.syntax_only else ["-o", comp.output, "-lm"]
        done = _call(cmd, "compile", workdir, TIMEOUTS["compile"])
        if done.returncode != 0:
            raise StepFailed("compile error", first_line(done.stderr, "error"))

    def run(self, step: clad_runlines.Run, check_text: str, workdir: Path) -> None:
        if not Path(step.program).is_file():
            raise StepFailed("no program", f"run line {step.line}: {step.program} was not built")
        done = _call([step.program], "run", workdir, TIMEOUTS["run"])
        if done.returncode < 0:
            raise StepFailed("run crash", f"run line {step.line}: killed by signal {-done.returncode}")
        if step.prefix:
            result = filecheck.filecheck(check_text, done.stdout, step.prefix, step.implicit_not)
            if not result.ok:
                raise StepFailed("check mismatch", result.summary())
        if done.returncode != 0:
            raise StepFailed("run exit status", f"run line {step.line}: exit status {done.returncode}")

    def unmet(self, plan: clad_runlines.TestPlan) -> str:
        """Why the file cannot run here (a REQUIRES feature missing, an UNSUPPORTED one present)."""
        missing = [f for f in plan.requires if f not in self.features]
        present = [f for f in plan.unsupported_on if f in self.features]
        if missing:
            return "REQUIRES " + ", ".join(missing)
        return "UNSUPPORTED on " + ", ".join(present) if present else ""

    def run_file(self, path: Path, workdir: Path) -> Outcome:
        rel = path.relative_to(self.root).as_posix()
        text = path.read_text(errors="replace")
        plan = clad_runlines.plan(text, path, workdir)
        reason = self.unmet(plan)
        if reason:
            return Outcome(rel, "unsupported", "unmet requirement", reason)
        if plan.unsupported:
            return Outcome(rel, "fail", "RUN line not reproducible", plan.unsupported)
        if not plan.steps:
            return Outcome(rel, "fail", "RUN line not reproducible", "no RUN line builds the file")
        workdir.mkdir(parents=True, exist_ok=True)
        outcome = Outcome(rel, "pass")
        built: dict[str, tuple] = {}  # program path -> the key of the build that made it
        builds = 0
        try:
            for step in plan.steps:
                if isinstance(step, clad_runlines.Compile):
                    if built.get(step.output) != step.key():
                        builds += 1
                        self.build(step, path, workdir, builds)
                        built[step.output] = step.key()
                else:
                    self.run(step, text, workdir)
        except StepFailed as failed:
            outcome = Outcome(
                rel, "fail", failed.category, _short(failed.message, workdir).replace(f"{self.root}/", "")
            )
        if any(f == "*" or f in self.features for f in plan.xfail):
            outcome.status = "xfail" if outcome.status == "fail" else "xpass"
        return outcome


def cause(outcome: Outcome) -> str:
    """A failure's cause for counting: its category and message without paths, places, numbers
    and quoted names, so that files failing for the same reason count together."""
    msg = re.sub(r"(?:[\w./+-]+/)?[\w.+-]+\.(?:C|cpp|out|tmp)(?::\d+)*:?", "", outcome.message)
    msg = re.sub(r"line \d+:?", "", msg)
    msg = re.sub(r"clad::(?:differentiate|gradient|hessian|jacobian) of '[^']*': ", "", msg)
    if outcome.category == "check mismatch":
        msg = msg.split(":", 1)[0]
    msg = re.sub(r"'[^']*'|\"[^\"]*\"|‘[^’]*’", "'…'", msg)
    msg = re.sub(r"\b\d+(\.\d+)?\b", "N", msg)
    return f"{outcome.category}: {' '.join(msg.split())[:140]}"


def folder_table(outcomes: list[Outcome]) -> list[str]:
    """One row per folder: files, passed, failed, not runnable here, the pass rate."""
    rows = ["| folder | files | pass | fail | unsupported | pass rate |", "|---|---:|---:|---:|---:|---:|"]
    folders = sorted({o.folder for o in outcomes})
    for folder in folders + ["all"]:
        mine = [o for o in outcomes if folder == "all" or o.folder == folder]
        count = Counter(o.status for o in mine)
        passed, unsupported = count["pass"] + count["xfail"], count["unsupported"]
        failed = len(mine) - passed - unsupported
        runnable = len(mine) - unsupported
        rate = f"{100.0 * passed / runnable:.1f}%" if runnable else "-"
        name = "**all**" if folder == "all" else folder
        rows.append(f"| {name} | {len(mine)} | {passed} | {failed} | {unsupported} | {rate} |")
    return rows


def report(outcomes: list[Outcome]) -> str:
    """The per-folder table, each failing file's first failure, the failure causes counted."""
    lines = [
        "## Pass rate per folder",
        "",
        *folder_table(outcomes),
        "",
        "## First failure of each failing file",
        "",
    ]
    failing = [o for o in outcomes if o.status in ("fail", "xpass", "unsupported")]
    lines += [f"{o.path}: {o.status if o.status != 'fail' else o.category}: {o.message}" for o in failing]
    lines += ["", "## Failure causes", "", "| files | cause |", "|---:|---|"]
    counts = Counter(cause(o) for o in outcomes if o.status == "fail")
    lines += [f"| {n} | {c} |" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    categories = Counter(o.category for o in outcomes if o.status == "fail")
    lines += ["", "| files | category |", "|---:|---|"]
    lines += [f"| {n} | {c} |" for c, n in categories.most_common()]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clad-src", type=Path, help="clad checkout: work tree or bare git dir")
    ap.add_argument("--only", action="append", default=[], help="a folder of test/ (repeatable)")
    ap.add_argument("-j", type=int, default=1, help="files run in parallel")
    ap.add_argument("--keep", type=Path, help="keep translated sources and programs under this folder")
    ap.add_argument("--json", type=Path, help="write every file's outcome to this JSON file")
    ap.add_argument(
        "--translator",
        default=f"{shlex.quote(sys.executable)} -m pyclad translate",
        help="command that translates: CMD FILE -o OUT --std STD [-I DIR] [-D NAME]",
    )
    ap.add_argument("--cxx", default=shutil.which("g++") or "g++", help="the C++ compiler")
    ap.add_argument("--from-json", type=Path, help="print the report of a run saved with --json, run nothing")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.clad_src and not args.from_json:
        raise SystemExit("clad_suite: --clad-src DIR is required")
    if args.from_json:
        saved = [Outcome(**o) for o in json.loads(args.from_json.read_text())]
        print(report([o for o in saved if o.folder not in SKIPPED_FOLDERS]))
        return 0
    with tempfile.TemporaryDirectory(prefix="clad_suite_") as scratch_dir:
        scratch = Path(scratch_dir)
        work = args.keep.resolve() if args.keep else scratch / "work"
        root = test_root(args.clad_src.resolve(), scratch)
        suite = Suite(root, shlex.split(args.translator), args.cxx, root.parent / "include")
        files = discover(root, args.only)
        if not files:
            print("clad_suite: no test file with CHECK-EXEC lines found", file=sys.stderr)
            return 1

        def one(path: Path) -> Outcome:
            rel = path.relative_to(root)
            return suite.run_file(path, work / rel.parent / rel.name.replace(".", "_"))

        with ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
            outcomes = list(pool.map(one, files))
    print(report(outcomes))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
