"""Generation grows linearly with the size of the function.  Measured without clocks: the
number of IR nodes the transforms visit (every ``ir.walk`` step, every activity question)
for a function four times as large is at most about four times as many.  (Wall-clock
numbers are in benchmarks/bench_generation.py.)"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pyclad import ir
from pyclad.ad import reverse
from pyclad.errors import UnsupportedError
from pyclad.frontend.depth import check_chain_lengths
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


def test_an_expression_too_long_for_the_parser_is_refused_with_a_location_and_the_process_survives():
    # 14,000 terms crash libclang's parser (stack overflow) if it ever sees them
    code = (
        "import pyclad\n"
        "src = 'double f(double x) {\\n    return ' + ' + '.join(['x * 0.5'] * 14000) + ';\\n}\\n'\n"
        "try:\n"
        "    pyclad.cppdef(src)\n"
        "except pyclad.UnsupportedError as e:\n"
        "    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert re.search(r"<string>:2:\d+: error: .*too long for the C\+\+ parser", r.stdout), r.stdout


def test_the_length_check_counts_one_chain_per_precedence_and_nesting_level():
    ok = "double f(double x) { return " + " + ".join(["x * x * (x - 1)"] * 9000) + "; }"
    check_chain_lengths(ok, "ok.cpp")  # 9,000 additions, 18,000 products in 9,000 short chains
    listed = "double a[] = {" + ", ".join(["-1.5"] * 20000) + "};"
    check_chain_lengths(listed, "list.cpp")  # an initialiser list is no chain
    commented = "// " + "+ " * 20000 + '\ndouble s = "' + "+" * 20000 + '";'
    check_chain_lengths(commented, "c.cpp")
    with pytest.raises(UnsupportedError, match=r"long\.cpp:2:\d+"):
        check_chain_lengths("double f(double x) {\n return " + " * ".join(["x"] * 10002) + "; }", "long.cpp")
