"""The C++ type model: records (with their fields, nested records, pointers to
themselves), std::vector and std::array (element type, size) are lowered as structured
types; library types the transforms know nothing of are located errors."""

import pytest

import pyclad
from pyclad import ir

SOURCE = """\
#include <array>
#include <vector>
struct Inner { double a; int n; };
struct Node { double v; Node* next; Inner in[2]; };
namespace geo { struct Point { double x, y; }; }
struct Counts { int a; long b; };
double f(Node n, const std::vector<double>& v, std::array<double, 3> a,
         std::vector<std::vector<Inner>>* w, geo::Point p, Counts c) { return 1.0; }
"""


@pytest.fixture(scope="module")
def params():
    m = pyclad.cppdef(SOURCE)
    return {p.name: p.type for p in m.f.ir.params}


def test_a_record_is_lowered_with_its_fields_in_declaration_order(params):
    t = params["n"]
    assert t.kind == ir.RECORD and t.is_record and t.base == "Node"
    assert [f.name for f in t.fields] == ["v", "next", "in"]
    assert t.field_named("v").type == ir.DOUBLE
    assert t.field_named("in").type.dims == (2,) and t.field_named("in").type.kind == ir.RECORD


def test_a_record_met_inside_its_own_definition_is_the_same_type_without_fields(params):
    nxt = params["n"].field_named("next").type
    assert nxt.ptr == 1 and nxt.fields == () and nxt.named() == params["n"].named()


def test_records_carry_floats_through_nested_fields_and_integer_records_do_not(params):
    assert params["n"].carries_float and params["p"].carries_float
    assert not params["c"].carries_float and not params["c"].is_integral


def test_a_record_in_a_namespace_is_named_qualified(params):
    assert params["p"].base == "geo::Point" and params["p"].spell("q") == "geo::Point q"


def test_std_vector_and_std_array_know_their_element_type_and_size(params):
    v, a, w = params["v"], params["a"], params["w"]
    assert v.kind == ir.VECTOR and v.const and v.ref and v.args == (ir.DOUBLE,)
    assert v.element() == ir.Type("double", const=True)
    assert a.kind == ir.STD_ARRAY and a.size == 3 and a.element() == ir.DOUBLE
    assert w.ptr == 1 and w.named().element().kind == ir.VECTOR
    assert w.named().element().element().base == "Inner"
    assert v.spell("v") == "const ::std::vector<double> &v"


def test_derived_types_keep_the_record_they_are_built_on(params):
    t = params["n"].derived(1)
    assert t.spell() == "Node *" and t.fields == params["n"].fields and t.carries_float


def test_a_library_type_other_than_the_containers_is_a_located_error():
    with pytest.raises(pyclad.UnsupportedError, match=r"string.*std::vector / std::array") as e:
        m = pyclad.cppdef("#include <string>\ndouble g(std::string s, double x) { return x; }")
        pyclad.gradient(m.g, "x")
    assert ":2:" in str(e.value)


def test_member_reads_through_a_value_and_a_pointer_lower_and_print_as_written():
    m = pyclad.cppdef("struct P { double a, b; };\ndouble f(P p, const P* q) { return p.a + q->b; }")
    assert "return p.a + q->b;" in pyclad.emit.function(m._source.function("f"))


def test_a_method_call_prints_its_receiver_as_the_object_the_method_is_called_on():
    v = ir.Var("v", ir.vector_of(ir.DOUBLE))
    p = ir.Var("p", ir.vector_of(ir.DOUBLE).derived(1))
    push = ir.Call("std::vector::push_back", (v, ir.lit(1.5)), ir.VOID, spelling="push_back", kind=ir.METHOD)
    size = ir.Call(
        "std::vector::size", (ir.Unary("*", p, p.type.element()),), ir.INT, spelling="size", kind=ir.METHOD
    )
    assert pyclad.emit.expr(push) == "v.push_back(1.5)" and pyclad.emit.expr(size) == "p->size()"


def test_two_activity_patterns_of_a_callee_taking_records_get_two_pullbacks():
    m = pyclad.cppdef(
        """
struct C { double a; };
struct Q { double s; };
double term(const C& c, const Q& q) { return c.a * c.a * q.s; }
double f(double x, Q q) { C c{x}; return term(c, q); }
"""
    )
    x = 0.7
    for checked in (True, False):
        q = m.Q(1.5)
        assert abs(pyclad.gradient(m.f, "x", checked=checked)(x, q) - 2 * x * 1.5) < 1e-12
        dq = pyclad.gradient(m.f, "q", checked=checked)(x, q)
        assert abs(dq.s - x * x) < 1e-12
