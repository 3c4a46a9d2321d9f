"""The harness <-> sandbox channel: values as plain builtins, framed pickles, a no-globals unpickler.

Anything the sandbox sends may have been forged by the submission (it can write to any fd of its
process), so the harness unpickles with an Unpickler that refuses every global: only builtin
containers, strings, bytes and numbers can come back, never code. Tensors travel as
("t", dtype, shape, raw bytes, requires_grad) and are rebuilt as fresh tensors on the other side,
which is also how the submission gets copies of its inputs.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

_HEADER = struct.Struct("<Q")
# A reply larger than this is refused from its header, before its body is read: the largest
# legitimate reply (a result plus the arguments after the call) is a few MiB; the harness's own
# memory limit (harness.HARNESS_MEMORY_BYTES) leaves room for one such frame decoded.
MAX_FRAME = 64 * 1024 * 1024
_MAX_DEPTH = 32
# What one untrusted value may rebuild into: a pickle stores an object referenced many times only
# once, so a frame under MAX_FRAME could otherwise expand a thousandfold ("billion laughs").
MAX_DECODED_BYTES = MAX_FRAME  # tensor, array, bytes and str payloads, counted per reference
MAX_DECODED_ITEMS = 1_000_000  # values and container entries, counted per reference


@dataclass(frozen=True)
class Opaque:
    """A value the sandbox returned that cannot cross safely: its type and a short repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


class ChannelError(Exception):
    """The channel carried something that is not a frame of ours (the submission wrote into it)."""


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise ChannelError(f"unknown dtype {name!r}")
    return dtype


def encode(value: Any, trusted: bool, depth: int = 0) -> Any:
    """Turn a value into builtins only. `trusted` (harness -> sandbox) may pickle other objects."""
    if depth > _MAX_DEPTH:
        return ("o", type(value).__name__, "nested too deeply")
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value)
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return ("p", value)
    if isinstance(value, complex):
        return ("c", value.real, value.imag)
    if isinstance(value, np.generic):
        return ("p", value.item())
    if isinstance(value, np.ndarray):
        return ("n", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    if isinstance(value, torch.dtype):
        return ("y", str(value))
    if isinstance(value, list):
        return ("l", [encode(v, trusted, depth + 1) for v in value])
    if isinstance(value, tuple):  # includes torch.Size
        return ("u", [encode(v, trusted, depth + 1) for v in value])
    if isinstance(value, dict):
        return ("d", [(encode(k, trusted, depth + 1), encode(v, trusted, depth + 1)) for k, v in value.items()])
    if trusted:
        return ("k", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    try:
        text = repr(value)[:200]
    except BaseException:  # the submission's __repr__ may raise anything
        text = "?"
    return ("o", type(value).__qualname__, text)


def _encode_tensor(t: torch.Tensor) -> tuple[Any, ...]:
    if t.is_sparse or t.is_quantized or t.is_nested:
        return ("o", "torch.Tensor", f"a {t.layout} tensor")
    device = str(t.device)
    flat = t.detach().cpu().contiguous()
    raw = flat.view(torch.int16).numpy().tobytes() if flat.dtype == torch.bfloat16 else flat.numpy().tobytes()
    return ("t", str(t.dtype), tuple(t.shape), raw, bool(t.requires_grad), device)


class _Budget:
    """How much an untrusted value may still rebuild (bytes and items), counted as it is rebuilt."""

    def __init__(self) -> None:
        self.bytes_left = MAX_DECODED_BYTES
        self.items_left = MAX_DECODED_ITEMS

    def spend(self, nbytes: int, items: int = 1) -> None:
        self.bytes_left -= nbytes
        self.items_left -= items
        if self.bytes_left < 0 or self.items_left < 0:
            raise ChannelError(
                f"the reply rebuilds into more than {MAX_DECODED_BYTES >> 20} MiB or {MAX_DECODED_ITEMS} values "
                "(one object referenced over and over in a forged frame)"
            )


def decode(obj: Any, trusted: bool, budget: _Budget | None = None) -> Any:
    """Rebuild a value from `encode`'s form. Untrusted input may not contain pickles ("k"), and
    may rebuild into at most MAX_DECODED_BYTES and MAX_DECODED_ITEMS."""
    if budget is None and not trusted:
        budget = _Budget()
    try:
        if budget is not None:
            budget.spend(_payload_bytes(obj))
        tag = obj[0]
        if tag == "p":
            return obj[1]
        if tag == "t":
            return _decode_tensor(obj)
        if tag == "c":
            return complex(obj[1], obj[2])
        if tag == "n":
            return np.frombuffer(obj[3], dtype=np.dtype(obj[1])).reshape(obj[2]).copy()
        if tag == "y":
            return _dtype(obj[1])
        if tag == "l":
            return [decode(v, trusted, budget) for v in obj[1]]
        if tag == "u":
            return tuple(decode(v, trusted, budget) for v in obj[1])
        if tag == "d":
            return {decode(k, trusted, budget): decode(v, trusted, budget) for k, v in obj[1]}
        if tag == "o":
            return Opaque(str(obj[1]), str(obj[2]))
        if tag == "k" and trusted:
            return pickle.loads(obj[1])
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"malformed value on the channel: {exc}") from None
    raise ChannelError(f"unexpected tag on the channel: {str(obj)[:80]}")


def _payload_bytes(obj: Any) -> int:
    """The bytes a value's record carries (its raw data, or its text), before it is rebuilt."""
    if not isinstance(obj, tuple) or not obj:
        return 0
    size = 0
    for part in obj[1:4]:
        if isinstance(part, (bytes, bytearray, str)):
            size += len(part)
    return size


def _decode_tensor(obj: tuple[Any, ...]) -> torch.Tensor:
    _, dtype_name, shape, raw, requires_grad, device = obj
    dtype = _dtype(dtype_name)
    t = _from_bytes(raw, torch.int16, shape).view(torch.bfloat16) if dtype == torch.bfloat16 else _from_bytes(raw, dtype, shape)
    if device != "cpu" and (device.startswith("cuda") and torch.cuda.is_available()):
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _from_bytes(raw: bytes, dtype: torch.dtype, shape: tuple[Any, ...]) -> torch.Tensor:
    if len(raw) == 0:
        if math.prod(int(n) for n in shape) != 0:  # a record that claims elements it does not carry
            raise ChannelError(f"a tensor of shape {tuple(shape)} arrived without its data")
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise ChannelError(f"the channel carried a reference to {module}.{name}")


def safe_loads(data: bytes) -> Any:
    """Unpickle builtins only: a forged frame can never run code in the harness."""
    try:
        return _NoGlobals(io.BytesIO(data)).load()
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"unreadable frame: {exc}") from None


def frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def send(fd: int, obj: Any) -> None:
    write_all(fd, frame(obj))


def read_exact(fd: int, n: int) -> bytes:
    """Blocking read of n bytes (the sandbox's side, which has nothing else to do)."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_blocking(fd: int) -> Any:
    """The sandbox reads the harness's frames (trusted) this way."""
    (size,) = _HEADER.unpack(read_exact(fd, _HEADER.size))
    return pickle.loads(read_exact(fd, size))


class FrameReader:
    """Incremental reader for the harness: feed bytes as they arrive, take whole frames out."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def take(self) -> Any | None:
        if len(self._buf) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._buf)
        if size > MAX_FRAME:
            raise ChannelError(
                f"a reply of {size} bytes announced: more than the judge reads "
                f"({MAX_FRAME // 2**20} MiB; an enormous result, or bytes that are not a frame of ours)"
            )
        if len(self._buf) < _HEADER.size + size:
            return None
        payload = bytes(self._buf[_HEADER.size : _HEADER.size + size])
        del self._buf[: _HEADER.size + size]
        return safe_loads(payload)

    @property
    def pending(self) -> int:
        return len(self._buf)
