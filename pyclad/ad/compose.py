"""Jacobians and Hessians, composed from the forward and reverse transforms.

- Reverse Jacobian: one pullback call per output element, seeded with e_j,
  writes row j (a generated C++ driver loops over the rows).
- Forward Jacobian: vector forward mode over all inputs at once; the tangent
  of the output array *is* the Jacobian.
- Hessian: vector forward mode over the gradient (forward over reverse); the
  tangent of the gradient's adjoint outputs *is* the Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..errors import PycladError, UnsupportedError
from ..ir import Var, lit
from . import reverse, shadow, vector_params
from .program import Program

SIZE = ir.Type("std::size_t")
DPTR = ir.Type("double", 1)


@dataclass(frozen=True)
class Layout:
    """How a function's params map onto Jacobian rows (outputs) and columns (inputs)."""

    inputs: tuple[str, ...]  # scalar or array params, in param order
    outputs: tuple[str, ...]  # output array params, in param order
    sizes: tuple[str, ...]  # array params whose length the driver takes (``_n_<name>``)


def split_params(fn: ir.Function, wrt: list[str] | None, program: Program | None = None) -> Layout:
    """Outputs are non-const floating pointer params the function writes (directly, through a
    local pointer bound to them, or through a user function it passes them to); inputs are
    the other floating params (or ``wrt``)."""
    written = _written(fn, program, set())
    outputs = tuple(
        p.name
        for p in fn.params
        if p.type.ptr == 1 and p.type.holds_float and not p.type.const and p.name in written
    )
    inputs = tuple(
        p.name
        for p in fn.params
        if p.type.holds_float and p.name not in outputs and (wrt is None or p.name in wrt)
    )
    arrays = tuple(
        p.name
        for p in fn.params
        if p.type.ptr and p.type.holds_float and (p.name in inputs or p.name in outputs)
    )
    return Layout(inputs, outputs, arrays)


def _written(fn: ir.Function, program: Program | None, seen: set[str]) -> set[str]:
    """Names of the variables whose storage ``fn`` may write (pointer and reference aliases
    resolved to what they point at; writes by called user functions included)."""
    seen = seen | {fn.name}
    roots: set[str] = set()
    aliases: dict[str, str] = {}
    for n in ir.walk(fn.body):
        if isinstance(n, (ir.Assign, ir.Step)):
            r = ir.root_var(n.target)
            if r is not None:
                roots.add(r.name)
                if (
                    isinstance(n, ir.Assign)
                    and n.op == "="
                    and isinstance(n.target, Var)
                    and n.target.type.ptr
                ):
                    v = ir.root_var(_strip_address(n.value))
                    if v is not None:
                        aliases[r.name] = v.name
        elif isinstance(n, ir.Decl) and (n.type.ptr or n.type.ref) and n.init is not None:
            v = ir.root_var(_strip_address(n.init))
            if v is not None:
                aliases[n.name] = v.name
        elif isinstance(n, ir.Call) and program is not None:
            if program.registry.lookup(n.callee) is not None:
                continue  # a builtin or a custom derivative: writes nothing of ours
            try:
                callee = program.function(n.callee)
            except PycladError:
                continue  # a body pyclad cannot read: the transform reports it, with its location
            if callee is None or callee.name in seen or len(callee.params) != len(n.args):
                continue
            inner = _written(callee, program, seen)
            for p, a in zip(callee.params, n.args):
                if p.name in inner and (p.type.ptr or p.type.ref) and not p.type.const:
                    r = ir.root_var(_strip_address(a))
                    if r is not None:
                        roots.add(r.name)
    for _ in range(len(aliases) + 1):  # writes through a local pointer write what it points at
        more = {aliases[r] for r in roots if r in aliases} - roots
        if not more:
            break
        roots |= more
    return roots


def _strip_address(e: ir.Expr) -> ir.Expr:
    return e.operand if isinstance(e, ir.Unary) and e.op == "&" else e


def jacobian_reverse(program: Program, fn: ir.Function, layout: Layout, name: str) -> ir.Function:
    """``NAME(params..., double* _jac, std::size_t _n_<array>...)``: rows of _jac are
    outputs, columns inputs; each row is one pullback call."""
    mask = [p.name in layout.inputs or p.name in layout.outputs for p in fn.params]
    pb = reverse.pullback(program, fn, mask)
    n, boxed, offsets, cols = _columns(fn, layout)
    jac = Var("_jac", DPTR)
    body: list[ir.Stmt] = [ir.Decl("_cols", SIZE, cols)]
    ncols = Var("_cols", SIZE)
    base = {p.name: p.type.args[0].base if p.name in boxed else p.type.base for p in fn.params}

    def vector(name: str, of: str, size: ir.Expr) -> Var:
        t = ir.Type(f"::std::vector<{base[of]}>")
        body.append(ir.Decl(name, t, ir.Call(t.base, (size,), t)))
        return Var(name, t)

    def fill(start: ir.Expr, stop: ir.Expr) -> ir.Stmt:
        return ir.ExprStmt(ir.Call("::std::fill", (start, stop, lit(0)), ir.VOID))

    def begin_end(v: Var) -> tuple[ir.Expr, ir.Expr]:
        return ir.Call(f"{v.name}.begin", (), DPTR), ir.Call(f"{v.name}.end", (), DPTR)

    seeds = {o: vector(f"_seed_{o}", o, n[o]) for o in layout.outputs}
    # Adjoints of inputs that are not double (float, long double) go through a buffer of
    # their own type and are copied into the (double) row; a container's, through a
    # container of its own type and size.
    adjoints = {
        i: vector(f"_adj_{i}", i, n[i] if i in n else lit(1, SIZE))
        for i in layout.inputs
        if base[i] != "double" and i not in boxed
    }
    for c in (p for p in fn.params if p.name in boxed):
        t = c.type.named()
        body.append(ir.Decl(f"_adj_{c.name}", t, _zero_container(c.name, t)))
        adjoints[c.name] = Var(f"_adj_{c.name}", t)
    row_start: ir.Expr = lit(0, SIZE)
    j = Var("_j", SIZE)
    for o in layout.outputs:
        row = Var("_row", DPTR)
        args: list[ir.Expr] = [Var(p.name, p.type) for p in fn.params]
        for p, m in zip(fn.params, mask):
            if not m:
                continue
            if p.name in layout.outputs:
                args.append(ir.Call(f"{seeds[p.name].name}.data", (), DPTR))
            elif p.name in boxed:  # a container's adjoint: a container of the same size
                args.append(ir.Unary("&", adjoints[p.name], adjoints[p.name].type.derived(1)))
            elif p.name in adjoints:
                args.append(ir.Call(f"{adjoints[p.name].name}.data", (), DPTR))
            else:
                args.append(_sum(row, offsets[p.name]) if not _is_zero(offsets[p.name]) else row)
        seed_j = ir.Index(seeds[o], j, ir.DOUBLE)
        loop_body = [
            ir.Decl("_row", DPTR, ir.Binary("+", jac, ir.Binary("*", _sum(row_start, j), ncols, SIZE), DPTR)),
            fill(row, ir.Binary("+", row, ncols, DPTR)),  # pullbacks accumulate: start from zero
            *(fill(*begin_end(v)) for v in adjoints.values()),
            ir.ExprStmt(ir.Assign("=", seed_j, lit(1), ir.DOUBLE)),
            ir.ExprStmt(ir.Call(pb, tuple(args), ir.VOID)),
        ]
        for i, v in adjoints.items():
            dest = _sum(row, offsets[i]) if not _is_zero(offsets[i]) else row
            loop_body.append(ir.ExprStmt(ir.Call("::std::copy", (*begin_end(v), dest), ir.VOID)))
        for o2 in layout.outputs:  # the pullback consumes its seeds; start each row clean
            loop_body.append(fill(*begin_end(seeds[o2])))
        body.append(
            ir.For(
                (ir.Decl("_j", SIZE, lit(0, SIZE)),),
                ir.Binary("<", j, n[o], ir.BOOL),
                ir.Step("++", True, j, SIZE),
                ir.Block(tuple(loop_body)),
            )
        )
        row_start = _sum(row_start, n[o])
    params = list(fn.params) + [ir.Param("_jac", DPTR)] + [ir.Param(f"_n_{a}", SIZE) for a in layout.sizes]
    rows = ", ".join(f"{o}[0:_n_{o}]" for o in layout.outputs)
    colnames = ", ".join(
        f"{i}[0:{i}.size()]" if i in boxed else f"{i}[0:_n_{i}]" if i in n else i for i in layout.inputs
    )
    comment = (
        f"Jacobian of {fn.name}, reverse mode (one pullback per row).\n"
        f"_jac: row-major, rows = {rows}, columns = {colnames}; overwritten row by row."
    )
    return ir.Function(name, ir.VOID, tuple(params), ir.Block(tuple(body)), fn.loc, comment)


def _columns(fn: ir.Function, layout: Layout):
    """The lengths of the Jacobian's array and container params (``_n_<array>``, a
    container's ``size()`` at entry), the container inputs, each input's first column and
    the column count."""
    n: dict[str, ir.Expr] = {a: Var(f"_n_{a}", SIZE) for a in layout.sizes}
    boxed = {p.name for p in fn.params if p.name in layout.inputs and p.type.is_container}
    for c in boxed:
        n[c] = ir.Call(f"{c}.size", (), SIZE)
    cols: ir.Expr = lit(0, SIZE)
    offsets: dict[str, ir.Expr] = {}
    for p in layout.inputs:
        offsets[p] = cols
        cols = _sum(cols, n[p] if p in n else lit(1, SIZE))
    return n, boxed, offsets, cols


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Lit) and e.text == "0"


def _sum(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if _is_zero(a):
        return b
    if _is_zero(b):
        return a
    return ir.Binary("+", a, b, SIZE)


def hessian_driver(
    primal: ir.Function, kernel: ir.Function, outputs, buffers, dirs, n: int, name: str
) -> ir.Function:
    """``NAME(params..., double* _hessian, std::size_t _n_<array>...)`` around the
    forward-over-reverse kernel: allocates and seeds the tangent buffers, calls the
    kernel once, and copies the rows of the gradient's tangents into ``_hessian``."""
    vec = ir.Type("::std::vector<double>")
    arrays = [
        p.name for p in primal.params if p.type.ptr and p.type.holds_float and p.type.kind == ir.BUILTIN
    ]
    used = {b.param for b in buffers} | {o.param for o in outputs}
    sizes = {a: Var(f"_n_{a}", SIZE) for a in arrays if a in used or any(d.param == a for d in dirs)}
    adj_of = {o.name: o.param for o in outputs}
    body, out_args = _adjoint_outputs(primal, outputs, sizes)
    buf_args: list[ir.Expr] = []
    copies: list[ir.Stmt] = []
    covered: set = set()  # directions whose Hessian rows the copies fill
    nn = lit(n, SIZE)
    hess = Var("_hessian", DPTR)
    for b in buffers:
        rows = _rows(primal.param(adj_of.get(b.param, b.param)), sizes)
        bv = Var(b.name, vec)
        body.append(ir.Decl(b.name, vec, ir.Call("::std::vector<double>", (_mul(rows, nn),), vec)))
        buf_args.append(ir.Call(f"{b.name}.data", (), DPTR))
        d = b.direction
        if d is not None:  # seed: row start+k gets a 1 in column offset+k
            k = Var("_k", SIZE)
            idx = _sum(_mul(_sum(lit(d.start, SIZE), k), nn), _sum(lit(d.offset, SIZE), k))
            body.append(
                ir.For(
                    (ir.Decl("_k", SIZE, lit(0, SIZE)),),
                    ir.Binary("<", k, lit(d.size, SIZE), ir.BOOL),
                    ir.Step("++", True, k, SIZE),
                    ir.Block((ir.ExprStmt(ir.Assign("=", ir.Index(bv, idx, ir.DOUBLE), lit(1), ir.DOUBLE)),)),
                )
            )
        if b.param in adj_of:  # tangent of the gradient w.r.t. a direction param: Hessian rows
            dd = next((x for x in dirs if x.param == adj_of[b.param]), None)
            if dd is not None:
                first = lit(dd.start or 0, SIZE)
                begin: ir.Expr = ir.Call(f"{b.name}.begin", (), DPTR)
                if dd.start:
                    begin = ir.Binary("+", begin, _mul(first, nn), DPTR)
                end = ir.Binary(
                    "+", ir.Call(f"{b.name}.begin", (), DPTR), _mul(_sum(first, lit(dd.size, SIZE)), nn), DPTR
                )
                dest = ir.Binary("+", hess, _mul(lit(dd.offset, SIZE), nn), DPTR) if dd.offset else hess
                copies.append(ir.ExprStmt(ir.Call("::std::copy", (begin, end, dest), ir.VOID)))
                covered.add(dd)
    args = [Var(p.name, p.type) for p in primal.params] + out_args
    args += buf_args
    body.append(ir.ExprStmt(ir.Call(kernel.name, tuple(args), ir.VOID)))
    body += copies
    for dd in dirs:  # a gradient entry that does not depend on the directions: rows of zeros
        if dd not in covered:
            start = ir.Binary("+", hess, _mul(lit(dd.offset, SIZE), nn), DPTR) if dd.offset else hess
            stop = ir.Binary("+", hess, _mul(lit(dd.offset + dd.size, SIZE), nn), DPTR)
            body.append(ir.ExprStmt(ir.Call("::std::fill", (start, stop, lit(0)), ir.VOID)))
    params = (
        list(primal.params) + [ir.Param("_hessian", DPTR)] + [ir.Param(v.name, SIZE) for v in sizes.values()]
    )
    what = vector_params.describe(primal, [(d.param, d.start, d.stop) for d in dirs])
    comment = (
        f"Hessian of {primal.name} w.r.t. {what} (forward over reverse).\n"
        f"_hessian: {n} x {n}, row-major." + ("".join(f"\n_n_{a}: length of {a}." for a in sizes))
    )
    return ir.Function(name, ir.VOID, tuple(params), ir.Block(tuple(body)), primal.loc, comment)


def _adjoint_outputs(
    primal: ir.Function, outputs, sizes: dict[str, Var]
) -> tuple[list[ir.Stmt], list[ir.Expr]]:
    """The gradient's adjoint outputs as zeroed locals of a generated Hessian driver, and the
    arguments that pass them: an array's as a vector's data, a scalar's by address, a
    container's (a container of its size) and a record's (a zeroed record) by address."""
    vec = ir.Type("::std::vector<double>")
    decls: list[ir.Stmt] = []
    args: list[ir.Expr] = []
    for o in outputs:
        p = primal.param(o.param)
        if p.type.is_container or (p.type.kind == ir.RECORD and not p.type.dims):
            t = shadow.tangent_type(p.type.named())
            decls.append(
                ir.Decl(o.name, t, _zero_container(p.name, t) if p.type.is_container else shadow.zero(t))
            )
            args.append(ir.Unary("&", Var(o.name, t), t.derived(1)))
        elif p.type.ptr:
            decls.append(ir.Decl(o.name, vec, ir.Call("::std::vector<double>", (sizes[o.param],), vec)))
            args.append(ir.Call(f"{o.name}.data", (), DPTR))
        else:
            decls.append(ir.Decl(o.name, ir.DOUBLE, lit(0)))
            args.append(ir.Unary("&", Var(o.name, ir.DOUBLE), DPTR))
    return decls, args


def _zero_container(like: str, t: ir.Type) -> ir.Expr:
    """Zeros of container type ``t`` with the size of the container ``like``."""
    if t.kind == ir.VECTOR:
        return ir.Call(t.base, (ir.Call(f"{like}.size", (), SIZE),), t)
    return ir.InitList((), t)


def _rows(p: ir.Param, sizes: dict[str, Var]) -> ir.Expr:
    """The rows of the tangent buffer of primal parameter ``p`` in a generated driver: an
    array's length (``_n_<array>``), a container's size, a record's floating fields."""
    if p.type.kind == ir.RECORD:
        return lit(vector_params.leaf_count(p.type), SIZE)
    if p.type.kind in ir.CONTAINERS:
        return ir.Call(f"{p.name}.size", (), SIZE)
    return sizes[p.name] if p.type.ptr else lit(1, SIZE)


def _mul(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if _is_zero(a) or _is_zero(b):
        return lit(0, SIZE)
    if isinstance(a, ir.Lit) and a.text == "1":
        return b
    if isinstance(b, ir.Lit) and b.text == "1":
        return a
    return ir.Binary("*", a, b, SIZE)


def jacobian_reverse_vector(program: Program, fn: ir.Function, layout: Layout, m: int, name: str):
    """Vector reverse mode: one pullback call with ``pyclad::vec<m>`` adjoints seeds all
    ``m`` output elements at once.  ``NAME(params..., double* <adjoint buffers>...)``: one
    ``rows x m`` buffer per input and output param, in param order; the caller seeds the
    outputs' buffers with the identity and reads the inputs' buffers as J transposed."""
    mask = [p.name in layout.inputs or p.name in layout.outputs for p in fn.params]
    for p in fn.params:
        if p.name in layout.inputs and p.type.kind in ir.CONTAINERS:
            raise UnsupportedError(
                f"vector reverse mode through the container parameter '{p.name}' ({p.type.spell()})",
                p.loc or fn.loc,
            )
    pb = reverse.pullback(program, fn, mask, vector=m, effects=True)  # one call: runs printf & co. once
    params = list(fn.params)
    args: list[ir.Expr] = [Var(p.name, p.type) for p in fn.params]
    for p, on in zip(fn.params, mask):
        if on:
            raw = f"_d_{p.name}_buf"
            params.append(ir.Param(raw, DPTR))
            args.append(ir.Call(f"::pyclad::as_vec<{m}>", (Var(raw, DPTR),), DPTR))
    body = ir.Block((ir.ExprStmt(ir.Call(pb, tuple(args), ir.VOID)),))
    comment = (
        f"Jacobian of {fn.name}, vector reverse mode ({m} outputs in one reverse sweep).\n"
        f"_d_<param>_buf: rows x {m}; seed the outputs' with the identity, read the inputs' as J^T."
    )
    return ir.Function(name, ir.VOID, tuple(params), body, fn.loc, comment)
