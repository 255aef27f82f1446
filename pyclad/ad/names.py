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
    diff = [i for i, p in enumerate(fn.params) if p.type.holds_float]
    act = [i for i in diff if active[i]]
    if act == diff:
        return base
    return base + "_darg" + "_".join(str(i) for i in act)
