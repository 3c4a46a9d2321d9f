"""Helpers for the GPU track's answer modules: count Triton launches, fork gloo/NCCL ranks, time on CUDA.

Answer modules import this at load time, in the harness, before the sandbox is forked; the
`@sandboxed` drivers built from it then run inside the sandbox next to the solution (where
`import llmq` is refused, so nothing here imports llmq lazily). Two halves:

- sandbox side: the driver from `kernel_driver` runs a solution on the device while counting the
  Triton kernels it launches, with every input and allocation inside NaN-guarded buffers (a load
  or store past the end shows); `run_ranks` forks the ranks of a `torch.distributed` group (gloo
  on the CPU, NCCL when there is a GPU per rank) and brings back what each rank returned; the
  driver from `timing_driver` times a solution on CUDA against torch eager with kernels/timing.py.
- harness side: `call_kernel(ctx, ...)` turns what the launch driver saw into clear failures;
  `note_timing(ctx)` and `ranks_note(ctx)` put the speed-up, or where things ran and that only
  correctness was checked, in the verdict's notes.

Modules: placement (device, moving results), launches (counting Triton launches in guarded
buffers), ranks (forking torch.distributed ranks), cuda_timing (speed-ups on CUDA). Answer modules
use the names below as `gpukit.X`.
"""

from __future__ import annotations

from llmq.judge.gpukit.cuda_timing import load_kernels_module, note_timing, timing_driver
from llmq.judge.gpukit.launches import call_kernel, half_dtypes, kernel_driver
from llmq.judge.gpukit.placement import device
from llmq.judge.gpukit.ranks import RankFailed, backend_for, rank_device, ranks_note, run_ranks

__all__ = [
    "device",
    "kernel_driver",
    "half_dtypes",
    "call_kernel",
    "run_ranks",
    "RankFailed",
    "rank_device",
    "backend_for",
    "ranks_note",
    "load_kernels_module",
    "timing_driver",
    "note_timing",
]
