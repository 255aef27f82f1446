"""What the frontend needs to know about callees other than free functions: methods,
constructors, operators and lambdas (libclang's side of the one callee model).

Generated derivatives are free functions (a class cannot gain members after its
definition), so a callee that lives in a class gets a derivative stem without the class
scope: ``ns::Vec2::norm`` -> ``ns::Vec2_norm`` (``Vec2_norm_pullback``, ``Vec2_norm_grad``),
``Vec2::operator+=`` -> ``Vec2_operator_plus_assign``, a constructor ``Vec2_constructor``.
"""

from __future__ import annotations

import clang.cindex as ci

from ..ad.names import type_word
from ..errors import UnsupportedError
from .parse import loc_of

K = ci.CursorKind

# Operator spellings as identifier parts: ``operator+`` -> ``operator_plus``.
_OPERATOR_WORDS = {
    "+": "plus",
    "-": "minus",
    "*": "star",
    "/": "slash",
    "%": "percent",
    "[]": "index",
    "()": "call",
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    ">": "greater",
    "<=": "less_equal",
    ">=": "greater_equal",
    "!": "not",
    "=": "assign",
    "+=": "plus_assign",
    "-=": "minus_assign",
    "*=": "star_assign",
    "/=": "slash_assign",
    "++": "increment",
    "--": "decrement",
    "<<": "shift_left",
    ">>": "shift_right",
}

_CLASSES = (K.STRUCT_DECL, K.CLASS_DECL)
FUNCTION_LIKE = (K.FUNCTION_DECL, K.CXX_METHOD, K.CONSTRUCTOR, K.DESTRUCTOR, K.CONVERSION_FUNCTION)


def identifier(spelling: str, cursor: ci.Cursor) -> str:
    """``operator+`` -> ``operator_plus``; a plain name unchanged."""
    if not spelling.startswith("operator"):
        return spelling
    word = _OPERATOR_WORDS.get(spelling[len("operator") :].strip())
    if word is None:
        raise UnsupportedError(f"the operator '{spelling}'", loc_of(cursor.location, cursor.translation_unit))
    return f"operator_{word}"


def scopes(cursor: ci.Cursor) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(enclosing namespaces, enclosing classes) of a declaration, outermost first."""
    spaces: list[str] = []
    classes: list[str] = []
    c = cursor.semantic_parent
    while c is not None and c.kind != K.TRANSLATION_UNIT:
        if c.kind == K.NAMESPACE and c.spelling:
            spaces.append(c.spelling)
        elif c.kind in _CLASSES:
            classes.append(c.displayname if is_class_instance(c) else c.spelling)  # Point<double>
        c = c.semantic_parent
    return tuple(reversed(spaces)), tuple(reversed(classes))


def is_class_instance(record: ci.Cursor) -> bool:
    """A struct or class made from a class template (``Point<double>``)."""
    return pattern_of(record) is not record


def pattern_of(record: ci.Cursor) -> ci.Cursor:
    """The class template a record is an instance of, or the record itself.  libclang gives an
    instance's fields (through its type) and its members' instantiated bodies (through the
    calls that use them), but no children: what the author wrote is read from the template."""
    t = ci.conf.lib.clang_getSpecializedCursorTemplate(record)
    return t if t is not None and t.kind == K.CLASS_TEMPLATE else record


def is_constructor(cursor: ci.Cursor) -> bool:
    return cursor.kind == K.CONSTRUCTOR


def user_constructors(record: ci.Cursor) -> list[ci.Cursor]:
    """The constructors a record's author wrote (not the implicit or ``= default`` ones)."""
    return [c for c in record.get_children() if c.kind == K.CONSTRUCTOR and not c.is_default_method()]


def key(cursor: ci.Cursor) -> str:
    """How a callee is indexed: ``ns::Vec2::norm``; a constructor by its signature,
    ``ns::Vec2::Vec2(double, double)`` (constructors are routinely overloaded)."""
    spaces, classes = scopes(cursor)
    name = cursor.displayname if is_constructor(cursor) else cursor.spelling
    return "::".join(spaces + classes + (name,))


def signature_key(cursor: ci.Cursor) -> str:
    """How one overload of an overloaded name is indexed: its qualified name and parameter
    types (canonical: a typedef is what it names, so that a declaration and the definition
    agree), with `` const`` for a const method: ``sq(const Vec2&)``,
    ``ns::Mat::operator[](int) const`` (what ``m["..."]`` and ``pyclad gen -f`` take)."""
    spaces, classes = scopes(cursor)
    params = ", ".join(a.type.get_canonical().spelling for a in cursor.get_arguments())
    const = " const" if cursor.kind == K.CXX_METHOD and cursor.is_const_method() else ""
    return normal_signature("::".join(spaces + classes + (f"{cursor.spelling}({params}){const}",)))


def normal_signature(text: str) -> str:
    """A signature key spelled one way: ``f( const Vec2 & v )`` -> ``f(const Vec2&)`` (no
    space before ``&`` or ``*``, one after each comma; parameter names are not part of it)."""
    text = " ".join(text.split())
    for mark in ("&", "*"):
        text = text.replace(f" {mark}", mark)
    text = text.replace("( ", "(").replace(" )", ")").replace(" ,", ",").replace(",", ", ")
    return " ".join(text.split()).replace("operator []", "operator[]").replace("operator ()", "operator()")


def plain_name(key: str) -> str:
    """The qualified name of a signature key (``ns::sq(double)`` -> ``ns::sq``); a key without
    parameters unchanged."""
    start = key.rfind("operator")
    start = (
        0 if start < 0 else start + len("operator") + (2 if key[start + 8 :].lstrip().startswith("()") else 0)
    )
    at = key.find("(", start)
    return key[:at] if at >= 0 else key


def overload_words(cursor: ci.Cursor) -> tuple[list[str], bool]:
    """(the parameter types, is a const method): what tells one overload apart in its stem."""
    const = cursor.kind == K.CXX_METHOD and cursor.is_const_method()
    return [a.type.get_canonical().spelling for a in cursor.get_arguments()], const


def stem(cursor: ci.Cursor) -> str:
    """The name derivatives of a callee are built on (its IR function's name):
    ``ns::Vec2_norm``, ``ns::operator_plus``, ``ns::Vec2_constructor`` (``_constructor1``,
    ... in declaration order when a record has several)."""
    spaces, classes = scopes(cursor)
    if is_constructor(cursor):
        own = user_constructors(pattern_of(cursor.semantic_parent))
        at = next((i for i, c in enumerate(own) if c.location.offset == cursor.location.offset), 0)
        name = "constructor" + (str(at) if len(own) > 1 else "")
    else:
        name = identifier(cursor.spelling, cursor)
    local = "_".join(tuple(type_word(c) for c in classes) + (name,))  # Point<double> -> Point_double
    return "::".join(spaces + (local,))


def is_lambda_class(cursor: ci.Cursor | None) -> bool:
    return cursor is not None and cursor.kind in _CLASSES and "(lambda at" in cursor.type.spelling


# ---------------------------------------------------------------------------- lambdas


def capture_modes(lam: ci.Cursor) -> tuple[str | None, dict[str, bool]]:
    """The capture default of a lambda (``"&"``, ``"="`` or None) and its explicit captures
    (name -> by reference), read from the tokens of its introducer.  ``this``, ``*this``
    and init-captures are refused: a lambda is lowered as its captured variables."""
    toks = [t.spelling for t in lam.get_tokens()]
    if not toks or toks[0] != "[":
        raise _unsupported("a lambda written by a macro", lam)
    depth, items, cur = 0, [], []
    for t in toks[1:]:
        if t in "([{":
            depth += 1
        elif t in ")]}":
            if depth == 0:
                break
            depth -= 1
        if t == "," and depth == 0:
            items.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        items.append(cur)
    default, explicit = None, {}
    for item in items:
        if item in (["&"], ["="]):
            default = item[0]
        elif len(item) == 1 and item[0] not in ("this",):
            explicit[item[0]] = False
        elif len(item) == 2 and item[0] == "&":
            explicit[item[1]] = True
        else:
            raise _unsupported(f"the lambda capture '{' '.join(item)}'", lam)
    return default, explicit


def captured(body: ci.Cursor, lam: ci.Cursor) -> list[ci.Cursor]:
    """The variables of the enclosing function a lambda body names, in order of first use:
    locals and parameters declared outside the lambda (globals are not captured)."""
    start, end = lam.extent.start.offset, lam.extent.end.offset
    out: list[ci.Cursor] = []
    seen: set[str] = set()
    for c in body.walk_preorder():
        if c.kind == K.CXX_THIS_EXPR:
            raise _unsupported("a lambda using 'this'", c)
        if c.kind != K.DECL_REF_EXPR:
            continue
        ref = c.referenced
        if ref is None or ref.kind not in (K.VAR_DECL, K.PARM_DECL):
            continue
        parent = ref.semantic_parent
        if parent is None or parent.kind not in FUNCTION_LIKE:
            continue  # a global or a static member
        where = ref.location
        inside = where.file is not None and start <= where.offset <= end
        if not inside and ref.spelling not in seen:
            seen.add(ref.spelling)
            out.append(ref)
    return out


def _unsupported(what: str, cursor: ci.Cursor) -> UnsupportedError:
    return UnsupportedError(f"{what} is not supported", loc_of(cursor.location, cursor.translation_unit))
