"""A record whose default construction sets fields (default member initialisers, as in
``struct S { double a = 1.0; }``) has zero tangents and adjoints all the same: ``{}`` would
keep the initialisers, so its shadows are zeroed field by field.  Checked against hand
derivatives and finite differences, forward and reverse, with and without bounds checks."""

from __future__ import annotations

import math

import pytest
from conftest import fd

import pyclad

SOURCE = """\
struct S { double a = 1.0; double b; };
double agg(double x) { S s; s.b = x; return s.a * s.b * x; }
struct T { double a = 2.0; double b = 0; };
double value_init(double x) { T t{}; t.b = t.b + x * x; return t.a * t.b; }
double array_of(double x) { S ss[2]; ss[0].b = x; ss[1].b = x * x; return ss[0].a * ss[0].b * ss[1].b; }
struct C {
    double w = 0.5;
    double h;
    double arr[2] = {3, 4};
    C() = default;
    C(double v) : h(v) {}
};
double constructed(double x) {
    C c(x);
    c.arr[1] = c.arr[1] * x;
    return c.w * c.h * x + c.arr[1] + c.arr[0] * x;
}
"""

CASES = {  # d/dx at x, by hand
    "agg": lambda x: 2 * x,
    "value_init": lambda x: 4 * x,
    "array_of": lambda x: 3 * x * x,
    "constructed": lambda x: x + 4 + 3,
}
X = 1.5


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="defaults.cpp")


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_record_with_default_member_initialisers_has_zero_shadows(m, name, checked):
    want = CASES[name](X)
    (rev,) = pyclad.gradient(m[name], checked=checked)(X)
    fwd = pyclad.differentiate(m[name], "x", checked=checked)(X)
    assert math.isclose(want, fd(m[name], (X,), 0), rel_tol=1e-7)
    assert math.isclose(rev, want, rel_tol=1e-12) and math.isclose(fwd, want, rel_tol=1e-12)


@pytest.mark.parametrize(("name", "want"), [("agg", 2.0), ("value_init", 4.0), ("constructed", 1.0)])
def test_the_hessian_through_such_records_is_exact(m, name, want):
    (row,) = pyclad.hessian(m[name])(X)
    assert math.isclose(row[0], want, rel_tol=1e-12)
