"""The safetensors file format, read and written with NumPy alone: no code runs on load.

Layout: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces), then the
data buffer. The header maps each tensor name to ``{"dtype", "shape", "data_offsets"}`` (offsets
into the buffer) and may hold ``"__metadata__"``, a str -> str map. The buffer must be covered by
the tensors exactly, without holes or overlaps, as the reference implementation demands.

Writes are atomic: a temporary file in the target's folder, fsync, ``os.replace``, fsync of the
folder. A per-tensor CRC32 goes into the metadata (``gpucell.crc32``) so that damaged data bytes
are refused on load, not only a damaged header.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import zlib

import numpy as np

from gpucell import dtype as _dt

__all__ = ["CRC_KEY", "TensorEntry", "crc_table", "read_header", "read_tensor", "write"]

CRC_KEY = "gpucell.crc32"
MAX_HEADER_BYTES = 100 * 1024 * 1024

_CODES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype("<u1"), "I8": np.dtype("<i1"), "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"), "I64": np.dtype("<i8"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"), "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "C64": np.dtype("<c8"),
}
if _dt.BF16_NUMPY is not None:  # little-endian bytes of ml_dtypes' bfloat16, as the format's BF16
    _CODES["BF16"] = _dt.BF16_NUMPY
_CODE_OF = {dt.newbyteorder("="): code for code, dt in _CODES.items()}
# Valid in the format but with no gpucell dtype: named in the error instead of "unknown".
_KNOWN_UNSUPPORTED = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",
                      "F6_E2M3", "F6_E3M2"} | ({"BF16"} - set(_CODES))


class TensorEntry:
    """One tensor's header record, validated."""

    __slots__ = ("begin", "dtype", "end", "name", "shape")

    def __init__(self, name: str, dtype: np.dtype, shape: tuple, begin: int, end: int):
        self.name, self.dtype, self.shape, self.begin, self.end = name, dtype, shape, begin, end


def _fail(path, what: str) -> ValueError:
    return ValueError(f"The checkpoint file '{path}' is not a valid safetensors file: {what}.")


# -- writing -----------------------------------------------------------------------------------
def _write_array(f, flat: np.ndarray) -> None:
    """Writes one tensor's bytes (tests wrap this to stop a save half way)."""
    if flat.size:
        f.write(memoryview(flat).cast("B"))


def write(path: str, tensors: list[tuple[str, np.ndarray]], metadata: dict[str, str]) -> None:
    """Writes ``tensors`` (name, host array) and ``metadata`` to ``path`` atomically."""
    flats, crcs, header = [], {}, {}
    for name, array in tensors:
        code = _CODE_OF.get(array.dtype.newbyteorder("="))
        if code is None:
            raise TypeError(f"For 'save_checkpoint', the tensor '{name}' has dtype {array.dtype}, "
                            f"which the checkpoint format cannot hold.")
        flat = np.ascontiguousarray(array.reshape(-1), dtype=_CODES[code])
        if code == "BF16":
            flat = flat.view(np.uint16)  # the same bytes; memoryview refuses ml_dtypes' type code
        flats.append((name, code, tuple(int(d) for d in array.shape), flat))
        crcs[name] = f"{zlib.crc32(memoryview(flat).cast('B')) if flat.size else 0:08x}"
    # Widest items first, so each tensor starts aligned to its item size (offsets may not have holes).
    layout = sorted(range(len(flats)), key=lambda i: -flats[i][3].itemsize)
    offset, offsets = 0, {}
    for i in layout:
        offsets[i] = (offset, offset + flats[i][3].nbytes)
        offset += flats[i][3].nbytes
    meta = dict(metadata)
    meta[CRC_KEY] = json.dumps(crcs, separators=(",", ":"))
    header["__metadata__"] = meta
    for i, (name, code, shape, _) in enumerate(flats):  # header keeps the caller's order
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": list(offsets[i])}
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)

    path = os.path.abspath(path)
    folder, base = os.path.split(path)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)
            for i in layout:
                _write_array(f, flats[i][3])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Makes the rename itself durable (POSIX); folders cannot be opened this way everywhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading -----------------------------------------------------------------------------------
def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the header names '{key}' twice")
        seen[key] = value
    return seen


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_header(f, path) -> tuple[list[TensorEntry], dict[str, str], int]:
    """Validates the header of the open file ``f``: (entries in header order, metadata, data start)."""
    size = os.fstat(f.fileno()).st_size
    if size < 8:
        raise _fail(path, f"it is {size} bytes long, too short to hold the 8-byte header length "
                          f"(truncated or empty)")
    n = int.from_bytes(f.read(8), "little")
    if n < 2 or n > MAX_HEADER_BYTES:
        raise _fail(path, f"the header length field says {n} bytes (expected 2 to {MAX_HEADER_BYTES})")
    if 8 + n > size:
        raise _fail(path, f"the header length field says {n} bytes but only {size - 8} follow "
                          f"(truncated)")
    raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as exc:
        raise _fail(path, f"the header is not UTF-8 ({exc})") from None
    except ValueError as exc:
        raise _fail(path, f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _fail(path, f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise _fail(path, "'__metadata__' must map strings to strings")
    entries = []
    for name, info in header.items():
        entries.append(_entry(path, name, info))
    buffer = size - 8 - n
    covered = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin != covered:
            gap = "overlaps the previous tensor" if entry.begin < covered else "leaves a hole before it"
            raise _fail(path, f"the data of '{entry.name}' starts at byte {entry.begin}, which {gap} "
                              f"(the previous data ends at byte {covered})")
        covered = entry.end
    if covered != buffer:
        state = "truncated" if covered > buffer else "has trailing bytes"
        raise _fail(path, f"the header describes {covered} data bytes but the file holds {buffer} "
                          f"after the header ({state})")
    return entries, metadata, 8 + n


def _entry(path, name: str, info) -> TensorEntry:
    if not name:
        raise _fail(path, "a tensor has an empty name")
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _fail(path, f"the entry of '{name}' must hold exactly 'dtype', 'shape' and "
                          f"'data_offsets', but got {info!r}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _CODES:
        if code in _KNOWN_UNSUPPORTED:
            raise _fail(path, f"the tensor '{name}' has dtype {code}, which gpucell does not support "
                              f"(supported: {', '.join(_CODES)})")
        raise _fail(path, f"the tensor '{name}' has the unknown dtype {code!r}")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise _fail(path, f"the shape of '{name}' must be a list of non-negative ints, but got {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise _fail(path, f"the data_offsets of '{name}' must be two ints 0 <= begin <= end, "
                          f"but got {offsets!r}")
    dtype = _CODES[code]
    expected = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise _fail(path, f"the tensor '{name}' ({code}, shape {shape}) needs {expected} bytes, but "
                          f"its data_offsets {offsets} span {offsets[1] - offsets[0]}")
    return TensorEntry(name, dtype, tuple(shape), offsets[0], offsets[1])


def crc_table(metadata: dict[str, str], path) -> dict[str, str]:
    """The per-tensor CRC32s gpucell stored in the metadata ({} for files other tools wrote)."""
    raw = metadata.get(CRC_KEY)
    if raw is None:
        return {}
    try:
        table = json.loads(raw)
    except ValueError:
        table = None
    if not isinstance(table, dict) or not all(isinstance(v, str) and len(v) == 8 for v in table.values()):
        raise _fail(path, f"the metadata entry '{CRC_KEY}' is damaged")
    return table


def read_tensor(f, path, entry: TensorEntry, data_start: int, crc: str | None) -> np.ndarray:
    """Reads one tensor (native byte order), checking its CRC32 when ``crc`` is given."""
    nbytes = entry.end - entry.begin
    buf = np.empty(nbytes, dtype=np.uint8)
    f.seek(data_start + entry.begin)
    got = f.readinto(memoryview(buf)) if nbytes else 0
    if got != nbytes:
        raise _fail(path, f"the data of '{entry.name}' ends early: {got} of {nbytes} bytes (truncated)")
    if crc is not None and f"{zlib.crc32(buf) if nbytes else 0:08x}" != crc:
        raise _fail(path, f"the data of '{entry.name}' does not match its CRC32 (corrupted)")
    if entry.dtype == np.bool_ and nbytes and int(buf.max()) > 1:
        raise _fail(path, f"the BOOL tensor '{entry.name}' holds bytes other than 0 and 1")
    array = buf.view(entry.dtype).reshape(entry.shape)
    return array.astype(entry.dtype.newbyteorder("="), copy=False)
