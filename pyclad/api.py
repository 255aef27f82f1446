"""The public Python API: load C++, ask for derivatives, call them on numbers and arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from . import ir
from .backends import jit_cache
from .backends.jit import JitModule
from .errors import (
    ArgumentError,
    NoDerivativeError,
    PycladError,
    UnsupportedError,
    WrtError,
)
from .source import Result, Source, parse_wrt

_DTYPES = {"double": np.float64, "float": np.float32, "long double": np.longdouble}


class Module:
    """A loaded C++ source.  Its functions are attributes: ``m.f(1.0, 2.0)``."""

    def __init__(self, source: Source, jit: JitModule):
        self._source = source
        self._jit = jit
        self._functions: dict[str, Function] = {}
        self._compiled: set[str] = set()  # generated functions already defined in the JIT

    @property
    def source(self) -> Source:
        return self._source

    def __getattr__(self, name: str) -> Function:
        if name.startswith("_"):
            raise AttributeError(name)
        if any(k.startswith(name + "::") for k in self._source.index.definitions):
            return _Namespace(self, name)
        return self[name]

    def __getitem__(self, name: str) -> Function:
        """A function by (qualified) name: ``m["phys::spring"]``, the same as ``m.phys.spring``."""
        if name not in self._functions:
            fn = self._source.function(name, body=False)  # a body is lowered when differentiated
            self._functions[name] = Function(self, fn, name)
        return self._functions[name]

    def __dir__(self):
        return sorted(self._source.index.definitions)

    def _compile(self, result: Result, new: list[ir.Function]) -> None:
        if new:
            from .source import render

            self._jit.define(render(new), f"the derivative {result.function.name}")


class _Namespace:
    """``m.phys``: the functions of a C++ namespace as attributes."""

    def __init__(self, module: Module, prefix: str):
        self._module = module
        self._prefix = prefix

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return (
            getattr(self._module, f"{self._prefix}::{name}")
            if any(k.startswith(f"{self._prefix}::{name}::") for k in self._module.source.index.definitions)
            else self._module[f"{self._prefix}::{name}"]
        )


class Function:
    """A primal function of a loaded module: callable, and the handle derivatives take."""

    def __init__(self, module: Module, fn: ir.Function, key: str | None = None):
        self.module = module
        self.ir = fn
        self.name = key or fn.name  # qualified for a function in a namespace: "phys::spring"
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
    for p, kind, a in zip(fn.params, _plan(fn), args):
        # Fast paths for the common cases; everything else (and every error) in _convert.
        if kind == "f" and type(a) is float:
            out.append(a)
        elif (
            kind == "a"
            and type(a) is np.ndarray
            and a.dtype == np.float64
            and a.ndim == 1
            and a.size
            and a.flags.c_contiguous
        ):
            arrays[p.name] = a
            out.append(a)
        else:
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
        arrays[e.name] = buf  # a higher order's tangent of this tangent is shaped like it
        out.append(buf)
        made.append(buf)
    return out, made


_plans: dict[int, tuple[ir.Function, tuple[str, ...]]] = {}


def _plan(fn: ir.Function) -> tuple[str, ...]:
    """Per parameter: "f" a double scalar, "a" a double array, "-" anything else."""
    hit = _plans.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    kinds = tuple(
        "a"
        if p.type.ptr == 1 and p.type.base == "double"
        else "f"
        if p.type.is_float and p.type.base == "double" and not (p.type.ref and not p.type.const)
        else "-"
        for p in fn.params
    )
    _plans[id(fn)] = (fn, kinds)
    return kinds


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
    except Exception as exc:
        if "failed to resolve function" not in str(exc):
            raise
        raise PycladError(
            f"cannot call {name}: the JIT could not link it (is a function the source calls declared "
            f"but never defined?): {exc}"
        ) from None


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
        # The gradient is taken at the arguments as given: it runs on copies of the arrays,
        # since the primal (run on the caller's own arrays) may write into them.
        at = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        grad = self.grad(*at)
        return self.grad.primal(*args), grad


class Jacobian:
    """A Jacobian: calling it returns a 2-D array, rows = output elements, columns =
    inputs in parameter order (arrays expanded).  Each mode's C++ is generated and
    compiled on the first call that needs it, so a function that only one mode can
    differentiate still has a Jacobian in that mode."""

    def __init__(self, primal: Function, layout, wrt, mode: str):
        self.primal = primal
        self.layout = layout
        self.wrt = wrt
        self.mode = mode
        self.name = f"{primal.name}_jac"
        self.last_mode = None
        self._reverse: Result | None = None
        self._native = None
        self._last: Result | None = None
        self._cannot: set[str] = set()  # modes "auto" found unable to differentiate this function
        self._row_by_row = False

    def __repr__(self) -> str:
        return f"<pyclad jacobian of {self.primal.name} ({self.mode})>"

    @property
    def result(self) -> Result:
        """The reverse-mode driver (generated now if not yet)."""
        if self._reverse is None:
            src = self.primal.module.source
            self._reverse = _derive(self.primal, lambda: src.jacobian(self.primal.name, self.wrt, "reverse"))
        return self._reverse

    @property
    def code(self) -> str:
        """The C++ of the kernel the last call ran; before any call, the reverse-mode driver
        (mode "reverse" or "auto") or "" (mode "forward": its kernel depends on the lengths)."""
        if self._last is not None:
            return self._last.code
        return self.result.code if self.mode != "forward" else ""

    def __call__(self, *args):
        fn = self.primal.ir
        layout = self.layout
        conv = _unshared(fn, convert_args(fn, args, [])[0])
        by_name = dict(zip((p.name for p in fn.params), conv))
        sizes = [by_name[a].shape[0] for a in layout.sizes]
        size_of = dict(zip(layout.sizes, sizes))
        rows = sum(size_of[o] for o in layout.outputs)
        cols = sum(size_of.get(i, 1) for i in layout.inputs)
        mode = self.mode
        if mode == "auto":
            mode = "forward" if cols <= rows else "reverse"
            if mode in self._cannot:  # the other mode is slower but correct
                mode = "reverse" if mode == "forward" else "forward"
        try:
            return self._call(mode, conv, size_of, sizes, rows, cols)
        except (UnsupportedError, NoDerivativeError):
            if self.mode != "auto" or self._cannot:
                raise
            self._cannot.add(mode)
            return self._call("reverse" if mode == "forward" else "forward", conv, size_of, sizes, rows, cols)

    def _call(self, mode, conv, size_of, sizes, rows, cols):
        fn = self.primal.ir
        layout = self.layout
        if mode == "reverse" and rows <= VECTOR_REVERSE_MAX_ROWS and not self._row_by_row:
            try:
                return self._vector_reverse(conv, size_of, rows, cols)
            except (UnsupportedError, NoDerivativeError):
                self._row_by_row = True  # e.g. a custom pullback: one pullback call per row
        if mode == "reverse":
            result = self.result
            if self._native is None:
                self._native = self.primal.module._jit.get(result.function.name)
            jac = np.zeros((rows, cols))
            _invoke(self._native, conv + [jac] + sizes, result.function.name)
            self.last_mode, self._last = mode, result
            return jac
        specs = [(i, 0, size_of[i] - 1) if i in size_of else (i, None, None) for i in layout.inputs]
        src = self.primal.module.source
        vres = _derive(self.primal, lambda: src.vector(self.primal.name, specs, "jac_fwd"))
        tangents = _call_vector(self.primal.module, vres, fn, conv)
        self.last_mode, self._last = mode, vres
        # An output that no input reaches has no tangent buffer: its rows are zero.
        return np.vstack(
            [tangents[o] if o in tangents else np.zeros((size_of[o], cols)) for o in layout.outputs]
        )

    def _vector_reverse(self, conv, size_of, rows, cols):
        """All rows in one reverse sweep with ``pyclad::vec<rows>`` adjoints."""
        fn = self.primal.ir
        layout = self.layout
        src = self.primal.module.source
        res = _derive(self.primal, lambda: src.jacobian_vector_reverse(self.primal.name, layout, rows))
        bufs, by_param = [], {}
        row = 0
        for p in fn.params:
            if p.name not in layout.inputs and p.name not in layout.outputs:
                continue
            buf = np.zeros((size_of.get(p.name, 1), rows))
            if p.name in layout.outputs:
                k = size_of[p.name]
                buf[np.arange(k), row + np.arange(k)] = 1.0
                row += k
            bufs.append(buf)
            by_param[p.name] = buf
        _invoke(self.primal.module._jit.get(res.function.name), conv + bufs, res.function.name)
        self.last_mode, self._last = "reverse", res
        return np.hstack([by_param[i].T for i in layout.inputs])


VECTOR_REVERSE_MAX_ROWS = 256  # above this, one pullback call per row (no per-size code)


def _unshared(fn: ir.Function, conv: list) -> list:
    """Private copies of the arrays the function may write (non-const pointer params): a
    derivative is taken at the arguments as given and leaves the caller's arrays alone,
    whichever mode computes it (reverse mode restores what it overwrites, forward mode
    does not)."""
    return [
        a.copy() if isinstance(a, np.ndarray) and p.type.ptr and not p.type.const else a
        for p, a in zip(fn.params, conv)
    ]


def _call_vector(module: Module, result: Result, fn: ir.Function, conv: list) -> dict:
    """Call a vector-mode kernel; returns {param: its tangent rows (rows x N)}, plus
    "_d_result" for the return value."""
    buffers, _, n = result.extras
    by_name = dict(zip((p.name for p in fn.params), conv))
    bufs = []
    out = {}
    for b in buffers:
        arr = by_name[b.param]
        buf = np.zeros((arr.shape[0], n))
        d = b.direction
        if d is not None:
            if d.stop >= arr.shape[0]:
                raise ArgumentError(
                    f"index range {b.param}[{d.start}:{d.stop}] is outside the array passed "
                    f"(length {arr.shape[0]})",
                    fn.loc,
                )
            for k in range(d.start, d.stop + 1):
                buf[k, d.offset + k - d.start] = 1.0
        bufs.append(buf)
        out[b.param] = buf
    extra = []
    if result.function.params[-1].name.startswith("_d_result"):
        res = np.zeros(n)
        extra.append(res)
        out["_d_result"] = res
    native = module._jit.get(result.function.name)
    _invoke(native, conv + bufs + extra, result.function.name)
    return out


def _directions(fn: ir.Function, specs, conv: list) -> list[tuple[str, int | None, int | None]]:
    """``(param, start, stop)`` for each wrt entry: a whole array covers the array passed;
    a range must lie inside it."""
    by_name = dict(zip((p.name for p in fn.params), conv))
    out = []
    for w in specs:
        if not fn.params[w.index].type.ptr:
            out.append((w.param, None, None))
            continue
        length = by_name[w.param].shape[0]
        start, stop = (0, length - 1) if w.start is None else (w.start, w.stop)
        if stop >= length:
            raise ArgumentError(
                f"index range {w.param}[{start}:{stop}] is outside the array passed (length {length})",
                fn.loc,
            )
        out.append((w.param, start, stop))
    return out


class VectorDerivative:
    """Vector forward mode: one call gives the derivative w.r.t. every input in ``wrt``
    (a float per scalar, a numpy array per array), in one pass over the function."""

    def __init__(self, primal: Function, specs):
        self.primal = primal
        self.specs = specs
        self.code = ""
        self.last = None
        # Set when vector mode cannot differentiate the function but scalar forward mode can
        # (a custom pushforward takes scalar tangents): one derivative per direction then.
        self._scalar: dict[str, Derivative] | None = None

    def _one_at_a_time(self, concrete, args):
        """The same tuple from one scalar forward derivative per direction, each run on
        fresh copies of the arrays (the primal may write into them)."""
        out = []
        for p, a, b in concrete:
            keys = [p] if a is None else [f"{p}[{k}]" for k in range(a, b + 1)]
            vals = []
            for key in keys:
                if key not in self._scalar:
                    self._scalar[key] = differentiate(self.primal, key)
                at = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
                vals.append(self._scalar[key](*at))
            out.append(vals[0] if a is None else np.array(vals))
        self.code = "\n".join(d.code for d in self._scalar.values())
        return tuple(out)

    def _kernel(self, concrete) -> Result | None:
        """The compiled vector-mode kernel for these concrete directions; None when only
        scalar forward mode can differentiate the function (then ``_scalar`` is set)."""
        if self._scalar is not None:
            return None
        src = self.primal.module.source
        try:
            res = _derive(self.primal, lambda: src.vector(self.primal.name, concrete))
        except (UnsupportedError, NoDerivativeError) as exc:
            p, a, _ = concrete[0]
            try:  # does scalar forward mode manage? then the limitation is vector mode's
                differentiate(self.primal, p if a is None else f"{p}[{a}]")
            except PycladError:
                raise exc from None
            self._scalar = {}
            return None
        self.code = res.code
        return res

    def __call__(self, *args):
        fn = self.primal.ir
        conv = _unshared(fn, convert_args(fn, args, [])[0])
        concrete = _directions(fn, self.specs, conv)
        res = self._kernel(concrete)
        if res is None:
            return self._one_at_a_time(concrete, conv)
        tangents = _call_vector(self.primal.module, res, fn, conv)
        values = tangents["_d_result"]
        out, k = [], 0
        for p, a, b in concrete:
            if a is None:
                out.append(float(values[k]))
                k += 1
            else:
                out.append(values[k : k + b - a + 1].copy())
                k += b - a + 1
        return tuple(out)


class Hessian:
    """Forward over reverse: returns the symmetric matrix of second derivatives over the
    scalar inputs in ``wrt`` (array params expand to their elements or index range)."""

    def __init__(self, primal: Function, specs):
        self.primal = primal
        self.specs = specs
        self.code = ""

    def _kernel(self, concrete) -> tuple[Result, Result]:
        """The gradient and the compiled vector-forward kernel over it, for these directions."""
        src = self.primal.module.source
        holder = {}

        def make():
            g, h = src.hessian(self.primal.name, concrete)
            holder["grad"] = g
            return h

        kernel = _derive(self.primal, make)
        self.code = kernel.code
        return holder["grad"], kernel

    def __call__(self, *args):
        fn = self.primal.ir
        conv, _ = convert_args(fn, args, [])
        by_name = dict(zip((p.name for p in fn.params), conv))
        concrete = _directions(fn, self.specs, conv)
        grad, kernel = self._kernel(concrete)
        gconv = list(conv)
        for o in grad.extras:  # the gradient's adjoint outputs, zeroed
            p = fn.param(o.param)
            gconv.append(
                np.zeros(
                    by_name[o.param].shape[0] if p.type.ptr else 1, dtype=_DTYPES.get(p.type.base, np.float64)
                )
            )
        tangents = _call_vector(self.primal.module, kernel, kernel.function, gconv)
        adjoint_of = {o.param: o.name for o in grad.extras}
        rows = []
        n = kernel.extras[2]
        for p, a, b in concrete:
            # An adjoint that no input moves (a piecewise-constant derivative) has no tangent
            # buffer: its rows of the Hessian are zero.
            t = tangents.get(adjoint_of[p])
            if t is None:
                t = np.zeros((by_name[p].shape[0] if a is not None else 1, n))
            rows.append(t[a : b + 1] if a is not None else t[:1])
        return np.vstack(rows)


def _handle(fn) -> Function:
    if isinstance(fn, Function):
        return fn
    raise ArgumentError(
        f"expected a function of a pyclad module (m.f), got {type(fn).__name__}; "
        "load the C++ with pyclad.load or pyclad.cppdef first"
    )


def _derive(fn: Function, make) -> Result:
    """Generate a derivative and compile what of it (and its helpers) is not compiled yet.
    What is compiled is tracked per module: the source may have generated a function
    earlier without compiling it (hessian() checks its gradient up front)."""
    module = fn.module
    result = make()
    new = [f for f in result.helpers + [result.function] if f.name not in module._compiled]
    module._compile(result, new)
    module._compiled.update(f.name for f in new)
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


def cppdef(
    code: str, std: str = "c++17", include_dirs=(), defines=None, filename: str = "<string>"
) -> Module:
    """Parse and compile C++ given as a string."""
    return _module(code, filename, std, include_dirs, defines)


def _module(text, filename, std, include_dirs, defines) -> Module:
    source = Source(text, filename, std, include_dirs, defines)
    jit = JitModule(text, filename, include_dirs, defines)
    module = Module(source, jit)
    jit_cache.attach(module)  # derivatives from the on-disk cache (backends/jit_cache.py)
    return module


def differentiate(fn, wrt=None, order: int = 1):
    """Forward-mode derivative of ``fn`` with respect to one scalar parameter or one array
    element (``"arr[1]"``); ``order`` > 1 differentiates again.  Several inputs
    (``["x", "y"]``, ``"x, arr"``, or None with more than one input) give vector mode:
    all the derivatives in one pass, returned as a tuple."""
    fn = _handle(fn)
    specs = parse_wrt(fn.ir, wrt)
    single = len(specs) == 1 and (
        (not fn.ir.params[specs[0].index].type.ptr)
        or (specs[0].start is not None and specs[0].start == specs[0].stop)
    )
    if single or order != 1:
        result = _derive(fn, lambda: fn.module.source.forward(fn.name, wrt, order))
        return Derivative(fn, result)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: forward mode needs a floating return value", fn.ir.loc
        )
    d = VectorDerivative(fn, specs)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        d._kernel(concrete)  # no array lengths needed: errors now, not at call time
    return d


def _concrete_without_lengths(fn: ir.Function, specs):
    """The directions of ``specs`` when they do not depend on the arrays passed (scalars and
    explicit index ranges); None when a whole array is named (its length comes with a call)."""
    out = []
    for w in specs:
        if fn.params[w.index].type.ptr:
            if w.start is None:
                return None
            out.append((w.param, w.start, w.stop))
        else:
            out.append((w.param, None, None))
    return out


def hessian(fn, wrt=None) -> Hessian:
    """Hessian by forward over reverse.  ``wrt``: scalar names and array index ranges
    (``"x[0:2]"``, inclusive as in clad); None for every floating-point input."""
    fn = _handle(fn)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: a Hessian needs a floating return value", fn.ir.loc
        )
    specs = parse_wrt(fn.ir, wrt)
    fn.module.source.gradient(fn.name, [w.param for w in specs])  # errors now, not at call time
    h = Hessian(fn, specs)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        h._kernel(concrete)  # no array lengths needed: compile it now
    return h


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
    _, layout = fn.module.source.jacobian_layout(fn.name, wrt)  # errors now, not at call time
    return Jacobian(fn, layout, wrt, mode)


__all__ = [
    "Derivative",
    "Function",
    "Gradient",
    "Hessian",
    "Jacobian",
    "Module",
    "ValueAndGrad",
    "VectorDerivative",
    "cppdef",
    "differentiate",
    "gradient",
    "hessian",
    "jacobian",
    "load",
    "value_and_grad",
]
