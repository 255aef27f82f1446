"""Finding the calls of clad's entry points in a parsed file, and what each one asks for.

A call is a CALL_EXPR whose referenced declaration is ``differentiate``, ``gradient``,
``hessian``, ``jacobian`` (or a mode pyclad lacks, such as ``estimate_error``) in namespace
``clad``.  Each call yields its function argument (a function, a method ``&S::f``, a functor
object), its template options as tokens and its selection ("x, y", an index, "arr[0:2]").
"""

from __future__ import annotations

from dataclasses import dataclass

import clang.cindex as ci

from ..errors import Loc
from ..frontend.callees import is_lambda_class
from ..frontend.parse import loc_of
from .errors import TranslateError

K = ci.CursorKind
ENTRY_POINTS = ("differentiate", "gradient", "hessian", "jacobian")
KNOWN_UNSUPPORTED = ("estimate_error",)


@dataclass(frozen=True)
class Target:
    """The function a clad call differentiates.  ``decl`` is its declaration; ``functor``
    is the C++ expression of the object a functor's operator() is bound to ("" if none)."""

    decl: ci.Cursor
    method: bool  # a member function: its object is execute's first argument
    functor: str = ""
    text: str = ""  # how the user spelled it (template arguments of an instance)


@dataclass(frozen=True)
class CladCall:
    kind: str  # "differentiate" | "gradient" | "hessian" | "jacobian"
    options: list[str]  # template argument tokens: ["2"], ["clad", "::", "opts", "::", "vector_mode"]
    target: Target
    selection: str | int | None  # "x, y", an index, or None (not given)
    start: int  # byte offsets of the whole call in the main file
    end: int
    loc: Loc


def find(tu: ci.TranslationUnit, filename: str) -> list[CladCall]:
    """The clad calls in the main file, in source order."""
    out: list[CladCall] = []
    for c in tu.cursor.walk_preorder():
        if c.kind == K.NAMESPACE and c.spelling == "class_functions" and _in_main(c, filename):
            parent = c.semantic_parent
            if parent is not None and parent.spelling == "custom_derivatives":
                raise TranslateError(
                    "custom derivatives of methods (clad::custom_derivatives::class_functions) are not "
                    "honoured by pyclad yet",
                    loc_of(c.location, tu),
                )
        if c.kind != K.CALL_EXPR or not _in_main(c, filename):
            continue
        kind = _entry_point(c)
        if kind is None:
            continue
        loc = loc_of(c.location, tu)
        if kind in KNOWN_UNSUPPORTED:
            raise TranslateError(f"clad::{kind} is not supported by pyclad", loc)
        args = [a for a in c.get_arguments() if list(a.get_tokens())]  # a default argument has none
        if not args:
            raise TranslateError(f"clad::{kind} needs the function to differentiate", loc)
        target = _target(args[0], tu)
        selection = _selection(args[1], tu) if len(args) > 1 else None
        if len(args) > 2:
            raise TranslateError(
                f"clad::{kind} with {len(args)} arguments: pyclad takes the function and the "
                "parameter selection only",
                loc_of(args[2].location, tu),
            )
        out.append(
            CladCall(kind, _options(c), target, selection, c.extent.start.offset, c.extent.end.offset, loc)
        )
    return out


def _in_main(c: ci.Cursor, filename: str) -> bool:
    return c.location.file is not None and c.location.file.name == filename


def _entry_point(call: ci.Cursor) -> str | None:
    ref = call.referenced
    if ref is None or ref.spelling not in ENTRY_POINTS + KNOWN_UNSUPPORTED:
        return None
    parent = ref.semantic_parent
    if parent is None or parent.kind != K.NAMESPACE or parent.spelling != "clad":
        return None
    grand = parent.semantic_parent
    return ref.spelling if grand is None or grand.kind == K.TRANSLATION_UNIT else None


def _options(call: ci.Cursor) -> list[str]:
    """Tokens between the entry point's ``<`` and its matching ``>`` (empty without
    template arguments)."""
    tokens = [t.spelling for t in call.get_tokens()]
    head = tokens[: tokens.index("(")] if "(" in tokens else tokens
    if "<" not in head:
        return []
    out: list[str] = []
    depth = 0
    for tok in head[head.index("<") + 1 :]:
        if tok in (">", ">>") and depth == 0:
            break
        depth += tok.count("<") - tok.count(">") if tok in ("<", ">", ">>") else 0
        out.append(tok)
    return out


def _peel(c: ci.Cursor) -> ci.Cursor:
    while c.kind in (K.UNEXPOSED_EXPR, K.PAREN_EXPR) and len(list(c.get_children())) == 1:
        c = next(c.get_children())
    return c


def _text(c: ci.Cursor) -> str:
    return " ".join(t.spelling for t in c.get_tokens())


def _target(arg: ci.Cursor, tu: ci.TranslationUnit) -> Target:
    inner = _peel(arg)
    while inner.kind in (K.CSTYLE_CAST_EXPR, K.CXX_STATIC_CAST_EXPR):  # a cast picking an overload
        inner = _peel(list(inner.get_children())[-1])
    while inner.kind == K.UNARY_OPERATOR and _text(inner).startswith("*"):  # *fnptr
        inner = _peel(next(inner.get_children()))
    address = inner.kind == K.UNARY_OPERATOR and _text(inner).startswith("&")
    if address:
        inner = _peel(next(inner.get_children()))
    ref = (
        inner.referenced
        if inner.kind in (K.DECL_REF_EXPR, K.MEMBER_REF_EXPR, K.OVERLOADED_DECL_REF)
        else None
    )
    text = _text(inner)
    if ref is not None and ref.kind in (K.FUNCTION_DECL, K.FUNCTION_TEMPLATE):
        return Target(ref, False, text=text)
    if ref is not None and ref.kind == K.CXX_METHOD:
        return Target(ref, True, text=text)
    if ref is not None and ref.kind == K.VAR_DECL and _function_pointer(ref.type):
        init = [k for k in ref.get_children() if k.kind not in (K.TYPE_REF, K.NAMESPACE_REF)]
        if init:
            return _target(init[-1], tu)
    if ref is not None and ref.kind in (K.VAR_DECL, K.PARM_DECL, K.FIELD_DECL):
        record = ref.type.get_canonical()
        pointer = record.kind == ci.TypeKind.POINTER
        if pointer:
            record = record.get_pointee()
        if is_lambda_class(record.get_declaration()):
            raise TranslateError(
                f"clad call on the lambda '{text}': differentiating a lambda object is not supported by "
                "pyclad yet (write it as a function or a functor class)",
                loc_of(arg.location, tu),
            )
        call = _call_operator(record.get_declaration())
        if call is not None:
            obj = text if not pointer or address else f"*{text}"
            return Target(call, True, functor=f"({obj})", text=text)
    raise TranslateError(
        f"cannot resolve the function argument '{_text(arg)}' of a clad call: pyclad takes a "
        "function, a method '&S::f', or a functor object",
        loc_of(arg.location, tu),
    )


def _function_pointer(t: ci.Type) -> bool:
    t = t.get_canonical()
    while t.kind == ci.TypeKind.POINTER and t.get_pointee().get_canonical().kind == ci.TypeKind.POINTER:
        t = t.get_pointee().get_canonical()
    if t.kind == ci.TypeKind.MEMBERPOINTER:
        return True
    return t.kind == ci.TypeKind.POINTER and t.get_pointee().kind in (
        ci.TypeKind.FUNCTIONPROTO,
        ci.TypeKind.FUNCTIONNOPROTO,
    )


def _call_operator(record: ci.Cursor | None) -> ci.Cursor | None:
    if record is None or record.kind not in (K.STRUCT_DECL, K.CLASS_DECL, K.CLASS_TEMPLATE):
        return None
    ops = [m for m in record.get_children() if m.kind == K.CXX_METHOD and m.spelling == "operator()"]
    defined = [m for m in ops if m.is_definition()] or ops
    return defined[0] if len(defined) == 1 else None


def _selection(arg: ci.Cursor, tu: ci.TranslationUnit) -> str | int:
    inner = _peel(arg)
    if inner.kind == K.STRING_LITERAL and inner.spelling.startswith('"') and inner.spelling.endswith('"'):
        return inner.spelling[1:-1]
    if inner.kind == K.INTEGER_LITERAL:
        return int(next(inner.get_tokens()).spelling.rstrip("uUlL"), 0)
    raise TranslateError(
        f"the parameter selection '{_text(arg)}' of a clad call must be a string literal "
        '("x, y", "arr[0:2]") or an integer literal (an index)',
        loc_of(arg.location, tu),
    )
