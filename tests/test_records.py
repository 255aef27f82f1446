"""Records (structs as data) in forward and reverse mode: member access through values,
references and pointers, nested records, arrays of records, records built, copied and
modified in the body, records passed to and returned from callees.

Every derivative is compared with two independent references: central finite
differences of the primal, and the derivative of the same function written with plain
scalars (``*_plain``), which pyclad has differentiated since long before records.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RTOL, fd
from conftest import assert_close as assert_scalar

import pyclad

SOURCE = """\
#include <cmath>
struct P { double a, b; int n; };
struct S { P in; double c; };

// Member access through a value, a const reference, a reference and a pointer.
double kinds(P p, const P& cp, P& rp, P* q, double x) {
    rp.a = rp.a * x;
    q->b = q->b + p.b * x;
    return p.a * cp.b * x + q->a * rp.a + q->b * cp.a + std::sin(rp.b) * p.n;
}
double kinds_plain(double pa, double pb, int pn, double cpa, double cpb, double rpa, double rpb,
                   double qa, double qb, double x) {
    rpa = rpa * x;
    qb = qb + pb * x;
    return pa * cpb * x + qa * rpa + qb * cpa + std::sin(rpb) * pn;
}

// A nested record.
double nested(S s, double x) { return s.in.a * s.c + std::sin(s.in.b) * x * s.in.a; }
double nested_plain(double a, double b, double c, double x) { return a * c + std::sin(b) * x * a; }

// Callees taking records (a pullback / pushforward of each), one writing its argument.
double norm2(const P& p) { return p.a * p.a + p.b * p.b; }
void scale(P& p, double k) { p.a *= k; p.b = p.b * k + p.a; }
double dot(P u, P v) { return u.a * v.a + u.b * v.b; }
double callees(P p, double x) {
    scale(p, x);
    return norm2(p) + dot(p, p) * x + p.a;
}
double callees_plain(double a, double b, double x) {
    a *= x;
    b = b * x + a;
    return (a * a + b * b) + (a * a + b * b) * x + a;
}

// Records as locals: aggregate initialisation (= {} and {}), field writes, whole copies,
// a reassignment, a record returned by a callee, a partly initialised record.
P make(double x) { P r = {x, 2 * x, 1}; return r; }
double locals(double x, double y) {
    P q = {x, 2 * y, 3};
    P q2{y * y, x};
    P r = q;
    r.a += q2.b * y;
    r.b *= x;
    r = q2;
    r.a = r.a + q.b;
    S s = {{x, y, 1}, 1.5};
    s.in.a += q.a * r.b;
    P m = make(x * y);
    P part = {x};
    return r.a * q.b + s.in.a * m.b + s.c * m.a + part.a * part.b + part.a;
}
double locals_plain(double x, double y) {
    double qa = x, qb = 2 * y;
    double q2a = y * y, q2b = x;
    double ra = qa, rb = qb;
    ra += q2b * y;
    rb *= x;
    ra = q2a; rb = q2b;
    ra = ra + qb;
    double sa = x, sc = 1.5;
    sa += qa * rb;
    double ma = x * y, mb = 2 * x * y;
    double pa = x, pb = 0;
    return ra * qb + sa * mb + sc * ma + pa * pb + pa;
}

// Records overwritten in a loop (saved and restored on a tape), an array of records, a
// pointer into it, the record of one element copied out.
double loop(double x, int n) {
    P ps[3] = {{x, 1.0, 0}, {2 * x, x, 1}, {0.5, x * x, 2}};
    P acc = {0.0, 1.0, 0};
    for (int i = 0; i < n; i++) {
        P* q = &ps[i % 3];
        acc.a = acc.a * q->b + std::sin(acc.b);
        acc.b = acc.b * 0.5 + q->a * x;
        ps[(i + 1) % 3].a += acc.a * 0.1;
    }
    P last = ps[1];
    const P* r = ps;
    return acc.a + acc.b * last.a + r[2].b * r->a;
}
double loop_plain(double x, int n) {
    double pa[3] = {x, 2 * x, 0.5}, pb[3] = {1.0, x, x * x};
    double aa = 0.0, ab = 1.0;
    for (int i = 0; i < n; i++) {
        int k = i % 3;
        aa = aa * pb[k] + std::sin(ab);
        ab = ab * 0.5 + pa[k] * x;
        pa[(i + 1) % 3] += aa * 0.1;
    }
    return aa + ab * pa[1] + pb[2] * pa[0];
}
"""

P_FIELDS = ("a", "b")


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="records.cpp")


def assert_close(got, want, rtol=RTOL, atol=1e-10):
    """Element-wise agreement of numbers or sequences of numbers."""
    got, want = np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float))
    assert got.shape == want.shape, (got, want)
    for g, w in zip(got, want):
        assert_scalar(g, w, rtol=rtol, atol=atol)


def copy(x):
    """A fresh copy of an argument (records through their copy constructor)."""
    return type(x)(x) if hasattr(type(x), "__cpp_name__") else x


def fd_field(f, args, k, field=None, h=1e-5):
    """Central difference of ``f`` in argument ``k`` (a field of it, for a record)."""

    def at(delta):
        moved = [copy(a) for a in args]
        if field is None:
            moved[k] += delta
        else:
            setattr(moved[k], field, getattr(moved[k], field) + delta)
        return f(*moved)

    return (at(h) - at(-h)) / (2 * h)


def fields(rec, names=P_FIELDS):
    return [getattr(rec, f) for f in names]


def kinds_args(m):
    return [m.P(1.5, -0.5, 2), m.P(0.3, 0.8, 1), m.P(1.1, 0.4, 1), m.P(0.6, -0.9, 1), 0.7]


def kinds_plain_args():
    return [1.5, -0.5, 2, 0.3, 0.8, 1.1, 0.4, 0.6, -0.9, 0.7]


@pytest.mark.parametrize("checked", [True, False])
def test_a_gradient_through_record_params_by_value_const_reference_reference_and_pointer(m, checked):
    g = pyclad.gradient(m.kinds, checked=checked)
    dp, dcp, drp, dq, dx = g(*kinds_args(m))
    plain = pyclad.gradient(m.kinds_plain, "pa, pb, cpa, cpb, rpa, rpb, qa, qb, x", checked=checked)
    want = plain(*kinds_plain_args())
    assert_close(fields(dp) + fields(dcp) + fields(drp) + fields(dq) + [dx], list(want))
    for k, rec in enumerate([dp, dcp, drp, dq]):
        for f, got in zip(P_FIELDS, fields(rec)):
            assert_close(got, fd_field(m.kinds, kinds_args(m), k, f), rtol=1e-6, atol=1e-8)
    assert_close(dx, fd_field(m.kinds, kinds_args(m), 4), rtol=1e-6)
    assert dp.n == 0 and type(dp) is type(m.P())  # int fields carried, never written


def test_the_adjoint_of_a_record_is_a_record_pointer_accumulated_field_by_field(m):
    code = pyclad.gradient(m.kinds).code
    assert "P *_d_p, P *_d_cp, P *_d_rp, P *_d_q, double *_d_x" in code
    assert "_d_q->b" in code and "_d_cp->a +=" in code and "_d_p->n" not in code


@pytest.mark.parametrize("checked", [True, False])
def test_forward_mode_seeds_one_field_of_a_record_param(m, checked):
    plain_names = {
        ("p", "a"): "pa",
        ("p", "b"): "pb",
        ("cp", "b"): "cpb",
        ("rp", "b"): "rpb",
        ("q", "a"): "qa",
    }
    for (rec, f), pname in plain_names.items():
        d = pyclad.differentiate(m.kinds, f"{rec}.{f}", checked=checked)
        got = d(*kinds_args(m))
        k = ["p", "cp", "rp", "q"].index(rec)
        assert_close(got, pyclad.differentiate(m.kinds_plain, pname)(*kinds_plain_args()))
        assert_close(got, fd_field(m.kinds, kinds_args(m), k, f), rtol=1e-6, atol=1e-8)


def test_a_nested_record_in_forward_and_reverse_mode(m):
    s = m.S(m.P(0.8, 0.3, 0), 1.7)
    ds, dx = pyclad.gradient(m.nested)(s, 0.9)
    want = pyclad.gradient(m.nested_plain)(0.8, 0.3, 1.7, 0.9)
    inner = getattr(ds, "in")  # a field named like a Python keyword
    assert_close([inner.a, inner.b, ds.c, dx], want)
    fwd = pyclad.differentiate(m.nested, "s.in.b")(s, 0.9)
    assert_close(fwd, want[1])
    h = 1e-5

    def at(delta):
        t = m.S(m.P(0.8, 0.3 + delta, 0), 1.7)
        return m.nested(t, 0.9)

    assert_close(fwd, (at(h) - at(-h)) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("checked", [True, False])
def test_callees_taking_records_get_pullbacks_and_pushforwards(m, checked):
    p = m.P(0.6, -1.2, 0)
    dp, dx = pyclad.gradient(m.callees, checked=checked)(p, 0.8)
    want = pyclad.gradient(m.callees_plain)(0.6, -1.2, 0.8)
    assert_close(fields(dp) + [dx], want)
    assert_close(dx, fd_field(m.callees, [p, 0.8], 1), rtol=1e-6)
    assert_close(dp.b, fd_field(m.callees, [p, 0.8], 0, "b"), rtol=1e-6)
    fwd = pyclad.differentiate(m.callees, "p.a", checked=checked)(p, 0.8)
    assert_close(fwd, want[0])
    assert_close(pyclad.differentiate(m.callees, "x", checked=checked)(p, 0.8), want[2])
    assert (p.a, p.b) == (0.6, -1.2)  # the caller's record is not changed


@pytest.mark.parametrize("checked", [True, False])
def test_records_built_copied_and_modified_in_the_body(m, checked):
    at = (0.7, -1.3)
    want = pyclad.gradient(m.locals_plain)(*at)
    assert_close(pyclad.gradient(m.locals, checked=checked)(*at), want)
    assert_close(want, [fd_field(m.locals, list(at), k) for k in range(2)], rtol=1e-6)
    for k, name in enumerate(("x", "y")):
        assert_close(pyclad.differentiate(m.locals, name, checked=checked)(*at), want[k])


def test_record_copies_are_differentiated_field_by_field_without_saving_first_stores(m):
    code = pyclad.gradient(m.locals).code
    assert "P q = {};" in code and "P _d_q = {};" in code
    assert "make_pullback(" in code
    # the first stores of a fresh record need no save: only r's reassignment is saved
    saves = [line for line in code.splitlines() if line.strip().startswith("_t") and " = r." in line]
    assert saves, code


@pytest.mark.parametrize("checked", [True, False])
def test_records_overwritten_in_a_loop_arrays_of_records_and_pointers_to_them(m, checked):
    for n in (0, 1, 5, 7):
        want = pyclad.gradient(m.loop_plain, "x")(0.4, n)
        got = pyclad.gradient(m.loop, "x", checked=checked)(0.4, n)
        assert_close(got, want)
        assert_close(got, fd_field(m.loop, [0.4, n], 0), rtol=1e-6, atol=1e-8)
        assert_close(pyclad.differentiate(m.loop, "x", checked=checked)(0.4, n), want)


def test_the_primal_writes_a_record_passed_by_reference_in_place(m):
    args = kinds_args(m)
    m.kinds(*args)
    assert_close([args[2].a, args[3].b], [1.1 * 0.7, -0.9 - 0.5 * 0.7])


def test_an_array_read_only_through_a_pointer_local_is_restored_for_the_reverse_sweep():
    m = pyclad.cppdef(
        """
        double f(double x, int n) {
            double pa[3] = {x, 2 * x, 0.5};
            double ab = 1.0;
            for (int i = 0; i < n; i++) {
                double* q = &pa[i % 3];
                ab = ab * 0.5 + *q * x;
                pa[(i + 1) % 3] += ab * 0.1;
            }
            const double* r = pa;
            return ab * r[1];
        }"""
    )
    for n in (1, 3, 5):
        assert_close(pyclad.gradient(m.f, "x")(0.4, n), fd_field(m.f, [0.4, n], 0), rtol=1e-6)


def test_a_record_argument_of_another_type_is_an_argument_error_naming_the_parameter(m):
    with pytest.raises(pyclad.ArgumentError, match=r"argument 'cp' of kinds is const P &: pass an object"):
        m.kinds(m.P(1, 2, 0), 3.0, m.P(1, 2, 0), m.P(1, 2, 0), 0.5)
    with pytest.raises(pyclad.ArgumentError, match=r"argument 's' of nested .*got a P"):
        pyclad.gradient(m.nested)(m.P(1, 2, 0), 0.5)
    with pytest.raises(TypeError):  # ArgumentError is a TypeError too
        pyclad.differentiate(m.kinds, "p.a")(1.0, m.P(), m.P(), m.P(), 0.5)


def test_wrt_names_a_record_in_reverse_mode_and_one_of_its_fields_in_forward_mode(m):
    with pytest.raises(pyclad.WrtError, match=r"one direction: name one floating field of 'p'.*'p\.a'"):
        pyclad.differentiate(m.kinds, "p", order=2)
    with pytest.raises(pyclad.WrtError, match=r"reverse mode takes whole parameters: name the record"):
        pyclad.gradient(m.kinds, "p.a")
    with pytest.raises(pyclad.WrtError, match=r"'z' is not a field of P \(fields: a, b, n\)"):
        pyclad.differentiate(m.kinds, "p.z")
    with pytest.raises(pyclad.WrtError, match=r"names a field of type int"):
        pyclad.differentiate(m.kinds, "p.n")
    dp = pyclad.gradient(m.kinds, "p")(*kinds_args(m))  # a single name: the bare record
    assert type(dp) is type(m.P())
    assert_close(fields(dp), pyclad.gradient(m.kinds_plain, "pa, pb")(*kinds_plain_args()))


@pytest.mark.parametrize("checked", [True, False])
def test_vector_mode_names_records_by_value_reference_and_pointer_whole(m, checked):
    # one direction per floating field (a, b; the int n is none), a record of them back
    got = pyclad.differentiate(m.kinds, ["p", "cp", "rp", "q", "x"], checked=checked)(*kinds_args(m))
    assert all(type(r) is type(m.P()) for r in got[:4])
    flat = [v for r in got[:4] for v in fields(r, ("a", "b"))] + [got[4]]
    names = ["pa", "pb", "cpa", "cpb", "rpa", "rpb", "qa", "qb", "x"]
    args = kinds_plain_args()
    want = [fd(m.kinds_plain, args, names.index(n) + (1 if k >= 2 else 0)) for k, n in enumerate(names)]
    assert_close(flat, want)
    dp = pyclad.differentiate(m.kinds, "p", checked=checked)(*kinds_args(m))  # a single name: the record
    assert_close(fields(dp, ("a", "b")), pyclad.differentiate(m.kinds_plain, ["pa", "pb"])(*args))


def test_returning_a_record_from_the_differentiated_function_is_a_located_error():
    m = pyclad.cppdef("struct P { double a, b; };\nP twice(double x) { P r = {x, 2 * x}; return r; }")
    with pytest.raises(pyclad.PycladError, match=r"returns P: a gradient needs a floating return value"):
        pyclad.gradient(m.twice)
    with pytest.raises(pyclad.PycladError, match=r"returns P: forward mode needs a floating return value"):
        pyclad.differentiate(m.twice, "x")


def test_record_classes_of_the_source_are_attributes_of_the_module(m):
    p = m.P(1.5, -0.5, 3)
    assert (p.a, p.b, p.n) == (1.5, -0.5, 3)
    assert (m.P().a, m.P().b) == (0.0, 0.0)
    ns = pyclad.cppdef(
        "namespace geo { struct Point { double x, y; }; }\ndouble f(geo::Point p) { return p.x * p.y; }"
    )
    g = pyclad.gradient(ns.f, "p")(ns.geo.Point(2.0, 3.0))
    assert (g.x, g.y) == (3.0, 2.0)
    assert "P" in dir(m) and "kinds" in dir(m)


def test_a_callee_taking_a_record_gets_one_pullback_per_activity_pattern():
    m = pyclad.cppdef(
        "struct P { double a, b; };\n"
        "double g(const P& p, double x) { return p.a * x + p.b; }\n"
        "double f(P p, double x) { return g(p, x) * x; }"
    )
    dx = pyclad.gradient(m.f, "x")(m.P(1.5, 2.0), 0.5)  # g's pullback for x alone
    dp, dx2 = pyclad.gradient(m.f, "p, x")(m.P(1.5, 2.0), 0.5)  # for p and x: another one
    assert_close([dx, dp.a, dp.b, dx2], [2 * 1.5 * 0.5 + 2.0, 0.25, 0.5, 3.5])  # f = p.a x^2 + p.b x
    assert "g_rev_darg1(" in pyclad.gradient(m.f, "x").code  # (split: g_forw_darg1 + g_rev_darg1)


POINTER_FIELDS = """\
struct Model { double w; const double* data; int n; };
struct Node { double v; Node* next; };
double loss(Model m, double x) {
    double s = 0;
    for (int i = 0; i < m.n; i++) s += (m.w * m.data[i] - x) * (m.w * m.data[i] - x);
    Model c = m;
    return s + c.w * c.data[0];
}
double run(double w, double x) { double d[3] = {1.0, 2.0, -0.5}; Model m = {w, d, 3}; return loss(m, x); }
double run_plain(double w, double x) {
    double d[3] = {1.0, 2.0, -0.5};
    double s = 0;
    for (int i = 0; i < 3; i++) s += (w * d[i] - x) * (w * d[i] - x);
    return s + w * d[0];
}
double chain(Node n, double x) { return n.v * x + n.next->v * x; }
"""


def test_data_behind_a_const_pointer_field_of_a_record_is_constant_to_its_derivatives():
    m = pyclad.cppdef(POINTER_FIELDS)
    want = pyclad.gradient(m.run_plain)(0.7, 0.3)
    assert_close(pyclad.gradient(m.run)(0.7, 0.3), want)
    assert_close(pyclad.differentiate(m.run, "w")(0.7, 0.3), want[0])
    assert_close(pyclad.hessian(m.run)(0.7, 0.3).ravel(), pyclad.hessian(m.run_plain)(0.7, 0.3).ravel())
    assert_close(want, [fd_field(m.run, [0.7, 0.3], k) for k in range(2)], rtol=1e-6)


def test_differentiated_values_behind_a_pointer_field_of_a_record_are_a_located_error():
    m = pyclad.cppdef(POINTER_FIELDS)
    with pytest.raises(pyclad.UnsupportedError, match=r"through a pointer field of a record.*reverse") as e:
        pyclad.gradient(m.chain, "n")
    assert ":16:" in str(e.value)
    with pytest.raises(pyclad.UnsupportedError, match=r"through the pointer field 'next' of a record"):
        pyclad.differentiate(m.chain, "n.v")


def test_records_with_default_member_initialisers_have_zero_shadows_in_python_and_in_the_transforms():
    m = pyclad.cppdef(
        "struct D { double a = 1.0; double b = 2.0; int n = 3; };\n"
        "double f(D d, double x) { D q = {x}; return d.a * x + d.b * d.b + q.a * q.b; }"
    )
    d = m.D()
    assert (d.a, d.b) == (1.0, 2.0)
    dd, dx = pyclad.gradient(m.f)(d, 0.5)
    want = [0.5, 4.0, 3.0]  # f = a x + b^2 + 2 x (q.b keeps its initialiser 2)
    assert_close([dd.a, dd.b, dx], want)
    assert_close([pyclad.differentiate(m.f, "d.b")(d, 0.5), pyclad.differentiate(m.f, "x")(d, 0.5)], want[1:])
    assert_close(dx, fd_field(m.f, [d, 0.5], 1), rtol=1e-6)
