"""Every IR node kind goes through every mode: differentiated correctly (against central
finite differences of the primal) or refused with a located UnsupportedError -- never
skipped.  The kinds are enumerated from pyclad.ir, so a new node class without a case
here fails the test; and each transform's dispatch table is checked to cover them all."""

from __future__ import annotations

import re

import pytest
from conftest import assert_close, fd

import pyclad
from pyclad import ir
from pyclad.ad import dispatch, forward, reverse, sequence
from pyclad.errors import Loc, UnsupportedError

# kind -> (body of double f(double x, double y), whether the transforms support it)
CASES = {
    "Lit": ("return x * 2.5 + y;", True),
    "Var": ("return y;", True),
    "Unary": ("return -x * +y;", True),
    "Binary": ("return x * y / (1.5 + x * x) - y;", True),
    "Assign": ("double a = 0; double b = (a = x * y) * 2; return a + b;", True),
    "Step": ("double a = x; double b = a++; return a * b * y;", True),
    "Cond": ("return x > y ? x * y : y - x;", True),
    "Call": ("return std::sin(x) * std::exp(y);", True),
    "Index": ("double a[2]; a[0] = x; a[1] = y * x; return a[0] * a[1];", True),
    "Cast": ("return (double)(float)2 * x + (int)(y * 0) + static_cast<double>(x * y);", True),
    "Member": ("P p; p.a = x; return p.a * y;", True),
    "InitList": ("double a[3] = {x, y, x * y}; return a[0] + a[1] * a[2];", True),
    "Decl": ("double a = x * y; return a;", True),
    "ExprStmt": ("double a = 0; a = x * y; return a;", True),
    "Block": ("double a = 0; { double b = x; a = b * y; } return a;", True),
    "If": ("double a = y; if (x > 0) { a *= x; } else { a -= x; } return a;", True),
    "For": ("double a = 1; for (int i = 0; i < 3; ++i) { a *= x + y; } return a;", True),
    "While": ("double a = 1; int i = 0; while (i < 3) { a *= x; ++i; } return a * y;", True),
    "DoWhile": ("double a = y; int i = 0; do { a *= x; ++i; } while (i < 2); return a;", True),
    "Break": ("double a = y; for (int i = 0; i < 5; ++i) { if (i == 2) break; a *= x; } return a;", True),
    "Continue": (
        "double a = y; for (int i = 0; i < 4; ++i) { if (i == 1) continue; a += x * i; } return a;",
        True,
    ),
    "Return": ("if (x > 10) return y; return x * y;", True),
    "Switch": ("double a = x; switch (2) { case 1: a = y; break; case 2: a *= y; break; } return a;", True),
    "Case": ("double a = x; switch (1) { case 0: case 1: a += y * x; } return a;", True),
    "Default": ("double a = x; switch (3) { case 0: a = 0; break; default: a = x * y; } return a;", True),
}

PRELUDE = "#include <cmath>\nstruct P { double a; };\n"
POINT = (0.7, -1.3)


def kinds() -> list[str]:
    return [c.__name__ for c in dispatch.ir_kinds(ir.Expr) + dispatch.ir_kinds(ir.Stmt)]


def test_every_ir_node_kind_has_a_case():
    assert sorted(kinds()) == sorted(CASES)


@pytest.mark.parametrize(
    "table",
    [forward._STMT, forward._EXPR, reverse._STMT, reverse._ACC, sequence._STMT, sequence._EXPR],
    ids=[
        "forward statements",
        "forward expressions",
        "reverse statements",
        "reverse adjoints",
        "sequencing statements",
        "sequencing expressions",
    ],
)
def test_every_dispatch_table_names_every_node_kind_of_its_base(table):
    base = ir.Expr if ir.Lit in table else ir.Stmt
    assert set(dispatch.ir_kinds(base)) <= set(table)


def test_a_missing_dispatch_entry_is_an_error_at_definition():
    with pytest.raises(TypeError, match="Lit"):
        dispatch.exhaustive({}, ir.Expr, "a table")


class _Echo(dispatch.Pass):
    """A pass over two node classes that reports which handler ran, with what."""

    MODE, STMT, EXPR = "the echo pass", {ir.Break: "on_break"}, {ir.Lit: "on_lit"}

    def __init__(self, fn: ir.Function):
        self.fn = fn

    def on_break(self, s, *args):
        return ("break", s, args)

    def on_lit(self, e, *args):
        return ("lit", e, args)


def test_a_pass_calls_the_handler_its_table_names_with_the_extra_arguments():
    fn = ir.Function("f", ir.VOID, (), ir.Block(()), Loc("f.cpp", 3, 1))
    one, brk = ir.Lit("1", ir.INT), ir.Break()
    assert _Echo(fn).visit_expr(one, 2, "x") == ("lit", one, (2, "x"))
    assert _Echo(fn).visit_stmt(brk, 0) == ("break", brk, (0,))


def test_a_pass_refuses_a_node_kind_its_table_lacks_at_the_function_s_location():
    fn = ir.Function("f", ir.VOID, (), ir.Block(()), Loc("f.cpp", 3, 1))
    with pytest.raises(UnsupportedError, match="Continue is not supported in the echo pass") as info:
        _Echo(fn).visit_stmt(ir.Continue())
    assert "f.cpp:3:1" in str(info.value)


@pytest.fixture(scope="module")
def m():
    src = PRELUDE + "".join(
        f"double k_{k}(double x, double y) {{ {body} }}\n" for k, (body, _) in CASES.items()
    )
    return pyclad.cppdef(src)


def derivatives(fn, mode):
    if mode == "forward":
        return pyclad.differentiate(fn, "x")(*POINT), pyclad.differentiate(fn, "y")(*POINT)
    if mode == "reverse":
        return pyclad.gradient(fn)(*POINT)
    return pyclad.differentiate(fn, ["x", "y"])(*POINT)


@pytest.mark.parametrize("mode", ["forward", "reverse", "vector"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_node_kind_is_differentiated_or_refused_with_a_location(m, kind, mode):
    fn = getattr(m, f"k_{kind}")
    supported = CASES[kind][1]
    if not supported:
        with pytest.raises(pyclad.UnsupportedError) as info:
            derivatives(fn, mode)
        line = 3 + list(CASES).index(kind)
        assert re.search(rf"<string>:{line}:\d+", str(info.value)), str(info.value)
        return
    got = derivatives(fn, mode)
    for k in range(2):
        assert_close(got[k], fd(fn, list(POINT), k), rtol=1e-7, atol=1e-9, what=f"{kind} {mode} d/d{'xy'[k]}")
