"""Reverse mode (pyclad.gradient / value_and_grad) over a table of C++ functions.

Every gradient is checked against two references pyclad's reverse mode did not
produce: forward mode (pyclad.differentiate, one call per scalar input and per
array element) and 5-point central finite differences of the primal itself.
The functions live in tests/cases_reverse/constructs.cpp, loaded once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import arr, fd
from conftest import fresh as copy_args

import pyclad

HERE = Path(__file__).parent
CONSTRUCTS = HERE / "cases_reverse" / "constructs.cpp"

FD_STEP = 1e-3
RTOL = 1e-8  # relative agreement wanted
ATOL = 1e-9  # absolute floor, for derivatives that are (near) zero


def close(got, want, rtol=RTOL, atol=ATOL) -> bool:
    return math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)


def check_close(got, want, what, rtol=RTOL, atol=ATOL):
    assert close(got, want, rtol, atol), (
        f"{what}: got {float(got)!r}, want {float(want)!r} (diff {float(got) - float(want):.3e})"
    )


@dataclass
class Case:
    """``fn`` differentiated w.r.t. ``wrt`` (None: every floating parameter) at each point."""

    fn: str
    points: list[tuple]
    wrt: object = None
    id: str = ""
    fd_rtol: float = RTOL
    forward: bool = True  # compare with forward mode too (see test_forward_mode_call_writing_through_ref)

    def __post_init__(self):
        if not self.id:
            self.id = self.fn if self.wrt is None else f"{self.fn}[{self.wrt}]"


A4 = arr(0.3, 0.8, -0.5, 1.1)
A5 = arr(0.5, 0.6, 0.9, 1.2, 0.3)

CASES = [
    # straight-line code: locals and params reassigned in place, compound ops, ++/--
    Case("r_local_reassign", [(0.7, 1.3), (-0.4, 0.9)]),
    Case("r_compound", [(0.7, 1.3), (1.5, -0.4)]),
    Case("r_incdec", [(0.7,), (-1.2,)]),
    Case("r_param_reassign", [(0.7, 1.3), (-0.5, 0.8)]),
    Case("r_int_locals", [(0.7, 1.3)]),
    Case("r_int_bool_params", [(0.7, 3, True), (0.7, 3, False), (-1.1, 0, True)]),
    Case("r_bool_local", [(1.5, 0.4), (0.4, 1.5)]),
    Case("r_cast", [(0.7, 1.3), (1.3, 0.4)]),
    # wrt naming a subset, as a string or a list
    Case("r_subset", [(0.7, 1.3, -0.6)]),
    Case("r_subset", [(0.7, 1.3, -0.6)], wrt="x, y"),
    Case("r_subset", [(0.7, 1.3, -0.6)], wrt=["x"]),
    Case("r_subset", [(0.7, 1.3, -0.6)], wrt=["z"]),
    Case("r_subset", [(0.7, 1.3, -0.6)], wrt="y,z"),
    # branches
    Case("r_ternary", [(1.5, 0.4), (0.4, 1.5)]),
    Case("r_ternary_nested", [(0.7, 1.3), (0.7, -1.3), (-0.7, 0.4)]),
    Case("r_ifelse_chain", [(-1.5, 1.3), (-0.5, 1.3), (0.5, 1.3), (1.5, 1.3)]),
    Case("r_if_reassign", [(0.7, 1.3), (0.7, -1.3)]),
    Case("r_early_return", [(1.5, 0.4), (0.5, 0.7), (0.5, -0.7)]),
    Case("r_switch", [(0.7, k) for k in range(6)]),
    Case("r_switch_return", [(0.7, k) for k in range(3)]),
    # loops
    Case("r_for_param", [(1.3, 0), (1.3, 1), (1.3, 5)]),
    Case("r_for_div_sub", [(1.3, 4)]),
    Case("r_for_trip_expr", [(0.7, 3), (0.7, 0)]),
    Case("r_for_step2", [(A5, 5), (A5, 4)]),
    Case("r_param_in_loop", [(0.7, 6)]),
    Case("r_for_break", [(0.7, 2), (0.7, 8)]),
    Case("r_for_break_data", [(0.7,), (2.0,)]),
    Case("r_for_continue", [(A5, 5)]),
    Case("r_while", [(0.7,), (1.1,)]),
    Case("r_while_data", [(1.5,), (0.3,)]),
    Case("r_while_break_continue", [(0.7, 5), (1.2, 1)]),
    Case("r_do_while", [(0.9, 1), (0.9, 4)]),
    Case("r_do_while_break", [(0.5,), (1.5,)]),
    Case("r_early_return_loop", [(A5, 5), (arr(0.1, 0.2, 0.3), 3)]),
    Case("r_early_return_while", [(1.0,), (3.0,)]),
    Case("r_early_return_nested", [(0.9, 3, 4), (0.9, 2, 2), (0.9, 1, 6)]),
    Case("r_nested_loops", [(A4, 4, 3)]),
    Case("r_nested_triangular", [(0.9, 4)]),
    Case("r_nested_break", [(A4, 4)]),
    Case("r_nested_while_data", [(1.3,)]),
    Case("r_switch_in_loop", [(0.8, 7)]),
    Case("r_ternary_in_loop", [(arr(0.5, -0.7, 1.2, -0.3), 4)]),
    Case("r_if_in_loop_data", [(arr(0.8, 0.3, 1.5, -0.4, 0.9), 5)]),
    # array parameters read and written, local arrays
    Case("r_sum_sin", [(np.linspace(0.1, 1, 5), 5)]),
    Case("r_array_rw", [(A4, 4)]),
    Case("r_array_chain", [(A4, 4)]),
    Case("r_array_twice", [(A4, 4)]),
    Case("r_array_compound", [(A4, 4)]),
    Case("r_array_incdec", [(arr(0.3, 0.8, -0.5),)]),
    Case("r_two_arrays", [(arr(0.3, 0.8, -0.5), arr(1.1, -0.4, 0.7), 3)]),
    Case("r_two_arrays", [(arr(0.3, 0.8, -0.5), arr(1.1, -0.4, 0.7), 3)], wrt="a"),
    Case("r_mixed", [(0.7, arr(0.3, 0.8, -0.5), 3)]),
    Case("r_mixed", [(0.7, arr(0.3, 0.8, -0.5), 3)], wrt=["a"]),
    Case("r_local_array", [(0.7, 1.3)]),
    Case("r_local_array_accum", [(arr(0.3, 0.8, -0.5, 1.1, 0.2, -0.9, 0.6), 7)]),
    # calls to user functions
    Case("r_call_simple", [(0.7, 1.3)]),
    Case("r_call_nested", [(0.7, 1.3)]),
    Case("r_call_in_loop", [(A4, 4)]),
    Case("r_recursion", [(0.9, 0), (0.9, 4)]),
    Case("r_ref_out", [(0.7, 1.3)]),
    Case("r_ref_out_loop", [(0.7, 4), (0.7, 0)]),
    Case("r_ptr_callee", [(A4, 4)]),
    Case("r_ptr_callee_write", [(0.7, 1.3)]),
    Case("r_callee_loop_early", [(0.7, 3), (1.4, 3)]),
    Case("r_custom_pullback", [(0.7, 1.3), (2.0, 1.5)]),
    Case("r_ref_in_expr", [(0.7, 1.3)]),
    Case("r_ref_call_bool", [(0.7, 1.3)], forward=False),  # see test_forward_mode_call_writing_through_ref
    Case("r_ref_elem", [(arr(0.3, 0.8, -0.5), arr(1.1, -0.4, 0.7), 3)]),
    Case("r_local_array_callee", [(0.7, 1.3)]),
    Case("r_callee_early_loop", [(arr(0.3, 0.9, 0.6, 1.1), 4), (arr(0.1, 0.2), 2)]),
    Case("r_ternary_calls", [(0.7, 1.3), (-0.7, 1.3)]),
    Case(
        "r_writing_call_in_expr", [(0.7, 1.3)], forward=False
    ),  # forward mode: see test_forward_mode_call_writing_through_ref
    # more control flow, pointers
    Case("r_do_while_continue", [(0.8, 5), (0.8, 1)]),
    Case("r_switch_continue", [(arr(0.3, 0.8, -0.5, 1.1, 0.2, 0.9, -0.6), 7)]),
    Case("r_branch_then_local", [(0.7, 3.0), (0.7, 1.3), (-0.7, 1.3)]),
    Case("r_shadow", [(0.7, 1.3)]),
    Case("r_comma_for", [(A5, 5), (A4, 4)]),
    Case("r_many_guarded_returns", [(0.7, 1.3, -1), (0.7, 1.3, 0), (0.7, 1.3, 5), (0.7, 1.3, 11)]),
    Case("r_int_arith", [(0.7, 5), (0.7, 2)]),
    Case("r_globals", [(0.7,)]),
    Case("r_float_local", [(0.7,)]),
    Case("r_pointer_walk", [(A5, 5)]),
    Case("r_pointer_reseat", [(A5, 5)]),
    # math library
    Case("r_math", [(0.7, 1.3), (1.6, 1.3)]),
    Case("r_math2", [(0.6,), (0.35,)]),
]


@pytest.fixture(scope="module")
def mod():
    return pyclad.load(CONSTRUCTS)


def _inputs(fn_ir, wrt):
    """(parameter index, name, is_array) of each wrt parameter, in the gradient's output order."""
    if wrt is None:
        names = [p.name for p in fn_ir.params if p.type.holds_float]
    else:
        names = [w.strip() for w in (wrt.split(",") if isinstance(wrt, str) else wrt)]
    order = [p.name for p in fn_ir.params]
    names = sorted(names, key=order.index)  # one output per wrt param, in parameter order
    return [(order.index(n), n, bool(fn_ir.params[order.index(n)].type.ptr)) for n in names]


def test_case_count():
    assert len({c.fn for c in CASES}) >= 45


def _single_name(wrt) -> bool:
    return isinstance(wrt, str) and "," not in wrt


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradient_matches_forward_mode_and_finite_differences(mod, case):
    primal = getattr(mod, case.fn)
    g = pyclad.gradient(primal, case.wrt)
    inputs = _inputs(primal.ir, case.wrt)
    for point in case.points:
        grad = g(*copy_args(point))
        if _single_name(case.wrt):  # a single name gives the bare value, anything else a tuple
            assert not isinstance(grad, tuple)
            grad = (grad,)
        assert isinstance(grad, tuple) and len(grad) == len(inputs)
        for (k, name, is_array), got in zip(inputs, grad):
            if not is_array:
                assert isinstance(got, float)
                num = fd(primal, list(point), k)
                if case.forward:
                    fwd = pyclad.differentiate(primal, name)(*copy_args(point))
                    check_close(got, fwd, f"{case.fn}{point} d/d{name} vs forward mode")
                check_close(got, num, f"{case.fn}{point} d/d{name} vs finite differences", case.fd_rtol)
                continue
            assert isinstance(got, np.ndarray) and got.shape == point[k].shape
            for e in range(point[k].shape[0]):
                num = fd(primal, list(point), k, e)
                if case.forward:
                    fwd = pyclad.differentiate(primal, f"{name}[{e}]")(*copy_args(point))
                    check_close(got[e], fwd, f"{case.fn} d/d{name}[{e}] vs forward mode")
                check_close(got[e], num, f"{case.fn} d/d{name}[{e}] vs finite differences", case.fd_rtol)


def _cpp_number(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(float(v)) if isinstance(v, float) else str(v)


def _gradient_block(r, point, checked: bool) -> str:
    """A C++ block that calls the gradient ``r`` at ``point`` with zeroed adjoints and prints
    every adjoint element; ``checked``: through its bounds-checked entry (pointer, length)."""
    lines, names, lengths = [], [], {}
    for k, (p, a) in enumerate(zip(r.function.params, point)):
        if isinstance(a, np.ndarray):
            lines.append(f"    double a{k}[] = {{{', '.join(_cpp_number(float(v)) for v in a)}}};")
            lengths[p.name] = a.size
            names += [f"a{k}", str(a.size)] if checked else [f"a{k}"]
        else:
            names.append(_cpp_number(a))
    for k, o in enumerate(r.extras):
        n = lengths.get(o.param, 1)
        lines.append(f"    double d{k}[{n}] = {{}};")
        names += [f"d{k}", str(n)] if checked else [f"d{k}"]
    name = f"__pyclad_entry::{r.function.name}" if checked else r.function.name
    lines.append(f"    {name}({', '.join(names)});")
    for k, o in enumerate(r.extras):
        n = lengths.get(o.param, 1)
        lines.append(f'    for (int i = 0; i < {n}; ++i) std::printf("%.17g\\n", d{k}[i]);')
    return "{\n" + "\n".join(lines) + "\n}\n"


def test_every_gradient_runs_clean_under_the_sanitizers_and_matches_finite_differences(mod, tmp_path):
    """Every gradient of the table, plain and bounds-checked, built with g++ (and again with
    AddressSanitizer and UBSan: tapes, saved values and adjoint buffers stay inside their
    memory) and run at each point; what it prints matches finite differences of the primal."""
    from conftest import gxx_build_and_run

    from pyclad import checked
    from pyclad.source import render

    functions, seen, calls, wants = [], set(), [], []
    for case in CASES:
        r = mod.source.gradient(case.fn, case.wrt)
        for f in r.helpers + [r.function]:
            if f.name not in seen:
                seen.add(f.name)
                functions.append(f)
        primal = getattr(mod, case.fn)
        index = {p.name: k for k, p in enumerate(primal.ir.params)}
        for point in case.points:
            calls += [_gradient_block(r, point, False), _gradient_block(r, point, True)]
            want = []
            for o in r.extras:
                k = index[o.param]
                elements = [None] if not isinstance(point[k], np.ndarray) else range(point[k].size)
                want += [
                    (fd(primal, list(point), k, e) if o.wrt else None, f"{case.id} d/d{o.param}")
                    for e in elements
                ]
            wants.append(want)
    body = "".join(calls).replace("\n", "\n    ")
    main = f"#include <cstdio>\nint main() {{\n    {body}return 0;\n}}\n"
    derivatives = render(functions) + checked.source(functions, render)
    (tmp_path / "gradients.cpp").write_text(CONSTRUCTS.read_text() + derivatives + main)
    out, _ = gxx_build_and_run(
        tmp_path, "gradients.cpp", "-Wextra", "-Werror", "-Wno-unused-variable", optimized=False
    )
    got = [float(v) for v in out.split()]
    expected = [w for point in wants for w in point]
    assert len(got) == 2 * len(expected)
    pos = 0
    for point in wants:
        plain, safe = got[pos : pos + len(point)], got[pos + len(point) : pos + 2 * len(point)]
        pos += 2 * len(point)
        assert plain == safe, f"{point[0][1]}: checked {safe}, plain {plain}"
        for value, (num, what) in zip(plain, point):
            if num is not None:
                check_close(value, num, f"{what} (g++ build) vs finite differences", 1e-6)


@pytest.mark.parametrize("case", CASES[::3], ids=lambda c: c.id)
def test_value_and_grad_value_is_the_primal(mod, case):
    primal = getattr(mod, case.fn)
    vg = pyclad.value_and_grad(primal, case.wrt)
    g = pyclad.gradient(primal, case.wrt)
    for point in case.points:
        value, grad = vg(*copy_args(point))
        assert value == primal(*copy_args(point))
        want = g(*copy_args(point))
        if _single_name(case.wrt):
            grad, want = (grad,), (want,)
        assert len(grad) == len(want)
        for a, b in zip(grad, want):
            np.testing.assert_array_equal(a, b)


def test_gradient_accumulates_nothing_between_calls(mod):
    """Each call starts from zero adjoints (the wrapper allocates them) and leaves
    read-only inputs alone."""
    g = pyclad.gradient(mod.r_sum_sin)
    x = np.linspace(0.1, 1, 5)
    before = x.copy()
    (a,) = g(x, 5)
    (b,) = g(x, 5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(a, np.sin(x) + x * np.cos(x), rtol=1e-14)


def test_user_pullback_replaces_the_body(mod):
    """sqx(x) = x*x, but its custom pullback deliberately says d/dx = 3 * 2x: if the
    gradient shows the factor 3, the custom pullback was called, not a derivative of
    sqx's body (which would give 2x)."""
    m = pyclad.cppdef(
        """#include <cmath>
        double sqx(double x) { return x * x; }
        namespace pyclad { namespace custom_derivatives {
        void sqx_pullback(double x, double _d_y, double* _d_x) { *_d_x += 3 * (2 * x) * _d_y; }
        }}
        double use_sqx(double x, double y) { return sqx(x * y) + std::sin(x); }"""
    )
    g = pyclad.gradient(m.use_sqx)
    x, y = 0.7, 1.3
    dx, dy = g(x, y)
    check_close(dx, 3 * 2 * x * y * y + math.cos(x), "custom pullback d/dx")
    check_close(dy, 3 * 2 * x * y * x, "custom pullback d/dy")
    assert not close(dy, fd(m.use_sqx, [x, y], 1))  # the body's derivative is not what ran
    assert "sqx_pullback" in g.code


def test_custom_pullback_for_an_undifferentiable_body(mod):
    """mycbrt's body uses goto (which pyclad cannot differentiate); its gradient comes
    from the custom pullback, and matches finite differences of the primal."""
    g = pyclad.gradient(mod.r_custom_pullback)
    assert "mycbrt_pullback" in g.code
    x, y = 0.7, 1.3
    dx, dy = g(x, y)
    c = (x * y) ** (1 / 3)
    check_close(dx, c + x * y / (3 * c * c), "d/dx")
    check_close(dy, x * x / (3 * c * c), "d/dy")
    check_close(dx, fd(mod.r_custom_pullback, [x, y], 0), "d/dx vs finite differences")


@pytest.mark.xfail(
    reason="forward mode does not support a call that writes a differentiated variable inside a "
    "condition (int c = bumpif(t, t) ? 1 : 2) and says so with an UnsupportedError; reverse mode does",
    raises=pyclad.UnsupportedError,
    strict=True,
)
def test_forward_mode_call_writing_through_ref(mod):
    """The forward-mode half of the r_ref_call_bool case (the reverse half matches
    finite differences in the table)."""
    x, y = 0.7, 1.3
    (gx, gy) = pyclad.gradient(mod.r_ref_call_bool)(x, y)
    check_close(pyclad.differentiate(mod.r_ref_call_bool, "x")(x, y), gx, "forward vs reverse d/dx")
    check_close(pyclad.differentiate(mod.r_ref_call_bool, "y")(x, y), gy, "forward vs reverse d/dy")


def test_generated_code_is_deterministic():
    text = CONSTRUCTS.read_text()
    codes = []
    for _ in range(2):
        m = pyclad.cppdef(text)
        codes.append(
            [
                pyclad.gradient(getattr(m, name)).code
                for name in (
                    "r_early_return_nested",
                    "r_call_in_loop",
                    "r_switch_in_loop",
                    "r_recursion",
                    "r_ref_out_loop",
                )
            ]
        )
    assert codes[0] == codes[1]


def test_code_size_is_linear_in_guarded_early_returns(mod):
    """Each of the 12 ifs may return and may go on; the generated code stays small."""
    code = pyclad.gradient(mod.r_many_guarded_returns).code
    assert len(code.splitlines()) < 12 * 50, len(code.splitlines())  # copying would give thousands


def test_gradient_names_follow_clad(mod):
    assert "void r_subset_grad(" in pyclad.gradient(mod.r_subset).code
    code = pyclad.gradient(mod.r_call_nested).code
    assert "r_call_nested_grad" in code and "outer_pullback" in code and "inner_pullback" in code
