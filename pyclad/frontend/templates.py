"""Function templates, differentiated as instances (``f<double>``), as clad does.

libclang hands out the *pattern* of a template (dependent types, unresolved calls), but the
cursor a call refers to is the instance clang made for it, and that instance carries its
instantiated body: every type concrete (``T`` is ``double``, ``auto`` deduced), every call
resolved (a call to another template names that template's instance, with its own
instantiated body), ``N`` of ``template <int N>`` a constant, and of an ``if constexpr`` only
the branch the arguments select.  So an instance is lowered from clang's own instantiation:

- an instance some lowered code calls is indexed, on first use, by the cursor the call
  refers to (no parsing at all);
- an instance asked for by name (``m["f<double>"]``, ``pyclad gen -f 'f<double>'``, or
  deduced from Python arguments) is made by parsing the source again with one use of it
  appended, ``namespace __pyclad_instance_0 { auto* const use = &::ns::f<double>; }``
  (clang instantiates what a use needs, and reports a template that does not compile for
  these arguments where it fails, in the user's lines), and read from that use.

The instance's IR function is named ``f_double`` (ad/names.py: instance_stem), so its
derivatives never meet those of ``f<float>``; calls to the primal are spelled
``f<double>``, the user's own template.
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
    cursor: ci.Cursor  # its definition, the body clang instantiated


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


def parameter_value(c: ci.Cursor) -> str | None:
    """The value of a non-type template parameter used in an instance's body (``N`` of
    ``template <int N>``: clang substitutes its argument), or None for any other reference."""
    ref = c.referenced
    if ref is not None and ref.kind != K.TEMPLATE_NON_TYPE_PARAMETER:
        return None  # the common case, decided without reading the children
    kids = list(c.get_children()) if ref is None and not c.spelling else []
    substituted = len(kids) == 1 and kids[0].kind.is_expression()
    if not substituted and ref is None:
        return None
    from .literals import evaluate

    value = evaluate(kids[0] if substituted else c)
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
    """The function templates of a source and the instances asked for by name so far."""

    def __init__(self, text: str, filename: str, args: list[str], qualified):
        self.text = text
        self.filename = filename
        self.args = args
        self.qualified = qualified  # cursor -> its enclosing names (frontend.lower.qualified_name)
        self.templates: dict[str, ci.Cursor] = {}  # qualified name -> FUNCTION_TEMPLATE
        self.overloaded: dict = {}  # names of two function templates -> their locations
        self.instances: dict[str, Instance] = {}
        self.aliases: dict[str, str] = {}  # a key as asked for -> the instance's key
        self.units: list[ci.TranslationUnit] = []  # kept alive: the instances' cursors live in them

    def knows(self, key: str) -> bool:
        split = split_key(key)
        return split is not None and split[0] in self.templates

    def check(self, name: str) -> None:
        """Refuse a name two function templates share: an instance could be of either."""
        if name in self.overloaded:
            first, second = self.overloaded[name]
            raise UnsupportedError(
                f"overloaded function templates ('{name}', also defined at {first}) are not supported", second
            )

    def instantiate(self, key: str) -> Instance:
        """The instance ``key`` names (``f<double>``), made by a use on first request."""
        if key in self.aliases:
            return self.instances[self.aliases[key]]
        name, args = split_key(key)
        self.check(name)
        template = self.templates[name]
        params = parameters(template)
        where = loc_of(template.location, template.translation_unit)
        for p in params:
            if any(t.spelling == "..." for t in p.get_tokens()):
                raise UnsupportedError(
                    f"the template parameter pack '{p.spelling}' is not supported",
                    loc_of(p.location, p.translation_unit),
                )
        if len(args) != len(params):
            spelled = ", ".join(p.spelling for p in params)
            raise FunctionNotFoundError(
                f"'{key}' gives {len(args)} template arguments; the template '{name}' takes "
                f"{len(params)} ({spelled})",
                where,
            )
        ns = f"__pyclad_instance_{len(self.units)}"
        use = f"\nnamespace {ns} {{ auto* const use = &::{name}<{', '.join(args)}>; }}\n"
        try:
            tu = parse(self.text + use, self.filename, self.args)
        except CompileError as exc:
            what = f"'{key}' cannot be instantiated: the template does not compile for these arguments"
            raise CompileError(what, exc.loc, [f"{where}: error: {what}", *exc.diagnostics]) from None
        cursor = _used(tu, ns)
        if cursor is None:
            raise UnsupportedError(f"'{key}' cannot be instantiated here", where)
        full = key_of(cursor, self.qualified)
        self.aliases[key] = full
        if full not in self.instances:
            self.units.append(tu)
            self.instances[full] = Instance(full, instance_stem(name, split_key(full)[1]), cursor)
        return self.instances[full]


def _used(tu: ci.TranslationUnit, ns: str) -> ci.Cursor | None:
    """The definition of the instance the use in namespace ``ns`` takes the address of."""
    scope = next((c for c in tu.cursor.get_children() if c.kind == K.NAMESPACE and c.spelling == ns), None)
    for c in scope.walk_preorder() if scope is not None else ():
        if c.kind == K.DECL_REF_EXPR and c.referenced is not None and is_specialization(c.referenced):
            return c.referenced.get_definition()
    return None
