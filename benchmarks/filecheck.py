"""FileCheck's matching rules for a program's output, as the clad suite runner needs them.

clad's tests state what their programs print in ``// CHECK-EXEC: ...`` comments, read by
LLVM's FileCheck with ``--check-prefix=CHECK-EXEC``.  This module is the referee of
benchmarks/clad_suite.py: it reads the directives of one prefix from a file and decides
whether an output meets them, by the rules FileCheck applies to the forms those tests use:

- ``P:`` matches the pattern anywhere after the end of the previous match (the same line
  included); ``P-NEXT:`` must match on the line right after the previous match's line,
  ``P-SAME:`` on that same line, ``P-EMPTY:`` is the next line being empty;
  ``P-NOT:`` must not match between the previous match and the next one (or the end);
  consecutive ``P-DAG:`` lines match in any order, without overlapping each other;
  ``P-COUNT-n:`` is n matches in a row; ``P-LABEL:`` matches like ``P:``.
- A pattern is literal text with ``{{regex}}`` parts.  Runs of spaces and tabs count as one
  space in the pattern and in the output (FileCheck without --strict-whitespace), and the
  pattern's own leading and trailing blanks are dropped.
- A directive is the prefix where the character before it is not a letter, a digit, ``_``
  or ``-``; no directive of the prefix at all, an empty output, an empty pattern or a
  ``P-NEXT``/``P-SAME``/``P-EMPTY`` before any match are errors, as in FileCheck.

FileCheck's numeric and string variables (``[[VAR]]``, ``[[#N]]``) are not implemented: a
pattern using them is reported as such rather than matched some other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("", "NEXT", "SAME", "NOT", "DAG", "EMPTY", "LABEL", "COUNT")
_WORD = re.compile(r"[A-Za-z0-9_-]")
_BLANKS = re.compile(r"[ \t]+")


class CheckFileError(ValueError):
    """The check file itself is malformed (FileCheck would refuse it before matching)."""


@dataclass(frozen=True)
class Check:
    """One directive: its kind ("" for plain), its pattern, its 1-based line in the check file."""

    prefix: str
    kind: str
    pattern: str
    line: int
    count: int = 1

    @property
    def directive(self) -> str:
        if self.kind == "COUNT":
            return f"{self.prefix}-COUNT-{self.count}"
        return f"{self.prefix}-{self.kind}" if self.kind else self.prefix

    def describe(self) -> str:
        """The directive as written, for a one-line failure report."""
        return f"line {self.line}: {self.directive}: {self.pattern}"


@dataclass(frozen=True)
class Result:
    """The verdict: ``ok``, and for a failure the check that failed and why."""

    ok: bool
    check: Check | None = None
    reason: str = ""

    def summary(self) -> str:
        if self.ok:
            return "ok"
        where = self.check.describe() if self.check is not None else ""
        return f"{self.reason}: {where}" if where else self.reason


def _directive_at(line: str, prefix: str) -> tuple[str, int, int] | None:
    """(kind, count, column after the colon) of the first directive of ``prefix`` on ``line``."""
    start = 0
    while True:
        at = line.find(prefix, start)
        if at < 0:
            return None
        start = at + 1
        if at > 0 and _WORD.match(line[at - 1]):
            continue
        rest = line[at + len(prefix) :]
        if rest.startswith(":"):
            return "", 1, at + len(prefix) + 1
        m = re.match(r"-(NEXT|SAME|NOT|DAG|EMPTY|LABEL|COUNT-([0-9]+)):", rest)
        if m:
            kind = "COUNT" if m.group(2) else m.group(1)
            count = int(m.group(2)) if m.group(2) else 1
            return kind, count, at + len(prefix) + m.end()


def parse_checks(text: str, prefix: str = "CHECK") -> list[Check]:
    """Every directive of ``prefix`` in ``text``, in order.  Raises CheckFileError where FileCheck
    would refuse the file: no directive at all, an empty pattern, a COUNT of 0, variables."""
    checks = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = _directive_at(line, prefix)
        if found is None:
            continue
        kind, count, col = found
        pattern = _BLANKS.sub(" ", line[col:]).strip()
        check = Check(prefix, kind, pattern, number, count)
        if kind == "EMPTY":
            if pattern:
                raise CheckFileError(f"{check.describe()}: a {check.directive} takes no pattern")
        elif not pattern:
            raise CheckFileError(f"{check.describe()}: found empty check string")
        if kind == "COUNT" and count < 1:
            raise CheckFileError(f"{check.describe()}: invalid count")
        if kind in ("NEXT", "SAME", "EMPTY") and not any(c.kind not in ("NOT", "DAG") for c in checks):
            raise CheckFileError(f"{check.describe()}: found '{check.directive}' without previous check")
        checks.append(check)
    if not checks:
        raise CheckFileError(f"no check strings found with prefix '{prefix}:'")
    return checks


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression a check pattern stands for: literal text, ``{{regex}}`` parts."""
    if "[[" in pattern:
        raise CheckFileError(f"FileCheck variables are not supported: {pattern}")
    parts, pos = [], 0
    while True:
        open_at = pattern.find("{{", pos)
        if open_at < 0:
            parts.append(re.escape(pattern[pos:]))
            break
        close_at = pattern.find("}}", open_at + 2)
        if close_at < 0:
            raise CheckFileError(f"found start of regex string with no end '}}}}': {pattern}")
        parts.append(re.escape(pattern[pos:open_at]))
        body = pattern[open_at + 2 : close_at]
        try:
            re.compile(body)
        except re.error as exc:
            raise CheckFileError(f"invalid regex {{{{{body}}}}}: {exc}") from None
        parts.append(f"(?:{body})")
        pos = close_at + 2
    return re.compile("".join(parts), re.MULTILINE)


def canonical_output(output: str) -> str:
    """The output as FileCheck compares it: runs of spaces and tabs as one space."""
    return _BLANKS.sub(" ", output.replace("\r\n", "\n"))


class _Matcher:
    """Walks the checks over one output, keeping the end of the last match."""

    def __init__(self, output: str, implicit_not: tuple[str, ...]) -> None:
        self.text = canonical_output(output)
        self.pos = 0
        self.matched: list[tuple[int, int]] = []
        self.implicit_not = [
            (Check("--implicit-check-not", "NOT", p, 0), compile_pattern(p)) for p in implicit_not
        ]

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset)

    def find(self, check: Check, start: int, end: int | None = None) -> re.Match[str] | None:
        regex = compile_pattern(check.pattern)
        return regex.search(self.text, start, len(self.text) if end is None else end)

    def forbid(self, nots: list[Check], start: int, end: int) -> Result | None:
        """The first CHECK-NOT of ``nots`` that matches in [start, end), as a failure."""
        for check in nots:
            if self.find(check, start, end) is not None:
                return Result(False, check, "excluded string found in output")
        return None

    def positive(self, check: Check) -> tuple[Result | None, int]:
        """Match one plain/NEXT/SAME/EMPTY/LABEL check from ``pos``: (failure or None, match start)."""
        if check.kind == "EMPTY":
            nl = self.text.find("\n", self.pos)
            if nl < 0 or nl + 1 < len(self.text) and self.text[nl + 1] != "\n":
                return Result(False, check, "the next line is not empty"), self.pos
            self.pos = nl + 1
            return None, nl + 1
        m = self.find(check, self.pos)
        if m is None:
            return Result(False, check, "expected string not found in output"), self.pos
        lines_between = self.text.count("\n", self.pos, m.start())
        if check.kind == "NEXT" and lines_between != 1:
            where = "on the same line as" if lines_between == 0 else "not on the line after"
            return Result(False, check, f"match is {where} the previous match"), m.start()
        if check.kind == "SAME" and lines_between != 0:
            return Result(False, check, "match is not on the same line as the previous match"), m.start()
        self.matched.append((m.start(), m.end()))
        self.pos = m.end()
        return None, m.start()

    def dag_group(self, group: list[Check]) -> Result | None:
        """Match consecutive CHECK-DAGs in any order from ``pos``, no two matches overlapping."""
        spans: list[tuple[int, int]] = []
        for check in group:
            start = self.pos
            while True:
                m = self.find(check, start)
                if m is None:
                    return Result(False, check, "expected string not found in output")
                clash = [s for s in spans if m.start() < s[1] and s[0] < m.end() or m.start() == s[0]]
                if not clash:
                    break
                start = max(max(e for _, e in clash), m.start() + 1)
            spans.append((m.start(), m.end()))
        self.matched.extend(spans)
        self.pos = max(e for _, e in spans)
        return None


def match(checks: list[Check], output: str, implicit_not: tuple[str, ...] = ()) -> Result:
    """Whether ``output`` meets ``checks`` (from parse_checks), by FileCheck's rules; the
    ``implicit_not`` patterns (FileCheck's --implicit-check-not) must appear nowhere but inside
    a positive match."""
    if not output:
        return Result(False, None, "the output is empty")
    m = _Matcher(output, implicit_not)
    nots: list[Check] = []
    i = 0
    while i < len(checks):
        check = checks[i]
        if check.kind == "NOT":
            nots.append(check)
            i += 1
            continue
        region_start = m.pos
        if check.kind == "DAG":
            j = i
            while j < len(checks) and checks[j].kind == "DAG":
                j += 1
            failure = m.dag_group(checks[i:j])
            first = min(s for s, _ in m.matched[-(j - i) :]) if failure is None else m.pos
            i = j
        else:
            failure, first = m.positive(check)
            for _ in range(check.count - 1):
                if failure is None:
                    failure, _start = m.positive(check)
            i += 1
        if failure is not None:
            return failure
        failure = m.forbid(nots, region_start, first)
        if failure is not None:
            return failure
        nots = []
    failure = m.forbid(nots, m.pos, len(m.text))
    return failure if failure is not None else _implicit(m)


def _implicit(m: _Matcher) -> Result:
    """--implicit-check-not: each pattern must not match outside the positive matches."""
    for check, regex in m.implicit_not:
        for found in regex.finditer(m.text):
            if not any(s <= found.start() and found.end() <= e for s, e in m.matched):
                return Result(False, check, "excluded string found in output")
    return Result(True)


def filecheck(
    check_text: str, output: str, prefix: str = "CHECK", implicit_not: tuple[str, ...] = ()
) -> Result:
    """FileCheck --check-prefix=``prefix`` of ``output`` against the directives in ``check_text``.
    A malformed check file is a failed result (FileCheck exits non-zero on it too)."""
    try:
        return match(parse_checks(check_text, prefix), output, implicit_not)
    except CheckFileError as exc:
        return Result(False, None, f"bad check file: {exc}")
