"""Names of generated variables and functions, in one place.

clad's conventions: ``_d_x`` is the derivative (tangent or adjoint) of ``x``,
``_tN`` a saved or temporary value.  A name that would clash with one already
in the function gets a numeric suffix, so repeated transforms (higher orders)
stay valid C++.
"""

from __future__ import annotations

from .. import ir


class Namer:
    def __init__(self, used: set[str]):
        self.used = set(used)
        self._derivative: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    @classmethod
    def for_function(cls, fn: ir.Function) -> Namer:
        used = {p.name for p in fn.params}
        for n in ir.walk(fn.body):
            if isinstance(n, (ir.Decl, ir.Var)):
                used.add(n.name)
        return cls(used)

    def claim(self, name: str) -> str:
        """``name`` itself if free, else ``name0``, ``name1``, ...; the result is marked used."""
        if name not in self.used:
            self.used.add(name)
            return name
        k = 0
        while f"{name}{k}" in self.used:
            k += 1
        self.used.add(f"{name}{k}")
        return f"{name}{k}"

    def derivative(self, var: str) -> str:
        """The name of the derivative of ``var`` (the same name every time it is asked)."""
        if var not in self._derivative:
            # A method's object (``_this``) has clad's ``_d_this``.
            self._derivative[var] = self.claim("_d_this" if var == "_this" else f"_d_{var}")
        return self._derivative[var]

    def temp(self, prefix: str = "_t") -> str:
        k = self._counters.get(prefix, 0)
        while f"{prefix}{k}" in self.used:
            k += 1
        self._counters[prefix] = k + 1
        self.used.add(f"{prefix}{k}")
        return f"{prefix}{k}"


def forward_name(fn: str, param_index: int, order: int = 1, element: int | None = None) -> str:
    d = "d" if order == 1 else f"d{order}"
    suffix = f"_{element}" if element is not None else ""
    return f"{fn}_{d}arg{param_index}{suffix}"


def specialised(base: str, fn: ir.Function, active: list[bool]) -> str:
    """``g_pushforward`` when every differentiable param is active, else the
    active indices appended (``g_pushforward_darg0_2``)."""
    diff = [i for i, p in enumerate(fn.params) if p.type.carries_float]
    act = [i for i, a in enumerate(active) if a]
    if act == diff:
        return base
    return base + "_darg" + "_".join(str(i) for i in act)


# ---------------------------------------------------------------------------- overloads and instances
# A function's identity is its signature, not its name: two overloads (``sq(double)`` beside
# ``sq(const Vec2&)``, the const and non-const ``Mat::operator[](int)``) and two instances of
# one template (``f<double>``, ``f<float>``) are different functions, and so are their
# derivatives.  Each gets a stem of its own, built from its name and what tells it apart:
#
#   a name defined once         its name, as ever:              sq           -> sq_grad
#   an overloaded name          name + parameter types:         sq(double)   -> sq_double_grad
#                               (+ ``_const`` for a const method) Mat::operator[](int) const
#                                                                 -> Mat_operator_index_int_const_pullback
#   a template instance         name + template arguments:      f<double>    -> f_double_grad
#                                                                 f<double, 3> -> f_double_3_grad
#
# The stem depends on the function alone (never on which other overloads or instances a module
# or header holds), so the same request gives the same names everywhere, and two overloads
# whose derivatives would take the same parameters (a gradient of ``f(double, double)`` and one
# of ``f(double, double, double*)`` w.r.t. its first two: both ``(double, double, double*,
# double*)``) can never share a name, nor can a call pick the wrong one by conversion.  Stems
# that still meet (``f(double)`` beside ``f(const double&)``, which no call can tell apart
# either) are a NameClashError where the second is lowered (frontend/lower.py).


def type_word(spelling: str) -> str:
    """A C++ type as a part of an identifier: ``double`` -> ``double``, ``const Vec2 &`` ->
    ``Vec2`` (a const reference is read like a value), ``double &`` -> ``double_ref``,
    ``const double *`` -> ``const_double_ptr``, ``std::array<double, 3>`` -> ``std_array_double_3``."""
    s = " ".join(spelling.replace("&", " & ").replace("*", " * ").split())
    if s.endswith("& &"):
        s = s[:-3] + " rref"
    elif s.endswith("&") and s.startswith("const "):
        s = s[len("const ") : -1]
    s = s.replace("&", "ref").replace("*", "ptr").replace("-", "m")
    word = "".join(ch if ch.isalnum() else "_" for ch in s)
    while "__" in word:
        word = word.replace("__", "_")
    return word.strip("_")


def overload_stem(stem: str, param_types: list[str], const_method: bool = False) -> str:
    """The stem of one overload of an overloaded name (see the rule above)."""
    words = [type_word(t) for t in param_types] or ["void"]
    return "_".join([stem, *words] + (["const"] if const_method else []))


def instance_stem(stem: str, template_args: list[str]) -> str:
    """The stem of one instance of a function template: ``f`` and ``double`` -> ``f_double``."""
    return "_".join([stem, *(type_word(a) for a in template_args)])
