"""Records that point to records of their own type (``Node* next``): a linked list walked
by a pointer.  Such a field's record is named without its fields where it is met inside
its own definition; whether it holds numbers is read off the declaration, so its shadow
pointers are kept (they were dropped, and the tangent walk dereferenced a null pointer).
References: hand formulas."""

import pytest

import pyclad

SRC = r"""
struct Node {
    double w;
    Node* next;
};
struct Link {
    int id;
    Link* next;
};
// a^2 + b^2, through a two-node list
double walk(double a, double b) {
    Node n2{b, nullptr};
    Node n1{a, &n2};
    double s = 0;
    for (Node* p = &n1; p; p = p->next) s += p->w * p->w;
    return s;
}
// a^2 (1 + 4): both nodes carry a
double walk_one(double a) {
    Node n2{2 * a, nullptr};
    Node n1{a, &n2};
    double s = 0;
    for (Node* p = &n1; p; p = p->next) s += p->w * p->w;
    return s;
}
// a list of integers beside the numbers: no shadow
double counted(double a) {
    Link l2{2, nullptr};
    Link l1{1, &l2};
    double s = 0;
    for (Link* p = &l1; p; p = p->next) s += p->id * a;
    return s;
}
"""


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC, filename="lists.cpp")


@pytest.mark.parametrize("checked", [True, False])
def test_a_linked_list_of_records_differentiates_in_both_modes(m, checked):
    a, b = 0.7, 1.3
    assert pyclad.gradient(m.walk, checked=checked)(a, b) == (pytest.approx(2 * a), pytest.approx(2 * b))
    assert pyclad.gradient(m.walk_one, checked=checked)(a) == (pytest.approx(10 * a),)
    assert pyclad.differentiate(m.walk_one, "a", checked=checked)(a) == pytest.approx(10 * a)
    assert pyclad.gradient(m.counted, checked=checked)(a) == (pytest.approx(3.0),)
    assert pyclad.differentiate(m.counted, "a", checked=checked)(a) == pytest.approx(3.0)


def test_a_list_node_without_derivative_linked_from_one_with_is_a_located_error(m):
    with pytest.raises(pyclad.UnsupportedError, match="inactive storage") as info:
        pyclad.differentiate(m.walk, "a")  # n2 (b) carries no tangent, n1 points to it
    assert info.value.loc.file.endswith("lists.cpp")
