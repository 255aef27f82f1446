"""Reference parameters a pullback need not overwrite at all.

A pullback re-runs its callee's forward sweep on the caller's memory, and its reverse sweep
restores what that overwrote, so that the caller's reverse sweep finds its memory as it was
before the call.  When the pullback's reverse sweep reads nothing of what the forward sweep
stored into a reference parameter (``forces(ps, s, f)`` fills ``f``, and no partial of the
force law reads ``f``), those stores, their saves and their restores are all dead: the
pullback leaves the parameter alone, which hands it back as it found it just the same, with
no tape and no heap allocation per call.

Exact where it applies: the forward sweep's only uses of the parameter are stores into its
elements or fields (and the saves of them), so nothing else computed in the forward sweep
depends on what those stores leave; and the reverse sweep reads nothing of the parameter
but its size, which element stores do not change.
"""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from .reads import SIZE, Reader, overlaps, param_reads
from .util import _pure_calls


def untouched_params(
    program, fn: ir.Function, fwd: list[ir.Stmt], rev: list[ir.Stmt], restores, saves
) -> set[str]:
    """The non-const reference parameters of ``fn`` whose stores a pullback can leave out;
    ``restores`` and ``saves`` are the run's restore statements and save statements (ids)."""
    candidates = {p.name for p in fn.params if p.type.ref and not p.type.const and not p.type.ptr}
    if not candidates:
        return set()
    restoring = {k: ir.root_var(r.target) for k, (_, r) in restores.items()}
    reader = Reader(lambda v: v, lambda name: param_reads(program, name))
    out = set()
    for name in candidates:
        skip = {k for k, root in restoring.items() if root is not None and root.name == name}
        tokens: set[str] = set()
        _stmt_reads(rev, reader, tokens, skip)
        if any(overlaps(t, name) and t != f"{name}.{SIZE}" for t in tokens):
            continue
        if _only_stored(fwd, name, reader, saves):
            out.add(name)
    return out


def restored_sites(restores, names: set[str]) -> set[int]:
    """The save sites whose restores put back part of one of ``names``."""
    out = set()
    for _, r in restores.values():
        root = ir.root_var(r.target)
        if root is not None and root.name in names:
            out.add(r.site)
    return out


def is_store_into(s: ir.Stmt, names: set[str]) -> bool:
    """``s`` stores into an element or field of one of ``names`` (``f[i] += t``)."""
    if not (isinstance(s, ir.ExprStmt) and isinstance(s.expr, (ir.Assign, ir.Step))):
        return False
    root = ir.root_var(s.expr.target)
    return root is not None and root.name in names and s.expr.target is not root


def drop_stores(stmts: list[ir.Stmt], names: set[str]) -> list[ir.Stmt]:
    """``stmts`` without their stores into ``names`` (see ``untouched_params``)."""
    out: list[ir.Stmt] = []
    for s in stmts:
        if is_store_into(s, names):
            continue
        out.append(_rebuilt(s, names))
    return out


def _rebuilt(s: ir.Stmt, names: set[str]) -> ir.Stmt:
    if isinstance(s, ir.Block):
        return ir.Block(tuple(drop_stores(list(s.stmts), names)), s.loc)
    if isinstance(s, (ir.If, ir.While, ir.DoWhile, ir.For)):
        changes = {}
        for f in ("then", "other", "body"):
            b = getattr(s, f, None)
            if isinstance(b, ir.Stmt):
                stmts = list(b.stmts) if isinstance(b, ir.Block) else [b]
                changes[f] = ir.Block(tuple(drop_stores(stmts, names)))
        return replace(s, **changes)
    return s


def _stmt_reads(stmts, reader: Reader, out: set[str], skip: set[int]) -> None:
    for s in stmts:
        if id(s) in skip:
            continue
        for c in ir.children(s):
            if isinstance(c, ir.Expr):
                reader.reads(c, out)
            elif isinstance(c, ir.Stmt):
                _stmt_reads([c], reader, out, skip)


def _only_stored(fwd: list[ir.Stmt], name: str, reader: Reader, saves: set[int]) -> bool:
    """The forward sweep uses ``name`` only to store into its parts (with values that call
    nothing but math functions) and to save those parts, or reads its size."""
    for s in fwd:
        if is_store_into(s, {name}):
            if isinstance(s.expr, ir.Assign) and not _pure_calls(s.expr.value):
                return False
            continue
        if id(s) in saves:  # a save (of it or of anything else) feeds only its restore
            continue
        kids = ir.children(s)
        if any(isinstance(c, ir.Stmt) for c in kids):
            tokens: set[str] = set()
            for c in kids:
                if isinstance(c, ir.Expr):
                    reader.reads(c, tokens)
            if any(overlaps(t, name) and t != f"{name}.{SIZE}" for t in tokens):
                return False
            body = [c for c in kids if isinstance(c, ir.Stmt)]
            flat = [x for c in body for x in (c.stmts if isinstance(c, ir.Block) else (c,))]
            if not _only_stored(flat, name, reader, saves):
                return False
            continue
        tokens = set()
        for c in kids:
            if isinstance(c, ir.Expr):
                reader.reads(c, tokens)
        if any(overlaps(t, name) and t != f"{name}.{SIZE}" for t in tokens):
            return False
    return True
