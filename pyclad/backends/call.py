"""Calling compiled kernels from Python: bounds-checked entries, and C++ failures as Python errors.

A checked kernel (see pyclad.checked) is entered through a shim that takes every pointer
as (data, length); ``with_lengths`` inserts the lengths of the arrays passed.  A
``pyclad::bounds_error`` thrown by a checked access becomes ``BoundsError``; a fault the
JIT catches (segmentation fault, integer division by zero; cppyy's signals as exceptions)
becomes ``CrashError``.
"""

from __future__ import annotations

import linecache
import os

import numpy as np

from ..checked import ENTRY, inside, is_checked_pointer
from ..errors import ArgumentError, BoundsError, CrashError, Loc, PycladError
from ..ir import RECORD
from ..record_arrays import length as record_length

_FAULTS = ("SegmentationViolation", "IllegalInstruction", "BusError", "AbortSignal", "FatalError")


def entry_name(name: str, checked: bool) -> str:
    """The name Python calls for the generated function ``name``."""
    return inside(name, ENTRY) if checked else name


def length_plan(params) -> tuple[int, ...]:
    """The positions of a generated function's parameters after which its entry shim takes
    a length, last first (so that inserting them keeps the earlier positions)."""
    return tuple(
        k
        for k in reversed(range(len(params)))
        if is_checked_pointer(params[k].type) and not params[k].type.ref
    )


def with_lengths(plan: tuple[int, ...], args: list) -> list:
    """``args`` with the length of each pointer argument after it, as the entry shims take them
    (an array of records carries its count; one object is one record)."""
    out = list(args)
    for k in plan:
        a = args[k]
        out.insert(k + 1, a.size if type(a) is np.ndarray else record_length(a))
    return out


def check_extents(fn, args: list) -> None:
    """Refuse, before the call, an array shorter than its parameter's declared length
    (``double a[3]`` given 2 elements): the function may read or write all of them."""
    for p, a in zip(fn.params, args):
        if p.extent is None:
            continue
        n = a.size if isinstance(a, np.ndarray) else record_length(a) if p.type.kind == RECORD else None
        if n is not None and n < p.extent:
            raise BoundsError(
                f"argument '{p.name}' of {fn.name} is declared {p.type.base} {p.name}[{p.extent}], "
                f"but the array passed has length {n}",
                p.loc,
                p.name,
                n,
                n,
            )


def invoke(native, args: list, name: str):
    """Call a compiled function; every failure of the call becomes a PycladError."""
    try:
        return native(*args)
    except TypeError as exc:
        raise ArgumentError(f"cannot call {name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - what is not ours is re-raised unchanged
        raise _translate(exc, name) from None


def _translate(exc: Exception, name: str) -> Exception:
    kind = type(exc).__name__
    text = str(exc)
    if kind == "bounds_error":
        return _bounds(text, name)
    if kind in _FAULTS or (kind == "FloatingPointError" and "in C++" in text):
        what = text.strip().splitlines()[-1].strip().split(";")[0]  # "SegmentationViolation: segfault in C++"
        if kind == "FloatingPointError":
            what += " (an integer division by zero?)"
        return CrashError(
            f"{name} crashed: {what}; the process survived, but what the call wrote is undefined"
        )
    if "failed to resolve function" in text:
        return PycladError(
            f"cannot call {name}: the JIT could not link it (is a function the source calls declared "
            f"but never defined?): {exc}"
        )
    return exc


def _display(name: str) -> str:
    """How an error names a buffer: a derivative buffer (``_d_x``, ``_d_x0_buf``) also
    names the parameter it is shaped like."""
    of = name
    while of.startswith("_d_"):
        of = of[3:]
    of = of.removesuffix("_buf").rstrip("0123456789") or of
    return f"'{name}'" if of == name else f"'{name}' (the derivative buffer of '{of}')"


def bounds_from_text(text: str, name: str) -> BoundsError:
    """The BoundsError of an ahead-of-time module's IndexError: a checked access of the kernel
    ``name`` ("WHERE|NAME|INDEX|LENGTH"), or an array shorter than a ``double a[3]``
    parameter ("extent|WHERE|NAME|LENGTH|MESSAGE"), worded as the JIT path words them."""
    if text.startswith("extent|"):
        where, param, length, message = text.removeprefix("extent|").rsplit("|", 3)  # a path may hold "|"
        return BoundsError(message, _loc(where), param, int(length), int(length))
    return _bounds(text, name)


def _loc(where: str) -> Loc | None:
    """The Loc of "file:line:col", with the source line for the caret when the file is readable."""
    if where.count(":") >= 2:
        file, line, col = where.rsplit(":", 2)
        if line.isdigit() and col.isdigit():
            text = ""
            if os.path.isfile(file):
                linecache.checkcache(file)  # the file may have been edited since
                text = linecache.getline(file, int(line)).rstrip("\r\n")
            return Loc(file, int(line), int(col), text)
    return None


def _bounds(text: str, name: str) -> BoundsError:
    """A BoundsError from a ``pyclad::bounds_error`` message "WHERE|NAME|INDEX|LENGTH"."""
    where, param, index, length = text.rsplit("bounds_error:", 1)[-1].strip().rsplit("|", 3)
    loc = _loc(where)
    index = int(index.split()[0])
    length = int(length.split()[0])
    return BoundsError(
        f"{name}: index {index} is out of bounds for {_display(param)} (length {length}); nothing was written "
        "outside it (pass a longer array)",
        loc,
        param,
        index,
        length,
    )
