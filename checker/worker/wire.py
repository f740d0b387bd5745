"""Frames that cross the worker boundary: a JSON header plus raw ``.npy`` buffers.

Nothing here ever unpickles: arrays are written with ``np.save`` and read
with ``np.load(allow_pickle=False)``, and object arrays are refused on both
sides. The grading process reads frames with a size cap, so a worker that
sends gigabytes or garbage gets a :class:`WireError`, never a crash.

A frame is::

    b"NNCK" | u32 header length | header JSON (utf-8)
          | u32 array count | (u64 length | npy bytes) * count

In the header an array is replaced by ``{"__nd__": index}``.
"""
from __future__ import annotations

import io
import json
import math
import os
import struct
from typing import Any

import numpy as np

MAGIC = b"NNCK"
MAX_FRAME = 512 * 1024 * 1024


class WireError(Exception):
    """A frame was malformed, too large or cut short."""


def _pack(obj: Any, arrays: list[bytes]) -> Any:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("object arrays cannot cross the worker boundary")
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(obj), allow_pickle=False)
        arrays.append(buf.getvalue())
        return {"__nd__": len(arrays) - 1}
    if isinstance(obj, np.generic):
        return _pack(obj.item(), arrays)
    if isinstance(obj, dict):
        return {str(k): _pack(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_pack(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    raise TypeError(f"cannot send {type(obj).__name__} across the worker boundary")


def encode(obj: Any) -> bytes:
    arrays: list[bytes] = []
    header = json.dumps(_pack(obj, arrays), allow_nan=True).encode()
    parts = [MAGIC, struct.pack(">I", len(header)), header, struct.pack(">I", len(arrays))]
    for a in arrays:
        parts += [struct.pack(">Q", len(a)), a]
    return b"".join(parts)


def _unpack(obj: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__nd__"}:
            i = obj["__nd__"]
            if not isinstance(i, int) or not 0 <= i < len(arrays):
                raise WireError("bad array reference")
            return arrays[i]
        return {k: _unpack(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v, arrays) for v in obj]
    return obj


def _read_exact(fd: int, n: int, deadline_read) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = deadline_read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise WireError("the worker closed the connection mid-frame")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, read=os.read, max_bytes: int = MAX_FRAME) -> Any:
    """Read one frame from ``fd`` using ``read(fd, n)``; raise EOFError on a clean EOF."""
    first = read(fd, 4)
    if not first:
        raise EOFError
    magic = first + (_read_exact(fd, 4 - len(first), read) if len(first) < 4 else b"")
    if magic != MAGIC:
        raise WireError("the worker sent something that is not a frame")
    (hlen,) = struct.unpack(">I", _read_exact(fd, 4, read))
    if hlen > max_bytes:
        raise WireError("frame header too large")
    try:
        header = json.loads(_read_exact(fd, hlen, read))
    except ValueError as exc:
        raise WireError(f"bad frame header: {exc}") from None
    (count,) = struct.unpack(">I", _read_exact(fd, 4, read))
    total, arrays = hlen, []
    for _ in range(count):
        (alen,) = struct.unpack(">Q", _read_exact(fd, 8, read))
        total += alen
        if total > max_bytes:
            raise WireError(f"the worker sent more than {max_bytes >> 20} MB")
        try:
            arr = np.load(io.BytesIO(_read_exact(fd, alen, read)), allow_pickle=False)
        except ValueError as exc:
            raise WireError(f"bad array in frame: {exc}") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
            raise WireError("bad array in frame")
        arrays.append(arr)
    return _unpack(header, arrays)


def write_frame(fd: int, obj: Any) -> None:
    data = memoryview(encode(obj))
    while data:
        n = os.write(fd, data)
        data = data[n:]


def to_jsonable(obj: Any, max_array: int = 400) -> Any:
    """Plain JSON for reports: small arrays become nested lists, large ones a summary.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so
    the report stays strict JSON.
    """
    if isinstance(obj, np.ndarray):
        if obj.size <= max_array:
            return to_jsonable(obj.tolist(), max_array)
        return {"shape": list(obj.shape), "dtype": str(obj.dtype), "summary": "array too large to show"}
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), max_array)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, max_array) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, max_array) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)
