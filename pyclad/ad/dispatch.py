"""Exhaustive dispatch on IR node classes.

Each transform maps every IR node class to the method that handles it.  The
table is checked when the module is imported: a node class without an entry
is an error then, not a silent fallthrough later (a skipped node is a wrong
derivative).  A class the transform cannot differentiate maps to a method that
raises a located ``UnsupportedError``; a node of a class the table has never
heard of (one defined outside ``pyclad.ir``) is refused the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from .. import ir
from ..errors import Loc, UnsupportedError


def ir_kinds(base: type) -> list[type]:
    """Every class defined in ``pyclad.ir`` that derives from ``base`` (Expr or Stmt)."""
    out, stack = [], [base]
    while stack:
        for c in stack.pop().__subclasses__():
            stack.append(c)
            if c.__module__ == ir.__name__:
                out.append(c)
    return sorted(out, key=lambda c: c.__name__)


def exhaustive(table: dict[type, str], base: type, where: str) -> dict[type, str]:
    """``table`` (node class -> method name), checked to cover every IR class below ``base``."""
    missing = [c.__name__ for c in ir_kinds(base) if c not in table]
    if missing:
        raise TypeError(f"{where}: no entry for IR node class(es) {', '.join(missing)}")
    return table


def handler(obj, table: dict[type, str], node, mode: str, loc: Loc | None = None) -> Callable:
    """The bound method of ``obj`` that ``table`` names for ``node``'s class."""
    name = table.get(type(node))
    if name is None:
        raise UnsupportedError(
            f"{type(node).__name__} is not supported in {mode}", getattr(node, "loc", None) or loc
        )
    return getattr(obj, name)


class Pass:
    """A transform with one handler method per IR node class.

    A subclass names its tables once (``STMT`` and ``EXPR``: node class -> method name, each
    built with ``exhaustive``) and the ``MODE`` its error messages speak of; ``visit_stmt``
    and ``visit_expr`` then call the node's handler with the node and the pass's further
    arguments.  A node without a location of its own is reported at the function being
    transformed (``self.fn``)."""

    MODE: ClassVar[str] = ""
    STMT: ClassVar[dict[type, str]] = {}
    EXPR: ClassVar[dict[type, str]] = {}
    fn: ir.Function

    def visit_stmt(self, s: ir.Stmt, *args):
        """The handler ``STMT`` names for ``s``, called with ``s`` and ``args``."""
        return handler(self, self.STMT, s, self.MODE, self.fn.loc)(s, *args)

    def visit_expr(self, e: ir.Expr, *args):
        """The handler ``EXPR`` names for ``e``, called with ``e`` and ``args``."""
        return handler(self, self.EXPR, e, self.MODE, self.fn.loc)(e, *args)
