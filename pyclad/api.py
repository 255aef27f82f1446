"""The public Python API: load C++, ask for derivatives, call them on numbers and arrays."""

from __future__ import annotations

import os

from . import ir, record_arrays
from .backends import jit_cache
from .backends.call import entry_name, invoke, length_plan, with_lengths
from .backends.jit import JitModule
from .checked import source as checked_source
from .conversion import _DTYPES, _INT_DTYPES, _refine_plan, _result, convert_args  # noqa: F401
from .derivatives import (
    VECTOR_REVERSE_MAX_ROWS,  # noqa: F401
    Derivative,
    Gradient,
    Hessian,
    Jacobian,
    ValueAndGrad,
    VectorDerivative,
    _derive,
)
from .errors import (
    ArgumentError,
    CompileError,
    PycladError,
    UnsupportedError,
    WrtError,
)
from .frontend.options import read_source
from .source import Result, Source, parse_wrt

# _DTYPES, _INT_DTYPES and VECTOR_REVERSE_MAX_ROWS are re-exported for pyclad.check and the
# benchmarks (to change the row limit, set it on pyclad.derivatives, where the Jacobian reads it).


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
        self._record_arrays = record_arrays.written_params(fn)  # non-const record pointers

    def __repr__(self) -> str:
        return f"<pyclad function {self.name}>"

    def __call__(self, *args):
        if self._native is None:
            _refine_plan(self)
            self._native = self._primal()
        conv, _ = convert_args(self.ir, args, [])
        value = _result(self.ir.ret, invoke(self._native, conv, self.name))
        if self._record_arrays:  # what it wrote into an array of records goes back into the list given
            record_arrays.write_back(args, conv, self._record_arrays)
        return value

    def _primal(self):
        """The compiled primal; one taking arrays of records is called through a forwarding
        function that declares them pointers (see pyclad.record_arrays)."""
        jit = self.module._jit
        if not record_arrays.needs_shim(self.ir):
            return jit.get(self.name)
        name, code = record_arrays.shim_source(self.ir, f"{jit.root}::{self.name}")
        try:
            jit.define(code, f"the call of {self.name} from Python")
        except CompileError:  # a method, or a signature the forwarding cannot spell: call it directly
            return jit.get(self.name)
        return jit.get(name)


def _handle(fn) -> Function:
    if isinstance(fn, Function):
        _refine_plan(fn)
        return fn
    raise ArgumentError(
        f"expected a function of a pyclad module (m.f), got {type(fn).__name__}; "
        "load the C++ with pyclad.load or pyclad.cppdef first"
    )


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
    Each entry is shaped like its argument: a float for a scalar, a numpy array for an array
    or a ``std::vector<double>`` / ``std::array``, a record of the module's class for a record
    (``m.Params(...)``), and a list of records of the same length for an array of records
    (``const Particle* ps`` or ``std::vector<Particle>`` given a list of ``m.Particle``; one
    record for one object passed); see pyclad.record_arrays.
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
