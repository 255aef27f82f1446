"""The bounds-checked variant of generated code, for the kernels Python calls.

Every pointer the kernel owns (parameters, pointer locals, adjoint and tangent buffers,
pullback parameters) is spelled ``pyclad::checked<T>``: a pointer that carries the bounds
of its buffer.  Each element access ``p[i]`` / ``*p`` becomes ``pyclad::at(p, i, "loc")``,
which throws ``pyclad::bounds_error`` naming the buffer, the index and the ``file:line:col``
of the access in the user's code, before anything is written outside the buffer.  Local
arrays are checked against their declared size the same way.

The checked functions live in the namespace ``CHECKED`` beside the unchecked ones (which
stay what ``.code`` shows and what ``pyclad gen`` writes).  Python calls them through an
entry shim in ``ENTRY`` that takes each pointer as a (data, length) pair.  Both namespaces
sit innermost (``rw::__pyclad_checked::f_grad`` for ``rw::f_grad``): a namespace of the
user's met again inside them would hide the user's own (``rw::Point`` would be looked up in
``__pyclad_checked::rw`` and not found).  Pointers that
come from outside the kernel (globals, record fields, what a user's function returns)
carry no bounds and are not checked.
"""

from __future__ import annotations

from dataclasses import fields, replace

from . import ir
from .ad import memory

CHECKED = "__pyclad_checked"
ENTRY = "__pyclad_entry"


def inside(name: str, scope: str) -> str:
    """``name`` moved into the innermost namespace ``scope``: ``rw::f`` -> ``rw::scope::f``."""
    ns, _, short = name.rpartition("::")
    return f"{ns}::{scope}::{short}" if ns else f"{scope}::{short}"


def in_namespaces(name: str, text: str) -> str:
    """``text`` wrapped in the namespaces of the qualified ``name``."""
    for n in reversed(name.split("::")[:-1]):
        text = f"namespace {n} {{\n{text}}}  // namespace {n}\n"
    return text


def is_checked_pointer(t: ir.Type) -> bool:
    """A type the checked variant spells ``pyclad::checked<T>``: one level of pointer (a
    pointer to a standard container, such as a gradient's ``std::vector<double>* _d_v``,
    points at one object whose accesses the container checks itself)."""
    return t.ptr == 1 and not t.dims and t.kind not in ir.CONTAINERS


def checked_type(t: ir.Type) -> ir.Type:
    if not is_checked_pointer(t):
        return t
    inner = ("const " if t.const else "") + t.base
    return ir.Type(f"::pyclad::checked<{inner}>", ref=t.ref)


def _quote(text: str) -> ir.Lit:
    """A C++ string literal."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return ir.Lit(f'"{text}"', ir.Type("char", 1, const=True))


def _where(loc) -> ir.Lit:
    return ir.Lit("nullptr", ir.Type("char", 1, const=True)) if loc is None else _quote(str(loc))


def _bounded(e: ir.Expr) -> bool:
    """Whether ``e``'s C++ value in the checked variant carries bounds: a pointer the kernel
    owns, arithmetic on one, or a local array (which ``pyclad::at`` checks by its size)."""
    if e.type.dims or e.type.is_container:
        return True
    if not is_checked_pointer(e.type):
        return False
    if isinstance(e, ir.Var):
        return not e.is_global
    if isinstance(e, ir.Binary) and e.op in "+-":
        return _bounded(e.lhs) if e.lhs.type.ptr else _bounded(e.rhs)
    if isinstance(e, (ir.Assign, ir.Step)):
        return _bounded(e.target)
    if isinstance(e, ir.Cond):
        return _bounded(e.then) and _bounded(e.other)
    if isinstance(e, ir.Cast):
        return _bounded(e.operand)
    if isinstance(e, ir.Unary) and e.op == "&":
        return True  # rewritten into addr / one below
    if isinstance(e, ir.Call):
        return e.callee.startswith("::pyclad::") or e.callee.endswith(".data") or _container_data(e)
    return False


def _container_data(e: ir.Expr) -> bool:
    """``v.data()`` of a std::vector or std::array: a pointer over its ``size()`` elements."""
    return (
        isinstance(e, ir.Call)
        and e.kind == ir.METHOD
        and e.spelling == "data"
        and bool(e.args)
        and e.args[0].type.is_container
    )


def _expr(e: ir.Expr, loc, generated: frozenset) -> ir.Expr:
    loc = getattr(e, "loc", None) or loc
    if isinstance(e, ir.Index) and e.base.type.is_container:
        root = ir.root_var(e.base)
        name = _quote(root.name if root is not None else "a container")
        return ir.Call(
            "::pyclad::at",
            (_expr(e.base, loc, generated), _expr(e.index, loc, generated), _where(loc), name),
            e.type,
        )
    if isinstance(e, ir.Index) and _bounded(e.base):
        return ir.Call(
            "::pyclad::at",
            (_expr(e.base, loc, generated), _expr(e.index, loc, generated), _where(loc)),
            e.type,
        )
    if isinstance(e, ir.Unary) and e.op == "*" and _bounded(e.operand):
        return ir.Call(
            "::pyclad::at", (_expr(e.operand, loc, generated), ir.lit(0, ir.INT), _where(loc)), e.type
        )
    if isinstance(e, ir.Unary) and e.op == "&" and is_checked_pointer(e.type):
        inner = e.operand
        if isinstance(inner, ir.Index) and _bounded(inner.base):
            return ir.Call(
                "::pyclad::addr",
                (_expr(inner.base, loc, generated), _expr(inner.index, loc, generated)),
                e.type,
            )
        if isinstance(inner, ir.Unary) and inner.op == "*" and _bounded(inner.operand):
            return _expr(inner.operand, loc, generated)
        what = _quote(inner.name) if isinstance(inner, ir.Var) else _quote("a scalar")
        return ir.Call("::pyclad::one", (_expr(inner, loc, generated), what), e.type)
    if _container_data(e):
        return ir.Call("::pyclad::view", (_expr(e.args[0], loc, generated),), e.type)
    if isinstance(e, ir.Call) and e.callee.endswith(".data") and not e.args and is_checked_pointer(e.type):
        return ir.Call("::pyclad::view", (ir.Var(e.callee[: -len(".data")], ir.AUTO),), e.type)
    if is_checked_pointer(e.type) and e.type.base != "void" and memory.allocation(e) is not None:
        n = memory.length(e)
        if n is not None:  # a buffer the kernel allocates: checked against the length it has
            plain = _children(e, loc, generated)
            what = _quote(f"a buffer from {memory.allocation(e).callee}")
            t = checked_type(e.type)
            return ir.Call(t.base, (plain, _expr(n, loc, generated), what), t)
    if isinstance(e, ir.Cast):
        e = replace(e, type=checked_type(e.type))
    if (
        isinstance(e, ir.Call)
        and not e.callee.startswith(("::pyclad::", "::std::"))
        and e.callee not in generated
    ):
        # The user's own function (or a custom derivative): it takes plain pointers, and a
        # template of it deduces T* only from one.  (The ::std:: algorithms the drivers call
        # take checked pointers as iterators, and check each access.)
        args = tuple(_expr(a, loc, generated) for a in e.args)
        args = tuple(
            ir.Call("::pyclad::raw", (x,), a.type) if is_checked_pointer(a.type) and _bounded(a) else x
            for a, x in zip(e.args, args)
        )
        return replace(e, args=args)
    return _children(e, loc, generated)


def _children(node, loc, generated: frozenset):
    changes = {}
    for f in fields(node):
        if f.name in ("type", "loc"):
            continue
        v = getattr(node, f.name)
        if isinstance(v, (ir.Expr, ir.Stmt)):
            changes[f.name] = _node(v, loc, generated)
        elif isinstance(v, tuple) and any(isinstance(x, (ir.Expr, ir.Stmt)) for x in v):
            changes[f.name] = tuple(
                _node(x, loc, generated) if isinstance(x, (ir.Expr, ir.Stmt)) else x for x in v
            )
    return replace(node, **changes) if changes else node


def _node(n, loc, generated: frozenset):
    if isinstance(n, ir.Expr):
        return _expr(n, loc, generated)
    loc = getattr(n, "loc", None) or loc
    if isinstance(n, ir.Decl):
        n = replace(n, type=checked_type(n.type))
    return _children(n, loc, generated)


def checked_function(fn: ir.Function, generated=()) -> ir.Function:
    """``fn`` with checked pointers and checked element accesses.  Calls to the functions
    named in ``generated`` (which have checked variants too) pass checked pointers; every
    other call gets plain ones."""
    params = tuple(replace(p, type=checked_type(p.type)) for p in fn.params)
    return replace(fn, params=params, body=_node(fn.body, fn.loc, frozenset(generated)), comment="")


def entry_signature(fn: ir.Function) -> tuple[str, list[str]]:
    """The entry shim's signature (its short name: it is written inside ``fn``'s namespaces)
    and the names of its parameters: each pointer parameter of ``fn`` as (data, length)."""
    params, names = [], []
    for k, p in enumerate(fn.params):
        params.append(p.type.spell(f"a{k}"))
        names.append(f"a{k}")
        if is_checked_pointer(p.type) and not p.type.ref:
            params.append(f"std::size_t n{k}")
            names.append(f"n{k}")
    short = fn.name.split("::")[-1]
    return f"{fn.ret.spell()} {short}({', '.join(params)})", names


def entry(fn: ir.Function, root: str = "", inline: bool = True) -> str:
    """The shim Python calls: each pointer parameter of ``fn`` as (data, length).  It lives
    in ``fn``'s namespaces inside ``ENTRY``, and calls the checked variant from ``root``.
    ``inline=False`` for a shared library, which must export it."""
    args = []
    for k, p in enumerate(fn.params):
        if is_checked_pointer(p.type) and not p.type.ref:
            args.append(f"{checked_type(p.type).spell()}(a{k}, n{k}, {_quote(p.name).text})")
        else:
            args.append(f"a{k}")
    ret = "" if fn.ret.is_void else "return "
    signature, _ = entry_signature(fn)
    text = (
        f"{'inline ' if inline else ''}{signature} {{\n"
        f"    {ret}{root}::{inside(fn.name, CHECKED)}({', '.join(args)});\n}}\n"
    )
    return in_namespaces(inside(fn.name, ENTRY), text)


def source(
    functions: list[ir.Function], render, generated=(), root: str = "", inline_entries: bool = True
) -> str:
    """C++ text of the checked variants of ``functions`` (``render`` lays them out as the
    unchecked ones are) and of their entry shims.  ``generated``: the (qualified) names of
    every generated function they may call (their checked variants exist or are among these).
    ``root``: the scope the user's source is compiled in; calls to generated functions are
    spelled from its ``CHECKED`` namespace, calls to the user's own from ``root``."""
    names = {f.name for f in functions} | set(generated)
    moved = [_to_checked_callees(checked_function(f, names), names, root) for f in functions]
    body = render([replace(f, name=inside(f.name, CHECKED)) for f in moved], root=root)
    shims = "\n".join(entry(f, root, inline_entries) for f in functions)
    return f"{body}\n{shims}"


def _to_checked_callees(fn: ir.Function, generated: set[str], root: str) -> ir.Function:
    """Calls from ``fn`` to generated functions spelled to reach their checked variants,
    wherever ``fn`` is written (a function in a namespace spells its calls in full), and calls
    to the user's own functions spelled from ``root``."""

    def spell(n):
        if isinstance(n, ir.Call) and n.callee in generated and n.spelling in ("", n.callee):
            checked = inside(n.callee, CHECKED)
            return replace(n, callee=checked, spelling=f"{root}::{checked}")
        if isinstance(n, ir.Call) and ir.is_module_call(n) and "::" in (n.spelling or n.callee):
            return replace(n, spelling=f"{root}::{n.spelling or n.callee}")
        return n

    return replace(fn, body=ir.rebuild(fn.body, spell))


__all__ = [
    "CHECKED",
    "ENTRY",
    "checked_function",
    "entry",
    "entry_signature",
    "in_namespaces",
    "inside",
    "source",
]
