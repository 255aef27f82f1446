"""Activity analysis: which variables carry derivatives.

A variable is active when its value can depend on an independent variable.
The analysis is flow-insensitive (a fixed point over all assignments), which
is conservative: it may call a variable active that is not, never the reverse.
References and pointers bound to a variable are aliases of it.
"""

from __future__ import annotations

from .. import ir


def _carries_no_derivative(e: ir.Expr) -> bool:
    """An integer or bool value: whatever it is computed from, its derivative is zero."""
    t = getattr(e, "type", None)
    return t is not None and t.base in ir.INTEGRAL_BASES and not t.ptr and not t.dims


def depends(e: ir.Expr | None, active: set[str]) -> bool:
    """Can the value of ``e`` carry a derivative from an active variable?  Integer
    subexpressions (``(int)x``, ``x > 0``, a call returning int) stop the dependence."""
    if e is None:
        return False
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, ir.Var):
            if n.name in active:
                return True
            continue
        if isinstance(n, ir.Expr) and _carries_no_derivative(n):
            continue
        stack.extend(ir.children(n))
    return False


# Runtime helpers a gradient calls to accumulate into its first argument (ad/containers.py).
ACCUMULATORS = ("::pyclad::add_each", "::pyclad::add_scaled", "::pyclad::add_to")


def active_variables(fn: ir.Function, seeds: set[str], callee_params) -> set[str]:
    """``callee_params(call)`` gives the parameters of a called user function (or
    None): a non-const pointer or reference parameter may be written by the callee."""
    active = set(seeds)
    aliases: list[tuple[str, str]] = []
    effects: list[tuple[str, ir.Expr]] = []  # (target root, value)
    outputs: list[tuple[list[str], ir.Call]] = []  # (roots the call may write, call)
    for n in ir.walk(fn.body):
        if isinstance(n, ir.Decl) and n.init is not None and n.type.carries_float:
            effects.append((n.name, n.init))
            if n.type.ref or n.type.ptr:
                root = ir.root_var(_strip_address(n.init))
                if root is not None:
                    aliases.append((n.name, root.name))
        elif isinstance(n, ir.Assign):
            root = ir.root_var(n.target)
            if root is not None and root.type.carries_float:
                effects.append((root.name, n.value))
                if n.target.type.ptr and isinstance(n.target, ir.Var):
                    vroot = ir.root_var(_strip_address(n.value))
                    if vroot is not None:
                        aliases.append((root.name, vroot.name))
        elif isinstance(n, ir.Call) and n.callee == "::pyclad::push":  # a gradient's tape
            root = ir.root_var(n.args[0])
            if root is not None:
                effects.append((root.name, n.args[1]))
        elif isinstance(n, ir.Call) and n.callee in ACCUMULATORS and n.args:
            root = ir.root_var(n.args[0])  # a gradient's add_to(*_d_v, _d_v0): _d_v takes _d_v0
            if root is not None:
                effects.extend((root.name, a) for a in n.args[1:])
        elif isinstance(n, ir.Call) and n.kind == ir.METHOD and n.args and n.args[0].type.is_container:
            root = ir.root_var(n.args[0])  # v.push_back(x), v.resize(n, x): v stores x
            if root is not None:
                effects.extend((root.name, a) for a in n.args[1:])
        elif isinstance(n, ir.Call):
            params = callee_params(n)
            if params:
                roots = []
                for p, a in zip(params, n.args):
                    if writable(p.type):
                        root = ir.root_var(_strip_address(a))
                        if root is not None:
                            roots.append(root.name)
                if roots:
                    outputs.append((roots, n))
    changed = True
    while changed:
        changed = False
        new: set[str] = set()
        for target, value in effects:
            if target not in active and depends(value, active):
                new.add(target)
        for a, b in aliases:
            if (a in active) != (b in active):
                new.update((a, b))
        for roots, c in outputs:
            if any(depends(a, active) for a in c.args):
                new.update(r for r in roots if r not in active)
        if new - active:
            active |= new
            changed = True
    return active


def writable(t: ir.Type) -> bool:
    """A parameter through which a callee can write floating values (records with floating
    fields included)."""
    return t.carries_float and (t.ref or t.ptr > 0) and not t.const


def _strip_address(e: ir.Expr) -> ir.Expr:
    return e.operand if isinstance(e, ir.Unary) and e.op == "&" else e
