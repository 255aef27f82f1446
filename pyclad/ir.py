"""The intermediate representation the transforms work on.

Typed expressions and statements, nothing else: no libclang objects, no C++
text.  Nodes are immutable dataclasses; transforms build new trees.  The small
builder functions at the end fold the constants 0 and 1 so that derivative
code carries no dead arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import Loc, UnsupportedError

FLOAT_BASES = ("float", "double", "long double")
# Built-in integral types (bool and the character types included): their values carry no
# derivative.
INTEGRAL_BASES = (
    "bool",
    "char",
    "signed char",
    "unsigned char",
    "short",
    "unsigned short",
    "int",
    "unsigned int",
    "long",
    "unsigned long",
    "long long",
    "unsigned long long",
)
# Built-in arithmetic types; any other base (an enum class) is value-initialised with ``{}``.
ARITHMETIC_BASES = FLOAT_BASES + INTEGRAL_BASES


# What the innermost (named) part of a type is.
BUILTIN = "builtin"  # arithmetic types, void, and scoped enums (their spelling in ``base``)
RECORD = "record"  # a struct or class of the user's code: its fields in ``Type.fields``
VECTOR = "vector"  # std::vector<T>: T in ``Type.args``
STD_ARRAY = "std_array"  # std::array<T, N>: T in ``Type.args``, N in ``Type.size``
CONTAINERS = (VECTOR, STD_ARRAY)


@dataclass(frozen=True)
class Field:
    """A data member of a record.  ``private``: declared private or protected, so generated
    code (free functions) reaches it through an accessor (pyclad/access.py)."""

    name: str
    type: Type
    private: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Type:
    """A C++ type: its innermost named type, then pointer levels, array dims, const and
    reference.

    The named part is ``base`` (its C++ spelling: ``double``, ``Params``,
    ``std::vector<double>``) with its ``kind``: a builtin, a record (``fields``, in
    declaration order), or a standard container (element type ``args[0]``; ``size`` for
    ``std::array``).  Records are compared by name, as C++ does: ``fields`` takes no part
    in equality, so a record met again inside its own definition (``Node* next``), which
    is lowered without fields, is still the same type.
    """

    base: str
    ptr: int = 0
    dims: tuple[int, ...] = ()
    const: bool = False  # const of the innermost value (``const double*``, ``const double&``)
    ref: bool = False
    kind: str = BUILTIN
    args: tuple[Type, ...] = ()
    size: int | None = None
    fields: tuple[Field, ...] = field(default=(), compare=False, repr=False)
    # A record whose default construction sets fields (default member initialisers, or a
    # default constructor of the user's): ``{}`` does not zero it.  ``aggregate``: it can be
    # built from a list of its fields' values.
    presets: bool = field(default=False, compare=False, repr=False)
    aggregate: bool = field(default=True, compare=False, repr=False)
    # A record without a default constructor (``P(double a)`` only): no zero shadow can be
    # declared; ``defined_at`` locates the record for the error saying so.
    constructible: bool = field(default=True, compare=False, repr=False)
    defined_at: Loc | None = field(default=None, compare=False, repr=False)
    # A derived class: its base classes, in order; ``fields`` starts with theirs (flattened).
    bases: tuple[Type, ...] = field(default=(), compare=False, repr=False)
    # A record met again inside its own definition (``Node* next``), named without its
    # fields: whether those hold floating numbers (what ``carries_float`` reads off fields).
    recursive_floats: bool = field(default=False, compare=False, repr=False)

    # ---------------------------------------------------------------- what it is
    @property
    def is_float(self) -> bool:
        """A floating scalar (possibly a reference to one): the values that carry derivatives."""
        return self.base in FLOAT_BASES and self.ptr == 0 and not self.dims

    @property
    def holds_float(self) -> bool:
        """Floating scalar, or pointer/array/reference to floating storage, a standard
        container of floating elements (nested containers included) among it (records: see
        ``carries_float``)."""
        if self.kind in CONTAINERS:
            return self.args[0].holds_float
        return self.base in FLOAT_BASES

    @property
    def carries_float(self) -> bool:
        """Its values hold floating numbers somewhere: a floating type, a record with such a
        field (nested records included), a container of such elements, or a pointer, array
        or reference to any of those."""
        if self.kind == RECORD:
            return self.recursive_floats or any(f.type.carries_float for f in self.fields)
        if self.kind in CONTAINERS:
            return self.args[0].carries_float
        return self.base in FLOAT_BASES

    @property
    def is_record(self) -> bool:
        """A record value (or a reference to one), not a pointer or array of records."""
        return self.kind == RECORD and self.ptr == 0 and not self.dims

    @property
    def is_container(self) -> bool:
        """A std::vector / std::array value (or a reference to one)."""
        return self.kind in CONTAINERS and self.ptr == 0 and not self.dims

    @property
    def indexable(self) -> bool:
        """Its elements are values of their own (a pointer, an array or a standard container):
        derivatives are taken element by element, ``x[i]``."""
        return bool(self.ptr or self.dims) or self.is_container

    @property
    def is_pointer(self) -> bool:
        return self.ptr > 0 and not self.dims

    @property
    def is_array(self) -> bool:
        return bool(self.dims)

    @property
    def is_void(self) -> bool:
        return self.base == "void" and self.ptr == 0

    @property
    def is_integral(self) -> bool:
        return (
            self.kind == BUILTIN
            and not self.holds_float
            and self.ptr == 0
            and not self.dims
            and self.base != "void"
        )

    def field_named(self, name: str) -> Field | None:
        """The data member ``name`` of a record type."""
        return next((f for f in self.fields if f.name == name), None)

    # ---------------------------------------------------------------- related types
    def named(self) -> Type:
        """The innermost named type alone: no pointer, array, const or reference."""
        return self.derived()

    def derived(
        self, ptr: int = 0, dims: tuple[int, ...] = (), const: bool = False, ref: bool = False
    ) -> Type:
        """A type built on the same named type with the given declarators (``double`` ->
        ``double*``; a record keeps its fields, a container its element type)."""
        return replace(self, ptr=ptr, dims=dims, const=const, ref=ref)

    def value(self) -> Type:
        """The type without reference."""
        return replace(self, ref=False) if self.ref else self

    def plain(self) -> Type:
        """The type without const and reference (how adjoints and temporaries are declared)."""
        return self.derived(self.ptr, self.dims) if self.const or self.ref else self

    def element(self) -> Type:
        """The type of ``p[i]`` for a pointer, array or standard container ``p``."""
        if self.dims:
            return replace(self, dims=self.dims[1:], ref=False)
        if self.ptr == 0 and self.kind in CONTAINERS:
            inner = self.args[0]
            return replace(inner, const=inner.const or self.const, ref=False)
        return replace(self, ptr=self.ptr - 1, ref=False)

    def pointer_to(self) -> Type:
        return replace(self, ptr=self.ptr + 1, ref=False)

    def decay(self) -> Type:
        if self.dims:
            return replace(self, ptr=self.ptr + 1, dims=self.dims[1:], ref=False)
        return self.value()

    def spell(self, name: str = "") -> str:
        """C++ declaration of ``name`` with this type."""
        base = ("const " if self.const else "") + self.base
        stars = "*" * self.ptr
        amp = "&" if self.ref else ""
        dims = "".join(f"[{d}]" for d in self.dims)
        decl = f"{base}{' ' if stars or amp or name else ''}{stars}{amp}{name}{dims}"
        return decl.rstrip()


def vector_of(element: Type) -> Type:
    """``std::vector<element>``."""
    return Type(f"::std::vector<{element.spell()}>", kind=VECTOR, args=(element,))


def tape_of(element: Type) -> Type:
    """``pyclad::tape<element>`` (the runtime's stack of saved values), its element kept."""
    return Type(f"::pyclad::tape<{element.spell()}>", args=(element,))


def std_array_of(element: Type, n: int) -> Type:
    """``std::array<element, n>``."""
    return Type(f"::std::array<{element.spell()}, {n}>", kind=STD_ARRAY, args=(element,), size=n)


DOUBLE = Type("double")
INT = Type("int")
BOOL = Type("bool")
VOID = Type("void")
AUTO = Type("auto")


# ----------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    pass


@dataclass(frozen=True)
class Lit(Expr):
    text: str
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Var(Expr):
    name: str
    type: Type
    loc: Loc | None = field(default=None, compare=False)
    is_global: bool = False


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # - + ! ~ * (deref) & (address-of)
    operand: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # + - * / % < > <= >= == != && || & | ^ << >> ,
    lhs: Expr
    rhs: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Assign(Expr):
    op: str  # = += -= *= /= %= ...
    target: Expr
    value: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Step(Expr):
    """``++x``, ``x++``, ``--x``, ``x--``."""

    op: str  # ++ or --
    prefix: bool
    target: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Cond(Expr):
    cond: Expr
    then: Expr
    other: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


# What a call calls (``Call.kind``).  One model for every callee: the receiver of a method
# (the object, as an lvalue) is its first argument, as ``this`` is the first parameter of
# the method's IR function; a constructor call builds a value of its record type; an
# operator call is the call of ``operator+`` (a free function or a method); a lambda or
# functor call is the method call of its record's ``operator()``.
FUNCTION = "function"
METHOD = "method"
CONSTRUCTOR = "constructor"
# Dynamic memory, as calls of their own kind (the transforms see them through ad/memory.py).
# ``new`` (callee "new"): ``new T`` (no args), ``new T(x)`` (args ``(x,)``), ``new T()`` (args
# ``(InitList(),)``); ``new T[n]`` (callee "new[]"): args ``(n,)``, or ``(n, InitList(...))``
# for ``new T[n]()`` / ``new T[n]{a, b}``.  The call's type is ``T*``.  ``delete p`` /
# ``delete[] p`` (callee "delete" / "delete[]", args ``(p,)``) are of kind DELETE.
NEW = "new"
DELETE = "delete"
# A statement that carries no derivative (``assert``, ``printf``, ``std::cout << ...``, ``throw``;
# see frontend/effects.py): ``spelling`` is the statement's text with a NUL character where
# each argument goes (the values it reads, as IR).  The call's type is void.
EFFECT = "effect"


@dataclass(frozen=True)
class Call(Expr):
    """A call.  ``callee`` is the key used to look the function up (``sin``, ``g``,
    ``ns::g``, ``Vec2::norm``); ``spelling`` is what the emitter writes; ``kind`` says how
    (see FUNCTION, METHOD, CONSTRUCTOR above)."""

    callee: str
    args: tuple[Expr, ...]
    type: Type
    loc: Loc | None = field(default=None, compare=False)
    spelling: str = ""
    kind: str = FUNCTION
    # A private or protected method: the type of a pointer to it (``double (S::*)(double)
    # const``, ``double (*)(double)`` for a static one), for generated code to reach it
    # through an accessor (pyclad/access.py).
    private: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return self.spelling or self.callee


def is_raw_construction(e: Expr) -> bool:
    """The object a constructor's IR function starts from (``P _this = P(args)``, callee
    ""): built by the constructor itself, whose field assignments follow in the IR, so the
    object carries no derivative of its own."""
    return isinstance(e, Call) and e.kind == CONSTRUCTOR and not e.callee


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    index: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Cast(Expr):
    """A conversion; ``implicit`` ones are not written out."""

    operand: Expr
    type: Type
    loc: Loc | None = field(default=None, compare=False)
    implicit: bool = False


@dataclass(frozen=True)
class Member(Expr):
    operand: Expr
    name: str
    type: Type
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class InitList(Expr):
    items: tuple[Expr, ...]
    type: Type
    loc: Loc | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Stmt:
    pass


@dataclass(frozen=True)
class Decl(Stmt):
    name: str
    type: Type
    init: Expr | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Block(Stmt):
    stmts: tuple[Stmt, ...]
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class For(Stmt):
    init: tuple[Stmt, ...]
    cond: Expr | None
    step: Expr | None
    body: Stmt
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class While(Stmt):
    cond: Expr
    body: Stmt
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DoWhile(Stmt):
    body: Stmt
    cond: Expr
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Break(Stmt):
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Continue(Stmt):
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Switch(Stmt):
    """``switch (cond) body``; ``body`` is a Block holding Case / Default labels among its statements."""

    cond: Expr
    body: Block
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Case(Stmt):
    value: Expr
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Default(Stmt):
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    loc: Loc | None = field(default=None, compare=False)
    extent: int | None = field(default=None, compare=False)  # ``double a[3]``: 3 (the type decays)


@dataclass(frozen=True)
class Function:
    name: str
    ret: Type
    params: tuple[Param, ...]
    body: Block
    loc: Loc | None = field(default=None, compare=False)
    comment: str = ""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


# ----------------------------------------------------------------------------- traversal


_CHILD_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _child_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(field, holds a tuple) for each field of a node class that may hold sub-nodes, read
    from the annotations once per class (``children`` is the hottest function of every pass)."""
    out = []
    for f in cls.__dataclass_fields__.values():
        ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if f.name in ("type", "loc") or not any(k in ann for k in ("Expr", "Stmt", "Block")):
            continue
        out.append((f.name, ann.startswith("tuple")))
    return tuple(out)


def children(node: Expr | Stmt) -> list:
    """Direct sub-expressions and sub-statements, in evaluation/source order."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = _CHILD_FIELDS[type(node)] = _child_fields(type(node))
    out = []
    for f, many in fields:
        v = getattr(node, f)
        if many:
            out.extend(v)
        elif v is not None:
            out.append(v)
    return out


def walk(node):
    """Pre-order iteration over a node and everything below it."""
    stack = [node]
    pop, push, fields_of = stack.pop, stack.append, _CHILD_FIELDS.get
    while stack:
        n = pop()
        yield n
        fields = fields_of(type(n))
        if fields is None:
            fields = _CHILD_FIELDS[type(n)] = _child_fields(type(n))
        for f, many in reversed(fields):
            v = getattr(n, f)
            if many:
                stack.extend(reversed(v))
            elif v is not None:
                push(v)


def var_names(node, out: set[str] | None = None) -> set[str]:
    """The names of every variable in ``node`` (added to ``out`` if given).  The same nodes
    as ``walk`` visits, without a generator: the passes that read every name of a whole
    generated function are the largest walks of a transform."""
    out = set() if out is None else out
    stack = [node]
    pop, push, extend, fields_of = stack.pop, stack.append, stack.extend, _CHILD_FIELDS.get
    while stack:
        n = pop()
        if isinstance(n, Var):
            out.add(n.name)
            continue
        fields = fields_of(type(n))
        if fields is None:
            fields = _CHILD_FIELDS[type(n)] = _child_fields(type(n))
        for f, many in fields:
            v = getattr(n, f)
            if many:
                extend(v)
            elif v is not None:
                push(v)
    return out


def root_var(e: Expr) -> Var | None:
    """The variable an lvalue expression stores into (``a[i][j]`` -> ``a``, ``*p`` -> ``p``,
    ``q->b`` and ``s.in.a`` -> ``q`` and ``s``, ``v.data()[i]`` -> ``v``)."""
    while True:
        if isinstance(e, Var):
            return e
        if isinstance(e, Index):
            e = e.base
        elif (
            isinstance(e, Call) and e.kind == METHOD and e.spelling == "data" and e.args[0].type.is_container
        ):
            e = e.args[0]
        elif isinstance(e, (Member, Cast)) or isinstance(e, Unary) and e.op == "*":
            e = e.operand
        elif isinstance(e, Binary) and e.op in "+-" and e.lhs.type.ptr:
            e = e.lhs
        else:
            return None


def is_module_call(c: Call) -> bool:
    """A call to one of the module's own functions (user or generated), written with its key:
    library calls are spelled differently (``::sin``, ``std::sin``), runtime helpers from ``::``;
    methods and constructors are named by their receiver or type.  An overload's key is its
    signature (``sq(double)``) and its spelling its name; a template instance's is ``f<double>``."""
    name = c.spelling or c.callee
    return (
        c.kind == FUNCTION
        and c.spelling in ("", c.callee, c.callee.split("(")[0], c.callee.split("<")[0])
        and not name.startswith("::")
        and all(ch.isalnum() or ch in "_:<>, " for ch in name)
    )


def is_null(e: Expr) -> bool:
    """A null pointer constant (a pointer set to it has a null shadow pointer too)."""
    return isinstance(e, Lit) and e.text in ("nullptr", "0", "NULL")


def has_side_effects(e: Expr) -> bool:
    return any(isinstance(n, (Assign, Step, Call)) for n in walk(e))


def is_atomic(e: Expr) -> bool:
    """Cheap to repeat: a literal, a variable, or a constant index into a variable."""
    if isinstance(e, (Lit, Var)):
        return True
    if isinstance(e, Unary) and e.op in ("-", "*") and isinstance(e.operand, (Lit, Var)):
        return True
    if isinstance(e, Cast) and e.implicit:
        return is_atomic(e.operand)
    if isinstance(e, Index):
        return isinstance(e.index, Lit) and is_atomic(e.base)
    return isinstance(e, Member) and isinstance(e.operand, Var)


# ----------------------------------------------------------------------------- builders


def lit(value: float | str, type: Type = DOUBLE) -> Lit:
    return Lit(str(value), type)


def is_zero(e: Expr | None) -> bool:
    return e is None or (isinstance(e, Lit) and _num(e.text) == 0)


def is_one(e: Expr) -> bool:
    return isinstance(e, Lit) and _num(e.text) == 1


def _num(text: str) -> float | None:
    t = text.rstrip("fFlLuU")
    try:
        return float(int(t, 0)) if t.isdigit() or t.startswith("0x") else float(t)
    except ValueError:
        return None


def _ftype(*es: Expr) -> Type:
    for e in es:
        if e.type.is_float:
            return e.type.value()
    return DOUBLE


def _fold(op: str, a: Expr, b: Expr) -> Lit | None:
    """``a op b`` of two plain numeric literals (no suffix), as one literal."""
    if not (isinstance(a, Lit) and isinstance(b, Lit)):
        return None
    x, y = _num(a.text), _num(b.text)
    if x is None or y is None or a.text[-1:].isalpha() or b.text[-1:].isalpha():
        return None
    if a.text.isdigit() and b.text.isdigit():
        v = int(a.text) + int(b.text) if op == "+" else int(a.text) - int(b.text)
        return Lit(str(v), a.type) if v >= 0 else None
    v = x + y if op == "+" else x - y
    return Lit(repr(v), _ftype(a, b)) if v >= 0 and "e" not in repr(v) else None


def neg(a: Expr) -> Expr:
    if is_zero(a):
        return lit(0)
    if isinstance(a, Unary) and a.op == "-":
        return a.operand
    return Unary("-", a, a.type.value())


def add(a: Expr, b: Expr) -> Expr:
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if (c := _fold("+", a, b)) is not None:
        return c
    if isinstance(b, Unary) and b.op == "-":
        return Binary("-", a, b.operand, _ftype(a, b))
    return Binary("+", a, b, _ftype(a, b))


def sub(a: Expr, b: Expr) -> Expr:
    if is_zero(b):
        return a
    if is_zero(a):
        return neg(b)
    if (c := _fold("-", a, b)) is not None:
        return c
    if isinstance(b, Unary) and b.op == "-":
        return Binary("+", a, b.operand, _ftype(a, b))
    return Binary("-", a, b, _ftype(a, b))


def mul(a: Expr, b: Expr) -> Expr:
    if is_zero(a) or is_zero(b):
        return lit(0)
    if is_one(a):
        return b
    if is_one(b):
        return a
    if isinstance(a, Unary) and a.op == "-":
        return neg(mul(a.operand, b))
    if isinstance(b, Unary) and b.op == "-":
        return neg(mul(a, b.operand))
    return Binary("*", a, b, _ftype(a, b))


def div(a: Expr, b: Expr) -> Expr:
    if is_zero(a):
        return lit(0)
    if is_one(b):
        return a
    if isinstance(a, Unary) and a.op == "-":
        return neg(div(a.operand, b))
    if isinstance(a, Lit) and a.type.is_float and a.text.isdigit() and not _as_written(b).type.is_float:
        a = Lit(a.text + ".0", a.type)  # a seed of 1 over an int: ``1 / n`` would divide integers
    return Binary("/", a, b, _ftype(a, b))


def _as_written(e: Expr) -> Expr:
    """``e`` as the emitted C++ spells it: implicit conversions are not printed."""
    while isinstance(e, Cast) and e.implicit:
        e = e.operand
    return e


def call(name: str, *args: Expr, type: Type | None = None) -> Call:
    return Call(name, tuple(args), type or _ftype(*args), spelling=f"::std::{name}")


def total(terms: list[Expr]) -> Expr:
    out: Expr = lit(0)
    for t in terms:
        out = add(out, t)
    return out


def block(*stmts: Stmt) -> Block:
    """A block with nested plain blocks of generated code flattened where that is safe."""
    return Block(tuple(stmts))


def rebuild(node, fn):
    """Bottom-up rewrite: ``fn`` sees each node after its children were rebuilt."""
    changes = {}
    for f in node.__dataclass_fields__:
        if f in ("type", "loc"):
            continue
        v = getattr(node, f)
        if isinstance(v, (Expr, Stmt)):
            nv = rebuild(v, fn)
            if nv is not v:
                changes[f] = nv
        elif isinstance(v, tuple) and any(isinstance(x, (Expr, Stmt)) for x in v):
            nt = tuple(rebuild(x, fn) if isinstance(x, (Expr, Stmt)) else x for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changes[f] = nt
    if changes:
        node = replace(node, **changes)
    return fn(node)


def rename(node, mapping: dict[str, str]):
    """``node`` with variables renamed (declarations included)."""
    if not mapping:
        return node

    def f(n):
        if isinstance(n, Var) and n.name in mapping:
            return replace(n, name=mapping[n.name])
        if isinstance(n, Decl) and n.name in mapping:
            return replace(n, name=mapping[n.name])
        return n

    return rebuild(node, f)


def flat_initialiser(t: Type, value: InitList, loc) -> InitList:
    """The initialiser list of a derived class (``{{x, v}, q}``: one item per base class,
    then its own fields) as one item per field of its flattened record."""
    items = list(value.items)
    out: list[Expr] = []
    for b in t.bases:
        if not items:
            break
        item = items.pop(0)
        if isinstance(item, InitList):
            item = flat_initialiser(b, item, loc) if b.bases else item
            if len(item.items) != len(b.fields):
                raise UnsupportedError("a base-class initialiser that leaves fields out", item.loc or loc)
            out += item.items
        elif has_side_effects(item) or not item.type.is_record:
            raise UnsupportedError("this base-class initialiser", item.loc or loc)
        else:
            out += [Member(item, f.name, f.type.value(), item.loc) for f in b.fields]
    return InitList(tuple(out + items), value.type, value.loc)
