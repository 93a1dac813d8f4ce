"""Parse and check a safetensors header by hand, without loading any tensor.

Format (https://github.com/huggingface/safetensors#format): 8 bytes little-endian unsigned N,
then N bytes of UTF-8 JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}``
with an optional ``"__metadata__"`` string map, then the data buffer. Offsets are relative to
the buffer. Like the reference loader we require the tensors to tile the buffer exactly
(sorted, contiguous, no overlap, no hole) and the buffer to end where the file ends, so a
header that lies about a size or an offset is refused before anything reads the data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import BinaryIO

from service.validation.errors import UploadRejected

DTYPE_BYTES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def _bad(path: str, why: str) -> UploadRejected:
    return UploadRejected("safetensors_header_invalid", f"{path}: {why}; the header must describe the file exactly")


def read_safetensors_header(f: BinaryIO, file_size: int, path: str, max_header_bytes: int) -> list[TensorInfo]:
    """Tensors described by the header of ``f`` (positioned at 0), checked against ``file_size``."""
    prefix = f.read(8)
    if len(prefix) != 8:
        raise _bad(path, "the file is shorter than the 8-byte header length")
    n = int.from_bytes(prefix, "little")
    if n > max_header_bytes:
        raise _bad(path, f"the header claims {n} bytes, above the {max_header_bytes}-byte limit")
    if n > file_size - 8:
        raise _bad(path, f"the header claims {n} bytes but the file has only {file_size - 8} after the length")
    raw = f.read(n)
    if len(raw) != n:
        raise _bad(path, "the file ends inside the header")
    if not raw.startswith(b"{"):
        raise _bad(path, "the header does not start with '{' (a pickle or other format renamed .safetensors?)")
    try:
        header = json.loads(raw.decode("utf-8").rstrip(" "))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _bad(path, f"the header is not UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise _bad(path, "the header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise _bad(path, "__metadata__ must map strings to strings")
    tensors = [_tensor(path, name, spec) for name, spec in header.items()]
    buffer = file_size - 8 - n
    cursor = 0
    for t in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if t.begin != cursor:
            what = "overlaps the previous tensor" if t.begin < cursor else "leaves a gap before it"
            raise _bad(path, f"tensor {t.name!r} starts at {t.begin} and {what} (expected {cursor})")
        cursor = t.end
    if cursor != buffer:
        raise _bad(path, f"the tensors cover {cursor} data bytes but the file holds {buffer}")
    return tensors


def _tensor(path: str, name: str, spec: object) -> TensorInfo:
    if not isinstance(spec, dict):
        raise _bad(path, f"entry {name!r} is not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise _bad(path, f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise _bad(path, f"tensor {name!r} has shape {shape!r}; it must be a list of non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
        raise _bad(path, f"tensor {name!r} has data_offsets {offsets!r}; expected [begin, end] with 0 <= begin <= end")
    expected = math.prod(shape) * DTYPE_BYTES[dtype]
    if offsets[1] - offsets[0] != expected:
        raise _bad(path, f"tensor {name!r} spans {offsets[1] - offsets[0]} bytes but {dtype}{shape} needs {expected}")
    return TensorInfo(name, dtype, tuple(shape), offsets[0], offsets[1])
