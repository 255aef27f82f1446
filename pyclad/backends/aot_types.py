"""How each parameter of an ahead-of-time module crosses from Python, as C++ text for the
bindings (see backends/aot.py and cpp/include/pyclad/python.hpp).

The calling conventions are the JIT path's (pyclad.conversion, pyclad.containers,
pyclad.record_arrays): numbers for scalars, numpy arrays for ``double*`` and for
``std::vector<double>`` / ``std::array<double, N>`` (a list of rows for a vector of vectors),
int32/int64 arrays for ``const int*`` / ``const long*``, the module's own record classes for
records (``mod.Particle(0.4, 1.5, 2.0)``; bound with pybind11 here), one object or a list of
them for a pointer to records, a list for ``std::vector<Particle>``.  Gradients come back as
numpy arrays, records of the module's classes, and lists of records.

Kinds: "scalar", "bool", "integer", "array" (``double*``), "intarray", "container" (of
numbers), "records_vector" (``std::vector<Particle>``), "record" (by value or reference),
"records" (a pointer to records).
"""

from __future__ import annotations

from .. import emit, ir
from ..ad import record_zeros, shadow
from ..errors import UnsupportedError

MATRIX_KINDS = ("scalar", "bool", "integer", "array", "intarray")  # what Jacobians and Hessians take


def kind(fn: ir.Function, p: ir.Param) -> str:
    """How ``p`` crosses from Python (see the module docstring); a located UnsupportedError
    for what an ahead-of-time module cannot pass."""
    t = p.type
    if not t.dims:
        if t.kind == ir.RECORD and t.ptr == 0:
            return "record"
        if t.kind == ir.RECORD and t.ptr == 1 and not t.ref:
            return "records"
        if t.kind in ir.CONTAINERS and t.ptr == 0:
            if _numbers_inside(t):
                return "container"
            if t.kind == ir.VECTOR and t.args[0].kind == ir.RECORD and not t.args[0].ptr:
                return "records_vector"
        if not (t.ref and not t.const) and t.kind == ir.BUILTIN:
            if t.ptr == 1 and t.base == "double":
                return "array"
            if t.ptr == 1 and t.value().element().is_integral and "char" not in t.base:
                return "intarray"
            if t.ptr == 0 and t.base == "double":
                return "scalar"
            if t.ptr == 0 and t.base == "bool":
                return "bool"
            if t.ptr == 0 and t.is_integral and "char" not in t.base:
                return "integer"
    raise UnsupportedError(
        f"an ahead-of-time module passes double, integer, bool, double*, integer arrays, "
        f"std::vector/std::array of double, records and arrays or vectors of records; "
        f"'{p.name}' of '{fn.name}' is {t.spell()}",
        p.loc or fn.loc,
    )


def _numbers_inside(t: ir.Type) -> bool:
    """A std::vector / std::array of double (or of such containers: only std::vector nests)."""
    e = t.args[0]
    if e.kind in ir.CONTAINERS and not e.ptr:
        return t.kind == ir.VECTOR and e.kind == ir.VECTOR and _numbers_inside(e)
    return e.kind == ir.BUILTIN and e.base == "double" and not e.ptr and not e.dims


def _str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_name(t: ir.Type) -> str:
    """A record's C++ name (qualified from the global scope) and its Python name."""
    return t.named().spell()


def python_name(t: ir.Type) -> str:
    return t.named().base.removeprefix("::").replace("::", "_")


def convert(fn: ir.Function, i: int, p: ir.Param, primal: bool) -> tuple[list[str], str, list[str]]:
    """For a parameter of kind intarray, container, records_vector, record or records: the
    statements converting ``args[i]`` into ``a{i}``, the call's argument, and the statements
    after a primal call (writing back into the caller's objects)."""
    t, v = p.type, f"a{i}"
    k = kind(fn, p)
    where = _str(f"argument '{p.name}' of {fn.name}")
    spelled = _str(t.spell())
    writes = not t.const
    if k == "intarray":
        base = t.base
        lines = [f"    pp::iarray<{base}> {v} = pp::int_array<{base}>(args[{i}], {where}, {spelled}, "]
        lines[0] += ("true" if writes and primal else "false") + ");"
        if writes and not primal:
            lines.append(f"    {v} = pp::copy({v});")
        return lines, (f"pp::ptr({v})" if writes else f"{v}.data()"), []
    if k == "container":
        lines = []
        if t.ref and not t.const and primal:
            lines.append(_refuse_reference(fn, p))
        return (
            lines + [f"    auto {v} = pp::container<{t.named().spell()}>(args[{i}], {where}, {spelled});"],
            v,
            [],
        )
    if k == "records_vector":
        r = t.args[0]
        lines = []
        if t.ref and not t.const and primal:
            lines.append(_refuse_reference(fn, p))
        lines += [
            f"    {t.named().spell()} {v};",
            f"    pp::fill_records<{record_name(r)}>({v}, args[{i}], {where}, {spelled}, {_str(python_name(r))});",
        ]
        return lines, v, []
    if k == "record":
        name = record_name(t)
        in_place = t.ref and not t.const and primal  # the primal writes the caller's object
        decl = f"{name}&" if in_place else f"const {name}&" if t.const or not t.ref else name
        conv = f"pp::record<{name}>(args[{i}], {where}, {spelled}, {_str(python_name(t))})"
        return [f"    {decl} {v} = {conv};"], v, []
    # records: one object or a list, in a vector; the primal's writes go back into the objects
    name = record_name(t)
    extent = p.extent or 0
    declared = _str(f"{t.named().spell()} {p.name}[{extent}]")
    conv = f"pp::records<{name}>(args[{i}], {where}, {spelled}, {_str(python_name(t))}, {extent}, {declared})"
    after = [f"    pp::write_back(args[{i}], {v});"] if writes and primal else []
    return [f"    std::vector<{name}> {v} = {conv};"], f"{v}.data()", after


def _refuse_reference(fn: ir.Function, p: ir.Param) -> str:
    """A primal call cannot write a container back into a numpy array (it may also resize it)."""
    msg = (
        f"argument '{p.name}' of {fn.name} ({p.type.spell(p.name)}) is a non-const reference that "
        f"{fn.name} may write or resize: an ahead-of-time module cannot write it back into a Python "
        "object; call a derivative (it works on a copy), or take the parameter by const reference"
    )
    return f"    throw py::type_error({_str(msg)});"


def zero_decl(t: ir.Type, name: str, like: str) -> str:
    """A statement declaring ``name`` the zero shadow of ``like`` (of type ``t``: a record, a
    container, or ``std::vector<R>`` for a pointer to records), shaped like it."""
    if t.kind == ir.RECORD and t.ptr:  # an array of records, held in a vector
        r = t.named()
        zero = _record_zero(r, "_x")
        return (
            f"    std::vector<{record_name(r)}> {name}; {name}.reserve({like}.size()); "
            f"for (const auto& _x : {like}) {name}.push_back({zero});"
        )
    if t.kind == ir.RECORD:
        return f"    {record_name(t)} {name} = {_record_zero(t.named(), like)};"
    if record_zeros.needs_fields(t.named()) or record_zeros.has_records(t.named()):
        return f"    auto {name} = {record_zeros.zeroing_lambda(t.named())}({like});"
    return f"    auto {name} = ::pyclad::zero_like({like});"


def _record_zero(r: ir.Type, like: str) -> str:
    """The zero shadow of the record ``like``: a zeroed copy when it holds containers (their
    sizes kept), else the record's zero (every floating field 0, default initialisers too)."""
    if record_zeros.needs_fields(r):
        return f"{record_zeros.zeroing_lambda(r)}({like})"
    zero = shadow.zero(r)
    text = emit.expr(zero)
    return f"{record_name(r)}{text}" if text.startswith("{") else text


def adjoint_result(t: ir.Type, k: str, i: int, name: str) -> str:
    """The Python value of the adjoint ``name`` of parameter ``i`` (kind ``k``)."""
    if k == "container":
        return f"pp::to_py({name})"
    if k == "records_vector":
        return f"pp::records_list({name})"
    if k == "record":
        return f"py::cast({name})"
    return f"pp::records_out(args[{i}], {name})"  # records: one object or a list, as given


def pass_buffer(q: ir.Param, k: str, name: str) -> str:
    """How a kernel parameter ``q`` (an adjoint or tangent) takes the buffer ``name``."""
    if k == "records":
        return f"{name}.data()"
    return f"&{name}" if q.type.ptr else name


def seed(fn: ir.Function, k: str, like: str, name: str, index: int | None, fld: str) -> list[str]:
    """Statements seeding the tangent ``name`` of parameter ``like`` (kind ``k``): a 1 at one
    element of a container, or in one field of a record."""
    p = fn.param(like)
    if k == "container" and index is not None:
        if p.type.args[0].kind in ir.CONTAINERS:
            raise UnsupportedError(
                f"a derivative w.r.t. one element of a {p.type.spell()} is not supported in forward mode "
                "(take the gradient, or pass the rows as separate parameters)",
                p.loc or fn.loc,
            )
        msg = _str(f"index {index} is out of range for '{like}' (length ")
        return [
            f'    if ({name}.size() <= {index}) throw py::type_error({msg} + std::to_string({name}.size()) + ")");',
            f"    {name}[{index}] = 1;",
        ]
    if fld and k == "record":
        return [f"    {name}.{fld} = 1;"]
    if fld and k == "records":
        msg = _str(
            f"forward mode w.r.t. '{like}.{fld}' seeds one record, but '{like}' was given an array of "
        )
        tail = _str(" records: take the gradient (a list of records back), or pass one record")
        return [
            f"    if ({name}.size() != 1) throw py::type_error({msg} + std::to_string({name}.size()) + {tail});",
            f"    {name}[0].{fld} = 1;",
        ]
    return []


# ---------------------------------------------------------------------------- record classes
def records_of(fns) -> list[ir.Type]:
    """The record types the functions' parameters reach (element types and fields too),
    inner ones first, each once."""
    out: dict[str, ir.Type] = {}

    def visit(t: ir.Type) -> None:
        while t.dims or (t.kind in ir.CONTAINERS and not t.ptr):
            t = t.element()
        if t.kind != ir.RECORD:
            return
        r = t.named()
        key = record_name(r)
        if key in out:
            return
        out[key] = r  # placed before its fields' records are visited: no cycles through pointers
        for f in r.fields:
            if not f.type.ptr:
                visit(f.type)
        del out[key]
        out[key] = r

    for fn in fns:
        for p in fn.params:
            visit(p.type)
    return list(out.values())


def class_binding(r: ir.Type) -> str:
    """``py::class_`` for the record ``r``: a default constructor, and for an aggregate, a
    constructor taking its fields in order (``mod.Particle(0.4, 1.5, 2.0)``, later fields
    keeping their defaults, as aggregate initialisation does) and an attribute per field."""
    name, py = record_name(r), python_name(r)
    lines = [f'    py::class_<{name}>(m, "{py}", py::module_local())']
    if r.constructible:
        lines.append("        .def(py::init<>())")
    if r.aggregate and r.constructible:
        settable = []
        for f in r.fields:
            setter = _field_setter(r, f, "_a[{k}]")
            if setter is None:
                break
            settable.append(setter)
        if settable:
            body = " ".join(f"if (_a.size() > {k}) {s.format(k=k)}" for k, s in enumerate(settable))
            too_many = _str(f"{py}(...) takes at most {len(settable)} field values, got ")
            lines.append(
                f"        .def(py::init([](py::args _a) {{ if (_a.size() > {len(settable)}) "
                f"throw py::type_error({too_many} + std::to_string(_a.size())); {name} _r{{}}; {body} return _r; }}))"
            )
    if r.aggregate:
        for f in r.fields:
            lines += _field_access(r, f)
    lines[-1] += ";"
    return "\n".join(lines)


def _field_setter(r: ir.Type, f: ir.Field, handle: str) -> str | None:
    """A statement setting ``_r.f`` from a Python value (None: a field Python cannot set)."""
    value = _from_python(f.type, handle, f"field '{f.name}' of {python_name(r)}")
    return None if value is None else f"_r.{f.name} = {value};"


def _from_python(t: ir.Type, handle: str, what: str) -> str | None:
    where, spelled = _str(what), _str(t.spell())
    if t.ptr or t.dims or t.ref:
        return None
    if t.kind == ir.RECORD:
        return f"pp::record<{record_name(t)}>({handle}, {where}, {spelled}, {_str(python_name(t))})"
    if t.kind in ir.CONTAINERS:
        if _numbers_inside(t):
            return f"pp::container<{t.named().spell()}>({handle}, {where}, {spelled})"
        if t.kind == ir.VECTOR and t.args[0].kind == ir.RECORD:
            r = t.args[0]
            return (
                f"[&] {{ {t.named().spell()} _v; pp::fill_records<{record_name(r)}>(_v, {handle}, {where}, "
                f"{spelled}, {_str(python_name(r))}); return _v; }}()"
            )
        return None
    if t.kind != ir.BUILTIN:
        return None
    if t.is_float:
        return f"static_cast<{t.base}>(pp::scalar({handle}, {where}))"
    if t.base == "bool":
        return f"pp::boolean({handle}, {where})"
    if t.is_integral and "char" not in t.base:
        return f"pp::integer<{t.base}>({handle}, {where})"
    return None


def _field_access(r: ir.Type, f: ir.Field) -> list[str]:
    """The attribute of field ``f``: numbers and records read and written in place, containers
    read as numpy arrays (a copy) and set from arrays or lists."""
    t, name = f.type, record_name(r)
    if t.ptr or t.dims or t.ref:
        return []
    if t.kind == ir.BUILTIN or t.kind == ir.RECORD:
        if t.const:
            return [f'        .def_readonly("{f.name}", &{name}::{f.name})']
        return [f'        .def_readwrite("{f.name}", &{name}::{f.name})']
    if t.kind in ir.CONTAINERS:
        setter = _from_python(t, "_h", f"field '{f.name}' of {python_name(r)}")
        if setter is None:
            return []
        get = "pp::to_py" if _numbers_inside(t) else "pp::records_list"
        getter = f"[](const {name}& _s) {{ return {get}(_s.{f.name}); }}"
        put = f"[]({name}& _s, py::handle _h) {{ _s.{f.name} = {setter}; }}"
        return [f'        .def_property("{f.name}", {getter}, {put})']
    return []
