"""Vector forward mode (all directions in one pass) over the records and containers real
code builds: operators returning records, records updated by calls in loops, a matrix
record applied repeatedly, arrays of records, a record with a vector field from a braced
list, nested vectors built from a row.  Each is checked against central differences of the
function itself (some of these once gave wrong tangents or C++ that did not compile)."""

import numpy as np
import pytest
from conftest import fd

import pyclad

SRC = r"""
#include <cmath>
#include <vector>
struct V2 {
    double x, y;
    V2& operator+=(const V2& o) { x += o.x; y += o.y; return *this; }
    V2 operator*(double s) const { return {x * s, y * s}; }
};
V2 operator+(V2 a, V2 b) { return {a.x + b.x, a.y + b.y}; }
double dot(const V2& a, const V2& b) { return a.x * b.x + a.y * b.y; }
double ops(double a, double b) { V2 p{a, b}; V2 q = p; q += p * a; p = q + p; return dot(p, q); }
V2 rot(V2 v, double t) { return {v.x * std::cos(t) - v.y * std::sin(t), v.x * std::sin(t) + v.y * std::cos(t)}; }
double turns(double a, double t) { V2 v{a, 1.0}; for (int i = 0; i < 3; ++i) v = rot(v, t); return v.x * v.y; }
struct Mat {
    double m[2][2];
    V2 apply(const V2& v) const { return {m[0][0] * v.x + m[0][1] * v.y, m[1][0] * v.x + m[1][1] * v.y}; }
};
double applied(double a, double b) {
    Mat M{{{a, b}, {b, a}}};
    V2 v{1.0, 2.0};
    for (int i = 0; i < 2; ++i) v = M.apply(v);
    return v.x + 2 * v.y;
}
double arrayed(double a, double b) { V2 arr[2] = {{a, b}, {b, a}}; arr[0] = arr[1] * a; arr[1] += arr[0]; return dot(arr[0], arr[1]); }
struct Layer {
    std::vector<double> w;
    double b;
    double out(const std::vector<double>& in) const {
        double s = b;
        for (std::size_t i = 0; i < w.size(); ++i) s += w[i] * in[i];
        return std::tanh(s);
    }
};
double layer(double a, double b) { Layer L{{a, b, a * b}, 0.1}; std::vector<double> in{1.0, -0.5, 2.0}; return L.out(in) * a; }
double grid(double a, double b) {
    std::vector<std::vector<double>> g(2, std::vector<double>(2, a));
    g[1][0] = b;
    g[0][1] *= b;
    double s = 0;
    for (auto& r : g) for (double v : r) s += v * v * v;
    return s;
}
"""

NAMES = ["ops", "turns", "applied", "arrayed", "layer", "grid"]


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


@pytest.mark.parametrize("name", NAMES)
def test_vector_forward_mode_over_records_and_containers_matches_central_differences(m, name):
    at = (0.7, 1.3)
    params = ["a", "t"] if name == "turns" else ["a", "b"]
    got = pyclad.differentiate(m[name], params)(*at)
    want = [fd(m[name], at, k) for k in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    for k, p in enumerate(params):  # and one direction at a time
        assert pyclad.differentiate(m[name], p)(*at) == pytest.approx(got[k], rel=1e-12, abs=1e-14)
