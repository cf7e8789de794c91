"""A tiny safetensors writer and reader for the reference fixture scripts (numpy only).

Used by make_fixtures.py and make_model_fixtures.py to write tests/reference/fixtures/; it is
test tooling, not part of seekforge (the C++ reader/writer is src/io/safetensors.*).
"""

import json
import os
import struct

import numpy as np

_DTYPES = {  # numpy dtype -> (safetensors name, itemsize)
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.uint8): "U8",
}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array) in header order; metadata: dict str -> str.

    Same layout rules as the C++ writer: header padded with spaces to 8 bytes, data stored by
    decreasing element size so every tensor is aligned, no holes. Written atomically.
    """
    arrays = []
    for name, a in tensors:
        a = np.asarray(a)
        if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn a scalar into [1])
            a = a.copy(order="C")
        assert a.dtype in _DTYPES, (name, a.dtype)
        arrays.append((name, a.astype(a.dtype.newbyteorder("<"), copy=False)))
    order = sorted(range(len(arrays)), key=lambda i: -arrays[i][1].dtype.itemsize)  # stable
    offsets, cursor = {}, 0
    for i in order:
        n = arrays[i][1].nbytes
        offsets[i] = (cursor, cursor + n)
        cursor += n
    header = {}
    if metadata:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        header["__metadata__"] = metadata
    for i, (name, a) in enumerate(arrays):
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": list(offsets[i])}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for i in order:
            f.write(arrays[i][1].tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """Reads back what write_safetensors wrote (checks the files before they are committed)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    names = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
             "U8": np.uint8}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=names[e["dtype"]]).reshape(
            e["shape"])
    return out, meta
