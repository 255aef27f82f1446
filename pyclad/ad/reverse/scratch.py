"""Scratch arrays: an array a loop body fills afresh in each trip is recomputed in the reverse
sweep, not taped element by element.

GMM's ``for (id = 0; id < d; ++id) xcentered[id] = x[ix * d + id] - means[ik * d + id];`` runs
at the top of every trip of the loop over ``ik``; the trip then reads ``xcentered`` (a call of
``q_times_x``).  Taping every element before it is overwritten lets the reverse sweep give
each trip's reverse the values it read.  Running the filling loop again just before the
reverse of the trip's last read gives them too, with no tape, when:

- the array (a local array or ``std::vector``) is written by this filling loop alone: the
  body states it nowhere else, but for whole stores at the top level of the function before
  the loop (its construction), and no call can write it (it is passed only where the callee
  takes a pointer or reference to const);
- the filling loop is a counted loop (counted.py) storing ``a[index] = value`` and nothing
  else, ``index`` and the bounds reading only the counter and variables the function never
  assigns: every trip writes the same elements, so an element it does not write holds its
  initial value throughout;
- ``value`` is pure, does not read the array, and reads nothing the body writes between the
  filling loop and the last read (the reverse sweep restores what is written after it);
- the body reads the array only after the filling loop, and nothing outside the body reads it.

Then at every read the array holds the same values in the reverse sweep as in the forward
sweep: the elements written are this trip's, the others their initial values.
"""

from __future__ import annotations

from ... import ir
from ...ir import Var
from .counted import Counted
from .util import _body, _pure_calls


def scratch_array(
    body: list[ir.Stmt], at: int, c: Counted, fn_body: ir.Block, assigned: set[str], callee_params
):
    """``(array name, last statement of body reading it)`` if ``body[at]`` (a counted loop
    ``c``) fills a scratch array the reverse sweep can fill again (see the module docstring)."""
    loop = body[at]
    inner = _body(loop.body)
    if len(inner) != 2 or not isinstance(inner[0], ir.ExprStmt):
        return None
    store = inner[0].expr
    if not (isinstance(store, ir.Assign) and store.op == "=" and isinstance(store.target, ir.Index)):
        return None
    array = store.target.base
    if not isinstance(array, Var) or array.is_global or array.type.ptr or array.type.ref:
        return None
    if not (array.type.dims or array.type.is_container) or not store.target.type.is_float:
        return None
    name = array.name
    fixed = {c.var.name}
    for part in (store.target.index, c.lo, c.hi):
        if any(isinstance(n, Var) and (n.name in assigned and n.name not in fixed) for n in ir.walk(part)):
            return None
    if not _pure_calls(store.value) or _mentions(store.value, name):
        return None
    if any(_mentions(s, name) for s in body[: at - 1]):
        return None
    uses = [k for k in range(at + 1, len(body)) if _mentions(body[k], name)]
    if not uses:
        return None
    last = uses[-1]
    inputs = {n.name for n in ir.walk(store.value) if isinstance(n, Var)}
    for k in range(at + 1, last + 1):
        if _stores(body[k], inputs | {name}, callee_params):
            return None
    if not _only_constructed_elsewhere(fn_body, name, body, at, last):
        return None
    return name, last


def refill(c: Counted, loop: ir.While) -> ir.For:
    """``for (v = lo; v < hi; ++v) a[index] = value;``: the filling loop, run again."""
    store = _body(loop.body)[0]
    ty = c.var.type.value()
    start = ir.ExprStmt(ir.Assign("=", c.var, c.lo, ty))
    return ir.For((start,), loop.cond, ir.Step("++", True, c.var, ty), ir.Block((store,)))


def _only_constructed_elsewhere(fn_body: ir.Block, name: str, body, at: int, last: int) -> bool:
    """Outside ``body[at..last]`` the function names the array only in whole stores at its
    top level, all before the top-level statement holding ``body``."""
    inside = body[at : last + 1]
    holder = None
    for k, s in enumerate(fn_body.stmts):
        if any(n is inside[0] for n in ir.walk(s)):
            holder = k
            break
    if holder is None:
        return False
    for k, s in enumerate(fn_body.stmts):
        if k == holder:
            if any(_mentions(x, name) for x in _outside(s, inside)):
                return False
        elif (_mentions(s, name) or isinstance(s, ir.Decl) and s.name == name) and (
            k > holder or not _whole_store(s, name)
        ):
            return False
    return True


def _outside(s: ir.Stmt, inside: list[ir.Stmt]) -> list:
    """The expressions and statements of ``s`` that are not in ``inside`` (nor in them)."""
    keep = {id(x) for x in inside}
    out: list = []
    stack = [s]
    while stack:
        n = stack.pop()
        if id(n) in keep:
            continue
        kids = ir.children(n)
        if isinstance(n, ir.Stmt):
            out += [k for k in kids if isinstance(k, ir.Expr)]
            stack += [k for k in kids if isinstance(k, ir.Stmt)]
        if isinstance(n, ir.Decl):
            out.append(ir.Var(n.name, n.type))
    return out


def _stores(s: ir.Stmt, names: set[str], callee_params) -> bool:
    """``s`` may write one of ``names``: a store, a step, a container method other than a
    read, or a call handed it where the callee's parameter is not a pointer or reference to
    const (or is unknown)."""
    for n in ir.walk(s):
        if isinstance(n, (ir.Assign, ir.Step)):
            root = ir.root_var(n.target)
            if root is None or root.name in names:
                return True
        elif isinstance(n, ir.Call) and not _pure_calls(n):
            if n.kind == ir.METHOD and n.args and n.args[0].type.is_container:
                if _root_name(n.args[0]) in names and n.spelling not in ("data", "size", "empty"):
                    return True
                continue
            params = callee_params(n) if n.kind in (ir.FUNCTION, ir.METHOD) else None
            for k, a in enumerate(n.args):
                if _root_name(a) not in names:
                    continue
                p = params[k] if params is not None and k < len(params) else None
                if p is None or ((p.type.ptr or p.type.ref) and not p.type.const):
                    return True
                if not (p.type.ptr or p.type.ref) and (a.type.ptr or a.type.ref):
                    return True
    return False


def _root_name(e: ir.Expr) -> str | None:
    if isinstance(e, ir.Unary) and e.op == "&":
        e = e.operand
    root = ir.root_var(e)
    return root.name if root is not None else None


def _whole_store(s: ir.Stmt, name: str) -> bool:
    """``a = value`` or a declaration of ``a``, ``value`` not reading ``a``."""
    if isinstance(s, ir.Decl):
        return s.name == name and (s.init is None or not _mentions(s.init, name))
    e = s.expr if isinstance(s, ir.ExprStmt) else None
    return (
        isinstance(e, ir.Assign) and e.op == "=" and _is_var(e.target, name) and not _mentions(e.value, name)
    )


def _is_var(e: ir.Expr, name: str) -> bool:
    return isinstance(e, Var) and e.name == name


def _mentions(node, name: str) -> bool:
    return any(isinstance(n, Var) and n.name == name for n in ir.walk(node))
