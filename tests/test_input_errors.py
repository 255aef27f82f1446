"""Bad inputs become PycladErrors with a location where one exists, and a caret line under
the column, never raw Python or libclang exceptions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import pyclad

SRC = "double f(double x, int n) { return x * n; }\nshort s(short k) { return k; }\nunsigned u(unsigned k) { return k; }\n"


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SRC)


def test_a_source_that_is_not_utf8_is_located_at_the_first_bad_byte(tmp_path):
    p = tmp_path / "latin1.cpp"
    p.write_bytes(b"double f(double x) { return x; }\n// caf\xe9\n")
    with pytest.raises(pyclad.CompileError) as info:
        pyclad.load(p)
    err = info.value
    assert err.loc.line == 2 and err.loc.col == 7 and "UTF-8" in str(err)
    r = subprocess.run(
        [sys.executable, "-m", "pyclad", "gen", "latin1.cpp", "-f", "f"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "latin1.cpp:2:7: error:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("std", ["c++99", "c++98x", 17, None])
def test_an_unknown_standard_is_an_option_error(std):
    with pytest.raises(pyclad.OptionError) as info:
        pyclad.cppdef("double f(double x) { return x; }", std=std)
    assert isinstance(info.value, ValueError) and "c++17" in str(info.value)


def test_gen_with_an_unknown_standard_exits_with_an_error_not_a_traceback(tmp_path):
    (tmp_path / "m.cpp").write_text("double f(double x) { return x; }\n")
    r = subprocess.run(
        [sys.executable, "-m", "pyclad", "gen", "m.cpp", "-f", "f", "--std", "c++99"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "unknown C++ standard" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "defines",
    [["K=2.5", "ON"], "K=2.5", {"K": 2.5, "ON": None}, ("K=2.5",)],
    ids=["list", "str", "dict", "tuple"],
)
def test_defines_as_a_list_of_name_value_strings_or_a_dict(defines):
    m = pyclad.cppdef("double f(double x) { return K * x * x; }", defines=defines)
    assert m.f(2.0) == 10.0
    assert pyclad.differentiate(m.f, "x")(2.0) == 10.0  # 2 K x


@pytest.mark.parametrize("bad", [["1K=2"], [3], {"K": object()}, {"K": "1\n#error"}, 5])
def test_malformed_defines_are_option_errors(bad):
    with pytest.raises(pyclad.OptionError):
        pyclad.cppdef("double f(double x) { return x; }", defines=bad)


def test_include_dirs_given_as_one_path(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "k.hpp").write_text("#define K3 3.0\n")
    for dirs in (str(inc), inc):
        m = pyclad.cppdef('#include "k.hpp"\ndouble f(double x) { return K3 * x * x; }', include_dirs=dirs)
        assert pyclad.differentiate(m.f, "x")(2.0) == 12.0  # 6 x


def test_include_dirs_of_the_wrong_type_are_option_errors():
    with pytest.raises(pyclad.OptionError):
        pyclad.cppdef("double f(double x) { return x; }", include_dirs=3)


@pytest.mark.parametrize("wrt", [0, 1.5, {"x": 1}])
def test_wrt_that_is_not_names_is_a_located_wrt_error_listing_the_parameters(m, wrt):
    with pytest.raises(pyclad.WrtError) as info:
        pyclad.gradient(m.f, wrt)
    assert "0: 'x'" in str(info.value) and info.value.loc.line == 1


@pytest.mark.parametrize(
    "fn, arg, lo, hi",
    [("f", 2**40, -(2**31), 2**31 - 1), ("s", 70000, -32768, 32767), ("u", -1, 0, 2**32 - 1)],
    ids=["int", "short", "unsigned"],
)
def test_integers_out_of_range_for_the_cpp_type_are_argument_errors(m, fn, arg, lo, hi):
    args = (1.0, arg) if fn == "f" else (arg,)
    with pytest.raises(pyclad.ArgumentError) as info:
        m[fn](*args)
    assert f"[{lo}, {hi}]" in str(info.value)
    assert m[fn](*((1.0, hi) if fn == "f" else (hi,))) == hi  # the bounds themselves pass
    if fn == "f":
        with pytest.raises(pyclad.ArgumentError):
            pyclad.gradient(m.f, "x")(1.0, np.int64(2**40))


def test_a_float16_parameter_is_a_located_unsupported_error():
    m = pyclad.cppdef("_Float16 h(_Float16 x) { return x * x; }")
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.h)
    assert "_Float16" in str(info.value) and info.value.loc.line == 1


CUSTOM_UNDEFINED = """\
#include <pyclad/runtime.hpp>
double opaque(double x);
namespace pyclad { namespace custom_derivatives {
void opaque_pullback(double x, double d_y, double* d_x) { *d_x += d_y * 2 * x; }
}}
double helper(double x) { return opaque(x) + x; }
double uses(double x) { return helper(x) * 3; }
"""


def test_a_call_to_a_declared_but_undefined_function_is_located_when_differentiating():
    m = pyclad.cppdef(CUSTOM_UNDEFINED)
    with pytest.raises(pyclad.LinkError) as info:
        pyclad.gradient(m.uses)
    err = info.value
    assert "'opaque'" in str(err) and "<string>:2:" in str(err)
    assert err.loc.line == 6  # the call, inside the helper the function calls


def test_extern_c_declarations_are_left_to_the_linker():
    m = pyclad.cppdef(
        '#include <pyclad/runtime.hpp>\nextern "C" double cos(double);\n'
        "namespace pyclad { namespace custom_derivatives {\n"
        "void cos_pullback(double x, double d_y, double* d_x) { *d_x -= d_y * __builtin_sin(x); }\n}}\n"
        "double f(double x) { return cos(x) * x; }\n"
    )
    (g,) = pyclad.gradient(m.f)(0.5)
    assert abs(g - (np.cos(0.5) - 0.5 * np.sin(0.5))) < 1e-14


def test_a_missing_function_names_what_exists_without_a_made_up_location(m):
    with pytest.raises(pyclad.FunctionNotFoundError) as info:
        m["nope"]
    assert info.value.loc is None and "functions: f, s, u" in str(info.value)


def test_errors_print_the_source_line_and_a_caret_under_the_column():
    src = "double f(double x) {\n\tdouble y = x;\n\tgoto done;\n\tdone: return y;\n}\n"
    m = pyclad.cppdef(src)
    with pytest.raises(pyclad.UnsupportedError) as info:
        pyclad.gradient(m.f)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("<string>:3:2: error: goto")
    assert lines[1] == "\tgoto done;" and lines[2] == "\t^"


def test_compile_errors_print_a_caret_under_the_column_too():
    with pytest.raises(pyclad.CompileError) as info:
        pyclad.cppdef("double f(double x) {\n    return x +* 2;\n}\n")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("<string>:2:") and lines[1] == "    return x +* 2;"
    assert lines[2].index("^") == int(lines[0].split(":")[2]) - 1


def test_a_caret_under_a_very_long_line_shows_the_part_around_the_column():
    body = " + ".join(["x"] * 200)
    src = f"double f(double x) {{ return {body} + y; }}\n"
    with pytest.raises(pyclad.CompileError) as info:
        pyclad.cppdef(src)
    _, line, caret = str(info.value).splitlines()[:3]
    assert len(line) < 120 and line[caret.index("^")] == "y"


def test_cli_errors_carry_the_caret_line(tmp_path):
    (tmp_path / "bad.cpp").write_text("double f(double x) {\n  goto e;\n  e: return x;\n}\n")
    r = subprocess.run(
        [sys.executable, "-m", "pyclad", "gen", "bad.cpp", "-f", "f", "--mode", "reverse"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert r.stderr.splitlines()[1:3] == ["  goto e;", "  ^"]
