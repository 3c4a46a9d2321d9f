"""The GPU timing harness: how long a kernel takes on CUDA, measured so the figure means something.

- CUDA events around the call only (input creation and the cache flush are outside the events);
- warm-up calls first (Triton and torch.compile compile on their first call);
- the L2 cache flushed before every timed call (a write to a buffer larger than any L2), so a
  kernel never looks fast because its inputs were left in cache by the previous run;
- fresh inputs for every timed call (from a pool made up front, each used once), so nothing can be
  memoised from one call to the next;
- the median of enough runs (at least `min_runs`, more while the time budget lasts).

`compare` times several implementations on the same inputs and reports the speed-up of the first
over the others, flagging figures that are implausible: more than 50x over torch eager, or more
bytes per second than the device's memory can move (measured here with a device-to-device copy).
Needs only torch; loaded by path (kernels/ is bank data, not a package).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

FLUSH_BYTES = 256 * 1024 * 1024  # larger than the L2 of any current GPU (H100: 50 MB, B200: 126 MB)
MAX_PLAUSIBLE_OVER_EAGER = 50.0
BANDWIDTH_SLACK = 1.10  # measurement noise allowed above the measured copy bandwidth

_flush_buffer: torch.Tensor | None = None


def flush_l2() -> None:
    """Evict the L2 cache by writing a buffer larger than it."""
    global _flush_buffer
    if _flush_buffer is None:
        _flush_buffer = torch.empty(FLUSH_BYTES // 4, dtype=torch.int32, device="cuda")
    _flush_buffer.zero_()


def compiled(fn: Callable[..., Any]) -> Callable[..., Any] | None:
    """torch.compile(fn), or None where torch.compile cannot run here (no compiler, old GPU)."""
    try:
        return torch.compile(fn, dynamic=False)
    except Exception:  # noqa: BLE001 - a missing baseline is reported, not fatal
        return None


@dataclass
class Timing:
    """Milliseconds per call: the median and the spread, over `runs` calls."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int


def time_cuda(
    fn: Callable[..., Any],
    make_inputs: Callable[[torch.Generator], tuple],
    *,
    warmup: int = 3,
    min_runs: int = 20,
    max_runs: int = 200,
    budget_s: float = 2.0,
    seed: int = 0,
) -> Timing:
    """Time `fn(*inputs)` with CUDA events; see the module docstring for the method."""
    gen = torch.Generator(device="cuda").manual_seed(seed)
    for _ in range(warmup):
        fn(*make_inputs(gen))
    torch.cuda.synchronize()
    # Estimate one call to size the input pool: inputs are made before timing, not in between.
    start = time.perf_counter()
    fn(*make_inputs(gen))
    torch.cuda.synchronize()
    one = max(time.perf_counter() - start, 1e-6)
    runs = int(min(max_runs, max(min_runs, budget_s / (one * 3))))
    times = []
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(runs):
        inputs = make_inputs(gen)  # fresh inputs each run
        flush_l2()
        torch.cuda.synchronize()
        begin.record()
        fn(*inputs)
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end))
    times.sort()
    return Timing(statistics.median(times), times[len(times) // 10], times[(len(times) * 9) // 10], runs)


def copy_bandwidth_gbs(nbytes: int = 1 << 30) -> float:
    """Device memory bandwidth as a copy achieves it (read + write), in GB/s: the ceiling for a
    kernel that moves bytes_moved bytes."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(10):
        begin.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        best = min(best, begin.elapsed_time(end))
    return 2 * nbytes / (best / 1e3) / 1e9


@dataclass
class Report:
    """What `compare` found. `speedups` are of the first implementation over each other one."""

    device: str
    subject: str
    timings: dict[str, Timing]
    speedups: dict[str, float]
    bandwidth_gbs: float | None
    ceiling_gbs: float | None
    flags: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        parts = [f"{self.subject} {self.timings[self.subject].median_ms * 1e3:.1f} us on {self.device}"]
        parts += [f"{x:.2f}x over {name}" for name, x in self.speedups.items()]
        if self.bandwidth_gbs is not None:
            parts.append(f"{self.bandwidth_gbs:.0f} GB/s")
        text = "speed-up: " + ", ".join(parts)
        if self.errors:
            text += "; not timed: " + ", ".join(f"{k} ({v})" for k, v in self.errors.items())
        if self.flags:
            text += "; IMPLAUSIBLE: " + "; ".join(self.flags)
        return text

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["summary"] = self.summary
        return out


def compare(
    fns: dict[str, Callable[..., Any] | None],
    make_inputs: Callable[[torch.Generator], tuple],
    *,
    bytes_moved: int | None = None,
    budget_s: float = 2.0,
    ceiling_gbs: float | None = None,
) -> Report:
    """Time each implementation (the first is the subject) on the same kind of fresh inputs."""
    names = list(fns)
    subject = names[0]
    timings: dict[str, Timing] = {}
    errors: dict[str, str] = {}
    for name, fn in fns.items():
        if fn is None:
            errors[name] = "unavailable"
            continue
        try:
            timings[name] = time_cuda(fn, make_inputs, budget_s=budget_s / len(fns))
        except Exception as exc:  # noqa: BLE001 - e.g. torch.compile failing on this machine
            if name == subject:
                raise
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}"
    mine = timings[subject].median_ms
    speedups = {name: t.median_ms / mine for name, t in timings.items() if name != subject}
    bandwidth = None
    if bytes_moved:
        bandwidth = bytes_moved / (mine / 1e3) / 1e9
        ceiling_gbs = ceiling_gbs or copy_bandwidth_gbs()
    flags = implausible(speedups, bandwidth, ceiling_gbs)
    return Report(torch.cuda.get_device_name(), subject, timings, speedups, bandwidth, ceiling_gbs, flags, errors)


def implausible(speedups: dict[str, float], bandwidth_gbs: float | None, ceiling_gbs: float | None) -> list[str]:
    """Why a measurement cannot be right: far faster than eager, or faster than memory allows."""
    flags = []
    eager = next((n for n in speedups if "eager" in n), None)
    if eager and speedups[eager] > MAX_PLAUSIBLE_OVER_EAGER:
        flags.append(
            f"{speedups[eager]:.0f}x over {eager} (more than {MAX_PLAUSIBLE_OVER_EAGER:.0f}x): is it computing the whole output?"
        )
    if bandwidth_gbs is not None and ceiling_gbs and bandwidth_gbs > ceiling_gbs * BANDWIDTH_SLACK:
        flags.append(
            f"{bandwidth_gbs:.0f} GB/s is more than the memory can move ({ceiling_gbs:.0f} GB/s by a copy): a cached or skipped read?"
        )
    return flags
