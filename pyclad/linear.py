"""Vector-Jacobian and Jacobian-vector products as Python callables (``pyclad.vjp``,
``pyclad.jvp``): the compiled kernels of ad/outputs.py, called on the primal's arguments
followed by the cotangents of the outputs or the tangents of the inputs."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from .ad.outputs import RETURN, Role
from .conversion import _DTYPES, convert_args
from .errors import ArgumentError
from .source import Result

if TYPE_CHECKING:
    from .api import Function


class _Linear:
    """What vjp and jvp share: the kernel, its buffers, the argument checks."""

    def __init__(self, primal: Function, result: Result, single_in: bool, single_out: bool):
        self.primal = primal
        self.result = result
        self.name = result.function.name
        self.roles: list[Role] = result.extras[0]
        self.outputs: list[str] = result.extras[1]
        self.wrt: list[str] = [w.param for w in result.wrt]
        self._single_in = single_in
        self._single_out = single_out
        self.checked = True
        self._call = None

    @property
    def code(self) -> str:
        return self.result.code

    def __repr__(self) -> str:
        return f"<pyclad {self.result.kind} {self.name}>"

    def _split(self, args: tuple, extra: list[str], what: str) -> tuple[list, dict]:
        """The converted primal arguments (private copies) and the trailing ``what`` by name."""
        fn = self.primal.ir
        n = len(fn.params)
        if len(args) != n + len(extra):
            sig = ", ".join([p.name for p in fn.params] + [f"{what} of {e}" for e in extra])
            raise ArgumentError(
                f"{self.name} takes the {n} arguments of {self.primal.name} followed by "
                f"{len(extra)} {what}(s): ({sig}); got {len(args)}",
                fn.loc,
            )
        conv, _ = convert_args(fn, args[:n], [], private=True)
        return conv, dict(zip(extra, args[n:]))

    def _length(self, conv: list, param: str) -> int:
        i = next(k for k, p in enumerate(self.primal.ir.params) if p.name == param)
        return int(conv[i].shape[0])

    def _dtype(self, param: str):
        return _DTYPES.get(self.primal.ir.param(param).type.base, np.float64)

    def _array(self, value, param: str, length: int, what: str) -> np.ndarray:
        """``value`` as a fresh 1-D array of ``length`` elements, or ArgumentError naming ``param``."""
        try:
            arr = np.array(value, dtype=self._dtype(param))
        except (TypeError, ValueError):
            raise ArgumentError(
                f"the {what} of '{param}' must be an array of numbers, got {type(value).__name__}",
                self.primal.ir.loc,
            ) from None
        if arr.ndim != 1 or arr.shape[0] != length:
            shape = f"length {arr.shape[0]}" if arr.ndim == 1 else f"shape {arr.shape}"
            raise ArgumentError(
                f"the {what} of '{param}' has {shape}, but the '{param}' passed has length {length}",
                self.primal.ir.loc,
            )
        return arr

    def _scalar(self, value, param: str, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ArgumentError(
                f"the {what} of {param} must be a number, got {type(value).__name__}", self.primal.ir.loc
            )
        return float(value)

    def _run(self, args: list) -> None:
        if self._call is None:
            self._call = self.primal.module._caller(self.result.function, self.checked)
        self._call(args)


class VJP(_Linear):
    """``vj(*args, *cotangents)``: the cotangents of the outputs (one per output, in the order
    of ``outputs``: an array like each output array, a number for ``"return"``) pulled back to
    the inputs: one entry per wrt parameter (a float for a scalar, an array for an array),
    bare when wrt was a single name, else a tuple."""

    def __call__(self, *args):
        conv, given = self._split(args, self.outputs, "cotangent")
        buffers, results = [], []
        for r in self.roles:
            if r.param == RETURN:
                buffers.append(self._scalar(given[RETURN], "the return value", "cotangent"))
                continue
            p = self.primal.ir.param(r.param)
            length = self._length(conv, r.param) if p.type.ptr else 1
            if r.output:
                buf = self._array(given[r.param], r.param, length, "cotangent")
            else:
                buf = np.zeros(length, self._dtype(r.param))
            buffers.append(buf)
            if r.input:
                results.append((buf, bool(p.type.ptr)))
        self._run(conv + buffers)
        out = [buf if array else float(buf[0]) for buf, array in results]
        return out[0] if self._single_in else tuple(out)


class JVP(_Linear):
    """``jv(*args, *tangents)``: the tangents of the wrt inputs (one per wrt parameter, in
    parameter order: a number for a scalar, an array like each array) pushed forward to the
    outputs: one entry per output (an array per output array, a float for ``"return"``),
    bare when outputs was a single name, else a tuple."""

    def __call__(self, *args):
        conv, given = self._split(args, self.wrt, "tangent")
        buffers, by_output = [], {}
        for r in self.roles:
            if r.param == RETURN:
                buf = np.zeros(1)
                by_output[RETURN] = buf
                buffers.append(buf)
                continue
            p = self.primal.ir.param(r.param)
            if not p.type.ptr:  # a scalar input's tangent, by value
                buffers.append(self._scalar(given[r.param], f"'{r.param}'", "tangent"))
                continue
            length = self._length(conv, r.param)
            if r.input:
                buf = self._array(given[r.param], r.param, length, "tangent")
            else:
                buf = np.zeros(length, self._dtype(r.param))
            if r.output:
                by_output[r.param] = buf
            buffers.append(buf)
        self._run(conv + buffers)
        out = [float(by_output[o][0]) if o == RETURN else by_output[o] for o in self.outputs]
        return out[0] if self._single_out else tuple(out)
