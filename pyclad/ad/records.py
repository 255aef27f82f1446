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
from .shadow import has_containers as shadow_has_containers
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
    if isinstance(s, ir.Decl) and isinstance(s.init, ir.InitList) and _listed(s.type):
        return True  # Layer L{{a, b}, 0.1}: containers from their lists, the rest field by field
    if isinstance(s, ir.Decl):
        return _expandable(s.type) and s.init is not None and not isinstance(s.init, ir.Call)
    return isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and _expandable(s.expr.target.type)


def _expandable(t: ir.Type) -> bool:
    """A record value (not a reference) whose fields can all be assigned."""
    return t.is_record and not t.ref and bool(t.fields) and all(_assignable(f.type) for f in t.fields)


def _listed(t: ir.Type) -> bool:
    """A record value with container fields, the others assignable: a braced list builds it
    field by field (each container field assigned from its own list)."""
    return (
        t.is_record
        and not t.ref
        and not t.bases
        and any(f.type.is_container for f in t.fields)
        and all(f.type.is_container or _assignable(f.type) for f in t.fields)
    )


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
        if _listed(s.type):  # the record value-initialised, then its listed fields
            return [ir.Decl(s.name, s.type, ir.InitList((), s.type, s.loc), s.loc), *stores]
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
                    if lt.is_container and isinstance(item, ir.InitList):  # w{a, b}: the container's list
                        out.append(
                            ir.ExprStmt(ir.Assign("=", lv, replace(item, type=lt.value()), lv.type), loc)
                        )
                        continue
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


def box_width(t: ir.Type) -> int:
    """The floating fields of record type ``t`` (array fields by element): the row of vectors
    that the tangent of one element of a container of ``t`` is in vector mode."""
    return len(floating_leaves(t.named(), ir.Var("_", t.named())))


def split_shadows(fn: ir.Function, names: set[str], boxes: bool = False) -> tuple[ir.Function, set[str]]:
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
    box = {k: t.args[0] for k, t in kinds.items() if t.kind == ir.VECTOR and t.args[0].kind == ir.RECORD}
    for k, t in kinds.items():
        if boxes and k in box and not t.ptr and not shadow_has_containers(t.args[0]):
            continue
        if t.kind in ir.CONTAINERS and t.args and t.args[0].kind == ir.RECORD:
            where = next((n.loc for n in ir.walk(fn.body) if isinstance(n, ir.Decl) and n.name == k), None)
            raise UnsupportedError(
                f"a container of records ({t.spell()}) in vector mode: its tangent would be a container "
                "of records of vectors",
                where or fn.loc,
            )
    records = {k: t for k, t in kinds.items() if t.kind == ir.RECORD and not t.dims and t.ptr <= 1}
    if not records and not box:
        return fn, names
    used = {p.name for p in fn.params} | ir.var_names(fn.body)
    split = _Split(records, used, box, names)
    params: list[ir.Param] = []
    # In forward mode (``boxes``), the tangent of a const reference or a pointer to const
    # (``const Vec3& o``: ``_d_o``) is only read: its fields are const references, which a
    # braced tangent's items bind to.  (An adjoint is written whatever its primal's constness.)
    primal = {p.name: p for p in fn.params}
    read_only = {
        p.name
        for p in fn.params
        if boxes
        and p.name in records
        and p.name.startswith("_d_")
        and (q := primal.get(p.name[3:])) is not None
        and q.type.const
        and (q.type.ref or q.type.ptr)
    }
    for p in fn.params:
        if p.name in records:
            decls = split.leaf_decls(p.name, param=True, const=p.name in read_only)
            params += [ir.Param(leaf, ty, p.loc) for leaf, ty in decls]
        else:
            params.append(p)
    body = split.block(fn.body)
    if any(isinstance(n, ir.Var) and n.name in records for n in ir.walk(body)):
        where = next(n.loc for n in ir.walk(fn.body) if isinstance(n, ir.Var) and n.name in records)
        raise UnsupportedError(
            "an array of records in vector mode (Jacobians and Hessians take records one at a time)",
            where or fn.loc,
        )
    by_value = {
        q.name
        for q in params
        if q.type.const and q.type.ptr == 1 and split.is_array_leaf(ir.Var(q.name, q.type))
    }
    for n in ir.walk(body):
        if (
            isinstance(n, (ir.Assign, ir.Step))
            and (r := ir.root_var(n.target)) is not None
            and r.name in by_value
        ):
            raise UnsupportedError(
                "in vector mode, a function that writes a field array of a record it takes by value",
                n.loc or fn.loc,
            )
    leaves_ = {leaf for d in records for leaf, _ in split.leaf_decls(d)}
    return replace(fn, params=tuple(params), body=body), (names - set(records)) | leaves_


def _own_call(c: ir.Call, t: ir.Type) -> bool:
    """``c`` is a constructor or method of ``t`` itself (or one's derivative, named after
    it): it takes all of ``t``'s fields."""
    own = "".join(ch if ch.isalnum() else "_" for ch in t.base.lstrip(":"))
    return c.callee.lstrip(":").startswith(own) or c.kind == ir.CONSTRUCTOR


class _Split:
    def __init__(
        self,
        records: dict[str, ir.Type],
        used: set[str],
        boxes: dict[str, ir.Type] | None = None,
        shadows: set[str] = frozenset(),
    ):
        self.records = records
        self.shadows = shadows  # every shadow name of the function (records or not)
        # A container of records' tangent (a box): rows of vectors, one per floating field;
        # per box, each split part of an element: (field path, first column, is an array).
        self.boxes: dict[str, list[tuple[tuple[str, ...], int, bool]]] = {}
        self.box_width = {c: box_width(elem) for c, elem in (boxes or {}).items()}
        for c, elem in (boxes or {}).items():
            leaves_at = [tuple(_path(x)[2]) for x in floating_leaves(elem.named(), ir.Var("_", elem.named()))]
            self.boxes[c] = []
            for part in split_parts(elem.named(), ir.Var("_", elem.named())):
                path = tuple(_path(part)[2])
                first = next(k for k, q in enumerate(leaves_at) if q[: len(path)] == path)
                self.boxes[c].append((path, first, bool(part.type.dims)))
        self.leaf: dict[str, dict[tuple[str, ...], str]] = {}
        self.types: dict[str, dict[tuple[str, ...], ir.Type]] = {}
        for d, t in records.items():
            self.leaf[d], self.types[d] = {}, {}
            for e in split_parts(t.named(), ir.Var(d, t.named())):  # containers are parts too
                parts = _path(e)[2]
                name = "_".join((d, *parts))
                while name in used:
                    name += "_"
                used.add(name)
                self.leaf[d][tuple(parts)] = name
                self.types[d][tuple(parts)] = e.type.value()

    def leaf_decls(self, d: str, param: bool = False, const: bool = False) -> list[tuple[str, ir.Type]]:
        """The split parameters / locals of shadow ``d``: its declared shape on each field
        (``const``: a read-only shadow parameter, each field const)."""
        out = []
        for parts, name in self.leaf[d].items():
            t = self.leaf_type(d, parts, param)
            if const and (t.ref or t.ptr):
                t = replace(t, const=True)
            out.append((name, t))
        return out

    def shadow_of(self, e: ir.Expr) -> bool:
        """An expression built of shadows (a braced tangent ``{_d_x, 0}``), not of primal values."""
        return any(isinstance(n, ir.Var) and n.name in self.shadows for n in ir.walk(e))

    def box_parts(self, e: ir.Expr) -> list[ir.Expr] | None:
        """The parts of a record shadow that is an element of a box (``_d_ws[j]``,
        ``_d_ws[j].t``, ``_d_ws[j].R.a[2]``): its columns, an array field as the address of
        its first column; None if ``e`` is not one."""
        want: list[str] = []
        while True:
            if isinstance(e, ir.Index) and isinstance(e.base, ir.Var) and e.base.name in self.boxes:
                break
            if isinstance(e, ir.Member):
                want.append(e.name)
                e = e.operand
            elif isinstance(e, ir.Index) and isinstance(e.index, ir.Lit) and e.index.text.isdigit():
                want.append(e.index.text)
                e = e.base
            else:
                return None
        want.reverse()
        # the element's row: typed as the std::array it is (the checked variant checks it so)
        row, out = ir.Index(e.base, e.index, ir.std_array_of(ir.DOUBLE, self.box_width[e.base.name])), []
        for path, first, array in self.boxes[e.base.name]:
            if array and tuple(want[: len(path)]) == path and len(want) > len(path):
                out.append(ir.Index(row, ir.lit(first + int(want[len(path)]), ir.INT), ir.DOUBLE))
            elif path[: len(want)] == tuple(want):
                column = ir.Index(row, ir.lit(first, ir.INT), ir.DOUBLE)
                out.append(ir.Unary("&", column, ir.DOUBLE.derived(1)) if array else column)
        return out

    def is_array_leaf(self, e: ir.Expr) -> bool:
        """A leaf standing for a whole array field (an array, or a pointer to its first
        element): passed on as it is, never by address."""
        if isinstance(e, ir.Unary) and e.op == "&" and isinstance(e.operand, ir.Index):
            row = e.operand.base
            return isinstance(row, ir.Index) and isinstance(row.base, ir.Var) and row.base.name in self.boxes
        return isinstance(e, ir.Var) and any(
            e.name == name and self.types[d][parts].dims
            for d in self.leaf
            for parts, name in self.leaf[d].items()
        )

    def leaf_type(self, d: str, parts: tuple[str, ...], param: bool = False) -> ir.Type:
        """A leaf's declared type: the field's on the shadow's declarator.  An array field of a
        shadow passed by pointer or reference is a pointer to its first element; of a shadow
        passed by value, a pointer to its first const element (the caller's array, which the
        callee only reads: ``split_shadows`` refuses a write)."""
        t, ty = self.records[d], self.types[d][parts]
        if ty.dims:
            if t.ptr or t.ref or param:
                return ty.element().derived(1, const=t.const or not (t.ptr or t.ref))
            return ty.derived(0, ty.dims)
        return ty.derived(t.ptr, const=t.const, ref=t.ref)

    def parts_of(self, e: ir.Expr) -> list[ir.Expr] | None:
        """The leaves of a record-valued shadow expression (``_d_q``, ``_d_s.in``, ``*_d_p``,
        ``&_d_q``, a pointer ``_d_p``), in field order; None if ``e`` is not one."""
        if isinstance(e, ir.Unary) and e.op == "&":
            inner = self.parts_of(e.operand)
            if inner is None:
                return None
            return [x if self.is_array_leaf(x) else ir.Unary("&", x, x.type.derived(1)) for x in inner]
        if self.boxes:
            inside = self.box_parts(e)
            if inside is not None:
                return inside
        hit = _path(e)
        if hit is None or hit[0].name not in self.records:
            return None
        root, deref, parts = hit
        pointer = self.records[root.name].ptr == 1
        if pointer and not deref and parts:
            return None
        out = []
        for leaf_parts, name in self.leaf[root.name].items():
            ty = self.types[root.name][leaf_parts]
            if ty.dims and tuple(parts[: len(leaf_parts)]) == leaf_parts:  # in an array field
                item: ir.Expr = ir.Var(name, self.leaf_type(root.name, leaf_parts))
                for k in parts[len(leaf_parts) :]:
                    item = ir.Index(item, ir.lit(int(k), ir.INT), ty.element())
                out.append(item)
                continue
            if tuple(leaf_parts[: len(parts)]) != tuple(parts):
                continue
            if pointer and not deref:
                out.append(ir.Var(name, ty.derived(1)))
            elif pointer:
                out.append(ir.Unary("*", ir.Var(name, ty.derived(1)), ty))
            else:
                out.append(ir.Var(name, ty))
        return out

    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Index) and self.boxes and _float_array(e.base.type):
            inner = self.box_parts(e.base)  # ``_d_js[k].c[i]`` at a run-time i: column first + i
            if inner is not None and len(inner) == 1 and self.is_array_leaf(inner[0]):
                column = inner[0].operand
                at = ir.Binary("+", column.index, self.expr(e.index), ir.INT)
                return ir.Index(column.base, at, e.type)
        if isinstance(e, (ir.Member, ir.Index, ir.Unary, ir.Var)) and (
            e.type.is_float or e.type.is_container or _float_array(e.type)
        ):
            parts = self.parts_of(e)
            if parts is not None and len(parts) == 1:
                return parts[0]
        if isinstance(e, ir.Call) and self.boxes and self.pushes_row(e):
            row = [x for a in e.args[1:] for x in self.row_items(a)]
            return replace(e, args=(e.args[0], ir.InitList(tuple(row), ir.DOUBLE)))
        if isinstance(e, ir.Call):
            args: list[ir.Expr] = []
            for a in e.args:
                parts = self.parts_of(a) if _record_valued(a) else None
                if parts is not None and a.type.named().bases and not _own_call(e, a.type.named()):
                    raise UnsupportedError(  # the callee may take it as its base: fewer fields
                        "a derived object passed to a call in vector mode (Jacobians and Hessians)", e.loc
                    )
                if parts is None and isinstance(a, ir.InitList) and a.type.is_record and self.shadow_of(a):
                    parts = self.braced(a, a.type.value())  # a braced shadow {_d_x, _d_y}: its fields
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

    def pushes_row(self, e: ir.Call) -> bool:
        """``box.push_back(record shadow)`` (or emplace_back)."""
        return (
            e.spelling in ("push_back", "emplace_back")
            and len(e.args) == 2
            and isinstance(e.args[0], ir.Var)
            and e.args[0].name in self.boxes
        )

    def row_items(self, a: ir.Expr) -> list[ir.Expr]:
        """The columns of the row a record shadow pushed onto a box fills, array fields
        element by element (a zero shadow: zeros)."""
        parts = self.parts_of(a) if _record_valued(a) else None
        if parts is None:
            if is_zero_shadow(a):
                return [ir.lit(0)] * box_width(a.type.value())
            raise UnsupportedError("this record shadow pushed onto a container in vector mode", a.loc)
        out: list[ir.Expr] = []
        for x in parts:
            if self.is_array_leaf(x):
                n = self.array_length(x)
                out += [ir.Index(x, ir.lit(k, ir.INT), ir.DOUBLE) for k in range(n)]
            else:
                out.append(x)
        return out

    def array_length(self, leaf: ir.Expr) -> int:
        """The elements of the array field that the leaf ``leaf`` stands for."""
        for d in self.leaf:
            for parts, name in self.leaf[d].items():
                if isinstance(leaf, ir.Var) and leaf.name == name:
                    return self.types[d][parts].dims[0]
        raise UnsupportedError("an array field of a container element pushed onto a container in vector mode")

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
                    ir.ExprStmt(ir.Assign(s.expr.op, a, b, a.type), s.loc)
                    for t, v in zip(targets, values)
                    for a, b in _elementwise(t, v)
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
        parts = self.parts_of(value) if not isinstance(value, ir.InitList) else self.braced(value, value.type)
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

    def braced(self, value: ir.InitList, t: ir.Type) -> list[ir.Expr] | None:
        """The parts of a braced shadow ``{_d_a, _d_v}`` of record type ``t``, field by field
        (fields left out are zeros); None where an item is not a shadow this pass knows."""
        if not (t.is_record and not t.dims) or len(value.items) > len(t.fields):
            return None
        out: list[ir.Expr] = []
        for k, f in enumerate(t.fields):
            ft = f.type.value()
            count = len(split_parts(ft, ir.Var("_", ft)))
            item = value.items[k] if k < len(value.items) else None
            if item is None or is_zero_shadow(item):
                out += [ir.lit(0)] * count
            elif isinstance(item, ir.InitList) and ft.is_record:
                sub = self.braced(item, ft)
                if sub is None:
                    return None
                out += sub
            elif _record_valued(item):
                sub = self.parts_of(item)
                if sub is None or len(sub) != count:
                    return None
                out += sub
            elif count == 1 and not ft.dims:
                out.append(self.expr(item))
            else:
                return None
        return out

    def decl(self, s: ir.Decl) -> list[ir.Stmt]:
        decls = self.leaf_decls(s.name)
        if s.type.ptr and s.init is not None:
            raise UnsupportedError("a pointer to records in vector mode", s.loc)
        values = self.values(s.init, len(decls)) if s.init is not None else [None] * len(decls)
        if s.init is None:
            values = [ir.lit(0)] * len(decls)
        out: list[ir.Stmt] = []
        for (name, ty), v in zip(decls, values):
            if not ty.dims:
                out.append(ir.Decl(name, ty, v, s.loc))
                continue
            out.append(ir.Decl(name, ty, ir.InitList((), ty), s.loc))  # an array field: zeros, then
            if not is_zero_shadow(v) and not (isinstance(v, ir.Lit) and ir.is_zero(v)):  # its copy
                target = ir.Var(name, ty)
                out += [ir.ExprStmt(ir.Assign("=", a, b, a.type), s.loc) for a, b in _elementwise(target, v)]
        return out


def split_parts(t: ir.Type, of: ir.Expr) -> list[ir.Expr]:
    """The parts a record shadow splits into in vector mode: ``shadow_parts``, but a field that
    is a one-dimensional array of floating numbers (``T a[9]``) stays one part, an array of
    vectors then, so that an element picked by a run-time index (``a[3 * r + c]``) is still
    one element of it."""
    if t.is_record and not t.dims:
        return [x for f in t.fields for x in split_parts(f.type, ir.Member(of, f.name, f.type.value()))]
    if _float_array(t):
        return [of]
    return shadow_parts(t, of)


def _float_array(t: ir.Type) -> bool:
    """A one-dimensional array of floating scalars (not of pointers, records or arrays)."""
    return len(t.dims) == 1 and t.kind == ir.BUILTIN and t.base in ir.FLOAT_BASES and not t.ptr


def _elementwise(target: ir.Expr, value: ir.Expr) -> list[tuple[ir.Expr, ir.Expr]]:
    """``target = value`` as pairs of scalars: an array leaf element by element."""
    n = target.type.dims[0] if target.type.dims else 0
    if not n:
        return [(target, value)]
    e = target.type.element()
    zero = is_zero_shadow(value) or (isinstance(value, ir.Lit) and ir.is_zero(value))
    return [
        (ir.Index(target, ir.lit(k, ir.INT), e), ir.lit(0) if zero else ir.Index(value, ir.lit(k, ir.INT), e))
        for k in range(n)
    ]


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
