"""The Jacobian driver of a header (``pyclad gen --mode jacobian``), in passes of vector mode.

``NAME_jac(params..., double* _jac, std::size_t _n_<array>...)`` keeps the signature of the
row-by-row driver (compose.jacobian_reverse) but runs vector-mode kernels with a lane count
fixed when the code is generated:

- forward passes: one pass of vector forward mode gives ``FORWARD_LANES`` columns (the
  inputs' tangents seeded with unit vectors); ``ceil(cols / FORWARD_LANES)`` passes;
- reverse passes: one forward sweep and one reverse sweep with ``pyclad::vec<REVERSE_LANES>``
  adjoints give that many rows; ``ceil(rows / REVERSE_LANES)`` passes.

Where both kernels exist, the driver picks by the shape it is called with: forward passes
while the columns are at most ``FORWARD_PER_ROW`` times the rows (a reverse pass repeats
its callees' forward work and keeps undo logs, so it costs about as much as that many
forward lanes), else reverse passes.  The seeds and the passes' results live in
``pyclad::jacobian_scratch``, kept per thread across calls: a call allocates nothing once
the scratch has grown to its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..errors import PycladError
from ..ir import Var, lit
from .compose import SIZE, Layout, _columns, _sum
from .program import Program

DPTR = ir.Type("double", 1)
FORWARD_LANES = 8
REVERSE_LANES = 4
FORWARD_PER_ROW = 8


@dataclass(frozen=True)
class Kernel:
    """A vector-mode kernel: its function and, per primal parameter with a buffer, the
    buffer parameter's position among the kernel's trailing ``double*`` parameters."""

    function: ir.Function
    buffers: tuple[str, ...]  # the primal parameters whose buffers the kernel takes, in order
    lanes: int
    result: bool = False  # a trailing ``_d_result`` buffer (a function returning a floating value)


def passes_supported(fn: ir.Function, layout: Layout) -> bool:
    """Inputs that are ``double`` scalars or ``double`` arrays and outputs that are ``double``
    arrays: what a pass's buffers (rows of doubles, in column order) can hold."""
    for name in layout.inputs + layout.outputs:
        t = fn.param(name).type
        if t.kind != ir.BUILTIN or t.base != "double" or t.dims or t.ptr > 1 or t.ref:
            return False
        if name in layout.outputs and t.ptr != 1:
            return False
    return True


def reads_outputs(fn: ir.Function, layout: Layout, program: Program) -> bool:
    """Whether ``fn`` (or a function it passes an output to) may read an output array's
    values, not only write them: then each forward pass after the first must see the values
    the outputs had at entry (kept once; the caller may leave outputs it never reads
    uninitialised, so they are only copied when read)."""
    return any(_reads(fn, o, program, frozenset()) for o in layout.outputs)


def _reads(fn: ir.Function, name: str, program: Program, seen: frozenset) -> bool:
    seen = seen | {fn.name}
    total = plain = 0  # uses of ``name``; those that store into it or pass it on without reading
    for node in ir.walk(fn.body):
        if isinstance(node, Var) and node.name == name:
            total += 1
        elif isinstance(node, ir.Assign) and node.op == "=" and _element_of(node.target, name):
            plain += 1
        elif isinstance(node, ir.Call):
            for k, a in enumerate(node.args):
                if _element_of(a, name, address=True):
                    if _callee_reads(program, node, k, seen):
                        return True
                    plain += 1
    return total > plain


def _element_of(e: ir.Expr, name: str, address: bool = False) -> bool:
    """``name[i]`` / ``*name`` (with ``address``: also ``name``, ``&name[i]``, ``name + i``),
    ``name`` appearing once."""
    if address:
        if isinstance(e, Var):
            return e.name == name
        if isinstance(e, ir.Unary) and e.op == "&":
            return _element_of(e.operand, name)
        if isinstance(e, ir.Binary) and e.op == "+" and isinstance(e.lhs, Var) and e.lhs.name == name:
            return not _mentions(e.rhs, name)
        return False
    if isinstance(e, ir.Index) and isinstance(e.base, Var) and e.base.name == name:
        return not _mentions(e.index, name)
    return isinstance(e, ir.Unary) and e.op == "*" and isinstance(e.operand, Var) and e.operand.name == name


def _mentions(e: ir.Expr, name: str) -> bool:
    return any(isinstance(n, Var) and n.name == name for n in ir.walk(e))


def _callee_reads(program: Program, call: ir.Call, k: int, seen: frozenset) -> bool:
    """Whether the callee may read what argument ``k`` points at (unknown callees may)."""
    try:
        callee = program.function(call.callee) if program.registry.lookup(call.callee) is None else None
    except PycladError:
        return True
    if callee is None or callee.name in seen or k >= len(callee.params):
        return True
    q = callee.params[k]
    return bool(q.type.const) or _reads(callee, q.name, program, seen)


def driver(
    fn: ir.Function,
    layout: Layout,
    forward: Kernel | None,
    reverse: Kernel | None,
    name: str,
    keep: bool = True,
):
    """``NAME(params..., double* _jac, std::size_t _n_<array>...)`` over the kernels given (at
    least one).  ``keep``: the forward passes put the outputs' values at entry back before
    each pass after the first (``reads_outputs``)."""
    n, _, offsets, cols = _columns(fn, layout)
    rows: ir.Expr = lit(0, SIZE)
    for o in layout.outputs:
        rows = _sum(rows, n[o])
    body: list[ir.Stmt] = [ir.Decl("_cols", SIZE, cols), ir.Decl("_rows", SIZE, rows)]
    fwd = _forward(fn, layout, forward, n, offsets, keep) if forward is not None else None
    rev = _reverse(fn, layout, reverse, n, offsets) if reverse is not None else None
    if fwd is not None and rev is not None:
        wide = ir.Binary(
            "<=",
            Var("_cols", SIZE),
            ir.Binary("*", lit(FORWARD_PER_ROW, SIZE), Var("_rows", SIZE), SIZE),
            ir.BOOL,
        )
        body.append(ir.If(wide, ir.Block(tuple(fwd)), ir.Block(tuple(rev))))
        how = (
            f"vector forward mode, {forward.lanes} columns per pass, while the columns are at most "
            f"{FORWARD_PER_ROW} x the rows;\nelse vector reverse mode, {reverse.lanes} rows per pass"
        )
    elif fwd is not None:
        body += fwd
        how = f"vector forward mode, {forward.lanes} columns per pass"
    else:
        body += rev
        how = f"vector reverse mode, {reverse.lanes} rows per pass (one forward and one reverse sweep each)"
    params = list(fn.params) + [ir.Param("_jac", DPTR)] + [ir.Param(f"_n_{a}", SIZE) for a in layout.sizes]
    rownames = ", ".join(f"{o}[0:_n_{o}]" for o in layout.outputs)
    colnames = ", ".join(f"{i}[0:_n_{i}]" if i in n else i for i in layout.inputs)
    comment = (
        f"Jacobian of {fn.name}: {how}.\n"
        f"_jac: row-major, rows = {rownames}, columns = {colnames}; overwritten.\n"
        "Seeds and results of the passes live in scratch memory each thread keeps (no allocation "
        "in steady state)."
    )
    return ir.Function(name, ir.VOID, tuple(params), ir.Block(tuple(body)), fn.loc, comment)


def _call(name: str, args: list[ir.Expr]) -> ir.Stmt:
    return ir.ExprStmt(ir.Call(name, tuple(args), ir.VOID))


def _at(base: str, offset: ir.Expr, lanes: int) -> ir.Expr:
    """``base + offset * lanes`` (``base`` alone at offset 0)."""
    if isinstance(offset, ir.Lit) and offset.text == "0":
        return Var(base, DPTR)
    return ir.Binary("+", Var(base, DPTR), ir.Binary("*", offset, lit(lanes, SIZE), SIZE), DPTR)


def _scratch(lanes: int, extra: ir.Expr | None = None) -> list[ir.Stmt]:
    """``_in`` (cols x lanes), ``_out`` (rows x lanes) and what follows, in one scratch block."""
    size: ir.Expr = ir.Binary("+", Var("_cols", SIZE), Var("_rows", SIZE), SIZE)
    size = ir.Binary("*", size, lit(lanes, SIZE), SIZE)
    if extra is not None:
        size = ir.Binary("+", size, extra, SIZE)
    return [
        ir.Decl("_in", DPTR, ir.Call("::pyclad::jacobian_scratch", (size,), DPTR)),
        ir.Decl("_out", DPTR, _at("_in", Var("_cols", SIZE), lanes)),
    ]


def _buffer_args(fn: ir.Function, layout: Layout, k: Kernel, offsets, row_of) -> list[ir.Expr]:
    """The kernel's buffer arguments: an input's rows of ``_in`` at its first column, an
    output's rows of ``_out`` at its first row, then ``_d_result``'s lanes if it has one."""
    out: list[ir.Expr] = []
    for b in k.buffers:
        if b in layout.inputs:
            out.append(_at("_in", offsets[b], k.lanes))
        else:
            out.append(_at("_out", row_of[b], k.lanes))
    if k.result:
        out.append(Var("_d_result", DPTR))
    return out


def _rows_of(layout: Layout, n) -> dict[str, ir.Expr]:
    """The first Jacobian row of each output."""
    at: dict[str, ir.Expr] = {}
    row: ir.Expr = lit(0, SIZE)
    for o in layout.outputs:
        at[o] = row
        row = _sum(row, n[o])
    return at


def _loop(var: str, bound: str, lanes: int, body: list[ir.Stmt]) -> ir.Stmt:
    v = Var(var, SIZE)
    return ir.For(
        (ir.Decl(var, SIZE, lit(0, SIZE)),),
        ir.Binary("<", v, Var(bound, SIZE), ir.BOOL),
        ir.Assign("+=", v, lit(lanes, SIZE), SIZE),
        ir.Block(tuple(body)),
    )


def _forward(fn: ir.Function, layout: Layout, k: Kernel, n, offsets, keep_outputs: bool) -> list[ir.Stmt]:
    """Passes of ``k.lanes`` columns.  Each pass runs the primal again; with ``keep_outputs``
    the outputs' values at entry are kept and put back before every pass after the first (a
    function that reads its outputs sees what it saw the first time)."""
    lanes = k.lanes
    row_of = _rows_of(layout, n)
    extra: ir.Expr | None = Var("_rows", SIZE) if keep_outputs else None
    if k.result:
        more = lit(lanes, SIZE)
        extra = more if extra is None else ir.Binary("+", extra, more, SIZE)
    out = _scratch(lanes, extra)
    after_out = _at("_out", Var("_rows", SIZE), lanes)
    if keep_outputs:
        out.append(ir.Decl("_keep", DPTR, after_out))
        after_out = ir.Binary("+", Var("_keep", DPTR), Var("_rows", SIZE), DPTR)
    if k.result:
        out.append(ir.Decl("_d_result", DPTR, after_out))
    keep, back = [], []
    for o in layout.outputs if keep_outputs else ():
        at = row_of[o]
        dest = Var("_keep", DPTR) if _zero(at) else ir.Binary("+", Var("_keep", DPTR), at, DPTR)
        src = Var(o, fn.param(o).type)
        end = ir.Binary("+", src, n[o], DPTR)
        keep.append(_call("::std::copy", [src, end, dest]))
        back.append(_call("::std::copy", [dest, ir.Binary("+", dest, n[o], DPTR), src]))
    out += keep
    pass_body: list[ir.Stmt] = [ir.If(Var("_c0", SIZE), ir.Block(tuple(back)))] if back else []
    pass_body += [
        _call(f"::pyclad::seed_lanes<{lanes}>", [Var("_in", DPTR), Var("_cols", SIZE), Var("_c0", SIZE)]),
        _call("::std::fill", [Var("_out", DPTR), _at("_out", Var("_rows", SIZE), lanes), lit(0)]),
        _call(
            k.function.name,
            [Var(p.name, p.type) for p in fn.params] + _buffer_args(fn, layout, k, offsets, row_of),
        ),
        _call(
            f"::pyclad::put_columns<{lanes}>",
            [Var("_out", DPTR), Var("_rows", SIZE), Var("_jac", DPTR), Var("_cols", SIZE), Var("_c0", SIZE)],
        ),
    ]
    return out + [_loop("_c0", "_cols", lanes, pass_body)]


def _reverse(fn: ir.Function, layout: Layout, k: Kernel, n, offsets) -> list[ir.Stmt]:
    """Passes of ``k.lanes`` rows: the outputs' adjoints seeded with unit vectors, the
    inputs' accumulated from zero.  The pullback puts the outputs back as it found them."""
    lanes = k.lanes
    row_of = _rows_of(layout, n)
    pass_body: list[ir.Stmt] = [
        _call("::std::fill", [Var("_in", DPTR), _at("_in", Var("_cols", SIZE), lanes), lit(0)]),
        _call(f"::pyclad::seed_lanes<{lanes}>", [Var("_out", DPTR), Var("_rows", SIZE), Var("_r0", SIZE)]),
        _call(
            k.function.name,
            [Var(p.name, p.type) for p in fn.params] + _buffer_args(fn, layout, k, offsets, row_of),
        ),
        _call(
            f"::pyclad::put_rows<{lanes}>",
            [Var("_in", DPTR), Var("_cols", SIZE), Var("_jac", DPTR), Var("_rows", SIZE), Var("_r0", SIZE)],
        ),
    ]
    return _scratch(lanes) + [_loop("_r0", "_rows", lanes, pass_body)]


def _zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Lit) and e.text == "0"
