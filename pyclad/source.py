"""A parsed C++ source and the derivatives requested of it.

Independent of how the result is compiled: the Python API (JIT) and the
command line (headers) both ask a Source for derivative IR and C++ text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace

from . import access, emit, ir
from .ad import compose, forward, jacobian_passes, outputs, reverse, vector, vector_params
from .ad.names import forward_name
from .ad.program import Program
from .ad.rules import Registry
from .backends import runtime_include
from .errors import (
    ArgumentError,
    FunctionNotFoundError,
    LinkError,
    NoDerivativeError,
    PycladError,
    UnsupportedError,
    WrtError,
)
from .frontend import options
from .frontend.layout import layout
from .frontend.lower import SourceIndex, is_extern_c, qualified_name
from .frontend.parse import compile_args, parse
from .frontend.templates import parameters as template_parameters


@dataclass(frozen=True)
class Wrt:
    """One independent variable: a scalar param, or an element range of an array param."""

    param: str
    index: int
    start: int | None = None  # element (or first element of a range)
    stop: int | None = None  # last element, inclusive (ranges only)
    field: str = ""  # a floating field of a record param ("a", "in.b"; forward mode)

    @property
    def name(self) -> str:
        """The parameter, with its field path if any (``p.a``)."""
        return f"{self.param}.{self.field}" if self.field else self.param


@dataclass
class Result:
    """A generated derivative: its function, the generated helpers it needs, and how to call it."""

    function: ir.Function
    helpers: list[ir.Function]
    extras: list = field(default_factory=list)  # forward.Extra (forward) or reverse.Output (reverse)
    kind: str = "forward"
    wrt: list[Wrt] = field(default_factory=list)

    @property
    def code(self) -> str:
        return render(self.helpers + [self.function])


def render(functions: list[ir.Function], inline: bool = False, root: str = "") -> str:
    """C++ text of functions (callees first); declarations up front when they recurse.

    Function names are qualified (``a::f_grad``): each function is written inside its
    namespaces, and calls from inside a namespace to the module's own functions are spelled
    from ``root`` (the scope the user's source is compiled in: "" for a header, the module's
    namespace in the JIT), so that ``f`` inside ``a`` can never pick up ``a::f`` for ``::f``."""
    prefix = "inline " if inline else ""
    names = {f.name for f in functions}
    preamble, local = access.expose([_localised(f, root) for f in functions], root)
    decls = preamble
    if _recursive(functions, names):
        decls = _in_namespaces([(f, prefix + emit.declaration(lf)) for f, lf in zip(functions, local)], "")
        decls += "\n"
    if not inline:
        return decls + _in_namespaces([(f, emit.function(lf)) for f, lf in zip(functions, local)])
    # In a header, each definition has its own guard: headers generated separately that
    # share a helper (the same pullback, say) can be included in one program.
    return decls + _in_namespaces(
        [(f, _guarded(f.name, emit.function(lf, prefix))) for f, lf in zip(functions, local)]
    )


def _guarded(name: str, text: str) -> str:
    guard = definition_guard(name)
    return f"#ifndef {guard}\n#define {guard}\n{text}#endif\n"


def definition_guard(name: str) -> str:
    """The macro guarding one generated definition in headers.  A qualified name gets a hash
    of itself, so that ``a::f_grad`` and ``a_f_grad`` (or ``a_::f_grad``) never share a guard."""
    if "::" not in name:
        return f"PYCLAD_DEFINED_{name}"
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"PYCLAD_DEFINED_{name.replace('::', '__')}_{digest}"


def _namespace_of(name: str) -> tuple[str, ...]:
    return tuple(name.split("::")[:-1])


def _in_namespaces(items: list[tuple[ir.Function, str]], sep: str = "\n") -> str:
    """Texts of functions joined, each run of functions of one namespace wrapped in it."""
    groups: list[tuple[tuple[str, ...], list[str]]] = []
    for f, text in items:
        ns = _namespace_of(f.name)
        if groups and groups[-1][0] == ns:
            groups[-1][1].append(text)
        else:
            groups.append((ns, [text]))
    out = []
    for ns, texts in groups:
        body = sep.join(texts)
        if ns:
            opening = "".join(f"namespace {n} {{\n" for n in ns)
            closing = "".join(f"}}  // namespace {n}\n" for n in reversed(ns))
            body = f"{opening}\n{body}\n{closing}"
        out.append(body)
    return "\n".join(out) if sep else "".join(out)


def _localised(fn: ir.Function, root: str) -> ir.Function:
    """``fn`` named by its short name, for writing inside its namespace; its calls to the
    module's functions fully qualified when it lives in a namespace."""
    short = fn.name.rsplit("::", 1)[-1]
    if short == fn.name:
        return fn

    def qualify(n):
        if isinstance(n, ir.Call) and ir.is_module_call(n):
            return replace(n, spelling=f"{root}::{n.spelling or n.callee}")
        return n

    return replace(fn, name=short, body=ir.rebuild(fn.body, qualify))


def _calls(fn: ir.Function) -> list[str]:
    out = []
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Call) and n.callee not in out:
            out.append(n.callee)
    return out


def _recursive(functions: list[ir.Function], names: set[str]) -> bool:
    seen: set[str] = set()
    for f in functions:  # callees come first: a call to a later function is a cycle
        seen.add(f.name)
        calls = _calls(f)
        if any(c in names and c not in seen for c in calls) or f.name in calls:
            return True
    return False


class Source:
    def __init__(self, text: str, filename: str, std: str = "c++17", include_dirs=(), defines=None):
        self.text = text
        self.filename = filename
        self.args = compile_args(
            options.check_std(std), options.include_dirs(include_dirs), options.defines(defines)
        )
        self.tu = parse(text, filename, self.args)
        self.layout = layout(self.tu, filename, text, (runtime_include(),))
        # Bodies in the user's own headers are the user's code too (layout.texts: the main
        # file and every header it includes that is not a system or pyclad header).
        self.index = SourceIndex.build(self.tu, filename, text, self.args, self.layout.texts)
        self.index.macros = set(self.layout.macros)
        custom = {key: "::".join(qualified_name(c) + (c.spelling,)) for key, c in self.index.custom.items()}
        taken = {k: _loc(c) for k, c in {**self.index.declarations, **self.index.definitions}.items()}
        self.program = Program(self.index.function, Registry.from_functions(custom), taken=taken)
        self._cache: dict[tuple, Result] = {}

    # ------------------------------------------------------------------ lookup
    def function(self, name: str, body: bool = True) -> ir.Function:
        """The lowered function; ``body=False``: its signature only (enough to call it)."""
        name = self.index.resolve(name)
        if name in self.index.overloads:
            raise self.index.overload_error(name)
        if name not in self.index.definitions and name in self.index.function_templates:
            template = self.index.function_templates[name]
            params = ", ".join(c.spelling for c in template_parameters(template))
            raise FunctionNotFoundError(
                f"'{name}' is a function template <{params}>: name an instance, e.g. '{name}<double>'",
                _loc(template),
            )
        if name not in self.index.definitions:
            if name in self.index.declarations:
                c = self.index.declarations[name]
                raise FunctionNotFoundError(
                    f"'{name}' is declared but not defined in {self.filename}",
                    _loc(c),
                )
            known = ", ".join(sorted(self.index.definitions)) or "none"
            raise FunctionNotFoundError(
                f"no function '{name}' defined in {self.filename} (functions: {known})"
            )
        return self.index.function(name) if body else self.index.signature(name)

    def check_defined(self, name: str) -> None:
        """Raise LinkError at the first call, in ``name`` or a function it calls, to a function
        the user's file declares but never defines: code compiled in process cannot link it
        (the declaration is inside the module's namespace, so no library can provide it).
        ``extern "C"`` declarations are left alone: a loaded library may define those."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            key = todo.pop()
            if key in seen or key not in self.index.definitions:
                continue
            seen.add(key)
            try:
                body = self.index.function(key).body
            except PycladError:  # a body the transforms cannot read (a custom derivative stands for it)
                continue
            for n in ir.walk(body):
                if not isinstance(n, ir.Call):
                    continue
                decl = self.index.declarations.get(n.callee)
                if n.callee not in self.index.definitions and decl is not None and not is_extern_c(decl):
                    raise LinkError(
                        f"'{n.callee}' is declared (at {_loc(decl)}) but never defined, so this call cannot "
                        "be linked; define it in the source (a custom derivative does not define the "
                        "function itself)",
                        n.loc,
                    )
                todo.append(n.callee)

    def helpers_of(self, fn: ir.Function) -> list[ir.Function]:
        """Generated functions ``fn`` calls, transitively, callees first."""
        order: list[ir.Function] = []
        seen: set[str] = {fn.name}

        def visit(f: ir.Function) -> None:
            for c in _calls(f):
                # Generated functions, and the primals of lambdas (their operator() functions,
                # which the user's source cannot name).
                g = self.program.generated.get(c) or self.index.synthesized.get(c)
                if g is not None and c not in seen:
                    seen.add(c)
                    visit(g)
                    order.append(g)

        visit(fn)
        return order

    # ------------------------------------------------------------------ requests
    def _run(self, key: tuple, make) -> Result:
        if key in self._cache:
            return self._cache[key]
        try:
            result = make()
        except PycladError:
            self.program.discard_new()
            raise
        self._cache[key] = result
        return result

    def forward(self, name: str, wrt: str | None, order: int = 1) -> Result:
        fn = self.function(name)
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise WrtError(f"order must be a positive integer, got {order!r}", fn.loc)
        specs = parse_wrt(fn, wrt)
        if len(specs) != 1 or (specs[0].stop is not None and specs[0].stop != specs[0].start):
            raise WrtError(
                f"forward mode differentiates w.r.t. one scalar or one array element; got {wrt!r}",
                fn.loc,
            )
        w = specs[0]
        if not fn.ret.is_float:
            raise PycladError(
                f"'{name}' returns {fn.ret.spell()}: forward mode needs a floating return value",
                fn.loc,
            )
        p = fn.params[w.index]
        if p.type.kind == ir.RECORD and not w.field:
            first = next((f.name for f in p.type.fields if f.type.is_float), "a")
            raise WrtError(
                f"forward mode differentiates along one direction: name one floating field of "
                f"'{w.param}' ({p.type.spell()}), e.g. '{w.param}.{first}'; pyclad.gradient gives "
                "the derivative w.r.t. all of them",
                p.loc or fn.loc,
            )

        def make() -> Result:
            current, extras = fn, []
            for k in range(1, order + 1):
                dname = forward_name(fn.name, w.index, k, w.start)
                if w.field:
                    dname += "_" + w.field.replace(".", "_")
                current, more = forward.derivative(self.program, current, w.name, w.start, dname)
                extras += more
            # Only the requested order is compiled; registering the lower orders too would
            # make a later request for them look already compiled when it is not.
            self.program.add(current)
            self.program.take_new()
            return Result(current, self.helpers_of(current), extras, "forward", [w])

        return self._run(("forward", name, w, order), make)

    def gradient(self, name: str, wrt=None) -> Result:
        """Reverse mode: ``NAME_grad(params..., _d_<wrt>...)``."""
        fn = self.function(name)
        specs = parse_wrt(fn, wrt)
        if any(w.start is not None for w in specs):
            raise WrtError("reverse mode takes whole parameters (e.g. 'x, arr'), not elements", fn.loc)
        if any(w.field for w in specs):
            raise WrtError(
                "reverse mode takes whole parameters: name the record (e.g. 'p'); its gradient "
                "holds the derivative w.r.t. every floating field",
                fn.loc,
            )
        if not fn.ret.is_float:
            raise PycladError(
                f"'{name}' returns {fn.ret.spell()}: a gradient needs a floating return value", fn.loc
            )
        names = [w.param for w in specs]
        if len(set(names)) != len(names):
            raise WrtError(f"a parameter is named twice in wrt {wrt!r}", fn.loc)
        names = [p.name for p in fn.params if p.name in names]  # parameter order

        def make() -> Result:
            gname = (
                f"{fn.name}_grad"
                if wrt is None or len(names) == len(parse_wrt(fn, None))
                else (
                    f"{fn.name}_grad_" + "_".join(str(w.index) for w in sorted(specs, key=lambda w: w.index))
                )
            )
            g, outputs = reverse.gradient(self.program, fn, names, gname)
            self.program.add(g)
            self.program.take_new()
            return Result(g, self.helpers_of(g), outputs, "reverse", specs)

        return self._run(("reverse", name, tuple(names)), make)

    # ------------------------------------------------------------------ outputs (ad/outputs.py)
    def output_gradient(self, name: str, wrt, output: str) -> Result:
        """Reverse mode for a function that returns through a pointer: the gradient of
        ``output[0]``, ``NAME_grad[_<wrt>]_<output>(params..., _d_<p>...)``."""
        fn = self.function(name)
        out = outputs.output_param(fn, output, self.program).name
        names = self._linear_wrt(fn, wrt, "the gradient of an output")

        def make() -> Result:
            base = self._gradient_name(fn, wrt, names)
            g, outs = outputs.output_gradient(self.program, fn, names, out, f"{base}_{out}")
            self.program.add(g)
            self.program.take_new()
            return Result(g, self.helpers_of(g), outs, "reverse", parse_wrt(fn, names))

        return self._run(("reverse_output", name, tuple(names), out), make)

    def vjp(self, name: str, wrt=None, outs=None) -> Result:
        """The pullback of ``name`` as a kernel: output cotangents in, input cotangents out
        (see ad/outputs.py).  ``extras``: the kernel's derivative buffers (outputs.Role) and
        the outputs in the order the caller gives their cotangents."""
        return self._linear("vjp", name, wrt, outs)

    def jvp(self, name: str, wrt=None, outs=None) -> Result:
        """The pushforward of ``name`` as a kernel: input tangents in, output tangents out."""
        return self._linear("jvp", name, wrt, outs)

    def _linear(self, kind: str, name: str, wrt, outs) -> Result:
        fn = self.function(name)
        order = self._linear_outputs(fn, outs)
        names = self._linear_wrt(fn, wrt, f"a {kind}")
        for n in names:
            p = fn.param(n)
            if p.type.kind == ir.RECORD or p.type.is_container:
                raise UnsupportedError(
                    f"a {kind} w.r.t. the parameter '{n}' ({p.type.spell()}) is not supported: name "
                    "scalar and array parameters (pyclad.gradient takes records and containers)",
                    p.loc or fn.loc,
                )

        def make() -> Result:
            default = names == self._linear_wrt(fn, None, kind) and order == self._linear_outputs(fn, None)
            index = {p.name: i for i, p in enumerate(fn.params)}
            suffix = (
                ""
                if default
                else (
                    "_"
                    + "_".join(str(index[n]) for n in names)
                    + "_to_"
                    + "_".join(o if o == outputs.RETURN else str(index[o]) for o in order)
                )
            )
            build = outputs.vjp_function if kind == "vjp" else outputs.jvp_function
            k, roles = build(self.program, fn, names, order, f"{fn.name}_{kind}{suffix}")
            self.program.add(k)
            self.program.take_new()
            return Result(k, self.helpers_of(k), [roles, order], kind, parse_wrt(fn, names))

        return self._run((kind, name, tuple(names), tuple(order)), make)

    def _linear_wrt(self, fn: ir.Function, wrt, what: str) -> list[str]:
        """Whole parameters in parameter order; None: every floating parameter the function
        does not write (the inputs)."""
        if wrt is None:
            written = outputs.written_arrays(fn, self.program)
            names = [w.param for w in parse_wrt(fn, None) if w.param not in written]
            if not names:
                raise WrtError(f"'{fn.name}' has no floating-point input to differentiate", fn.loc)
            return names
        specs = parse_wrt(fn, wrt)
        if any(w.start is not None or w.field for w in specs):
            raise WrtError(f"{what} takes whole parameters (e.g. 'x, arr'), not elements or fields", fn.loc)
        chosen = {w.param for w in specs}
        return [p.name for p in fn.params if p.name in chosen]

    def _linear_outputs(self, fn: ir.Function, outs) -> list[str]:
        """The outputs, in the order given (None: the written arrays in parameter order, then
        the return value if it is floating); ``"return"`` names the return value."""
        if outs is None:
            order = list(outputs.written_arrays(fn, self.program))
            order += [outputs.RETURN] if fn.ret.is_float else []
            if not order:
                raise ArgumentError(
                    f"'{fn.name}' writes no output array and returns {fn.ret.spell()}: it has no output "
                    "to differentiate",
                    fn.loc,
                )
            return order
        items = [o.strip() for o in outs.split(",") if o.strip()] if isinstance(outs, str) else outs
        if not isinstance(items, (list, tuple)) or not items:
            raise ArgumentError(
                f"outputs takes parameter names ('out', ['out', 'return']), not {outs!r}", fn.loc
            )
        order = []
        for o in items:
            if o == outputs.RETURN:
                if not fn.ret.is_float:
                    raise ArgumentError(
                        f"outputs names 'return', but '{fn.name}' returns {fn.ret.spell()}", fn.loc
                    )
                name = o
            else:
                name = outputs.output_param(fn, o, self.program, "outputs entry").name
            if name in order:
                raise ArgumentError(f"output '{name}' is named twice in {outs!r}", fn.loc)
            order.append(name)
        return order

    def _gradient_name(self, fn: ir.Function, wrt, names: list[str]) -> str:
        every = wrt is None or names == self._linear_wrt(fn, None, "")
        index = {p.name: i for i, p in enumerate(fn.params)}
        return f"{fn.name}_grad" if every else f"{fn.name}_grad_" + "_".join(str(index[n]) for n in names)

    def jacobian(self, name: str, wrt=None, mode: str = "reverse") -> Result:
        """Jacobian of a function that writes output array params."""
        fn = self.function(name)
        names, layout = self.jacobian_layout(name, wrt)
        if mode != "reverse":
            raise WrtError(f"unknown Jacobian mode {mode!r}", fn.loc)

        def make() -> Result:
            suffix = (
                ""
                if names is None
                else "_" + "_".join(str(i) for i, p in enumerate(fn.params) if p.name in layout.inputs)
            )
            j = compose.jacobian_reverse(self.program, fn, layout, f"{fn.name}_jac{suffix}")
            self.program.add(j)
            self.program.take_new()
            return Result(j, self.helpers_of(j), [layout], "jacobian")

        return self._run(("jacobian", name, None if names is None else tuple(names), mode), make)

    def jacobian_layout(self, name: str, wrt=None) -> tuple[list[str] | None, compose.Layout]:
        """The rows (outputs) and columns (inputs) of a Jacobian; errors for a function that
        writes no output array or a wrt that names an output, an element or nothing."""
        fn = self.function(name)
        names = None if wrt is None else [w.param for w in parse_wrt(fn, wrt)]
        layout = compose.split_params(fn, names, self.program)
        _refuse_container_outputs(fn, layout, self.program)
        if not layout.outputs:
            raise PycladError(
                f"'{name}' writes no output array: a Jacobian needs a function like "
                f"void {name}(const double* x, double* out); use gradient for a scalar function",
                fn.loc,
            )
        if names is not None:
            bad = [n for n in names if n in layout.outputs]
            if bad:
                raise WrtError(f"'{bad[0]}' is an output of '{name}', not an input", fn.loc)
            if any(w.start is not None for w in parse_wrt(fn, wrt)):
                raise WrtError("a Jacobian takes whole parameters, not index ranges", fn.loc)
        if not layout.inputs:
            raise WrtError(f"'{name}' has no floating-point input to differentiate", fn.loc)
        return names, layout

    def jacobian_vector_reverse(self, name: str, layout, m: int) -> Result:
        """Vector reverse mode for ``m`` output elements (see compose.jacobian_reverse_vector)."""
        fn = self.function(name)

        def make() -> Result:
            every = compose.split_params(fn, None, self.program).inputs == layout.inputs
            suffix = (
                ""
                if every
                else "_" + "_".join(str(i) for i, p in enumerate(fn.params) if p.name in layout.inputs)
            )
            j = compose.jacobian_reverse_vector(self.program, fn, layout, m, f"{fn.name}_jac_rev{m}{suffix}")
            self.program.add(j)
            self.program.take_new()
            return Result(j, self.helpers_of(j), [layout, m], "jacobian")

        return self._run(("jacobian_vrev", name, layout, m), make)

    def jacobian_function(self, name: str, wrt=None) -> Result:
        """The Jacobian driver of a header: ``NAME_jac`` as ``jacobian`` writes it (same name and
        parameters), running in passes of vector forward and / or vector reverse mode where
        those can differentiate the function (ad/jacobian_passes.py), else row by row."""
        fn = self.function(name)
        names, layout = self.jacobian_layout(name, wrt)
        if not jacobian_passes.passes_supported(fn, layout):
            return self.jacobian(name, wrt)
        fwd = self._jacobian_kernel(lambda: self.jacobian_forward_lanes(name, layout))
        rev = self._jacobian_kernel(
            lambda: self.jacobian_vector_reverse(name, layout, jacobian_passes.REVERSE_LANES)
        )
        if fwd is None and rev is None:
            return self.jacobian(name, wrt)
        mask = {p.name for p in fn.params if p.name in layout.inputs or p.name in layout.outputs}
        forward_k = None
        if fwd is not None:
            buffers, _, lanes = fwd.extras
            if {b.param for b in buffers} <= mask:
                has_result = bool(fwd.function.params) and fwd.function.params[-1].name.startswith(
                    "_d_result"
                )
                forward_k = jacobian_passes.Kernel(
                    fwd.function, tuple(b.param for b in buffers), lanes, has_result
                )
        reverse_k = None
        if rev is not None:
            order = tuple(p.name for p in fn.params if p.name in mask)
            reverse_k = jacobian_passes.Kernel(rev.function, order, jacobian_passes.REVERSE_LANES)
        if forward_k is None and reverse_k is None:
            return self.jacobian(name, wrt)

        def make() -> Result:
            suffix = (
                ""
                if names is None
                else "_" + "_".join(str(i) for i, p in enumerate(fn.params) if p.name in layout.inputs)
            )
            keep = forward_k is not None and jacobian_passes.reads_outputs(fn, layout, self.program)
            j = jacobian_passes.driver(fn, layout, forward_k, reverse_k, f"{fn.name}_jac{suffix}", keep)
            self.program.add(j)
            self.program.take_new()
            return Result(j, self.helpers_of(j), [layout], "jacobian")

        return self._run(("jacobian_function", name, None if names is None else tuple(names)), make)

    def _jacobian_kernel(self, make) -> Result | None:
        """A vector-mode kernel of a Jacobian driver, or None where that mode cannot
        differentiate the function (the driver then does without it)."""
        try:
            return make()
        except (UnsupportedError, NoDerivativeError):
            return None

    def jacobian_forward_lanes(self, name: str, layout) -> Result:
        """Vector forward mode with ``jacobian_passes.FORWARD_LANES`` lanes over the inputs of
        ``layout``, each input's tangents (a scalar's too) in a caller-seeded buffer."""
        fn = self.function(name)
        lanes = jacobian_passes.FORWARD_LANES

        def make() -> Result:
            specs = [(i, None, None) if not fn.param(i).type.ptr else (i, 0, 0) for i in layout.inputs]
            dirs = vector.directions_for(fn, specs)
            index = {p.name: k for k, p in enumerate(fn.params)}
            every = compose.split_params(fn, None, self.program).inputs == layout.inputs
            suffix = "" if every else "_" + "_".join(str(index[i]) for i in layout.inputs)
            comment = (
                f"Derivatives of {fn.name} along {lanes} directions of its inputs "
                f"({', '.join(layout.inputs)}), vector forward mode: one pass of a Jacobian driver.\n"
                f"Tangent buffers: rows x {lanes}, row-major, seeded by the caller."
            )
            out, buffers, n = vector.vector_derivative(
                self.program, fn, dirs, f"{fn.name}_jac_fwd{lanes}{suffix}", comment, lanes=lanes
            )
            self.program.add(out)
            self.program.take_new()
            return Result(out, self.helpers_of(out), [buffers, dirs, n], "vector")

        return self._run(("jacobian_forward_lanes", name, layout, lanes), make)

    # ------------------------------------------------------------------ vector mode
    def vector(
        self, name: str, specs: list[tuple[str, int | None, int | None]], what: str = "dvec"
    ) -> Result:
        """Vector forward mode along every direction of ``specs`` ((param, start, stop), concrete
        ranges): ``NAME_dvec...(params..., [_d_result,] tangent buffers...)``."""
        fn = self.function(name)
        return self._vector(fn, specs, f"{fn.name}_{what}", ("vector", name, tuple(specs), what))

    def _vector(self, fn: ir.Function, specs, base: str, key) -> Result:
        def make() -> Result:
            dirs = vector.directions_for(fn, specs)
            suffix = direction_suffix(fn, specs)
            what = vector_params.describe(fn, specs)
            comment = (
                f"Derivatives of {fn.name} along {sum(d.size for d in dirs)} directions ({what}), "
                "vector forward mode.\nTangent buffers: rows x directions, row-major."
            )
            out, buffers, n = vector.vector_derivative(self.program, fn, dirs, f"{base}_{suffix}", comment)
            out = replace(out, comment=comment + vector_params.buffer_notes(fn, out, buffers, n))
            self.program.add(out)
            self.program.take_new()
            return Result(out, self.helpers_of(out), [buffers, dirs, n], "vector")

        return self._run(key, make)

    def vector_function(self, name: str, wrt=None) -> Result:
        """Vector mode for a header (``pyclad gen --mode vector``): ``NAME_dvec_<dirs>(params...,
        <tangent buffers>..., double* _d_result)``.  A std::vector or pointer parameter needs
        an index range (the direction count is fixed when the code is generated)."""
        fn = self.function(name)
        if not fn.ret.is_float:
            raise PycladError(
                f"'{name}' returns {fn.ret.spell()}: vector mode needs a floating return value", fn.loc
            )
        return self.vector(name, self._fixed_directions(fn, wrt, "generated vector-mode derivative"))

    def _fixed_directions(self, fn: ir.Function, wrt, what: str) -> list[tuple[str, int | None, int | None]]:
        """Concrete directions for generated code: records and std::arrays whole, arrays and
        std::vectors by an index range."""
        specs = []
        for w in parse_wrt(fn, wrt):
            p = fn.params[w.index]
            if p.type.kind == ir.RECORD:  # its floating fields (or the named field's), flattened
                specs.append((w.param, *vector_params.leaf_range(p.type, w.field)))
                continue
            if p.type.kind == ir.STD_ARRAY and not p.type.ptr and w.start is None:
                specs.append((w.param, 0, p.type.size - 1))
                continue
            if p.type.indexable and w.start is None:
                raise WrtError(
                    f"give an index range for array parameter '{w.param}' (e.g. '{w.param}[0:2]') for a {what}",
                    p.loc or fn.loc,
                )
            specs.append((w.param, w.start, w.stop))
        return specs

    def hessian(self, name: str, specs: list[tuple[str, int | None, int | None]]) -> tuple[Result, Result]:
        """Forward over reverse: vector forward mode over ``NAME_grad``.  Returns the
        gradient's result and the Hessian kernel's."""
        params = []
        for p, _, _ in specs:
            if p not in params:
                params.append(p)
        grad = self.gradient(name, params)
        if any(isinstance(n, ir.Call) and n.callee in _RESIZES for n in ir.walk(grad.function.body)):
            _refuse_resized_containers(self.program, self.function(name))
        return grad, self._vector(
            grad.function, specs, f"{grad.function.name}_dvec", ("hessian", name, tuple(specs))
        )

    def hessian_function(self, name: str, wrt=None) -> Result:
        """A self-contained ``NAME_hessian(params..., _hessian, _n_<array>...)`` (for headers):
        array params need explicit index ranges, as in clad."""
        fn = self.function(name)
        if not fn.ret.is_float:
            raise PycladError(
                f"'{name}' returns {fn.ret.spell()}: a Hessian needs a floating return value", fn.loc
            )
        specs = self._fixed_directions(fn, wrt, "generated Hessian")
        grad, kernel = self.hessian(name, specs)

        def make() -> Result:
            buffers, dirs, n = kernel.extras
            dname = f"{fn.name}_hessian" + ("" if wrt is None else "_" + direction_suffix(fn, specs))
            h = compose.hessian_driver(fn, kernel.function, grad.extras, buffers, dirs, n, dname)
            self.program.add(h)
            self.program.take_new()
            return Result(h, self.helpers_of(h), [n], "hessian")

        return self._run(("hessian_function", name, tuple(specs)), make)


# What a gradient calls to follow its primal's size changes in the reverse sweep.
_RESIZES = ("::pyclad::cut", "::pyclad::unresize", "::pyclad::match_size")


def _refuse_resized_containers(program, fn: ir.Function) -> None:
    """A Hessian (forward mode over the gradient) does not follow the size changes a
    gradient makes to the adjoint of a container parameter the primal resizes."""
    for p in fn.params:
        if p.type.kind in ir.CONTAINERS and not (p.type.const and not p.type.ptr):
            where = vector_params.resized(program, fn, p.name)
            if where is not None:
                raise UnsupportedError(
                    f"a Hessian of '{fn.name}', which may change the size of its container parameter "
                    f"'{p.name}' here: forward mode over the gradient does not follow the sizes its "
                    "reverse sweep restores",
                    where,
                )


def _refuse_container_outputs(fn: ir.Function, layout: compose.Layout, program) -> None:
    """A Jacobian's outputs are written through ``double*`` params: a container the
    function writes (``std::vector<double>& out``) would otherwise count as an input."""
    written = compose._written(fn, program, set())
    for p in fn.params:
        writable = p.type.is_container and p.type.ref and not p.type.const
        if p.name in layout.inputs and writable and p.name in written:
            raise UnsupportedError(
                f"a Jacobian with the container '{p.name}' ({p.type.spell()}) as an output: "
                "write the outputs through a double* parameter (void f(const std::vector<double>& x, "
                "double* out)), or name the inputs in wrt",
                p.loc or fn.loc,
            )


def direction_suffix(fn: ir.Function, specs) -> str:
    """Name part for a set of directions: parameter indices, with ``_start_stop`` for ranges."""
    index = {p.name: i for i, p in enumerate(fn.params)}
    return "_".join(str(index[p]) if a is None else f"{index[p]}_{a}_{b}" for p, a, b in specs)


_WRT = re.compile(
    r"^\s*([A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*)*)\s*(?:\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])?\s*$"
)


def parse_wrt(fn: ir.Function, spec) -> list[Wrt]:
    """``"x"``, ``"x, y"``, ``["x", "arr[1]"]``, ``"arr[0:2]"`` (inclusive) -> Wrt list.
    ``None`` means every differentiable parameter."""
    if spec is None:
        out = [Wrt(p.name, i) for i, p in enumerate(fn.params) if _differentiable(p.type)]
        if not out:
            raise WrtError(f"'{fn.name}' has no floating-point parameter to differentiate", fn.loc)
        return out
    if isinstance(spec, str):
        items = spec.split(",")
        if len(items) > 1 and not items[-1].strip():
            items.pop()  # "w," names one input, as a tuple
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
        if not items:  # a derivative with respect to nothing: surely not what was meant
            raise WrtError(f"wrt is empty: name at least one parameter of '{fn.name}'", fn.loc)
    else:
        names = ", ".join(f"{i}: '{p.name}'" for i, p in enumerate(fn.params))
        raise WrtError(
            f"wrt takes parameter names ('x', 'x, y', ['x', 'arr[1]']), not {spec!r} "
            f"(parameters of '{fn.name}': {names})",
            fn.loc,
        )
    out = []
    for item in items:
        if not isinstance(item, str):
            raise WrtError(f"wrt entries must be strings, got {item!r}", fn.loc)
        m = _WRT.match(item)
        if not m:
            raise WrtError(
                f"cannot read wrt entry {item!r} (expected 'x', 'arr[1]', 'arr[0:2]' or 'p.a')", fn.loc
            )
        name, path, a, b = m.group(1), re.sub(r"\s", "", m.group(2)).lstrip("."), m.group(3), m.group(4)
        idx = next((i for i, p in enumerate(fn.params) if p.name == name), None)
        if idx is None:
            params = ", ".join(p.name for p in fn.params)
            raise WrtError(f"'{name}' is not a parameter of '{fn.name}' (parameters: {params})", fn.loc)
        p = fn.params[idx]
        if path:
            _check_field(fn, p, path, item)
        elif not _differentiable(p.type):
            raise WrtError(
                f"parameter '{name}' of '{fn.name}' has type {p.type.spell()}; only floating-point "
                f"parameters are differentiated",
                p.loc or fn.loc,
            )
        if a is not None and not p.type.indexable:
            raise WrtError(f"'{name}' is a scalar; it takes no index", p.loc or fn.loc)
        if a is not None and p.type.kind == ir.RECORD:
            raise WrtError(f"'{name}' points to records; name it whole ('{name}')", p.loc or fn.loc)
        start = int(a) if a is not None else None
        stop = int(b) if b is not None else (start if start is not None else None)
        if start is not None and stop < start:
            raise WrtError(f"empty index range in {item!r}", p.loc or fn.loc)
        if out and out[-1].param == name and start is not None and out[-1].stop == start - 1:
            out[-1] = Wrt(name, idx, out[-1].start, stop)  # ["w[0]", "w[1]"] is "w[0:1]"
            continue
        if any(w.param == name for w in out):
            raise WrtError(f"'{name}' is named twice in wrt {spec!r}", p.loc or fn.loc)
        out.append(Wrt(name, idx, start, stop, path))
    return out


def _differentiable(t: ir.Type) -> bool:
    """Floating scalars and arrays, records with floating fields (all of them differentiated), and
    standard containers of such records."""
    if t.kind == ir.RECORD:
        return t.carries_float and t.ptr <= 1 and not t.dims
    if t.is_container and t.args[0].kind in (ir.RECORD, *ir.CONTAINERS):  # std::vector<Particle>
        return t.carries_float
    return t.holds_float


def _check_field(fn: ir.Function, p: ir.Param, path: str, item: str) -> None:
    """``p.a``: ``a`` (or ``in.a``) names a floating field of the record parameter ``p``."""
    t = p.type.named() if p.type.kind == ir.RECORD and p.type.ptr == 1 else p.type
    for part in path.split("."):
        f = t.field_named(part) if t.kind == ir.RECORD and not t.ptr and not t.dims else None
        if f is None:
            fields = ", ".join(x.name for x in t.fields) if t.kind == ir.RECORD else ""
            raise WrtError(
                f"wrt entry {item!r}: '{part}' is not a field of {t.spell()}"
                + (f" (fields: {fields})" if fields else ""),
                p.loc or fn.loc,
            )
        t = f.type
    if not t.is_float and not (t.kind == ir.RECORD and t.carries_float and not t.ptr and not t.dims):
        raise WrtError(
            f"wrt entry {item!r} names a field of type {t.spell()}; only floating fields (and records holding them) are differentiated",
            p.loc or fn.loc,
        )


def _loc(cursor):
    from .frontend.lower import loc

    return loc(cursor)
