"""What the callee model does not support is a located UnsupportedError naming the
construct, in forward and reverse mode alike: virtual calls, try blocks, goto, and lambdas used other than by calling them in the function that defines them.
Nothing is skipped silently.  (Private members, records without a default constructor and
derived classes, once refused here, differentiate: test_private_members.py,
test_inheritance.py.)"""

from __future__ import annotations

import pytest

import pyclad

SOURCE = """\
struct Shape { virtual double area(double s) const { return s * s; } };
double virtual_call(double s) { Shape sh; return sh.area(s); }
double throws(double x) {
    if (x < 0) throw 1;
    return x * x;
}
double tries(double x) {
    try { x = x * x; } catch (...) { x = 0; }
    return x;
}
double jumps(double x) {
    if (x > 1) goto out;
    x = x * x;
out:
    return x;
}
struct Base { double a; };
struct Derived : Base { double b; };
double derived(double x) { Derived d; d.b = x; return d.b * x; }
class Hidden {
    double k;
public:
    Hidden(double v) : k(v) {}
    double get() const { return k; }
};
double hidden(double x) { Hidden h(x); return h.get() * x; }
double mutable_lambda(double x) {
    auto f = [x](double v) mutable { x = x + v; return x; };
    return f(x);
}
template <class F> double apply(F f, double x) { return f(x); }
double passed_lambda(double x) {
    auto f = [](double v) { return v * v; };
    return apply(f, x);
}
struct Clock { double t; double tick(double dt) { auto f = [this](double d) { return t + d; }; return f(dt); } };
double this_lambda(double x) { Clock c{x}; return c.tick(x); }
double generic_lambda(double x) {
    auto f = [](auto v) { return v * v; };
    return f(x);
}
double cube(double x) { return x * x * x; }
"""

CASES = [
    ("virtual_call", "a virtual call to 'Shape::area'", 2),
    ("tries", "a try block (exceptions)", 8),
    ("jumps", "goto", 12),
    ("mutable_lambda", "a mutable lambda", 28),
    ("passed_lambda", "a lambda used other than by calling it", 34),
    ("this_lambda", "the lambda capture 'this'", 36),
    ("generic_lambda", "a generic lambda", 39),
]


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE, filename="unsupported.cpp")


def test_a_throw_in_a_guard_is_no_longer_refused(m):
    # ``throws`` (line 4) carries no derivative in its guard: d x^2 / dx = 2x.
    assert pyclad.gradient(m.throws)(1.5) == (pytest.approx(3.0),)
    assert pyclad.differentiate(m.throws, "x")(1.5) == pytest.approx(3.0)


@pytest.mark.parametrize(("name", "what", "line"), CASES, ids=[c[0] for c in CASES])
def test_an_unsupported_construct_is_a_located_error_in_reverse_mode(m, name, what, line):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m[name])
    assert what in str(info.value)
    assert info.value.loc is not None and info.value.loc.line == line, str(info.value)


@pytest.mark.parametrize(("name", "what", "line"), CASES, ids=[c[0] for c in CASES])
def test_an_unsupported_construct_is_a_located_error_in_forward_mode(m, name, what, line):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m[name], "x" if name not in ("virtual_call",) else "s")
    assert what in str(info.value)
    assert info.value.loc.file.endswith("unsupported.cpp")


def test_the_module_still_differentiates_after_the_errors(m):
    for name, _, _ in CASES:
        with pytest.raises(pyclad.UnsupportedError):
            pyclad.gradient(m[name])
    assert pyclad.gradient(m.cube, "x")(2.0) == pytest.approx(12.0)  # d x^3 / dx = 3 x^2


NO_DEFAULT = """\
struct P {
    double x, y;
    P(double a) : x(a), y(2 * a) {}
    double s() const { return x * y; }
};
double active(double u) { P q(u); return q.s(); }
double passive(double u) { P q(2.0); return q.s() * u; }
"""


def test_a_record_without_a_default_constructor_differentiates_in_both_modes():
    m = pyclad.cppdef(NO_DEFAULT, filename="nodefault.cpp")
    # active: q.s() = u * 2u, d/du = 4u; passive: 2 * 4 * u, d/du = 8
    assert pyclad.differentiate(m.active, "u")(1.5) == pytest.approx(6.0)
    assert pyclad.gradient(m.active)(1.5) == (pytest.approx(6.0),)
    assert pyclad.gradient(m.passive, "u")(1.5) == pytest.approx(8.0)
    assert pyclad.differentiate(m.passive, "u")(1.5) == pytest.approx(8.0)
    # the private member of Hidden (line 21) is read through an accessor: d (x * x)/dx = 2x
    h = pyclad.cppdef(SOURCE, filename="unsupported.cpp")
    assert pyclad.gradient(h.hidden)(1.5) == (pytest.approx(3.0),)
    assert pyclad.gradient(h.derived)(1.5) == (pytest.approx(3.0),)  # d.b * x with d.b = x
    assert pyclad.differentiate(h.hidden, "x")(1.5) == pytest.approx(3.0)


NO_DEFAULT_CONTAINERS = """\
#include <vector>
struct Q {
    std::vector<double> v;
    Q(double a) : v(2, a) {}
};
double looped(double u, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) { Q q(u * i); s += q.v[1]; }
    return s;
}
"""


def test_a_record_with_containers_and_no_default_constructor_declared_in_a_loop_is_a_located_error():
    m = pyclad.cppdef(NO_DEFAULT_CONTAINERS, filename="nodefault.cpp")
    with pytest.raises(pyclad.UnsupportedError) as info:  # reverse mode declares q up front
        pyclad.gradient(m.looped, "u")
    assert "a local 'q' of type 'Q', which has no default constructor" in str(info.value)
    assert info.value.loc.line == 8
