"""The public Python API: load C++, ask for derivatives, call them on numbers and arrays."""

from __future__ import annotations

import os

from . import ir, record_arrays
from .ad import vector_params
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
    WrtError,
)
from .frontend.options import read_source
from .frontend.templates import split_key, template_signature
from .linear import JVP, VJP
from .overloads import Instances, Overloads
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
        if any(k.startswith(name + "::") for k in _scoped_names(index)):
            return _Namespace(self, name)
        return self[name]

    def __getitem__(self, name: str) -> Function:
        """A function by (qualified) name: ``m["phys::spring"]``, the same as ``m.phys.spring``.
        A struct or class of the source is its cppyy class: ``m.Params(1.5, -0.5)``."""
        if name in self._source.index.records or _class_instance(self._source.index, name):
            return self.record_class(name)
        if name in self._source.index.overloads:
            return Overloads(self, name, self._source.index.overloads[name])
        if name in self._source.index.function_templates:
            return Instances(self, name, *template_signature(self._source.index.function_templates[name]))
        name = self._source.index.resolve(name)  # "sq( double )" -> "sq(double)"
        if name not in self._functions:
            fn = self._source.function(name, body=False)  # a body is lowered when differentiated
            self._functions[name] = Function(self, fn, name)
        return self._functions[name]

    def __dir__(self):
        index = self._source.index
        return sorted({*index.definitions, *index.records, *index.overloads, *index.function_templates})

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


def _scoped_names(index) -> tuple[str, ...]:
    """Every qualified name of the source a Python attribute can lead to."""
    return (*index.definitions, *index.records, *index.function_templates, *index.class_templates)


def _class_instance(index, name: str) -> bool:
    """``Point<double>``: an instance of one of the source's class templates."""
    split = split_key(name)
    return split is not None and split[0] in index.class_templates


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
                k.startswith(f"{self._prefix}::{name}::") for k in _scoped_names(self._module.source.index)
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
            return jit.get(self.name, self.ir)
        name, code = record_arrays.shim_source(self.ir, f"{jit.root}::{self.name}")
        try:
            jit.define(code, f"the call of {self.name} from Python")
        except CompileError:  # a method, or a signature the forwarding cannot spell: call it directly
            return jit.get(self.name, self.ir)
        return jit.get(name)


def _handle(fn) -> Function:
    if isinstance(fn, Overloads):
        raise ArgumentError(
            f"'{fn.name}' is overloaded ({', '.join(fn.keys)}): this derivative is built for one "
            f"function; name it, e.g. m[{fn.keys[0]!r}]"
        )
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
    value; a list or a comma-separated string returns a tuple (None: a tuple in vector mode).
    In vector mode a ``std::vector<double>`` / ``std::array`` parameter is one direction per
    element (a numpy array back; a std::vector's length comes with the call, the kernel is
    kept per length), and a record parameter ``"p"`` one per floating field (declaration
    order, nested records flattened; a record of the same type back, its int fields zero);
    ``"p.q"`` names a nested record, ``"p.a"`` one field (scalar forward mode)."""
    if isinstance(fn, Overloads):
        return fn.deferred(differentiate, wrt, order, checked)
    fn = _handle(fn)
    _check_flag(fn, checked)
    specs = parse_wrt(fn.ir, wrt)
    t = fn.ir.params[specs[0].index].type
    single = len(specs) == 1 and (
        (not t.indexable and t.kind != ir.RECORD)
        or (specs[0].start is not None and specs[0].start == specs[0].stop)
        or (bool(specs[0].field) and vector_params.field_type(t, specs[0].field).kind != ir.RECORD)
    )
    if single or order != 1:
        result = _derive(fn, lambda: fn.module.source.forward(fn.name, wrt, order), checked)
        return Derivative(fn, result, as_tuple=wrt is not None and not _single_name(wrt), checked=checked)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: forward mode needs a floating return value", fn.ir.loc
        )
    d = VectorDerivative(fn, specs, single=_single_name(wrt), checked=checked)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        d._kernel(concrete)  # no array lengths needed: errors now, not at call time
    return d


def _concrete_without_lengths(fn: ir.Function, specs):
    """The directions of ``specs`` when they do not depend on the arguments passed (scalars,
    records, std::arrays and explicit index ranges); None when a whole array or std::vector
    is named (its length comes with a call)."""
    out = []
    for w in specs:
        t = fn.params[w.index].type
        if t.kind == ir.RECORD:
            out.append((w.param, *vector_params.leaf_range(t, w.field)))
        elif t.kind == ir.STD_ARRAY and not t.ptr and w.start is None:
            out.append((w.param, 0, t.size - 1))
        elif t.indexable:
            if w.start is None:
                return None
            out.append((w.param, w.start, w.stop))
        else:
            out.append((w.param, None, None))
    return out


def hessian(fn, wrt=None, checked: bool = True) -> Hessian:
    """Hessian by forward over reverse.  ``wrt``: scalar names and array index ranges
    (``"x[0:2]"``, inclusive as in clad); None for every floating-point input.
    The (n, n) matrix runs over the directions in parameter order: a scalar is one, an array,
    ``std::vector<double>`` or ``std::array`` one per element (or per element of its range), a
    record ``"p"`` one per floating field in declaration order with nested records flattened
    (``p.a, p.q.b, p.c``; int fields are not directions), a field ``"p.q.b"`` or ``"p.q"``
    its own.  A container the function resizes through a reference is an UnsupportedError.
    ``checked`` (default True): calls go through a bounds-checked variant of the kernel, so an
    array shorter than the derivative indexes raises BoundsError instead of writing past
    its end; False calls the plain kernel (faster, no checks)."""
    if isinstance(fn, Overloads):
        return fn.deferred(hessian, wrt, checked)
    fn = _handle(fn)
    _check_flag(fn, checked)
    if not fn.ir.ret.is_float:
        raise PycladError(
            f"'{fn.name}' returns {fn.ir.ret.spell()}: a Hessian needs a floating return value", fn.ir.loc
        )
    specs = parse_wrt(fn.ir, wrt)
    fn.module.source.gradient(fn.name, [w.param for w in specs])  # errors now, not at call time
    h = Hessian(fn, specs, checked)
    concrete = _concrete_without_lengths(fn.ir, specs)
    if concrete is not None:
        h._kernel(concrete)  # no array lengths needed: compile it now
    return h


def gradient(fn, wrt=None, checked: bool = True, output: str | None = None) -> Gradient:
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
    its end; False calls the plain kernel (faster, no checks).
    ``output``: the name of a pointer parameter the function writes (``void f(..., double* err)``):
    the gradient is then that of ``err[0]`` (a returned value is not differentiated), w.r.t. the
    inputs by default (the floating parameters the function does not write)."""
    if isinstance(fn, Overloads):
        return fn.deferred(gradient, wrt, checked, output)
    fn = _handle(fn)
    _check_flag(fn, checked)
    src = fn.module.source
    if output is not None:
        result = _derive(fn, lambda: src.output_gradient(fn.name, wrt, output), checked)
    else:
        result = _derive(fn, lambda: src.gradient(fn.name, wrt), checked)
    return Gradient(fn, result, single=_single_name(wrt), checked=checked)


def vjp(fn, wrt=None, outputs=None, checked: bool = True) -> VJP:
    """The pullback of ``fn`` (reverse mode), like JAX's ``vjp`` without the primal outputs:
    ``vj(*args, *cotangents)`` takes ``fn``'s arguments followed by one cotangent per output
    and returns the cotangents of the ``wrt`` inputs (cotangent times Jacobian).

    ``outputs``: pointer parameters the function writes, and ``"return"`` for a floating
    return value, as a list or a comma-separated string, in the order their cotangents are
    passed; None: every array it writes in parameter order, then the return value.  A
    cotangent is an array as long as the output array passed (a number for ``"return"``).
    ``wrt``: whole scalar and array parameters (None: every floating parameter the function
    does not write); the result has one entry per wrt parameter in parameter order (a float or
    an array), bare when ``wrt`` is a single name, else a tuple.  An array that is both read
    and written may be named in both.  ``checked`` as in gradient()."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    result = _derive(fn, lambda: fn.module.source.vjp(fn.name, wrt, outputs), checked)
    out = VJP(fn, result, _single_name(wrt), _single_name(outputs))
    out.checked = checked
    return out


def jvp(fn, wrt=None, outputs=None, checked: bool = True) -> JVP:
    """The pushforward of ``fn`` (forward mode), the twin of vjp(), like JAX's ``jvp``
    without the primal outputs: ``jv(*args, *tangents)`` takes ``fn``'s arguments followed by
    one tangent per ``wrt`` parameter (in parameter order: a number for a scalar, an array as
    long as the array passed) and returns the tangents of the ``outputs`` (Jacobian times
    tangent): an array per output array, a float for ``"return"``; bare when ``outputs`` is a
    single name, else a tuple.  ``wrt``, ``outputs`` and ``checked`` as in vjp()."""
    fn = _handle(fn)
    _check_flag(fn, checked)
    result = _derive(fn, lambda: fn.module.source.jvp(fn.name, wrt, outputs), checked)
    out = JVP(fn, result, _single_name(wrt), _single_name(outputs))
    out.checked = checked
    return out


def _single_name(wrt) -> bool:
    """wrt names one input as a bare string (no list, no comma): the result is not a tuple."""
    return isinstance(wrt, str) and "," not in wrt


def value_and_grad(fn, wrt=None, checked: bool = True, output: str | None = None) -> ValueAndGrad:
    """Like gradient, but the call returns ``(value, gradient)``; the gradient is bare or a
    tuple by the same rule as gradient's.  With ``output`` (as in gradient), the value is
    ``output[0]`` as the function leaves it."""
    if isinstance(fn, Overloads):
        return fn.deferred(value_and_grad, wrt, checked, output)
    grad = gradient(fn, wrt, checked, output)
    return ValueAndGrad(grad, None if output is None else grad.primal.ir.param(output.strip()).name)


def jacobian(fn, wrt=None, mode: str = "auto", checked: bool = True) -> Jacobian:
    """Jacobian of a function that writes an output array (``void h(const double* x, double* out)``,
    or scalars followed by an output array): rows = outputs, columns = inputs in parameter
    order (an array or a ``std::vector`` / ``std::array`` input spans one column per element).  ``mode``: "forward" (vector forward mode), "reverse" (one pullback per row),
    or "auto".  ``checked`` as in gradient()."""
    if isinstance(fn, Overloads):
        return fn.deferred(jacobian, wrt, mode, checked)
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
    "jvp",
    "load",
    "value_and_grad",
    "vjp",
]
