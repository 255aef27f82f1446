"""Private and protected data members in generated code.

Derivatives are free functions, so ``m.k_`` of a private ``k_`` does not compile in them.
C++ lets an explicit instantiation name any member whatever its access, and a friend
function defined in the instantiated template hands out the member pointer.  For each
private member the generated code reads, the text starts with (``Spring::k_`` here)::

    namespace pyclad_private {
    struct Spring__k_ { using type = double Spring::*; friend type get(Spring__k_); };
    template struct expose<Spring__k_, &Spring::k_>;
    inline auto& k_(Spring& o) { return o.*get(Spring__k_{}); }
    inline const auto& k_(const Spring& o) { return o.*get(Spring__k_{}); }
    }

and ``s.k_`` is written ``pyclad_private::k_(s)`` (an lvalue, like the member).  Each
member's block is guarded, so headers generated separately can be included together and
the JIT can compile it once per module.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from . import emit, ir

NAMESPACE = "pyclad_private"

_EXPOSE = (
    "template <class Tag, typename Tag::type M>\n"
    "struct expose {\n"
    "    friend typename Tag::type get(Tag) { return M; }\n"
    "};\n"
)


def _records(functions: list[ir.Function]) -> tuple[dict[str, ir.Type], bool]:
    """Every record type with its fields that the functions mention, by spelling, and
    whether they call a private method (one walk over them)."""
    found: dict[str, ir.Type] = {}
    calls = False

    def add(t: ir.Type) -> None:
        if t.kind == ir.RECORD and t.fields and t.base not in found:
            found[t.base] = t
            for f in t.fields:
                add(f.type)
        for a in t.args:
            add(a)

    for fn in functions:
        for p in fn.params:
            add(p.type)
        add(fn.ret)
        for n in ir.walk(fn.body):
            t = getattr(n, "type", None)
            if isinstance(t, ir.Type):
                add(t)
            calls = calls or (isinstance(n, ir.Call) and bool(n.private))
    return found, calls


def _private_field(records: dict[str, ir.Type], e: ir.Member) -> ir.Field | None:
    rec = records.get(e.operand.type.base) if e.operand.type.kind == ir.RECORD else None
    if rec is None:
        return None
    for f in rec.fields:
        if f.name == e.name:
            return f if f.private else None
    return None


def _tag(record: str, name: str) -> str:
    return re.sub(r"\W", "_", record.lstrip(":")) + "__" + name


def _member_pointer(record: str, t: ir.Type) -> str:
    """``double Spring::*``, ``double (Mat<double>::*)[4]``: the type of ``&record::field``."""
    inner = replace(t, dims=(), ref=False)
    if t.dims:
        return inner.spell(f"({record}::*)") + "".join(f"[{d}]" for d in t.dims)
    return inner.spell(f"{record}::*")


def _guarded_tag(guard_key: str, tag: str, pointer: str, member: str, accessors: str = "") -> str:
    """The guarded declaration of ``tag``, whose ``get`` hands out ``&member`` (of type
    ``pointer``), and the ``accessors`` written through it."""
    guard = "PYCLAD_PRIVATE_" + hashlib.sha1(guard_key.encode()).hexdigest()[:12].upper()
    return (
        f"#ifndef {guard}\n#define {guard}\n"
        f"namespace {NAMESPACE} {{\n"
        f"struct {tag} {{\n"
        f"    using type = {pointer};\n"
        f"    friend type get({tag});\n"
        "};\n"
        f"template struct expose<{tag}, &{member}>;\n"
        f"{accessors}"
        f"}}  // namespace {NAMESPACE}\n#endif\n"
    )


def _block(record: str, f: ir.Field, scope: str) -> str:
    """A private field: its tag and the accessor ``pyclad_private::NAME(object)``."""
    tag = _tag(record, f.name)
    accessors = (
        f"inline auto& {f.name}({record}& o) {{ return o.*get({tag}{{}}); }}\n"
        f"inline const auto& {f.name}(const {record}& o) {{ return o.*get({tag}{{}}); }}\n"
    )
    member = f"{record}::{f.name}"
    return _guarded_tag(f"{scope}::{member}", tag, _member_pointer(record, f.type), member, accessors)


def _method_block(key: str, pointer: str, scope: str) -> tuple[str, str]:
    """The tag of a private method ``key`` (``S::f``) whose pointer type is ``pointer``, and
    its guarded declaration."""
    digest = hashlib.sha1(f"{key} {pointer}".encode()).hexdigest()[:8]
    record, name = key.rsplit("::", 1) if "::" in key else ("", key)
    name = name.split("(")[0]
    tag = _tag(record, re.sub(r"\W", "_", name)) + "_" + digest
    return tag, _guarded_tag(f"{scope}::{tag}", tag, pointer, f"{record}::{name}")


def expose(functions: list[ir.Function], root: str = "") -> tuple[str, list[ir.Function]]:
    """The accessor declarations for the private members ``functions`` read, and the
    functions with those reads written through them.  ``root``: the scope the text is
    compiled in ("" for a header, the module's namespace in the JIT)."""
    records, calls = _records(functions)
    if not calls and not any(f.private for r in records.values() for f in r.fields):
        return "", functions
    used: dict[tuple[str, str], ir.Field] = {}
    methods: dict[str, str] = {}  # tag -> declaration

    def through_accessor(n):
        if isinstance(n, ir.Member) and (f := _private_field(records, n)) is not None:
            used.setdefault((n.operand.type.base, f.name), f)
            return ir.Call(f"{root}::{NAMESPACE}::{f.name}", (n.operand,), n.type, n.loc)
        if isinstance(n, ir.Call) and n.private:
            key = n.callee.split("(")[0]
            if n.kind == ir.METHOD and "::" not in key:
                key = f"{n.args[0].type.base}::{key}"
            tag, text = _method_block(key, n.private, root)
            methods[tag] = text
            pointer = f"get({root}::{NAMESPACE}::{tag}{{}})"
            if n.kind != ir.METHOD:  # static: a plain function pointer
                return replace(n, callee=f"({pointer})", spelling="", private="")
            receiver = emit.expr(n.args[0], emit.POSTFIX)
            return ir.Call(f"({receiver}.*{pointer})", n.args[1:], n.type, n.loc)
        return n

    out = [replace(fn, body=ir.rebuild(fn.body, through_accessor)) for fn in functions]
    if not used and not methods:
        return "", functions
    guard = "PYCLAD_PRIVATE_EXPOSE_" + hashlib.sha1(root.encode()).hexdigest()[:12].upper()
    text = f"#ifndef {guard}\n#define {guard}\nnamespace {NAMESPACE} {{\n{_EXPOSE}}}  // namespace {NAMESPACE}\n#endif\n"
    text += "".join(_block(record, f, root) for (record, _), f in sorted(used.items()))
    text += "".join(methods[t] for t in sorted(methods))
    return text + "\n", out
