"""Reference for gpu.fused_residual_rms_norm: h = x + residual, then RMSNorm(h) * weight, in one kernel.

x, residual (rows, D) contiguous, same dtype, D up to 8192; weight (D,). One Triton program per
row reads x and residual once, stores h = x + residual (added in float32, float64 for float64,
rounded once to x's dtype) as the new residual, and from the rounded h (what the next layer's
residual holds) writes h / sqrt(mean(h^2) + eps) * weight in x's dtype. A complete solution file.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _add_rms_norm_kernel(x_ptr, r_ptr, w_ptr, out_ptr, h_ptr, d, eps, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d  # BLOCK is the next power of two >= D: the tail lanes are padding
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    r = tl.load(r_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    h = (x + r).to(h_ptr.dtype.element_ty)  # the new residual, in x's dtype
    tl.store(h_ptr + row * d + cols, h, mask=mask)
    h = h.to(ACC)
    inv_rms = 1.0 / tl.sqrt(tl.sum(h * h, axis=0) / d + eps)  # divide by D, not by BLOCK
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    tl.store(out_ptr + row * d + cols, (h * inv_rms * w).to(out_ptr.dtype.element_ty), mask=mask)


def fused_add_rms_norm(x, residual, weight, eps=1e-6):
    # x, residual (rows, D), weight (D,) -> (out, new residual), both (rows, D) in x's dtype
    rows, d = x.shape
    out = torch.empty_like(x)
    h = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    _add_rms_norm_kernel[(rows,)](x, residual, weight, out, h, d, eps, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out, h
