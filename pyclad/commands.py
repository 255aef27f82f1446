"""The ``pyclad build`` and ``pyclad cache`` commands (ahead-of-time modules, the on-disk cache).

Quiet on success; a problem with the input prints diagnostics (exit 1); argparse reports a
bad command line (exit 2).
"""

from __future__ import annotations

import argparse

MODES = ("forward", "reverse", "jacobian", "hessian")


def add_commands(sub) -> None:
    """Register ``build`` and ``cache`` with the ``pyclad`` command's subparsers."""
    b = sub.add_parser(
        "build",
        help="compile derivatives into a Python extension module (pybind11), importable without cling",
        description="Write and compile DIR/NAME, a package exposing the functions and their "
        "derivatives on floats and numpy arrays: PYTHONPATH=DIR python -c 'import NAME'.",
    )
    b.add_argument("file", metavar="FILE.cpp", help="the C++ source defining the functions")
    b.add_argument("-f", "--function", dest="functions", action="append", required=True, metavar="NAME")
    b.add_argument("--mode", choices=MODES, default="reverse", help="differentiation mode (default: reverse)")
    b.add_argument("--wrt", metavar="PARAMS", help="independent variables ('x', 'x, y', 'arr[0:2]')")
    b.add_argument(
        "-o", dest="out_dir", metavar="DIR", default=".", help="where the package goes (default: .)"
    )
    b.add_argument("--name", help="the module's name (default: FILE's stem + '_d')")
    b.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include dir")
    b.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="macro")
    b.add_argument("--std", default="c++17", help="C++ standard (default: c++17)")
    b.set_defaults(run=_build)

    c = sub.add_parser("cache", help="show or empty pyclad's on-disk cache")
    c.add_argument("action", choices=("info", "clear"), help="info: where and how big; clear: delete it")
    c.set_defaults(run=_cache)


def _build(args: argparse.Namespace, argv: list[str]) -> int:
    from .backends import aot

    defines = {}
    for item in args.defines:
        name, eq, value = item.partition("=")
        defines[name] = value if eq else None
    req = aot.Request(
        args.file, args.functions, args.mode, args.wrt, args.name, args.std, tuple(args.include_dirs), defines
    )
    aot.build(req, args.out_dir)
    return 0


def _cache(args: argparse.Namespace, argv: list[str]) -> int:
    from .backends import cache

    if args.action == "clear":
        cache.clear()
        return 0
    i = cache.info()
    print(f"{i.root}: {i.entries} entries, {i.bytes / 1e6:.1f} MB")
    return 0
