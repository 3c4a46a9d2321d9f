"""Reference for gpu.rope_triton: rotary position embedding, fused (angles computed in the kernel).

x (B, H, T, D) contiguous, D even; positions int64 (T,); the rotate-half pairing of GPT-NeoX and
Hugging Face Llama: dim i pairs with dim i + D/2, frequency theta ** (-2i/D). One program per
(b, h, t) row; no cos/sin table is read from memory.
"""

import math

import torch
import triton
import triton.language as tl


@triton.jit
def _rope_kernel(x_ptr, pos_ptr, out_ptr, t_len, d, log_theta, HALF: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)  # over B * H * T rows of D
    half = d // 2
    i = tl.arange(0, HALF)
    mask = i < half
    pos = tl.load(pos_ptr + row % t_len).to(ACC)  # the row's position, not its index t
    inv_freq = tl.exp(-(2.0 * i.to(ACC) / d) * log_theta)  # theta ** (-2i / D)
    angle = pos * inv_freq
    cos, sin = tl.cos(angle), tl.sin(angle)
    base = x_ptr + row * d
    x1 = tl.load(base + i, mask=mask, other=0.0).to(ACC)  # first half
    x2 = tl.load(base + half + i, mask=mask, other=0.0).to(ACC)  # second half
    out = out_ptr + row * d
    tl.store(out + i, (x1 * cos - x2 * sin).to(out_ptr.dtype.element_ty), mask=mask)
    tl.store(out + half + i, (x2 * cos + x1 * sin).to(out_ptr.dtype.element_ty), mask=mask)


def apply_rope(x, positions, theta=10000.0):
    # x (B, H, T, D), positions (T,) -> (B, H, T, D) in x's dtype
    t_len, d = x.shape[-2], x.shape[-1]
    x = x.contiguous()
    out = torch.empty_like(x)
    rows = x.numel() // d
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    _rope_kernel[(rows,)](x, positions, out, t_len, d, math.log(theta), HALF=triton.next_power_of_2(max(d // 2, 1)), ACC=acc)
    return out
