"""What a translation unit is made of, as the in-process compiler needs to know it.

cling keeps one interpreter per process: a header it has ``#include``d once is never read
again (an edit would go unseen, while libclang, which parses afresh, sees it), and a macro
defined by one module stays defined for every later one.  So each loaded module is given to
cling as its own text with the user's headers inlined (``#line`` directives keep messages
pointing into them), system and pyclad headers hoisted out of the module's namespace, and an
``#undef`` of every macro the user's files define.  libclang says which inclusions really
happen (not those in comments or ``#if 0``), which headers are system headers, and which
macros are defined.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import clang.cindex as ci

from ..errors import CompileError


@dataclass(frozen=True)
class Inclusion:
    line: int  # of the #include directive, in the including file
    path: str  # the file it includes
    system: bool  # a system (or pyclad) header: included by cling once, not inlined


@dataclass
class Layout:
    main: str
    texts: dict[str, str]  # user file -> its text, as libclang read it
    includes: dict[str, list[Inclusion]] = field(default_factory=dict)  # by including file
    macros: list[str] = field(default_factory=list)  # defined in the user's files, in order


def layout(tu: ci.TranslationUnit, main: str, text: str, own_dirs: tuple[str, ...]) -> Layout:
    """The layout of ``tu`` (parsed with a detailed preprocessing record); headers under
    ``own_dirs`` (pyclad's runtime) count as system headers."""
    out = Layout(main, {main: text})
    own = tuple(os.path.realpath(d) + os.sep for d in own_dirs)
    for inc in tu.get_includes():
        src = inc.source.name
        if src not in out.texts:
            continue  # inside a system header
        path = inc.include.name
        first = ci.SourceLocation.from_position(tu, inc.include, 1, 1)
        system = first.is_in_system_header or os.path.realpath(path).startswith(own)
        out.includes.setdefault(src, []).append(Inclusion(inc.location.line, path, system))
        if not system and path not in out.texts:
            out.texts[path] = _read(path)
    for path, body in out.texts.items():
        for name in _defined_macros(tu, path, body):
            if name not in out.macros:
                out.macros.append(name)
    return out


_PLAIN_INCLUDE = re.compile(r'#\s*include\s*[<"]')
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def _defined_macros(tu: ci.TranslationUnit, path: str, text: str) -> list[str]:
    """Macros ``path`` really defines: each ``#define NAME`` line that the detailed
    preprocessing record has a definition for (not one in a comment or an ``#if 0``).
    Looking up the few candidate lines is much cheaper than walking every cursor of the
    translation unit (system headers define thousands of macros)."""
    f = tu.get_file(path)
    names = []
    for m in _DEFINE.finditer(text):
        line = text.count("\n", 0, m.start(1)) + 1
        col = len(text[text.rfind("\n", 0, m.start(1)) + 1 : m.start(1)].encode("utf-8")) + 1
        c = ci.Cursor.from_location(tu, ci.SourceLocation.from_position(tu, f, line, col))
        if c is not None and c.kind == ci.CursorKind.MACRO_DEFINITION and c.spelling == m.group(1):
            names.append(m.group(1))
    return names


def assemble(lay: Layout) -> tuple[list[str], str]:
    """The ``#include`` lines to hoist (system headers, in order, once each) and the module's
    text with the user's headers inlined (each at its first inclusion only)."""
    hoisted: list[str] = []
    inlined: set[str] = set()

    def inline(path: str) -> list[str]:
        lines = lay.texts[path].splitlines()
        by_line = {i.line: i for i in lay.includes.get(path, [])}
        out: list[str] = []
        for n, line in enumerate(lines, 1):
            inc = by_line.get(n)
            if inc is None:
                out.append(line)
            elif inc.system:
                directive = line.strip()
                if not _PLAIN_INCLUDE.match(directive):  # #include MACRO: the file it named
                    directive = f'#include "{escape(inc.path)}"'
                if directive not in hoisted:
                    hoisted.append(directive)
                out.append("")
            elif inc.path in inlined:
                out.append("")  # guarded or #pragma once: the second inclusion adds nothing
            else:
                inlined.add(inc.path)
                out.append(f'#line 1 "{escape(inc.path)}"')
                out.extend(_without_pragma_once(inline(inc.path)))
                out.append(f'#line {n + 1} "{escape(path)}"')
        return out

    inlined.add(lay.main)
    return hoisted, "\n".join(inline(lay.main))


def _without_pragma_once(lines: list[str]) -> list[str]:
    # Each header is inlined once, which is what #pragma once asks; in a main file it warns.
    return ["" if ln.strip().replace(" ", "") == "#pragmaonce" else ln for ln in lines]


def escape(path: str) -> str:
    """``path`` inside a C++ string literal (a #line directive)."""
    return path.replace("\\", "\\\\").replace('"', '\\"')


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError as exc:
        raise CompileError(f"cannot read the header {path}: {exc.strerror}") from None
