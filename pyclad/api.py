"""The public Python API: load C++, ask for derivatives, call them on numbers and arrays."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from . import ir
from .ad import compose
from .arguments import Plan, check_aliasing, output_array, plan_of, private_array, record_argument
from .backends import jit_cache
from .backends.call import check_extents, entry_name, invoke, length_plan, with_lengths
from .backends.jit import JitModule
from .checked import CHECKED
from .checked import source as checked_source
from .errors import (
    ArgumentError,
    CompileError,
    NoDerivativeError,
    PycladError,
    UnsupportedError,
    WrtError,
)
from .frontend.options import read_source
from .source import Result, Source, parse_wrt

_DTYPES = {"double": np.float64, "float": np.float32, "long double": np.longdouble}
_INT_RANGE = {  # C++ integer type -> (min, max), from the platform's sizes
    name: (0, (1 << 8 * ctypes.sizeof(c)) - 1)
    if unsigned
    else (-(1 << 8 * ctypes.sizeof(c) - 1), (1 << 8 * ctypes.sizeof(c) - 1) - 1)
    for name, c, unsigned in [
        ("char", ctypes.c_char, False),
        ("signed char", ctypes.c_byte, False),
        ("unsigned char", ctypes.c_ubyte, True),
        ("short", ctypes.c_short, False),
        ("unsigned short", ctypes.c_ushort, True),
        ("int", ctypes.c_int, False),
        ("unsigned int", ctypes.c_uint, True),
        ("long", ctypes.c_long, False),
        ("unsigned long", ctypes.c_ulong, True),
        ("long long", ctypes.c_longlong, False),
        ("unsigned long long", ctypes.c_ulonglong, True),
    ]
}
_F64 = np.dtype(np.float64)


class Module:
    """A loaded C++ source.  Its functions are attributes: ``m.f(1.0, 2.0)``."""

    def __init__(self, source: Source, jit: JitModule):
        self._source = source
        self._jit = jit
        self._functions: dict[str, Function] = {}
        self._compiled: set[str] = set()  # generated functions already defined in the JIT
        self._callers: dict[tuple[str, bool], object] = {}  # (name, checked) -> caller of the kernel

    @property
    def source(self) -> Source:
        return self._source

    def __getattr__(self, name: str) -> Function:
        if name.startswith("_"):
            raise AttributeError(name)
        index = self._source.index
        if name in index.records:  # the class (its methods are m["Rec::method"])
            return self[name]
        if any(k.startswith(name + "::") for k in (*index.definitions, *index.records)):
            return _Namespace(self, name)
        return self[name]

    def __getitem__(self, name: str) -> Function:
        """A function by (qualified) name: ``m["phys::spring"]``, the same as ``m.phys.spring``.
        A struct or class of the source is its cppyy class: ``m.Params(1.5, -0.5)``."""
        if name in self._source.index.records:
            return self.record_class(name)
        if name not in self._functions:
            fn = self._source.function(name, body=False)  # a body is lowered when differentiated
            self._functions[name] = Function(self, fn, name)
        return self._functions[name]

    def __dir__(self):
        return sorted({*self._source.index.definitions, *self._source.index.records})

    def record_class(self, name: str):
        """The cppyy class of the record ``name`` (as spelled in the source's IR types)."""
        return self._jit.get(name)

    def _compile(self, result: Result, new: list[ir.Function], checked: bool = False) -> None:
        if new:
            from .source import render

            if not checked:
                self._jit.define(render(new, root=self._jit.root), f"the derivative {result.function.name}")
                return
            what = f"the bounds-checked variant of the derivative {result.function.name}"
            try:
                generated = [f.name for f in result.helpers + [result.function]]
                self._jit.define(checked_source(new, render, generated, self._jit.root), what)
            except CompileError as exc:
                hint = (
                    f"{what} does not compile; checked=False calls the plain kernel (without bounds checks)"
                )
                raise CompileError(hint, exc.loc, [hint, *exc.diagnostics]) from None

    def _caller(self, kernel: ir.Function, checked: bool):
        """A function of the argument list that calls the compiled generated function
        ``kernel``: through its bounds-checked entry (array lengths passed along) or the
        plain one.  Looked up once per kernel and variant."""
        key = (kernel.name, checked)
        hit = self._callers.get(key)
        if hit is None:
            native = self._jit.get(entry_name(kernel.name, checked))
            hit = self._callers[key] = _bind(
                native, length_plan(kernel.params) if checked else (), kernel.name
            )
        return hit


def _bind(native, plan: tuple[int, ...], name: str):
    """A caller of ``native`` taking the argument list; ``plan``: where lengths go (checked entries)."""
    if plan:
        return lambda args: invoke(native, with_lengths(plan, args), name)
    return lambda args: invoke(native, args, name)


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
            if any(
                k.startswith(f"{self._prefix}::{name}::")
                for k in (*self._module.source.index.definitions, *self._module.source.index.records)
            )
            else self._module[f"{self._prefix}::{name}"]
        )


class Function:
    """A primal function of a loaded module: callable, and the handle derivatives take."""

    def __init__(self, module: Module, fn: ir.Function, key: str | None = None):
        self.module = module
        self.ir = fn
        self.name = key or fn.name  # qualified for a function in a namespace: "phys::spring"
        self._native = None
        self._refined = False  # the argument plan refined by the write analysis (_refine_plan)

    def __repr__(self) -> str:
        return f"<pyclad function {self.name}>"

    def __call__(self, *args):
        if self._native is None:
            _refine_plan(self)
            self._native = self.module._jit.get(self.name)
        conv, _ = convert_args(self.ir, args, [])
        return _result(self.ir.ret, invoke(self._native, conv, self.name))


def convert_args(
    fn: ir.Function, args: Sequence, extras, private: bool = False
) -> tuple[list, list[np.ndarray]]:
    """Check and convert Python arguments for ``fn``'s parameters; allocate tangent arrays.

    ``private``: a derivative call, whose non-const arrays are fresh copies (it never
    modifies the caller's arrays); otherwise a primal call, which writes the caller's arrays
    in place and so refuses what it cannot write (see pyclad.arguments)."""
    if len(args) != len(fn.params):
        sig = ", ".join(p.type.spell(p.name) for p in fn.params)
        raise ArgumentError(f"{fn.name}({sig}) takes {len(fn.params)} arguments, got {len(args)}", fn.loc)
    plan = _plan(fn)
    if plan.scalars and not extras and all(type(a) is float for a in args):
        return list(args), []  # the common case of a scalar function, at no cost
    if plan.written and len(plan.arrays) > 1:
        check_aliasing(fn, plan, args)
    out, arrays = [], {}
    for p, kind, a in zip(fn.params, plan.kinds, args):
        # Fast paths for the common cases; everything else (and every error) in _convert.
        if kind == "f" and type(a) is float:
            out.append(a)
        elif (
            (kind == "a" or kind == "o")
            and type(a) is np.ndarray
            and a.dtype is _F64
            and a.ndim == 1
            and a.size
            and (a.flags.carray if kind == "o" else a.flags.c_contiguous)
        ):
            if kind == "o" and private:
                a = a.copy()
            arrays[p.name] = a
            out.append(a)
        else:
            out.append(_convert(fn, p, a, arrays, private))
    made = []
    for e in extras:
        if e.like not in arrays:  # a pointer to a record: the tangent is a zero record of its class
            buf = type(out[next(k for k, p in enumerate(fn.params) if p.name == e.like)])()
            if e.field:
                *path, last = e.field.split(".")
                inner = buf
                for name in path:
                    inner = getattr(inner, name)
                setattr(inner, last, 1.0)
            out.append(buf)
            made.append(buf)
            continue
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
    check_extents(fn, out)
    return out, made


_plans: dict[int, tuple[ir.Function, Plan]] = {}


def _plan(fn: ir.Function) -> Plan:
    """How each argument of ``fn`` is passed (cached per function)."""
    hit = _plans.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    plan = plan_of(fn)
    _plans[id(fn)] = (fn, plan)
    return plan


def _refine_plan(function: Function) -> None:
    """Aliasing matters only for the arrays a function really writes: where its body can be
    read, the write analysis decides (``dot(double* a, double* b)`` called with ``(x, x)``
    reads both and is fine); otherwise every non-const pointer counts as written."""
    if function._refined:
        return
    function._refined = True
    source = function.module.source
    try:
        outputs = compose.split_params(source.function(function.name), None, source.program).outputs
    except Exception:  # noqa: BLE001 - no analysis: the type-based plan stays
        return
    plan = _plan(function.ir)
    written = tuple(i for i in plan.written if function.ir.params[i].name in outputs)
    _plans[id(function.ir)] = (function.ir, replace(plan, written=written))


def _convert(fn: ir.Function, p: ir.Param, a, arrays: dict, private: bool = False):
    t = p.type
    where = f"argument '{p.name}' of {fn.name}"
    if t.kind == ir.RECORD and t.ptr <= 1 and not t.dims:
        return record_argument(fn, p, a, private)
    if t.ptr == 1 and t.base in _DTYPES:
        dtype = _DTYPES[t.base]
        if isinstance(a, (int, float)) or a is None:
            raise ArgumentError(f"{where} is {t.spell()}: pass an array, got {type(a).__name__}", fn.loc)
        if not t.const:  # written: in place by a primal call, into a private copy by a derivative's
            arr = private_array(fn, p, a, dtype) if private else output_array(fn, p, a, dtype)
            arrays[p.name] = arr
            return arr
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
        try:
            return float(a)
        except OverflowError:  # an int beyond every double
            raise ArgumentError(f"{where} is {t.spell()}: {a} is outside its range", fn.loc) from None
    if t.base == "bool":
        return bool(a)
    if isinstance(a, bool) or not isinstance(a, int):
        if isinstance(a, float) and a.is_integer():
            return int(a)
        raise ArgumentError(f"{where} must be an integer, got {a!r}", fn.loc)
    lo, hi = _INT_RANGE.get(t.base, (a, a))
    if not lo <= a <= hi:
        raise ArgumentError(f"{where} is {t.spell()}: {a} is outside its range [{lo}, {hi}]", fn.loc)
    return a


def _result(t: ir.Type, value):
    if t.is_void:
        return None
    if t.holds_float:
        return float(value)
    return value


class Derivative:
    """A compiled derivative.  ``code`` is its C++ source; calling it takes the
    primal function's arguments."""

    def __init__(self, primal: Function, result: Result, as_tuple: bool = False, checked: bool = True):
        self.primal = primal
        self.result = result
        self.name = result.function.name
        self.checked = checked  # calls go through the bounds-checked variant of the kernel
        self._call = None
        self._as_tuple = as_tuple  # wrt was a list or a comma-separated string: a 1-tuple

    @property
    def code(self) -> str:
        return self.result.code

    def __repr__(self) -> str:
        return f"<pyclad derivative {self.name}>"

    def _fn(self):
        if self._call is None:
            self._call = self.primal.module._caller(self.result.function, self.checked)
        return self._call

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, self.result.extras, private=True)
        value = float((self._call or self._fn())(conv))
        return (value,) if self._as_tuple else value


class Gradient(Derivative):
    """A compiled gradient: one entry per wrt parameter (a float for a scalar, a numpy
    array for an array) -- the bare entry when wrt was a single name, else a tuple."""

    def __init__(self, primal: Function, result: Result, single: bool = False, checked: bool = True):
        super().__init__(primal, result, checked=checked)
        self.single = single
        fn = primal.ir
        index = {p.name: i for i, p in enumerate(fn.params)}
        # Per adjoint output: the index of its array param (None: a scalar's one double),
        # its dtype, and whether it is returned.
        self._outs = [
            (
                index[o.param] if fn.param(o.param).type.ptr else None,
                _DTYPES.get(fn.param(o.param).type.base, np.float64),
                o.wrt,
            )
            for o in result.extras
        ]
        # A record's adjoint is a fresh object of the module's class for it (zero-initialised,
        # returned): per output, its class or None.
        self._records = [
            primal.module.record_class(t.base) if (t := fn.param(o.param).type).kind == ir.RECORD else None
            for o in result.extras
        ]

        # Scalar adjoints of double (all a scalar function has) live in one block, zeroed per
        # call: no allocation.  Array adjoints are fresh arrays (they are returned).
        self._block = None
        if not any(self._records) and all(i is None and dtype == np.float64 for i, dtype, _ in self._outs):
            self._block = np.zeros(len(self._outs))
            self._views = [self._block[k : k + 1] for k in range(len(self._outs))]
            self._every = all(wrt for _, _, wrt in self._outs)

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, [], private=True)
        return self._run(conv)

    def _run(self, conv: list):
        """The gradient at converted arguments (private copies: the kernel may write them)."""
        if self._block is not None:
            self._block.fill(0.0)
            (self._call or self._fn())(conv + self._views)
            values = self._block.tolist()
            if not self._every:
                values = [v for v, (_, _, wrt) in zip(values, self._outs) if wrt]
            return values[0] if self.single else tuple(values)
        outs = [
            rec() if rec is not None else np.zeros(1 if i is None else conv[i].shape[0], dtype)
            for (i, dtype, _), rec in zip(self._outs, self._records)
        ]
        (self._call or self._fn())(conv + outs)
        values = [
            buf if i is not None or rec is not None else float(buf[0])
            for (i, _, wrt), buf, rec in zip(self._outs, outs, self._records)
            if wrt
        ]
        return values[0] if self.single else tuple(values)


class ValueAndGrad:
    """Calls the primal and the gradient: ``(value, gradient)``, the gradient shaped as
    Gradient returns it.  Both run on private copies of the arrays the function writes."""

    def __init__(self, grad: Gradient):
        self.grad = grad
        self._written = plan_of(grad.primal.ir).written

    @property
    def code(self) -> str:
        return self.grad.code

    def __call__(self, *args):
        primal = self.grad.primal
        conv, _ = convert_args(primal.ir, args, [], private=True)
        if primal._native is None:
            primal._native = primal.module._jit.get(primal.name)
        at = conv
        if self._written:  # the primal writes its own copies; the gradient is taken at the args given
            at = list(conv)
            for i in self._written:
                if isinstance(at[i], np.ndarray):
                    at[i] = at[i].copy()
        value = _result(primal.ir.ret, invoke(primal._native, at, primal.name))
        return value, self.grad._run(conv)


class Jacobian:
    """A Jacobian: calling it returns a 2-D array, rows = output elements, columns =
    inputs in parameter order (arrays expanded).  Each mode's C++ is generated and
    compiled on the first call that needs it, so a function that only one mode can
    differentiate still has a Jacobian in that mode.  The kernel and its buffer layout
    are kept per set of array lengths: a later call with the same lengths generates nothing."""

    def __init__(self, primal: Function, layout, wrt, mode: str, checked: bool = True):
        self.primal = primal
        self.checked = checked
        self.layout = layout
        self.wrt = wrt
        self.mode = mode
        self.name = f"{primal.name}_jac"
        self.last_mode = None
        self._reverse: Result | None = None
        self._last: Result | None = None
        self._cannot: set[str] = set()  # modes "auto" found unable to differentiate this function
        self._row_by_row = False
        index = {p.name: i for i, p in enumerate(primal.ir.params)}
        self._size_params = tuple(index[a] for a in layout.sizes)
        self._runs: dict[tuple, object] = {}

    def __repr__(self) -> str:
        return f"<pyclad jacobian of {self.primal.name} ({self.mode})>"

    @property
    def result(self) -> Result:
        """The reverse-mode driver (generated now if not yet)."""
        if self._reverse is None:
            src = self.primal.module.source
            self._reverse = _derive(
                self.primal, lambda: src.jacobian(self.primal.name, self.wrt, "reverse"), self.checked
            )
        return self._reverse

    @property
    def code(self) -> str:
        """The C++ of the kernel the last call ran; before any call, the reverse-mode driver
        (mode "reverse" or "auto") or "" (mode "forward": its kernel depends on the lengths)."""
        if self._last is not None:
            return self._last.code
        return self.result.code if self.mode != "forward" else ""

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, [], private=True)
        sizes = _lengths(conv, self._size_params)
        run = self._runs.get(sizes)
        if run is None:
            run = self._runs[sizes] = self._prepare(conv, sizes)
        return run(conv)

    def _prepare(self, conv, sizes):
        """A function of the converted arguments that computes the Jacobian for these lengths."""
        layout = self.layout
        size_of = dict(zip(layout.sizes, sizes))
        rows = sum(size_of[o] for o in layout.outputs)
        cols = sum(size_of.get(i, 1) for i in layout.inputs)
        mode = self.mode
        if mode == "auto":
            mode = "forward" if cols <= rows else "reverse"
            if mode in self._cannot:  # the other mode is slower but correct
                mode = "reverse" if mode == "forward" else "forward"
        try:
            return self._runner(mode, conv, size_of, sizes, rows, cols)
        except (UnsupportedError, NoDerivativeError):
            if self.mode != "auto" or self._cannot:
                raise
            self._cannot.add(mode)
            other = "reverse" if mode == "forward" else "forward"
            return self._runner(other, conv, size_of, sizes, rows, cols)

    def _runner(self, mode, conv, size_of, sizes, rows, cols):
        if mode == "reverse" and rows <= VECTOR_REVERSE_MAX_ROWS and not self._row_by_row:
            try:
                return self._vector_reverse(size_of, rows)
            except (UnsupportedError, NoDerivativeError):
                self._row_by_row = True  # e.g. a custom pullback: one pullback call per row
        if mode == "reverse":
            result = self.result
            call, tail = self.primal.module._caller(result.function, self.checked), list(sizes)

            def run_reverse(conv):
                jac = np.zeros((rows, cols))
                call(conv + [jac] + tail)
                self.last_mode, self._last = "reverse", result
                return jac

            return run_reverse
        layout = self.layout
        specs = [(i, 0, size_of[i] - 1) if i in size_of else (i, None, None) for i in layout.inputs]
        src = self.primal.module.source
        vres = _derive(self.primal, lambda: src.vector(self.primal.name, specs, "jac_fwd"), self.checked)
        outputs = list(layout.outputs)
        call = _VectorCall(self.primal.module, vres, self.primal.ir, conv, self.checked, first=outputs)
        span = call.span(outputs)
        matrix = call.block[span[0] : span[1]].reshape(rows, cols) if span is not None else None

        def run_forward(conv):
            call(conv)
            self.last_mode, self._last = "forward", vres
            if matrix is not None:
                return matrix.copy()
            # An output that no input reaches has no tangent buffer: its rows are zero.
            return np.vstack(
                [call.rows(o) if o in call.sizes else np.zeros((size_of[o], cols)) for o in outputs]
            )

        return run_forward

    def _vector_reverse(self, size_of, rows):
        """All rows in one reverse sweep with ``pyclad::vec<rows>`` adjoints."""
        fn = self.primal.ir
        layout = self.layout
        src = self.primal.module.source
        res = _derive(
            self.primal, lambda: src.jacobian_vector_reverse(self.primal.name, layout, rows), self.checked
        )
        # One block holds every buffer, the inputs' first (in column order): their rows,
        # transposed, are the Jacobian.  Outputs are seeded with one direction per row.
        order = list(layout.inputs) + [
            p.name for p in fn.params if p.name in layout.outputs and p.name not in layout.inputs
        ]
        at, offset = {}, 0
        for name in order:
            at[name] = offset
            offset += size_of.get(name, 1) * rows
        template = np.zeros(offset)
        row = 0
        for p in fn.params:
            if p.name in layout.outputs:
                k = size_of[p.name]
                template[at[p.name] + np.arange(k) * rows + row + np.arange(k)] = 1.0
                row += k
        block = template.copy()
        tail = [
            block[at[p.name] : at[p.name] + size_of.get(p.name, 1) * rows]
            for p in fn.params
            if p.name in layout.inputs or p.name in layout.outputs
        ]
        cols = sum(size_of.get(i, 1) for i in layout.inputs)
        call = self.primal.module._caller(res.function, self.checked)

        matrix = block[: cols * rows].reshape(cols, rows).T

        def run(conv):
            block[:] = template
            call(conv + tail)
            self.last_mode, self._last = "reverse", res
            return matrix.copy()

        return run


VECTOR_REVERSE_MAX_ROWS = 256  # above this, one pullback call per row (no per-size code)


class _VectorCall:
    """A compiled vector-mode kernel with its tangent buffers laid out (and seeded) for one
    set of array lengths.  Every buffer lives in one block that is reset from a seeded
    template before each call, so a call allocates nothing; what a caller returns from the
    block must be copied.  (cppyy holds the GIL while the kernel runs, so two calls never
    share the block at the same time.)  ``first`` names buffers to lay out first, next to each other and
    in that order, so that their rows form one matrix (see ``span``); ``zeros`` gives the
    lengths of zeroed arrays passed between the arguments and the buffers (a gradient's
    adjoint outputs, for a Hessian)."""

    def __init__(
        self, module: Module, result: Result, fn: ir.Function, conv: list, checked: bool, zeros=(), first=()
    ):
        buffers, _, n = result.extras
        index = {p.name: i for i, p in enumerate(fn.params)}
        self.names = [b.param for b in buffers]
        self.sizes = {b.param: conv[index[b.param]].shape[0] for b in buffers}
        order = [b for b in first if b in self.sizes] + [b for b in self.names if b not in first]
        self.at, offset = {}, 0
        for b in order:
            self.at[b] = offset
            offset += self.sizes[b] * n
        zero_at = []
        for k in zeros:
            zero_at.append(offset)
            offset += k
        has_result = result.function.params[-1].name.startswith("_d_result")
        self.template = np.zeros(offset + (n if has_result else 0))
        for b in buffers:
            self._seed(fn, b, n)
        self.block = self.template.copy()
        self._seeded = bool(self.template.any())
        self.tail = [self.block[o : o + k] for o, k in zip(zero_at, zeros)]
        self.tail += [self.block[self.at[b] : self.at[b] + self.sizes[b] * n] for b in self.names]
        self.result = self.block[offset : offset + n] if has_result else None
        if has_result:
            self.tail.append(self.result)
        self.n = n
        self.name = result.function.name
        self.call = module._caller(result.function, checked)

    def _seed(self, fn: ir.Function, b, n: int) -> None:
        d = b.direction
        if d is None:
            return
        if d.stop >= self.sizes[b.param]:
            raise ArgumentError(
                f"index range {b.param}[{d.start}:{d.stop}] is outside the array passed "
                f"(length {self.sizes[b.param]})",
                fn.loc,
            )
        for k in range(d.start, d.stop + 1):
            self.template[self.at[b.param] + k * n + d.offset + k - d.start] = 1.0

    def __call__(self, conv: list) -> None:
        if self._seeded:
            self.block[:] = self.template
        else:
            self.block.fill(0.0)
        self.call(conv + self.tail)

    def rows(self, name: str) -> np.ndarray:
        """Buffer ``name`` as a (rows x N) view into the block."""
        start = self.at[name]
        return self.block[start : start + self.sizes[name] * self.n].reshape(self.sizes[name], self.n)

    def span(self, names) -> tuple[int, int] | None:
        """Where in the block buffers ``names`` lie, if next to each other in that order."""
        if not names or any(b not in self.at for b in names) or len(set(names)) != len(names):
            return None
        start = end = self.at[names[0]]
        for b in names:
            if self.at[b] != end:
                return None
            end += self.sizes[b] * self.n
        return start, end


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


def _lengths(conv: list, params: tuple[int, ...]) -> tuple[int, ...]:
    """The lengths of the arrays at ``params``: the key of a kernel kept per array lengths."""
    return tuple([conv[i].shape[0] for i in params]) if params else ()


def _array_params(fn: ir.Function, specs) -> tuple[int, ...]:
    """Indices of the array params among ``specs``: their lengths decide the kernel."""
    return tuple(w.index for w in specs if fn.params[w.index].type.ptr)


class VectorDerivative:
    """Vector forward mode: one call gives the derivative w.r.t. every input in ``wrt``
    (a float per scalar, a numpy array per array), in one pass over the function: a tuple,
    or the bare entry when wrt was a single name.  The kernel is kept per set of array
    lengths."""

    def __init__(self, primal: Function, specs, single: bool = False, checked: bool = True):
        self.primal = primal
        self.specs = specs
        self.single = single
        self.checked = checked
        self.last = None
        self._last: Result | None = None
        self._lengths = _array_params(primal.ir, specs)
        self._runs: dict[tuple, object] = {}
        # Set when vector mode cannot differentiate the function but scalar forward mode can
        # (a custom pushforward takes scalar tangents): one derivative per direction then.
        self._scalar: dict[str, Derivative] | None = None

    @property
    def code(self) -> str:
        """The C++ of the last kernel compiled ("" before any)."""
        if self._scalar:
            return "\n".join(d.code for d in self._scalar.values())
        return self._last.code if self._last is not None else ""

    def _one_at_a_time(self, concrete, conv):
        """The same tuple from one scalar forward derivative per direction (each runs on
        its own private copies of the arrays)."""
        out = []
        for p, a, b in concrete:
            keys = [p] if a is None else [f"{p}[{k}]" for k in range(a, b + 1)]
            vals = []
            for key in keys:
                if key not in self._scalar:
                    self._scalar[key] = differentiate(self.primal, key, checked=self.checked)
                vals.append(self._scalar[key](*conv))
            out.append(vals[0] if a is None else np.array(vals))
        return tuple(out)

    def _kernel(self, concrete) -> Result | None:
        """The compiled vector-mode kernel for these concrete directions; None when only
        scalar forward mode can differentiate the function (then ``_scalar`` is set)."""
        if self._scalar is not None:
            return None
        src = self.primal.module.source
        try:
            res = _derive(self.primal, lambda: src.vector(self.primal.name, concrete), self.checked)
        except (UnsupportedError, NoDerivativeError) as exc:
            p, a, _ = concrete[0]
            try:  # does scalar forward mode manage? then the limitation is vector mode's
                differentiate(self.primal, p if a is None else f"{p}[{a}]")
            except PycladError:
                raise exc from None
            self._scalar = {}
            return None
        self._last = res
        return res

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, [], private=True)
        key = _lengths(conv, self._lengths)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = self._prepare(conv)
        out = run(conv)
        return out[0] if self.single else out

    def _prepare(self, conv):
        """A function of the converted arguments giving the tuple, for these array lengths."""
        fn = self.primal.ir
        concrete = _directions(fn, self.specs, conv)
        res = self._kernel(concrete)
        if res is None:
            return lambda conv: self._one_at_a_time(concrete, conv)
        call = _VectorCall(self.primal.module, res, fn, conv, self.checked)
        values = call.result
        pieces, k = [], 0  # per entry: (first direction, count or None for a scalar)
        for _, a, b in concrete:
            pieces.append((k, None) if a is None else (k, b - a + 1))
            k += 1 if a is None else b - a + 1

        scalars = all(c is None for _, c in pieces)

        def run(conv):
            call(conv)
            if scalars:
                return tuple(values.tolist())
            return tuple(float(values[k]) if c is None else values[k : k + c].copy() for k, c in pieces)

        return run


class Hessian:
    """Forward over reverse: returns the symmetric matrix of second derivatives over the
    scalar inputs in ``wrt`` (array params expand to their elements or index range).  The
    kernel and its buffers are kept per set of array lengths."""

    def __init__(self, primal: Function, specs, checked: bool = True):
        self.primal = primal
        self.specs = specs
        self.checked = checked
        self._last: Result | None = None
        self._lengths = _array_params(primal.ir, specs)
        self._runs: dict[tuple, object] = {}

    @property
    def code(self) -> str:
        """The C++ of the last kernel compiled ("" before any)."""
        return self._last.code if self._last is not None else ""

    def _kernel(self, concrete) -> tuple[Result, Result]:
        """The gradient and the compiled vector-forward kernel over it, for these directions."""
        src = self.primal.module.source
        holder = {}

        def make():
            g, h = src.hessian(self.primal.name, concrete)
            holder["grad"] = g
            return h

        kernel = _derive(self.primal, make, self.checked)
        self._last = kernel
        return holder["grad"], kernel

    def __call__(self, *args):
        conv, _ = convert_args(self.primal.ir, args, [], private=True)
        key = _lengths(conv, self._lengths)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = self._prepare(conv)
        return run(conv)

    def _prepare(self, conv):
        """A function of the converted arguments giving the Hessian, for these array lengths."""
        fn = self.primal.ir
        index = {p.name: i for i, p in enumerate(fn.params)}
        concrete = _directions(fn, self.specs, conv)
        grad, kernel = self._kernel(concrete)
        adjoints = []  # the gradient's adjoint outputs, zeroed on each call
        for o in grad.extras:
            p = fn.param(o.param)
            length = conv[index[o.param]].shape[0] if p.type.ptr else 1
            adjoints.append((length, _DTYPES.get(p.type.base, np.float64)))
        # Adjoint outputs of double live in the call's block; others are allocated per call.
        in_block = all(t == np.float64 for _, t in adjoints)
        placeholders = [np.zeros(k, t) for k, t in adjoints]
        adjoint_of = {o.param: o.name for o in grad.extras}
        wanted = [adjoint_of[p] for p, _, _ in concrete]
        call = _VectorCall(
            self.primal.module,
            kernel,
            kernel.function,
            conv + placeholders,
            self.checked,
            zeros=[k for k, _ in adjoints] if in_block else (),
            first=wanted,
        )
        n = kernel.extras[2]
        whole = all(
            a is None or (a == 0 and b == call.sizes.get(name, 0) - 1)
            for (_, a, b), name in zip(concrete, wanted)
        )
        span = call.span(wanted) if whole else None
        matrix = call.block[span[0] : span[1]].reshape(n, n) if span is not None else None
        # Per direction entry: its tangent buffer and rows, or zero rows when no input moves
        # that adjoint (a piecewise-constant derivative has no tangent buffer).
        pieces = [
            (name, (a, b + 1) if a is not None else (0, 1)) for (_, a, b), name in zip(concrete, wanted)
        ]

        def run(conv):
            call(conv if in_block else conv + [np.zeros(k, t) for k, t in adjoints])
            if matrix is not None:
                return matrix.copy()
            return np.vstack(
                [
                    call.rows(name)[s:e] if name in call.sizes else np.zeros((e - s, n))
                    for name, (s, e) in pieces
                ]
            )

        return run


def _handle(fn) -> Function:
    if isinstance(fn, Function):
        _refine_plan(fn)
        return fn
    raise ArgumentError(
        f"expected a function of a pyclad module (m.f), got {type(fn).__name__}; "
        "load the C++ with pyclad.load or pyclad.cppdef first"
    )


def _derive(fn: Function, make, checked: bool = False) -> Result:
    """Generate a derivative and compile what of it (and its helpers) is not compiled yet,
    in the bounds-checked variant or the plain one.  What is compiled is tracked per module
    and variant: the source may have generated a function earlier without compiling it
    (hessian() checks its gradient up front)."""
    module = fn.module
    result = make()
    module._source.check_defined(fn.name)  # before the JIT meets a call it cannot link
    key = (lambda name: f"{CHECKED}::{name}") if checked else (lambda name: name)
    new = [f for f in result.helpers + [result.function] if key(f.name) not in module._compiled]
    module._compile(result, new, checked)
    module._compiled.update(key(f.name) for f in new)
    return result


def load(path: str | os.PathLike, std: str = "c++17", include_dirs=(), defines=None) -> Module:
    """Parse and compile a C++ file; its functions become attributes of the returned module."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"load takes the path of a C++ file, got {type(path).__name__}")
    path = os.fspath(path)
    try:
        text = read_source(path)
    except OSError as exc:
        raise PycladError(f"cannot read {path}: {exc.strerror}") from None
    return _module(text, os.path.abspath(path), std, include_dirs, defines)


def cppdef(
    code: str, std: str = "c++17", include_dirs=(), defines=None, filename: str = "<string>"
) -> Module:
    """Parse and compile C++ given as a string."""
    if not isinstance(code, str):
        raise ArgumentError(f"cppdef takes the C++ source as a str, got {type(code).__name__}")
    return _module(code, filename, std, include_dirs, defines)


def _module(text, filename, std, include_dirs, defines) -> Module:
    source = Source(text, filename, std, include_dirs, defines)
    jit = JitModule(source.layout, filename, include_dirs, defines)
    module = Module(source, jit)
    jit_cache.attach(module)  # derivatives from the on-disk cache (backends/jit_cache.py)
    return module


def _check_flag(fn: Function, checked) -> None:
    if not isinstance(checked, bool):
        raise ArgumentError(f"checked must be True or False, got {checked!r}", fn.ir.loc)


def differentiate(fn, wrt=None, order: int = 1, checked: bool = True):
    """Forward-mode derivative of ``fn`` with respect to one scalar parameter or one array
    element (``"arr[1]"``); ``order`` > 1 differentiates again.  Several inputs
    (``["x", "y"]``, ``"x, arr"``, or None with more than one input) give vector mode:
    all the derivatives in one pass.  A single name (``"x"``, ``"arr"``) returns the bare
    value; a list or a comma-separated string returns a tuple (None: a tuple in vector mode)."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    specs = parse_wrt(fn.ir, wrt)
    single = len(specs) == 1 and (
        (not fn.ir.params[specs[0].index].type.ptr)
        or (specs[0].start is not None and specs[0].start == specs[0].stop)
        or bool(specs[0].field)
    )
    if single or order != 1:
        result = _derive(fn, lambda: fn.module.source.forward(fn.name, wrt, order), checked)
        return Derivative(fn, result, as_tuple=wrt is not None and not _single_name(wrt), checked=checked)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: forward mode needs a floating return value", fn.ir.loc
        )
    _no_record_directions(fn.ir, specs, "vector forward mode")
    d = VectorDerivative(fn, specs, single=_single_name(wrt), checked=checked)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        d._kernel(concrete)  # no array lengths needed: errors now, not at call time
    return d


def _no_record_directions(fn: ir.Function, specs, what: str) -> None:
    """Directions are scalars and array elements: a record parameter (or one of its fields)
    is not one yet, however the function uses records inside."""
    for w in specs:
        p = fn.params[w.index]
        if p.type.kind == ir.RECORD:
            raise UnsupportedError(
                f"{what} w.r.t. the record parameter '{w.name}' ({p.type.spell()}) is not supported: "
                "name the scalar and array parameters in wrt (records may be used inside), or take "
                "pyclad.gradient for the record",
                p.loc or fn.loc,
            )


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


def hessian(fn, wrt=None, checked: bool = True) -> Hessian:
    """Hessian by forward over reverse.  ``wrt``: scalar names and array index ranges
    (``"x[0:2]"``, inclusive as in clad); None for every floating-point input.
    ``checked`` (default True): calls go through a bounds-checked variant of the kernel, so an
    array shorter than the derivative indexes raises BoundsError instead of writing past
    its end; False calls the plain kernel (faster, no checks)."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: a Hessian needs a floating return value", fn.ir.loc
        )
    specs = parse_wrt(fn.ir, wrt)
    _no_record_directions(fn.ir, specs, "a Hessian")
    fn.module.source.gradient(fn.name, [w.param for w in specs])  # errors now, not at call time
    h = Hessian(fn, specs, checked)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        h._kernel(concrete)  # no array lengths needed: compile it now
    return h


def gradient(fn, wrt=None, checked: bool = True) -> Gradient:
    """Reverse-mode gradient of ``fn`` w.r.t. ``wrt`` (names, ``"x, y"`` or a list;
    None for every floating-point parameter).  A single name (``"w"``) returns the bare
    value (a float or an array, as ``jac=`` of scipy.optimize.minimize expects); a list or
    a comma-separated string (even ``["w"]`` or ``"w,"``) or None returns a tuple, as JAX's
    ``argnums=0`` and ``argnums=(0,)`` do.
    ``checked`` (default True): calls go through a bounds-checked variant of the kernel, so an
    array shorter than the derivative indexes raises BoundsError instead of writing past
    its end; False calls the plain kernel (faster, no checks)."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    result = _derive(fn, lambda: fn.module.source.gradient(fn.name, wrt), checked)
    return Gradient(fn, result, single=_single_name(wrt), checked=checked)


def _single_name(wrt) -> bool:
    """wrt names one input as a bare string (no list, no comma): the result is not a tuple."""
    return isinstance(wrt, str) and "," not in wrt


def value_and_grad(fn, wrt=None, checked: bool = True) -> ValueAndGrad:
    """Like gradient, but the call returns ``(value, gradient)``; the gradient is bare or a
    tuple by the same rule as gradient's."""
    return ValueAndGrad(gradient(fn, wrt, checked))


def jacobian(fn, wrt=None, mode: str = "auto", checked: bool = True) -> Jacobian:
    """Jacobian of a function that writes an output array (``void h(const double* x, double* out)``,
    or scalars followed by an output array): rows = outputs, columns = inputs in parameter
    order.  ``mode``: "forward" (vector forward mode), "reverse" (one pullback per row),
    or "auto".  ``checked`` as in gradient()."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    if mode not in ("auto", "forward", "reverse"):
        raise WrtError(f"mode must be 'auto', 'forward' or 'reverse', got {mode!r}", fn.ir.loc)
    _, layout = fn.module.source.jacobian_layout(fn.name, wrt)  # errors now, not at call time
    return Jacobian(fn, layout, wrt, mode, checked)


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
