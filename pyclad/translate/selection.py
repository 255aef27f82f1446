"""A clad call's parameter selection: ``"x, y"``, an index ``1``, ``"arr[1]"``, ``"arr[0:2]"``.

clad counts and names the parameters the user declared; a method's object (pyclad's
``_this``) is not one of them.  Array ranges are inclusive, as in clad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import ir
from ..errors import Loc
from .errors import TranslateError

_ITEM = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])?\s*$")


@dataclass(frozen=True)
class Item:
    """One selected parameter: its clad index, and an element or an inclusive range."""

    index: int
    param: ir.Param
    start: int | None = None
    stop: int | None = None

    @property
    def spec(self) -> str:
        """The same selection in pyclad's wrt syntax."""
        if self.start is None:
            return self.param.name
        if self.stop is None:
            return f"{self.param.name}[{self.start}]"
        return f"{self.param.name}[{self.start}:{self.stop}]"


def user_params(fn: ir.Function, method: bool) -> list[ir.Param]:
    """The parameters clad counts: a method's object is not one."""
    return list(fn.params[1:] if method and fn.params and fn.params[0].name == "_this" else fn.params)


def parse(selection: str | int | None, params: list[ir.Param], kind: str, loc: Loc) -> list[Item] | None:
    """The selected items in the user's order; None when the call selects nothing (clad
    then takes every parameter)."""
    if selection is None or selection == "":
        return None
    if isinstance(selection, int):
        if not 0 <= selection < len(params):
            raise TranslateError(
                f"invalid argument index {selection} of {len(params)} argument(s) in clad::{kind}", loc
            )
        return [Item(selection, params[selection])]
    items = []
    for part in selection.split(","):
        if part.strip().isdigit():  # clad reads "1" as the index 1
            items.append(parse(int(part), params, kind, loc)[0])
            continue
        m = _ITEM.match(part)
        if m is None:
            raise TranslateError(f"cannot read the parameter selection {selection!r} of clad::{kind}", loc)
        name, start, stop = m.group(1), m.group(2), m.group(3)
        index = next((i for i, p in enumerate(params) if p.name == name), None)
        if index is None:
            known = ", ".join(p.name for p in params) or "none"
            raise TranslateError(
                f"'{name}' in the selection of clad::{kind} is not a parameter (parameters: {known})", loc
            )
        item = Item(
            index, params[index], None if start is None else int(start), None if stop is None else int(stop)
        )
        if item.stop is not None and item.start is not None and item.stop < item.start:
            raise TranslateError(f"the range '{part.strip()}' of clad::{kind} is empty", loc)
        if any(i.index == index for i in items):
            raise TranslateError(f"'{name}' is selected twice in clad::{kind}", loc)
        items.append(item)
    return items


def suffix(items: list[Item] | None, params: list[ir.Param]) -> str:
    """clad's name suffix for a selection: none when it takes every parameter, else the
    selected indices (``_0_2``)."""
    if items is None or sorted(i.index for i in items) == list(range(len(params))):
        return ""
    return "_" + "_".join(str(i.index) for i in sorted(items, key=lambda i: i.index))
