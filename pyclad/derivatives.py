"""The compiled derivative calls: a derivative, a gradient, a value with its gradient, a Jacobian
(forward or reverse, vector mode or one call per row) and a Hessian, each callable on the
primal function's arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import containers, ir, record_arrays
from .ad import vector_params
from .arguments import plan_of, zeroed_record
from .backends.call import invoke
from .checked import CHECKED
from .conversion import _DTYPES, _result, convert_args
from .errors import (
    ArgumentError,
    NoDerivativeError,
    PycladError,
    UnsupportedError,
)
from .source import Result

if TYPE_CHECKING:
    from .api import Function, Module


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
                index[o.param] if fn.param(o.param).type.indexable else None,
                _DTYPES.get(fn.param(o.param).type.base, np.float64),
                o.wrt,
            )
            for o in result.extras
        ]
        # A record's adjoint is a fresh object of the module's class for it (zero-initialised,
        # returned): per output, its class or None.
        # An array of records (a list passed to ``const P* ps``) gets a list of records back.
        self._records = [
            (primal.module.record_class(t.base), t.named(), index[o.param])
            if (t := fn.param(o.param).type).kind == ir.RECORD
            else None
            for o in result.extras
        ]
        # A container's adjoint is a container like the argument, returned as a numpy array.
        self._containers = (
            {i: fn.params[i].type for i, _, _ in self._outs if i is not None}
            if any(i is not None and containers.is_container(fn.params[i].type) for i, _, _ in self._outs)
            else {}
        )

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
            record_arrays.zeros(rec[0], rec[1], conv[rec[2]])
            if rec is not None
            else containers.zeros_like(self._containers[i], conv[i])
            if i in self._containers
            else np.zeros(1 if i is None else conv[i].shape[0], dtype)
            for (i, dtype, _), rec in zip(self._outs, self._records)
        ]
        (self._call or self._fn())(conv + outs)
        values = [
            record_arrays.to_python(buf)
            if rec is not None
            else (containers.to_python(self._containers[i], buf) if i in self._containers else buf)
            if i is not None
            else float(buf[0])
            for (i, _, wrt), buf, rec in zip(self._outs, outs, self._records)
            if wrt
        ]
        return values[0] if self.single else tuple(values)


class ValueAndGrad:
    """Calls the primal and the gradient: ``(value, gradient)``, the gradient shaped as
    Gradient returns it.  Both run on private copies of the arrays the function writes."""

    def __init__(self, grad: Gradient, output: str | None = None):
        self.grad = grad
        fn = grad.primal.ir
        # The value of a gradient of an output element (gradient(output="err")): err[0].
        self._output = (
            None if output is None else next(i for i, p in enumerate(fn.params) if p.name == output)
        )
        # Arrays and non-const container references the primal may write: it runs on copies.
        self._written = plan_of(fn).written + tuple(
            i
            for i, p in enumerate(fn.params)
            if containers.is_container(p.type) and p.type.ref and not p.type.const
        )

    @property
    def code(self) -> str:
        return self.grad.code

    def __call__(self, *args):
        primal = self.grad.primal
        conv, _ = convert_args(primal.ir, args, [], private=True)
        if primal._native is None:
            primal._native = primal._primal()
        at = conv
        if self._written:  # the primal writes its own copies; the gradient is taken at the args given
            at = list(conv)
            for i in self._written:
                if isinstance(at[i], np.ndarray):
                    at[i] = at[i].copy()
                elif containers.is_container(primal.ir.params[i].type):
                    at[i] = type(at[i])(at[i])
                elif primal.ir.params[i].type.kind == ir.RECORD:  # one record, or an array of them
                    at[i] = record_arrays.copy(at[i])
        value = _result(primal.ir.ret, invoke(primal._native, at, primal.name))
        if self._output is not None:
            value = float(at[self._output][0])
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
        # The lengths a kernel is kept for: the arrays' (passed to the driver as _n_<array>),
        # then the container inputs' (their columns).
        boxed = tuple(i for i in layout.inputs if containers.is_container(primal.ir.param(i).type))
        self._sized = tuple(layout.sizes) + boxed
        self._size_params = tuple(index[a] for a in self._sized)
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
        size_of = dict(zip(self._sized, sizes))
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
            call = self.primal.module._caller(result.function, self.checked)
            tail = list(sizes[: len(self.layout.sizes)])

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
        self.sizes = {b.param: _rows(fn.param(b.param).type, conv[index[b.param]]) for b in buffers}
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
        t = fn.params[w.index].type
        if t.kind == ir.RECORD:  # its floating fields (or those of the field named), flattened
            out.append((w.param, *vector_params.leaf_range(t, w.field)))
            continue
        if not t.indexable:
            out.append((w.param, None, None))
            continue
        length = _length(by_name[w.param])
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
    return tuple([_length(conv[i]) for i in params]) if params else ()


def _length(value) -> int:
    """The length of a converted array (numpy) or container (cppyy) argument."""
    return value.shape[0] if isinstance(value, np.ndarray) else len(value)


def _rows(t: ir.Type, value) -> int:
    """The rows of a tangent buffer of a parameter of type ``t`` given ``value``: one per
    element of an array or container, one per floating field of a record."""
    fixed = vector_params.rows_of(t)
    return fixed if fixed is not None else _length(value)


def sized_by_argument(t: ir.Type) -> bool:
    """An array or std::vector parameter: how many directions it spans depends on the argument."""
    return (bool(t.ptr) and t.kind != ir.RECORD) or (t.kind == ir.VECTOR and not t.ptr)


def _array_params(fn: ir.Function, specs) -> tuple[int, ...]:
    """Indices of the array and std::vector params among ``specs``: their lengths decide the kernel."""
    return tuple(w.index for w in specs if sized_by_argument(fn.params[w.index].type))


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
                    from .api import differentiate  # the entry point; api imports this module

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
            from .api import differentiate  # the entry point; api imports this module

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
        pieces, k = [], 0  # per entry: (first direction, count or None for a scalar, record maker)
        for w, (_, a, b) in zip(self.specs, concrete):
            pieces.append((k, None if a is None else b - a + 1, self._record_maker(w)))
            k += 1 if a is None else b - a + 1

        scalars = all(c is None for _, c, _ in pieces)

        def run(conv):
            call(conv)
            if scalars:
                return tuple(values.tolist())
            return tuple(
                float(values[k])
                if c is None
                else make(values[k : k + c])
                if make is not None
                else values[k : k + c].copy()
                for k, c, make in pieces
            )

        return run

    def _record_maker(self, w):
        """For a direction entry naming a record (or a nested record field): a function of
        its derivatives giving a record of that type, fields in direction order; else None.
        A scalar field comes back as a float."""
        t = self.primal.ir.params[w.index].type
        if t.kind != ir.RECORD:
            return None
        t = vector_params.field_type(t, w.field)
        if t.kind != ir.RECORD:
            return lambda values: float(values[0])
        cls, paths = self.primal.module.record_class(t.base), vector_params.leaf_paths(t)
        return lambda values: _record_from(cls, t, paths, values)


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
        fresh = []  # per adjoint output: a function making a zeroed one
        for o in grad.extras:
            p = fn.param(o.param)
            at = conv[index[o.param]]
            if p.type.kind == ir.RECORD:
                rec = (self.primal.module.record_class(p.type.base), p.type.named())
                adjoints.append((1, None))
                fresh.append(lambda rec=rec: zeroed_record(*rec))
            elif containers.is_container(p.type):
                adjoints.append((len(at), None))
                fresh.append(lambda t=p.type, at=at: containers.zeros_like(t, at))
            else:
                length = at.shape[0] if p.type.ptr else 1
                adjoints.append((length, _DTYPES.get(p.type.base, np.float64)))
                fresh.append(lambda k=length, t=adjoints[-1][1]: np.zeros(k, t))
        # Adjoint outputs of double live in the call's block; others are made per call.
        in_block = all(t == np.float64 for _, t in adjoints)
        placeholders = [make() for make in fresh]
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
            call(conv if in_block else conv + [make() for make in fresh])
            if matrix is not None:
                return matrix.copy()
            return np.vstack(
                [
                    call.rows(name)[s:e] if name in call.sizes else np.zeros((e - s, n))
                    for name, (s, e) in pieces
                ]
            )

        return run


def _record_from(cls, t: ir.Type, paths, values):
    """A fresh record of class ``cls`` (type ``t``) whose floating fields, at ``paths`` in
    direction order, hold ``values`` (its other fields zero)."""
    obj = zeroed_record(cls, t)
    for path, v in zip(paths, values):
        holder = obj
        for part in path[:-1]:
            holder = holder[int(part)] if part.isdigit() else getattr(holder, part)
        last = path[-1]
        if last.isdigit():
            holder[int(last)] = float(v)
        else:
            setattr(holder, last, float(v))
    return obj


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
