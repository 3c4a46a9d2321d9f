"""The accelerator the judge can use, told without importing torch (not even lazily): the app and
the command line import this module.

`describe_device()` asks `nvidia-smi -L` (no torch, no CUDA context), so the UI process stays
light. It says which GPU the GPU track is timed on, or that there is none and GPU exercises are
checked for correctness only. How a sandbox is set up for the device is in `sandbox_device`.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["CPU_NOTE", "Device", "describe_device"]

# What a GPU-track verdict says when it could not time anything.
CPU_NOTE = "correctness only: no CUDA device here, so nothing was timed"


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
