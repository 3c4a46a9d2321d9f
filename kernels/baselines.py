"""What each kernel exercise is timed against, and on what: torch eager baselines, input makers, and
the least number of bytes one call must move (for the bandwidth plausibility check).

Used by the judge's timing check (through the answer modules in answers/gpu/) and by kernels/bench.py.
Torch only (no Triton): answer modules load this in the judge's harness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch


def _size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


# --- torch eager baselines (the way one would write it without a custom kernel) ----------------


def eager_vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + y


def eager_rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()).to(x.dtype)


def eager_softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.float(), dim=-1).to(x.dtype)


def eager_rope(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d // 2, device=x.device, dtype=torch.float32) * 2 / d)
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, D/2)
    cos, sin = angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)  # (T, D)
    xf = x.float()
    rotated = torch.cat([-xf[..., d // 2 :], xf[..., : d // 2]], dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)


def eager_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    # Materialises the (T, T) scores: what flash attention avoids.
    scores = (q.float() @ k.float().transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        t = q.shape[-2]
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v.float()).to(q.dtype)


def eager_reduction(x: torch.Tensor) -> torch.Tensor:
    return x.float().sum()


def eager_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b


def eager_fused_add_rms_norm(
    x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    h = x + residual
    return eager_rms_norm(h, weight, eps), h


def eager_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.float(), targets, ignore_index=ignore_index).to(logits.dtype)


# --- inputs and bytes --------------------------------------------------------------------------


def _randn(shape: tuple[int, ...], dtype: torch.dtype, device: str, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, dtype=torch.float32, device=device, generator=generator).to(dtype)


def inputs_vector_add(n: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> tuple:
    return _randn((n,), dtype, device, generator), _randn((n,), dtype, device, generator)


def bytes_vector_add(n: int, dtype: torch.dtype = torch.float32) -> int:
    return 3 * n * _size(dtype)


def inputs_rms_norm(rows: int, d: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16) -> tuple:
    return _randn((rows, d), dtype, device, generator), _randn((d,), dtype, device, generator)


def bytes_rms_norm(rows: int, d: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return (2 * rows * d + d) * _size(dtype)


def inputs_softmax(rows: int, d: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16) -> tuple:
    return (_randn((rows, d), dtype, device, generator) * 4,)


def bytes_softmax(rows: int, d: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return 2 * rows * d * _size(dtype)


def inputs_rope(
    b: int, h: int, t: int, d: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16
) -> tuple:
    positions = torch.randperm(4 * t, device=device, generator=generator)[:t].sort().values
    return _randn((b, h, t, d), dtype, device, generator), positions


def bytes_rope(b: int, h: int, t: int, d: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return 2 * b * h * t * d * _size(dtype) + 8 * t


def inputs_attention(
    b: int, h: int, t: int, d: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16
) -> tuple:
    return tuple(_randn((b, h, t, d), dtype, device, generator) for _ in range(3))


def bytes_attention(b: int, h: int, t: int, d: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return 4 * b * h * t * d * _size(dtype)


def inputs_cross_entropy(
    n: int, c: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16
) -> tuple:
    targets = torch.randint(0, c, (n,), device=device, generator=generator)
    return _randn((n, c), dtype, device, generator) * 3, targets


def bytes_cross_entropy(n: int, c: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return n * c * _size(dtype) + 8 * n


def inputs_reduction(n: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> tuple:
    return (_randn((n,), dtype, device, generator),)


def bytes_reduction(n: int, dtype: torch.dtype = torch.float32) -> int:
    return n * _size(dtype)


def inputs_matmul(
    m: int, n: int, k: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16
) -> tuple:
    return _randn((m, k), dtype, device, generator), _randn((k, n), dtype, device, generator)


def bytes_matmul(m: int, n: int, k: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return (m * k + k * n + m * n) * _size(dtype)


def inputs_fused_add_rms_norm(
    rows: int, d: int, *, device: str, generator: torch.Generator, dtype: torch.dtype = torch.bfloat16
) -> tuple:
    return tuple(_randn(shape, dtype, device, generator) for shape in ((rows, d), (rows, d), (d,)))


def bytes_fused_add_rms_norm(rows: int, d: int, dtype: torch.dtype = torch.bfloat16) -> int:
    return (4 * rows * d + d) * _size(dtype)  # read x and residual, write out and the new residual


# exercise -> (eager baseline, input maker, bytes moved, the solution's function name, shapes to time)
SPECS: dict[str, tuple[Callable[..., Any], Callable[..., tuple], Callable[..., int], str, list[tuple[int, ...]]]] = {
    "vector_add": (eager_vector_add, inputs_vector_add, bytes_vector_add, "vector_add", [(1 << 20,), (1 << 24,), (98_432_123,)]),
    "reduction": (eager_reduction, inputs_reduction, bytes_reduction, "reduce_1d", [(1 << 20,), (1 << 24,), (98_432_123,)]),
    "matmul": (eager_matmul, inputs_matmul, bytes_matmul, "matmul", [(4096, 4096, 4096), (8192, 8192, 8192)]),
    "rms_norm": (eager_rms_norm, inputs_rms_norm, bytes_rms_norm, "rms_norm", [(4096, 1024), (4096, 4096), (8192, 8192)]),
    "fused_residual_rms_norm": (
        eager_fused_add_rms_norm,
        inputs_fused_add_rms_norm,
        bytes_fused_add_rms_norm,
        "fused_add_rms_norm",
        [(4096, 4096), (8192, 8192)],
    ),
    "softmax": (eager_softmax, inputs_softmax, bytes_softmax, "softmax", [(4096, 1024), (4096, 4096), (4096, 8192)]),
    "rope": (eager_rope, inputs_rope, bytes_rope, "apply_rope", [(4, 32, 1024, 128), (8, 32, 4096, 128)]),
    "flash_attention": (
        eager_attention,
        inputs_attention,
        bytes_attention,
        "flash_attention",
        [(4, 16, 1024, 64), (2, 16, 4096, 64)],
    ),
    "cross_entropy": (
        eager_cross_entropy,
        inputs_cross_entropy,
        bytes_cross_entropy,
        "cross_entropy",
        [(4096, 32000), (8192, 128256)],
    ),
}
