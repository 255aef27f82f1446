"""The ``// RUN:`` lines of a clad test, read into the builds and runs they ask for.

clad's tests are lit tests: each ``RUN:`` line is a shell command after lit substitutes
``%s`` (the file), ``%S`` (its folder), ``%t`` (a scratch path), ``%cladclang`` (clang++ with
the clad plugin and -std=c++17 -DCLAD_NO_NUM_DIFF) and ``%filecheck_exec`` (FileCheck
--check-prefix=CHECK-EXEC).  The clad suite runner (clad_suite.py) does not run a shell: it
needs to know, per file, which compile lines build which program (their -D / -I / -std
flags, the clad plugin options, the other compiler flags and sources) and which run lines
start that program and check its output against which prefix.  This module reads those
facts and nothing else; anything it cannot read is kept as a reason, so that a file the
runner cannot reproduce is reported as such rather than run some other way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# The forms lit's %filecheck adds to every compile-output check; a run line that pipes into
# %filecheck (not %filecheck_exec) with -check-prefix=CHECK-EXEC inherits them.
IMPLICIT_NOT = ("error:", "warning:", "note:")
# Compiler flags a clad test passes that mean the same to g++ as to clang++.
_PASSED_ON = re.compile(r"^(-O[0-3s]?|-fopenmp|-fno-exceptions|-fno-rtti|-l\w+|-g)$")


@dataclass
class Compile:
    """One ``%cladclang`` line: what to translate and how to build it."""

    line: int
    output: str
    sources: list[str]
    std: str = "c++17"
    defines: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    clad_options: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    num_diff: bool = False
    syntax_only: bool = False  # -fsyntax-only: clad checks only that the file compiles

    def key(self) -> tuple:
        """What decides the built program: the plugin's options do not (they tune clad's
        analyses, not the values a correct derivative prints)."""
        return (
            tuple(self.sources),
            self.std,
            tuple(self.defines),
            tuple(self.includes),
            tuple(self.flags),
            self.syntax_only,
        )


@dataclass
class Run:
    """One line that starts a built program and checks what it prints against ``prefix``; an
    empty prefix is a program run on its own, whose exit status alone is checked (as lit does)."""

    line: int
    program: str
    prefix: str
    implicit_not: tuple[str, ...] = ()


@dataclass
class TestPlan:
    """The builds and runs of one test file, in RUN-line order, or why it cannot be followed."""

    steps: list[Compile | Run]
    unsupported: str = ""
    requires: list[str] = field(default_factory=list)
    unsupported_on: list[str] = field(default_factory=list)
    xfail: list[str] = field(default_factory=list)


def run_lines(text: str) -> list[tuple[int, str]]:
    """(line number, command) of each RUN command, continuation lines (ending in ``\\``) joined."""
    commands, pending, first = [], "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        m = re.search(r"\bRUN:(.*)$", line)
        if m is None:
            continue
        part = m.group(1).strip()
        if not pending:
            first = number
        if part.endswith("\\"):
            pending += part[:-1] + " "
            continue
        commands.append((first, (pending + part).strip()))
        pending = ""
    if pending:
        commands.append((first, pending.strip()))
    return commands


def _features(text: str, key: str) -> list[str]:
    out = []
    for m in re.finditer(rf"\b{key}:(.*)$", text, re.MULTILINE):
        out.extend(f.strip() for f in m.group(1).split(",") if f.strip())
    return out


def substitute(command: str, source: Path, scratch: Path) -> str:
    """lit's substitutions of the file's paths (%s, %S, %t); the tool names stay as words."""
    return (
        command.replace("%s", str(source))
        .replace("%S", str(source.parent))
        .replace("%t", str(scratch / (source.name + ".tmp")))
    )


def _compile(line: int, words: list[str], workdir: Path) -> Compile | str:
    """A ``%cladclang`` command's flags, or the reason the runner cannot reproduce it."""
    comp = Compile(line, "a.out", [], num_diff=words[0] == "%cladnumdiffclang")
    i = 1
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "-Xclang" and nxt == "-plugin-arg-clad" and words[i + 2 : i + 3] == ["-Xclang"]:
            comp.clad_options.append(words[i + 3] if i + 3 < len(words) else "")
            i += 4
            continue
        if w == "-Xclang":
            if nxt != "-verify":
                return f"compile line {line}: clang option -Xclang {nxt}"
            i += 2
            continue
        if w in ("-o", "-I", "-D") and nxt:
            w, i = w + nxt, i + 1
        if w.startswith("-o"):
            comp.output = str(workdir / w[2:])
        elif w.startswith("-I"):
            comp.includes.append(w[2:])
        elif w.startswith("-D"):
            comp.defines.append(w[2:])
        elif w.startswith("-std="):
            comp.std = w[5:]
        elif w == "-fsyntax-only":
            comp.syntax_only = True
        elif w.startswith("-Wno-"):
            pass
        elif _PASSED_ON.match(w):
            comp.flags.append(w)
        elif w.startswith("-"):
            return f"compile line {line}: clang option {w}"
        else:
            comp.sources.append(w)
        i += 1
    if not comp.sources:
        return f"compile line {line}: no source file"
    return comp


def _run(line: int, stages: list[list[str]], workdir: Path) -> Run | str | None:
    """A run command (``./X.out | %filecheck_exec %s``, or ``./X.out`` alone), None for a
    compile-output check only."""
    program = str(workdir / stages[0][0])
    if len(stages[0]) != 1 or len(stages) > 2:
        return f"run line {line}: {' | '.join(' '.join(s) for s in stages)}"
    if len(stages) == 1:
        return Run(line, program, "")
    check = stages[1]
    if check[0] == "%filecheck_exec":
        return Run(line, program, "CHECK-EXEC")
    prefixes = [w.split("=", 1)[1] for w in check if re.match(r"--?check-prefix=", w)]
    if check[0] == "%filecheck" and prefixes == ["CHECK-EXEC"]:
        return Run(line, program, "CHECK-EXEC", IMPLICIT_NOT)
    return None if "CHECK-EXEC" not in prefixes else f"run line {line}: {' '.join(check)}"


def plan(text: str, source: Path, workdir: Path) -> TestPlan:
    """The builds and runs a test file's RUN lines ask for (paths resolved against ``workdir``)."""
    result = TestPlan(
        [],
        requires=_features(text, "REQUIRES"),
        unsupported_on=_features(text, "UNSUPPORTED"),
        xfail=_features(text, "XFAIL"),
    )
    for line, command in run_lines(text):
        command = substitute(command, source, workdir)
        try:
            stages = [shlex.split(s) for s in command.split("|")]
        except ValueError:
            result.unsupported = f"run line {line}: unbalanced quotes"
            return result
        stages = [s for s in stages if s]
        head = stages[0] if stages else []
        if not head or head[:2] == ["rm", "-rf"] or head[0] == "mkdir":
            continue
        if head[0] in ("%cladclang", "%cladnumdiffclang"):
            step = _compile(line, [w for w in head if w != "2>&1"], workdir)
        elif head[0].startswith(("./", "/")) and not head[0].startswith("//"):
            step = _run(line, [[w for w in s if w != "2>&1"] for s in stages], workdir)
            if step is None:
                continue
        else:
            step = f"run line {line}: {head[0]}"
        if isinstance(step, str):
            result.unsupported = step
            return result
        result.steps.append(step)
    return result
