"""Small free helpers the modules of the reverse transform share."""

from __future__ import annotations

from ... import ir
from ..rules import BUILTINS
from ..shadow import has_shadow as _shadowed  # noqa: F401 (used by the transform modules)
from ..shadow import is_record_value as _record_value  # noqa: F401


def _pure_calls(e: ir.Expr) -> bool:
    """Only calls to library math functions: no effect on program state."""
    for n in ir.walk(e):
        if isinstance(n, (ir.Assign, ir.Step)):
            return False
        if isinstance(n, ir.Call) and ir.is_raw_construction(n):
            continue  # a constructor's own object: see frontend/methods.py
        if isinstance(n, ir.Call) and not (n.callee in BUILTINS and n.text.startswith("::")):
            return False
    return True


def _subtree_any(e: ir.Expr, pred, memo: dict[int, tuple[ir.Expr, bool]]) -> bool:
    """``pred`` holds for some node of ``e``; every node's answer is kept in ``memo`` (keyed by
    id, with the node itself so that the id stays its own), so each node is looked at once
    however often its ancestors ask."""
    hit = memo.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    stack: list[tuple[ir.Expr, list | None]] = [(e, None)]  # kids: None until expanded
    while stack:
        n, kids = stack.pop()
        if (h := memo.get(id(n))) is not None and h[0] is n:
            continue
        if kids is None:
            kids = [c for c in ir.children(n) if isinstance(c, ir.Expr)]
            stack.append((n, kids))
            stack.extend((c, None) for c in kids)
            continue
        memo[id(n)] = (n, pred(n) or any(memo[id(c)][1] for c in kids))
    return memo[id(e)][1]


def _body(s: ir.Stmt | None) -> list[ir.Stmt]:
    if s is None:
        return []
    return list(s.stmts) if isinstance(s, ir.Block) else [s]


def _block(stmts) -> ir.Block:
    return ir.Block(tuple(stmts))
