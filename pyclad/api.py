"""The public Python API: load C++, ask for derivatives, call them on numbers and arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from . import ir
from .backends.jit import JitModule
from .errors import ArgumentError, FunctionNotFoundError, PycladError, WrtError
from .source import Result, Source

_DTYPES = {"double": np.float64, "float": np.float32, "long double": np.longdouble}


class Module:
    """A loaded C++ source.  Its functions are attributes: ``m.f(1.0, 2.0)``."""

    def __init__(self, source: Source, jit: JitModule):
        self._source = source
        self._jit = jit
        self._functions: dict[str, Function] = {}

    @property
    def source(self) -> Source:
        return self._source

    def __getattr__(self, name: str) -> Function:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._functions:
            fn = self._source.function(name)
            self._functions[name] = Function(self, fn)
        return self._functions[name]

    def __dir__(self):
        return sorted(self._source.index.definitions)

    def _compile(self, result: Result, new: list[ir.Function]) -> None:
        if new:
            from .source import render

            self._jit.define(render(new), f"the derivative {result.function.name}")


class Function:
    """A primal function of a loaded module: callable, and the handle derivatives take."""

    def __init__(self, module: Module, fn: ir.Function):
        self.module = module
        self.ir = fn
        self.name = fn.name
        self._native = None

    def __repr__(self) -> str:
        return f"<pyclad function {self.name}>"

    def __call__(self, *args):
        if self._native is None:
            self._native = self.module._jit.get(self.name)
        conv, _ = convert_args(self.ir, args, [])
        return _result(self.ir.ret, _invoke(self._native, conv, self.name))


def convert_args(fn: ir.Function, args: Sequence, extras) -> tuple[list, list[np.ndarray]]:
    """Check and convert Python arguments for ``fn``'s parameters; allocate tangent arrays."""
    if len(args) != len(fn.params):
        sig = ", ".join(p.type.spell(p.name) for p in fn.params)
        raise ArgumentError(f"{fn.name}({sig}) takes {len(fn.params)} arguments, got {len(args)}", fn.loc)
    out, arrays = [], {}
    for p, a in zip(fn.params, args):
        out.append(_convert(fn, p, a, arrays))
    made = []
    for e in extras:
        like = arrays[e.like]
        buf = np.zeros(like.shape[0], dtype=like.dtype)
        if e.seed is not None:
            if e.seed >= buf.shape[0]:
                raise ArgumentError(
                    f"index {e.seed} is out of range for '{e.like}' (length {buf.shape[0]})", fn.loc
                )
            buf[e.seed] = 1
        out.append(buf)
        made.append(buf)
    return out, made


def _convert(fn: ir.Function, p: ir.Param, a, arrays: dict):
    t = p.type
    where = f"argument '{p.name}' of {fn.name}"
    if t.ptr == 1 and t.base in _DTYPES:
        dtype = _DTYPES[t.base]
        if isinstance(a, (int, float)) or a is None:
            raise ArgumentError(f"{where} is {t.spell()}: pass an array, got {type(a).__name__}", fn.loc)
        try:
            arr = np.asarray(a)
        except Exception as exc:  # noqa: BLE001 - any failure is a bad argument
            raise ArgumentError(f"{where}: cannot convert to an array ({exc})", fn.loc) from None
        if arr.dtype != dtype or not arr.flags.c_contiguous:
            if arr.dtype.kind not in "biuf":
                raise ArgumentError(f"{where}: expected numbers, got an array of {arr.dtype}", fn.loc)
            arr = np.ascontiguousarray(arr, dtype=dtype)
        arr = arr.reshape(-1)
        if arr.size == 0:
            raise ArgumentError(f"{where} is an empty array", fn.loc)
        arrays[p.name] = arr
        return arr
    if t.ptr or t.dims:
        raise ArgumentError(f"{where} has type {t.spell()}, which Python cannot pass", fn.loc)
    if t.ref and not t.const:
        raise ArgumentError(
            f"{where} is a non-const reference ({t.spell()}); call it from a C++ wrapper", fn.loc
        )
    if isinstance(a, np.ndarray) and a.ndim == 0:
        a = a.item()
    if isinstance(a, np.generic):
        a = a.item()
    if t.holds_float:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise ArgumentError(f"{where} must be a number, got {type(a).__name__}", fn.loc)
        return float(a)
    if t.base == "bool":
        return bool(a)
    if isinstance(a, bool) or not isinstance(a, int):
        if isinstance(a, float) and a.is_integer():
            return int(a)
        raise ArgumentError(f"{where} must be an integer, got {a!r}", fn.loc)
    return a


def _invoke(native, args, name):
    try:
        return native(*args)
    except TypeError as exc:
        raise ArgumentError(f"cannot call {name}: {exc}") from None


def _result(t: ir.Type, value):
    if t.is_void:
        return None
    if t.holds_float:
        return float(value)
    return value


class Derivative:
    """A compiled derivative.  ``code`` is its C++ source; calling it takes the
    primal function's arguments."""

    def __init__(self, primal: Function, result: Result):
        self.primal = primal
        self.result = result
        self.name = result.function.name
        self._native = None

    @property
    def code(self) -> str:
        return self.result.code

    def __repr__(self) -> str:
        return f"<pyclad derivative {self.name}>"

    def _fn(self):
        if self._native is None:
            self._native = self.primal.module._jit.get(self.name)
        return self._native

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, self.result.extras)
        return float(_invoke(self._fn(), conv, self.name))


class Gradient(Derivative):
    """A compiled gradient: returns a tuple with one entry per wrt parameter
    (a float for a scalar, a numpy array for an array)."""

    def __call__(self, *args):
        fn = self.primal.ir
        conv, _ = convert_args(fn, args, [])
        arrays = {p.name: a for p, a in zip(fn.params, conv) if isinstance(a, np.ndarray)}
        outs = []
        for o in self.result.extras:
            p = fn.param(o.param)
            if p.type.ptr:
                outs.append(np.zeros(arrays[o.param].shape[0], dtype=arrays[o.param].dtype))
            else:
                outs.append(np.zeros(1, dtype=_DTYPES.get(p.type.base, np.float64)))
        _invoke(self._fn(), conv + outs, self.name)
        result = []
        for o, buf in zip(self.result.extras, outs):
            if o.wrt:
                result.append(buf if fn.param(o.param).type.ptr else float(buf[0]))
        return tuple(result)


class ValueAndGrad:
    """Calls the primal and the gradient: ``(value, gradient tuple)``."""

    def __init__(self, grad: Gradient):
        self.grad = grad
        self.code = grad.code

    def __call__(self, *args):
        return self.grad.primal(*args), self.grad(*args)


class Jacobian(Derivative):
    """A compiled Jacobian: returns a 2-D array, rows = output elements,
    columns = inputs in parameter order (arrays expanded)."""

    def __call__(self, *args):
        fn = self.primal.ir
        layout = self.result.extras[0]
        conv, _ = convert_args(fn, args, [])
        by_name = dict(zip((p.name for p in fn.params), conv))
        sizes = [by_name[a].shape[0] for a in layout.sizes]
        size_of = dict(zip(layout.sizes, sizes))
        rows = sum(size_of[o] for o in layout.outputs)
        cols = sum(size_of.get(i, 1) for i in layout.inputs)
        jac = np.zeros((rows, cols))
        _invoke(self._fn(), conv + [jac] + sizes, self.name)
        return jac


def _handle(fn) -> Function:
    if isinstance(fn, Function):
        return fn
    raise ArgumentError(
        f"expected a function of a pyclad module (m.f), got {type(fn).__name__}; "
        "load the C++ with pyclad.load or pyclad.cppdef first"
    )


def _derive(fn: Function, make) -> Result:
    src = fn.module.source
    before = set(src.program.generated)
    result = make()
    new = [f for f in result.helpers + [result.function] if f.name not in before]
    fn.module._compile(result, new)
    return result


def load(path: str | os.PathLike, std: str = "c++17", include_dirs=(), defines=None) -> Module:
    """Parse and compile a C++ file; its functions become attributes of the returned module."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PycladError(f"cannot read {path}: {exc.strerror}") from None
    return _module(text, os.path.abspath(path), std, include_dirs, defines)


def cppdef(code: str, std: str = "c++17", include_dirs=(), defines=None, filename: str = "<string>") -> Module:
    """Parse and compile C++ given as a string."""
    return _module(code, filename, std, include_dirs, defines)


def _module(text, filename, std, include_dirs, defines) -> Module:
    source = Source(text, filename, std, include_dirs, defines)
    jit = JitModule(text, filename, include_dirs, defines)
    return Module(source, jit)


def differentiate(fn, wrt: str | None = None, order: int = 1) -> Derivative:
    """Forward-mode derivative of ``fn`` with respect to one scalar parameter or one array
    element (``"arr[1]"``); ``order`` > 1 differentiates again."""
    fn = _handle(fn)
    result = _derive(fn, lambda: fn.module.source.forward(fn.name, wrt, order))
    return Derivative(fn, result)


def gradient(fn, wrt=None) -> Gradient:
    """Reverse-mode gradient of ``fn`` w.r.t. ``wrt`` (names, ``"x, y"`` or a list;
    None for every floating-point parameter)."""
    fn = _handle(fn)
    result = _derive(fn, lambda: fn.module.source.gradient(fn.name, wrt))
    return Gradient(fn, result)


def value_and_grad(fn, wrt=None) -> ValueAndGrad:
    """Like gradient, but the call returns ``(value, gradient tuple)``."""
    return ValueAndGrad(gradient(fn, wrt))


def jacobian(fn, wrt=None, mode: str = "auto") -> Jacobian:
    """Jacobian of a function that writes an output array (``void h(const double* x, double* out)``,
    or scalars followed by an output array): rows = outputs, columns = inputs in parameter
    order.  ``mode``: "forward" (vector forward mode), "reverse" (one pullback per row),
    or "auto"."""
    fn = _handle(fn)
    if mode not in ("auto", "forward", "reverse"):
        raise WrtError(f"mode must be 'auto', 'forward' or 'reverse', got {mode!r}", fn.ir.loc)
    m = "reverse" if mode == "auto" else mode
    result = _derive(fn, lambda: fn.module.source.jacobian(fn.name, wrt, m))
    return Jacobian(fn, result)


__all__ = [
    "Module", "Function", "Derivative", "Gradient", "ValueAndGrad",
    "Jacobian", "load", "cppdef", "differentiate", "gradient", "value_and_grad", "jacobian",
]
