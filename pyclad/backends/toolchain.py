"""What pyclad shares with C++ build tools: Make-style depfiles, compile_commands.json,
atomic file writes, and the system compiler's command line for extension modules."""

from __future__ import annotations

import json
import os
import shlex
import sysconfig
import tempfile
from dataclasses import dataclass, field

from ..errors import PycladError


class ToolchainError(PycladError):
    """A build file pyclad was pointed at is missing or unreadable, or the compiler failed."""


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a build tool) sees the old file or the
    new one, never half of one: a temporary file beside it, then ``os.replace``.  The file
    gets the permissions of an ordinary new file (mkstemp alone would make it 0600)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pyclad-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _escape(path: str) -> str:
    """A path as Make (and Ninja) read it in a depfile."""
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")


def depfile(target: str, deps: list[str]) -> str:
    """``target: dep dep ...`` in Make syntax, one dependency a line."""
    lines = [f"{_escape(target)}:"] + [f" {_escape(d)}" for d in deps]
    return " \\\n".join(lines) + "\n"


@dataclass
class Flags:
    """The parts of a compiler command line that change how a source parses."""

    std: str | None = None
    include_dirs: list[str] = field(default_factory=list)
    defines: dict[str, str | None] = field(default_factory=dict)


def compile_flags(build_dir: str, source: str) -> Flags:
    """The ``-std``, ``-I``/``-isystem``/``-iquote`` and ``-D``/``-U`` flags the build in
    ``build_dir`` compiles ``source`` with (its ``compile_commands.json`` entry)."""
    db = os.path.join(build_dir, "compile_commands.json")
    try:
        with open(db, encoding="utf-8") as fh:
            entries = json.load(fh)
    except OSError as exc:
        raise ToolchainError(f"cannot read {db}: {exc.strerror}") from None
    except ValueError as exc:
        raise ToolchainError(f"{db} is not valid JSON: {exc}") from None
    want = os.path.realpath(source)
    for e in entries if isinstance(entries, list) else []:
        folder = e.get("directory", build_dir)
        if os.path.realpath(os.path.join(folder, e.get("file", ""))) == want:
            args = e["arguments"] if "arguments" in e else shlex.split(e.get("command", ""))
            return _read_flags(args, folder)
    raise ToolchainError(f"{db} has no entry for {source}")


def _read_flags(args: list[str], folder: str) -> Flags:
    flags = Flags()
    it = iter(args[1:])
    for a in it:
        for opt in ("-I", "-isystem", "-iquote", "-D", "-U"):
            if a == opt:
                a = opt + next(it, "")
                break
        if a.startswith("-std="):
            flags.std = a[len("-std=") :]
        elif a.startswith(("-isystem", "-iquote", "-I")):
            opt = next(o for o in ("-isystem", "-iquote", "-I") if a.startswith(o))
            flags.include_dirs.append(os.path.normpath(os.path.join(folder, a[len(opt) :])))
        elif a.startswith("-D"):
            name, eq, value = a[2:].partition("=")
            flags.defines[name] = value if eq else None
        elif a.startswith("-U"):
            flags.defines.pop(a[2:], None)
    return flags


def python_includes() -> list[str]:
    """Include directories of this Python's C API (what ``python3-config --includes`` prints)."""
    dirs = [sysconfig.get_path("include"), sysconfig.get_path("platinclude")]
    return list(dict.fromkeys(d for d in dirs if d))


def extension_suffix() -> str:
    """The file name ending an extension module of this Python needs (``.cpython-311-...so``)."""
    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"
