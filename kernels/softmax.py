"""Reference for gpu.softmax_triton: a fused row softmax, one Triton program per row.

x (rows, D) contiguous, D up to 8192 -> softmax over the last dim in x's dtype, computed in float32
(float64 for float64 input). One read of x and one write of the output: the point of fusing.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _softmax_kernel(x_ptr, out_ptr, d, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d
    # Padding lanes read -inf: they never win the max and exp(-inf) adds nothing to the sum.
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=float("-inf")).to(ACC)
    z = x - tl.max(x, axis=0)  # the largest entry becomes 0: exp cannot overflow
    e = tl.exp(z)
    tl.store(out_ptr + row * d + cols, (e / tl.sum(e, axis=0)).to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x):
    # x (rows, D) -> (rows, D)
    rows, d = x.shape
    x = x.contiguous()
    out = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    _softmax_kernel[(rows,)](x, out, d, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out
