"""Reference for gpu.rms_norm_triton: RMSNorm over the last dim, one Triton program per row.

x (rows, D) contiguous, D up to 8192; weight (D,). out = x / sqrt(mean(x^2) + eps) * weight,
computed in float32 (float64 for float64 input), stored in x's dtype. A complete solution file.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _rms_norm_kernel(x_ptr, w_ptr, out_ptr, d, eps, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d  # BLOCK is the next power of two >= D: the tail lanes are padding
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    # Divide by D, the number of real elements: the padded lanes hold zeros but are not elements.
    mean_square = tl.sum(x * x, axis=0) / d
    inv_rms = 1.0 / tl.sqrt(mean_square + eps)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    tl.store(out_ptr + row * d + cols, (x * inv_rms * w).to(out_ptr.dtype.element_ty), mask=mask)


def rms_norm(x, weight, eps=1e-6):
    # x (rows, D), weight (D,) -> (rows, D) in x's dtype
    rows, d = x.shape
    x = x.contiguous()
    out = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    _rms_norm_kernel[(rows,)](x, weight, out, d, eps, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out
