"""The GPU track's helpers on their own: guarded buffers, the 1F1B simulator, the device report."""

from __future__ import annotations

import torch

from llmq.judge import device
from llmq.judge.answer import load
from llmq.judge.gpukit import launches
from tests.conftest import REPO


def test_guards_catch_a_write_past_the_end_even_of_nan() -> None:
    guards = launches._Guards()
    a = guards.place((5,), torch.float32, "cpu", "input #0")
    b = guards.place((5,), torch.float32, "cpu", "a tensor it allocated")
    assert guards.overrun() is None
    base = b.untyped_storage()
    # An unmasked store writes a NaN read from another guard: still caught (different payloads).
    full = torch.empty(0, dtype=torch.float32).set_(base)
    full[launches.GUARD + 5] = a.untyped_storage() and torch.tensor(float("nan"))
    assert guards.overrun() == "wrote past the end of a tensor it allocated"


def test_guarded_inputs_read_nan_past_the_end() -> None:
    guards = launches._Guards()
    t = launches._guarded_input(guards, torch.arange(3, dtype=torch.float64), "cpu", "input #0")
    full = torch.empty(0, dtype=torch.float64).set_(t.untyped_storage())
    assert torch.equal(t, torch.arange(3, dtype=torch.float64))
    assert full[launches.GUARD + 3].isnan()


def test_pipeline_simulator_finds_a_deadlock() -> None:
    answer = load(REPO / "answers" / "gpu" / "pipeline_1f1b.py").module
    good = [answer.reference(3, 4, s) for s in range(3)]
    ticks, peak = answer.simulate(good, 4)
    assert peak == [3, 2, 1]
    bad = [[("B", 0), ("F", 0), ("B", 1), ("F", 1)]] + good[1:]
    assert "deadlock" in answer.simulate(bad, 2)


def test_describe_device_on_this_machine_is_consistent() -> None:
    dev = device.describe_device()
    assert dev.kind in ("cpu", "cuda")
    assert (dev.count > 0) == dev.has_cuda
    assert dev.note
