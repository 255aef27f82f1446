"""``NAME_reverse_forw``: a callee that overwrites its caller's memory, run by the caller's
forward sweep, saving each value on an undo log just before it overwrites it.

A pullback re-runs its callee on the memory the call started from.  When the callee writes
through a pointer, what it overwrites has no known extent, and saving the whole array at a
declared size costs 3-15x on real code.  So the forward sweep calls this variant instead:
the primal's statements, each store into the caller's memory (through a pointer or
non-const reference parameter, or a local pointer into one) preceded by
``::pyclad::save(_log, target)``, and each nested call that writes the caller's memory
calling that callee's own ``_reverse_forw``.  The caller marks the log before the call; its
reverse sweep undoes the call's stores (``::pyclad::undo``) just before the pullback.  What
the callee writes into its own locals and buffers is never logged.

The conventions for a call in a gradient, side by side:

- a callee that writes nothing of its caller's and returns a number (split.py): the forward
  sweep calls ``NAME_forw`` (the callee's forward sweep: value returned, what its reverse
  sweep reads kept on per-thread tapes and the stash), the reverse sweep ``NAME_rev`` (the
  reverse sweep alone, same arguments plus ``_d_y`` and the adjoints).  The callee's forward
  work runs once; a recursion costs O(depth), not O(depth^2).
- a callee that writes through a pointer or reference: the forward sweep calls the primal,
  or ``NAME_reverse_forw`` with the undo log (above); the reverse sweep undoes its stores and
  calls ``NAME_pullback``, which runs the callee's forward sweep again and then its reverse
  sweep, leaving the caller's memory as it found it.  Its tapes and undo logs take their
  buffers from a per-thread pool (runtime.hpp), so a call allocates nothing once one ran.
- a call whose split pullback the caller cannot pair with its forward sweep (a call that is
  the returned value, which the forward sweep does not run) keeps ``NAME_pullback`` too.
"""

from __future__ import annotations

from dataclasses import replace

from ... import ir
from ...errors import UnsupportedError
from ...ir import Var
from .. import containers, memory
from ..activity import writable
from ..memory import LOG, SAVE, SAVE_ELEMENT
from ..names import Namer
from ..program import Program
from ..rules import BUILTINS
from ..sequence import sequence


def log_call(op: str, log: ir.Expr, *args: ir.Expr) -> ir.Stmt:
    """``::pyclad::mark(_log);`` / ``::pyclad::undo(_log);`` / ``::pyclad::save(_log, x);``."""
    return ir.ExprStmt(ir.Call(op, (log, *args), ir.VOID))


def writes_caller_memory(fn: ir.Function) -> bool:
    """``fn`` has a parameter through which it may write its caller's memory."""
    return any(writable(p.type) for p in fn.params)


def reverse_forw(program: Program, fn: ir.Function) -> str:
    """The name of ``fn``'s logging variant; generated on first use."""
    name = f"{fn.name}_reverse_forw"
    if program.has(name):
        return name
    program.reserve(name)
    fn = sequence(fn)
    names = Namer.for_function(fn)
    log = Var(names.claim("_log"), LOG)
    caller, unclear = _caller_pointers(fn)
    body = _Logger(program, log, caller, unclear).block(fn.body)
    comment = (
        f"{fn.name}, saving on {log.name} each value it overwrites in its caller's memory\n"
        "just before overwriting it (the forward sweep of a caller's gradient)."
    )
    params = fn.params + (ir.Param(log.name, LOG),)
    program.add(ir.Function(name, fn.ret, params, body, fn.loc, comment))
    return name


def _caller_pointers(fn: ir.Function) -> tuple[set[str], set[str]]:
    """The parameters and local pointers that reach the caller's memory (writable pointer
    and reference parameters, and locals pointed into them: ``double* b = a + 1``), and the
    local pointers that may point either into it or into the function's own memory (or
    somewhere this cannot tell: ``p = c ? a : tmp``), whose stores cannot be logged."""
    params = {p.name for p in fn.params}
    reach = {p.name for p in fn.params if writable(p.type)}
    sources: dict[str, list[ir.Expr]] = {}
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Decl) and n.type.ptr and n.init is not None:
            sources.setdefault(n.name, []).append(n.init)
        elif isinstance(n, ir.Assign) and isinstance(n.target, Var) and n.target.type.ptr:
            sources.setdefault(n.target.name, []).append(n.value)
    changed = True
    while changed:
        changed = False
        for name, values in sources.items():
            if name not in reach and any(_kind(v, reach) == "caller" for v in values):
                reach.add(name)
                changed = True
    unclear = set()
    for name, values in sources.items():
        kinds = {_kind(v, reach) for v in values}
        if name not in params and ("unknown" in kinds or kinds >= {"caller", "own"}):
            unclear.add(name)
    return reach - unclear, unclear


def _kind(v: ir.Expr, reach: set[str]) -> str:
    """Where a pointer value points: "caller" (into the caller's memory), "own", "unknown"."""
    if ir.is_null(v) or memory.allocation(v) is not None:
        return "own"
    root = ir.root_var(_address_root(v))
    if root is None:
        return "unknown"
    return "caller" if root.name in reach else "own"


def _address_root(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Cast):
        e = e.operand
    if isinstance(e, ir.Unary) and e.op == "&":
        return e.operand
    return e


class _Logger:
    """The statements of a callee with its stores into the caller's memory logged."""

    def __init__(self, program: Program, log: Var, caller: set[str], unclear: set[str]):
        self.program, self.log, self.caller, self.unclear = program, log, caller, unclear

    def block(self, b: ir.Block) -> ir.Block:
        out: list[ir.Stmt] = []
        for s in b.stmts:
            out += self.stmt(s)
        return replace(b, stmts=tuple(out))

    def body(self, s: ir.Stmt | None) -> ir.Stmt | None:
        if s is None:
            return None
        if isinstance(s, ir.Block):
            return self.block(s)
        stmts = self.stmt(s)
        return stmts[0] if len(stmts) == 1 else ir.Block(tuple(stmts))

    def stmt(self, s: ir.Stmt) -> list[ir.Stmt]:
        if isinstance(s, ir.Block):
            return [self.block(s)]
        if isinstance(s, ir.If):
            return [replace(s, cond=self.expr(s.cond), then=self.body(s.then), other=self.body(s.other))]
        if isinstance(s, (ir.While, ir.DoWhile)):
            return [replace(s, cond=self.expr(s.cond), body=self.body(s.body))]
        if isinstance(s, ir.For):
            if s.step is not None and self._stores(s.step):
                raise UnsupportedError(
                    "a for-loop increment that writes the caller's memory (in a callee whose "
                    "stores the reverse sweep must undo)",
                    s.loc,
                )
            init = tuple(x for i in s.init for x in self.stmt(i))
            cond = self.expr(s.cond) if s.cond is not None else None
            return [replace(s, init=init, cond=cond, body=self.body(s.body))]
        if isinstance(s, ir.Switch):
            return [replace(s, cond=self.expr(s.cond), body=self.block(s.body))]
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, (ir.Assign, ir.Step)):
            e = s.expr
            value = self.expr(e.value) if isinstance(e, ir.Assign) else None
            saves = [_save(self.log, e.target)] if self._logged(e.target) else []
            if self._stores(e.target):
                raise UnsupportedError("a store inside an index of a store", s.loc)
            e = replace(e, value=value) if value is not None else e
            return saves + [replace(s, expr=e)]
        if isinstance(s, ir.Decl) and s.init is not None:
            return [replace(s, init=self.expr(s.init))]
        if isinstance(s, ir.ExprStmt):
            return [replace(s, expr=self.expr(s.expr))]
        if isinstance(s, ir.Return) and s.value is not None:
            return [replace(s, value=self.expr(s.value))]
        return [s]

    def _logged(self, target: ir.Expr) -> bool:
        """A store into the caller's memory (not into a local, nor through a pointer of the
        function's own)."""
        root = ir.root_var(target)
        if root is None or (root.name in self.unclear and target is not root):
            raise UnsupportedError(
                "a store through a pointer that may point into the caller's memory or into the "
                "function's own (in a callee whose stores the reverse sweep must undo)",
                getattr(target, "loc", None) or (root.loc if root is not None else None),
            )
        if root.name not in self.caller:
            return False
        # re-seating a pointer parameter (a copy) or local pointer stores nothing of the caller's
        return not (target is root and root.type.ptr and not root.type.ref)

    def _stores(self, e: ir.Expr) -> bool:
        return any(isinstance(n, (ir.Assign, ir.Step)) and self._logged(n.target) for n in ir.walk(e))

    def expr(self, e: ir.Expr) -> ir.Expr:
        """``e`` with nested calls that write the caller's memory calling their logging
        variant, and no other store into the caller's memory."""
        if self._stores(e):
            raise UnsupportedError(
                "a store into the caller's memory inside an expression (in a callee whose stores "
                "the reverse sweep must undo)",
                getattr(e, "loc", None),
            )

        def swap(n):
            if not isinstance(n, ir.Call) or n.kind != ir.FUNCTION or memory.allocation(n) is not None:
                return n
            callee = self.program.function(n.callee)
            if callee is None or len(callee.params) != len(n.args) or not writes_caller_memory(callee):
                return n
            if not any(writable(p.type) and _reaches(a, self.caller) for p, a in zip(callee.params, n.args)):
                return n  # it writes only what this function owns
            name = reverse_forw(self.program, callee)
            return replace(n, callee=name, spelling="", args=n.args + (self.log,))

        return ir.rebuild(e, swap)


def _save(log: ir.Expr, target: ir.Expr) -> ir.Stmt:
    """The save of ``target`` on the log: by its address, or, for an element of a container
    (or a field of one: ``f[i]``, ``ps[i].x``), by the container and the index."""
    inner = target
    while isinstance(inner, ir.Member):
        inner = inner.operand
    if isinstance(inner, ir.Index) and isinstance(inner.base, Var) and inner.base.type.is_container:
        return log_call(SAVE_ELEMENT, log, inner.base, inner.index, target)
    return log_call(SAVE, log, target)


def element_stores_only(program: Program, fn: ir.Function, p: ir.Param) -> bool:
    """The container parameter ``p`` of ``fn`` is written only by stores into its elements
    or their fields (``f[i] = ...``, ``ps[i].x += ...``) and read otherwise: no size change,
    no whole assignment, no reference, pointer or iterator into it, not passed on where it
    may be written.  Then what ``fn`` overwrites in it can be logged element by element
    (``_save``), and nothing else about it changes."""
    for n in ir.walk(fn.body):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is not None and root.name == p.name and not _element_of(n.target, p.name):
                return False
        elif isinstance(n, ir.Decl) and (n.type.ptr or n.type.ref) and n.init is not None:
            if any(isinstance(v, Var) and v.name == p.name for v in ir.walk(n.init)):
                return False
        elif isinstance(n, ir.Unary) and n.op == "&":
            root = ir.root_var(n.operand)
            if root is not None and root.name == p.name:
                return False
        elif isinstance(n, ir.Call) and not _reads_only(program, n, p.name):
            return False
    return True


def stores_outside_loops(fn: ir.Function, name: str) -> bool:
    """Some store into the parameter ``name`` runs outside every loop of ``fn``: it writes a
    few elements rather than sweeping over all of them."""

    def walk(s: ir.Stmt, in_loop: bool) -> bool:
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, (ir.Assign, ir.Step)) and not in_loop:
            root = ir.root_var(s.expr.target)
            return root is not None and root.name == name
        loop = in_loop or isinstance(s, (ir.While, ir.DoWhile, ir.For))
        return any(walk(c, loop) for c in ir.children(s) if isinstance(c, ir.Stmt))

    return any(walk(s, False) for s in fn.body.stmts)


def _element_of(target: ir.Expr, name: str) -> bool:
    while isinstance(target, ir.Member):
        target = target.operand
    return isinstance(target, ir.Index) and isinstance(target.base, Var) and target.base.name == name


def _reads_only(program: Program, c: ir.Call, name: str) -> bool:
    """A call that at most reads the container ``name``: its size, or it (or an element of
    it) passed by value or const reference to a function pyclad knows, or an element to a
    math builtin.  Other members change it or hand out pointers into it."""
    recv = ir.root_var(c.args[0]) if containers.is_member(c) else None
    if recv is not None and recv.name == name:
        return c.spelling in ("size", "empty") and isinstance(c.args[0], Var)
    callee = program.function(c.callee) if c.kind in (ir.FUNCTION, ir.METHOD) else None
    for k, a in enumerate(c.args):
        root = ir.root_var(a.operand if isinstance(a, ir.Unary) and a.op == "&" else a)
        if root is None or root.name != name or (containers.is_member(c) and k == 0):
            continue
        if isinstance(a, ir.Unary) and a.op == "&":
            return False
        if callee is not None and len(callee.params) == len(c.args):
            t = callee.params[k].type
            if t.ptr or (t.ref and not t.const):
                return False
        elif not (c.callee in BUILTINS and a is not root):
            return False
    return True


def _reaches(a: ir.Expr, caller: set[str]) -> bool:
    root = ir.root_var(_address_root(a))
    return root is not None and root.name in caller
