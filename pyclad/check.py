"""Gradient checks: forward mode, reverse mode and central finite differences compared.

``check_grads(m.f, args)`` does what JAX's ``jax.test_util.check_grads`` does for a C++
function: it differentiates ``f`` at ``args`` in every requested mode, with respect to every
floating input (each scalar parameter and each element of each floating array parameter),
and compares each derivative with finite differences of the primal.  For a function that
writes output arrays instead of returning a value (``void h(const double* x, double* out)``)
it compares every entry of the Jacobian.  ``order=2`` also
compares the Hessian (forward over reverse) with finite differences of the gradient, and
the forward-over-forward second derivatives with finite differences of the first.

Finite differences use the 5-point central stencil
``(8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h`` with ``h = eps * max(1, |x|)``, eps
``1e-3`` by default: truncation error ~ h^4 |f^(5)| / 30 and rounding error ~ 1e-16 |f| / h,
about 1e-12 relative on smooth functions.  An entry passes when
``|derivative - fd| <= atol + rtol * |fd|`` (both NaN, or the same infinity, also passes);
``atol`` and ``rtol`` default to ``1e-6``, far above the stencil's error and far below the
error of a wrong derivative rule.  A function computing in single precision (a ``float``
result or parameter) rounds ~1e-7 relative, so its defaults are eps ``1e-2`` and tolerances
``1e-3``.  Near a kink or a branch the stencil straddles, finite
differences are not a reference: move the point or loosen the tolerances.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import api, ir
from .errors import ArgumentError, GradientCheckError, NoDerivativeError, PycladError, UnsupportedError

DEFAULT_EPS = 1e-3
DEFAULT_ATOL = 1e-6
DEFAULT_RTOL = 1e-6
SINGLE_EPS = 1e-2  # the defaults for a function computing in single precision
SINGLE_TOL = 1e-3
SHOWN = 10  # entries in a failure's table, the worst first
FWD_OVER_FWD_MAX = 32  # inputs for which order 2 also runs forward over forward (one kernel each)


@dataclass
class Entry:
    """One derivative compared: ``values`` per mode ("fwd", "rev") against ``fd``."""

    label: str
    fd: float
    values: dict[str, float] = field(default_factory=dict)

    def error(self) -> float:
        """The largest absolute difference of a mode from the finite differences."""
        return max((_diff(v, self.fd) for v in self.values.values()), default=0.0)

    def ok(self, atol: float, rtol: float) -> bool:
        return all(_close(v, self.fd, atol, rtol) for v in self.values.values())

    def badness(self, atol: float, rtol: float) -> float:
        """How many tolerances away the worst mode is (for sorting the table)."""
        tol = atol + rtol * abs(self.fd) if math.isfinite(self.fd) else 1.0
        return self.error() / tol if tol > 0 else math.inf


def _diff(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b) or (math.isinf(a) and a == b):
        return 0.0
    d = abs(a - b)
    return math.inf if math.isnan(d) else d


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    return _diff(a, b) <= atol + rtol * (abs(b) if math.isfinite(b) else 0.0)


def check_grads(
    f,
    args: Sequence,
    order: int = 1,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> None:
    """Raise GradientCheckError (a PycladError and an AssertionError) with a table of the
    worst entries if any derivative of ``f`` at ``args`` disagrees with finite differences
    (see the module docstring for the stencil and the tolerances); return None otherwise."""
    passed, message = _verdict(f, args, order, modes, eps, atol, rtol)
    if not passed:
        raise GradientCheckError(message, api._handle(f).ir.loc)


def _verdict(f, args, order, modes, eps, atol, rtol) -> tuple[bool, str]:
    """(passed, the failure's message or the table of every entry)."""
    fn = api._handle(f)
    single = _single_precision(fn)
    atol = (SINGLE_TOL if single else DEFAULT_ATOL) if atol is None else atol
    rtol = (SINGLE_TOL if single else DEFAULT_RTOL) if rtol is None else rtol
    eps = SINGLE_EPS if eps is None and single else eps
    entries = compare(fn, args, order, modes, eps)
    bad = [e for e in entries if not e.ok(atol, rtol)]
    if bad:
        return False, failure_message(fn, args, entries, bad, atol, rtol, eps)
    return True, f"gradient check of {fn.name} at {_args_text(args)} passed:\n" + table(entries)


def _single_precision(fn: api.Function) -> bool:
    """Whether ``fn`` computes in single precision: finite differences of it are ~1e-4 accurate."""
    types = [fn.ir.ret, *(p.type for p in fn.ir.params)]
    return any(t.base == "float" for t in types)


def compare(
    f, args: Sequence, order: int = 1, modes: Sequence[str] = ("fwd", "rev"), eps=None
) -> list[Entry]:
    """Every entry of the check: first derivatives, then (order 2) second derivatives."""
    fn = api._handle(f)
    modes = _modes(fn, modes, order)
    eps = DEFAULT_EPS if eps is None else eps
    if not isinstance(eps, (int, float)) or not eps > 0:
        raise ArgumentError(f"eps must be a positive number, got {eps!r}", fn.ir.loc)
    point = _point(fn, args)
    if not fn.ir.ret.is_float:
        return _jacobian_entries(fn, modes, point, order, eps)
    inputs = _inputs(fn, point)
    names = [p for p, _ in _grouped(inputs)]
    first = {mode: _first_derivatives(fn, names, mode, point) for mode in modes}
    entries = []
    for k, (label, _, _) in enumerate(inputs):
        e = Entry(label, float(_stencil(lambda at: _value(fn, at), point, inputs[k], eps)))
        e.values = {mode: first[mode][k] for mode in modes}
        entries.append(e)
    if order == 2:
        entries += _second_order(fn, names, modes, point, inputs, eps)
    return entries


def _modes(fn, modes, order) -> list[str]:
    if order not in (1, 2):
        raise ArgumentError(f"order must be 1 or 2, got {order!r}", fn.ir.loc)
    if isinstance(modes, str):
        modes = (modes,)
    modes = list(modes)
    if not modes or any(m not in ("fwd", "rev") for m in modes):
        raise ArgumentError(f"modes must be a non-empty subset of ('fwd', 'rev'), got {modes!r}", fn.ir.loc)
    return modes


def _point(fn: api.Function, args: Sequence) -> list:
    """The arguments as the primal takes them: float64 (or the parameter's dtype) copies."""
    if not isinstance(args, (tuple, list)):
        raise ArgumentError(
            f"check_grads takes the arguments of {fn.name} as a tuple, e.g. (1.0,), got {type(args).__name__}",
            fn.ir.loc,
        )
    if len(args) != len(fn.ir.params):
        raise ArgumentError(
            f"{fn.name} takes {len(fn.ir.params)} arguments, check_grads got {len(args)}", fn.ir.loc
        )
    out = []
    for p, a in zip(fn.ir.params, args):
        if p.type.is_container and p.type.element().kind in ir.CONTAINERS:
            raise UnsupportedError(
                f"check_grads of a {p.type.spell()} parameter ('{p.name}')", p.loc or fn.ir.loc
            )
        if p.type.is_container and p.type.holds_float:  # numbers in a std::vector / std::array
            out.append(np.array(a, dtype=api._DTYPES.get(p.type.element().base, np.float64)).reshape(-1))
        elif p.type.ptr:
            dtype = api._DTYPES.get(p.type.base) or api._INT_DTYPES.get(p.type.base, np.float64)
            out.append(np.array(a, dtype=dtype).reshape(-1))
        elif p.type.holds_float:
            out.append(float(a))
        else:
            out.append(a)
    return out


def _inputs(fn: api.Function, point: list) -> list[tuple[str, int, int | None]]:
    """(label, argument index, element or None) for every floating input."""
    out = []
    for i, p in enumerate(fn.ir.params):
        if not p.type.holds_float:
            continue
        if p.type.indexable:
            out += [(f"{p.name}[{k}]", i, k) for k in range(point[i].shape[0])]
        else:
            out.append((p.name, i, None))
    if not out:
        raise PycladError(f"'{fn.name}' has no floating-point input to check", fn.ir.loc)
    return out


def _grouped(inputs) -> list[tuple[str, int]]:
    """The parameters the inputs belong to, in order: (name, argument index)."""
    seen = []
    for label, i, _ in inputs:
        name = label.split("[")[0]
        if not seen or seen[-1][1] != i:
            seen.append((name, i))
    return seen


def _flat(value) -> list[float]:
    parts = value if isinstance(value, tuple) else (value,)
    return [float(v) for part in parts for v in np.ravel(np.asarray(part, dtype=np.float64))]


def _first_derivatives(fn, names: list[str], mode: str, point: list) -> list[float]:
    if mode == "fwd" and any(fn.ir.param(n).type.is_container for n in names):
        # Vector forward mode takes no container directions: one element at a time.
        labels = [label for label, _, _ in _inputs(fn, point) if label.split("[")[0] in names]
        return [float(api.differentiate(fn, label)(*point)) for label in labels]
    d = api.differentiate(fn, names) if mode == "fwd" else api.gradient(fn, names)
    return _flat(d(*point))


def _value(fn: api.Function, point: list) -> float:
    return fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in point])


def _moved(point: list, where: tuple[str, int, int | None], delta: float) -> list:
    _, i, k = where
    out = [a.copy() if isinstance(a, np.ndarray) else a for a in point]
    if k is None:
        out[i] = out[i] + delta
    else:
        out[i][k] += delta
    return out


def _stencil(g, point: list, where, eps: float):
    """d g / d input ``where`` at ``point`` by the 5-point central stencil (g may return arrays)."""
    _, i, k = where
    x = point[i] if k is None else point[i][k]
    h = eps * max(1.0, abs(float(x)))

    def at(m):
        return np.asarray(g(_moved(point, where, m * h)), dtype=np.float64)

    return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h)


def _second_order(fn, names, modes, point, inputs, eps) -> list[Entry]:
    """Hessian entries: forward over reverse ("rev") and forward over forward on the diagonal
    ("fwd"), against finite differences of the first derivatives (of the gradient when
    reverse mode is checked, else of forward mode)."""
    first = "rev" if "rev" in modes else "fwd"

    def derivs(at):
        return _first_derivatives(fn, names, first, at)

    fd = np.array([_stencil(derivs, point, where, eps) for where in inputs])
    hess, why = None, None
    if "rev" in modes:
        try:
            hess = api.hessian(fn, names)(*point)
        except (UnsupportedError, NoDerivativeError) as exc:
            why = exc  # e.g. a custom derivative: no vector mode over it; forward over forward may do
    diag = _fwd_over_fwd(fn, point, inputs) if "fwd" in modes else {}
    if hess is None and not diag:
        raise PycladError(
            f"no second derivative of '{fn.name}' is available to check: {why.message if why else 'see above'}",
            fn.ir.loc,
        )
    out = []
    for r, (row, _, _) in enumerate(inputs):
        for c, (col, _, _) in enumerate(inputs):
            e = Entry(f"d2/d{row} d{col}", float(fd[r][c]))
            if hess is not None:
                e.values["rev"] = float(hess[r][c])
            if r == c and r in diag:
                e.values["fwd"] = diag[r]
            if e.values:
                out.append(e)
    return out


def _jacobian_entries(fn, modes, point, order, eps) -> list[Entry]:
    """For a function that writes output arrays: every entry of its Jacobian (forward and
    reverse mode) against finite differences of the outputs."""
    try:
        _, layout = fn.module.source.jacobian_layout(fn.name)
    except PycladError:
        layout = None
    if layout is None:
        raise PycladError(
            f"check_grads compares derivatives of a floating return value or of output arrays; "
            f"'{fn.name}' returns {fn.ir.ret.spell()} and writes no floating array",
            fn.ir.loc,
        )
    if order != 1:
        raise ArgumentError(
            f"order 2 needs a floating return value; '{fn.name}' writes output arrays (check order 1)",
            fn.ir.loc,
        )
    inputs = [w for w in _inputs(fn, point) if fn.ir.params[w[1]].name in layout.inputs]
    outs = [i for i, p in enumerate(fn.ir.params) if p.name in layout.outputs]
    rows = [f"{fn.ir.params[i].name}[{k}]" for i in outs for k in range(point[i].shape[0])]

    def outputs(at):
        fn(*at)  # at is a private copy: the primal writes its outputs there
        return np.concatenate([at[i] for i in outs])

    fd = np.array([_stencil(outputs, point, w, eps) for w in inputs]).T
    jac, why = {}, None
    for m in modes:
        try:
            jac[m] = api.jacobian(fn, mode="forward" if m == "fwd" else "reverse")(*point)
        except (UnsupportedError, NoDerivativeError) as exc:
            why = exc  # e.g. a custom derivative has no vector forward mode: the other mode checks
    if not jac:
        raise why
    modes = list(jac)
    out = []
    for r, row in enumerate(rows):
        for c, (col, _, _) in enumerate(inputs):
            out.append(Entry(f"d{row}/d{col}", float(fd[r][c]), {m: float(jac[m][r][c]) for m in modes}))
    return out


def _fwd_over_fwd(fn, point, inputs) -> dict[int, float]:
    """Second derivatives along each input by forward mode applied twice, where it applies."""
    out = {}
    for k, (label, _, _) in enumerate(inputs[:FWD_OVER_FWD_MAX]):
        try:
            d = api.differentiate(fn, label, order=2)
        except (UnsupportedError, NoDerivativeError):
            return out  # e.g. a custom pushforward has no second order: not available
        out[k] = float(d(*point))
    return out


# ---------------------------------------------------------------------------- reports


def table(entries: list[Entry], limit: int | None = None) -> str:
    """A fixed-width table: input, fwd, rev, fd, absolute and relative error."""
    rows = [("input", "fwd", "rev", "fd", "abs err", "rel err")]
    for e in entries[:limit]:
        err = e.error()
        rel = err / abs(e.fd) if e.fd and math.isfinite(e.fd) else err
        rows.append(
            (
                e.label,
                _num(e.values.get("fwd")),
                _num(e.values.get("rev")),
                _num(e.fd),
                f"{err:.2e}",
                f"{rel:.2e}",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(6)]
    return "\n".join(
        "  "
        + "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
        for r in rows
    )


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.10g}"


def failure_message(fn, args, entries, bad, atol, rtol, eps) -> str:
    worst = sorted(bad, key=lambda e: -e.badness(atol, rtol))
    step = DEFAULT_EPS if eps is None else eps
    shown = f", the worst {SHOWN}" if len(worst) > SHOWN else ""
    return (
        f"gradient check of {fn.name} at {_args_text(args)} failed: {len(bad)} of {len(entries)} "
        f"derivatives differ from finite differences (tolerance {atol:g} + {rtol:g} |fd|; "
        f"5-point central differences, h = {step:g} * max(1, |x|)){shown}:\n" + table(worst, SHOWN)
    )


def _args_text(args) -> str:
    parts = []
    for a in args:
        if isinstance(a, (np.ndarray, list, tuple)):
            parts.append(np.array2string(np.asarray(a), threshold=8, separator=", "))
        else:
            parts.append(repr(a))
    return "(" + ", ".join(parts) + ")"


# ---------------------------------------------------------------------- command line


def parse_at(text: str) -> list:
    """``"1.0, 2.0"`` or ``"[1, 2, 3], 0.5, 3"``: numbers and bracketed arrays, in order."""
    try:
        values = ast.literal_eval("[" + text + "]")
    except (SyntaxError, ValueError):
        raise ArgumentError(
            f"cannot read --at {text!r}: expected numbers and [arrays], e.g. '1.0, [2, 3]'"
        ) from None
    if not isinstance(values, list):
        raise ArgumentError(f"cannot read --at {text!r}: expected numbers and [arrays], e.g. '1.0, [2, 3]'")

    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for v in values:
        if not (number(v) or (isinstance(v, (list, tuple)) and v and all(number(x) for x in v))):
            raise ArgumentError(f"cannot read --at {text!r}: {v!r} is not a number or a [list of numbers]")
    return [list(v) if isinstance(v, (list, tuple)) else v for v in values]


def run_cli_check(
    path: str,
    name: str,
    at: str,
    std: str = "c++17",
    include_dirs: Sequence[str] = (),
    defines=None,
    order: int = 1,
) -> tuple[bool, str]:
    """``pyclad check FILE.cpp -f NAME --at "..."``: load the file, check ``name`` at the
    point given, and return (passed, report).  The report is the failure's message, located
    (``file:line:col: error: ...``), or on success a table of every derivative.  Errors in the source or the arguments raise
    PycladError as everywhere else (the command prints them and exits 1)."""
    module = api.load(path, std=std, include_dirs=include_dirs, defines=defines)
    fn = module[name]
    passed, report = _verdict(fn, parse_at(at), order, ("fwd", "rev"), None, None, None)
    return passed, report if passed else str(GradientCheckError(report, fn.ir.loc))


__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_EPS",
    "DEFAULT_RTOL",
    "check_grads",
    "compare",
    "parse_at",
    "run_cli_check",
]
