"""libclang set-up: parsing with the right flags, builtin headers, diagnostics as errors."""

from __future__ import annotations

import ctypes
import functools
import glob
import importlib.util
import os
import subprocess

import clang.cindex as ci

from ..errors import CompileError, Loc
from .depth import check_chain_lengths

# CXBinaryOperatorKind and CXUnaryOperatorKind from clang-c/Index.h (clang >= 17).
BINARY_OPS = {
    3: "*",
    4: "/",
    5: "%",
    6: "+",
    7: "-",
    8: "<<",
    9: ">>",
    11: "<",
    12: ">",
    13: "<=",
    14: ">=",
    15: "==",
    16: "!=",
    17: "&",
    18: "^",
    19: "|",
    20: "&&",
    21: "||",
    22: "=",
    23: "*=",
    24: "/=",
    25: "%=",
    26: "+=",
    27: "-=",
    28: "<<=",
    29: ">>=",
    30: "&=",
    31: "^=",
    32: "|=",
    33: ",",
}
UNARY_OPS = {
    1: ("++", False),
    2: ("--", False),
    3: ("++", True),
    4: ("--", True),
    5: ("&", True),
    6: ("*", True),
    7: ("+", True),
    8: ("-", True),
    9: ("~", True),
    10: ("!", True),
}


@functools.cache
def _lib():
    lib = ci.conf.lib
    for name in ("clang_getCursorBinaryOperatorKind", "clang_getCursorUnaryOperatorKind"):
        fn = getattr(lib, name)
        fn.argtypes = [ci.Cursor]
        fn.restype = ctypes.c_int
    lib.clang_Cursor_Evaluate.argtypes = [ci.Cursor]
    lib.clang_Cursor_Evaluate.restype = ctypes.c_void_p
    lib.clang_EvalResult_getKind.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_getKind.restype = ctypes.c_int
    lib.clang_EvalResult_getAsLongLong.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_getAsLongLong.restype = ctypes.c_longlong
    lib.clang_EvalResult_isUnsignedInt.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_isUnsignedInt.restype = ctypes.c_uint
    lib.clang_EvalResult_getAsUnsigned.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_getAsUnsigned.restype = ctypes.c_ulonglong
    lib.clang_EvalResult_getAsDouble.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_getAsDouble.restype = ctypes.c_double
    lib.clang_EvalResult_dispose.argtypes = [ctypes.c_void_p]
    lib.clang_EvalResult_dispose.restype = None
    return lib


def binary_op(cursor: ci.Cursor) -> str | None:
    return BINARY_OPS.get(_lib().clang_getCursorBinaryOperatorKind(cursor))


def unary_op(cursor: ci.Cursor) -> tuple[str, bool] | None:
    return UNARY_OPS.get(_lib().clang_getCursorUnaryOperatorKind(cursor))


@functools.cache
def builtin_header_args() -> tuple[str, ...]:
    """Flags that let libclang find stddef.h and friends on a machine without clang.

    The PyPI libclang ships no resource headers; cppyy's bundled clang has them.
    Failing that, the system gcc's private include directory serves.
    """
    spec = importlib.util.find_spec("cppyy_backend")
    if spec and spec.origin:
        base = os.path.dirname(spec.origin)
        for d in sorted(glob.glob(os.path.join(base, "etc", "cling", "lib", "clang", "*"))):
            if os.path.exists(os.path.join(d, "include", "stddef.h")):
                return ("-resource-dir", d)
    try:
        gcc_dir = subprocess.run(
            ["gcc", "-print-file-name=include"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if os.path.exists(os.path.join(gcc_dir, "stddef.h")):
            return ("-isystem", gcc_dir)
    except (OSError, subprocess.CalledProcessError):
        pass
    return ()


def compile_args(std: str, include_dirs, defines) -> list[str]:
    args = ["-x", "c++", f"-std={std}", *builtin_header_args()]
    args += [f"-I{d}" for d in include_dirs]
    for k, v in (defines or {}).items():
        args.append(f"-D{k}" if v is None else f"-D{k}={v}")
    from ..backends import runtime_include

    args.append(f"-I{runtime_include()}")
    return args


_index = None


def parse(text: str, filename: str, args: list[str]) -> ci.TranslationUnit:
    """Parse ``text`` (named ``filename``); raise CompileError listing every error."""
    global _index
    if _index is None:
        _index = ci.Index.create()
    check_chain_lengths(text, filename)  # before libclang: a chain too long would crash it
    try:
        # The detailed record lists macro definitions (see layout.py).
        tu = _index.parse(
            filename,
            args=args,
            unsaved_files=[(filename, text)],
            options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD,
        )
    except ci.TranslationUnitLoadError:
        raise CompileError(f"libclang could not parse {filename} with flags {' '.join(args)}") from None
    tu.pyclad_texts = {filename: text.splitlines()}  # source lines, for the caret under errors
    errors = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    if errors:
        first = errors[0]
        lines = [format_diagnostic(d, tu) for d in errors]
        raise CompileError(first.spelling, loc_of(first.location, tu), lines)
    return tu


def loc_of(location: ci.SourceLocation, tu: ci.TranslationUnit | None = None) -> Loc:
    """A Loc; with ``tu``, carrying its source line (for the caret line of diagnostics)."""
    name = location.file.name if location.file else "<unknown>"
    text = source_line(tu, name, location.line) if tu is not None and location.file else ""
    return Loc(name, location.line, location.column, text)


def source_line(tu: ci.TranslationUnit, name: str, line: int) -> str:
    """Line ``line`` of file ``name`` as the translation unit saw it: the text given for the
    main file, a header as read from disk (once); "" if unknown."""
    texts = getattr(tu, "pyclad_texts", None)
    if texts is None:
        texts = tu.pyclad_texts = {}
    if name not in texts:
        try:
            with open(name, encoding="utf-8", errors="replace") as fh:
                texts[name] = fh.read().splitlines()
        except OSError:
            texts[name] = []
    lines = texts[name]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def format_diagnostic(d: ci.Diagnostic, tu: ci.TranslationUnit | None = None) -> str:
    """``file:line:col: error: message``, then the source line and a caret under the column."""
    sev = {ci.Diagnostic.Fatal: "fatal error", ci.Diagnostic.Error: "error"}.get(d.severity, "warning")
    where = loc_of(d.location, tu)
    caret = where.caret()
    return f"{where}: {sev}: {d.spelling}" + (f"\n{caret}" if caret else "")
