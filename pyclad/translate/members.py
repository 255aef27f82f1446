"""Derivatives of methods: pyclad writes them as free functions of the object (``S& _this``
first), so the class is given what they need from it.

- A ``friend`` declaration of each such function, written into the class body, so the
  derivative reads private fields as the method did.
- An out-of-class definition of a member derivative the class declares itself (clad lets a
  class declare ``double m_darg0(double x);`` and call it): it forwards to the free function.
"""

from __future__ import annotations

from dataclasses import replace

import clang.cindex as ci

from .. import emit, ir
from ..frontend.types import qualified_name
from .signatures import Plan

K = ci.CursorKind


def owner(decl: ci.Cursor) -> ci.Cursor | None:
    """The class of a method's declaration (None for a free function)."""
    parent = decl.semantic_parent
    if parent is not None and parent.kind in (K.STRUCT_DECL, K.CLASS_DECL, K.CLASS_TEMPLATE):
        return parent
    return None


def friends(plan: Plan) -> dict[str, list[str]]:
    """Friend declarations of the plan's functions that take an object (``_this``) first,
    by the object's class (its qualified name)."""
    out: dict[str, list[str]] = {}
    for fn in plan.functions:
        if fn.params and fn.params[0].name == "_this":
            out.setdefault(_class_name(fn.params[0].type), []).append(
                "friend " + emit.declaration(_short(fn)).strip()
            )
    first = plan.functions[-1].params[:1] if plan.functions else ()
    if plan.wrapper and first and first[0].name == "_this":
        decl = f"friend {plan.ret} {plan.clad_name.split('::')[-1]}({', '.join(plan.param_types)});"
        out.setdefault(_class_name(first[0].type), []).append(decl)
    return out


def _class_name(t: ir.Type) -> str:
    return t.base.lstrip(":")


def classes(tu: ci.TranslationUnit, filename: str) -> dict[str, ci.Cursor]:
    """The classes the main file defines, by qualified name."""
    out = {}
    for c in tu.cursor.walk_preorder():
        in_main = c.location.file is not None and c.location.file.name == filename
        if c.kind in (K.STRUCT_DECL, K.CLASS_DECL) and c.is_definition() and in_main:
            out["::".join(qualified_name(c) + (c.spelling,))] = c
    return out


def _short(fn: ir.Function) -> ir.Function:
    return replace(fn, name=fn.name.split("::")[-1])


def class_end(cls: ci.Cursor, text: bytes) -> int | None:
    """The offset of the class body's closing brace, when the class is in the main file."""
    end = cls.extent.end.offset
    if end > 0 and text[end - 1 : end] == b"}":
        return end - 1
    return None


def member_definitions(cls: ci.Cursor, member: str, plan: Plan) -> str:
    """Out-of-class definitions of the class's own declarations named ``member`` (clad's
    member name of the derivative), forwarding to the plan's free function."""
    out = []
    for m in cls.get_children():
        if m.kind != K.CXX_METHOD or m.spelling != member or m.is_definition():
            continue
        params = list(m.get_arguments())
        if len(params) + 1 != len(plan.param_types):
            continue  # another overload: the declaration keeps its own meaning
        scope = "::".join(qualified_name(cls) + (cls.spelling,))
        sig = ", ".join(f"{a.type.spelling} {a.spelling or f'_p{i}'}" for i, a in enumerate(params))
        args = ", ".join(["*this"] + [a.spelling or f"_p{i}" for i, a in enumerate(params)])
        const = " const" if m.is_const_method() else ""
        ret = m.result_type.spelling
        body = f"return {plan.clad_name}({args});" if ret != "void" else f"{plan.clad_name}({args});"
        out.append(f"{ret} {scope}::{member}({sig}){const} {{\n    {body}\n}}\n")
    return "".join(out)
