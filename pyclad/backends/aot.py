"""Ahead-of-time Python modules: derivatives compiled by the system compiler into a pybind11
extension, importable without cling (``pyclad build``, ``pyclad.build``).

A module is a package ``NAME/`` holding ``_native`` (the extension: the user's source, the
header ``pyclad gen`` would write, and one binding per function), a small pure-Python
``__init__.py`` that turns the extension's TypeErrors into ``pyclad.ArgumentError``, and the
generated sources for reading.  Arguments follow the JIT path's rules (see
cpp/include/pyclad/python.hpp); results too: a float per scalar, the output array itself per
array, a tuple per gradient (a bare value for a gradient w.r.t. one name), 2-D arrays for
Jacobians and Hessians.  Index arrays, standard containers, records and arrays or vectors of
records cross as backends/aot_types.py says; the records are the module's own classes
(``mod.Particle``, pybind11 module-local types: each module has its own).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from .. import checked, ir
from ..errors import CompileError, PycladError, UnsupportedError, WrtError
from ..source import Result, Source, parse_wrt, render
from . import aot_types, runtime_include, toolchain

MODES = ("forward", "reverse", "jacobian", "hessian")


@dataclass
class Entry:
    """One function of the module: the primal itself, or one derivative of it."""

    pyname: str  # the Python name (C++ ``::`` becomes ``_``)
    cxx: str  # the C++ name to call, qualified
    primal: ir.Function
    kind: str  # "primal" or a mode
    result: Result | None = None
    bare: bool = False  # a gradient w.r.t. one name returns the value, not a 1-tuple
    ranges: list = field(default_factory=list)  # (param, stop) that the arrays passed must cover


def plan(source: Source, functions: list[str], mode: str, wrt=None) -> list[Entry]:
    """The primal and the derivatives of each requested function, generated now (errors now)."""
    if mode not in MODES:
        raise WrtError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    entries: list[Entry] = []
    for name in dict.fromkeys(functions):  # a function named twice is bound once
        fn = source.function(name)
        if mode in ("jacobian", "hessian"):
            _check_matrix(fn, mode)
        # An overload (sq(double)) or a template instance (f<double>) is bound by its stem
        # (sq_double, f_double) and called as C++ spells it (sq, f<double>).
        pyname = (fn.name if ("(" in name or "<" in name) else name).replace("::", "_")
        entries.append(Entry(pyname, name.split("(")[0] if "(" in name else name, fn, "primal"))
        for result, bare, ranges in _derivatives(source, fn, name, mode, wrt):
            cxx = result.function.name  # qualified already: "ns::f_grad"
            entries.append(Entry(cxx.replace("::", "_"), cxx, fn, mode, result, bare, ranges))
    for e in entries:
        _check_signature(e.primal)
    return entries


def _check_matrix(fn: ir.Function, mode: str) -> None:
    """Jacobians and Hessians of a module take scalars and arrays (their layouts have no
    place for containers or records yet)."""
    for p in fn.params:
        if aot_types.kind(fn, p) not in aot_types.MATRIX_KINDS:
            raise UnsupportedError(
                f"an ahead-of-time {mode} takes scalars and arrays; '{p.name}' of '{fn.name}' is "
                f"{p.type.spell()} (take the gradient, or the JIT's pyclad.{mode})",
                p.loc or fn.loc,
            )


def _derivatives(source: Source, fn: ir.Function, name: str, mode: str, wrt):
    if mode == "forward":
        if wrt is None:
            items = [p.name for p in fn.params if p.type.is_float] or [None]  # None: Source explains
        else:
            items = [s.strip() for s in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
            twice = next((w for k, w in enumerate(items) if w in items[:k]), None)
            if twice is not None:
                raise WrtError(f"{twice!r} is named twice in wrt {wrt!r}", fn.loc)
        return [(source.forward(name, w), False, []) for w in items]
    if mode == "reverse":
        bare = isinstance(wrt, str) and "," not in wrt
        return [(source.gradient(name, wrt), bare, [])]
    if mode == "jacobian":
        return [(source.jacobian(name, wrt), False, [])]
    ranges = [(w.param, w.stop) for w in parse_wrt(fn, wrt) if w.stop is not None]
    return [(source.hessian_function(name, wrt), False, ranges)]


def _check_signature(fn: ir.Function) -> None:
    for p in fn.params:
        aot_types.kind(fn, p)
    r = fn.ret
    if not (r.is_void or r.ptr == 0 and not r.ref and (r.base in ("double", "bool") or r.is_integral)):
        raise UnsupportedError(
            f"an ahead-of-time module returns double, integer, bool or void; '{fn.name}' returns {r.spell()}",
            fn.loc,
        )


# ---------------------------------------------------------------------------- C++ of the bindings
def _signature(fn: ir.Function) -> str:
    return f"{fn.name}({', '.join(p.type.spell(p.name) for p in fn.params)})"


def _convert(e: Entry, arrays: dict[str, str], after: list[str]) -> tuple[list[str], list[str]]:
    """Statements converting ``args`` to C++ values, and the call's leading arguments;
    ``after`` gets the statements that follow a primal call (writing records back)."""
    fn, lines, call = e.primal, [], []
    for i, p in enumerate(fn.params):
        where = f"argument '{p.name}' of {fn.name}"
        kind, v = aot_types.kind(fn, p), f"a{i}"
        if kind not in ("array", "scalar", "bool", "integer"):
            more, arg, back = aot_types.convert(fn, i, p, e.kind == "primal")
            lines += more
            call.append(arg)
            after += back
            arrays[p.name] = v
        elif kind == "array":
            writes = not p.type.const
            own = writes and e.kind != "primal"  # a derivative works on a private copy
            flag = "true" if writes and not own else "false"
            lines.append(f'    pp::darray {v} = pp::array(args[{i}], "{where}", "{p.type.spell()}", {flag});')
            if own:
                lines.append(f"    {v} = pp::copy({v});")
            arrays[p.name] = v
            call.append(f"{v}.data()" if p.type.const else f"pp::ptr({v})")
            if p.extent is not None:  # ``double a[3]``: the function may touch all of them
                lines.append(_extent_check(fn, p, v))
        elif kind == "scalar":
            lines.append(f'    double {v} = pp::scalar(args[{i}], "{where}");')
            call.append(v)
        elif kind == "bool":
            lines.append(f'    bool {v} = pp::boolean(args[{i}], "{where}");')
            call.append(v)
        else:
            base = p.type.value().spell().replace("const ", "")
            lines.append(f'    {base} {v} = pp::integer<{base}>(args[{i}], "{where}");')
            call.append(v)
    for param, stop in e.ranges:  # a Hessian's index range must lie inside the array passed
        v = arrays[param]
        lines.append(
            f"    if (pp::len({v}) <= {stop}) throw py::type_error(\"index range of '{param}' up to "
            f'{stop} is outside the array passed (length " + std::to_string(pp::len({v})) + ")");'
        )
    return lines, call


def _extent_check(fn: ir.Function, p: ir.Param, v: str) -> str:
    """Refuse an array shorter than ``p``'s declared length, as the JIT path does (BoundsError)."""
    loc = p.loc or fn.loc
    where = f"{loc.file}:{loc.line}:{loc.col}" if loc else ""
    what = f"argument '{p.name}' of {fn.name} is declared {p.type.base} {p.name}[{p.extent}], but the array passed has length "
    return (
        f"    if (pp::len({v}) < {p.extent}) throw std::out_of_range({_cxx_string('extent|' + where + '|' + p.name + '|')} "
        f"+ std::to_string(pp::len({v})) + {_cxx_string('|' + what)} + std::to_string(pp::len({v})));"
    )


def _cxx_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _entry_call(e: Entry, call: list[str]) -> str:
    """The call of a derivative through its bounds-checked entry shim: each pointer argument
    followed by its buffer's length (see pyclad.checked), as the JIT path calls it."""
    params = e.result.function.params
    out = []
    for q, arg in zip(params, call):
        out.append(arg)
        if checked.is_checked_pointer(q.type) and not q.type.ref:
            m = re.fullmatch(r"pp::ptr\((\w+)\)|(\w+)\.data\(\)|&(\w+)", arg)
            if m is None:
                raise PycladError(f"cannot pass the length of '{q.name}' to {e.result.function.name}")
            out.append("1" if m.group(3) else f"pp::len({m.group(1) or m.group(2)})")
    return f"{checked.inside(e.cxx, checked.ENTRY)}({', '.join(out)})"


def _trailing(e: Entry) -> list[ir.Param]:
    return e.result.function.params[len(e.primal.params) :]


def _body(e: Entry) -> str:
    """The binding of one entry: check and convert, call, return what the JIT path returns."""
    arrays: dict[str, str] = {}
    after: list[str] = []
    lines, call = _convert(e, arrays, after)
    invoke = f"{e.cxx}({{}})"
    if e.kind == "primal":
        r = e.primal.ret
        expr = invoke.format(", ".join(call))
        if r.is_void:
            lines += [f"    {expr};", *after, "    return py::none();"]
        else:
            wrap = "py::float_" if r.base == "double" else "py::bool_" if r.base == "bool" else "py::int_"
            if after:
                lines += [f"    auto _value = {expr};", *after, f"    return {wrap}(_value);"]
            else:
                lines.append(f"    return {wrap}({expr});")
    elif e.kind == "forward":
        lines += _forward(e, arrays, call)
    elif e.kind == "reverse":
        lines += _reverse(e, arrays, call)
    else:
        lines += _matrix(e, arrays, call)
    head = [f"static py::object w_{e.pyname}(py::args args) {{"]
    head.append(f'    pp::arity(args, {len(e.primal.params)}, "{_signature(e.primal)}");')
    return "\n".join(head + lines + ["}"]) + "\n"


def _forward(e: Entry, arrays: dict[str, str], call: list[str]) -> list[str]:
    lines = []
    fn, params = e.primal, {q.name: q for q in _trailing(e)}
    for k, x in enumerate(e.result.extras):  # tangent arrays, seeded for an element wrt
        v = f"t{k}"
        p = fn.param(x.like)
        kind = aot_types.kind(fn, p)
        if kind != "array":  # a container, a record or records: zeros shaped like it, seeded
            lines.append(aot_types.zero_decl(p.type, v, arrays[x.like]))
            lines += aot_types.seed(fn, kind, x.like, v, x.seed, x.field)
            call.append(aot_types.pass_buffer(params[x.name], kind, v))
            continue
        seed = -1 if x.seed is None else x.seed
        lines.append(f'    pp::darray {v} = pp::seeded({arrays[x.like]}, {seed}, "{x.like}");')
        arrays[x.name] = v
        call.append(f"{v}.data()")
    lines.append(f"    return py::float_({_entry_call(e, call)});")
    return lines


def _reverse(e: Entry, arrays: dict[str, str], call: list[str]) -> list[str]:
    fn, lines, returned = e.primal, [], []
    outputs = {o.name: o for o in e.result.extras}
    for k, q in enumerate(_trailing(e)):  # one zeroed adjoint per output, in signature order
        o, v = outputs[q.name], f"d{k}"
        p = fn.param(o.param)
        kind = aot_types.kind(fn, p)
        if kind in ("container", "records_vector", "record", "records"):
            lines.append(aot_types.zero_decl(p.type, v, arrays[o.param]))
            call.append(aot_types.pass_buffer(q, kind, v))
            out = aot_types.adjoint_result(p.type, kind, fn.params.index(p), v)
        elif fn.param(o.param).type.ptr:
            lines.append(f"    pp::darray {v} = pp::zeros(pp::len({arrays[o.param]}));")
            call.append(f"pp::ptr({v})")
            out = v
        else:
            lines.append(f"    double {v} = 0;")
            call.append(f"&{v}")
            out = f"py::float_({v})"
        if o.wrt:
            returned.append(out)
    lines.append(f"    {_entry_call(e, call)};")
    if e.bare and len(returned) == 1:
        lines.append(f"    return py::object({returned[0]});")
    else:
        lines.append(f"    return py::make_tuple({', '.join(returned)});")
    return lines


def _matrix(e: Entry, arrays: dict[str, str], call: list[str]) -> list[str]:
    """Jacobian (rows = output elements, cols = inputs) or Hessian (n x n over its directions)."""
    fn = e.primal
    if e.kind == "jacobian":
        layout = e.result.extras[0]

        def count(names) -> str:  # elements of each array, 1 per scalar
            return " + ".join(f"pp::len({arrays[n]})" if fn.param(n).type.ptr else "1" for n in names)

        shape = f"{count(layout.outputs)}, {count(layout.inputs)}"
    else:
        n = e.result.extras[0]
        shape = f"{n}, {n}"
    lines = [f"    pp::darray m = pp::zeros({shape});"]
    for q in _trailing(e):
        if q.type.ptr:
            call.append("pp::ptr(m)")
        elif q.name.startswith("_n_") and q.name[3:] in arrays:
            call.append(f"pp::len({arrays[q.name[3:]]})")
        else:
            raise PycladError(f"cannot bind parameter '{q.name}' of {e.result.function.name}")
    return lines + [f"    {_entry_call(e, call)};", "    return std::move(m);"]


def binding(entries: list[Entry], source_path: str, header: str, module: str) -> str:
    """The extension's C++: the user's source, its derivatives, and the bindings."""
    out = [
        f"// Python bindings of {module}, generated by pyclad. Do not edit: rebuild.",
        "#include <pyclad/python.hpp>",
        "",
        "#include <string>",
        "#include <utility>",
        "",
        f'#include "{source_path}"',
        f'#include "{header}"',
        "",
        "namespace py = pybind11;",
        "namespace pp = pyclad::python;",
        "",
    ]
    out += [_body(e) for e in entries]
    out.append("PYBIND11_MODULE(_native, m) {")
    out += [aot_types.class_binding(r) for r in aot_types.records_of([e.primal for e in entries])]
    for e in entries:
        doc = e.result.function.name if e.result else _signature(e.primal)
        out.append(f'    m.def("{e.pyname}", &w_{e.pyname}, "{doc}");')
    out.append("}")
    return "\n".join(out) + "\n"


def header(entries: list[Entry], what: str) -> str:
    """The derivatives as ``pyclad gen`` writes them (inline functions, helpers once each, each
    in its namespaces), then their bounds-checked variants and entry shims, which the bindings call."""
    functions, seen = [], set()
    for e in entries:
        if e.result is None:
            continue
        for f in e.result.helpers + [e.result.function]:
            if f.name not in seen:
                seen.add(f.name)
                functions.append(f)
    body = render(functions, inline=True).rstrip("\n")  # each function inside its namespaces
    # The bindings call the bounds-checked variants (one translation unit: no inline guards).
    names = [f.name for f in functions]
    body += "\n\n" + checked.source(functions, lambda fs, root: render(fs, root=root), names).rstrip("\n")
    includes = "".join(
        f"#include <{h}>\n" for h in ("algorithm", "cmath", "cstddef", "vector", "pyclad/runtime.hpp")
    )
    return f"// {what}\n#pragma once\n\n{includes}\n{body}\n"


# ---------------------------------------------------------------------------- the Python side
_SHIM = '''\
"""{doc}"""

from . import _native

__all__ = {names!r}

# Where each function is defined: errors name it as the JIT path's do.
_LOCS = {locs!r}
# The C++ name of each derivative, as the JIT path's errors spell it.
_CXX = {cxx!r}


class _ArgumentError(TypeError):
    """A bad argument (pyclad.ArgumentError when pyclad is installed)."""


def _error(name, exc):
    file, line, col = _LOCS[name]
    try:
        from pyclad.errors import ArgumentError, Loc
    except ImportError:
        return _ArgumentError(f"{{file}}:{{line}}:{{col}}: error: {{exc}}")
    return ArgumentError(str(exc), Loc(file, line, col))


def _bounds(name, exc):
    try:
        from pyclad.backends.call import bounds_from_text
    except ImportError:
        return exc
    return bounds_from_text(str(exc), _CXX.get(name, name))


def _wrap(name):
    native = getattr(_native, name)

    def call(*args):
        try:
            return native(*args)
        except TypeError as exc:
            raise _error(name, exc) from None
        except IndexError as exc:  # an access outside a buffer, refused before it happened
            raise _bounds(name, exc) from None

    call.__name__ = call.__qualname__ = name
    call.__doc__ = native.__doc__
    return call


'''


def shim(entries: list[Entry], doc: str) -> str:
    """``__init__.py``: the functions, each raising pyclad.ArgumentError for a bad argument.
    It imports neither cppyy nor numpy nor pyclad (pyclad only to raise its error)."""
    names = [e.pyname for e in entries]
    classes = [aot_types.python_name(r) for r in aot_types.records_of([e.primal for e in entries])]
    locs = {}
    for e in entries:
        loc = e.primal.loc
        locs[e.pyname] = (loc.file, loc.line, loc.col) if loc else ("<unknown>", 0, 0)
    cxx = {e.pyname: e.result.function.name for e in entries if e.result is not None}
    text = _SHIM.format(doc=doc, names=names + classes, locs=locs, cxx=cxx)
    text += "".join(
        f"{c} = _native.{c}  # the record class, as the functions take and return it\n" for c in classes
    )
    return text + "".join(f'{n} = _wrap("{n}")\n' for n in names)


# ---------------------------------------------------------------------------- compiling
def compiler() -> str:
    """The C++ compiler: ``$CXX``, else g++ or c++ from the path."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not cxx:
        raise toolchain.ToolchainError("no C++ compiler found (set CXX, or install g++)")
    return cxx


def pybind11_include() -> str:
    try:
        import pybind11
    except ImportError:
        raise toolchain.ToolchainError("building a module needs pybind11: pip install pybind11") from None
    return pybind11.get_include()


def compile_module(cpp: str, out: str, std: str, include_dirs, defines) -> None:
    """Compile the binding into the extension ``out`` (written atomically)."""
    flags = [f"-I{d}" for d in [*toolchain.python_includes(), pybind11_include(), runtime_include()]]
    flags += [f"-I{os.path.abspath(d)}" for d in include_dirs]
    flags += [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in (defines or {}).items()]
    tmp = out + ".tmp"
    cmd = [*shlex.split(compiler()), f"-std={std}", "-O2", "-shared", "-fPIC", "-fvisibility=hidden"]
    cmd += [*flags, cpp, "-o", tmp]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        diagnostics = [line for line in r.stderr.splitlines() if line.strip()]
        raise CompileError(f"the C++ compiler rejected the module ({shlex.join(cmd)})", None, diagnostics)
    os.replace(tmp, out)


@dataclass
class Request:
    """What to build: functions of a file, a mode, and the file's flags."""

    path: str
    functions: list[str]
    mode: str = "reverse"
    wrt: object = None
    name: str | None = None
    std: str = "c++17"
    include_dirs: tuple = ()
    defines: dict | None = None


def build(req: Request, out_dir: str) -> str:
    """Write and compile the package ``out_dir/NAME``; returns its directory."""
    path = os.path.abspath(req.path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PycladError(f"cannot read {req.path}: {exc.strerror}") from None
    name = req.name or _default_name(path)
    if not name.isidentifier():
        raise PycladError(f"module name {name!r} is not a Python identifier (give another name)")
    source = Source(text, path, req.std, req.include_dirs, req.defines)
    entries = plan(source, list(req.functions), req.mode, req.wrt)
    what = f"{req.mode} derivatives of {', '.join(req.functions)} in {req.path}"
    pkg = os.path.join(out_dir, name)
    src = os.path.join(pkg, "src")
    try:
        os.makedirs(src, exist_ok=True)
    except OSError as exc:
        raise PycladError(f"cannot create the package directory {pkg}: {exc.strerror}") from None
    hpp = os.path.join(src, f"{name}.hpp")
    toolchain.write_atomic(hpp, header(entries, f"The {what}, generated by pyclad."))
    cpp = os.path.join(src, f"{name}_bindings.cpp")
    toolchain.write_atomic(cpp, binding(entries, path, os.path.basename(hpp), name))
    native = os.path.join(pkg, "_native" + toolchain.extension_suffix())
    compile_module(cpp, native, req.std, [os.path.dirname(path), *req.include_dirs], req.defines)
    doc = f"The {what}, compiled ahead of time by pyclad."
    toolchain.write_atomic(os.path.join(pkg, "__init__.py"), shim(entries, doc))
    return pkg


def load(pkg: str):
    """Import a built package from its directory (under its own name, replacing an earlier one)."""
    name = os.path.basename(os.path.normpath(pkg))
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build_module(
    path: str | os.PathLike,
    functions: list[str] | str,
    mode: str = "reverse",
    wrt=None,
    out_dir: str | os.PathLike | None = None,
    name: str | None = None,
    std: str = "c++17",
    include_dirs=(),
    defines=None,
):
    """Compile derivatives of ``functions`` in the C++ file ``path`` into an extension module
    and import it: ``mod.energy(...)``, ``mod.energy_grad(...)``.  ``out_dir``: where the
    package goes (default: pyclad's cache directory, where an unchanged request is reused)."""
    functions = [functions] if isinstance(functions, str) else list(functions)
    req = Request(os.fspath(path), functions, mode, wrt, name, std, tuple(include_dirs), defines)
    if out_dir is None:
        from . import cache

        out_dir = cache.aot_dir(req)
        pkg = os.path.join(out_dir, req.name or _default_name(req.path))
        if os.path.exists(os.path.join(pkg, "__init__.py")):
            return load(pkg)
    return load(build(req, os.fspath(out_dir)))


def _default_name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0] + "_d"
