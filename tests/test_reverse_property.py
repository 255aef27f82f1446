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

Safety of the finite-difference reference:
- divisions are by ``1.5 + e * e``, so never near zero; ``exp`` takes ``0.25 * e``;
  programs whose value is not finite or exceeds 1e4 at the point are rejected;
- branches on values are traced: each program is compiled a second time as
  ``NAME_trace``, which returns a hash of the outcomes of all value comparisons it
  evaluated.  A finite-difference stencil whose points do not all take the same
  branches as the centre point is not used (the derivative there is one-sided).
- the finite-difference error is estimated from two step sizes (h and h/2) and
  allowed for on top of a 1e-8 relative / 1e-10 absolute tolerance.

Hypothesis runs derandomized (the same programs every run) without a database.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from conftest import fd, moved_args
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pyclad

PARAMS = ("x0", "x1", "x2")
LOCALS = ("v0", "v1", "v2")
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
def expr(draw, depth: int, loops: tuple[str, ...]) -> str:
    leaves = list(PARAMS) + list(LOCALS) + [f"a[{k}]" for k in range(ALEN)] + [f"w[{k}]" for k in range(ALEN)]
    leaves += [f"a[{i} % {ALEN}]" for i in loops]
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 5)) == 0:
            return draw(st.sampled_from(["0.5", "1.25", "2.0", "0.75"]))
        return draw(st.sampled_from(leaves))
    kind = draw(st.sampled_from(["+", "-", "*", "/", "sin", "cos", "exp", "call", "int"]))
    a = draw(expr(depth - 1, loops))
    if kind in "+-*":
        b = draw(expr(depth - 1, loops))
        return f"({a} {kind} {b})"
    if kind == "/":
        b = draw(expr(depth - 1, loops))
        return f"({a} / (1.5 + {b} * {b}))"
    if kind in ("sin", "cos"):
        return f"std::{kind}({a})"
    if kind == "exp":
        return f"std::exp(0.25 * {a})"
    if kind == "call":
        b = draw(expr(depth - 1, loops))
        return f"prop_helper({a}, {b})"
    # an int parameter or loop counter mixed in (never differentiated)
    i = draw(st.sampled_from(("n",) + loops))
    return f"({a} * ({i} + 1))"


@st.composite
def block(draw, depth: int, loops: tuple[str, ...], size: int) -> list:
    """A list of statements, each a tuple (kind, ...)."""
    out = []
    for _ in range(draw(st.integers(1, size))):
        choices = ["assign", "assign", "assign", "warr", "hout", "gref", "effect"]
        if depth > 0:
            choices += ["for_const", "for_param", "for_value", "if_param", "if_value", "switch"]
        if loops:
            choices += ["if_counter", "jump"]
        kind = draw(st.sampled_from(choices))
        if kind == "assign":
            op = draw(st.sampled_from(["=", "+=", "-=", "*="]))
            target = draw(st.sampled_from(LOCALS))
            value = draw(expr(2, loops))
            if op == "*=":
                value = f"std::cos({value})"  # keeps repeated products bounded
            out.append(("assign", target, op, value))
        elif kind == "warr":
            index = draw(st.sampled_from([str(k) for k in range(ALEN)] + [f"{i} % {ALEN}" for i in loops]))
            op = draw(st.sampled_from(["=", "+="]))
            out.append(("assign", f"w[{index}]", op, draw(expr(1, loops))))
        elif kind == "hout":
            out.append(("hout", draw(expr(1, loops)), draw(st.sampled_from(LOCALS))))
        elif kind == "gref":  # a call that writes a local and whose result feeds arithmetic
            local = draw(st.sampled_from(LOCALS))
            a, b = draw(expr(1, loops)), draw(expr(1, loops))
            a, b = (x if local not in x else "0.5" for x in (a, b))  # no unsequenced read of it
            op = draw(st.sampled_from(["=", "+=", "*="]))
            out.append(("assign", draw(st.sampled_from(LOCALS)), op, f"{b} * prop_gref({a}, {local})"))
        elif kind == "effect":  # a side effect inside an expression: ++/--, nested =, comma
            local, target = draw(st.sampled_from([(u, t) for u in LOCALS for t in LOCALS if u != t]))
            a, b = draw(expr(1, loops)), draw(expr(1, loops))
            b = b if local not in b else "0.5"  # no unsequenced read of the modified local
            form = draw(st.sampled_from(["post", "pre", "nested", "comma"]))
            if form in ("post", "pre"):
                step = draw(st.sampled_from(["++", "--"]))
                value = f"({local}{step}) * {b}" if form == "post" else f"({step}{local}) * {b}"
            elif form == "nested":
                value = f"({local} = {a}) * {b}"
            else:
                value = f"({local} += {a}, {local} * {draw(expr(1, loops))})"
            out.append(("assign", target, draw(st.sampled_from(["=", "+=", "-="])), value))
        elif kind in ("for_const", "for_param"):
            var = f"i{len(loops)}"
            bound = str(draw(st.integers(1, 3))) if kind == "for_const" else "n"
            body = draw(block(depth - 1, loops + (var,), 3))
            out.append(("for", var, bound, body, None))
        elif kind == "for_value":  # the trip count depends on the values
            var = f"i{len(loops)}"
            test = f"{draw(st.sampled_from(LOCALS))} < {draw(expr(1, loops))}"
            body = draw(block(depth - 1, loops + (var,), 3))
            out.append(("for", var, "4", body, test))
        elif kind == "switch":  # on an int parameter or a loop counter; fall-through, default
            on = draw(st.sampled_from(("n",) + loops))
            cases = []
            for label in draw(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True)):
                cases.append((str(label), draw(block(depth - 1, loops, 2)), draw(st.booleans())))
            if draw(st.booleans()):
                cases.append(("default", draw(block(depth - 1, loops, 2)), True))
            out.append(("switch", f"{on} % 4", cases))
        elif kind == "if_param":
            cond = f"n > {draw(st.integers(0, 3))}"
            out.append(("if", cond, draw(block(depth - 1, loops, 2)), draw(block(depth - 1, loops, 2)), False))
        elif kind == "if_value":
            lhs, rhs = draw(expr(1, loops)), draw(expr(1, loops))
            out.append(("if", f"{lhs} > {rhs}", draw(block(depth - 1, loops, 2)), draw(block(depth - 1, loops, 2)), True))
        elif kind == "if_counter":
            i = draw(st.sampled_from(loops))
            cond = f"{i} % 2 == {draw(st.integers(0, 1))}"
            out.append(("if", cond, draw(block(depth - 1, loops, 2)), [], False))
        else:  # jump: break / continue / return, on a loop counter
            i = draw(st.sampled_from(loops))
            what = draw(st.sampled_from(["break", "continue", "return"]))
            out.append(("jump", f"{i} == {draw(st.integers(0, 2))}", what))
    return out


@st.composite
def program(draw):
    body = draw(block(2, (), 5))
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

    def final(value: str) -> str:
        return "return _h;" if trace else f"return {value};"

    def emit(stmts, indent):
        pad = "    " * indent
        for s in stmts:
            if s[0] == "assign":
                lines.append(f"{pad}{s[1]} {s[2]} {s[3]};")
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
    lines.append(f"    {final(f'({result}) + 0.3 * v0 + 0.2 * v1 + 0.1 * v2 + 0.05 * (w[0] + w[1] * w[2])')}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- references
def same_branches(trace, args, index, element, h) -> bool:
    centre = trace(*moved_args(args, index, element, 0.0))
    return all(trace(*moved_args(args, index, element, k * h)) == centre for k in (-2, -1, 1, 2))


H = 1e-3


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(program())
def test_random_program_gradient_matches_finite_differences(prog):
    body, result, (xs, a, w, n) = prog
    name = f"prop_fn{next(_names)}"
    src = PRELUDE + render(body, result, name, trace=False) + render(body, result, name + "_trace", trace=True)
    m = pyclad.cppdef(src)
    f, trace = getattr(m, name), getattr(m, name + "_trace")
    args = [*xs, np.array(a), np.array(w), n]
    value = f(*moved_args(args, 0, None, 0.0))
    assume(math.isfinite(value) and abs(value) < 1e4)

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
