"""The ``pyclad`` command: derivative headers for C++ builds, without Python at run time.

``pyclad gen model.cpp -f energy --wrt x -o model_d.hpp`` writes a header of
``inline`` functions meant to be included after the user's own source.
Errors in the user's code print as ``file:line:col: error: ...`` (exit 1);
bad command lines exit 2, as argparse does.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Sequence

from . import __version__, get_include
from .backends import cmake_dir, toolchain
from .commands import add_commands
from .errors import PycladError
from .frontend.includes import user_headers
from .source import Result, Source, render

MODES = ("forward", "reverse", "jacobian", "hessian")
# mode -> the Source method that serves it; a mode whose method is missing is not supported yet.
_METHODS = {"reverse": "gradient", "jacobian": "jacobian", "hessian": "hessian_function"}


# Headers the generated code may need beyond <cmath>, found by what it names.
_HEADERS = [
    ("<algorithm>", re.compile(r"\bstd::(fill|max|min|copy)\b")),
    ("<cstddef>", re.compile(r"\bstd::size_t\b")),
    ("<vector>", re.compile(r"\bstd::vector\b")),
    ("<pyclad/runtime.hpp>", re.compile(r"\bpyclad::")),  # needs -I $(pyclad --include-dir)
]


class UsageError(Exception):
    """A well-formed command line asking for something pyclad cannot do (exit status 2)."""


class FileError(PycladError):
    """A file named on the command line cannot be read or written."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.include_dir:
        print(get_include())
        return 0
    if args.cmake_dir:
        print(cmake_dir())
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args, argv)
    except UsageError as exc:
        print(f"pyclad: error: {exc}", file=sys.stderr)
        return 2
    except PycladError as exc:
        print(_located(exc, args), file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pyclad",
        description="Automatic differentiation of C++ by source transformation.",
        epilog="Run 'pyclad gen --help' for the options of a command.",
    )
    p.add_argument("--version", action="version", version=f"pyclad {__version__}")
    p.add_argument(
        "--include-dir",
        action="store_true",
        help="print the directory of pyclad's C++ headers (for -I) and exit",
    )
    p.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory of pyclad's CMake package (for -Dpyclad_DIR=...) and exit",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser(
        "gen",
        help="write a header with derivatives of functions in a C++ file",
        description="Write a header of inline derivative functions. Include it after the C++ file "
        "it was generated from, and compile with -I $(pyclad --include-dir).",
    )
    g.add_argument("file", metavar="FILE.cpp", help="the C++ source defining the functions")
    g.add_argument(
        "-f",
        "--function",
        dest="functions",
        action="append",
        required=True,
        metavar="NAME",
        help="function to differentiate (repeat for several; 'ns::name' for one in a namespace)",
    )
    g.add_argument("--mode", choices=MODES, default="forward", help="differentiation mode (default: forward)")
    g.add_argument(
        "--wrt",
        metavar="PARAMS",
        help="independent variables: 'x', 'x, y', 'arr[1]'; forward mode writes one function per "
        "variable (default: every floating-point scalar parameter)",
    )
    g.add_argument("--order", type=int, default=1, metavar="N", help="derivative order (forward mode)")
    g.add_argument("-o", "--output", metavar="OUT.hpp", help="output header (default: standard output)")
    g.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include dir")
    g.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="macro")
    g.add_argument("--std", help="C++ standard (default: the build's with -p, else c++17)")
    _build_system_options(g)
    g.set_defaults(run=_gen)
    add_commands(sub)  # build, cache
    return p


# ---------------------------------------------------------------------------- gen
def _gen(args: argparse.Namespace, argv: list[str]) -> int:
    if args.order < 1:
        raise UsageError(f"--order must be a positive integer, got {args.order}")
    if args.mode != "forward":
        if not hasattr(Source, _METHODS[args.mode]):
            raise UsageError(f"mode '{args.mode}' is not supported yet")
        if args.order != 1:
            raise UsageError(f"--order applies to forward mode only, not '{args.mode}'")
    try:
        with open(args.file, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise FileError(f"cannot read {args.file}: {exc.strerror}") from None
    defines = _with_build_flags(args, _defines(args.defines))
    source = Source(text, args.file, args.std, args.include_dirs, defines)

    functions, seen = [], set()
    for name in args.functions:
        for result in _requests(source, name, args):
            for f in result.helpers + [result.function]:
                if f.name not in seen:  # helpers shared by several requests appear once
                    seen.add(f.name)
                    functions.append(f)
    header = _header(render(functions, inline=True), args, argv)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(header)
        except OSError as exc:
            raise FileError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(header)
    _write_depfile(args, source)
    return 0


def _build_system_options(g: argparse.ArgumentParser) -> None:
    g.add_argument(
        "-MD", dest="depfile_md", action="store_true", help="also write a Make-style depfile (with -o)"
    )
    g.add_argument("-MF", dest="depfile", metavar="FILE", help="the depfile's name (default: OUT.hpp.d)")
    g.add_argument(
        "-p",
        dest="build_dir",
        metavar="BUILD_DIR",
        help="take -std, -I and -D for FILE.cpp from BUILD_DIR/compile_commands.json",
    )


def _with_build_flags(args: argparse.Namespace, defines: dict[str, str | None]) -> dict[str, str | None]:
    """Flags from ``-p BUILD_DIR`` first, the command line's own after them (they win)."""
    if args.build_dir:
        flags = toolchain.compile_flags(args.build_dir, args.file)
        args.include_dirs = flags.include_dirs + args.include_dirs
        defines = {**flags.defines, **defines}
        args.std = args.std or flags.std
    args.std = args.std or "c++17"
    if (args.depfile_md or args.depfile) and not args.output:
        raise UsageError("-MD/-MF need -o OUT.hpp (the depfile names it as the target)")
    return defines


def _write_depfile(args: argparse.Namespace, source: Source) -> None:
    """``OUT.hpp: FILE.cpp headers...``: the build regenerates OUT.hpp when any of them changes."""
    if not (args.depfile_md or args.depfile):
        return
    deps = [os.path.abspath(args.file)] + user_headers(source.tu)
    toolchain.write_atomic(args.depfile or args.output + ".d", toolchain.depfile(args.output, deps))


def _requests(source: Source, name: str, args: argparse.Namespace) -> list[Result]:
    if args.mode != "forward":
        return [getattr(source, _METHODS[args.mode])(name, args.wrt)]
    return [source.forward(name, w, args.order) for w in _forward_wrts(source, name, args.wrt)]


def _forward_wrts(source: Source, name: str, spec: str | None) -> list[str | None]:
    """Forward mode writes one function per independent variable of a list ('x, y')."""
    if spec is None:
        fn = source.function(name)
        scalars = [p.name for p in fn.params if p.type.holds_float and not p.type.ptr and not p.type.dims]
        return scalars or [None]  # with no scalar parameter, Source explains what it needs
    return [item.strip() for item in spec.split(",")]  # Source reports bad entries, with a location


def _defines(items: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not name:
            raise UsageError(f"bad -D {item!r}: expected NAME or NAME=VALUE")
        out[name] = value if eq else None
    return out


def _header(code: str, args: argparse.Namespace, argv: list[str]) -> str:
    guard = _guard(args.output or os.path.splitext(os.path.basename(args.file))[0] + "_d.hpp")
    names = ", ".join(args.functions)
    lines = [
        f"// Derivatives of {names} in {args.file}, generated by pyclad {__version__}.",
        f"// Request: pyclad {shlex.join(argv)}",
        "// Include this header after the source it was generated from. Do not edit: regenerate.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <cmath>",
    ]
    lines += [f"#include {h}" for h, uses in _HEADERS if uses.search(code)]
    ns = _common_namespace(args.functions)
    body = code.rstrip("\n")
    if ns:  # derivatives live beside their primals, so unqualified names in their bodies resolve
        body = f"namespace {ns} {{\n\n{body}\n\n}}  // namespace {ns}"
    return "\n".join(lines) + "\n\n" + body + f"\n\n#endif  // {guard}\n"


def _guard(path: str) -> str:
    stem = re.sub(r"\W", "_", os.path.basename(path)).upper()
    return f"PYCLAD_{stem}" if not stem.startswith("PYCLAD") else stem


def _common_namespace(names: list[str]) -> str:
    spaces = {n.rpartition("::")[0] for n in names}
    return spaces.pop() if len(spaces) == 1 else ""


# ---------------------------------------------------------------------------- errors
def _located(exc: PycladError, args: argparse.Namespace) -> str:
    """``file:line:col: error: ...`` when the error has a place; else the file alone."""
    text = str(exc)
    if getattr(exc, "loc", None) is not None or getattr(exc, "diagnostics", None):
        return text
    where = None if isinstance(exc, FileError) else getattr(args, "file", None)
    return f"{where}: error: {text}" if where else f"pyclad: error: {text}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
