"""Writing the translated file: the user's text with the derivatives inserted where the
calls see them, and each clad call replaced by an expression building its CladFunction.

``#line`` directives after each inserted block keep the compiler's line numbers those of
the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass

_PRELUDE = "#include <algorithm>\n#include <cmath>\n#include <cstddef>\n#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n#include <type_traits>\n#include <vector>\n"


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] by ``text`` (an insertion when start == end)."""

    start: int
    end: int
    text: str
    block: bool = False  # an inserted block of definitions, followed by a #line directive


def apply(source: str, edits: list[Edit], filename: str) -> str:
    """``source`` (as bytes offsets count it) with the edits applied; edits must not overlap."""
    raw = source.encode()
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    out: list[bytes] = [_PRELUDE.encode(), f'#line 1 "{quoted}"\n'.encode()]
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError("overlapping edits")  # the translator never makes them
        out.append(raw[pos : e.start])
        if e.block:
            line = raw[: e.start].count(b"\n") + 1
            out.append(("\n" + e.text + f'#line {line} "{quoted}"\n').encode())
        else:
            out.append(e.text.encode())
        pos = e.end
    out.append(raw[pos:])
    return b"".join(out).decode()


def string_literal(text: str) -> str:
    """``text`` as a C++ string literal, one source line per line of text."""
    lines = text.splitlines(keepends=True) or [""]
    parts = []
    for line in lines:
        esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        esc = esc.replace("??", "?\\?")
        parts.append(f'"{esc}"')
    return "\n        ".join(parts)
