"""clad's names and signatures for the derivatives pyclad generates.

Each clad call becomes a Plan: pyclad's generated functions (from pyclad.source.Source),
and, where clad's signature differs from pyclad's, a small wrapper with clad's name and
parameter list that calls pyclad's function.  The table (``P...`` = the primal's params, a
method's object first as ``S& _this``):

- ``clad::differentiate(f, "x")``       -> ``R f_darg<i>(P...)``; order n: ``f_d<n>arg<i>``;
  an array element ``"a[k]"`` -> ``f_darg<i>_<k>(P...)`` (pyclad's takes the seeded
  tangent array, which the wrapper declares: the parameter needs a declared size).
- ``clad::differentiate<clad::opts::vector_mode>(f, "x, y")`` -> ``void f_dvec[_i_j](P...,
  T* _d_x, T* _d_y)``, each output assigned.
- ``clad::gradient(f[, sel])``          -> ``void f_grad[_i_j](P..., [S* _d_this,] T* _d_p...)``,
  one adjoint pointer per selected parameter (integers too; they stay untouched),
  accumulated with ``+=``.
- ``clad::hessian(f[, sel])``           -> ``void f_hessian(P..., T* hessianMatrix)``;
  ``clad::opts::diagonal_only``: ``void f_hessian_diag(P..., T* diagonalHessianVector)``.
- ``clad::jacobian(f[, sel])``          -> ``void f_jac[_i_j](P..., clad::matrix<T>* _d_vector_<a>...)``,
  one matrix per array or pointer parameter; outputs' matrices receive the rows (the
  matrices' rows() give the arrays' lengths).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import ir
from ..errors import Loc
from ..source import Source
from .errors import TranslateError
from .selection import Item, suffix, user_params


@dataclass
class Plan:
    """What one clad call needs: pyclad's functions, clad's wrapper, and how to point at it."""

    clad_name: str
    functions: list[ir.Function]
    wrapper: str = ""  # C++ definition of clad_name, or "" when functions[-1] has clad's signature
    ret: str = "void"
    param_types: list[str] = field(default_factory=list)
    this_adjoint: int | None = None  # a method's gradient: the position of ``_d_this``

    @property
    def pointer_type(self) -> str:
        return f"{self.ret} (*)({', '.join(self.param_types)})"


@dataclass(frozen=True)
class Request:
    """One clad call, resolved: the primal's key in the Source, its lowered function, the
    selection, and whether execute's first argument is the object of a method."""

    source: Source
    key: str
    fn: ir.Function
    items: list[Item] | None
    method: bool
    loc: Loc


def scope(name: str) -> tuple[str, str]:
    """``ns::f`` -> ("ns::", "f")."""
    head, sep, tail = name.rpartition("::")
    return (head + sep, tail)


def _renamed(fn: ir.Function, name: str) -> ir.Function:
    return replace(fn, name=scope(fn.name)[0] + name)


def _spelled(params) -> list[str]:
    return [p.type.spell() for p in params]


def _define(name: str, ret: str, params: list[tuple[str, str]], body: list[str], comment: str) -> str:
    sig = ", ".join(f"{t} {n}" if not t.endswith(("*", "&")) else f"{t}{n}" for t, n in params)
    lines = [f"// {comment}", f"inline {ret} {name}({sig}) {{"] + [f"    {s}" for s in body] + ["}"]
    return "\n".join(lines) + "\n"


def _simple(req: Request, name: str, impl: ir.Function) -> Plan:
    """pyclad's function already has clad's signature: it only takes clad's name."""
    functions = req.source.helpers_of(impl) + [_renamed(impl, name)]
    return Plan(name, functions, "", impl.ret.spell(), _spelled(impl.params))


# ------------------------------------------------------------------------------ forward
def forward(req: Request, order: int) -> Plan:
    params = user_params(req.fn, req.method)
    items = req.items
    if items is None:
        if len(params) != 1:
            raise TranslateError(
                f"clad::differentiate of '{req.key}' ({len(params)} parameters) needs the parameter to "
                'differentiate with respect to ("x" or an index)',
                req.loc,
            )
        items = [Item(0, params[0])]
    if len(items) != 1 or items[0].stop is not None:
        raise TranslateError(
            "clad::differentiate takes one parameter or one array element; use "
            "clad::opts::vector_mode for several",
            req.loc,
        )
    item = items[0]
    t = item.param.type
    if (t.ptr or t.dims or item.param.extent) and item.start is None:
        raise TranslateError(
            f"clad::differentiate with respect to the array '{item.param.name}': name one element, "
            f'e.g. "{item.param.name}[0]"',
            req.loc,
        )
    result = req.source.forward(req.key, item.spec, order)
    d = "d" if order == 1 else f"d{order}"
    name = f"{scope(req.fn.name)[1]}_{d}arg{item.index}" + ("" if item.start is None else f"_{item.start}")
    impl = result.function
    if len(impl.params) == len(req.fn.params):
        return _simple(req, name, impl)
    body = []
    for extra in result.extras:
        like = req.fn.param(extra.like)
        if like is None or not like.extent:
            raise TranslateError(
                f"clad::differentiate with respect to an element of the pointer '{extra.like}': pyclad "
                "needs the array's length, which the pointer does not carry; declare the parameter with "
                f"its size (e.g. double {extra.like}[N])",
                req.loc,
            )
        elem = impl.param(extra.name).type.element().plain().spell()
        body.append(f"{elem} {extra.name}[{like.extent}] = {{}};")
        if extra.seed is not None:
            body.append(f"{extra.name}[{extra.seed}] = 1;")
    args = ", ".join(p.name for p in impl.params)
    body.append(f"return {impl.name.split('::')[-1]}({args});")
    own = [(p.type.spell(), p.name) for p in req.fn.params]
    ret = impl.ret.spell()
    text = _define(name, ret, own, body, f"clad's signature for {impl.name}: the tangent seeds are local")
    return Plan(name, req.source.helpers_of(impl) + [impl], text, ret, [t for t, _ in own])


# ------------------------------------------------------------------------------ gradient
def adjoint_type(t: ir.Type) -> str:
    """clad's adjoint parameter type: a pointer to the (non-const) value or element."""
    return f"{t.base} " + "*" * (t.ptr or 1)


def gradient(req: Request) -> Plan:
    params = user_params(req.fn, req.method)
    items = req.items if req.items is not None else [Item(i, p) for i, p in enumerate(params)]
    for it in items:
        if it.start is not None:
            raise TranslateError(
                f"clad::gradient takes whole parameters; '{it.spec}' selects elements", req.loc
            )
    items = sorted(items, key=lambda i: i.index)
    this = req.fn.params[0] if req.method and req.fn.params and req.fn.params[0].name == "_this" else None
    wrt = [it.param.name for it in items if it.param.type.carries_float]
    if this is not None and this.type.carries_float:
        wrt = ["_this"] + wrt
    if not wrt:
        raise TranslateError(
            f"clad::gradient of '{req.key}': no floating-point parameter is selected", req.loc
        )
    result = req.source.gradient(req.key, wrt)
    impl = result.function
    name = f"{scope(req.fn.name)[1]}_grad{suffix(req.items, params)}"
    adjoints = ([("_this", this)] if this is not None else []) + [(it.param.name, it.param) for it in items]
    own = [(p.type.spell(), p.name) for p in req.fn.params]
    own += [(adjoint_type(p.type), f"_d_{n}") for n, p in adjoints]
    at = len(req.fn.params) if this is not None else None
    if [t.replace(" ", "") for t, _ in own] == [t.replace(" ", "") for t in _spelled(impl.params)]:
        return replace(_simple(req, name, impl), this_adjoint=at)
    outs = {o.param: f"_d_{o.param}" for o in result.extras}
    args = [p.name for p in req.fn.params] + [outs[o.param] for o in result.extras]
    call = f"{impl.name.split('::')[-1]}({', '.join(args)});"
    unused = [f"(void)_d_{n};" for n, _ in adjoints if n not in outs]
    text = _define(name, "void", own, unused + [call], f"clad's signature for {impl.name}")
    return Plan(name, req.source.helpers_of(impl) + [impl], text, "void", [t for t, _ in own], at)


# ------------------------------------------------------------------------------ hessian
def hessian(req: Request, diagonal: bool) -> Plan:
    if not req.fn.ret.is_float:
        raise TranslateError(f"clad::hessian of '{req.key}': the function returns no floating value", req.loc)
    spec = None if req.items is None else ", ".join(i.spec for i in req.items)
    if spec is None and req.method:  # clad's Hessian of a method: its parameters, not the object's fields
        spec = ", ".join(p.name for p in user_params(req.fn, True) if p.type.is_float and not p.type.ptr)
    result = req.source.hessian_function(req.key, spec)
    impl = result.function
    n = result.extras[0]
    scalar = req.fn.ret.plain().spell()
    own = [(p.type.spell(), p.name) for p in req.fn.params]
    out = "diagonalHessianVector" if diagonal else "hessianMatrix"
    own.append((f"{scalar} *", out))
    name = f"{scope(req.fn.name)[1]}_hessian" + ("_diag" if diagonal else "")
    sizes = [_array_length(req, p.name[len("_n_") :]) for p in impl.params[len(req.fn.params) + 1 :]]
    if (
        not diagonal
        and not sizes
        and [t.replace(" ", "") for t, _ in own] == [t.replace(" ", "") for t in _spelled(impl.params)]
    ):
        return _simple(req, name, impl)
    args = [p.name for p in req.fn.params]
    callee = impl.name.split("::")[-1]
    if diagonal:
        body = [
            f"{scalar} _hessian[{n * n}] = {{}};",
            f"{callee}({', '.join(args + ['_hessian'] + sizes)});",
            f"for (int _k = 0; _k < {n}; ++_k)",
            f"    {out}[_k] = _hessian[_k * {n} + _k];",
        ]
    else:
        body = [f"{callee}({', '.join(args + [out] + sizes)});"]
    text = _define(name, "void", own, body, f"clad's signature for {impl.name}")
    return Plan(name, req.source.helpers_of(impl) + [impl], text, "void", [t for t, _ in own])


def _array_length(req: Request, param: str) -> str:
    """The length a Hessian's array parameter is read to: its declared size, else the end of
    its selected range (clad's signature carries no length)."""
    p = req.fn.param(param)
    if p is not None and p.extent:
        return str(p.extent)
    for it in req.items or []:
        if it.param.name == param and it.start is not None:
            return str((it.stop if it.stop is not None else it.start) + 1)
    raise TranslateError(
        f"clad::hessian of '{req.key}': give an index range for the array '{param}'", req.loc
    )


# ------------------------------------------------------------------------------ jacobian
def jacobian(req: Request) -> Plan:
    params = user_params(req.fn, req.method)
    wrt = None if req.items is None else [i.param.name for i in req.items]
    if wrt is None and req.method:  # clad's Jacobian of a method: its parameters, not the object's fields
        wrt = [n for n in req.source.jacobian_layout(req.key, None)[1].inputs if n != "_this"]
    for it in req.items or []:
        if it.start is not None:
            raise TranslateError(
                f"clad::jacobian takes whole parameters; '{it.spec}' selects elements", req.loc
            )
    result = req.source.jacobian(req.key, wrt)
    impl = result.function
    layout = result.extras[0]
    arrays = [p for p in params if p.type.ptr or p.extent]
    own = [(p.type.spell(), p.name) for p in req.fn.params]
    own += [(f"::clad::matrix<{p.type.base}> *", f"_d_vector_{p.name}") for p in arrays]
    for o in layout.outputs:
        if not any(a.name == o for a in arrays):
            raise TranslateError(
                f"clad::jacobian of '{req.key}': the output '{o}' is not an array (clad passes a "
                "clad::array for it, which pyclad does not translate)",
                req.loc,
            )
    body = [f"std::size_t _n_{p.name} = _d_vector_{p.name}->rows();" for p in arrays]
    cols = " + ".join(f"_n_{i}" if any(a.name == i for a in arrays) else "1" for i in layout.inputs) or "0"
    rows = " + ".join(f"_n_{o}" for o in layout.outputs)
    body += [
        f"std::size_t _cols = {cols};",
        f"::std::vector<double> _jac(({rows}) * _cols);",
    ]
    sizes = [p.name for p in impl.params[len(req.fn.params) + 1 :]]
    args = [p.name for p in req.fn.params] + ["_jac.data()"] + sizes
    body.append(f"{impl.name.split('::')[-1]}({', '.join(args)});")
    body.append("std::size_t _row = 0;")
    for o in layout.outputs:
        body += [  # a matrix narrower than the Jacobian is never written past its end
            f"if (_d_vector_{o}->cols() < _cols) {{",
            (
                f"    std::fprintf(stderr, \"clad::jacobian of {req.key}: the matrix of '{o}' has %zu "
                f'columns, the Jacobian %zu\\n", _d_vector_{o}->cols(), _cols);'
            ),
            "    std::abort();",
            "}",
        ]
        body += [
            f"for (std::size_t _i = 0; _i < _n_{o}; ++_i, ++_row)",
            "    for (std::size_t _j = 0; _j < _cols; ++_j)",
            f"        (*_d_vector_{o})[_i][_j] = _jac[_row * _cols + _j];",
        ]
    body.append("(void)_row;")
    name = f"{scope(req.fn.name)[1]}_jac{suffix(req.items, params)}"
    text = _define(name, "void", own, body, f"clad's signature for {impl.name}: rows = outputs")
    return Plan(name, req.source.helpers_of(impl) + [impl], text, "void", [t for t, _ in own])


# ------------------------------------------------------------------------------ vector mode
def vector(req: Request) -> Plan:
    params = user_params(req.fn, req.method)
    items = req.items if req.items is not None else [Item(i, p) for i, p in enumerate(params)]
    items = sorted(items, key=lambda i: i.index)
    for it in items:
        if it.param.type.ptr or it.param.extent or it.start is not None:
            raise TranslateError(
                f"clad::opts::vector_mode with respect to the array '{it.param.name}' (clad::array_ref "
                "tangents) is not supported by pyclad yet",
                req.loc,
            )
    active = [it for it in items if it.param.type.is_float]
    if not active:
        raise TranslateError(f"vector mode of '{req.key}': no floating-point parameter is selected", req.loc)
    result = req.source.vector_function(req.key, ", ".join(it.param.name for it in active))
    impl = result.function
    n = result.extras[2]
    offsets = {d.param: d.offset for d in result.extras[1]}
    own = [(p.type.spell(), p.name) for p in req.fn.params]
    own += [(f"{it.param.type.base} *", f"_d_{it.param.name}") for it in items]
    ret = req.fn.ret.plain().spell()
    args = [p.name for p in req.fn.params] + ["_d_result"]
    body = [f"{ret} _d_result[{n}] = {{}};", f"{impl.name.split('::')[-1]}({', '.join(args)});"]
    for it in items:
        value = f"_d_result[{offsets[it.param.name]}]" if it.param.name in offsets else "0"
        body.append(f"*_d_{it.param.name} = {value};")
    name = f"{scope(req.fn.name)[1]}_dvec{suffix(req.items, params)}"
    text = _define(name, "void", own, body, f"clad's signature for {impl.name}")
    return Plan(name, req.source.helpers_of(impl) + [impl], text, "void", [t for t, _ in own])
