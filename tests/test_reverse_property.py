"""Property test: pyclad.gradient of randomly generated C++ programs agrees with finite
differences of the primal.

The programs come from a small grammar: straight-line code over a few double locals
(= += -= *=, + - * /, sin cos exp), for loops with constant, int-parameter and
value-dependent trip counts, if/else on int parameters, loop counters and comparisons
of values, switch (fall-through, default) on ints, break / continue / early return on
loop counters, side effects inside expressions (increments, nested assignments, the comma
operator), calls to a fixed helper and to fixed functions with a reference
output (one of them with its result inside arithmetic), reads of a const array parameter and reads and
writes of a second array parameter.

It also has the shapes of numeric kernels' loops: block locals declared in loop bodies
(``double q = 1.0; if (i < n - 1) q = x[i];``) whose initialisers read values carried from
the previous iteration, carried copies at the end of an iteration (``p = q``), running sums
read before they are updated, an accumulator no expression reads (``e += d * d``), array
elements written at the counter and read at a shifted index the next iteration
(``w[i % 3] = 0.5 * w[(i + 2) % 3] + ...``), early continue / break after a carried update,
nested loops with inner locals and trip counts from the outer counter, and loop bodies
that call nothing but <cmath> (so that the reverse sweep may recompute their locals).

Safety of the finite-difference reference:
- divisions are by ``1.5 + e * e``, so never near zero; ``exp`` takes ``0.25 * e``;
  programs whose value is not finite or exceeds 1e4 at the point are rejected;
- branches on values are traced: each program is compiled a second time as
  ``NAME_trace``, which returns a hash of the outcomes of all value comparisons it
  evaluated.  A finite-difference stencil whose points do not all take the same
  branches as the centre point is not used (the derivative there is one-sided).
- the finite-difference error is estimated from two step sizes (h and h/2) and
  allowed for on top of a 1e-8 relative / 1e-10 absolute tolerance.

Hypothesis runs derandomized (the same programs every run) without a database;
PYCLAD_PROPERTY_EXAMPLES=N runs N random programs per test instead (see property_settings).
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
from conftest import fd, fresh, moved_args
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pyclad

PARAMS = ("x0", "x1", "x2")
LOCALS = ("v0", "v1", "v2")
ACC = "e0"  # an accumulator no expression reads: ``e += d * d`` after ``double d = q - p``
ALEN = 3  # length of the array params a (read only) and w (read and written)

PRELUDE = """\
#include <cmath>
static inline double prop_helper(double a, double b) { return a * std::sin(b) + 0.5 * b; }
static inline void prop_hout(double a, double& b) { b = b * std::cos(a) + 0.5 * a; }
static inline double prop_gref(double a, double& b) {
    b = b * 0.5 + std::sin(a);
    return b * a + 1.0;
}
static inline bool prop_rec(double& h, bool c) {
    h = std::fmod(h * 3 + (c ? 1 : 2), 1e9 + 7);
    return c;
}
"""

_names = itertools.count()


# ---------------------------------------------------------------------------- the grammar
@st.composite
def expr(draw, depth: int, loops: tuple[str, ...], scope: tuple[str, ...] = (), pure: bool = False) -> str:
    """A double expression over the parameters, the function's locals, the block locals in
    ``scope`` and the arrays, also at (shifted) loop-counter indices; ``pure``: no calls
    but to <cmath> (such an initialiser may be recomputed rather than taped)."""
    leaves = list(PARAMS) + list(LOCALS) + [f"a[{k}]" for k in range(ALEN)] + [f"w[{k}]" for k in range(ALEN)]
    leaves += [f"a[{i} % {ALEN}]" for i in loops]
    leaves += [f"w[({i} + {k}) % {ALEN}]" for i in loops for k in range(ALEN)]
    leaves += list(scope) * 3  # the block's own locals are read often
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 5)) == 0:
            return draw(st.sampled_from(["0.5", "1.25", "2.0", "0.75"]))
        return draw(st.sampled_from(leaves))
    kind = draw(
        st.sampled_from(["+", "-", "*", "/", "sin", "cos", "exp", "int"] + ([] if pure else ["call"]))
    )
    a = draw(expr(depth - 1, loops, scope, pure))
    if kind in "+-*":
        b = draw(expr(depth - 1, loops, scope, pure))
        return f"({a} {kind} {b})"
    if kind == "/":
        b = draw(expr(depth - 1, loops, scope, pure))
        return f"({a} / (1.5 + {b} * {b}))"
    if kind in ("sin", "cos"):
        return f"std::{kind}({a})"
    if kind == "exp":
        return f"std::exp(0.25 * {a})"
    if kind == "call":
        b = draw(expr(depth - 1, loops, scope, pure))
        return f"prop_helper({a}, {b})"
    # an int parameter or loop counter mixed in (never differentiated)
    i = draw(st.sampled_from(("n",) + loops))
    return f"({a} * ({i} + 1))"


@st.composite
def block(
    draw,
    depth: int,
    loops: tuple[str, ...],
    size: int,
    scope: tuple[str, ...] = (),
    ids=None,
    calm: bool = False,
) -> list:
    """A list of statements, each a tuple (kind, ...).  ``scope`` holds the block locals
    (``double t0 = ...``) declared by enclosing blocks; a declaration here adds one for the
    statements after it.  ``ids`` numbers the block locals: each name is declared once per
    function (the reverse sweep may recompute such a local instead of taping it)."""
    out = []
    ids = itertools.count() if ids is None else ids
    # half the loop bodies call nothing but <cmath>, as numeric kernels do: their locals
    # may be recomputed in the reverse sweep (an impure call anywhere after one prevents it)
    calm = calm or (bool(loops) and draw(st.booleans()))

    def e(d: int, pure: bool = False) -> str:
        return draw(expr(d, loops, scope, pure or calm))

    for _ in range(draw(st.integers(1, size))):
        choices = ["assign", "assign", "assign", "warr", "hout", "gref", "effect", "decl"]
        if depth > 0:
            choices += ["for_const", "for_param", "for_value", "if_param", "if_value", "switch"]
            choices += ["for_const", "for_param"] if not loops else ["for_outer"]
        if loops:
            choices += ["if_counter", "jump", "carry_jump", "running", "wshift"] + ["decl", "carry"] * 3
        if calm:
            choices = [c for c in choices if c not in ("hout", "gref", "effect")]
        kind = draw(st.sampled_from(choices))
        if kind == "assign":
            op = draw(st.sampled_from(["=", "+=", "-=", "*="]))
            target = draw(st.sampled_from(LOCALS + scope))
            value = e(2)
            if op == "*=":
                value = f"std::cos({value})"  # keeps repeated products bounded
            out.append(("assign", target, op, value))
        elif kind == "decl":  # a block local: its initialiser may read carried values
            name = f"t{next(ids)}"
            init = draw(st.sampled_from(["1.0", "0.0", e(2, pure=True), e(2, pure=True), e(1)]))
            out.append(("decl", name, init))
            if loops and draw(st.integers(0, 2)) == 0:  # conditionally reassigned, on the counter
                i = draw(st.sampled_from(loops))
                cond = draw(st.sampled_from([f"{i} < n - 1", f"{i} > 0", f"{i} % 2 == 0", f"{i} < 2"]))
                op = draw(st.sampled_from(["=", "=", "+="]))
                out.append(("if", cond, [("assign", name, op, e(1))], [], False))
            scope += (name,)
            if draw(st.booleans()):  # used at once: e += d * d * d
                target = draw(st.sampled_from((ACC, ACC) + LOCALS))
                out.append(
                    ("assign", target, draw(st.sampled_from(["+=", "-="])), f"{name} * {e(1, pure=True)}")
                )
        elif kind == "carry":  # p = q: a value carried into the next iteration
            target = draw(st.sampled_from(LOCALS))
            out.append(("assign", target, "=", draw(st.sampled_from(scope + LOCALS + ("w[0]",)))))
        elif kind == "running":  # a running sum read before it is updated
            total = draw(st.sampled_from(LOCALS))
            other = draw(st.sampled_from([v for v in (ACC,) + LOCALS + scope if v != total]))
            out.append(("assign", other, "+=", f"{total} * {e(1, pure=True)}"))
            out.append(("assign", total, "+=", f"0.5 * {e(1, pure=True)}"))
        elif kind == "wshift":  # w[i] written, w[i - 1] (mod the length) read the next iteration
            i = draw(st.sampled_from(loops))
            shift = draw(st.integers(1, ALEN - 1))
            op = draw(st.sampled_from(["=", "+="]))
            value = f"0.5 * w[({i} + {shift}) % {ALEN}] + {e(1, pure=True)}"
            out.append(("assign", f"w[{i} % {ALEN}]", op, value))
        elif kind == "carry_jump":  # an early continue / break after a carried update
            i = draw(st.sampled_from(loops))
            out.append(("assign", draw(st.sampled_from(LOCALS)), draw(st.sampled_from(["=", "+="])), e(1)))
            what = draw(st.sampled_from(["continue", "continue", "break"]))
            out.append(("jump", f"{i} == {draw(st.integers(0, 2))}", what))
        elif kind == "warr":
            index = draw(st.sampled_from([str(k) for k in range(ALEN)] + [f"{i} % {ALEN}" for i in loops]))
            op = draw(st.sampled_from(["=", "+="]))
            out.append(("assign", f"w[{index}]", op, e(1)))
        elif kind == "hout":
            out.append(("hout", e(1), draw(st.sampled_from(LOCALS + scope))))
        elif kind == "gref":  # a call that writes a local and whose result feeds arithmetic
            local = draw(st.sampled_from(LOCALS))
            a, b = e(1), e(1)
            a, b = (x if local not in x else "0.5" for x in (a, b))  # no unsequenced read of it
            op = draw(st.sampled_from(["=", "+=", "*="]))
            out.append(("assign", draw(st.sampled_from(LOCALS)), op, f"{b} * prop_gref({a}, {local})"))
        elif kind == "effect":  # a side effect inside an expression: ++/--, nested =, comma
            local, target = draw(st.sampled_from([(u, t) for u in LOCALS for t in LOCALS if u != t]))
            a, b = e(1), e(1)
            b = b if local not in b else "0.5"  # no unsequenced read of the modified local
            form = draw(st.sampled_from(["post", "pre", "nested", "comma"]))
            if form in ("post", "pre"):
                step = draw(st.sampled_from(["++", "--"]))
                value = f"({local}{step}) * {b}" if form == "post" else f"({step}{local}) * {b}"
            elif form == "nested":
                value = f"({local} = {a}) * {b}"
            else:
                value = f"({local} += {a}, {local} * {e(1)})"
            out.append(("assign", target, draw(st.sampled_from(["=", "+=", "-="])), value))
        elif kind in ("for_const", "for_param", "for_outer"):
            var = f"i{len(loops)}"
            if kind == "for_const":
                bound = str(draw(st.integers(1, 3)))
            elif kind == "for_param":
                bound = "n"
            else:  # an inner loop whose trip count is the outer counter's
                bound = f"{draw(st.sampled_from(loops))} + 1"
            body = draw(block(depth - 1, loops + (var,), 4, scope, ids, calm))
            out.append(("for", var, bound, body, None))
        elif kind == "for_value":  # the trip count depends on the values
            var = f"i{len(loops)}"
            test = f"{draw(st.sampled_from(LOCALS))} < {e(1)}"
            body = draw(block(depth - 1, loops + (var,), 4, scope, ids, calm))
            out.append(("for", var, "4", body, test))
        elif kind == "switch":  # on an int parameter or a loop counter; fall-through, default
            on = draw(st.sampled_from(("n",) + loops))
            cases = []
            for label in draw(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True)):
                cases.append(
                    (str(label), draw(block(depth - 1, loops, 2, scope, ids, calm)), draw(st.booleans()))
                )
            if draw(st.booleans()):
                cases.append(("default", draw(block(depth - 1, loops, 2, scope, ids, calm)), True))
            out.append(("switch", f"{on} % 4", cases))
        elif kind == "if_param":
            cond = f"n > {draw(st.integers(0, 3))}"
            then, other = (
                draw(block(depth - 1, loops, 2, scope, ids, calm)),
                draw(block(depth - 1, loops, 2, scope, ids, calm)),
            )
            out.append(("if", cond, then, other, False))
        elif kind == "if_value":
            lhs, rhs = e(1), e(1)
            then, other = (
                draw(block(depth - 1, loops, 2, scope, ids, calm)),
                draw(block(depth - 1, loops, 2, scope, ids, calm)),
            )
            out.append(("if", f"{lhs} > {rhs}", then, other, True))
        elif kind == "if_counter":
            i = draw(st.sampled_from(loops))
            cond = f"{i} % 2 == {draw(st.integers(0, 1))}"
            out.append(("if", cond, draw(block(depth - 1, loops, 2, scope, ids, calm)), [], False))
        else:  # jump: break / continue / return, on a loop counter
            i = draw(st.sampled_from(loops))
            what = draw(st.sampled_from(["break", "continue", "return"]))
            out.append(("jump", f"{i} == {draw(st.integers(0, 2))}", what))
    return out


@st.composite
def program(draw):
    ids = itertools.count()  # block locals t0, t1, ... each declared once
    body = draw(block(2, (), 5, ids=ids))
    if draw(st.booleans()):  # a numeric kernel's loop: carried values, block locals, no calls
        bound = draw(st.sampled_from(["n", "3", "n + 1"]))
        body.insert(
            draw(st.integers(0, len(body))),
            ("for", "k0", bound, draw(block(1, ("k0",), 6, ids=ids, calm=True)), None),
        )
    result = draw(expr(2, ()))
    point = (
        [draw(st.integers(-140, 140)) / 100 for _ in PARAMS],
        [draw(st.integers(-140, 140)) / 100 for _ in range(ALEN)],
        [draw(st.integers(-140, 140)) / 100 for _ in range(ALEN)],
        draw(st.integers(0, 3)),
    )
    return body, result, point


# ---------------------------------------------------------------------------- C++ text
def render(body, result, name: str, trace: bool) -> str:
    ret = "double"
    params = ", ".join(f"double {p}" for p in PARAMS) + ", const double* a, double* w, int n"
    lines = [f"{ret} {name}({params}) {{"]
    if trace:
        lines.append("    double _h = 0;")
    inits = {"v0": "x0 * 0.5 + a[0]", "v1": "x1 - w[1] * 0.25", "v2": "x2 * x0 + 0.1"}
    lines += [f"    double {v} = {inits[v]};" for v in LOCALS]
    lines.append(f"    double {ACC} = 0.0;")

    def final(value: str) -> str:
        return "return _h;" if trace else f"return {value};"

    def emit(stmts, indent):
        pad = "    " * indent
        for s in stmts:
            if s[0] == "assign":
                lines.append(f"{pad}{s[1]} {s[2]} {s[3]};")
            elif s[0] == "decl":
                lines.append(f"{pad}double {s[1]} = {s[2]};")
            elif s[0] == "hout":
                lines.append(f"{pad}prop_hout({s[1]}, {s[2]});")
            elif s[0] == "for":
                _, var, bound, inner, test = s
                cond = f"{var} < {bound}"
                if test is not None:
                    cond += f" && {f'prop_rec(_h, {test})' if trace else test}"
                lines.append(f"{pad}for (int {var} = 0; {cond}; {var}++) {{")
                emit(inner, indent + 1)
                lines.append(f"{pad}}}")
            elif s[0] == "switch":
                _, on, cases = s
                lines.append(f"{pad}switch ({on}) {{")
                for label, inner, ends in cases:
                    lines.append(f"{pad}    {'default:' if label == 'default' else f'case {label}:'} {{")
                    emit(inner, indent + 2)
                    lines.append(f"{pad}    }}" + (" break;" if ends else ""))
                lines.append(f"{pad}}}")
            elif s[0] == "if":
                _, cond, then, other, on_values = s
                if trace and on_values:
                    cond = f"prop_rec(_h, {cond})"
                lines.append(f"{pad}if ({cond}) {{")
                emit(then, indent + 1)
                if other:
                    lines.append(f"{pad}}} else {{")
                    emit(other, indent + 1)
                lines.append(f"{pad}}}")
            else:
                _, cond, what = s
                stmt = final("v0 * v1 + v2") if what == "return" else f"{what};"
                lines.append(f"{pad}if ({cond}) {stmt}")

    emit(body, 1)
    # every local and the written array reach the result, so their derivatives are all checked
    lines.append(
        f"    {final(f'({result}) + 0.3 * v0 + 0.2 * v1 + 0.1 * v2 + 0.05 * (w[0] + w[1] * w[2]) + 0.15 * {ACC}')}"
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- references
def same_branches(trace, args, index, element, h) -> bool:
    centre = trace(*moved_args(args, index, element, 0.0))
    return all(trace(*moved_args(args, index, element, k * h)) == centre for k in (-2, -1, 1, 2))


H = 1e-3


def property_settings(examples: int) -> settings:
    """``examples`` programs, the same every run (derandomized, no database); with
    PYCLAD_PROPERTY_EXAMPLES=N set, N programs drawn at random instead (seed them with
    pytest's --hypothesis-seed), for long local runs that hunt for bugs."""
    hunt = os.environ.get("PYCLAD_PROPERTY_EXAMPLES")
    return settings(
        max_examples=int(hunt) if hunt else examples,
        deadline=None,
        derandomize=not hunt,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


def load_program(prog, prefix: str, bound: float = 1e4):
    """Compile a drawn program and its branch-tracing twin; returns (source, function, trace,
    arguments).  Programs whose value at the point is not finite or exceeds ``bound`` are
    rejected (finite differences would not be a safe reference there)."""
    body, result, (xs, a, w, n) = prog
    name = f"{prefix}{next(_names)}"
    src = (
        PRELUDE + render(body, result, name, trace=False) + render(body, result, name + "_trace", trace=True)
    )
    m = pyclad.cppdef(src)
    f, trace = getattr(m, name), getattr(m, name + "_trace")
    args = [*xs, np.array(a), np.array(w), n]
    value = f(*fresh(args))
    assume(math.isfinite(value) and abs(value) < bound)
    return src, f, trace, args


@property_settings(45)
@given(program())
def test_random_program_gradient_matches_finite_differences(prog):
    src, f, trace, args = load_program(prog, "prop_fn")

    grad = pyclad.gradient(f)(*moved_args(args, 0, None, 0.0))
    assert len(grad) == 5  # x0, x1, x2, a, w
    inputs = [(k, None, grad[k]) for k in range(3)]
    inputs += [(3, e, grad[3][e]) for e in range(ALEN)] + [(4, e, grad[4][e]) for e in range(ALEN)]
    checked = 0
    for index, element, got in inputs:
        if not same_branches(trace, args, index, element, H):
            continue
        want = fd(f, args, index, element, H)
        error = abs(want - fd(f, args, index, element, H / 2))  # the stencil's own error, roughly
        tol = 1e-8 * abs(want) + 1e-10 + 20 * error
        assert abs(got - want) <= tol, (
            f"d/d{['x0', 'x1', 'x2', 'a', 'w'][index]}{'' if element is None else f'[{element}]'}: "
            f"gradient {got!r}, finite differences {want!r} (± {tol:.1e})\n{src}"
        )
        checked += 1
    assume(checked > 0)
