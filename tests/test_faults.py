"""A fault in C++ (a null-pointer write, an integer division by zero) inside a pyclad call
becomes pyclad.CrashError and the process carries on.  Each case runs in a subprocess of
its own, so that a fault that does kill the process fails the test instead of the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_PRELUDE = """\
import pyclad
m = pyclad.cppdef('''
double* g_sink = nullptr;
double poke(double x, int where) {
    if (where > 0) {
        *g_sink = 1.0;  // a write through a null pointer
    }
    return x * x;
}
double ratio(double x, int a, int b) {
    return x * (a / b);
}
''')
"""


def _run(body: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.parametrize(
    "call, ok, want",
    [
        ("m.poke(1.5, 1)", "m.poke(1.5, 0)", 2.25),  # x^2
        ("pyclad.differentiate(m.poke, 'x')(1.5, 1)", "pyclad.differentiate(m.poke, 'x')(1.5, 0)", 3.0),  # 2x
        ("pyclad.gradient(m.poke, 'x')(1.5, 1)", "pyclad.gradient(m.poke, 'x')(1.5, 0)", 3.0),
        ("m.ratio(2.0, 1, 0)", "m.ratio(2.0, 7, 2)", 6.0),  # x * (7 / 2) in integers
        ("pyclad.gradient(m.ratio, 'x')(2.0, 1, 0)", "pyclad.gradient(m.ratio, 'x')(2.0, 7, 2)", 3.0),
    ],
)
def test_a_fault_in_cpp_raises_crash_error_and_the_process_continues(call, ok, want):
    r = _run(
        f"""
        try:
            {call}
        except pyclad.CrashError as exc:
            assert isinstance(exc, pyclad.PycladError)
            print("raised:", exc)
        else:
            raise SystemExit("no CrashError")
        got = {ok}
        assert abs(got - {want!r}) < 1e-12, got
        print("continued", got)
        """
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "raised:" in r.stdout and "continued" in r.stdout, r.stdout
    assert "Break" not in r.stdout + r.stderr  # no stack trace dump from the JIT
