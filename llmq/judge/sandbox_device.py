"""How a sandbox is set up for the accelerator; imported by the judge's processes only (torch).

- `prepare_sandbox()` runs in every sandbox before the submission is loaded. Without a usable CUDA
  device it sets TRITON_INTERPRET=1, so `@triton.jit` kernels run on the CPU under Triton's
  interpreter (Triton decides this when a kernel is decorated, i.e. when the solution loads). It
  also makes `torch.cuda.is_available()` use NVML, which does not initialise CUDA: a sandbox that
  forks distributed ranks must not hold a CUDA context when it forks.
- `sandbox_memory_bytes()` lets an answer module ask for more (or unlimited) address space:
  CUDA reserves far more virtual memory than any RLIMIT_AS a CPU check would use.

What the app may know about the device (`describe_device`) is in `device`, without torch.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["UNLIMITED", "cuda_usable", "prepare_sandbox", "sandbox_memory_bytes"]

# "No limit" for RLIMIT_AS as the sandbox sets it (mapped + this): 64 TiB, half the x86-64 user space.
UNLIMITED = 1 << 46


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
