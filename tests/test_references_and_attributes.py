"""Forms real code uses that once went wrong or were refused: a reference bound to a
conditional (`double& r = a > b ? a : b;`), a non-const reference bound to a value (refused:
a copy would not write through), `[[fallthrough]]` and other attributed statements,
`std::min` / `std::max` of an initializer list, range-for over fixed-size arrays, a record
with a vector field built from a braced list and a vector assigned from one.  References: hand formulas and central
differences."""

import numpy as np
import pytest
from conftest import fd

import pyclad

SRC = r"""
#include <algorithm>
#include <cmath>
#include <vector>
// the larger of a, b tripled, then a * b
double larger_tripled(double a, double b) {
    double& r = a > b ? a : b;
    r = r * 3;
    return a * b;
}
double sw(double a, int k) {
    double r = 0;
    switch (k) {
        case 0: r = a; break;
        case 1: r = a * a; [[fallthrough]];
        case 2: r += a * 3; break;
        default: r = -a;
    }
    return r;
}
double extremes(double a, double b) { return std::max({a * a, b, 0.5}) + std::min({a, b, 1.0}); }
// 2a^4 + 2a^2 b^2 + 5a^2: range-for loops over the rows of a local array and their elements
double rows(double a, double b) {
    double m[2][3] = {{a, b, 1}, {b, a, 2}};
    double s = 0;
    for (auto& row : m) {
        for (double& v : row) {
            v *= a;
            s += v * v;
        }
    }
    return s;
}
struct Layer {
    std::vector<double> w;
    double b;
    double out(const std::vector<double>& in) const {
        double s = b;
        for (std::size_t i = 0; i < w.size(); ++i) s += w[i] * in[i];
        return s * s;
    }
};
// (0.1 + a - 0.5 b + 2 a b)^2 * a, the layer built by a braced list
double listed(double a, double b) {
    Layer L{{a, b, a * b}, 0.1};
    std::vector<double> in{1.0, -0.5, 2.0};
    return L.out(in) * a;
}
// the same, its weights assigned from a braced list
double assigned(double a, double b) {
    Layer L;
    L.w = {a, b, a * b};
    L.b = 0.1;
    std::vector<double> in{1.0, -0.5, 2.0};
    return L.out(in) * a;
}
double& pick(double* v, int i) { return v[i]; }
double through_call(double a, double b) {
    double v[2] = {a, b};
    double& r = pick(v, 1);
    r *= a;
    return v[0] * v[1];
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC, filename="forms.cpp")


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("at", [(0.7, 1.3), (1.7, 1.3)])
def test_a_reference_bound_to_a_conditional_writes_through_to_the_chosen_variable(m, at, checked):
    a, b = at
    want = (3 * b, 3 * a)  # a * 3b or 3a * b: the same product either way
    np.testing.assert_allclose(pyclad.gradient(m.larger_tripled, checked=checked)(a, b), want, rtol=1e-12)
    assert want[0] == pytest.approx(fd(m.larger_tripled, at, 0), rel=1e-6)


def test_a_reference_that_may_bind_to_a_variable_without_derivative_is_a_located_error(m):
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.larger_tripled, "a")  # r may name b, which carries no adjoint here
    assert info.value.loc.line == 7
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.differentiate(m.larger_tripled, "a")
    assert info.value.loc.line == 7


def test_a_non_const_reference_bound_to_a_value_is_a_located_error(m):
    for derive in (pyclad.gradient, lambda f: pyclad.differentiate(f, "a")):
        with pytest.raises(
            pyclad.UnsupportedError, match="a non-const reference bound to this expression"
        ) as info:
            derive(m.through_call)
        assert info.value.loc.line == 60


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_a_fallthrough_attribute_is_the_statement_it_marks(m, k):
    a = 0.7
    want = {0: 1.0, 1: 2 * a + 3, 2: 3.0, 3: -1.0}[k]
    assert pyclad.gradient(m.sw, "a")(a, k) == pytest.approx(want, rel=1e-12)
    assert pyclad.differentiate(m.sw, "a")(a, k) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("at", [(0.7, 1.3), (1.7, 0.3), (0.3, 0.2)])
def test_min_and_max_of_an_initializer_list_differentiate_through_the_chosen_item(m, at):
    a, b = at
    da = (2 * a if a * a >= max(b, 0.5) else 0.0) + (1.0 if a <= min(b, 1.0) else 0.0)
    db = (1.0 if b > a * a and b >= 0.5 else 0.0) + (1.0 if b < a and b <= 1.0 else 0.0)
    assert m.extremes(a, b) == pytest.approx(max(a * a, b, 0.5) + min(a, b, 1.0))
    np.testing.assert_allclose(pyclad.gradient(m.extremes)(a, b), (da, db), rtol=1e-12)
    assert pyclad.differentiate(m.extremes, "a")(a, b) == pytest.approx(da, rel=1e-12)
    assert da == pytest.approx(fd(m.extremes, at, 0), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("checked", [True, False])
def test_range_for_loops_over_a_fixed_size_array_and_its_rows(m, checked):
    a, b = 0.7, 1.3
    want = (8 * a**3 + 4 * a * b * b + 10 * a, 4 * a * a * b)
    np.testing.assert_allclose(pyclad.gradient(m.rows, checked=checked)(a, b), want, rtol=1e-12)
    np.testing.assert_allclose(
        pyclad.differentiate(m.rows, ["a", "b"], checked=checked)(a, b), want, rtol=1e-12
    )
    assert pyclad.differentiate(m.rows, "b", checked=checked)(a, b) == pytest.approx(want[1], rel=1e-12)


@pytest.mark.parametrize("name", ["listed", "assigned"])
@pytest.mark.parametrize("checked", [True, False])
def test_a_vector_field_from_a_braced_list_carries_its_derivatives(m, name, checked):
    a, b = 0.7, 1.3
    u = 0.1 + a - 0.5 * b + 2 * a * b
    want = (u * u + 2 * u * a * (1 + 2 * b), 2 * u * a * (-0.5 + 2 * a))
    np.testing.assert_allclose(pyclad.gradient(m[name], checked=checked)(a, b), want, rtol=1e-12)
    assert pyclad.differentiate(m[name], "a", checked=checked)(a, b) == pytest.approx(want[0], rel=1e-12)
    assert want[1] == pytest.approx(fd(m[name], (a, b), 1), rel=1e-6)
