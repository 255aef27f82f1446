"""What an expression reads, field by field: the liveness tokens of the to-be-recorded
analysis (tbr.py) and what a callee reads of the arguments it is passed.

A token names a variable (``ps``) or a part of it: a field path below it (``ps.v`` for the
``v`` of any element of ``ps``: indices are not told apart), or its size (``f.#size``).
Two tokens overlap when one is the other or a part of it.  A read of ``ps[i].x`` is the
token ``ps.x``; so the restore of ``ps[i].v`` (token ``ps.v``) is not kept alive by it.

A call of a function whose body pyclad has (a pullback it generated, a user function) reads
of an argument passed by reference only what the body reads of that parameter, anywhere
in it (flow-insensitive, so an over-approximation): ``forces_pullback(ps, ...)`` reads
``ps.x`` and the size of ``ps``, not ``ps.v``.  An argument passed by value is read whole.
"""

from __future__ import annotations

from ... import ir
from ...ir import Var
from .. import containers

WHOLE = ""  # the relative path of a read of all of an argument
SIZE = "#size"
# Container members and runtime helpers that read (or change) only the size of the
# containers they are given, never an element's value.
SIZE_READERS = ("size", "empty", "pop_back", "clear", "reserve")
SIZE_HELPERS = ("::pyclad::restore", "::pyclad::unresize", "::pyclad::match_size")


def overlaps(a: str, b: str) -> bool:
    """One token is the other or a part of it."""
    if a == b:
        return True
    if len(a) < len(b):
        a, b = b, a
    return a.startswith(b) and a[len(b)] == "."


def join(token: str, rel: str) -> str:
    """The token of the part ``rel`` (a relative path, ``WHOLE`` for all) of ``token``."""
    if not token:
        return rel
    return f"{token}.{rel}" if rel else token


def member_path(e: ir.Expr) -> tuple[Var, list[str], list[ir.Expr]] | None:
    """``(variable, field names, index expressions)`` of an lvalue made of members, indices
    and dereferences of a variable (``ps[i].x``, ``(*_d_ps)[i].x``, ``s.in.a``); None for
    anything else.  A path that goes on through a pointer-typed field (``n.next->x``) stops
    being told apart there: what it points to is no part of the record."""
    names: list[str] = []
    indices: list[ir.Expr] = []
    while True:
        if isinstance(e, Var):
            return e, names, indices
        if isinstance(e, ir.Member):
            if names and e.type.ptr:
                names = []
            names.insert(0, e.name)
            e = e.operand
        elif isinstance(e, ir.Index):
            if isinstance(e.base, ir.Member) and e.base.type.ptr:
                names = []
            indices.append(e.index)
            e = e.base
        elif isinstance(e, ir.Cast) or isinstance(e, ir.Unary) and e.op == "*":
            if isinstance(e, ir.Unary) and isinstance(e.operand, ir.Member) and e.operand.type.ptr:
                names = []
            e = e.operand
        else:
            return None


class Reader:
    """Collects the tokens an expression reads.  ``content`` maps a variable to the name of
    the storage it shares (a pointer bound to an array reads the array); ``summary`` gives,
    for a callee's name, what it reads of each parameter (see ``param_reads``), or None."""

    def __init__(self, content, summary=None):
        self.content, self.summary = content, summary

    def reads(self, e: ir.Expr, out: set[str]) -> None:
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, Var):
                out.add(self.content(n.name))
                if n.type.ptr:
                    out.add(n.name + "@")
                continue
            if isinstance(n, ir.Member):
                path = member_path(n)
                if path is not None:
                    self._path(path, WHOLE, out, stack)
                    continue
            if containers.is_member(n) and n.spelling in SIZE_READERS and len(n.args) == 1:
                path = member_path(n.args[0])
                if path is not None:
                    self._path(path, SIZE, out, stack)
                    continue
            if isinstance(n, ir.Call) and n.callee in SIZE_HELPERS:
                self._sizes(n, out, stack)
                continue
            if isinstance(n, ir.Call) and self.summary is not None and self._call(n, out, stack):
                continue
            stack.extend(c for c in ir.children(n) if isinstance(c, ir.Expr))

    def _path(self, path, rel: str, out: set[str], stack: list) -> None:
        var, names, indices = path
        out.add(join(self.content(var.name), join(".".join(names), rel)))
        if var.type.ptr:
            out.add(var.name + "@")
        stack.extend(indices)

    def _sizes(self, c: ir.Call, out: set[str], stack: list) -> None:
        for a in c.args:
            path = member_path(a) if a.type.is_container else None
            if path is None:
                stack.append(a)
            else:
                self._path(path, SIZE, out, stack)

    def _call(self, c: ir.Call, out: set[str], stack: list) -> bool:
        """The reads of a call of a function with a summary; False if it has none."""
        per_param = self.summary(c.callee)
        if per_param is None or len(per_param) != len(c.args):
            return False
        for a, rels in zip(c.args, per_param):
            inner = a.operand if isinstance(a, ir.Unary) and a.op == "&" else a
            path = member_path(inner) if rels is not None else None
            if path is None:
                stack.append(a)
                continue
            for rel in rels:
                self._path(path, rel, out, stack)
            if not rels:
                stack.extend(path[2])  # the indices of the argument are evaluated all the same
        return True


def param_reads(program, name: str) -> tuple[frozenset[str] | None, ...] | None:
    """What the function ``name`` reads of each parameter, anywhere in its body: the set of
    relative paths (``WHOLE`` for all of it) for a pointer or reference parameter, None for
    one passed by value (its copy reads all of the argument).  None when pyclad has no
    finished body for ``name``: only the functions it generated have one (a pullback still
    being generated, a user function and a library function have none)."""
    cache = program.param_reads
    if name in cache:
        return cache[name]
    fn = program.generated.get(name)
    if fn is None or name in program.pending:
        return None
    cache[name] = None  # a recursive call reads all while its summary is being made
    try:
        groups = _pointer_groups(fn)
    except _Ambiguous:
        return None
    reader = Reader(lambda v: groups.get(v, v), lambda callee: param_reads(program, callee))
    tokens: set[str] = set()
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Stmt):
            for c in ir.children(n):
                if isinstance(c, ir.Expr):
                    reader.reads(c, tokens)
    out = []
    for p in fn.params:
        if not (p.type.ptr or p.type.ref):
            out.append(None)
            continue
        root = groups.get(p.name, p.name)
        rels = set()
        for t in tokens:
            if t == root:
                rels.add(WHOLE)
            elif t.startswith(root + "."):
                rels.add(t[len(root) + 1 :])
        out.append(frozenset({WHOLE}) if WHOLE in rels else frozenset(rels))
    cache[name] = tuple(out)
    return cache[name]


def _pointer_groups(fn: ir.Function) -> dict[str, str]:
    """Each local pointer (or reference) bound into a parameter's storage (``double* b = a +
    1``), mapped to that parameter: what is read through it is read of the parameter.  A
    pointer bound to two parameters cannot be mapped to one: such a function gets no summary."""
    params = {p.name for p in fn.params}
    out: dict[str, str] = {}
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Decl) and (n.type.ptr or n.type.ref) and n.init is not None:
            name, value = n.name, n.init
        elif isinstance(n, ir.Assign) and isinstance(n.target, Var) and n.target.type.ptr:
            name, value = n.target.name, n.value
        else:
            continue
        roots = {v.name for v in ir.walk(value) if isinstance(v, Var)}
        for r in roots:
            r = out.get(r, r)
            if r in params or r in out.values():
                if out.get(name, r) != r:
                    raise _Ambiguous
                out[name] = r
    return out


class _Ambiguous(Exception):
    pass
