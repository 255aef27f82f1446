"""Statements that carry no derivatives: ``assert``, ``printf`` and its kin, ``std::cout << ...``,
``throw`` and ``exit`` / ``abort``.

Each becomes an expression statement calling an ``ir.EFFECT``: the statement's own tokens
as a template, with its subexpressions that the IR can express (the values it prints or
tests) as the call's arguments, so the transforms see which variables it reads (and keep
them alive, rename them, restore them) while the emitter writes the statement back as the
user wrote it.  The transforms run it once, in the forward sweep, and never in a reverse
sweep (see ad/effects.py).
"""

from __future__ import annotations

import clang.cindex as ci

from .. import ir
from ..errors import UnsupportedError

K = ci.CursorKind

# C library output functions: a call of one of these, as a statement, only prints.
OUTPUT_FUNCTIONS = frozenset(
    {"printf", "fprintf", "puts", "fputs", "putchar", "fputc", "putc", "fflush", "perror", "vprintf"}
)
# ... and these end the program (a guard's other way out besides throw).
EXITS = frozenset({"exit", "abort", "_Exit", "quick_exit"})
STREAMS = frozenset({"cout", "cerr", "clog", "wcout", "wcerr"})
HOLE = "\x00"  # separates the template's pieces (see ir.EFFECT)


def effect_kind(c: ci.Cursor) -> str | None:
    """What statement without derivatives the expression statement ``c`` is, or None."""
    if _assert_condition(c, None) is not None:
        return "assert"
    toks = [t.spelling for t in c.get_tokens()]
    inner = c
    while inner.kind in (K.UNEXPOSED_EXPR, K.PAREN_EXPR) and len(list(inner.get_children())) == 1:
        inner = next(inner.get_children())
    if inner.kind == K.CXX_THROW_EXPR:
        return "throw"
    if inner.kind != K.CALL_EXPR:
        return None
    ref = inner.referenced
    # The C library's printf (or exit), not a function of the user's of that name.
    if ref is not None and ref.kind == K.FUNCTION_DECL and not _user(ref):
        if ref.spelling in OUTPUT_FUNCTIONS:
            return "print"
        if ref.spelling in EXITS:
            return "exit"
    if (
        ref is not None
        and ref.spelling == "operator<<"
        and "basic_ostream" in inner.type.get_canonical().spelling
    ):
        first = toks[2] if toks[:2] == ["std", "::"] else toks[0] if toks else ""
        if first in STREAMS:
            return "stream"
    return None


def lower_effect(lowerer, c: ci.Cursor, kind: str) -> list[ir.Stmt]:
    """The statement ``c`` (of ``effect_kind`` ``kind``) as an ``ir.EFFECT`` call statement;
    nothing for an ``assert`` that NDEBUG turned off."""
    loc = lowerer.loc_of(c)
    if kind == "assert":
        value = lowerer.expr(_assert_condition(c, loc))
        _no_writes(value, "assert")
        call = ir.Call("<assert>", (value,), ir.VOID, loc, f"assert({HOLE})", ir.EFFECT)
        return [ir.ExprStmt(call, loc)]
    toks = list(c.get_tokens())
    if not toks or toks[0].extent.start.offset != c.extent.start.offset:
        raise UnsupportedError(f"a {_what(kind)} written by a macro is not supported", loc)
    holes: list[tuple[int, int, ir.Expr]] = []
    _collect(lowerer, c, holes, top=True)
    pieces, args, k = [], [], 0
    current: list[str] = []
    prev_end = None
    for t in toks:
        start, end = t.extent.start.offset, t.extent.end.offset
        if k < len(holes) and start >= holes[k][1]:
            k += 1
        if k < len(holes) and holes[k][0] <= start < holes[k][1]:
            if start == holes[k][0]:
                if prev_end is not None and start > prev_end:
                    current.append(" ")
                pieces.append("".join(current))
                current = []
                args.append(holes[k][2])
            prev_end = end
            continue
        if t.spelling in lowerer.index.macros:
            # Derivatives are compiled after the module, where its own macros are undefined.
            raise UnsupportedError(
                f"the macro '{t.spelling}' of the source in a {_what(kind)} is not supported "
                "(write its value, or bind it to a local first)",
                loc,
            )
        if prev_end is not None and start > prev_end:
            current.append(" ")
        current.append(t.spelling)
        prev_end = end
    pieces.append("".join(current))
    template = HOLE.join(pieces)
    for a in args:
        _no_writes(a, _what(kind))
    # The callee is no identifier, so no function of the user's can be looked up for it.
    call = ir.Call(f"<{kind}>", tuple(args), ir.VOID, loc, template, ir.EFFECT)
    return [ir.ExprStmt(call, loc)]


def _what(kind: str) -> str:
    return {"print": "print statement", "stream": "stream output", "exit": "call of exit"}.get(kind, kind)


def _assert_condition(c: ci.Cursor, loc) -> ci.Cursor | None:
    """The tested expression inside the C library's expansion of ``assert(e)``, glibc's
    ``(static_cast<bool>(e) ? void(0) : __assert_fail(...))`` and the like (a conditional
    whose failing branch calls an ``__assert*`` function); None for any other statement."""
    node = c
    while node.kind in (K.PAREN_EXPR, K.UNEXPOSED_EXPR):
        kids = list(node.get_children())
        if len(kids) != 1:
            return None
        node = kids[0]
    if node.kind != K.CONDITIONAL_OPERATOR:
        return None
    kids = list(node.get_children())
    fails = [
        n
        for k in kids[1:]
        for n in k.walk_preorder()
        if n.kind == K.CALL_EXPR and n.spelling.startswith("__assert")
    ]
    if len(kids) != 3 or not fails:
        return None
    test = kids[0]
    while test.kind in (K.CXX_STATIC_CAST_EXPR, K.PAREN_EXPR, K.UNEXPOSED_EXPR):
        inner = [k for k in test.get_children() if k.kind.is_expression()]
        if len(inner) != 1:
            break
        test = inner[0]
    return test


def _collect(lowerer, c: ci.Cursor, holes: list, top: bool = False) -> None:
    """The largest subexpressions of ``c`` the IR can express, in source order, as holes
    (start offset, end offset, IR); what is left (string literals, streams, library calls
    and types) stays text."""
    for k in c.get_children():
        if not k.kind.is_expression():
            continue
        start, end = k.extent.start.offset, k.extent.end.offset
        if end <= start or (holes and start < holes[-1][1]):
            continue
        if _text_only(k):
            _collect(lowerer, k, holes)
            continue
        try:
            value = lowerer.expr(k)
        except UnsupportedError:
            if k.kind == K.DECL_REF_EXPR and _local(k):
                raise
            _collect(lowerer, k, holes)
            continue
        holes.append((start, end, value))


def _text_only(k: ci.Cursor) -> bool:
    """Nodes written back as text even where the IR could express them: string literals
    and what has no value of a type the IR knows."""
    return k.kind in (K.STRING_LITERAL, K.CALL_EXPR) and k.referenced is not None and not _user(k.referenced)


def _user(ref: ci.Cursor) -> bool:
    loc = ref.location
    return loc.file is not None and not loc.is_in_system_header


def _local(k: ci.Cursor) -> bool:
    ref = k.referenced
    return ref is not None and ref.kind in (K.PARM_DECL, K.VAR_DECL) and _user(ref)


def _no_writes(e: ir.Expr, what: str) -> None:
    for n in ir.walk(e):
        if isinstance(n, (ir.Assign, ir.Step)):
            raise UnsupportedError(f"an assignment or increment inside a {what} is not supported", n.loc)
