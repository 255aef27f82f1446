"""The template options of a clad call: ``clad::differentiate<2>``, ``<clad::opts::vector_mode>``.

clad packs the derivative order in the low bits of its options and flags above them; a
call may give several (``<2, clad::opts::disable_tbr>``) or combine them with ``|``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Loc
from .errors import TranslateError

# Flags that tune how clad generates code (analyses it runs), not what the derivative is:
# pyclad's derivative is the same with or without them.
_NO_EFFECT = (
    "enable_tbr",
    "disable_tbr",
    "enable_va",
    "disable_va",
    "enable_ua",
    "disable_ua",
    "immediate_mode",
)
_UNSUPPORTED = {"use_enzyme": "the Enzyme backend"}


@dataclass(frozen=True)
class Options:
    order: int = 1
    vector: bool = False
    diagonal: bool = False


def parse(tokens: list[str], kind: str, loc: Loc) -> Options:
    """The options of one call; a TranslateError naming an option pyclad does not know."""
    order, vector, diagonal = 0, False, False
    for term in _terms(tokens):
        if term.isdigit():
            order += int(term)
            continue
        name = term.split("::")[-1]
        if term not in (name, f"opts::{name}", f"clad::opts::{name}", f"::clad::opts::{name}"):
            raise TranslateError(f"unknown clad option '{term}' in clad::{kind}<...>", loc)
        if name == "vector_mode":
            vector = True
        elif name == "diagonal_only":
            diagonal = True
        elif name in _UNSUPPORTED:
            raise TranslateError(
                f"clad option '{term}' ({_UNSUPPORTED[name]}) is not supported by pyclad", loc
            )
        elif name not in _NO_EFFECT:
            raise TranslateError(f"unknown clad option '{term}' in clad::{kind}<...>", loc)
    if order and kind != "differentiate":
        raise TranslateError(
            f"a derivative order <{order}> applies to clad::differentiate, not clad::{kind}", loc
        )
    if vector and (kind != "differentiate" or order > 1):
        raise TranslateError(
            f"clad::opts::vector_mode with clad::{kind}{'<order>' if order > 1 else ''}: pyclad's vector "
            "mode is first-order clad::differentiate",
            loc,
        )
    if diagonal and kind != "hessian":
        raise TranslateError(f"clad::opts::diagonal_only applies to clad::hessian, not clad::{kind}", loc)
    return Options(order or 1, vector, diagonal)


def _terms(tokens: list[str]) -> list[str]:
    """The options, one per ``,`` or ``|``, each joined back into one spelling."""
    terms, current = [], ""
    for tok in tokens:
        if tok in (",", "|"):
            terms.append(current)
            current = ""
        else:
            current += tok
    terms.append(current)
    return [t for t in terms if t]
