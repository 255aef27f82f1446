"""Lowering libclang types to ``ir.Type``: scalars, pointers, arrays, the user's records
(fields, how default construction sets them) and the standard containers; and the names
and locations of cursors, which every part of the frontend reads."""

from __future__ import annotations

import ctypes
from dataclasses import replace

import clang.cindex as ci

from .. import ir
from ..errors import Loc, UnsupportedError
from . import callees
from .parse import loc_of

K = ci.CursorKind
T = ci.TypeKind


_SCALARS = {
    T.DOUBLE: "double",
    T.FLOAT: "float",
    T.LONGDOUBLE: "long double",
    T.INT: "int",
    T.UINT: "unsigned int",
    T.LONG: "long",
    T.ULONG: "unsigned long",
    T.LONGLONG: "long long",
    T.ULONGLONG: "unsigned long long",
    T.SHORT: "short",
    T.USHORT: "unsigned short",
    T.CHAR_S: "char",
    T.SCHAR: "signed char",
    T.UCHAR: "unsigned char",
    T.BOOL: "bool",
    T.VOID: "void",
}


def loc(cursor: ci.Cursor) -> Loc:
    return loc_of(cursor.location, cursor.translation_unit)


def unsupported(what: str, cursor: ci.Cursor) -> UnsupportedError:
    return UnsupportedError(f"{what} is not supported", loc(cursor))


def declared_length(c: ci.Cursor) -> int | None:
    """The declared length of an array parameter (``double a[3]``: 3), which its type loses."""
    dims = lower_type(c.type, c).dims if c.spelling else ()
    return dims[0] if dims else None


def lower_type(t: ci.Type, cursor: ci.Cursor, _open: tuple[str, ...] = ()) -> ir.Type:
    """The IR type of a libclang type (``_open``: the records being lowered around it)."""
    t = t.get_canonical()
    try:
        t.kind  # noqa: B018 - the bindings know no kind for some types (_Float16, __bf16)
    except ValueError:
        raise unsupported(f"type '{t.spelling}'", cursor) from None
    if t.kind in _SCALARS:
        return ir.Type(_SCALARS[t.kind], const=t.is_const_qualified())
    if t.kind == T.POINTER:
        inner = lower_type(t.get_pointee(), cursor, _open)
        if inner.ref or inner.dims:
            raise unsupported(f"type '{t.spelling}'", cursor)
        return inner.derived(inner.ptr + 1, (), inner.const)
    if t.kind in (T.LVALUEREFERENCE, T.RVALUEREFERENCE):
        inner = lower_type(t.get_pointee(), cursor, _open)
        return inner.derived(inner.ptr, inner.dims, inner.const, ref=True)
    # libclang puts the const of ``const double b[3]`` on the array type, not on its element.
    if t.kind == T.CONSTANTARRAY:
        inner = lower_type(t.element_type, cursor, _open)
        const = inner.const or t.is_const_qualified()
        return inner.derived(inner.ptr, (t.element_count, *inner.dims), const)
    if t.kind == T.INCOMPLETEARRAY:
        inner = lower_type(t.element_type, cursor, _open)
        return inner.derived(inner.ptr + 1, (), inner.const or t.is_const_qualified())
    if t.kind == T.ENUM:
        decl = t.get_declaration()
        if decl.is_scoped_enum():  # no implicit conversion to int: keep the type
            return ir.Type(enum_spelling(decl), const=t.is_const_qualified())
        return ir.Type("int")
    if t.kind == T.RECORD:
        named = _record_type(t, cursor, _open)
        return named.derived(const=t.is_const_qualified())
    raise unsupported(f"type '{t.spelling}'", cursor)


def _record_type(t: ci.Type, cursor: ci.Cursor, open_records: tuple[str, ...]) -> ir.Type:
    """The named type of a class type: a standard container, or a record of the user's code
    with its data members (a record met again inside its own definition, through a pointer
    such as ``Node* next``, is named without its fields)."""
    decl = t.get_declaration()
    qualified = "::".join(qualified_name(decl) + (decl.spelling,))
    if callees.is_class_instance(decl) and not _in_system_header(decl):
        qualified = "::".join(qualified_name(decl) + (decl.displayname,))  # Point<double>
    # The standard library's inline namespaces (libstdc++'s __debug, libc++'s __1) add no name.
    if (
        "::".join(n for n in qualified_name(decl) if not n.startswith("__")) + "::" + decl.spelling
        in _CONTAINERS
    ):
        qualified = "std::" + decl.spelling
    if qualified in _CONTAINERS:
        if t.get_num_template_arguments() < 1:
            raise unsupported(f"type '{t.spelling}'", cursor)
        arg = t.get_template_argument_type(0)
        element = lower_type(arg, cursor, open_records)
        if element.ref or element.const:
            raise unsupported(f"type '{t.spelling}'", cursor)
        if qualified == "std::vector":
            return ir.vector_of(element)
        size = t.get_size() // max(arg.get_canonical().get_size(), 1)
        return ir.std_array_of(element, size)
    if "(lambda at" in t.spelling:
        raise unsupported("a lambda used other than by calling it in the function that defines it", cursor)
    if decl.is_anonymous() or decl.spelling == "":
        raise unsupported(f"type '{t.spelling}'", cursor)
    if _in_system_header(decl):
        raise unsupported(
            f"the library type '{t.spelling}' (records of the user's code and "
            "std::vector / std::array are supported)",
            cursor,
        )
    if qualified in open_records:
        return ir.Type(qualified, kind=ir.RECORD, recursive_floats=_holds_floats(t, set()))
    inner = open_records + (qualified,)
    fields = []
    members = list(decl.get_children())
    if callees.is_class_instance(decl):  # an instance's fields come with its type
        members = list(t.get_fields()) + [
            c for c in callees.pattern_of(decl).get_children() if c.kind != K.FIELD_DECL
        ]
    bases: list[ir.Type] = []
    for c in members:
        if c.kind == K.FIELD_DECL:
            if c.is_bitfield():
                raise unsupported("a bit-field member", c)
            hidden = c.access_specifier in (ci.AccessSpecifier.PRIVATE, ci.AccessSpecifier.PROTECTED)
            fields.append(ir.Field(c.spelling, lower_type(c.type, c, inner), private=hidden))
        elif c.kind == K.CXX_BASE_SPECIFIER:
            if callees.is_class_instance(decl):  # libclang shows the instance's bases only as written
                raise unsupported(f"a base class of the class template instance '{t.spelling}'", c)
            base = _base(t, c, inner)
            fields += base.fields
            bases.append(base)
    presets, aggregate = _construction(callees.pattern_of(decl), fields)
    aggregate = aggregate and not bases  # ``D{{a}, b}``: the list's items are not the fields
    ctors = [c for c in callees.pattern_of(decl).get_children() if c.kind == K.CONSTRUCTOR]
    constructible = not ctors or any(not list(c.get_arguments()) for c in ctors)
    return ir.Type(
        qualified,
        kind=ir.RECORD,
        fields=tuple(fields),
        presets=presets,
        aggregate=aggregate,
        constructible=constructible,
        defined_at=loc(decl),
        bases=tuple(bases),
    )


_FLOATING = (T.DOUBLE, T.FLOAT, T.LONGDOUBLE)


def _holds_floats(t: ci.Type, seen: set) -> bool:
    """The class type ``t`` has floating numbers among its fields (through pointers, arrays,
    nested classes and their bases; a class met again is not looked into twice)."""
    decl = t.get_canonical().get_declaration()
    if decl.hash in seen:
        return False
    seen.add(decl.hash)
    for c in decl.get_children():
        if c.kind not in (K.FIELD_DECL, K.CXX_BASE_SPECIFIER):
            continue
        u = c.type.get_canonical()
        while u.kind in (T.POINTER, T.LVALUEREFERENCE, T.RVALUEREFERENCE, T.CONSTANTARRAY, T.INCOMPLETEARRAY):
            u = (
                u.get_pointee()
                if u.kind in (T.POINTER, T.LVALUEREFERENCE, T.RVALUEREFERENCE)
                else u.element_type
            )
            u = u.get_canonical()
        if u.kind in _FLOATING:
            return True
        if u.kind == T.RECORD:
            args = [u.get_template_argument_type(i) for i in range(max(u.get_num_template_arguments(), 0))]
            if any(a.get_canonical().kind in _FLOATING for a in args) or _holds_floats(u, seen):
                return True
    return False


def _base(t: ci.Type, base: ci.Cursor, open_records: tuple[str, ...]) -> ir.Type:
    """The record of ``base``, a non-virtual base class of ``t``, its fields private where
    the inheritance is.  A derived class is lowered as one record whose fields are its
    bases' fields, in order, then its own (``d.a`` of a field of the base is a field of
    ``d``; derivatives of the base's methods take the derived object as C++ converts it)."""
    if "virtual" in [x.spelling for x in base.get_tokens()]:
        raise unsupported(f"a virtual base class ('{t.spelling}' derives virtually)", base)
    inherited = lower_type(base.type, base, open_records)
    if inherited.kind != ir.RECORD:
        raise unsupported(f"the base class '{base.type.spelling}' of '{t.spelling}'", base)
    if base.access_specifier == ci.AccessSpecifier.PUBLIC:
        return inherited
    return replace(inherited, fields=tuple(replace(f, private=True) for f in inherited.fields))


def _construction(decl: ci.Cursor, fields: list[ir.Field]) -> tuple[bool, bool]:
    """(does default construction set fields, is the record an aggregate): what the zero of
    its tangents and adjoints is written as (ad/shadow.py)."""
    ctors = [c for c in decl.get_children() if c.kind == K.CONSTRUCTOR]
    presets = any(c.kind == K.FIELD_DECL and _initialised(c) for c in decl.get_children())
    presets = presets or any(
        not c.is_default_method() and not list(c.get_arguments()) and not _zeroing(c, fields) for c in ctors
    )
    presets = presets or any(f.type.presets for f in fields)
    return presets, not ctors


def _initialised(field_decl: ci.Cursor) -> bool:
    """A field with a default member initialiser (``double a = 5;``, ``double b{1};``); the
    bound of an array field (``T a[9];``) is an expression too, but no initialiser."""
    tokens = [t.spelling for t in field_decl.get_tokens()]
    return "=" in tokens or "{" in tokens


def _zeroing(ctor: ci.Cursor, fields: list[ir.Field]) -> bool:
    """A default constructor that sets every field to zero and does nothing else
    (``Point() : x(0), y(0.0) {}``, ``x{}``, ``n()``): value-initialising the record gives a
    zero, as for a record without constructors."""
    kids = list(ctor.get_children())
    if not kids or kids[-1].kind != K.COMPOUND_STMT or list(kids[-1].get_children()):
        return False
    inits = kids[:-1]
    if len(inits) % 2:
        return False
    types = {f.name: f.type for f in fields}
    covered = set()
    for ref, value in zip(inits[::2], inits[1::2]):
        if ref.kind != K.MEMBER_REF or ref.spelling not in types:
            return False
        tokens = _init_tokens(value)
        if tokens is None:
            return False
        empty = not tokens
        t = types[ref.spelling]
        if t.ptr or t.is_container or (t.dims and not empty):
            return False
        if not (empty and not t.presets) and not (t.kind == ir.BUILTIN and _zero_literal(tokens)):
            return False
        covered.add(ref.spelling)
    return covered == set(types)


def _init_tokens(value: ci.Cursor) -> list[str] | None:
    """The tokens of a member initialiser's value without its parentheses or braces (``x(0)``
    in a template is ``( 0 )``); None when they cannot be told (an expression without tokens
    of its own, over more than one child)."""
    tokens = [t.spelling for t in value.get_tokens()]
    kids = list(value.get_children())
    if not tokens and kids:
        return _init_tokens(kids[0]) if len(kids) == 1 else None
    if len(tokens) >= 2 and (tokens[0], tokens[-1]) in (("(", ")"), ("{", "}")):
        tokens = tokens[1:-1]
    return tokens


def _zero_literal(tokens: list[str]) -> bool:
    if len(tokens) != 1:
        return False
    try:
        return float(tokens[0].rstrip("fFlLuU")) == 0.0
    except ValueError:
        return False


_CONTAINERS = ("std::vector", "std::array")


def _in_system_header(decl: ci.Cursor) -> bool:
    location = decl.location
    return location.file is not None and bool(_is_in_system_header(location))


def _is_in_system_header(location: ci.SourceLocation) -> int:
    fn = ci.conf.lib.clang_Location_isInSystemHeader
    fn.argtypes, fn.restype = [ci.SourceLocation], ctypes.c_int
    return fn(location)


def qualified_name(cursor: ci.Cursor) -> tuple[str, ...]:
    """The enclosing namespaces (and classes) of a declaration, outermost first.  An anonymous
    namespace is left out: its names are reachable from the enclosing scope, and the
    derivatives of its functions live in that scope too."""
    parts = []
    c = cursor.semantic_parent
    while c is not None and c.kind != K.TRANSLATION_UNIT:
        if (c.kind == K.NAMESPACE and c.spelling) or c.kind in (K.STRUCT_DECL, K.CLASS_DECL):
            parts.append(c.spelling)
        c = c.semantic_parent
    return tuple(reversed(parts))


def enum_spelling(decl: ci.Cursor) -> str:
    return "::".join(qualified_name(decl) + (decl.spelling,))
