"""Where the GPU track's tensors live: the device this process may use, and moving results to it.

Shared by the launch driver and the distributed ranks; asks for CUDA without initialising it.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def device() -> str:
    """'cuda' when this process may use a GPU, else 'cpu' (checked without initialising CUDA)."""
    if torch.version.cuda is None:
        return "cpu"
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return "cuda" if torch.cuda.is_available() else "cpu"


def _to(value: Any, dev: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dev)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, dev) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, dev) for k, v in value.items()}
    return value
