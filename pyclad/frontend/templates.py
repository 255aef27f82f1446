"""Function templates, differentiated as instances (``f<double>``), as clad does.

libclang hands out the *pattern* of a template (dependent types, unresolved calls) and never
an instantiated body.  pyclad re-parses a concrete copy of each instance it needs: the
template's own text, its ``template <...>`` header blanked, renamed ``__pyclad_f``, in a
namespace of its own nested in the template's, after declarations of the template
parameters as what they stand for::

    namespace ns { namespace __pyclad_instance_0 {
    using T = double;                 // template <typename T, int N>
    constexpr int N = 3;
    #line 12 "model.cpp"              // the template's own lines: locations point into it
                              double __pyclad_f(T x, const std::array<T, N>& a) { ... }
    } }

appended to the user's source.  The copy is an ordinary function: clang types every
expression of it (``T`` is ``double``, ``auto`` deduced, ``N`` a constant), resolves every
call (a call to another template names that template's instance, which is instantiated the
same way when the transforms ask for it), and the frontend lowers it like any other
function.  Its IR function is named ``f_double_3`` (ad/names.py: instance_stem), so its
derivatives never meet those of ``f<float>``; calls to the primal are spelled ``f<double,
3>``, the user's own template, which the compiler instantiates as usual.

Unlike a real instantiation, the copy is compiled as non-template code: a construct that
only compiles in the template's other instances (the discarded branch of an ``if
constexpr`` that is invalid for these arguments) is a compile error in the copy.  A
template argument for which the copy does not compile (``f<std::string>``) is a located
CompileError naming the instance.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import clang.cindex as ci

from ..ad.names import instance_stem
from ..errors import CompileError, FunctionNotFoundError, UnsupportedError
from .parse import loc_of, parse

K = ci.CursorKind


@dataclass
class Instance:
    key: str  # "ns::f<double, 3>"
    stem: str  # "ns::f_double_3": the name its derivatives are built on
    cursor: ci.Cursor  # the copy's FUNCTION_DECL


def split_args(text: str) -> list[str]:
    """``double, std::array<double, 3>`` -> [``double``, ``std::array<double, 3>``]."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def split_key(key: str) -> tuple[str, list[str]] | None:
    """``ns::f<double, 3>`` -> (``ns::f``, [``double``, ``3``]); None without template arguments."""
    at = key.find("<")
    if at <= 0 or not key.endswith(">") or "operator" in key or "(" in key:
        return None
    return key[:at].strip(), split_args(key[at + 1 : -1])


def is_specialization(c: ci.Cursor) -> bool:
    """A function declaration that is an instance (or explicit specialization) of a template."""
    return c.kind == K.FUNCTION_DECL and c.get_num_template_arguments() >= 0 and _template_of(c) is not None


def member_template_of(c: ci.Cursor) -> ci.Cursor | None:
    """The member function template a method is an instance of (libclang gives such an
    instance's body, instantiated, but not its template arguments: it is keyed by its
    signature), or None."""
    return _template_of(c) if c.kind == K.CXX_METHOD else None


def _template_of(c: ci.Cursor) -> ci.Cursor | None:
    t = ci.conf.lib.clang_getSpecializedCursorTemplate(c)
    return None if t is None or t.kind != K.FUNCTION_TEMPLATE else t


def key_of(c: ci.Cursor, qualified) -> str:
    """``f<double, 3>`` for an instance cursor (``qualified``: a declaration's enclosing names)."""
    args = []
    for i in range(c.get_num_template_arguments()):
        kind = c.get_template_argument_kind(i)
        if kind == ci.TemplateArgumentKind.TYPE:
            args.append(c.get_template_argument_type(i).get_canonical().spelling)
        elif kind == ci.TemplateArgumentKind.INTEGRAL:
            args.append(str(c.get_template_argument_value(i)))
        else:
            where = loc_of(c.location, c.translation_unit)
            raise UnsupportedError(
                f"a template argument of kind {kind.name} of '{c.spelling}' is not supported", where
            )
    template = _template_of(c)
    return "::".join(qualified(template) + (template.spelling,)) + f"<{', '.join(args)}>"


def parameter_value(ref: ci.Cursor) -> str | None:
    """The value of a non-type template parameter named in an instance's copy (``N``), which
    the generated code cannot name; None for any other declaration."""
    parent = ref.semantic_parent
    if ref.kind != K.VAR_DECL or parent is None or not parent.spelling.startswith("__pyclad_instance_"):
        return None
    from .literals import evaluate

    init = next((k for k in ref.get_children() if k.kind.is_expression()), None)
    value = evaluate(init) if init is not None else None
    return None if value is None else str(value)


def constexpr_branch(c: ci.Cursor, kids: list[ci.Cursor]):
    """For ``if constexpr (cond) a else b``: the statement the condition selects, or False
    when it selects nothing; None for an ordinary ``if``.  The other branch is not lowered:
    it is not part of the function (in a template it is not even instantiated)."""
    toks = [t.spelling for t in itertools.islice(c.get_tokens(), 2)]
    if toks != ["if", "constexpr"]:
        return None
    from .literals import evaluate

    if not kids or not kids[0].kind.is_expression():
        raise UnsupportedError(
            "an if constexpr with an init-statement", loc_of(c.location, c.translation_unit)
        )
    value = evaluate(kids[0])
    if value is None:
        raise UnsupportedError(
            "an if constexpr condition libclang cannot evaluate", loc_of(kids[0].location, c.translation_unit)
        )
    if value:
        return kids[1]
    return kids[2] if len(kids) > 2 else False


def parameters(template: ci.Cursor) -> list[ci.Cursor]:
    """The template parameters of a function template, in order."""
    kinds = (K.TEMPLATE_TYPE_PARAMETER, K.TEMPLATE_NON_TYPE_PARAMETER, K.TEMPLATE_TEMPLATE_PARAMETER)
    return [c for c in template.get_children() if c.kind in kinds]


def template_signature(template: ci.Cursor) -> tuple[list[str], list[str]]:
    """(the template parameters' names, the function parameters' types as written): what
    deduction from Python arguments reads (pyclad/overloads.py)."""
    written = [c.type.spelling for c in template.get_children() if c.kind == K.PARM_DECL]
    return [p.spelling for p in parameters(template)], written


class Templates:
    """The function templates of a source and the instances made of them so far."""

    def __init__(self, text: str, filename: str, args: list[str], qualified):
        self.text = text
        self.filename = filename
        self.args = args
        self.qualified = qualified  # cursor -> its enclosing names (frontend.lower.qualified_name)
        self.templates: dict[str, ci.Cursor] = {}  # qualified name -> FUNCTION_TEMPLATE
        self.overloaded: dict = {}  # names of two function templates -> their locations
        self.instances: dict[str, Instance] = {}
        self.aliases: dict[str, str] = {}  # a key as asked for -> the instance's key
        self.copies: list[str] = []  # the text of every copy made, in order
        self.units: list[ci.TranslationUnit] = []  # kept alive: the instances' cursors live in them

    def knows(self, key: str) -> bool:
        split = split_key(key)
        return split is not None and split[0] in self.templates

    def instantiate(self, key: str) -> Instance:
        """The instance ``key`` names (``f<double>``), copied and parsed on first use."""
        if key in self.aliases:
            return self.instances[self.aliases[key]]
        name, args = split_key(key)
        if name in self.overloaded:
            first, second = self.overloaded[name]
            raise UnsupportedError(
                f"overloaded function templates ('{name}', also defined at {first}) are not supported", second
            )
        template = self.templates[name]
        params = parameters(template)
        where = loc_of(template.location, template.translation_unit)
        if len(args) != len(params):
            spelled = ", ".join(p.spelling for p in params)
            raise FunctionNotFoundError(
                f"'{key}' gives {len(args)} template arguments; the template '{name}' takes "
                f"{len(params)} ({spelled})",
                where,
            )
        ns = f"__pyclad_instance_{len(self.copies)}"
        copy = self._copy(template, params, args, ns)
        try:
            tu = parse(self.text + "".join(self.copies) + copy, self.filename, self.args, presumed=True)
        except CompileError as exc:
            what = f"'{key}' cannot be instantiated: the template does not compile for these arguments"
            raise CompileError(what, exc.loc, [f"{where}: error: {what}", *exc.diagnostics]) from None
        cursor, canonical = self._find(tu, template, ns)
        full = f"{name}<{', '.join(canonical)}>"
        if full in self.instances:  # the same instance, spelled another way
            self.aliases[key] = full
            return self.instances[full]
        self.copies.append(copy)
        self.units.append(tu)
        inst = Instance(full, instance_stem(name, canonical), cursor)
        self.instances[full] = inst
        self.aliases[key] = self.aliases[full] = full
        return inst

    def _copy(self, template: ci.Cursor, params: list[ci.Cursor], args: list[str], ns: str) -> str:
        """The text of the copy of ``template`` for ``args`` (see the module docstring)."""
        decls = []
        for p, a in zip(params, args):
            where = loc_of(p.location, p.translation_unit)
            if any(t.spelling == "..." for t in p.get_tokens()):
                raise UnsupportedError(f"the template parameter pack '{p.spelling}' is not supported", where)
            if p.kind == K.TEMPLATE_TYPE_PARAMETER:
                decls.append(f"using {p.spelling} = {a};")
            elif p.kind == K.TEMPLATE_NON_TYPE_PARAMETER:
                decls.append(f"constexpr {p.type.spelling} {p.spelling} = {a};")
            else:
                raise UnsupportedError(
                    f"the template template parameter '{p.spelling}' is not supported", where
                )
        raw = self.text.encode()
        start = template.extent.start
        body = _without_header(template, raw)
        spaces = self.qualified(template)
        opening = "".join(f"namespace {n} {{ " for n in spaces) + f"namespace {ns} {{\n"
        closing = "\n}" + " }" * len(spaces) + "\n"
        line = f'#line {start.line} "{self.filename}"\n'
        return "\n" + opening + "\n".join(decls) + "\n" + line + " " * (start.column - 1) + body + closing

    def _find(self, tu: ci.TranslationUnit, template: ci.Cursor, ns: str) -> tuple[ci.Cursor, list[str]]:
        """The copy's function in ``tu`` and the canonical spelling of its template arguments."""
        scope = _namespace_named(tu.cursor, ns)
        found, values = None, {}
        for c in scope.get_children():
            if c.kind == K.TYPE_ALIAS_DECL:
                values[c.spelling] = c.underlying_typedef_type.get_canonical().spelling
            elif c.kind == K.VAR_DECL:
                values[c.spelling] = parameter_value(c) or c.spelling
            elif c.kind == K.FUNCTION_DECL and c.spelling == f"__pyclad_{template.spelling}":
                found = c
        return found, [values[p.spelling] for p in parameters(template)]


def _namespace_named(cursor: ci.Cursor, name: str) -> ci.Cursor | None:
    """The namespace ``name`` (unique in the translation unit) at any depth of namespaces."""
    for c in cursor.get_children():
        if c.kind == K.NAMESPACE:
            if c.spelling == name:
                return c
            inner = _namespace_named(c, name)
            if inner is not None:
                return inner
    return None


def _without_header(template: ci.Cursor, raw: bytes) -> str:
    """The template's text with ``template <...>`` blanked (newlines kept, so that lines stay
    where they were) and its name renamed ``__pyclad_NAME``."""
    start = template.extent.start.offset
    text = raw[start : template.extent.end.offset]
    depth, close = 0, None
    for t in list(template.get_tokens())[1:]:
        s = t.spelling
        if s in ("<", "<<"):
            depth += len(s)
        elif s in (">", ">>"):
            depth -= len(s)
            if depth <= 0:
                close = t.extent.end.offset - start
                break
    if close is None:
        raise UnsupportedError("this template header", loc_of(template.location, template.translation_unit))
    head = bytes(b if b == 10 else 32 for b in text[:close])
    name_at = template.location.offset - start
    name = template.spelling.encode()
    rest = text[close:name_at] + b"__pyclad_" + name + text[name_at + len(name) :]
    return (head + rest).decode()
