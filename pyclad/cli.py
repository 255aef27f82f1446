"""The ``pyclad`` command: derivative headers for C++ builds, without Python at run time.

``pyclad gen model.cpp -f energy --wrt x -o model_d.hpp`` writes a header of
``inline`` functions meant to be included after the user's own source.
Errors in the user's code print as ``file:line:col: error: ...`` (exit 1);
bad command lines exit 2, as argparse does.
"""

from __future__ import annotations

import argparse
import hashlib
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
from .frontend.options import read_source
from .source import Result, Source, render
from .translate.command import add_commands as add_translate_commands

MODES = ("forward", "reverse", "jacobian", "hessian", "vector")
# mode -> the Source method that serves it; a mode whose method is missing is not supported yet.
_METHODS = {
    "reverse": "gradient",
    "jacobian": "jacobian_function",
    "hessian": "hessian_function",
    "vector": "vector_function",
}


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
    g.add_argument("-o", dest="output", metavar="OUT.hpp", help="output header (default: standard output)")
    g.add_argument(
        "--output",
        dest="objective_output",
        metavar="NAME",
        help="reverse mode for a function that returns through a pointer (void f(..., double* err)): "
        "the gradient of NAME[0], as f_grad_NAME",
    )
    g.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include dir")
    g.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="macro")
    g.add_argument("--std", help="C++ standard (default: the build's with -p, else c++17)")
    _build_system_options(g)
    g.set_defaults(run=_gen)

    c = sub.add_parser(
        "check",
        help="compare a function's derivatives (forward, reverse) with finite differences",
        description="Differentiate NAME at the point given in forward and reverse mode and compare with "
        "central finite differences of the primal; exit 1 with a table of the worst entries on a mismatch.",
    )
    c.add_argument("file", metavar="FILE.cpp", help="the C++ source defining the function")
    c.add_argument(
        "-f", "--function", required=True, metavar="NAME", help="function to check ('ns::name' too)"
    )
    c.add_argument(
        "--at",
        required=True,
        metavar="ARGS",
        help="the point, as Python literals: '1.0, 2.0' or '[0.5, 1.5], 3'",
    )
    c.add_argument("--order", type=int, choices=(1, 2), default=1, help="2 also checks the Hessian")
    c.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include dir")
    c.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="macro")
    c.add_argument("--std", default="c++17", help="C++ standard (default: c++17)")
    c.set_defaults(run=_check)

    add_commands(sub)  # build, cache
    add_translate_commands(sub, _defines, write_atomically, UsageError, FileError)  # translate, run
    return p


def _check(args: argparse.Namespace, argv: list[str]) -> int:
    from .check import run_cli_check  # the gradient checker needs the JIT; gen does not

    if not os.path.exists(args.file):
        raise FileError(f"cannot read {args.file}: No such file or directory")
    passed, report = run_cli_check(
        args.file, args.function, args.at, args.std, args.include_dirs, _defines(args.defines), args.order
    )
    print(report, file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


# ---------------------------------------------------------------------------- gen
def _gen(args: argparse.Namespace, argv: list[str]) -> int:
    if args.order < 1:
        raise UsageError(f"--order must be a positive integer, got {args.order}")
    if args.mode != "forward":
        if not hasattr(Source, _METHODS[args.mode]):
            raise UsageError(f"mode '{args.mode}' is not supported yet")
        if args.order != 1:
            raise UsageError(f"--order applies to forward mode only, not '{args.mode}'")
    if args.objective_output is not None and args.mode != "reverse":
        raise UsageError(f"--output NAME applies to reverse mode only, not '{args.mode}'")
    try:
        text = read_source(args.file)
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
        inputs = [args.file] + [i.include.name for i in source.tu.get_includes()]
        write_atomically(args.output, header, inputs)
    else:
        sys.stdout.write(header)
    _write_depfile(args, source)
    return 0


def write_atomically(path: str, text: str, inputs: Sequence[str] = ()) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename,
    so that a reader (or a build interrupted half-way) never sees half a header.  Refuses
    (usage error) to write over any of ``inputs``, however the paths are spelled."""
    for src in inputs:
        if _same_file(path, src):
            raise UsageError(f"refusing to write the output {path!r} over the input {src!r}")
    try:
        toolchain.write_atomic(path, text)
    except OSError as exc:
        raise FileError(f"cannot write {path}: {exc.strerror}") from None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare resolved paths
        return os.path.realpath(a) == os.path.realpath(b)


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
    if args.depfile and args.output and _same_file(args.depfile, args.output):
        raise UsageError(f"refusing to write the depfile {args.depfile!r} over the output {args.output!r}")
    return defines


def _write_depfile(args: argparse.Namespace, source: Source) -> None:
    """``OUT.hpp: FILE.cpp headers...``: the build regenerates OUT.hpp when any of them changes."""
    if not (args.depfile_md or args.depfile):
        return
    deps = [os.path.abspath(args.file)] + user_headers(source.tu)
    for path in [args.output, *deps]:
        if "\n" in path or "\r" in path:
            raise FileError(
                f"cannot write a depfile naming {path!r}: Make cannot spell a line break in a path"
            )
    write_atomically(args.depfile or args.output + ".d", toolchain.depfile(args.output, deps), deps)


def _requests(source: Source, name: str, args: argparse.Namespace) -> list[Result]:
    if args.objective_output is not None:
        return [source.output_gradient(name, args.wrt, args.objective_output)]
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
    guard = _guard(args.output or os.path.splitext(os.path.basename(args.file))[0] + "_d.hpp", code)
    names = ", ".join(args.functions)
    lines = [
        comment_text(f"// Derivatives of {names} in {args.file}, generated by pyclad {__version__}."),
        comment_text(f"// Request: pyclad {shlex.join(argv)}"),
        "// Include this header after the source it was generated from. Do not edit: regenerate.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <cmath>",
    ]
    lines += [f"#include {h}" for h, uses in _HEADERS if uses.search(code)]
    body = code.rstrip("\n")  # derivatives of ns::f are written inside namespace ns
    return "\n".join(lines) + "\n\n" + body + f"\n\n#endif  // {guard}\n"


def _guard(path: str, code: str) -> str:
    """The header's include guard: the output's name, a prefix no header of pyclad's own uses,
    and a hash of the generated code, so that two headers of one name (a/d.hpp, b/d.hpp) or a
    header named like pyclad's (runtime.hpp) never share a guard."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", os.path.basename(path)).upper()
    digest = hashlib.sha1(code.encode()).hexdigest()[:8].upper()
    return f"PYCLAD_GEN_{stem}_{digest}"


def comment_text(line: str) -> str:
    """``line`` made safe for one ``//`` comment line: control characters (a newline in a path
    would end the comment), backslashes (a trailing one splices the next line into the
    comment) and ``??`` (trigraphs) are written as ``\\xNN``."""
    out = []
    for ch in line:
        if ch == "\\" or not ch.isprintable() or (ch == "?" and out and out[-1] == "?"):
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


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
