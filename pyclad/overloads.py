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
