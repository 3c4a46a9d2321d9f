"""The sandbox -> harness channel: values round-trip, forged frames never run code."""

from __future__ import annotations

import os
import pickle
import struct

import pytest
import torch

from llmq.judge import wire


def test_values_round_trip_as_fresh_copies() -> None:
    x = torch.randn(2, 3).to(torch.bfloat16)
    value = {"x": x, "n": 3, "pair": (1.5, None), "items": [torch.arange(4), "s"], "z": 1 + 2j}
    back = wire.decode(wire.safe_loads(pickle.dumps(wire.encode(value, trusted=False))), trusted=False)
    assert torch.equal(back["x"], x) and back["x"].dtype == torch.bfloat16
    assert back["x"].data_ptr() != x.data_ptr()
    assert back["n"] == 3 and back["pair"] == (1.5, None) and back["z"] == 1 + 2j
    assert torch.equal(back["items"][0], torch.arange(4))


def test_unknown_objects_come_back_opaque() -> None:
    back = wire.decode(wire.encode(object(), trusted=False), trusted=False)
    assert isinstance(back, wire.Opaque) and back.type_name == "object"


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_forged_pickle_with_globals_is_refused() -> None:
    with pytest.raises(wire.ChannelError):
        wire.safe_loads(pickle.dumps(_Evil()))
    with pytest.raises(wire.ChannelError):  # a pickle smuggled inside an untrusted value
        wire.decode(("k", pickle.dumps([1])), trusted=False)


def test_garbage_on_the_channel_is_a_channel_error() -> None:
    reader = wire.FrameReader()
    reader.feed(b'{"status": "pass"}\n')
    with pytest.raises(wire.ChannelError):
        reader.take()


def test_a_frame_announcing_more_than_the_cap_is_refused_before_its_body() -> None:
    reader = wire.FrameReader()
    reader.feed(struct.pack("<Q", wire.MAX_FRAME + 1))  # only the header: nothing more is waited for
    with pytest.raises(wire.ChannelError, match="more than the judge reads"):
        reader.take()
    assert wire.MAX_FRAME <= 64 * 1024 * 1024


def test_a_small_frame_that_rebuilds_into_gigabytes_is_refused() -> None:
    """One 1 MiB record referenced 4096 times: a pickle stores it once, decoding it would copy it each time."""
    record = ("t", "torch.float32", (1 << 18,), bytes(1 << 20), False, "cpu")
    data = pickle.dumps(("l", [record] * 4096))
    assert len(data) < 2 * (1 << 20)
    with pytest.raises(wire.ChannelError, match="rebuilds into more than"):
        wire.decode(wire.safe_loads(data), trusted=False)
    nested: tuple = ("p", None)
    for _ in range(30):  # 2**30 leaves from 30 levels of shared pairs
        nested = ("l", [nested, nested])
    with pytest.raises(wire.ChannelError, match="rebuilds into more than"):
        wire.decode(wire.safe_loads(pickle.dumps(nested)), trusted=False)


def test_a_tensor_record_without_its_data_is_refused() -> None:
    with pytest.raises(wire.ChannelError, match="without its data"):
        wire.decode(("t", "torch.float32", (10**9,), b"", False, "cpu"), trusted=False)
