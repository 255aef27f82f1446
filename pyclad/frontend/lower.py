"""Lowering libclang cursors to the IR.

Everything libclang-specific stops here.  A cursor kind this module does not
know is an UnsupportedError naming the kind and its location: skipping a
statement silently would give a wrong derivative.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
from dataclasses import dataclass, field

import clang.cindex as ci

from .. import ir
from ..ad import names
from ..errors import FunctionNotFoundError, Loc, NameClashError, UnsupportedError
from . import callees, containers, custom, effects, lambdas, literals, methods, pragmas, templates
from .methods import callee_at as _callee_at
from .methods import lambda_of as _lambda_of
from .parse import binary_op, unary_op
from .types import declared_length, enum_spelling, loc, lower_type, qualified_name, unsupported

K = ci.CursorKind
T = ci.TypeKind

# Lowering, the transforms and the emitter recurse once or twice per level of expression
# nesting: a product of 1000 factors is 1000 levels.  From Python 3.11 on, Python-to-Python
# calls do not use the C stack, so a higher limit is safe; deeper code is still an error
# with a location (see SourceIndex.function), never a crash.
if sys.version_info >= (3, 11) and sys.getrecursionlimit() < 20000:
    sys.setrecursionlimit(20000)

CUSTOM_NAMESPACES = (("pyclad", "custom_derivatives"), ("clad", "custom_derivatives"))


@dataclass
class SourceIndex:
    """The functions a translation unit defines in the user's file, by name."""

    tu: ci.TranslationUnit
    main_file: str
    definitions: dict[str, ci.Cursor] = field(default_factory=dict)
    declarations: dict[str, ci.Cursor] = field(default_factory=dict)
    custom: dict[str, ci.Cursor] = field(default_factory=dict)  # NAME_pushforward -> cursor
    overloads: dict[str, list[str]] = field(default_factory=dict)  # name -> its overloads' signature keys
    function_templates: dict[str, ci.Cursor] = field(default_factory=dict)  # name -> FUNCTION_TEMPLATE
    templates: templates.Templates | None = None  # instances made of them (frontend/templates.py)
    class_templates: set[str] = field(default_factory=set)  # struct and class templates of the file
    templates_overloaded: dict[str, tuple[Loc, Loc]] = field(default_factory=dict)  # name -> two definitions
    lowered: dict[str, ir.Function] = field(default_factory=dict)
    synthesized: dict[str, ir.Function] = field(default_factory=dict)  # lambdas' operator() functions
    checked: set[str] = field(default_factory=set)  # custom derivatives whose signature was checked
    macros: set[str] = field(default_factory=set)  # macros of the user's files (undefined after a module)
    records: set[str] = field(default_factory=set)  # structs and classes the user's file defines
    # The user's own headers (included with quotes or from include_dirs, not system headers):
    # their functions and records are the user's code, like the main file's.
    user_files: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls, tu: ci.TranslationUnit, main_file: str, text: str = "", args=(), user_files=()
    ) -> SourceIndex:
        idx = cls(tu, main_file, user_files=frozenset(user_files))
        entries: list[tuple[str, ci.Cursor]] = []
        idx._scan(tu.cursor, (), entries)
        idx._settle(entries)
        idx.templates = templates.Templates(text, main_file, list(args), qualified_name)
        idx.templates.templates = idx.function_templates
        idx.templates.overloaded = idx.templates_overloaded
        return idx

    def in_user_file(self, c: ci.Cursor) -> bool:
        """Declared in the main file or in one of the user's headers."""
        f = c.location.file
        return f is not None and (f.name == self.main_file or f.name in self.user_files)

    def _scan(self, cursor: ci.Cursor, ns: tuple[str, ...], entries: list) -> None:
        for c in cursor.get_children():
            if c.kind in (K.NAMESPACE, K.LINKAGE_SPEC):
                named = c.kind == K.NAMESPACE and c.spelling  # an anonymous namespace adds no name
                self._scan(c, ns + ((c.spelling,) if named else ()), entries)
                continue
            in_main = self.in_user_file(c)
            if c.kind in (K.STRUCT_DECL, K.CLASS_DECL) and in_main and c.is_definition():
                if c.spelling:
                    self.records.add("::".join(ns + (c.spelling,)))
                self._scan(c, ns + (c.spelling,), entries)  # its methods and nested records
                continue
            if c.kind in (K.CXX_METHOD, K.CONSTRUCTOR):
                if in_main and not c.is_default_method():
                    entries.append((callees.key(c), c))
                continue
            if c.kind == K.CLASS_TEMPLATE and in_main:
                self.class_templates.add("::".join(ns + (c.spelling,)))  # its instances: Point<double>
                continue
            if (
                c.kind == K.FUNCTION_TEMPLATE
                and in_main
                and cursor.kind != K.STRUCT_DECL
                and cursor.kind != K.CLASS_DECL
            ):
                name = "::".join(ns + (c.spelling,))
                known = self.function_templates.get(name)
                if known is not None and known.is_definition() and c.is_definition():
                    self.templates_overloaded.setdefault(name, (loc(known), loc(c)))
                if known is None or c.is_definition():
                    self.function_templates[name] = c
                continue
            if c.kind != K.FUNCTION_DECL:
                continue
            if in_main and templates.is_specialization(c):  # template <> double f<double>(...)
                entries.append((templates.key_of(c, qualified_name), c))
                continue
            target = _custom_target(ns)
            if target is not None:
                # clad's convention: the custom derivative of a::f is custom_derivatives::a::f_pullback.
                self.custom["::".join(target + (c.spelling,))] = c
                continue
            if not in_main:
                continue
            entries.append(("::".join(ns + (c.spelling,)), c))

    def _settle(self, entries: list[tuple[str, ci.Cursor]]) -> None:
        """Index the functions, methods and constructors of the user's file: by name, or, for
        a name declared with more than one parameter list, each overload by its signature key
        (``sq(double)``, ``Mat::operator[](int) const``): a function's identity is its signature."""
        signatures: dict[str, list[str]] = {}
        for key, c in entries:
            sig = callees.signature_key(c)
            if sig not in signatures.setdefault(key, []):
                signatures[key].append(sig)
        for key, sigs in signatures.items():
            if len(sigs) > 1 and "(" not in key:
                self.overloads[key] = sigs
        for key, c in entries:
            if key in self.overloads:
                key = callees.signature_key(c)
            if c.is_definition():
                self.definitions.setdefault(key, c)
            else:
                self.declarations.setdefault(key, c)

    def resolve(self, key: str) -> str:
        """The index key of a function as a user names it: ``sq`` when it is defined once,
        ``sq(double)`` or ``sq( double )`` for one overload (a unique function may be named by
        its signature too)."""
        if key not in self.definitions and self.templates is not None and self.templates.knows(key):
            return self._instance(key)
        if key in self.definitions or key in self.overloads or "(" not in key:
            return key
        sig = callees.normal_signature(key)
        if sig in self.definitions:
            return sig
        plain = callees.plain_name(sig)
        c = self.definitions.get(plain)
        if c is not None and callees.signature_key(c) == sig:
            return plain
        return key

    def _instance(self, key: str) -> str:
        """The key of the template instance ``key`` names, made (and indexed) on first use."""
        inst = self.templates.instantiate(key)
        self.definitions.setdefault(inst.key, inst.cursor)
        return inst.key

    def called_instance(self, ref: ci.Cursor) -> str:
        """The key of the template instance a call refers to, indexed on first use with the
        body clang instantiated for it (see frontend/templates.py)."""
        key = templates.key_of(ref, qualified_name)
        self.templates.check(templates.split_key(key)[0])
        definition = ref.get_definition()
        if definition is not None:
            self.definitions.setdefault(key, definition)
        return key

    def overload_error(self, key: str) -> FunctionNotFoundError:
        """A plain name used where it stands for several overloads: name one."""
        sigs = self.overloads[key]
        listed = ", ".join(f"'{s}'" for s in sigs)
        return FunctionNotFoundError(
            f"'{key}' is overloaded; name one overload by its signature: {listed}",
            loc(self.definitions.get(sigs[0]) or self.declarations[sigs[0]]),
        )

    def function(self, key: str) -> ir.Function | None:
        """The lowered IR of a function defined in the user's file, or None."""
        if key in self.lowered:
            return self.lowered[key]
        if key in self.overloads:
            raise self.overload_error(key)
        if key not in self.definitions and self.templates is not None and self.templates.knows(key):
            key = self._instance(key)
            if key in self.lowered:
                return self.lowered[key]
        cursor = self.definitions.get(key)
        if cursor is None:
            return None
        try:
            fn = Lowerer(self).function(cursor, key)
        except (RecursionError, ctypes.ArgumentError) as exc:
            if isinstance(exc, ctypes.ArgumentError) and "RecursionError" not in str(exc):
                raise
            raise UnsupportedError(f"'{key}' is nested too deeply to lower", loc(cursor)) from None
        self._check_stem(key, fn)
        self.lowered[key] = fn
        return fn

    def _check_stem(self, key: str, fn: ir.Function) -> None:
        """A method's derivatives are named after its stem (``Vec2::norm`` -> ``Vec2_norm_grad``):
        two callees with one stem would share derivatives."""
        if fn.name == key:
            return
        other = next(
            (k for k, f in self.lowered.items() if f.name == fn.name and k != key),
            fn.name if fn.name in self.definitions else None,
        )
        if other is not None:
            raise NameClashError(
                f"'{key}' and '{other}' would both name their derivatives after '{fn.name}' "
                f"({fn.name}_grad, ...); rename one of them",
                fn.loc,
            )

    def signature(self, key: str) -> ir.Function | None:
        """Name, parameters and return type of a defined function, its body not lowered: enough
        to call the function, even when its body holds a construct the transforms do not support."""
        if key in self.lowered:
            return self.lowered[key]
        if key not in self.definitions and self.templates is not None and self.templates.knows(key):
            key = self._instance(key)
        cursor = self.definitions.get(key)
        if cursor is None:
            return None
        return Lowerer(self).function(cursor, key, with_body=False)

    def custom_signature(self, name: str) -> ci.Cursor | None:
        return self.custom.get(name)


class Lowerer(methods.CalleeCalls):
    def __init__(self, index: SourceIndex):
        self.index = index
        self.this: ir.Var | None = None  # the receiver parameter inside a method or constructor
        self.owner = ""  # the IR name of the function being lowered (lambdas are named after it)
        self.closures: dict[int, lambdas.Closure] = {}  # lambda variables in scope, by declaration
        self.bound: dict[int, ir.Expr] = {}  # reference loop variables -> the element they name
        self.iterators: dict[int, ir.Expr] = {}  # iterator loop variables -> the element *it is
        self.used: set[str] | None = None  # identifiers of the function (for fresh names)
        # Reference locals to a scalar, by declaration: True when lowered as a pointer to the
        # lvalue they bind (each use is ``*r``), False when bound to a temporary (a copy).
        self.scalar_refs: dict[ci.Cursor, bool] = {}
        self.pragmas: dict[int, tuple[str, int]] = {}  # #pragma omp, by statement (frontend/pragmas.py)
        self.notes: list[str] = []  # what the derivatives' comments say about the source

    loc_of = staticmethod(loc)

    def fresh(self, prefix: str) -> str:
        """A local name the function does not use (for the index of a lowered range-for)."""
        if self.used is None:
            self.used = set()
        k = 0
        while f"{prefix}{k}" in self.used:
            k += 1
        self.used.add(f"{prefix}{k}")
        return f"{prefix}{k}"

    def bind(self, decl: ci.Cursor, e: ir.Expr) -> None:
        self.bound[decl.hash] = e

    def unbind(self, decl: ci.Cursor) -> None:
        del self.bound[decl.hash]

    # ------------------------------------------------------------------ declarations
    def function(self, cursor: ci.Cursor, key: str, with_body: bool = True) -> ir.Function:
        """A function's IR; a method's takes its object first (``_this``, a reference to the
        record, const for a const method), a constructor's builds and returns the record."""
        params = []
        if with_body:
            self.used = {t.spelling for t in cursor.get_tokens() if t.kind == ci.TokenKind.IDENTIFIER}
            self.pragmas = pragmas.omp_directives(cursor) if "omp" in self.used else {}
        body = None
        if cursor.type.is_function_variadic():
            raise unsupported("a variadic function", cursor)
        name = key if cursor.kind == K.FUNCTION_DECL and "operator" not in key else callees.stem(cursor)
        signature_keyed = cursor.kind == K.CXX_METHOD and callees.plain_name(key) != key
        if callees.plain_name(key) in self.index.overloads or signature_keyed:
            base = callees.plain_name(key) if cursor.kind == K.FUNCTION_DECL else callees.stem(cursor)
            if "operator" in base:
                base = callees.stem(cursor)
            name = names.overload_stem(base, *callees.overload_words(cursor))
        instance = templates.split_key(key) if "(" not in key else None
        if instance is not None:  # f<double> -> f_double, S::f<double> -> S_f_double
            base = instance[0] if cursor.kind == K.FUNCTION_DECL else callees.stem(cursor)
            name = names.instance_stem(base, instance[1])
        self.owner = name
        if cursor.kind in (K.CXX_METHOD, K.CONSTRUCTOR) and not cursor.is_static_method():
            self.this = methods.receiver(cursor, lower_type)
            if cursor.kind == K.CXX_METHOD:
                params.append(ir.Param(self.this.name, self.this.type, loc(cursor)))
        for c in cursor.get_children():
            if c.kind == K.PARM_DECL:
                params.append(ir.Param(c.spelling, self.param_type(c), loc(c), declared_length(c)))
            elif c.kind == K.COMPOUND_STMT and with_body:
                body = self.block(c)
        ret = lower_type(cursor.result_type, cursor)
        if cursor.kind == K.CXX_METHOD and self.this is not None and body is not None:
            ret, body = methods.chaining(self.this, ret, body)
        if cursor.kind == K.CONSTRUCTOR:
            ret = self.this.type.value()
            if with_body:
                body = methods.constructor_body(self, cursor, tuple(params), body or ir.Block(()))
        # The qualified name: derivatives of a::f and b::f are different functions (a::f_grad).
        comment = "\n".join(self.notes)  # the primal's comment: notes for its derivatives
        return ir.Function(name, ret, tuple(params), body or ir.Block(()), loc(cursor), comment)

    def param_type(self, c: ci.Cursor) -> ir.Type:
        if not c.spelling:
            raise unsupported("an unnamed parameter", c)
        t = lower_type(c.type, c)
        return t.decay() if t.dims else t

    # ------------------------------------------------------------------ statements
    def block(self, cursor: ci.Cursor) -> ir.Block:
        out: list[ir.Stmt] = []
        for c in cursor.get_children():
            out.extend(self.stmt(c))
        return ir.Block(tuple(out), loc(cursor))

    def one(self, cursor: ci.Cursor) -> ir.Stmt:
        stmts = self.stmt(cursor)
        if len(stmts) == 1:
            return stmts[0]
        return ir.Block(tuple(stmts), loc(cursor))

    def stmt(self, c: ci.Cursor) -> list[ir.Stmt]:
        k = c.kind
        L = loc(c)
        kids = list(c.get_children())
        if self.pragmas:
            pragmas.check(self, c, L)
        if k == K.COMPOUND_STMT:
            return [self.block(c)]
        if k == K.DECL_STMT:
            return [s for v in kids for s in self.decl(v)]
        if k == K.NULL_STMT:
            return []
        if k == K.RETURN_STMT:
            return [ir.Return(self.expr(kids[0]) if kids else None, L)]
        if k == K.IF_STMT:
            taken = templates.constexpr_branch(c, kids)
            if taken is not None:  # if constexpr: only the branch the condition selects
                return [self.one(taken)] if taken is not False else []
            if kids and not kids[0].kind.is_expression():
                raise unsupported("an if statement with an init-statement or condition variable", c)
            cond = self.expr(kids[0])
            other = self.one(kids[2]) if len(kids) > 2 else None
            return [ir.If(cond, self.one(kids[1]), other, L)]
        if k == K.WHILE_STMT:
            if not kids[0].kind.is_expression():
                raise unsupported("a while loop with a condition variable", c)
            return [ir.While(self.expr(kids[0]), self.one(kids[1]), L)]
        if k == K.DO_STMT:
            return [ir.DoWhile(self.one(kids[0]), self.expr(kids[1]), L)]
        if k == K.FOR_STMT:
            over = containers.iterator_for(self, c, kids, L)
            return [over if over is not None else self.for_stmt(c, kids)]
        if k == K.CXX_FOR_RANGE_STMT:
            return [containers.range_for(self, c, kids, L)]
        if k == K.BREAK_STMT:
            return [ir.Break(L)]
        if k == K.CONTINUE_STMT:
            return [ir.Continue(L)]
        if k == K.SWITCH_STMT:
            if len(kids) != 2 or not kids[0].kind.is_expression():
                raise unsupported("a switch with an init-statement", c)
            body = kids[1]
            stmts = self.stmt(body) if body.kind != K.COMPOUND_STMT else list(self.block(body).stmts)
            return [ir.Switch(self.expr(kids[0]), ir.Block(tuple(stmts), loc(body)), L)]
        if k == K.CASE_STMT:
            if len(kids) != 2:
                raise unsupported("a case range", c)
            return [ir.Case(self.expr(kids[0]), L), *self.stmt(kids[1])]
        if k == K.DEFAULT_STMT:
            return [ir.Default(L), *self.stmt(kids[0])]
        if k == K.GOTO_STMT or k == K.INDIRECT_GOTO_STMT:
            raise unsupported("goto", c)
        if k == K.LABEL_STMT:
            raise unsupported("a label (goto target)", c)
        if k in (K.CXX_TRY_STMT, K.CXX_CATCH_STMT):
            raise unsupported("a try block (exceptions)", c)
        if k in (K.ASM_STMT, K.MS_ASM_STMT):
            raise unsupported("inline assembly", c)
        if k == K.UNEXPOSED_STMT and len(kids) == 1 and _attributed(c):
            return self.stmt(kids[0])  # [[fallthrough]];  [[likely]] ...: the statement it marks
        if k.is_expression() and (kind := effects.effect_kind(c)) is not None:
            return effects.lower_effect(self, c, kind)
        if k.is_expression():
            moved = containers.algorithm_stmt(self, c, L)
            return moved if moved is not None else [ir.ExprStmt(self.expr(c), L)]
        raise unsupported(f"statement kind {k.name}", c)

    def decl(self, v: ci.Cursor) -> list[ir.Stmt]:
        if v.kind != K.VAR_DECL:
            raise unsupported(f"declaration kind {v.kind.name}", v)
        if v.storage_class == ci.StorageClass.STATIC:
            raise unsupported("a static local variable", v)
        lam = _lambda_of(v)
        if lam is not None:
            closure, copies = lambdas.define(self, lam, v.spelling)
            self.closures[v.hash] = closure
            return copies
        t = lower_type(v.type, v)
        exprs = [c for c in v.get_children() if c.kind.is_expression()]
        if t.ref and t.kind == ir.BUILTIN and not t.ptr and not t.dims and exprs:
            return [self.scalar_ref(v, t, self.expr(exprs[-1]))]
        if exprs and t.kind == ir.VECTOR:
            built = containers.range_decl(self, v.spelling, t, exprs[-1], loc(v))
            if built is not None:
                return built
        init = None
        if t.dims:
            if exprs and exprs[-1].kind in (K.INIT_LIST_EXPR,):
                init = self.expr(exprs[-1])
        elif exprs:
            init = self.expr(exprs[-1])
        return [ir.Decl(v.spelling, t, init, loc(v))]

    def scalar_ref(self, v: ci.Cursor, t: ir.Type, init: ir.Expr) -> ir.Decl:
        """``double& r = v[i]`` as ``double* r = &v[i]`` (and each use of ``r`` as ``*r``): a
        reference is a pointer that cannot be re-seated, which is what the transforms know.
        A const (or rvalue) reference bound to a temporary holds a copy of its value."""
        while isinstance(init, ir.Cast) and init.implicit and init.type.base == init.operand.type.base:
            init = init.operand
        lvalue = _is_lvalue(init)
        ptr = t.derived(1, (), t.const)
        choice = isinstance(init, ir.Cond) and all(_is_lvalue(x) for x in (init.then, init.other))
        self.scalar_refs[v] = lvalue or choice
        if choice:  # double& r = a > b ? a : b;  ->  double* r = a > b ? &a : &b;
            address = ir.Cond(
                init.cond, _address_of(init.then, ptr), _address_of(init.other, ptr), ptr, init.loc
            )
            return ir.Decl(v.spelling, ptr, address, loc(v))
        if not lvalue:
            if not t.const:  # a copy would not write through to what the reference names
                raise unsupported("a non-const reference bound to this expression", v)
            return ir.Decl(v.spelling, t.value(), init, loc(v))
        return ir.Decl(v.spelling, ptr, _address_of(init, ptr), loc(v))

    def for_stmt(self, c: ci.Cursor, kids: list[ci.Cursor]) -> ir.For:
        if (
            len(kids) == 4
            and (kids[0].kind == K.DECL_STMT or kids[0].kind.is_expression())
            and kids[1].kind.is_expression()
            and kids[2].kind.is_expression()
        ):
            # Every part present: libclang lists init, condition, step and body in that order
            # (no tokens needed, so a loop written by a macro, FOR(i, N), lowers too).
            init = self.stmt(kids[0])
            return ir.For(tuple(init), self.expr(kids[1]), self.expr(kids[2]), self.one(kids[3]), loc(c))
        # libclang omits absent parts; sort the children by where they sit
        # relative to the two semicolons of the for header.
        toks = list(c.get_tokens())
        start = c.extent.start
        if not toks or (toks[0].location.line, toks[0].location.column) != (start.line, start.column):
            raise unsupported("a for loop written by a macro with an empty init, condition or step", c)
        depth, semis, close = 0, [], None
        for t in toks[1:]:
            if t.spelling in "([{":
                depth += 1
            elif t.spelling in ")]}":
                depth -= 1
                if depth == 0:
                    close = t.extent.start.offset
                    break
            elif t.spelling == ";" and depth == 1:
                semis.append(t.extent.start.offset)
        if len(semis) != 2 or close is None:
            raise unsupported("a range-based for loop", c)
        init, cond, step, body = [], None, None, None
        for kid in kids:
            # The cursor's location, not its extent: the extent of an expression from a macro
            # (``i < N``, ``LIMIT(i)``) may start in the #define.
            off = kid.location.offset
            if off < semis[0]:
                init = self.stmt(kid)
            elif off < semis[1]:
                if not kid.kind.is_expression():
                    raise unsupported("a for loop with a condition variable", kid)
                cond = self.expr(kid)
            elif off < close:
                step = self.expr(kid)
            else:
                body = self.one(kid)
        return ir.For(tuple(init), cond, step, body or ir.Block(()), loc(c))

    # ------------------------------------------------------------------ expressions
    def expr(self, c: ci.Cursor) -> ir.Expr:
        k = c.kind
        L = loc(c)
        kids = list(c.get_children())
        if k == K.PAREN_EXPR:
            return self.expr(kids[0])
        if k == K.UNEXPOSED_EXPR:
            if len(kids) != 1:
                raise unsupported("this expression (a default argument or an implicit construct)", c)
            inner = self.expr(kids[0])
            if c.type.kind in (T.FUNCTIONPROTO, T.POINTER) and kids[0].type.kind == T.FUNCTIONPROTO:
                return inner
            if inner.type.dims and c.type.get_canonical().kind == T.POINTER:
                return inner  # array-to-pointer decay: indexing works on the array itself
            t = self.type_of(c)
            if _convertible(inner.type, t):
                return ir.Cast(inner, t, L, implicit=True)
            return inner
        if k == K.INTEGER_LITERAL or k == K.FLOATING_LITERAL:
            t = self.type_of(c)
            return ir.Lit(_known(literals.number_text(c, t.base), c), t, L)
        if k == K.CXX_BOOL_LITERAL_EXPR:
            return ir.Lit(_known(literals.bool_text(c), c), ir.BOOL, L)
        if k == K.CXX_NULL_PTR_LITERAL_EXPR:
            return ir.Lit("nullptr", ir.Type("void", 1), L)
        if k == K.CXX_UNARY_EXPR:  # sizeof / alignof: an integer constant
            t = ir.Type("unsigned long")
            return ir.Lit(_known(literals.constant_text(c, t.base, self.index.macros), c), t, L)
        if k == K.CHARACTER_LITERAL:
            return ir.Lit(_known(literals.char_text(c), c), self.type_of(c), L)
        if k == K.DECL_REF_EXPR:
            ref = c.referenced
            if ref is not None and ref.kind == K.ENUM_CONSTANT_DECL:
                enum = ref.semantic_parent
                if enum is not None and enum.is_scoped_enum():
                    return ir.Lit(f"{enum_spelling(enum)}::{ref.spelling}", lower_type(enum.type, c), L)
                return ir.Lit(ref.spelling, ir.INT, L)
            if (value := templates.parameter_value(c)) is not None:
                return ir.Lit(value, self.type_of(c).plain(), L)  # N of template <int N>
            if ref is not None and ref.kind == K.VAR_DECL and ref.hash in self.bound:
                return self.bound[ref.hash]
            if ref is not None and ref.hash in self.iterators:
                raise unsupported(f"a use of the iterator '{c.spelling}' other than *{c.spelling}", c)
            if ref is not None and ref.kind == K.VAR_DECL:
                if ref.hash in self.closures:
                    raise unsupported("a lambda used other than by calling it", c)
                is_global = (
                    ref.semantic_parent is None or ref.semantic_parent.kind not in callees.FUNCTION_LIKE
                )
                if ref in self.scalar_refs:
                    t = self.type_of(c).value()
                    if not self.scalar_refs[ref]:
                        return ir.Var(c.spelling, t, L)
                    return ir.Unary("*", ir.Var(c.spelling, t.derived(1, (), t.const), L), t, L)
                return ir.Var(c.spelling, self.type_of(c), L, is_global=is_global)
            if ref is not None and ref.kind == K.PARM_DECL:
                # The parameter's own (decayed) type: libclang types a use of `double x[3]`
                # as the array it was written as.
                return ir.Var(c.spelling, self.param_type(ref), L)
            raise unsupported(f"a reference to '{c.spelling}' ({ref.kind.name if ref else '?'})", c)
        if k == K.UNARY_OPERATOR:
            op = unary_op(c)
            if op is None:
                raise unsupported("this unary operator", c)
            sym, prefix = op
            if sym == "*" and (element := containers.dereferenced(self, c)) is not None:
                return element  # *it of std::array's pointer iterator
            if sym == "*" and (element := containers.selected(self, c, L)) is not None:
                return element  # *std::max_element(v.begin(), v.end())
            operand = self.expr(kids[0])
            if sym in ("++", "--"):
                return ir.Step(sym, prefix, operand, self.type_of(c), L)
            if sym == "*" and isinstance(operand, ir.Unary) and operand.op == "&":
                return operand.operand  # *this
            return ir.Unary(sym, operand, self.type_of(c), L)
        if k in (K.BINARY_OPERATOR, K.COMPOUND_ASSIGNMENT_OPERATOR):
            op = binary_op(c)
            if op is None:
                raise unsupported("this binary operator", c)
            lhs, rhs = self.expr(kids[0]), self.expr(kids[1])
            if op.endswith("=") and op not in ("==", "!=", "<=", ">="):
                return ir.Assign(op, lhs, rhs, self.type_of(c), L)
            return ir.Binary(op, lhs, rhs, self.type_of(c), L)
        if k == K.CONDITIONAL_OPERATOR:
            a, b, d = (self.expr(x) for x in kids)
            return ir.Cond(a, b, d, self.type_of(c), L)
        if k == K.ARRAY_SUBSCRIPT_EXPR:
            return ir.Index(self.expr(kids[0]), self.expr(kids[1]), self.type_of(c), L)
        if k in (K.CSTYLE_CAST_EXPR, K.CXX_STATIC_CAST_EXPR, K.CXX_FUNCTIONAL_CAST_EXPR):
            operand = [x for x in kids if x.kind.is_expression()][-1]
            inner, t = self.expr(operand), self.type_of(c)
            if (t.kind == ir.RECORD or inner.type.is_container) and inner.type.named() == t.named():
                return inner  # P(a), std::vector<double>(3): the constructor call itself
            return ir.Cast(inner, t, L)
        if k == K.INIT_LIST_EXPR:
            return ir.InitList(tuple(self.expr(x) for x in kids), self.type_of(c), L)
        if k == K.CALL_EXPR:
            return self.call(c, kids)
        if k == K.MEMBER_REF_EXPR:
            return self.member(c, kids)
        if k == K.LAMBDA_EXPR:
            raise unsupported("a lambda used other than by calling it", c)
        if k == K.CXX_THIS_EXPR:
            if self.this is None:
                raise unsupported("'this' outside a method", c)
            return methods.this_pointer(self.this, L)
        if k == K.CXX_THROW_EXPR:
            raise unsupported("a throw expression (exceptions)", c)
        if k == K.CXX_NEW_EXPR:
            return self.new_expr(c, kids)
        if k == K.CXX_DELETE_EXPR:
            return self.delete_expr(c, kids)
        raise unsupported(f"expression kind {k.name}", c)

    def new_expr(self, c: ci.Cursor, kids: list[ci.Cursor]) -> ir.Call:
        """``new T``, ``new T(x)``, ``new T()``, ``new T[n]``, ``new T[n]()``, ``new T[n]{...}``
        (see ir.NEW); placement new is refused (and ``new T[n][3]``, whose pointer-to-array
        type is)."""
        t, L = self.type_of(c), loc(c)
        kids = [k for k in kids if k.kind.is_expression()]  # not the TYPE_REF of ``new P[n]``
        toks = [x.spelling for x in c.get_tokens()]
        if not toks or toks[0] not in ("new", "::"):
            raise unsupported("a new-expression written by a macro", c)
        after = toks[toks.index("new") + 1 :] if "new" in toks else []
        if after[:1] == ["("]:
            raise unsupported("placement new", c)
        if t.ptr != 1 or t.dims:
            raise unsupported(f"new of type '{c.type.spelling}'", c)
        opener = next((x for x in after if x in ("[", "(", "{")), None)
        if opener == "[":
            if not kids:
                raise unsupported("new[] without a length", c)
            count = self.expr(kids[0])
            if len(kids) == 1:
                return ir.Call("new[]", (count,), t, L, kind=ir.NEW)
            init = kids[1]
            items = tuple(self.expr(x) for x in init.get_children()) if init.kind == K.INIT_LIST_EXPR else ()
            return ir.Call("new[]", (count, ir.InitList(items, t.element(), loc(init))), t, L, kind=ir.NEW)
        if not kids:
            return ir.Call("new", (), t, L, kind=ir.NEW)
        init = kids[0]
        if init.kind == K.INIT_LIST_EXPR:
            items = list(init.get_children())
            if len(items) > 1:
                raise unsupported("new with several initialisers", c)
            init = items[0] if items else None
        if init is None or (init.kind == K.UNEXPOSED_EXPR and not list(init.get_children())):
            return ir.Call("new", (ir.InitList((), t.element(), L),), t, L, kind=ir.NEW)  # new T()
        return ir.Call("new", (self.expr(init),), t, L, kind=ir.NEW)

    def delete_expr(self, c: ci.Cursor, kids: list[ci.Cursor]) -> ir.Call:
        toks = [x.spelling for x in c.get_tokens()]
        if "delete" not in toks:
            raise unsupported("a delete-expression written by a macro", c)
        at = toks.index("delete")
        array = toks[at + 1 : at + 2] == ["["]
        operand = self.expr(kids[-1])
        return ir.Call("delete[]" if array else "delete", (operand,), ir.VOID, loc(c), kind=ir.DELETE)

    def member(self, c: ci.Cursor, kids: list[ci.Cursor]) -> ir.Member:
        """``p.a`` and ``p->a`` (as ``(*p).a``): a data member of a record."""
        ref = c.referenced
        if ref is None or ref.kind != K.FIELD_DECL:
            raise unsupported(f"a use of the member '{c.spelling}' that is not a data member read", c)
        if not kids:
            if self.this is None:
                raise unsupported(f"the member '{c.spelling}' of 'this' outside a method", c)
            base: ir.Expr = self.this
        else:
            base = self.expr(kids[0])
        if base.type.is_pointer:
            base = methods.deref(base, loc(kids[0]) if kids else loc(c))
        if base.type.kind != ir.RECORD or base.type.ptr or base.type.dims:
            raise unsupported(f"member access on a value of type '{base.type.spell()}'", c)
        return ir.Member(base, c.spelling, self.type_of(c), loc(c))

    def type_of(self, c: ci.Cursor) -> ir.Type:
        return lower_type(c.type, c)

    def implicit_copy(self, c: ci.Cursor, ref, kids: list[ci.Cursor]) -> ir.Expr | None:
        """A record's implicit (or defaulted) copy or move: ``P r = q`` is ``q`` itself, and
        ``r = q`` an assignment of the whole record (field by field, to the transforms)."""
        if ref is None or not ref.is_default_method():
            return None
        if ref.kind == K.CONSTRUCTOR and (ref.is_copy_constructor() or ref.is_move_constructor()):
            return self.expr(kids[-1]) if kids else None
        if ref.kind == K.CXX_METHOD and ref.spelling == "operator=" and len(kids) == 3:
            target = self.expr(kids[0])
            return ir.Assign("=", target, self.expr(kids[2]), target.type.value(), loc(c))
        return None

    def call(self, c: ci.Cursor, kids: list[ci.Cursor]) -> ir.Expr:
        ref = c.referenced
        if ref is not None and ref.spelling == "operator*" and (element := containers.dereferenced(self, c)):
            return element  # *it of a loop over begin()/end()
        if (
            ref is not None
            and ref.spelling == "operator*"
            and (element := containers.selected(self, c, loc(c)))
        ):
            return element  # *std::max_element(v.begin(), v.end())
        if ref is not None and ref.kind == K.FUNCTION_DECL and containers.is_algorithm(ref):
            return containers.algorithm_value(self, c, ref, kids, loc(c))
        if ref is not None and ref.kind == K.CXX_METHOD and containers.is_container_member(ref):
            return containers.member_call(self, c, ref, kids, loc(c))
        if ref is not None and ref.kind == K.CONSTRUCTOR and self.type_of(c).is_container:
            return containers.constructor(self, c, kids, loc(c))
        copy = self.implicit_copy(c, ref, kids)
        if copy is not None:
            return copy
        if ref is not None and ref.kind == K.CONSTRUCTOR:
            return self.construct(c, kids, ref)
        if ref is not None and ref.kind == K.CXX_METHOD:
            return self.method_call(c, kids, ref)
        if ref is None or ref.kind != K.FUNCTION_DECL:
            raise unsupported("a call that is not to a plain function", c)
        if ref.spelling.startswith('operator""'):
            return self.user_literal(c, ref)
        at = _callee_at(kids, ref)
        listed = _listed_extremum(ref, [a for i, a in enumerate(kids) if i != at])
        if listed is not None:  # std::min({a, b, c}) as std::min(std::min(a, b), c)
            items = [self.expr(x) for x in listed]
            t = self.type_of(c)
            out = items[0]
            for x in items[1:]:
                out = ir.Call(ref.spelling, (out, x), t, loc(c), spelling=f"std::{ref.spelling}")
            return out
        args = tuple(self.expr(a) for i, a in enumerate(kids) if i != at)
        nparams = len(list(ref.get_arguments()))
        if len(args) != nparams:
            raise unsupported(f"a call to '{ref.spelling}' relying on default arguments", c)
        if ref.spelling in ("abs", "labs", "llabs") and any(
            isinstance(a, ir.Cast) and a.implicit and a.operand.type.is_float for a in args
        ):
            # Standard C++ resolves this to the integer abs (truncating), while some compilers
            # (cling among them) find a floating overload: the primal would not be what the
            # derivative describes.  Ask for an unambiguous spelling instead.
            raise UnsupportedError(
                f"'{ref.spelling}' of a floating value calls the integer {ref.spelling}(int) here; "
                "write std::abs (with <cmath>) or fabs",
                loc(c),
            )
        ns = qualified_name(ref)
        in_main = self.index.in_user_file(ref)
        qualified = "::".join(ns + (ref.spelling,))
        if in_main and templates.is_specialization(ref):
            key = spelling = self.index.called_instance(ref)  # the instance: f<double>
        elif in_main and _custom_target(ns) is None:
            key = spelling = qualified
            if qualified in self.index.overloads:
                key = callees.signature_key(ref)  # the overload the call resolves to
        else:
            # A library function (std::sin, ::sin, ...): looked up by its plain name, or by its
            # qualified one when the user gave a custom derivative for that (custom_derivatives::lib::g_*).
            given = self.index.custom
            key = (
                qualified
                if f"{qualified}_pullback" in given or f"{qualified}_pushforward" in given
                else ref.spelling
            )
            spelling = qualified if ns else "::" + ref.spelling
        self.check_custom(key, ref)
        return ir.Call(key, args, self.type_of(c), loc(c), spelling=spelling)

    def check_custom(self, key: str, ref: ci.Cursor) -> None:
        """A custom derivative of the callee must take what the transforms will pass."""
        for kind in ("pullback", "pushforward"):
            name = f"{key}_{kind}"
            c = self.index.custom.get(name)
            if c is not None and name not in self.index.checked:
                custom.check(kind, c, ref, lower_type)
                self.index.checked.add(name)

    def user_literal(self, c: ci.Cursor, ref: ci.Cursor) -> ir.Lit:
        """``1.5_k``: a constant, written as the user wrote it (its literal operator is applied
        once, by the compiler of the generated code)."""
        suffix = ref.spelling[len('operator""') :]
        own = literals.own_tokens(c)
        text = own[0] if own is not None and len(own) == 1 else next(iter(c.get_tokens()), None)
        text = text if isinstance(text, str) else (text.spelling if text is not None else "")
        if not text.endswith(suffix) or text == suffix:
            raise unsupported(f"this use of the literal operator '{ref.spelling}'", c)
        return ir.Lit(text, self.type_of(c), loc(c))


def is_extern_c(cursor: ci.Cursor) -> bool:
    """Declared inside ``extern "C" { ... }`` (or with ``extern "C"`` before it)."""
    parent = cursor.lexical_parent
    return parent is not None and parent.kind == K.LINKAGE_SPEC


def _custom_target(ns: tuple[str, ...]) -> tuple[str, ...] | None:
    """For a declaration in ``[...::]pyclad::custom_derivatives[::a::b]``, the namespace of
    the functions it is a derivative of (``("a", "b")``); None outside those namespaces."""
    for i in range(len(ns) - 1):
        if ns[i : i + 2] in CUSTOM_NAMESPACES:
            return ns[i + 2 :]
    return None


def _known(text: str | None, c: ci.Cursor) -> str:
    if not text:
        raise unsupported("a constant whose value libclang cannot evaluate", c)
    return text


def _listed_extremum(ref: ci.Cursor, args: list[ci.Cursor]) -> list[ci.Cursor] | None:
    """The items of ``std::min({a, b, c})`` / ``std::max({...})`` (an initializer_list of
    two or more values), None for any other call."""
    if ref.spelling not in ("min", "max") or qualified_name(ref)[:1] != ("std",) or len(args) != 1:
        return None
    items = containers.braced_items(args[0])
    return items if items is not None and len(items) >= 2 else None


def _attributed(c: ci.Cursor) -> bool:
    """A statement with standard attributes in front (libclang does not expose the kind)."""
    toks = [t.spelling for t in itertools.islice(c.get_tokens(), 2)]
    return toks == ["[", "["]


def _is_lvalue(e: ir.Expr) -> bool:
    return isinstance(e, (ir.Var, ir.Index, ir.Member)) or (isinstance(e, ir.Unary) and e.op == "*")


def _address_of(e: ir.Expr, ptr: ir.Type) -> ir.Expr:
    """``&e`` (``*p`` gives ``p``)."""
    if isinstance(e, ir.Unary) and e.op == "*":
        return e.operand
    return ir.Unary("&", e, ptr, e.loc)


def _convertible(src: ir.Type, dst: ir.Type) -> bool:
    """An implicit conversion worth keeping in the IR (between arithmetic types; a derived
    object converted to its base is the derived object, which C++ converts where it goes)."""
    if src.ptr or dst.ptr or src.dims or dst.dims or ir.RECORD in (src.kind, dst.kind):
        return False
    return src.base != dst.base and dst.base != "void"
