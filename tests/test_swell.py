"""No expression swell: derivative code grows linearly with the size of the input.

A product of n factors differentiated naively (product rule applied to the
unshared tree) gives O(n^2) code; binding each partial product and its tangent
to temporaries gives O(n).  Likewise n nested calls."""

from __future__ import annotations

import math

import pytest
from conftest import assert_close

import pyclad


def product_source(n: int) -> str:
    return f"double prod{n}(double x) {{ return {' * '.join(['x'] * n)}; }}\n"


def nested_sin_source(n: int) -> str:
    e = "x"
    for _ in range(n):
        e = f"std::sin({e})"
    return f"double nest{n}(double x) {{ return {e}; }}\n"


@pytest.fixture(scope="module")
def m():
    src = "#include <cmath>\n" + "".join(product_source(n) + nested_sin_source(n) for n in (100, 200))
    return pyclad.cppdef(src)


def size(code: str) -> tuple[int, int]:
    return len(code), len(code.splitlines())


@pytest.mark.parametrize("kind", ["prod", "nest"])
def test_code_size_is_linear_in_the_number_of_operations(m, kind):
    small = size(pyclad.differentiate(getattr(m, f"{kind}100"), "x").code)
    large = size(pyclad.differentiate(getattr(m, f"{kind}200"), "x").code)
    assert large[0] / small[0] < 2.3, (small, large)
    assert large[1] / small[1] < 2.3, (small, large)
    # and O(1) per factor in absolute terms, not merely a ratio
    assert large[1] < 5 * 200


def test_product_of_200_factors_has_the_right_derivative(m):
    d = pyclad.differentiate(m.prod200, "x")
    x = 1.001
    assert_close(d(x), 200 * x**199)
    assert_close(m.prod200(x), x**200)


def test_200_nested_sines_have_the_right_derivative(m):
    d = pyclad.differentiate(m.nest200, "x")
    for x in (0.5, 1.3):
        # chain rule, innermost first: d sin(u) = cos(u) du
        u, du = x, 1.0
        for _ in range(200):
            u, du = math.sin(u), math.cos(u) * du
        assert_close(d(x), du)
        assert_close(m.nest200(x), u)


def test_second_order_of_a_long_product_stays_linear(m):
    small = size(pyclad.differentiate(m.prod100, "x", order=2).code)
    large = size(pyclad.differentiate(m.prod200, "x", order=2).code)
    assert large[1] / small[1] < 2.3, (small, large)
    x = 1.001
    assert_close(pyclad.differentiate(m.prod200, "x", order=2)(x), 200 * 199 * x**198)


def test_a_thousand_factors_do_not_exhaust_the_python_stack():
    m = pyclad.cppdef(product_source(1000))
    d = pyclad.differentiate(m.prod1000, "x")
    x = 1.0001
    assert_close(d(x), 1000 * x**999)
    assert len(d.code.splitlines()) < 5 * 1000
