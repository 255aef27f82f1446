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
from . import accessors, callees, lambdas, templates
from .parse import loc_of
from .types import lower_type

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
    bases: list[ci.Cursor] = []
    inits = _member_inits(cursor, bases)
    for k, init in enumerate(bases):
        stmts += _base_initialised(lowerer, this, init, k)
    record = cursor.semantic_parent
    members = record.type.get_fields() if callees.is_class_instance(record) else record.get_children()
    for fd in members:
        if fd.kind != K.FIELD_DECL:
            continue
        init = inits.get(fd.spelling)
        if init is None:
            # The default member initialiser: the last expression (an array's size comes first).
            init = next((k for k in reversed(list(fd.get_children())) if k.kind.is_expression()), None)
            if init is not None and not _has_initialiser(fd):
                init = None
        if init is None:
            continue
        field = this.type.field_named(fd.spelling)
        target = ir.Member(this, fd.spelling, field.type, _loc(fd))
        value = lowerer.expr(init)
        stmts.extend(_initialise(target, value, _loc(init)))

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


def _base_initialised(lowerer, this: ir.Var, init: ci.Cursor, k: int) -> list[ir.Stmt]:
    """The stores of a base initialiser into the object's (flattened) fields: ``Body{a, b}``
    sets the base's fields in order; ``Body(a, b)`` builds the base in a local, whose fields
    are copied."""
    value = lowerer.expr(init)
    base = value.type.named()
    if base.kind != ir.RECORD or not base.fields:
        raise UnsupportedError("this base-class initialiser", _loc(init))
    out: list[ir.Stmt] = []
    if isinstance(value, ir.InitList):
        flat = ir.flat_initialiser(base, value, _loc(init)) if base.bases else value
        if any(isinstance(x, ir.InitList) for x in flat.items):
            raise UnsupportedError("a braced initialiser of a record or array field of a base", _loc(init))
        pairs = list(zip(base.fields, flat.items))
    else:
        local = ir.Var(f"_base{k}", base)
        out.append(ir.Decl(local.name, base, value, _loc(init)))
        pairs = [(f, ir.Member(local, f.name, f.type, _loc(init))) for f in base.fields]
    for f, item in pairs:
        target = ir.Member(this, f.name, this.type.field_named(f.name).type, _loc(init))
        out += _initialise(target, item, _loc(init))
    return out


def _has_initialiser(fd: ci.Cursor) -> bool:
    """A field declared with ``= value`` or ``{value}`` (not only an array size)."""
    return any(t.spelling in ("=", "{") for t in fd.get_tokens())


def _initialise(target: ir.Expr, value: ir.Expr, loc) -> list[ir.Stmt]:
    """``target = value`` for a field's initialiser; an array field element by element."""
    t = target.type
    if not t.dims:
        return [ir.ExprStmt(ir.Assign("=", target, value, t, loc), loc)]
    if not isinstance(value, ir.InitList):
        raise UnsupportedError("this initialiser of an array member", loc)
    out: list[ir.Stmt] = []
    for i, item in enumerate(value.items):
        out += _initialise(ir.Index(target, ir.lit(i, ir.INT), t.element(), loc), item, loc)
    return out


def _member_inits(cursor: ci.Cursor, bases: list | None = None) -> dict[str, ci.Cursor]:
    """The member-initialiser list: field name -> initialiser expression; the initialisers
    of base classes (``Body{a, b}``, ``Body(a, b)``) appended to ``bases``."""
    out: dict[str, ci.Cursor] = {}
    kids = list(cursor.get_children())
    i = 0
    while i < len(kids):
        c = kids[i]
        if c.kind == K.MEMBER_REF and i + 1 < len(kids):
            out[c.spelling] = kids[i + 1]
            i += 2
            continue
        if (
            c.kind == K.TYPE_REF
            and bases is not None
            and i + 1 < len(kids)
            and kids[i + 1].kind.is_expression()
            and c.type.get_canonical() != cursor.semantic_parent.type.get_canonical()  # delegating
        ):
            bases.append(kids[i + 1])
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


def _unsupported(what: str, cursor: ci.Cursor) -> UnsupportedError:
    return UnsupportedError(f"{what} is not supported", _loc(cursor))


class CalleeCalls:
    """Lowering of calls to callees other than free functions (a mixin of ``Lowerer``)."""

    def method_call(self, c: ci.Cursor, kids: list[ci.Cursor], ref: ci.Cursor) -> ir.Expr:
        """``p.norm()``, ``q->norm()``, ``norm()`` in a method, ``a += b``, ``v[i]``, ``f(x)`` on
        a functor: an ``ir.METHOD`` call with the receiver first; a static member function is a
        plain call; a lambda's call is the call of its operator() function (see lambdas)."""
        if callees.is_lambda_class(ref.semantic_parent):
            return self.lambda_call(c, kids, ref)
        key = callees.key(ref)
        if key in self.index.overloads:
            key = callees.signature_key(ref)  # the overload the call resolves to
        key = self.instance_member(ref, key)
        at = callee_at(kids, ref)
        if not self.index.in_user_file(ref):
            raise _unsupported(f"a call to the library method '{key}'", c)
        hidden = self.private_method(ref, c)
        if ref.is_static_method():
            args = tuple(self.expr(a) for i, a in enumerate(kids) if i != at)
            return ir.Call(key, args, self.type_of(c), _loc(c), spelling=key, private=hidden)
        if ref.is_virtual_method():
            raise _unsupported(f"a virtual call to '{key}' (dynamic dispatch)", c)
        head = peel(kids[at])
        if head.kind == K.MEMBER_REF_EXPR:  # p.m(...), q->m(...), or m(...) on this
            base = [k for k in head.get_children() if k.kind.is_expression()]
            rest = [k for i, k in enumerate(kids) if i != at]
        else:  # operator syntax: the receiver, the operator, the operands
            base = [kids[0]]
            rest = [k for i, k in enumerate(kids) if i not in (0, at)]
        if base:
            recv = self.expr(base[0])
        elif self.this is not None:
            recv = self.this
        else:
            raise _unsupported(f"a call to the method '{key}' without an object", c)
        if recv.type.is_pointer:
            recv = deref(recv, _loc(c))
        args = tuple(self.expr(a) for a in rest)
        if ref.is_default_method() and ref.spelling == "operator=":
            return ir.Assign("=", recv, args[0], recv.type.value(), _loc(c))  # the implicit copy
        if len(args) != len(list(ref.get_arguments())):
            raise _unsupported(f"a call to '{key}' relying on default arguments", c)
        if ref.result_type.kind == ci.TypeKind.LVALUEREFERENCE:
            element = accessors.inline(self.index, key, recv, args)
            if element is not None:
                return element  # m[i] -> m.a[i] (see accessors)
        return ir.Call(
            key,
            (recv, *args),
            self.type_of(c),
            _loc(c),
            spelling=ref.spelling,
            kind=ir.METHOD,
            private=hidden,
        )

    def private_method(self, ref: ci.Cursor, c: ci.Cursor) -> str:
        """For a private or protected method, the type of a pointer to it (see ir.Call.private)."""
        if ref.access_specifier == ci.AccessSpecifier.PUBLIC:
            return ""
        params = ", ".join(lower_type(a.type, c).spell() for a in ref.get_arguments())
        result = lower_type(ref.result_type, c)
        if ref.is_static_method():
            return result.spell("(*)") + f"({params})"
        record = lower_type(ref.semantic_parent.type, c).base
        return result.spell(f"({record}::*)") + f"({params})" + (" const" if ref.is_const_method() else "")

    def construct(self, c: ci.Cursor, kids: list[ci.Cursor], ref: ci.Cursor) -> ir.Expr:
        """``P(a)``, ``P{a}``, ``P q(a)``: an ``ir.CONSTRUCTOR`` call of a user-written
        constructor; the implicit copy or move is the value copied, the implicit default
        constructor a value-initialised object."""
        t = self.type_of(c).plain()
        args = [k for k in kids if k.kind.is_expression()]
        if ref.is_default_method():
            if ref.is_copy_constructor() or ref.is_move_constructor():
                return self.expr(args[0])
            if not args:
                return ir.InitList((), t, _loc(c))
        if t.kind != ir.RECORD or not self.index.in_user_file(ref):
            raise _unsupported(f"a constructor of the library type '{t.spell()}'", c)
        if len(args) != len(list(ref.get_arguments())):
            raise _unsupported(f"a constructor call relying on default arguments ({t.spell()})", c)
        key = self.instance_member(ref, callees.key(ref))
        return ir.Call(
            key, tuple(self.expr(a) for a in args), t, _loc(c), spelling=t.base, kind=ir.CONSTRUCTOR
        )

    def instance_member(self, ref: ci.Cursor, key: str) -> str:
        """The key of a member of a class template's instance (``Point<double>::norm``), indexed
        on first use with the body libclang instantiated for it; a name the template overloads
        (the const and non-const ``operator()``) is keyed by its signature."""
        record = ref.semantic_parent
        if ref.kind == K.CXX_METHOD and templates.member_template_of(ref) is not None:
            key = callees.signature_key(ref)  # an instance of a member template: S::f(double) const
        elif record is None or not callees.is_class_instance(record):
            return key
        same = [c for c in callees.pattern_of(record).get_children() if c.spelling == ref.spelling]
        if len(same) > 1 and ref.kind != K.CONSTRUCTOR:
            key = callees.signature_key(ref)
        definition = ref if ref.is_definition() else ref.get_definition()
        if definition is not None:
            self.index.definitions.setdefault(key, definition)
        return key

    def lambda_call(self, c: ci.Cursor, kids: list[ci.Cursor], ref: ci.Cursor) -> ir.Call:
        """The call of a lambda held by a local variable, or written where it is called."""
        at = callee_at(kids, ref)
        head = peel(kids[0])
        held = head.referenced if head.kind == K.DECL_REF_EXPR else None
        if held is not None and held.hash in self.closures:
            closure = self.closures[held.hash]
        elif head.kind == K.LAMBDA_EXPR:
            closure, _ = lambdas.define(self, head, None)
        else:
            raise _unsupported("a call of a lambda that is not defined in this function", c)
        args = tuple(self.expr(k) for i, k in enumerate(kids) if i not in (0, at))
        return ir.Call(closure.key, closure.captures + args, self.type_of(c), _loc(c))


def peel(c: ci.Cursor) -> ci.Cursor:
    """The cursor under libclang's implicit wrappers (conversions, temporaries)."""
    while c.kind == K.UNEXPOSED_EXPR:
        kids = list(c.get_children())
        if len(kids) != 1:
            break
        c = kids[0]
    return c


def callee_at(kids: list[ci.Cursor], ref: ci.Cursor) -> int:
    """Which child of a call names the function: the first for ``f(x)``, the operator in the
    middle for ``a + b`` or ``s += r``."""
    for i, k in enumerate(kids):
        p = peel(k)
        if p.kind in (K.DECL_REF_EXPR, K.MEMBER_REF_EXPR) and p.referenced == ref:
            return i
    return 0


def lambda_of(v: ci.Cursor) -> ci.Cursor | None:
    """The lambda expression a variable is initialised with (``auto f = [&](...) {...};``)."""
    if "(lambda at" not in v.type.spelling:
        return None
    for k in v.get_children():
        p = peel(k)
        if p.kind == K.LAMBDA_EXPR:
            return p
    return None
