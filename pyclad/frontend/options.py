"""Checking and normalising what users pass to ``load`` / ``cppdef`` / ``pyclad gen``:
the source's bytes, the C++ standard, include directories and macro definitions.  Every
mistake is an OptionError (or a CompileError for undecodable source), never a raw
UnicodeDecodeError, AttributeError or libclang TranslationUnitLoadError."""

from __future__ import annotations

import os
import re

from ..errors import CompileError, Loc, OptionError

_STD = re.compile(r"(?:c|gnu)\+\+(?:11|14|17|20|23|26|1y|1z|2a|2b|2c)")
_NAME = re.compile(r"[A-Za-z_]\w*")


def read_source(path: str) -> str:
    """The text of a C++ file, which must be UTF-8 (or ASCII); a file in another encoding is
    a CompileError located at the first byte that is not UTF-8."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        text = data.splitlines()[line - 1].decode("utf-8", errors="replace") if data.splitlines() else ""
        raise CompileError(
            f"the source is not UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            Loc(path, line, col, text),
        ) from None


def check_std(std) -> str:
    """``"c++17"`` and the like; the spellings clang accepts for C++11 and later."""
    if not isinstance(std, str) or not _STD.fullmatch(std):
        raise OptionError(
            f"unknown C++ standard {std!r}: use one of c++11, c++14, c++17, c++20, c++23 (or gnu++NN)"
        )
    return std


def include_dirs(dirs) -> list[str]:
    """One directory (a str or path) or an iterable of them, as a list of str."""
    if dirs is None:
        return []
    if isinstance(dirs, (str, bytes, os.PathLike)):
        dirs = [dirs]
    try:
        items = list(dirs)
    except TypeError:
        raise OptionError(
            f"include_dirs must be a directory or a list of directories, got {dirs!r}"
        ) from None
    out = []
    for d in items:
        if not isinstance(d, (str, bytes, os.PathLike)):
            raise OptionError(f"include_dirs entries must be paths, got {d!r}")
        out.append(os.fsdecode(os.fspath(d)))
    return out


def defines(items) -> dict[str, str | None]:
    """Macro definitions as ``{NAME: VALUE or None}``, from a dict, or from a list of
    ``"NAME"`` / ``"NAME=VALUE"`` strings (as on a compiler's command line), or one such string."""
    if items is None:
        return {}
    if isinstance(items, str):
        items = [items]
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        try:
            entries = list(items)
        except TypeError:
            raise OptionError(
                f"defines must be a dict or a list of 'NAME=VALUE' strings, got {items!r}"
            ) from None
        pairs = []
        for e in entries:
            if not isinstance(e, str):
                raise OptionError(f"defines entries must be 'NAME' or 'NAME=VALUE' strings, got {e!r}")
            name, eq, value = e.partition("=")
            pairs.append((name, value if eq else None))
    out: dict[str, str | None] = {}
    for name, value in pairs:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise OptionError(f"bad macro name {name!r} in defines")
        if isinstance(value, bool) or (value is not None and not isinstance(value, (str, int, float))):
            raise OptionError(f"the value of macro {name} must be a string or a number, got {value!r}")
        text = None if value is None else str(value)
        if text is not None and ("\n" in text or "\r" in text):
            raise OptionError(f"the value of macro {name} spans several lines")
        out[name] = text
    return out
