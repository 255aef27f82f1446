"""Methods and constructors lowered to IR functions.

A method's IR function takes its object as its first parameter (``_this``: a reference to
the record, const for a const method); implicit member uses and ``this->m`` are member
accesses on it.  A constructor's IR function returns the record it builds: it starts from
the object the constructor itself makes (``P _this = P(args)``, an ``ir.is_raw_construction``
call carrying no derivative) and assigns, in declaration order, every field the
member-initialiser list or a default member initialiser sets, then runs the body.  The
assignments reproduce the object's values, and differentiating them gives the derivative
of the construction.
"""

from __future__ import annotations

import clang.cindex as ci

from .. import ir
from ..errors import UnsupportedError
from .parse import loc_of

K = ci.CursorKind


def _loc(c: ci.Cursor):
    return loc_of(c.location, c.translation_unit)


def receiver(cursor: ci.Cursor, lower_type) -> ir.Var:
    """The object a method or constructor works on, named ``_this`` (``_this0``, ... when a
    parameter already has that name)."""
    record = cursor.semantic_parent
    t = lower_type(record.type, cursor).named()
    taken = {c.spelling for c in cursor.get_children() if c.kind == K.PARM_DECL}
    name, k = "_this", 0
    while name in taken:
        name, k = f"_this{k}", k + 1
    if cursor.kind == K.CONSTRUCTOR:
        return ir.Var(name, t)
    return ir.Var(name, t.derived(const=cursor.is_const_method(), ref=True))


def this_pointer(this: ir.Var, loc) -> ir.Unary:
    """``this`` in a method body: the address of the receiver."""
    return ir.Unary("&", this, this.type.named().derived(1, const=this.type.const), loc)


def deref(e: ir.Expr, loc) -> ir.Expr:
    """``*e``, with ``*&x`` folded to ``x`` (``this->m`` is ``_this.m``)."""
    if isinstance(e, ir.Unary) and e.op == "&":
        return e.operand
    return ir.Unary("*", e, e.type.element(), loc)


def chaining(this: ir.Var, ret: ir.Type, body: ir.Block) -> tuple[ir.Type, ir.Block]:
    """A method that returns its own object by reference (``return *this;`` in ``operator+=``
    or a chained setter) works through the object alone: its IR function returns nothing,
    so that its derivatives carry no adjoint or tangent of a result that is the receiver."""
    if not (ret.ref and ret.kind == ir.RECORD and ret.named() == this.type.named()):
        return ret, body
    returns = [n for n in ir.walk(body) if isinstance(n, ir.Return)]
    if not returns or not all(isinstance(r.value, ir.Var) and r.value.name == this.name for r in returns):
        return ret, body

    def bare(n):
        return ir.Return(None, n.loc) if isinstance(n, ir.Return) else n

    return ir.VOID, ir.rebuild(body, bare)


def constructor_body(lowerer, cursor: ci.Cursor, params: tuple[ir.Param, ...], body: ir.Block) -> ir.Block:
    """The IR body of a constructor: build, initialise the fields, run the body, return."""
    this = lowerer.this
    L = _loc(cursor)
    raw = ir.Call(
        "",
        tuple(ir.Var(p.name, p.type) for p in params),
        this.type,
        L,
        spelling=this.type.base,
        kind=ir.CONSTRUCTOR,
    )
    stmts: list[ir.Stmt] = [ir.Decl(this.name, this.type, raw, L)]
    inits = _member_inits(cursor)
    for fd in cursor.semantic_parent.get_children():
        if fd.kind != K.FIELD_DECL:
            continue
        init = inits.get(fd.spelling)
        if init is None:
            init = next((k for k in fd.get_children() if k.kind.is_expression()), None)
        if init is None:
            continue
        field = this.type.field_named(fd.spelling)
        target = ir.Member(this, fd.spelling, field.type, _loc(fd))
        value = lowerer.expr(init)
        stmts.append(ir.ExprStmt(ir.Assign("=", target, value, field.type, _loc(init)), _loc(init)))

    def returns_object(n):
        if isinstance(n, ir.Return) and n.value is None:
            return ir.Return(this, n.loc)
        return n

    stmts.extend(ir.rebuild(body, returns_object).stmts)
    if not stmts or not isinstance(stmts[-1], ir.Return):
        stmts.append(ir.Return(this, L))
    out = ir.Block(tuple(stmts), body.loc)
    _check_no_outside_effects(out, params, cursor)
    return out


def _member_inits(cursor: ci.Cursor) -> dict[str, ci.Cursor]:
    """The member-initialiser list: field name -> initialiser expression."""
    out: dict[str, ci.Cursor] = {}
    kids = list(cursor.get_children())
    i = 0
    while i < len(kids):
        c = kids[i]
        if c.kind == K.MEMBER_REF and i + 1 < len(kids):
            out[c.spelling] = kids[i + 1]
            i += 2
            continue
        if c.kind.is_expression():
            raise UnsupportedError(
                "a delegating or base-class constructor initialiser is not supported", _loc(c)
            )
        i += 1
    return out


def _check_no_outside_effects(body: ir.Block, params: tuple[ir.Param, ...], cursor: ci.Cursor) -> None:
    """The derivative builds the object with the constructor and replays the constructor's
    assignments on it: effects outside the object (a global, a writable reference or pointer
    argument) would happen twice."""
    writable = {p.name for p in params if (p.type.ref or p.type.ptr) and not p.type.const}
    for n in ir.walk(body):
        if isinstance(n, (ir.Assign, ir.Step)):
            target = n.target
            while isinstance(target, ir.Member):
                target = target.operand
            root = ir.root_var(target)
            if root is None or root.is_global or root.name in writable:
                raise UnsupportedError(
                    "a constructor that writes outside the object it builds (a global or an "
                    "argument) is not supported",
                    n.loc or _loc(cursor),
                )
