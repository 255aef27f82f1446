"""clad calls written inside a macro of the user's file (``#define TEST(F) clad::gradient(F)``).

The macro body is one text for every expansion, so the call in it cannot be replaced by one
derivative's CladFunction.  It becomes a compile-time look-up instead: the function argument
(a constant: ``&f``, ``&S::m``), a number for the call site and a hash of the selection pick a
specialisation of ``clad::detail::pick`` (Differentiator.h), which the translation writes for
each expansion it found.  An expansion it did not write has no specialisation: a compile
error, never another derivative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import Loc
from .errors import TranslateError

_ENTRY = re.compile(rb"(?:::\s*)?\bclad\s*::\s*(differentiate|gradient|hessian|jacobian)\b")
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


@dataclass(frozen=True)
class Site:
    """A clad call in a macro body: its byte range, and its arguments' texts."""

    number: int
    start: int
    end: int
    head: str  # "clad::gradient<...>"
    function: str  # the first argument's text
    selection: str | None  # the second's, None when not given


def expanded(text: bytes, start: int) -> bool:
    """Whether the call whose extent starts at ``start`` was written by a macro: its text is
    not the entry point's name."""
    return _ENTRY.match(text, start) is None and not re.match(
        rb"(differentiate|gradient|hessian|jacobian)\b", text[start:]
    )


def sites(text: bytes, start: int, loc: Loc, numbering: dict[int, Site]) -> list[Site]:
    """The clad calls in the body of the macro invoked at ``start``, in order; ``numbering``
    (site start -> Site) gives each site one number across the file."""
    m = re.match(rb"[A-Za-z_]\w*", text[start:])
    name = m.group(0) if m else b""
    defs = [d for d in _DEFINE.finditer(text, 0, start) if d.group(1) == name]
    if not defs:
        raise TranslateError(
            f"a clad call written by the macro '{name.decode()}', which is not defined in this file: "
            "pyclad translates clad calls in the file's own macros only",
            loc,
        )
    body_start = defs[-1].end()
    body_end = _define_end(text, body_start)
    out = []
    for e in _ENTRY.finditer(text, body_start, body_end):
        site = numbering.get(e.start())
        if site is None:
            site = _site(text, e.start(), body_end, len(numbering), loc)
            numbering[e.start()] = site
        out.append(site)
    return out


def _define_end(text: bytes, pos: int) -> int:
    while True:
        nl = text.find(b"\n", pos)
        if nl < 0:
            return len(text)
        if text[:nl].rstrip(b"\r").endswith(b"\\"):
            pos = nl + 1
            continue
        return nl


def _site(text: bytes, start: int, limit: int, number: int, loc: Loc) -> Site:
    paren = text.find(b"(", start, limit)
    if paren < 0:
        raise TranslateError("cannot read a clad call in a macro body", loc)
    args, depth, current, i = [], 0, bytearray(), paren + 1
    while i < limit:
        ch = text[i : i + 1]
        if ch in (b"(", b"[", b"{"):
            depth += 1
        elif ch in (b")", b"]", b"}"):
            if depth == 0:
                break
            depth -= 1
        elif ch == b'"':
            close = text.find(b'"', i + 1, limit)
            current += text[i : close + 1]
            i = close + 1
            continue
        if ch == b"," and depth == 0:
            args.append(bytes(current))
            current = bytearray()
        else:
            current += ch
        i += 1
    args.append(bytes(current))
    args = [a.replace(b"\\\n", b" ").strip().decode() for a in args]
    if not args[0] or len(args) > 2:
        raise TranslateError("cannot read a clad call in a macro body", loc)
    head = text[start:paren].decode()
    return Site(number, start, i + 1, head, args[0], args[1] if len(args) > 1 else None)


def selection_key(selection: str | int | None) -> int:
    """FNV-1a of the selection's text, as ``clad::detail::selection_key`` computes it."""
    data = "" if selection is None else str(selection)
    h = 1469598103934665603
    for b in data.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def expression(site: Site, functor: bool) -> str:
    """What replaces the call in the macro body."""
    if site.selection is None:
        key = f"0x{selection_key(None):x}ULL"
    else:
        key = f"::clad::detail::selection_key({site.selection})"
    if functor:
        return (
            f"::clad::detail::pick_functor<::clad::detail::functor_t<decltype({site.function})>, "
            f"{site.number}, {key}>::make({site.function})"
        )
    return f"::clad::detail::pick<::clad::detail::address({site.function}), {site.number}, {key}>::make()"


def specialisation(site: Site, selection: str | int | None, pointer: str, factory: str, functor: str) -> str:
    """The specialisation of ``pick`` (or ``pick_functor``) one expansion selects."""
    key = f"0x{selection_key(selection):x}ULL"
    if functor:
        body = (
            f"template <>\nstruct pick_functor<{functor}, {site.number}, {key}> {{\n"
            f"    static auto make({functor} &f) {{ return {factory}(f); }}\n"
            f"    static auto make({functor} *f) {{ return {factory}(*f); }}\n}};\n"
        )
    else:
        body = (
            f"template <>\nstruct pick<::clad::detail::address({pointer}), {site.number}, {key}> {{\n"
            f"    static auto make() {{ return {factory}(); }}\n}};\n"
        )
    return f"namespace clad {{\nnamespace detail {{\n{body}}}  // namespace detail\n}}  // namespace clad\n"
