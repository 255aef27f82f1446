"""Generation grows linearly with the size of the function.  Measured without clocks: the
number of IR nodes the transforms visit (every ``ir.walk`` step, every activity question)
for a function four times as large is at most about four times as many.  (Wall-clock
numbers are in benchmarks/bench_generation.py.)"""

from __future__ import annotations

import pytest

from pyclad import ir
from pyclad.ad import reverse
from pyclad.source import Source


def one_expression(terms: int) -> str:
    parts = [["x * y", "std::sin(x)", "y * 0.5", "x / (1.5 + y * y)"][k % 4] for k in range(terms)]
    return "#include <cmath>\ndouble f(double x, double y) {\n    return " + " + ".join(parts) + ";\n}\n"


def straight_line(n: int) -> str:
    lines = ["double f(double x, double y) {", "    double a = x, b = y;"]
    for k in range(n):
        if k % 2:
            lines.append(f"    double t{k} = a * b + y; a += t{k} * 0.001;")
        else:
            lines.append(f"    b = b + a * x / (1.5 + a * a) - {0.01 * (k % 5)};")
    return "\n".join(lines + ["    return a * b;", "}"]) + "\n"


@pytest.fixture
def visits(monkeypatch):
    """Counts IR nodes visited by ir.walk and activity questions asked of single nodes."""
    count = {"nodes": 0}
    walk, subtree_any = ir.walk, reverse._subtree_any

    def counting_walk(node):
        for n in walk(node):
            count["nodes"] += 1
            yield n

    def counting_subtree_any(e, pred, memo):
        def counted(n):
            count["nodes"] += 1
            return pred(n)

        return subtree_any(e, counted, memo)

    monkeypatch.setattr(ir, "walk", counting_walk)
    monkeypatch.setattr(reverse, "_subtree_any", counting_subtree_any)
    return count


def work(visits, src: str, mode: str) -> int:
    s = Source(src, "<scale>")
    s.function("f")
    visits["nodes"] = 0
    if mode == "reverse":
        s.gradient("f")
    else:
        s.forward("f", "x")
    return visits["nodes"]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_work_on_one_long_expression_grows_linearly_with_its_terms(visits, mode):
    small, large = work(visits, one_expression(250), mode), work(visits, one_expression(1000), mode)
    assert small > 0 and large <= 4.4 * small, (small, large)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_work_on_straight_line_code_grows_linearly_with_its_statements(visits, mode):
    small, large = work(visits, straight_line(250), mode), work(visits, straight_line(1000), mode)
    assert small > 0 and large <= 4.4 * small, (small, large)
