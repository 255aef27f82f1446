"""Several C++ functions behind one Python name: overloads, and (frontend/templates.py) the
instances of a function template.

``m.sq`` on an overloaded ``sq`` is an ``Overloads``: called, it picks the overload whose
parameters the Python arguments fit best, as cppyy does (an exact type before a conversion);
given to a derivative (``pyclad.gradient(m.sq)``) it makes a derivative that picks the
overload from the arguments of each call, and builds that overload's derivative once.  When
no overload fits, or two fit equally well, the error lists the candidates with the names
that select one explicitly (``m["sq(double)"]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import ir
from .errors import ArgumentError

_FLOAT_DTYPES = {"double": np.float64, "float": np.float32, "long double": np.longdouble}
_NO_FIT = None


def fit(fn: ir.Function, args: Sequence) -> int | None:
    """How well ``args`` fit ``fn``'s parameters: 0 is exact, each conversion adds 1; None
    when one of them does not fit at all."""
    if len(args) != len(fn.params):
        return _NO_FIT
    total = 0
    for p, a in zip(fn.params, args):
        cost = _fit_one(p.type, a)
        if cost is _NO_FIT:
            return _NO_FIT
        total += cost
    return total


def _fit_one(t: ir.Type, a) -> int | None:
    if t.kind == ir.RECORD and not t.ptr:
        name = getattr(type(a), "__cpp_name__", None)
        if name is None:
            return _NO_FIT
        return (
            0 if name.split("::")[-1].replace(" ", "") == t.base.split("::")[-1].replace(" ", "") else _NO_FIT
        )
    if t.ptr or t.is_container:
        element = t.element()
        if isinstance(a, np.ndarray):
            want = _FLOAT_DTYPES.get(element.base)
            return 0 if want is not None and a.dtype == want else 1
        return 1 if isinstance(a, (list, tuple)) else _NO_FIT
    if t.base == "bool":
        return 0 if isinstance(a, (bool, np.bool_)) else _NO_FIT
    if t.is_float:
        if isinstance(a, np.floating):
            return 0 if a.dtype == _FLOAT_DTYPES.get(t.base) else 1
        if isinstance(a, float):
            return 0 if t.base == "double" else 1
        return 2 if isinstance(a, (int, np.integer)) and not isinstance(a, bool) else _NO_FIT
    if t.kind == ir.BUILTIN and not t.dims:
        if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            return 0 if t.base == "int" else 1
        return _NO_FIT
    return _NO_FIT


def pick(name: str, candidates: dict[str, ir.Function], args: Sequence) -> str:
    """The key of the candidate ``args`` fit best; ArgumentError listing them when none or two do."""
    scored = [(cost, key) for key, fn in candidates.items() if (cost := fit(fn, args)) is not _NO_FIT]
    scored.sort(key=lambda s: s[0])
    if scored and (len(scored) == 1 or scored[0][0] < scored[1][0]):
        return scored[0][1]
    given = ", ".join(_describe(a) for a in args)
    listed = "; ".join(f"m[{key!r}]" for key in candidates)
    why = "no overload of" if not scored else "more than one overload of"
    raise ArgumentError(
        f"{why} '{name}' takes ({given}); name one: {listed}",
        next(iter(candidates.values())).loc if candidates else None,
    )


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array"
    cpp = getattr(type(a), "__cpp_name__", None)
    return cpp or type(a).__name__


class Overloads:
    """The functions behind one name of a module (see the module docstring)."""

    def __init__(self, module, name: str, keys: list[str]):
        self.module = module
        self.name = name
        self.keys = list(keys)

    def __repr__(self) -> str:
        return f"<pyclad overloads {self.name}: {', '.join(self.keys)}>"

    def choose(self, args: Sequence):
        """The module's function (a ``pyclad.api.Function``) the arguments select."""
        candidates = {k: self.module[k].ir for k in self.keys}
        return self.module[pick(self.name, candidates, args)]

    def __call__(self, *args):
        return self.choose(args)(*args)

    def deferred(self, make, *options):
        """A derivative that picks the overload from each call's arguments: ``make(function,
        *options)`` (``pyclad.gradient`` and the like) builds it, once per overload."""
        return Deferred(self, make, options)


class Deferred:
    """A derivative of an ``Overloads``, built for the overload each call selects."""

    def __init__(self, overloads: Overloads, make, options: tuple):
        self._overloads = overloads
        self._make = make
        self._options = options
        self._built: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<pyclad derivative of {self._overloads.name}, overload chosen at each call>"

    def for_args(self, args: Sequence):
        """The derivative of the overload ``args`` select (built on first use)."""
        fn = self._overloads.choose(args)
        if fn.name not in self._built:
            self._built[fn.name] = self._make(fn, *self._options)
        return self._built[fn.name]

    def __call__(self, *args):
        return self.for_args(args)(*args)

    @property
    def code(self) -> str:
        """The generated C++ of every overload built so far (``for_args(args).code``: one)."""
        if not self._built:
            raise ArgumentError(
                f"the derivative of '{self._overloads.name}' is built for the overload each call selects; "
                "call it first, or take for_args(args).code"
            )
        return "\n".join(d.code for d in self._built.values())


# ---------------------------------------------------------------------------- template instances
_DTYPE_NAMES = {"float64": "double", "float32": "float", "int32": "int", "int64": "long"}


class Instances(Overloads):
    """``m.f`` on a function template: the instance comes from the arguments of each call
    (``float`` and float64 arrays make ``T`` ``double``, float32 ``float``, an ``std::array``'s
    length its size parameter), ``m.f["double"]`` names it, as ``m["f<double>"]`` does."""

    def __init__(self, module, name: str, params: list[str], pattern: list[str]):
        super().__init__(module, name, [])
        self.params = params  # the template parameters' names
        self.pattern = pattern  # the function parameters' types as written (``const T *``)

    def __repr__(self) -> str:
        return f"<pyclad function template {self.name}<{', '.join(self.params)}>>"

    def __getitem__(self, args):
        args = args if isinstance(args, tuple) else (args,)
        return self.module[f"{self.name}<{', '.join(str(a) for a in args)}>"]

    def choose(self, args: Sequence):
        return self.module[self.deduce(args)]

    def deduce(self, args: Sequence) -> str:
        """The key of the instance ``args`` call for (``f<double>``), as C++ deduction would give."""
        if len(args) != len(self.pattern):
            raise ArgumentError(f"'{self.name}' takes {len(self.pattern)} arguments, got {len(args)}")
        found: dict[str, str] = {}
        for written, a in zip(self.pattern, args):
            for param, value in _deduced(written, a, set(self.params)):
                if found.setdefault(param, value) != value:
                    raise ArgumentError(
                        f"the arguments of '{self.name}' make its template parameter '{param}' both "
                        f"'{found[param]}' and '{value}'; name the instance, e.g. m['{self.name}<...>']"
                    )
        missing = [p for p in self.params if p not in found]
        if missing:
            raise ArgumentError(
                f"cannot deduce the template parameter {', '.join(repr(p) for p in missing)} of "
                f"'{self.name}' from ({', '.join(_describe(a) for a in args)}); name the instance, "
                f"e.g. m['{self.name}<{', '.join(found.get(p, p) for p in self.params)}>']"
            )
        return f"{self.name}<{', '.join(found[p] for p in self.params)}>"


def _deduced(written: str, a, params: set[str]) -> list[tuple[str, str]]:
    """What one argument says about the template parameters in its parameter's type."""
    t = written.replace("&", " ").replace("const ", " ").replace("volatile ", " ")
    pointer = "*" in t
    t = " ".join(t.replace("*", " ").split())
    if t in params:
        value = _element_name(a) if pointer or isinstance(a, np.ndarray) else _scalar_name(a)
        return [(t, value)] if value else []
    at = t.find("<")
    if at < 0 or not t.endswith(">"):
        return []
    outer, inner = t[:at].strip(), _split(t[at + 1 : -1])
    if outer in ("std::vector", "std::array") and isinstance(a, np.ndarray):
        out = [(inner[0], _element_name(a))] if inner and inner[0] in params else []
        if outer == "std::array" and len(inner) > 1 and inner[1] in params:
            out.append((inner[1], str(len(a))))
        return out
    cpp = getattr(type(a), "__cpp_name__", "")
    if "<" in cpp and cpp.endswith(">"):  # a record instance: Point<double>
        given = _split(cpp[cpp.find("<") + 1 : -1])
        return [(w, g) for w, g in zip(inner, given) if w in params]
    return []


def _split(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return out + ([cur.strip()] if cur.strip() else [])


def _element_name(a) -> str | None:
    if isinstance(a, np.ndarray):
        return _DTYPE_NAMES.get(str(a.dtype))
    if isinstance(a, (list, tuple)) and a and all(isinstance(x, float) for x in a):
        return "double"
    return None


def _scalar_name(a) -> str | None:
    if isinstance(a, np.generic):
        return _DTYPE_NAMES.get(str(a.dtype))
    if isinstance(a, bool):
        return "bool"
    if isinstance(a, float):
        return "double"
    if isinstance(a, int):
        return "int"
    return None
