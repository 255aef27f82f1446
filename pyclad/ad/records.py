"""Whole-record statements as statements on fields.

Both transforms run this pass (after ``sequence``), so that what they differentiate,
save and restore is a floating field at a time (``q.a``, ``s.in.b``, ``ps[i].x``) and
never a whole record:

- ``P q = {x, 2 * y};``  -> ``P q; q.a = x; q.b = 2 * y;``
- ``P r = q;``           -> ``P r; r.a = q.a; r.b = q.b;``
- ``r = q;``             -> ``r.a = q.a; r.b = q.b;``
- ``r = make(x);``       -> ``P _rec0 = make(x); r.a = _rec0.a; r.b = _rec0.b;``
- ``P ps[2] = {{x, y}, {y, x}};`` -> ``P ps[2]; ps[0].a = x; ...``

A declaration whose initialiser leaves some fields out (``P q = {x};``) is first
value-initialised (``P q = {};``, default member initialisers included), as C++ does.
Nested records and fixed-size arrays of fields are expanded down to their scalars;
integer and pointer fields are copied like the floating ones (the primal needs them),
their shadows are never read.  A declaration initialised by a call (``P m = make(x);``)
stays: the callee's derivative hands back the shadow of the whole result.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..errors import UnsupportedError
from .shadow import is_zero_shadow, shadow_parts, zero_like

# Fields of a fixed-size array are unrolled up to this many elements per copy.
_UNROLL = 64


def expand(fn: ir.Function) -> ir.Function:
    """``fn`` with every whole-record initialisation and assignment written field by field
    (``fn`` itself when there is none)."""
    if not any(_whole(s) for s in ir.walk(fn.body) if isinstance(s, ir.Stmt)):
        return fn
    names = {p.name for p in fn.params} | ir.var_names(fn.body)
    return replace(fn, body=_Expander(names).block(fn.body))


def _whole(s: ir.Stmt) -> bool:
    if isinstance(s, ir.Decl) and s.type.dims and s.type.kind == ir.RECORD:  # P ps[3] = {{...}, ...}
        return isinstance(s.init, ir.InitList) and _expandable(s.type.named())
    if isinstance(s, ir.Decl):
        return _expandable(s.type) and s.init is not None and not isinstance(s.init, ir.Call)
    return isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and _expandable(s.expr.target.type)


def _expandable(t: ir.Type) -> bool:
    """A record value (not a reference) whose fields can all be assigned."""
    return t.is_record and not t.ref and bool(t.fields) and all(_assignable(f.type) for f in t.fields)


def _assignable(t: ir.Type) -> bool:
    if (t.const and not t.ptr) or t.ref:  # a pointer to const data is assignable
        return False
    if t.is_record:
        return bool(t.fields) and all(_assignable(f.type) for f in t.fields)
    return t.kind == ir.BUILTIN or t.ptr > 0


def leaves(t: ir.Type, of: ir.Expr) -> list[ir.Expr]:
    """The scalar lvalues inside a value ``of`` of record (or array) type ``t``, in
    declaration order: ``of.a``, ``of.in.b``, ``of.v[0]``, ..."""
    if t.dims:
        n = t.dims[0]
        if n > _UNROLL:
            raise UnsupportedError(
                f"copying a record field array of {n} elements (more than {_UNROLL})",
                getattr(of, "loc", None),
            )
        return [
            x for k in range(n) for x in leaves(t.element(), ir.Index(of, ir.lit(k, ir.INT), t.element()))
        ]
    if t.is_record:
        out: list[ir.Expr] = []
        for f in t.fields:
            out += leaves(f.type, ir.Member(of, f.name, f.type.value()))
        return out
    return [of]


def floating_leaves(t: ir.Type, of: ir.Expr) -> list[ir.Expr]:
    """The floating scalar lvalues inside ``of`` (the ones a shadow carries derivatives in)."""
    return [x for x in leaves(t, of) if x.type.is_float]


def accumulate(target: ir.Expr, source: ir.Expr, t: ir.Type) -> list[ir.Stmt]:
    """``target.a += source.a; ...`` over the floating fields of record type ``t``: adjoint
    records are accumulated field by field (their integer fields are never read)."""
    out: list[ir.Stmt] = []
    for d, s in zip(shadow_parts(t, target), shadow_parts(t, source)):
        if d.type.is_container:  # a container field: element by element
            out.append(ir.ExprStmt(ir.Call("::pyclad::add_to", (d, s), ir.VOID, spelling="::pyclad::add_to")))
        else:
            out.append(ir.ExprStmt(ir.Assign("+=", d, s, d.type)))
    return out


class _Expander:
    def __init__(self, used: set[str]):
        self.used = used
        self.count = 0

    def temp(self) -> str:
        while f"_rec{self.count}" in self.used:
            self.count += 1
        name = f"_rec{self.count}"
        self.used.add(name)
        return name

    def block(self, b: ir.Block) -> ir.Block:
        out: list[ir.Stmt] = []
        for s in b.stmts:
            out += self.stmt(s)
        return replace(b, stmts=tuple(out))

    def body(self, s: ir.Stmt) -> ir.Stmt:
        new = self.stmt(s)
        return new[0] if len(new) == 1 else ir.Block(tuple(new), s.loc)

    def stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        if isinstance(s, ir.Block):
            return [self.block(s)]
        if isinstance(s, ir.If):
            other = self.body(s.other) if s.other is not None else None
            return [replace(s, then=self.body(s.then), other=other)]
        if isinstance(s, (ir.While, ir.DoWhile)):
            return [replace(s, body=self.body(s.body))]
        if isinstance(s, ir.For):
            init = tuple(x for i in s.init for x in self.stmt(i))
            if len(init) != len(s.init):
                raise UnsupportedError("a record initialised in the header of a for loop", s.loc)
            return [replace(s, init=init, body=self.body(s.body))]
        if isinstance(s, ir.Switch):
            return [replace(s, body=self.block(s.body))]
        if isinstance(s, ir.Decl) and _whole(s):
            return self.decl(s)
        if isinstance(s, ir.ExprStmt) and _whole(s):
            return self.assign(s)
        return [s]

    def decl(self, s: ir.Decl) -> list[ir.Stmt]:
        target = ir.Var(s.name, s.type, s.loc)
        stores = self.stores(target, s.type, s.init, s.loc)
        covered = not isinstance(s.init, ir.InitList) or len(stores) == len(leaves(s.type, target))
        first = ir.Decl(s.name, s.type, None if covered else ir.InitList((), s.type, s.loc), s.loc)
        return [first, *stores]

    def assign(self, s: ir.ExprStmt) -> list[ir.Stmt]:
        e = s.expr
        if e.op != "=":
            raise UnsupportedError(f"operator '{e.op}' on a whole record", e.loc or s.loc)
        pre: list[ir.Stmt] = []
        value = e.value
        if isinstance(value, ir.InitList):
            reset = ir.ExprStmt(
                ir.Assign("=", e.target, ir.InitList((), e.target.type.value()), e.type), s.loc
            )
            return [reset, *self.stores(e.target, e.target.type.value(), value, s.loc)]
        if ir.has_side_effects(value) or ir.has_side_effects(e.target):
            if ir.has_side_effects(e.target):
                raise UnsupportedError("a whole-record assignment to a target with side effects", e.loc)
            name = self.temp()
            ty = value.type.plain()
            pre.append(ir.Decl(name, ty, value, s.loc))
            value = ir.Var(name, ty, s.loc)
        return pre + self.stores(e.target, e.target.type.value(), value, s.loc)

    def stores(self, target: ir.Expr, t: ir.Type, value: ir.Expr, loc) -> list[ir.Stmt]:
        """Assignments of ``value`` (an initialiser list or a record lvalue) to the scalars of
        ``target``; an initialiser list may leave trailing fields out."""
        if isinstance(value, ir.InitList):
            if t.is_record and t.bases:
                value = ir.flat_initialiser(t, value, loc)
            parts = _parts(target, t)
            if len(value.items) > len(parts):
                raise UnsupportedError("an initialiser list with more items than fields", value.loc or loc)
            out: list[ir.Stmt] = []
            for (lv, lt), item in zip(parts, value.items):
                if (
                    isinstance(item, ir.InitList)
                    or (lt.is_record or lt.dims)
                    and not isinstance(item, ir.InitList)
                ):
                    if not (lt.is_record or lt.dims):
                        raise UnsupportedError("a braced initialiser of a scalar field", item.loc or loc)
                    out += self.stores(lv, lt, item, loc)
                else:
                    out.append(ir.ExprStmt(ir.Assign("=", lv, item, lv.type), loc))
            return out
        if not (t.is_record or t.dims):
            return [ir.ExprStmt(ir.Assign("=", target, value, target.type), loc)]
        if ir.has_side_effects(value):  # Rigid{rotation(angles), offset}: the record a call makes, once
            name = self.temp()
            ty = value.type.plain()
            return [ir.Decl(name, ty, value, loc), *self.stores(target, t, ir.Var(name, ty, loc), loc)]
        return [
            ir.ExprStmt(ir.Assign("=", d, s, d.type), loc)
            for d, s in zip(leaves(t, target), leaves(t, value))
        ]


def _parts(target: ir.Expr, t: ir.Type) -> list[tuple[ir.Expr, ir.Type]]:
    """The direct parts of a record or array lvalue: its fields or its elements."""
    if t.dims:
        e = t.element()
        return [(ir.Index(target, ir.lit(k, ir.INT), e), e) for k in range(t.dims[0])]
    return [(ir.Member(target, f.name, f.type.value()), f.type.value()) for f in t.fields]


# ----------------------------------------------------------------------------- vector mode


def split_shadows(fn: ir.Function, names: set[str]) -> tuple[ir.Function, set[str]]:
    """``fn`` with every record-typed shadow among ``names`` (tangents or adjoints) replaced
    by one scalar per floating field (``_d_q.a`` -> ``_d_q_a``), and the new set of shadow
    names.  Vector mode retypes shadows as ``pyclad::vec<N>``, which a record's fields
    cannot be: split, each field is a shadow of its own.  Parameters split the same way on
    both sides of a call (fields in declaration order), so pushforwards and pullbacks of
    callees taking records keep matching their calls."""
    kinds = {p.name: p.type for p in fn.params if p.name in names}
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Decl) and n.name in names:
            kinds.setdefault(n.name, n.type)
    records = {k: t for k, t in kinds.items() if t.kind == ir.RECORD and not t.dims and t.ptr <= 1}
    if not records:
        return fn, names
    used = {p.name for p in fn.params} | ir.var_names(fn.body)
    split = _Split(records, used)
    params: list[ir.Param] = []
    for p in fn.params:
        if p.name in records:
            params += [ir.Param(leaf, ty, p.loc) for leaf, ty in split.leaf_decls(p.name)]
        else:
            params.append(p)
    body = split.block(fn.body)
    if any(isinstance(n, ir.Var) and n.name in records for n in ir.walk(body)):
        where = next(n.loc for n in ir.walk(fn.body) if isinstance(n, ir.Var) and n.name in records)
        raise UnsupportedError(
            "an array of records in vector mode (Jacobians and Hessians take records one at a time)",
            where or fn.loc,
        )
    leaves_ = {leaf for d in records for leaf, _ in split.leaf_decls(d)}
    return replace(fn, params=tuple(params), body=body), (names - set(records)) | leaves_


def _own_call(c: ir.Call, t: ir.Type) -> bool:
    """``c`` is a constructor or method of ``t`` itself (or one's derivative, named after
    it): it takes all of ``t``'s fields."""
    own = "".join(ch if ch.isalnum() else "_" for ch in t.base.lstrip(":"))
    return c.callee.lstrip(":").startswith(own) or c.kind == ir.CONSTRUCTOR


class _Split:
    def __init__(self, records: dict[str, ir.Type], used: set[str]):
        self.records = records
        self.leaf: dict[str, dict[tuple[str, ...], str]] = {}
        self.types: dict[str, dict[tuple[str, ...], ir.Type]] = {}
        for d, t in records.items():
            self.leaf[d], self.types[d] = {}, {}
            for e in shadow_parts(t.named(), ir.Var(d, t.named())):  # containers are parts too
                parts = _path(e)[2]
                name = "_".join((d, *parts))
                while name in used:
                    name += "_"
                used.add(name)
                self.leaf[d][tuple(parts)] = name
                self.types[d][tuple(parts)] = e.type.value()

    def leaf_decls(self, d: str) -> list[tuple[str, ir.Type]]:
        """The split parameters / locals of shadow ``d``: its declared shape on each field."""
        t = self.records[d]
        return [
            (name, self.types[d][parts].derived(t.ptr, const=t.const, ref=t.ref))
            for parts, name in self.leaf[d].items()
        ]

    def parts_of(self, e: ir.Expr) -> list[ir.Expr] | None:
        """The leaves of a record-valued shadow expression (``_d_q``, ``_d_s.in``, ``*_d_p``,
        ``&_d_q``, a pointer ``_d_p``), in field order; None if ``e`` is not one."""
        if isinstance(e, ir.Unary) and e.op == "&":
            inner = self.parts_of(e.operand)
            return None if inner is None else [ir.Unary("&", x, x.type.derived(1)) for x in inner]
        hit = _path(e)
        if hit is None or hit[0].name not in self.records:
            return None
        root, deref, parts = hit
        pointer = self.records[root.name].ptr == 1
        if pointer and not deref and parts:
            return None
        out = []
        for leaf_parts, name in self.leaf[root.name].items():
            if tuple(leaf_parts[: len(parts)]) != tuple(parts):
                continue
            ty = self.types[root.name][leaf_parts]
            if pointer and not deref:
                out.append(ir.Var(name, ty.derived(1)))
            elif pointer:
                out.append(ir.Unary("*", ir.Var(name, ty.derived(1)), ty))
            else:
                out.append(ir.Var(name, ty))
        return out

    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, (ir.Member, ir.Index, ir.Unary, ir.Var)) and (
            e.type.is_float or e.type.is_container
        ):
            parts = self.parts_of(e)
            if parts is not None and len(parts) == 1:
                return parts[0]
        if isinstance(e, ir.Call):
            args: list[ir.Expr] = []
            for a in e.args:
                parts = self.parts_of(a) if _record_valued(a) else None
                if parts is not None and a.type.named().bases and not _own_call(e, a.type.named()):
                    raise UnsupportedError(  # the callee may take it as its base: fewer fields
                        "a derived object passed to a call in vector mode (Jacobians and Hessians)", e.loc
                    )
                args += parts if parts is not None else [self.expr(a)]
            return replace(e, args=tuple(args))
        changes = {}
        for f in e.__dataclass_fields__:
            v = getattr(e, f)
            if f in ("type", "loc"):
                continue
            if isinstance(v, ir.Expr):
                changes[f] = self.expr(v)
            elif isinstance(v, tuple) and v and all(isinstance(x, ir.Expr) for x in v):
                changes[f] = tuple(self.expr(x) for x in v)
        return replace(e, **changes) if changes else e

    def block(self, b: ir.Block) -> ir.Block:
        out: list[ir.Stmt] = []
        for s in b.stmts:
            out += self.stmt(s)
        return replace(b, stmts=tuple(out))

    def stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        if isinstance(s, ir.Decl) and s.name in self.records:
            return self.decl(s)
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and _record_valued(s.expr.target):
            targets = self.parts_of(s.expr.target)
            if targets is not None:
                values = self.values(s.expr.value, len(targets))
                return [
                    ir.ExprStmt(ir.Assign(s.expr.op, t, v, t.type), s.loc) for t, v in zip(targets, values)
                ]
        if isinstance(s, ir.Block):
            return [self.block(s)]
        changes = {}
        for f in s.__dataclass_fields__:
            v = getattr(s, f)
            if f in ("type", "loc"):
                continue
            if isinstance(v, ir.Block):
                changes[f] = self.block(v)
            elif isinstance(v, ir.Stmt):
                new = self.stmt(v)
                changes[f] = new[0] if len(new) == 1 else ir.Block(tuple(new))
            elif isinstance(v, ir.Expr):
                changes[f] = self.expr(v)
            elif isinstance(v, tuple) and v and all(isinstance(x, ir.Stmt) for x in v):
                changes[f] = tuple(x for y in v for x in self.stmt(y))
        return [replace(s, **changes) if changes else s]

    def values(self, value: ir.Expr | None, n: int) -> list[ir.Expr]:
        if value is None or is_zero_shadow(value):
            return [ir.lit(0)] * n
        parts = self.parts_of(value)
        if parts is None and _record_valued(value) and shadow_parts(value.type.value(), value):
            # a shadow declared as a copy of its primal, then zeroed (shadow.shadow_decl):
            # each part starts as zeros of the primal part's shape
            parts = [
                zero_like(x) if x.type.is_container else ir.lit(0)
                for x in shadow_parts(value.type.value(), value)
            ]
        if parts is None or len(parts) != n:
            raise UnsupportedError("this record shadow in vector mode", getattr(value, "loc", None))
        return parts

    def decl(self, s: ir.Decl) -> list[ir.Stmt]:
        decls = self.leaf_decls(s.name)
        if s.type.ptr and s.init is not None:
            raise UnsupportedError("a pointer to records in vector mode", s.loc)
        values = self.values(s.init, len(decls)) if s.init is not None else [None] * len(decls)
        if s.init is None:
            values = [ir.lit(0)] * len(decls)
        return [ir.Decl(name, ty, v, s.loc) for (name, ty), v in zip(decls, values)]


def _record_valued(e: ir.Expr) -> bool:
    """A record value, the address of one, or a pointer variable to one."""
    if isinstance(e, ir.Unary) and e.op == "&":
        return _record_valued(e.operand)
    t = e.type
    return t.kind == ir.RECORD and not t.dims and (t.ptr == 0 or isinstance(e, ir.Var) and t.ptr == 1)


def _path(e: ir.Expr) -> tuple[ir.Var, bool, list[str]] | None:
    """(root variable, through ``*``, field path) of ``v.a.b`` / ``(*p).a`` / ``v.arr[2]``."""
    parts: list[str] = []
    while True:
        if isinstance(e, ir.Member):
            parts.append(e.name)
            e = e.operand
        elif isinstance(e, ir.Index) and isinstance(e.index, ir.Lit) and e.index.text.isdigit():
            parts.append(e.index.text)
            e = e.base
        else:
            break
    deref = isinstance(e, ir.Unary) and e.op == "*"
    if deref:
        e = e.operand
    return (e, deref, parts[::-1]) if isinstance(e, ir.Var) else None
