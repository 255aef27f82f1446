"""Lowering the members of std::vector and std::array, and range-for loops over them.

The standard library's headers are never lowered: a member of a container is lowered to
what it means for the transforms.  Element access (``v[i]``, ``v.at(i)``, ``v.front()``,
``v.back()``) is an ``ir.Index`` of the element type, so the tangent and adjoint of an
element are the same element of the shadow container; every other member (``size``,
``data``, ``push_back``, ``resize``, ...) is an ``ir.METHOD`` call whose receiver is the
container.  A range-for over a container is the index loop it stands for.
"""

from __future__ import annotations

import clang.cindex as ci

from .. import ir
from ..errors import UnsupportedError

K = ci.CursorKind

# Members that read or change a container, lowered as method calls; their result types
# come from libclang.  (Element access is lowered to ir.Index, see ``member_call``.)
METHODS = ("size", "empty", "data", "push_back", "resize", "assign", "clear", "reserve", "pop_back")
SIZE_T = ir.Type("unsigned long")


def is_container_member(ref: ci.Cursor) -> bool:
    """Whether ``ref`` (a method's declaration) is a member of std::vector or std::array."""
    parent = ref.semantic_parent
    if parent is None or parent.kind not in (K.CLASS_DECL, K.STRUCT_DECL, K.CLASS_TEMPLATE):
        return False
    names = [n for n in _scopes(parent) if not n.startswith("__")]
    return names[:1] == ["std"] and parent.spelling in ("vector", "array")


def braced_items(c: ci.Cursor) -> list[ci.Cursor] | None:
    """The items of a braced list passed as a ``std::initializer_list`` (``v = {a, b}``,
    ``std::max({a, b})``), None if ``c`` is not one."""
    if "initializer_list" not in c.type.spelling:
        return None
    node = c
    while node.kind == K.UNEXPOSED_EXPR and len(list(node.get_children())) == 1:
        node = next(node.get_children())
    return list(node.get_children()) if node.kind == K.INIT_LIST_EXPR else None


def _scopes(c: ci.Cursor) -> list[str]:
    out = []
    c = c.semantic_parent
    while c is not None and c.kind != K.TRANSLATION_UNIT:
        if c.kind == K.NAMESPACE:
            out.append(c.spelling)
        c = c.semantic_parent
    return list(reversed(out))


def member_call(lowerer, c: ci.Cursor, ref: ci.Cursor, kids: list[ci.Cursor], loc) -> ir.Expr:
    """``v[i]``, ``v.at(i)``, ``v.front()``, ``v.back()`` as ``ir.Index``; ``v.size()`` and
    the other members of ``METHODS`` as method calls on ``v``."""
    name = ref.spelling
    if name == "operator=" and len(kids) == 3:  # std::array's implicit copy: the assignment it is
        target = lowerer.expr(kids[0])
        items = braced_items(kids[2])
        if items is not None:  # v = {a, b, c}: the container the list builds
            value: ir.Expr = ir.InitList(tuple(lowerer.expr(x) for x in items), target.type.value(), loc)
        else:
            value = lowerer.expr(kids[2])
        return ir.Assign("=", target, value, target.type.value(), loc)
    if name == "operator[]":  # an operator call: (object, the operator's name, index)
        base, args = lowerer.expr(kids[0]), [lowerer.expr(k) for k in kids[2:]]
    else:
        callee = kids[0]
        if callee.kind != K.MEMBER_REF_EXPR or not list(callee.get_children()):
            raise UnsupportedError(f"this use of the container member '{name}'", loc)
        base = lowerer.expr(next(iter(callee.get_children())))
        if _is_arrow(callee):
            base = ir.Unary("*", base, base.type.element(), base.loc)
        args = [lowerer.expr(k) for k in kids[1:]]
    if not base.type.is_container:
        raise UnsupportedError(f"'{name}' on a value of type '{base.type.spell()}'", loc)
    element = base.type.element()
    if name == "emplace_back" and len(args) == 1 and element.kind == ir.BUILTIN and not element.ptr:
        name = "push_back"  # one number constructed in place is that number stored
    if name in ("operator[]", "at"):
        return ir.Index(base, args[0], element, loc)
    if name == "front":
        return ir.Index(base, ir.Lit("0", SIZE_T), element, loc)
    if name == "back":
        size = ir.Call("size", (base,), SIZE_T, loc, spelling="size", kind=ir.METHOD)
        return ir.Index(base, ir.Binary("-", size, ir.Lit("1", SIZE_T), SIZE_T), element, loc)
    if name in METHODS:
        if name == "assign" and len(args) == 2 and not args[0].type.is_integral:
            raise UnsupportedError("'assign' from an iterator range (use assign(n, value))", loc)
        if name == "resize" and len(args) == 2 and ir.has_side_effects(args[1]):
            raise UnsupportedError("'resize' with a fill value that has side effects", loc)
        return ir.Call(name, (base, *args), lowerer.type_of(c), loc, spelling=name, kind=ir.METHOD)
    raise UnsupportedError(f"the container member '{name}'", loc)


def _is_arrow(member_ref: ci.Cursor) -> bool:
    """``p->size()`` rather than ``v.size()`` (told by the token after the receiver)."""
    tokens = [t.spelling for t in member_ref.get_tokens()]
    return "->" in tokens and "." not in tokens[tokens.index("->") :]


def range_for(lowerer, c: ci.Cursor, kids: list[ci.Cursor], loc) -> ir.Stmt:
    """``for (T x : v) body`` as the index loop it stands for:
    ``for (std::size_t _iN = 0; _iN < v.size(); ++_iN) { T x = v[_iN]; body }``.  A
    reference loop variable (``auto& x``, ``const auto& x``) is bound to the element once
    and never re-seated, so each use of it is the element ``v[_iN]`` itself."""
    var, rng, body = kids[0], kids[-2], kids[-1]
    if var.kind != K.VAR_DECL or len(kids) != 3:
        raise UnsupportedError("a range-based for loop with an init-statement", loc)
    seq = lowerer.expr(_peel(rng))
    array = bool(seq.type.dims) and not seq.type.ptr  # double m[2][3]: over its rows
    if not (seq.type.is_container or array) or ir.has_side_effects(seq):
        raise UnsupportedError(
            "a range-based for loop over anything but a std::vector, a std::array or a fixed-size array", loc
        )
    index = ir.Var(lowerer.fresh("_i"), SIZE_T, loc)
    element = ir.Index(seq, index, seq.type.element(), loc)
    t = lowerer.type_of(var)
    if t.ref:
        lowerer.bind(var, element)
        inner = lowerer.one(body)
        lowerer.unbind(var)
        stmts: tuple[ir.Stmt, ...] = (inner,)
    else:
        stmts = (ir.Decl(var.spelling, t, element, lowerer.loc_of(var)), lowerer.one(body))
    if array:
        size: ir.Expr = ir.Lit(str(seq.type.dims[0]), SIZE_T, loc)
    else:
        size = ir.Call("size", (seq,), SIZE_T, loc, spelling="size", kind=ir.METHOD)
    return ir.For(
        (ir.Decl(index.name, SIZE_T, ir.Lit("0", SIZE_T), loc),),
        ir.Binary("<", index, size, ir.BOOL, loc),
        ir.Step("++", True, index, SIZE_T, loc),
        ir.Block(stmts, loc),
        loc,
    )


def _peel(c: ci.Cursor) -> ci.Cursor:
    while c.kind == K.UNEXPOSED_EXPR and len(list(c.get_children())) == 1:
        c = next(iter(c.get_children()))
    return c


def range_decl(lowerer, name: str, t: ir.Type, init: ci.Cursor, loc) -> list[ir.Stmt] | None:
    """``std::vector<T> w(first, last)`` from two pointers into an array, as the vector of
    ``last - first`` elements and the loop that copies them in:
    ``std::vector<T> w(last - first); for (std::size_t _iN = 0; _iN < w.size(); ++_iN)
    w[_iN] = first[_iN];``.  None: not that constructor."""
    if t.kind != ir.VECTOR:
        return None
    c = _peel(init)
    if c.kind != K.CALL_EXPR or c.referenced is None or c.referenced.kind != K.CONSTRUCTOR:
        return None
    args = [k for k in c.get_children() if k.kind.is_expression() and not _is_allocator(k)]
    if len(args) != 2:
        return None
    first, last = lowerer.expr(args[0]), lowerer.expr(args[1])
    if not (first.type.ptr and last.type.ptr and not first.type.is_container):
        return None
    if ir.has_side_effects(first) or ir.has_side_effects(last):
        raise UnsupportedError(f"this constructor of '{t.spell()}' from iterators with side effects", loc)
    count = ir.Binary("-", last, first, ir.Type("long"), loc)
    target = ir.Var(name, t, loc)
    element = t.element()
    copy = _each(
        lowerer,
        target,
        lambda i: ir.Assign("=", _at(target, i), ir.Index(first, i, first.type.element(), loc), element, loc),
        loc,
    )
    built = ir.Call(t.base, (count,), t, loc, spelling=t.base, kind=ir.CONSTRUCTOR)
    return [ir.Decl(name, t, built, loc), copy]


def constructor(lowerer, c: ci.Cursor, kids: list[ci.Cursor], loc) -> ir.Expr:
    """A container built in the body: ``std::vector<double> w(n)``, ``w(n, x)``, a copy
    ``w(v)`` / ``w = v``, or ``{1.0, 2.0}``."""
    t = lowerer.type_of(c)
    args = [k for k in kids if k.kind.is_expression() and not _is_allocator(k)]
    if len(args) == 1 and _peel(args[0]).kind == K.INIT_LIST_EXPR:  # {1.0, x}
        items = tuple(lowerer.expr(k) for k in _peel(args[0]).get_children())
        return ir.InitList(items, t, loc)
    lowered = tuple(lowerer.expr(a) for a in args)
    if len(lowered) == 1 and lowered[0].type.is_container and lowered[0].type.named() == t.named():
        return lowered[0]  # a copy
    if len(lowered) > 2 or any(
        not (a.type.is_integral or a.type.is_float or a.type.is_container) for a in lowered
    ):
        raise UnsupportedError(f"this constructor of '{t.spell()}'", loc)
    return ir.Call(t.base, lowered, t, loc, spelling=t.base, kind=ir.CONSTRUCTOR)


def _is_allocator(c: ci.Cursor) -> bool:
    return "allocator" in c.type.spelling


def iterator_for(lowerer, c: ci.Cursor, kids: list[ci.Cursor], loc) -> ir.Stmt | None:
    """``for (auto it = v.begin(); it != v.end(); ++it) body`` as the index loop it stands
    for, when that is exact: the iterator is only dereferenced in the body (``*it``), and
    the loop runs from ``begin()`` to ``end()`` one step at a time.  None: not such a loop."""
    if len(kids) != 4 or kids[0].kind != K.DECL_STMT:
        return None
    decls = list(kids[0].get_children())
    if len(decls) != 1 or decls[0].kind != K.VAR_DECL:
        return None
    var = decls[0]
    init = [k for k in var.get_children() if k.kind.is_expression()]
    seq = _member_of(init[-1], ("begin", "cbegin")) if init else None
    if seq is None:
        return None
    seq_ir = lowerer.expr(seq)
    if not seq_ir.type.is_container or ir.has_side_effects(seq_ir):
        raise UnsupportedError("an iterator loop over anything but a container variable", loc)
    end = _compared_to_end(kids[1], var)
    if end is None or _member_of(end, ("end", "cend")) is None or not _steps_once(kids[2], var):
        raise UnsupportedError(
            "an iterator loop other than for (auto it = v.begin(); it != v.end(); ++it)", loc
        )
    if lowerer.expr(_member_of(end, ("end", "cend"))) != seq_ir:
        raise UnsupportedError("an iterator loop from one container's begin() to another's end()", loc)
    index = ir.Var(lowerer.fresh("_i"), SIZE_T, loc)
    lowerer.iterators[var.hash] = ir.Index(seq_ir, index, seq_ir.type.element(), loc)
    try:
        body = lowerer.one(kids[3])
    finally:
        del lowerer.iterators[var.hash]
    size = ir.Call("size", (seq_ir,), SIZE_T, loc, spelling="size", kind=ir.METHOD)
    return ir.For(
        (ir.Decl(index.name, SIZE_T, ir.Lit("0", SIZE_T), loc),),
        ir.Binary("<", index, size, ir.BOOL, loc),
        ir.Step("++", True, index, SIZE_T, loc),
        body,
        loc,
    )


def _member_of(c: ci.Cursor, names: tuple[str, ...]) -> ci.Cursor | None:
    """The receiver of ``recv.begin()`` (a call of one of ``names``), or None."""
    c = _peel(c)
    if c.kind != K.CALL_EXPR or c.spelling not in names:
        return None
    callee = next(iter(c.get_children()), None)
    if callee is None or callee.kind != K.MEMBER_REF_EXPR:
        return None
    return next(iter(callee.get_children()), None)


def _refers_to(c: ci.Cursor, var: ci.Cursor) -> bool:
    c = _peel(c)
    return c.kind == K.DECL_REF_EXPR and c.referenced is not None and c.referenced.hash == var.hash


def _compared_to_end(cond: ci.Cursor, var: ci.Cursor) -> ci.Cursor | None:
    """``it != v.end()`` (or ``it < v.end()``): the ``v.end()`` operand."""
    cond = _peel(cond)
    parts = [k for k in cond.get_children() if not (k.kind == K.UNEXPOSED_EXPR and "operator" in k.spelling)]
    if cond.kind == K.CALL_EXPR and cond.spelling in ("operator!=", "operator<") and len(parts) == 2:
        pass
    elif cond.kind == K.BINARY_OPERATOR and len(parts) == 2:
        tokens = [t.spelling for t in cond.get_tokens()]
        if "!=" not in tokens and "<" not in tokens:
            return None
    else:
        return None
    return parts[1] if _refers_to(parts[0], var) else None


def _steps_once(step: ci.Cursor, var: ci.Cursor) -> bool:
    """``++it`` or ``it++``."""
    step = _peel(step)
    tokens = [t.spelling for t in step.get_tokens()]
    kids = list(step.get_children())
    return "++" in tokens and len(tokens) == 2 and bool(kids) and _refers_to(kids[0], var)


def dereferenced(lowerer, c: ci.Cursor) -> ir.Expr | None:
    """``*it`` of an iterator ``iterator_for`` replaced by an index: the element."""
    kids = list(c.get_children())
    if kids and _peel(kids[0]).kind == K.DECL_REF_EXPR:
        ref = _peel(kids[0]).referenced
        if ref is not None and ref.hash in lowerer.iterators:
            return lowerer.iterators[ref.hash]
    return None


# ---------------------------------------------------------------------- <algorithm>, <numeric>
# Algorithms over a whole container, ``(v.begin(), v.end(), ...)``.  The reductions become
# calls of pyclad's container versions (runtime.hpp), whose derivatives are entries of the
# rule registry (ad/rules.py); the ones that only move values (fill, copy, swap) become the
# loops and assignments they stand for, which the transforms differentiate like any other.
REDUCTIONS = {"accumulate": 1, "inner_product": 2}  # name -> containers it reads
STATEMENTS = ("fill", "copy", "swap")
SELECTIONS = ("min_element", "max_element")


def is_algorithm(ref: ci.Cursor) -> bool:
    """A call of one of the standard algorithms lowered here."""
    name = ref.spelling
    if name not in REDUCTIONS and name not in STATEMENTS and name not in SELECTIONS:
        return False
    return [n for n in _scopes(ref) if not n.startswith("__")] == ["std"]


def _whole(lowerer, first: ci.Cursor, last: ci.Cursor, loc) -> ir.Expr:
    """The container of a ``v.begin(), v.end()`` argument pair."""
    a, b = _member_of(first, ("begin", "cbegin")), _member_of(last, ("end", "cend"))
    if a is None or b is None:
        raise UnsupportedError("an algorithm over anything but a whole container (v.begin(), v.end())", loc)
    seq = lowerer.expr(a)
    if seq != lowerer.expr(b) or not seq.type.is_container or ir.has_side_effects(seq):
        raise UnsupportedError("an algorithm over anything but a whole container (v.begin(), v.end())", loc)
    return seq


def _start(lowerer, first: ci.Cursor, loc) -> ir.Expr:
    """The container of a ``w.begin()`` argument."""
    a = _member_of(first, ("begin",))
    seq = lowerer.expr(a) if a is not None else None
    if seq is None or not seq.type.is_container or ir.has_side_effects(seq):
        raise UnsupportedError(
            "an algorithm writing anywhere but from the start of a container (w.begin())", loc
        )
    return seq


def algorithm_value(lowerer, c: ci.Cursor, ref: ci.Cursor, kids: list[ci.Cursor], loc) -> ir.Expr:
    """``std::accumulate(v.begin(), v.end(), init)`` as ``pyclad::accumulate(v, init)``;
    ``std::inner_product(a.begin(), a.end(), b.begin(), init)`` as
    ``pyclad::inner_product(a, b, init)``."""
    name = ref.spelling
    args = kids[1:]
    if name not in REDUCTIONS:
        raise UnsupportedError(f"the value of std::{name} (it is supported as a statement of its own)", loc)
    if name == "accumulate" and len(args) == 3:
        lowered = (_whole(lowerer, args[0], args[1], loc), lowerer.expr(args[2]))
    elif name == "inner_product" and len(args) == 4:
        a = _whole(lowerer, args[0], args[1], loc)
        b = _start(lowerer, args[2], loc)
        lowered = (a, b, lowerer.expr(args[3]))
    else:
        raise UnsupportedError(f"std::{name} with a custom operation", loc)
    return ir.Call(name, lowered, lowerer.type_of(c), loc, spelling=f"::pyclad::{name}")


def selected(lowerer, c: ci.Cursor, loc) -> ir.Expr | None:
    """``*std::max_element(v.begin(), v.end())``: the element ``v[pyclad::argmax(v)]``."""
    kids = list(c.get_children())
    inner = _peel(kids[0]) if kids else None
    if inner is None or inner.kind != K.CALL_EXPR or inner.referenced is None:
        return None
    ref = inner.referenced
    if ref.spelling not in SELECTIONS or not is_algorithm(ref):
        return None
    args = list(inner.get_children())[1:]
    if len(args) != 2:
        raise UnsupportedError(f"std::{ref.spelling} with a comparison", loc)
    seq = _whole(lowerer, args[0], args[1], loc)
    which = "argmin" if ref.spelling == "min_element" else "argmax"
    at = ir.Call(f"::pyclad::{which}", (seq,), SIZE_T, loc, spelling=f"::pyclad::{which}")
    return ir.Index(seq, at, seq.type.element(), loc)


def algorithm_stmt(lowerer, c: ci.Cursor, loc) -> list[ir.Stmt] | None:
    """``std::fill``, ``std::copy``, ``std::swap`` as statements: the loops and assignments
    they stand for.  None: not such a call."""
    c = _peel(c)
    ref = c.referenced if c.kind == K.CALL_EXPR else None
    if ref is None or ref.spelling not in STATEMENTS or not is_algorithm(ref):
        return None
    args = list(c.get_children())[1:]
    name = ref.spelling
    if name == "swap" and len(args) == 2:
        a, b = lowerer.expr(args[0]), lowerer.expr(args[1])
        if ir.has_side_effects(a) or ir.has_side_effects(b):
            raise UnsupportedError("std::swap of expressions with side effects", loc)
        tmp = ir.Var(lowerer.fresh("_swap"), a.type.plain(), loc)
        return [
            ir.Block(
                (
                    ir.Decl(tmp.name, a.type.plain(), a, loc),
                    ir.ExprStmt(ir.Assign("=", a, b, a.type.value(), loc), loc),
                    ir.ExprStmt(ir.Assign("=", b, tmp, b.type.value(), loc), loc),
                ),
                loc,
            )
        ]
    if name == "fill" and len(args) == 3:
        seq = _whole(lowerer, args[0], args[1], loc)
        value = lowerer.expr(args[2])
        if ir.has_side_effects(value):
            raise UnsupportedError("std::fill with a value that has side effects", loc)
        return [
            _each(lowerer, seq, lambda i: ir.Assign("=", _at(seq, i), value, seq.type.element(), loc), loc)
        ]
    if name == "copy" and len(args) == 3:
        src = _whole(lowerer, args[0], args[1], loc)
        dst = _start(lowerer, args[2], loc)
        return [
            _each(
                lowerer, src, lambda i: ir.Assign("=", _at(dst, i), _at(src, i), dst.type.element(), loc), loc
            )
        ]
    raise UnsupportedError(f"this form of std::{name}", loc)


def _at(seq: ir.Expr, i: ir.Expr) -> ir.Index:
    return ir.Index(seq, i, seq.type.element(), seq.loc if hasattr(seq, "loc") else None)


def _each(lowerer, seq: ir.Expr, body, loc) -> ir.For:
    """``for (std::size_t _iN = 0; _iN < seq.size(); ++_iN) body(_iN);``"""
    index = ir.Var(lowerer.fresh("_i"), SIZE_T, loc)
    size = ir.Call("size", (seq,), SIZE_T, loc, spelling="size", kind=ir.METHOD)
    return ir.For(
        (ir.Decl(index.name, SIZE_T, ir.Lit("0", SIZE_T), loc),),
        ir.Binary("<", index, size, ir.BOOL, loc),
        ir.Step("++", True, index, SIZE_T, loc),
        ir.Block((ir.ExprStmt(body(index), loc),), loc),
        loc,
    )
