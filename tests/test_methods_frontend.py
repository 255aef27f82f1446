"""The callee model as the frontend lowers it: methods take their object first, implicit
members are member accesses on it, method calls carry their receiver, constructors build
and return their record, operators are calls of their functions, a functor's operator()
is a method, and a lambda is a function of its captures and its parameters."""

from __future__ import annotations

import pytest

import pyclad
from pyclad import emit, ir
from pyclad.source import Source

SOURCE = """\
namespace geo {
struct Vec2 {
    double x, y;
    Vec2() = default;
    Vec2(double a, double b) : y(b), x(a) {}
    double norm2() const { return x * x + this->y * y; }
    double dot(const Vec2& o) const;
    Vec2& operator+=(const Vec2& o) { x += o.x; y += o.y; return *this; }
    double operator[](int i) const { return i == 0 ? x : y; }
    static double twice(double v) { return 2 * v; }
    double scaled(double s) const { return s * norm2(); }
    void scale(double s) { x *= s; y = y * s; }
};
double Vec2::dot(const Vec2& o) const { return x * o.x + y * o.y; }
Vec2 operator+(Vec2 a, Vec2 b) { return Vec2(a.x + b.x, a.y + b.y); }
}
struct Quad { double a; double operator()(double t) const { return a * t * t; } };
struct Cell { double w = 0.5; double h; Cell(double v) : h(v) { h = h * w; } };
double f(double u, double w) {
    geo::Vec2 p(u, w);
    geo::Vec2 q = geo::Vec2(w, u);
    geo::Vec2* pp = &p;
    geo::Vec2 s = p + q;
    s += q;
    Quad qq{u};
    double acc = 0;
    auto sq = [&](double v) { acc += v * v; };
    auto lin = [u](double v) { return u * v; };
    sq(w);
    u = 3 * u;
    return p.dot(q) + pp->norm2() + s[1] + geo::Vec2::twice(u) + qq(w) + lin(w) + acc
        + [&](double z) { return z * acc; }(w);
}
"""


@pytest.fixture(scope="module")
def src():
    return Source(SOURCE, "methods.cpp")


def _calls(fn: ir.Function) -> list[ir.Call]:
    return [n for n in ir.walk(fn.body) if isinstance(n, ir.Call)]


def test_methods_in_and_out_of_the_class_are_indexed_under_the_record(src):
    for key in (
        "geo::Vec2::norm2",
        "geo::Vec2::dot",
        "geo::Vec2::operator+=",
        "geo::Vec2::twice",
        "Quad::operator()",
    ):
        assert key in src.index.definitions, key


def test_a_const_method_takes_its_object_first_as_a_const_reference(src):
    fn = src.function("geo::Vec2::dot")
    this = fn.params[0]
    assert this.name == "_this" and this.type.ref and this.type.const and this.type.kind == ir.RECORD
    assert [p.name for p in fn.params] == ["_this", "o"]
    assert emit.expr(fn.body.stmts[0].value) == "_this.x * o.x + _this.y * o.y"


def test_a_non_const_method_takes_a_writable_reference(src):
    fn = src.function("geo::Vec2::scale")
    assert fn.params[0].type.ref and not fn.params[0].type.const
    assert [emit.expr(s.expr) for s in fn.body.stmts] == ["_this.x *= s", "_this.y = _this.y * s"]


def test_implicit_members_and_this_arrow_are_member_accesses_on_the_object(src):
    fn = src.function("geo::Vec2::norm2")
    assert emit.expr(fn.body.stmts[0].value) == "_this.x * _this.x + _this.y * _this.y"


def test_derivatives_of_methods_get_free_function_names_without_the_class_scope(src):
    assert src.function("geo::Vec2::norm2").name == "geo::Vec2_norm2"
    assert src.function("geo::Vec2::operator+=").name == "geo::Vec2_operator_plus_assign"
    assert src.function("geo::Vec2::operator[]").name == "geo::Vec2_operator_index"
    assert src.function("Quad::operator()").name == "Quad_operator_call"
    assert src.function("geo::operator+").name == "geo::operator_plus"
    assert src.function("geo::Vec2::Vec2(double, double)").name == "geo::Vec2_constructor"


def test_a_method_called_inside_a_method_receives_the_same_object(src):
    (call,) = _calls(src.function("geo::Vec2::scaled"))
    assert call.kind == ir.METHOD and call.callee == "geo::Vec2::norm2"
    assert isinstance(call.args[0], ir.Var) and call.args[0].name == "_this"


def test_method_and_operator_calls_carry_their_receiver_first(src):
    calls = {c.callee: c for c in _calls(src.function("f"))}
    dot = calls["geo::Vec2::dot"]
    assert dot.kind == ir.METHOD and emit.expr(dot) == "p.dot(q)"
    assert emit.expr(calls["geo::Vec2::norm2"]) == "pp->norm2()"
    assert calls["geo::Vec2::operator+="].kind == ir.METHOD
    assert [emit.expr(a) for a in calls["geo::Vec2::operator+="].args] == ["s", "q"]
    assert [emit.expr(a) for a in calls["geo::Vec2::operator[]"].args] == ["s", "1"]
    assert [emit.expr(a) for a in calls["Quad::operator()"].args] == ["qq", "w"]


def test_a_free_operator_and_a_static_member_are_plain_calls(src):
    calls = {c.callee: c for c in _calls(src.function("f"))}
    plus = calls["geo::operator+"]
    assert plus.kind == ir.FUNCTION and [emit.expr(a) for a in plus.args] == ["p", "q"]
    assert calls["geo::Vec2::twice"].kind == ir.FUNCTION


def test_a_constructor_call_is_a_constructor_kind_call_of_the_record(src):
    calls = [c for c in _calls(src.function("f")) if c.kind == ir.CONSTRUCTOR]
    assert [emit.expr(c) for c in calls] == ["geo::Vec2(u, w)", "geo::Vec2(w, u)"]
    assert all(c.callee == "geo::Vec2::Vec2(double, double)" for c in calls)


def test_a_constructor_builds_its_fields_in_declaration_order_then_runs_its_body(src):
    fn = src.function("geo::Vec2::Vec2(double, double)")
    assert fn.ret.kind == ir.RECORD and not fn.ret.ref
    lines = emit.function(fn).splitlines()
    assert lines[1:5] == [
        "    geo::Vec2 _this = geo::Vec2(a, b);",
        "    _this.x = a;",
        "    _this.y = b;",
        "    return _this;",
    ]
    assert ir.is_raw_construction(fn.body.stmts[0].init)


def test_default_member_initialisers_are_part_of_the_construction(src):
    text = emit.function(src.function("Cell::Cell(double)"))
    assert "_this.w = 0.5;\n    _this.h = v;\n    _this.h = _this.h * _this.w;\n    return _this;" in text


def test_a_lambda_is_a_function_of_its_captures_then_its_parameters(src):
    fn = src.function("f")
    calls = {c.callee: c for c in _calls(fn)}
    sq = src.index.synthesized["f_lambda0"]
    assert [(p.name, p.type.ref) for p in sq.params] == [("acc", True), ("v", False)]
    assert emit.expr(calls["f_lambda0"]) == "f_lambda0(acc, w)"
    lin = src.index.synthesized["f_lambda1"]
    assert [(p.name, p.type.ref) for p in lin.params] == [("u", False), ("v", False)]


def test_a_by_value_capture_is_copied_where_the_lambda_is_defined(src):
    text = emit.function(src.function("f"))
    # u changes after lin is defined: lin still multiplies by the value it captured.
    assert text.index("double _lin_u = u;") < text.index("u = 3 * u;")
    assert "f_lambda1(_lin_u, w)" in text


def test_a_lambda_called_where_it_is_written_reads_the_variables_themselves(src):
    text = emit.function(src.function("f"))
    assert "f_lambda2(acc, w)" in text


def test_a_method_and_a_function_that_would_share_derivative_names_are_refused():
    clash = Source(
        "struct V { double n() const { return 1.0; } };\ndouble V_n(double x) { return x; }\n", "clash.cpp"
    )
    assert clash.function("V_n").name == "V_n"
    with pytest.raises(pyclad.NameClashError) as info:
        clash.function("V::n")
    assert "V_n" in str(info.value) and info.value.loc.line == 1


def test_a_method_returning_its_own_object_works_through_the_object_alone(src):
    fn = src.function("geo::Vec2::operator+=")
    assert fn.ret.is_void and isinstance(fn.body.stmts[-1], ir.Return) and fn.body.stmts[-1].value is None


def test_a_by_reference_capture_the_lambda_only_reads_is_passed_as_const(src):
    src.function("f")
    inline = src.index.synthesized["f_lambda2"]
    assert [(p.name, p.type.ref, p.type.const) for p in inline.params] == [
        ("acc", True, True),
        ("z", False, False),
    ]
    sq = src.index.synthesized["f_lambda0"]
    assert sq.params[0].type.ref and not sq.params[0].type.const  # acc += v * v writes it


def test_a_captured_array_is_passed_as_a_pointer_and_used_as_one():
    s = Source(
        "double f(double x) { double a[2] = {x, 2 * x}; auto g = [&](int i) { return a[i]; }; return g(1); }",
        "a.cpp",
    )
    s.function("f")
    (fn,) = s.index.synthesized.values()
    assert fn.params[0].type.ptr == 1 and fn.params[0].type.const
    uses = [n for n in ir.walk(fn.body) if isinstance(n, ir.Var) and n.name == "a"]
    assert uses and all(u.type.ptr == 1 and not u.type.dims for u in uses)
