"""The C++ text of constants, also when they come from a macro expansion.

libclang gives a cursor's text only as tokens of its extent, and the extent of a cursor
produced by a macro (``#define K 3.0``, ``#define N 4``, ``-DN=4``) is not its own: its
tokens run from the ``#define`` to the use, or are missing.  A constant's text is therefore
its own single token only when the token sits exactly on the cursor's extent; otherwise the
value comes from ``clang_Cursor_Evaluate`` (the first token is kept when it spells that value,
so ``#define K 3.0L`` stays ``3.0L``).
"""

from __future__ import annotations

import re
import struct

import clang.cindex as ci

from .parse import _lib

_INT_SUFFIX = {
    "int": "",
    "unsigned int": "u",
    "long": "l",
    "unsigned long": "ul",
    "long long": "ll",
    "unsigned long long": "ull",
}
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F'.]+(?:[pP][+-]?\d+)?|\.?\d[\d'.]*(?:[eE][+-]?\d+)?)[uUlLfFzZ]*")
_CHAR = re.compile(r"'(?:[^'\\]|\\.)'")


def own_tokens(c: ci.Cursor) -> list[str] | None:
    """The spellings of the tokens of ``c`` when they are its own source text (first and last
    token on the cursor's extent), None when ``c`` comes from a macro expansion."""
    toks = list(c.get_tokens())
    if not toks:
        return None
    start, end = c.extent.start, c.extent.end
    first, last = toks[0].extent.start, toks[-1].extent.end
    if (first.line, first.column, last.line, last.column) != (start.line, start.column, end.line, end.column):
        return None
    return [t.spelling for t in toks]


def evaluate(c: ci.Cursor) -> int | float | None:
    """The value of a constant expression, or None if libclang cannot evaluate it."""
    lib = _lib()
    ev = lib.clang_Cursor_Evaluate(c)
    if not ev:
        return None
    try:
        kind = lib.clang_EvalResult_getKind(ev)
        if kind == 1:  # CXEval_Int
            if lib.clang_EvalResult_isUnsignedInt(ev):
                return lib.clang_EvalResult_getAsUnsigned(ev)
            return lib.clang_EvalResult_getAsLongLong(ev)
        if kind == 2:  # CXEval_Float
            return lib.clang_EvalResult_getAsDouble(ev)
        return None
    finally:
        lib.clang_EvalResult_dispose(ev)


def number_text(c: ci.Cursor, base: str) -> str | None:
    """Text of an integer or floating literal of C++ type ``base``; None if unknown."""
    own = own_tokens(c)
    if own is not None and len(own) == 1:
        return own[0]
    value = evaluate(c)
    if value is None:
        return None
    first = next(iter(c.get_tokens()), None)
    if first is not None and _NUMBER.fullmatch(first.spelling) and _spells(first.spelling, value, base):
        return first.spelling
    if isinstance(value, float):
        text = repr(value)
        return text + {"float": "f", "long double": "L"}.get(base, "")
    return f"{value}{_INT_SUFFIX.get(base, '')}"


def bool_text(c: ci.Cursor) -> str | None:
    own = own_tokens(c)
    if own is not None and len(own) == 1:
        return own[0]
    value = evaluate(c)
    return None if value is None else ("true" if value else "false")


def char_text(c: ci.Cursor) -> str | None:
    own = own_tokens(c)
    if own is not None and len(own) == 1:
        return own[0]
    value = evaluate(c)
    if value is None:
        return None
    first = next(iter(c.get_tokens()), None)
    spelled = first is not None and _CHAR.fullmatch(first.spelling) and len(first.spelling) == 3
    if spelled and ord(first.spelling[1]) == value:
        return first.spelling
    return str(value)


def constant_text(c: ci.Cursor, base: str, macros=frozenset()) -> str | None:
    """``sizeof(...)`` and friends: the user's tokens when they are the cursor's own and name
    no macro (undefined after the module, so generated code cannot use it), else the value
    with the suffix of its type (so that unsigned arithmetic stays unsigned)."""
    own = own_tokens(c)
    if own is not None and not macros.intersection(own):
        return _join_tokens(own)
    value = evaluate(c)
    return None if value is None else f"{value}{_INT_SUFFIX.get(base, '')}"


def _spells(text: str, value: float, base: str) -> bool:
    """Does the literal ``text`` denote ``value``?"""
    t = text.replace("'", "").rstrip("uUlLfFzZ")
    try:
        if isinstance(value, int):
            return int(t, 8) == value if re.fullmatch(r"0\d+", t) else int(t, 0) == value
        parsed = float.fromhex(t) if t.lower().startswith("0x") else float(t)
    except ValueError:
        return False
    if base == "float":
        parsed = struct.unpack("f", struct.pack("f", parsed))[0]
    if base == "long double":
        return abs(parsed - value) <= 1e-15 * abs(value)
    return parsed == value


def _join_tokens(tokens) -> str:
    """Source text from tokens: a space only where two words would otherwise merge."""
    out = ""
    for t in tokens:
        if out and (out[-1].isalnum() or out[-1] == "_") and (t[0].isalnum() or t[0] == "_"):
            out += " "
        out += t
    return out
