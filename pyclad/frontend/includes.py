"""The user's own headers a parsed source includes (what a build must watch for changes)."""

from __future__ import annotations

import os

import clang.cindex as ci


def user_headers(tu: ci.TranslationUnit) -> list[str]:
    """Absolute paths of every header ``tu`` includes, directly or not, that is not a system
    header (the standard library and ``-isystem`` directories never change between builds),
    in the order they were first included."""
    out: list[str] = []
    seen: set[str] = set()
    for inc in tu.get_includes():
        f = inc.include
        if f is None:
            continue
        if ci.SourceLocation.from_position(tu, f, 1, 1).is_in_system_header:
            continue
        path = os.path.abspath(f.name)
        if path not in seen:
            seen.add(path)
            out.append(path)
    return out
