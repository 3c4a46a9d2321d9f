"""The accelerator the judge can use, told without importing torch, and how a sandbox is set up for it.

- `describe_device()` is for the app and the command line: it asks `nvidia-smi -L` (no torch, no
  CUDA context), so the UI process stays light. It says which GPU the GPU track is timed on, or
  that there is none and GPU exercises are checked for correctness only.
- `prepare_sandbox()` runs in every sandbox before the submission is loaded. Without a usable CUDA
  device it sets TRITON_INTERPRET=1, so `@triton.jit` kernels run on the CPU under Triton's
  interpreter (Triton decides this when a kernel is decorated, i.e. when the solution loads). It
  also makes `torch.cuda.is_available()` use NVML, which does not initialise CUDA: a sandbox that
  forks distributed ranks must not hold a CUDA context when it forks.
- `sandbox_memory_bytes()` lets an answer module ask for more (or unlimited) address space:
  CUDA reserves far more virtual memory than any RLIMIT_AS a CPU check would use.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

__all__ = ["Device", "describe_device", "cuda_usable", "prepare_sandbox", "sandbox_memory_bytes", "CPU_NOTE"]

# What a GPU-track verdict says when it could not time anything.
CPU_NOTE = "correctness only: no CUDA device here, so nothing was timed"
# "No limit" for RLIMIT_AS as the sandbox sets it (mapped + this): 64 TiB, half the x86-64 user space.
UNLIMITED = 1 << 46


@dataclass(frozen=True)
class Device:
    """What the judge will run GPU exercises on."""

    kind: str  # "cuda" or "cpu"
    name: str  # "NVIDIA H100 80GB HBM3", or "CPU (no CUDA device)"
    count: int  # CUDA devices seen (0 on "cpu")
    note: str  # one line for a status bar

    @property
    def has_cuda(self) -> bool:
        return self.kind == "cuda"


@functools.lru_cache(maxsize=1)
def describe_device() -> Device:
    """The GPU(s) `nvidia-smi -L` lists, or the CPU. Never imports torch; cached after the first call."""
    names: list[str] = []
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False)
            for line in out.stdout.splitlines():
                # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"
                if line.startswith("GPU ") and ":" in line:
                    names.append(line.split(":", 1)[1].split("(UUID")[0].strip())
        except (OSError, subprocess.SubprocessError):
            names = []
    if names:
        label = names[0] if len(names) == 1 else f"{len(names)} x {names[0]}"
        return Device("cuda", names[0], len(names), f"GPU track timed on {label}")
    return Device(
        "cpu",
        "CPU (no CUDA device)",
        0,
        "no CUDA device: GPU exercises are checked for correctness only (Triton interpreter, gloo ranks)",
    )


def cuda_usable() -> bool:
    """Whether torch in this process can use CUDA, without initialising it (fork-safe)."""
    import torch  # the judge's processes have it imported already

    if torch.version.cuda is None:  # a CPU build of torch
        return False
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return bool(torch.cuda.is_available())


def prepare_sandbox() -> None:
    """Called in the sandbox before the submission loads (see sandbox.serve)."""
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    if not cuda_usable():
        os.environ["TRITON_INTERPRET"] = "1"
    # torch.compile (timing on CUDA) compiles in this process, within the sandbox's limits.
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")


def sandbox_memory_bytes(module: Any, default: int) -> int:
    """The address-space allowance for a sandbox running `module`'s checks.

    An answer module may set `SANDBOX_MEMORY_BYTES` (more room for gloo ranks or the Triton
    interpreter). With a CUDA device, a module that sets `USES_CUDA = True` gets no address-space
    limit at all: the CUDA driver reserves tens of GiB of virtual memory when it starts, which any
    RLIMIT_AS meant for CPU checks would refuse. Time limits still apply.
    """
    if getattr(module, "USES_CUDA", False) and cuda_usable():
        return UNLIMITED
    return int(getattr(module, "SANDBOX_MEMORY_BYTES", default))
