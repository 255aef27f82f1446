"""In-process compilation through cppyy.

Each loaded source lives in a namespace of its own (``__pyclad_mN``), so two
sources that both define ``f``, or one file loaded again after an edit, do not
clash in cppyy's single interpreter.  Each module sees exactly its own source and
headers (see frontend/layout.py): system headers are hoisted out of the namespace,
the user's headers inlined, and the module's macros and ``defines`` undefined after
it; ``#line`` keeps compiler messages pointing into the user's files.
"""

from __future__ import annotations

import itertools
import os
import re
import warnings

from ..errors import CompileError
from ..frontend import options
from ..frontend.layout import Layout, assemble, escape
from . import runtime_include

_counter = itertools.count(1)
_ERROR = re.compile(r"\b(error|fatal error):")
_cppyy = None


def cppyy():
    global _cppyy
    if _cppyy is None:
        # A fault inside JIT-compiled code (segmentation fault, integer division by zero)
        # becomes a Python exception instead of ending the process; cppyy prints no stack
        # trace for it (the caller gets a CrashError).
        os.environ.setdefault("CPPYY_CRASH_QUIET", "1")
        import cppyy as c
        import cppyy.ll

        cppyy.ll.set_signals_as_exception(True)
        c.add_include_path(runtime_include())
        c.include("pyclad/runtime.hpp")
        _warm_up(c)
        _cppyy = c
    return _cppyy


# Template instantiations every gradient's tapes and containers need, compiled and run once
# up front.  cling keeps believing in an implicit instantiation that a failed definition
# triggered and then rolled back (its code is gone, later definitions calling it fail to
# link): the first use of these must not be in a derivative that may fail to compile.
WARM_UP = """\
namespace __pyclad_warm_up {
template <typename T>
void taped(T v) {
    ::pyclad::tape<T> t;
    for (int i = 0; i < 3; ++i) ::pyclad::push(t, v);
    for (int i = 0; i < 3; ++i) v = ::pyclad::pop(t);
    std::vector<T> w(2, v), u;
    u = w;
    u.push_back(v);
    u.resize(5);
    u.assign(2, v);
    u.pop_back();
    u.clear();
}
void run() {
    taped<double>(1.0);
    taped<float>(1.0f);
    taped<int>(1);
    taped<long>(1);
    taped<unsigned long>(1);
    taped<bool>(true);
    taped<std::vector<double>>(std::vector<double>(2, 1.0));
    std::vector<double> v(3, 1.0), d = ::pyclad::zero_like(v);
    ::pyclad::add_to(d, v);
    v.push_back(2.0);
    ::pyclad::match_size(d, v);
}
}
"""


def _warm_up(c) -> None:
    c.cppdef(WARM_UP)
    c.gbl.__pyclad_warm_up.run()


# The user's code is compiled inside the module namespace, so the user's own
# ``namespace pyclad { namespace custom_derivatives { ... } }`` opens
# ``__pyclad_mN::pyclad``, which hides the global ``pyclad`` (and likewise
# ``clad``): ``pyclad::ValueAndPushforward`` would not be found.  Nested namespaces
# of the same names that pull in the global ones keep such spellings working.
RUNTIME_ALIASES = (
    "namespace pyclad {} namespace clad {}",
    "namespace pyclad { using namespace ::pyclad; } namespace clad { using namespace ::clad; }",
)


class JitModule:
    def __init__(self, lay: Layout, filename: str, include_dirs=(), defines=None):
        c = cppyy()
        include_dirs, defines = options.include_dirs(include_dirs), options.defines(defines)
        for d in include_dirs:
            c.add_include_path(os.path.abspath(d))
        base = os.path.dirname(os.path.abspath(filename)) if os.path.exists(filename) else None
        if base:
            c.add_include_path(base)
        self.namespace = f"__pyclad_m{next(_counter)}"
        macros = "".join(
            f"#define {k}\n" if v is None else f"#define {k} {v}\n" for k, v in (defines or {}).items()
        )
        includes, body = assemble(lay)
        undefs = list(dict.fromkeys([*defines, *lay.macros]))
        code = (
            macros
            + "\n".join(includes)
            + f"\n{RUNTIME_ALIASES[0]}\nnamespace {self.namespace} {{\n{RUNTIME_ALIASES[1]}\n"
            + f'#line 1 "{escape(filename)}"\n{body}\n}}\n'
            + "".join(f"#undef {name}\n" for name in undefs)
        )
        self._define(code, filename)

    def _define(self, code: str, what: str) -> None:
        c = cppyy()
        try:
            ok = c.cppdef(code)
        except SyntaxError as exc:  # cppyy reports compiler errors this way
            text = str(exc)
            if not _ERROR.search(text):
                # Only warnings.  cppyy counts any output it cannot trace to its own
                # "input_line" buffers as an error, and #line renames those buffers.
                warnings.warn(
                    text.replace("Failed to parse the given C++ code", "", 1).strip(), SyntaxWarning
                )
                return
            if "in the global namespace" in text:
                text += (
                    "\nnote: pyclad compiles each loaded source inside a namespace of its own, so '::name' "
                    "does not reach the source's own functions and variables: write 'name'"
                )
            raise CompileError(f"the C++ compiler rejected {what}", None, [text]) from None
        if ok is False:
            raise CompileError(f"the C++ compiler rejected {what}")

    @property
    def root(self) -> str:
        """The scope the user's source is compiled in, as a C++ qualifier prefix."""
        return f"::{self.namespace}"

    def define(self, code: str, what: str = "generated derivative code") -> None:
        self._define(f"namespace {self.namespace} {{\n{code}\n}}\n", what)

    def get(self, name: str, fn=None):
        """A compiled function of this module; ``name`` may be qualified (``phys::spring``).
        One overload (``sq(double)``, ``Mat::operator[](int) const``) is chosen by the
        parameter types of its IR function ``fn``."""
        if "(" in name and fn is not None:
            return self._overload(name, fn)
        scope = getattr(cppyy().gbl, self.namespace)
        for part in _scopes(name):
            try:
                if "<" in part and part.endswith(">"):  # a template instance: f<double>
                    at = part.index("<")
                    scope = getattr(scope, part[:at])[part[at + 1 : -1]]
                    continue
                scope = getattr(scope, part)
            except AttributeError:
                if part not in _PYTHON_OPERATORS:
                    raise
                scope = getattr(scope, _PYTHON_OPERATORS[part])  # a class's operator, as cppyy names it
        return scope

    def _overload(self, key: str, fn):
        """The overload ``key`` of a name: cppyy selects it by its parameter types, spelled with
        the module's namespace on the source's own records."""
        from dataclasses import replace

        from .. import ir
        from ..frontend.callees import plain_name

        method = bool(fn.params) and fn.params[0].name.startswith("_this")
        spelled = []
        for p in fn.params[1:] if method else fn.params:
            t = p.type
            if t.kind == ir.RECORD:
                t = replace(t, base=f"{self.namespace}::{t.base}")
            spelled.append(t.spell())
        found = self.get(plain_name(key))
        if method:
            return found.__overload__(", ".join(spelled), fn.params[0].type.const)
        return found.__overload__(", ".join(spelled))


def _scopes(name: str) -> list[str]:
    """``ns::f<std::string>`` -> [``ns``, ``f<std::string>``]: ``::`` inside template arguments
    does not separate scopes."""
    out, depth, cur, i = [], 0, "", 0
    while i < len(name):
        ch = name[i]
        depth += ch == "<"
        depth -= ch == ">"
        if depth == 0 and name.startswith("::", i):
            out.append(cur)
            cur, i = "", i + 2
            continue
        cur += ch
        i += 1
    return [*out, cur]


# How cppyy names a class's operators (its Python protocol methods).
_PYTHON_OPERATORS = {
    "operator()": "__call__",
    "operator[]": "__getitem__",
    "operator+": "__add__",
    "operator-": "__sub__",
    "operator*": "__mul__",
    "operator/": "__truediv__",
    "operator+=": "__iadd__",
    "operator-=": "__isub__",
    "operator*=": "__imul__",
    "operator/=": "__itruediv__",
    "operator==": "__eq__",
    "operator<": "__lt__",
}
