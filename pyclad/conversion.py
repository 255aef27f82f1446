"""Python arguments to C++ ones: check each argument against its parameter's type, convert it
(copying what a derivative call must not write), allocate tangent buffers, and convert results back."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import containers, ir, record_arrays
from .ad import compose
from .arguments import (
    Plan,
    check_aliasing,
    output_array,
    plan_of,
    private_array,
    record_argument,
    zeroed_record,
)
from .backends.call import check_extents
from .errors import ArgumentError

if TYPE_CHECKING:
    from .api import Function

_DTYPES = {"double": np.float64, "float": np.float32, "long double": np.longdouble}
_INT_RANGE = {  # C++ integer type -> (min, max), from the platform's sizes
    name: (0, (1 << 8 * ctypes.sizeof(c)) - 1)
    if unsigned
    else (-(1 << 8 * ctypes.sizeof(c) - 1), (1 << 8 * ctypes.sizeof(c) - 1) - 1)
    for name, c, unsigned in [
        ("char", ctypes.c_char, False),
        ("signed char", ctypes.c_byte, False),
        ("unsigned char", ctypes.c_ubyte, True),
        ("short", ctypes.c_short, False),
        ("unsigned short", ctypes.c_ushort, True),
        ("int", ctypes.c_int, False),
        ("unsigned int", ctypes.c_uint, True),
        ("long", ctypes.c_long, False),
        ("unsigned long", ctypes.c_ulong, True),
        ("long long", ctypes.c_longlong, False),
        ("unsigned long long", ctypes.c_ulonglong, True),
    ]
}
_F64 = np.dtype(np.float64)
# C++ integer type -> the numpy dtype of its arrays (``int*`` takes int32, ``long*`` int64 here),
# from the platform's sizes; char arrays are not index arrays and stay refused.
_INT_DTYPES = {
    name: np.dtype(f"{'u' if lo == 0 else 'i'}{(hi.bit_length() + 7) // 8}")
    for name, (lo, hi) in _INT_RANGE.items()
    if "char" not in name
}


def convert_args(
    fn: ir.Function, args: Sequence, extras, private: bool = False
) -> tuple[list, list[np.ndarray]]:
    """Check and convert Python arguments for ``fn``'s parameters; allocate tangent arrays.

    ``private``: a derivative call, whose non-const arrays are fresh copies (it never
    modifies the caller's arrays); otherwise a primal call, which writes the caller's arrays
    in place and so refuses what it cannot write (see pyclad.arguments)."""
    if len(args) != len(fn.params):
        sig = ", ".join(p.type.spell(p.name) for p in fn.params)
        raise ArgumentError(f"{fn.name}({sig}) takes {len(fn.params)} arguments, got {len(args)}", fn.loc)
    plan = _plan(fn)
    if plan.scalars and not extras and all(type(a) is float for a in args):
        return list(args), []  # the common case of a scalar function, at no cost
    if plan.written and len(plan.arrays) > 1:
        check_aliasing(fn, plan, args)
    out, arrays = [], {}
    for p, kind, a in zip(fn.params, plan.kinds, args):
        # Fast paths for the common cases; everything else (and every error) in _convert.
        if kind == "f" and type(a) is float:
            out.append(a)
        elif (
            (kind == "a" or kind == "o")
            and type(a) is np.ndarray
            and a.dtype is _F64
            and a.ndim == 1
            and a.size
            and (a.flags.carray if kind == "o" else a.flags.c_contiguous)
        ):
            if kind == "o" and private:
                a = a.copy()
            arrays[p.name] = a
            out.append(a)
        else:
            out.append(_convert(fn, p, a, arrays, private))
    made = []
    for e in extras:
        if e.like not in arrays:  # a pointer to a record: the tangent is a zero record of its class
            like = next(k for k, p in enumerate(fn.params) if p.name == e.like)
            if record_arrays.is_array_argument(out[like]) and not e.field:  # zero tangents, one per record
                buf = record_arrays.zeros(type(out[like]), fn.params[like].type, out[like])
                out.append(buf)
                made.append(buf)
                continue
            if record_arrays.is_array_argument(out[like]):
                raise ArgumentError(
                    f"forward mode w.r.t. '{e.like}.{e.field}' seeds one record, but '{e.like}' was given "
                    f"an array of {record_arrays.length(out[like])} records: take pyclad.gradient "
                    f"(a list of records back), or pass one record",
                    fn.loc,
                )
            buf = zeroed_record(type(out[like]), fn.params[like].type.named())
            if e.field:
                *path, last = e.field.split(".")
                inner = buf
                for name in path:
                    inner = getattr(inner, name)
                setattr(inner, last, 1.0)
            out.append(buf)
            made.append(buf)
            continue
        like = arrays[e.like]
        if not isinstance(like, np.ndarray):  # a container's tangent: a container like it
            buf = containers.seeded(fn.param(e.like).type, like, e.seed)
            arrays[e.name] = buf
            out.append(buf)
            made.append(buf)
            continue
        buf = np.zeros(like.shape[0], dtype=like.dtype)
        if e.seed is not None:
            if e.seed >= buf.shape[0]:
                raise ArgumentError(
                    f"index {e.seed} is out of range for '{e.like}' (length {buf.shape[0]})", fn.loc
                )
            buf[e.seed] = 1
        arrays[e.name] = buf  # a higher order's tangent of this tangent is shaped like it
        out.append(buf)
        made.append(buf)
    check_extents(fn, out)
    return out, made


_plans: dict[int, tuple[ir.Function, Plan]] = {}


def _plan(fn: ir.Function) -> Plan:
    """How each argument of ``fn`` is passed (cached per function)."""
    hit = _plans.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    plan = plan_of(fn)
    _plans[id(fn)] = (fn, plan)
    return plan


def _refine_plan(function: Function) -> None:
    """Aliasing matters only for the arrays a function really writes: where its body can be
    read, the write analysis decides (``dot(double* a, double* b)`` called with ``(x, x)``
    reads both and is fine); otherwise every non-const pointer counts as written."""
    if function._refined:
        return
    function._refined = True
    source = function.module.source
    try:
        outputs = compose.split_params(source.function(function.name), None, source.program).outputs
    except Exception:  # noqa: BLE001 - no analysis: the type-based plan stays
        return
    plan = _plan(function.ir)
    written = tuple(i for i in plan.written if function.ir.params[i].name in outputs)
    _plans[id(function.ir)] = (function.ir, replace(plan, written=written))


def _convert(fn: ir.Function, p: ir.Param, a, arrays: dict, private: bool = False):
    t = p.type
    where = f"argument '{p.name}' of {fn.name}"
    if t.kind == ir.RECORD and t.ptr <= 1 and not t.dims:
        if t.ptr and (isinstance(a, (list, tuple, np.ndarray)) or record_arrays.is_vector(a)):
            return record_arrays.argument(fn, p, a, private)  # an array of records
        return record_argument(fn, p, a, private)
    if containers.is_container(t):
        arrays[p.name] = arg = containers.argument(fn, p, a, private)
        return arg
    if t.ptr == 1 and t.base in _DTYPES:
        dtype = _DTYPES[t.base]
        if isinstance(a, (int, float)) or a is None:
            raise ArgumentError(f"{where} is {t.spell()}: pass an array, got {type(a).__name__}", fn.loc)
        if not t.const:  # written: in place by a primal call, into a private copy by a derivative's
            arr = private_array(fn, p, a, dtype) if private else output_array(fn, p, a, dtype)
            arrays[p.name] = arr
            return arr
        try:
            arr = np.asarray(a)
        except Exception as exc:  # noqa: BLE001 - any failure is a bad argument
            raise ArgumentError(f"{where}: cannot convert to an array ({exc})", fn.loc) from None
        if arr.dtype != dtype or not arr.flags.c_contiguous:
            if arr.dtype.kind not in "biuf":
                raise ArgumentError(f"{where}: expected numbers, got an array of {arr.dtype}", fn.loc)
            arr = np.ascontiguousarray(arr, dtype=dtype)
        arr = arr.reshape(-1)
        if arr.size == 0:
            raise ArgumentError(f"{where} is an empty array", fn.loc)
        arrays[p.name] = arr
        return arr
    if t.ptr == 1 and t.base in _INT_DTYPES and t.kind == ir.BUILTIN:
        return _int_array(fn, p, a, arrays, private)
    if t.ptr or t.dims:
        raise ArgumentError(f"{where} has type {t.spell()}, which Python cannot pass", fn.loc)
    if t.ref and not t.const:
        raise ArgumentError(
            f"{where} is a non-const reference ({t.spell()}); call it from a C++ wrapper", fn.loc
        )
    if isinstance(a, np.ndarray) and a.ndim == 0:
        a = a.item()
    if isinstance(a, np.generic):
        a = a.item()
    if t.holds_float:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise ArgumentError(f"{where} must be a number, got {type(a).__name__}", fn.loc)
        try:
            return float(a)
        except OverflowError:  # an int beyond every double
            raise ArgumentError(f"{where} is {t.spell()}: {a} is outside its range", fn.loc) from None
    if t.base == "bool":
        return bool(a)
    if isinstance(a, bool) or not isinstance(a, int):
        if isinstance(a, float) and a.is_integer():
            return int(a)
        raise ArgumentError(f"{where} must be an integer, got {a!r}", fn.loc)
    lo, hi = _INT_RANGE.get(t.base, (a, a))
    if not lo <= a <= hi:
        raise ArgumentError(f"{where} is {t.spell()}: {a} is outside its range [{lo}, {hi}]", fn.loc)
    return a


def _int_array(fn: ir.Function, p: ir.Param, a, arrays: dict, private: bool) -> np.ndarray:
    """An integer array (``const int* idx``) as its parameter's exact dtype: a written one
    (``int* idx``) must already be that (the primal writes it in place; a derivative call, a
    private copy); a const one is converted when every value fits, never truncated."""
    t, where = p.type, f"argument '{p.name}' of {fn.name}"
    dtype = _INT_DTYPES[t.base]
    if isinstance(a, (int, float)) or a is None:
        raise ArgumentError(f"{where} is {t.spell()}: pass an array, got {type(a).__name__}", fn.loc)
    if not t.const and not private:
        arr = output_array(fn, p, a, dtype)
    else:
        try:
            src = np.asarray(a)
        except Exception as exc:  # noqa: BLE001 - any failure is a bad argument
            raise ArgumentError(f"{where}: cannot convert to an array ({exc})", fn.loc) from None
        if src.size == 0:
            raise ArgumentError(f"{where} is an empty array", fn.loc)
        if src.dtype.kind not in "biuf":
            raise ArgumentError(f"{where}: expected integers, got an array of {src.dtype}", fn.loc)
        if src.dtype != dtype:
            info = np.iinfo(dtype)
            values = src.astype(np.float64) if src.dtype.kind == "f" else src
            if src.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.round(values))):
                raise ArgumentError(f"{where} is {t.spell()}: the array holds non-integer values", fn.loc)
            if values.min() < info.min or values.max() > info.max:
                raise ArgumentError(
                    f"{where} is {t.spell()}: a value is outside its range [{info.min}, {info.max}]", fn.loc
                )
        if src.dtype == dtype and src.flags.c_contiguous and t.const:
            arr = src.reshape(-1)  # an input, read in place
        else:
            arr = np.array(src, dtype=dtype, order="C", copy=True).reshape(-1)
    arrays[p.name] = arr
    return arr


def _result(t: ir.Type, value):
    if t.is_void:
        return None
    if containers.is_container(t):
        return containers.to_numpy(value)
    if t.holds_float:
        return float(value)
    return value
