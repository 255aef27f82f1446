"""What the transforms can see of a module: user functions, generated functions, rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from ..errors import Loc, NameClashError
from .rules import Registry


@dataclass
class Program:
    """User functions are looked up (and lowered) through ``lookup_user``; functions the
    transforms generate are kept here so that later transforms (higher orders) and
    later requests reuse them instead of generating them twice."""

    lookup_user: object  # callable: key -> ir.Function | None
    registry: Registry
    generated: dict[str, ir.Function] = field(default_factory=dict)
    pending: dict[str, ir.Function | None] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    taken: dict[str, Loc | None] = field(default_factory=dict)  # the user's own function names
    param_reads: dict = field(default_factory=dict)  # generated function -> what it reads (reverse/reads.py)
    splittable: dict = field(default_factory=dict)  # function -> its pullback splits (reverse/split.py)
    split_origin: dict = field(default_factory=dict)  # NAME_forw / NAME_rev -> what it stands for (same)

    def _claim(self, name: str) -> None:
        """A generated function may not take the name of one of the user's (``f_grad``)."""
        if name in self.taken:
            raise NameClashError(
                f"pyclad would generate a function '{name}', but the source already has a function of "
                "that name; rename it (generated functions keep clad's names: f_darg0, f_grad, "
                "f_pullback, f_pushforward, f_jac, f_hessian)",
                self.taken[name],
            )

    def function(self, key: str) -> ir.Function | None:
        if key in self.generated:
            return self.generated[key]
        return self.lookup_user(key)

    def has(self, name: str) -> bool:
        return name in self.generated or name in self.pending

    def reserve(self, name: str) -> None:
        """Mark ``name`` as being generated (lets recursive calls refer to it)."""
        self._claim(name)
        self.pending[name] = None

    def add(self, fn: ir.Function) -> None:
        if fn.name not in self.pending:
            self._claim(fn.name)
        self.pending.pop(fn.name, None)
        self.generated[fn.name] = fn
        self.new.append(fn.name)

    def take_new(self) -> list[ir.Function]:
        out = [self.generated[n] for n in self.new]
        self.new = []
        return out

    def discard_new(self) -> None:
        """Forget what a failed request generated, so that a later request starts clean."""
        for n in self.new:
            self.generated.pop(n, None)
            self.param_reads.pop(n, None)
        self.new = []
        self.pending.clear()
