"""The ``pyclad translate`` and ``pyclad run`` commands.

``translate FILE.cpp -o OUT.cpp`` writes the clad-compatible translation; ``run FILE.cpp
[-- ARGS]`` translates into a temporary directory, compiles with the system compiler
(-std=c++17, pyclad's include dir) and runs the program, passing its exit status through.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from .. import get_include
from ..errors import PycladError


class ToolError(PycladError):
    """The system compiler is missing or rejects the translated file."""


def add_commands(sub, defines, write_atomically, usage_error, file_error) -> None:
    """Register ``translate`` and ``run`` with the ``pyclad`` command's subparsers; the
    helpers are cli.py's (-D parsing, atomic writes, its exit-2 and file errors)."""
    t = sub.add_parser(
        "translate",
        help="rewrite a file written for clad so that any C++ compiler builds it",
        description="Resolve every clad::differentiate / gradient / hessian / jacobian call of FILE.cpp: "
        "write the derivatives with clad's names and signatures and replace each call by a "
        "clad::CladFunction. Compile OUT.cpp with -I $(pyclad --include-dir).",
    )
    _common(t)
    t.add_argument("-o", dest="output", metavar="OUT.cpp", help="output file (default: standard output)")
    t.set_defaults(run=lambda args, argv: _translate(args, defines, write_atomically, file_error))

    r = sub.add_parser(
        "run",
        help="translate a file written for clad, compile it with the system compiler and run it",
        description="Translate FILE.cpp into a temporary directory, compile it with $CXX (else c++ or g++) "
        "and run it with ARGS; the exit status is the program's.",
    )
    _common(r)
    r.add_argument("--cxx", help="the compiler (default: $CXX, else c++, else g++)")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="-- ARGS", help="arguments of the program")
    r.set_defaults(run=lambda args, argv: _run(args, defines, usage_error, file_error))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.cpp", help="the C++ source written against clad's API")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include dir")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="macro")
    p.add_argument("--std", default="c++17", help="C++ standard (default: c++17)")


def _translated(args: argparse.Namespace, defines, file_error) -> str:
    from . import translate

    try:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise file_error(f"cannot read {args.file}: {exc.strerror}") from None
    return translate(text, args.file, args.std, args.include_dirs, defines(args.defines))


def _translate(args: argparse.Namespace, defines, write_atomically, file_error) -> int:
    out = _translated(args, defines, file_error)
    if args.output:
        write_atomically(args.output, out, [args.file])
    else:
        sys.stdout.write(out)
    return 0


def _run(args: argparse.Namespace, defines, usage_error, file_error) -> int:
    program_args = list(args.args)
    if program_args and program_args[0] == "--":
        program_args = program_args[1:]
    cxx = args.cxx or os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not cxx:
        raise usage_error("no C++ compiler found: set CXX or pass --cxx")
    out = _translated(args, defines, file_error)
    with tempfile.TemporaryDirectory(prefix="pyclad-run-") as tmp:
        src = os.path.join(tmp, os.path.splitext(os.path.basename(args.file))[0] + ".cpp")
        exe = os.path.join(tmp, "program")
        with open(src, "w", encoding="utf-8") as f:
            f.write(out)
        flags = [f"-std={args.std}", "-I", get_include()]
        flags += [x for d in args.include_dirs for x in ("-I", d)]
        flags += [f"-D{d}" for d in args.defines]
        here = os.path.dirname(os.path.abspath(args.file))
        try:
            built = subprocess.run(
                [cxx, *flags, "-I", here, src, "-o", exe], check=False, capture_output=True, text=True
            )
        except OSError as exc:
            raise ToolError(f"cannot run the compiler {cxx}: {exc.strerror}") from None
        if built.returncode != 0:
            sys.stderr.write(built.stderr)
            raise ToolError(f"{cxx} could not compile the translation of {args.file}")
        sys.stdout.flush()
        status = subprocess.run([exe, *program_args], check=False).returncode
        return status if status >= 0 else 128 - status  # killed by a signal: as a shell reports it
