"""Refuse expressions too long for libclang, before it parses them.

libclang's parser recurses once per operator of a chain like ``a + b + c + ...``;
somewhere past 12,000 operators in one chain (with the usual 8 MB stack) it runs out
of stack and takes the whole process down.  A chain that long is counted here, on the
text, and refused with a located error instead.
"""

from __future__ import annotations

import re

from ..errors import Loc, UnsupportedError

LIMIT = 10_000  # binary operators in one chain: comfortably below where the parser crashes

_TOKENS = re.compile(
    r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|->|\+\+|--|&&|\|\||[-+*/%()\[\]{};,]",
    re.DOTALL,
)
_OPENS, _CLOSES, _RESETS = "([", ")]", "{};,"
_KIND = {"&&": 0, "||": 0, "+": 1, "-": 1, "*": 2, "/": 2, "%": 2}  # loosest first


def check_chain_lengths(text: str, filename: str) -> None:
    """Raise UnsupportedError at the operator that makes a chain of operators of one precedence
    (additive, multiplicative, logical) at one nesting level, between two of ``; { } ,``,
    longer than ``LIMIT``."""
    counts = [[0, 0, 0]]
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in _OPENS:
            counts.append([0, 0, 0])
        elif tok in _CLOSES:
            if len(counts) > 1:
                counts.pop()
        elif tok in _RESETS:
            counts[-1] = [0, 0, 0]
        elif (kind := _KIND.get(tok)) is not None:
            level = counts[-1]
            level[kind] += 1
            for tighter in range(kind + 1, 3):  # a looser operator ends the tighter chains
                level[tighter] = 0
            if level[kind] > LIMIT:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise UnsupportedError(
                    f"an expression with more than {LIMIT} operators in one chain is too long for "
                    "the C++ parser; split it into several statements",
                    Loc(filename, line, col),
                )
