"""pyclad's on-disk cache: what one process compiled, a later process reuses.

An entry is keyed by a hash of everything its content depends on: the source text, the
contents of every user header the source includes, the flags, the request and pyclad's
version; editing any of them gives a new key (a miss), so entries are never stale, only
unused.  Entries live under ``$PYCLAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/pyclad``, else
``~/.cache/pyclad``.  Writes are atomic (a temporary file, then ``os.replace``), so two
processes writing the same entry at once both succeed and a reader sees a whole file or
none; each file carries a digest of its content, so a damaged file reads as a miss and is
written again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass

from ..errors import PycladError

_MAGIC = b"pyclad-cache 1 "
_KINDS = ("jit", "aot")  # the folders of the cache root that belong to it


def root() -> str:
    """The cache directory (not created here)."""
    explicit = os.environ.get("PYCLAD_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyclad")


@functools.cache
def _version() -> str:
    """pyclad's version and a digest of its own source: an entry made by other code (a
    development checkout edited since) is never read back."""
    from .. import __version__
    from . import runtime_include

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256(__version__.encode())
    for base in (package, runtime_include()):
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(f for f in filenames if f.endswith((".py", ".hpp", ".h"))):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    h.update(name.encode() + b"\0" + fh.read())
    return f"{__version__}+{h.hexdigest()[:16]}"


def key(text: str, headers: list[str], flags: list[str], request: object) -> str:
    """The hash naming an entry: source text, each header's path and content, the flags,
    the request (its ``repr``) and pyclad's version."""
    h = hashlib.sha256()

    def part(data: bytes) -> None:  # length-prefixed, so parts cannot run into each other
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    part(_version().encode())
    part(text.encode())
    for path in headers:
        part(path.encode())
        try:
            with open(path, "rb") as fh:
                part(fh.read())
        except OSError:
            part(b"\0missing")
    for f in flags:
        part(f.encode())
    part(repr(request).encode())
    return h.hexdigest()


def entry_dir(kind: str, k: str) -> str:
    return os.path.join(root(), kind, k[:2], k)


def read(kind: str, k: str, name: str) -> bytes | None:
    """The content stored as ``name`` in entry ``k``; None if absent or damaged."""
    try:
        with open(os.path.join(entry_dir(kind, k), name), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    if not head.startswith(_MAGIC) or head[len(_MAGIC) :].decode("ascii", "replace") != _digest(body):
        return None
    return body


def write(kind: str, k: str, name: str, data: bytes) -> str:
    """Store ``data`` as ``name`` in entry ``k`` atomically; returns the file's path."""
    folder = entry_dir(kind, k)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + _digest(data).encode() + b"\n" + data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish(kind: str, k: str, name: str, build) -> str:
    """A file of entry ``k`` that ``build(path)`` writes (a shared library, say) and that
    must not be checked byte by byte on every read: built under a temporary name, then
    renamed into place, so a concurrent reader sees it whole or not at all."""
    folder = entry_dir(kind, k)
    path = os.path.join(folder, name)
    if os.path.exists(path):
        return path
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(name)[1], dir=folder)
    os.close(fd)
    try:
        build(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@dataclass
class Info:
    root: str
    entries: int
    bytes: int


def info() -> Info:
    """How many entries the cache holds and their size on disk."""
    entries = size = 0
    for kind in _KINDS:
        base = os.path.join(root(), kind)
        for dirpath, dirnames, filenames in os.walk(base):
            if os.path.dirname(os.path.dirname(dirpath)) == base:
                entries += 1
            size += sum(_size(os.path.join(dirpath, f)) for f in filenames)
    return Info(root(), entries, size)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def clear() -> int:
    """Delete every entry (only pyclad's own folders of the root); returns how many."""
    n = info().entries
    for kind in _KINDS:
        shutil.rmtree(os.path.join(root(), kind), ignore_errors=True)
    return n


def aot_dir(req) -> str:
    """Where ``pyclad.build`` puts a module by default: one folder per request and content."""
    from ..frontend.includes import user_headers
    from ..frontend.parse import compile_args, parse

    path = os.path.abspath(req.path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PycladError(f"cannot read {req.path}: {exc.strerror}") from None
    flags = compile_args(req.std, req.include_dirs, req.defines)
    headers = user_headers(parse(text, path, flags))
    k = key(text, headers, flags, (path, req.functions, req.mode, req.wrt, req.name))
    return entry_dir("aot", k)
