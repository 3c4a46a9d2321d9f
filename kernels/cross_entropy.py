"""Reference for gpu.cross_entropy_triton: fused cross-entropy, one Triton program per row.

logits (N, C) contiguous, targets int64 (N,); the mean over non-ignored rows of
logsumexp(logits[i]) - logits[i, targets[i]]. Each program streams its row in chunks with an
online logsumexp (running max, rescaled running sum), so C may be a whole vocabulary; it writes
the row's loss (0 for an ignored row). The mean over the valid rows is a small torch reduction.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _ce_kernel(logits_ptr, targets_ptr, losses_ptr, c, ignore_index, CHUNK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row * c
    target = tl.load(targets_ptr + row)
    m = tl.full([CHUNK], float("-inf"), ACC)  # per-lane running max
    s = tl.zeros([CHUNK], ACC)  # per-lane sum of exp(x - m)
    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        new_m = tl.maximum(m, x)
        # A lane that has seen only padding keeps m = -inf; exp(-inf - -inf) would be NaN.
        safe = tl.where(new_m == float("-inf"), 0.0, new_m)
        s = s * tl.exp(m - safe) + tl.exp(x - safe)
        m = new_m
    row_max = tl.max(m, axis=0)
    lse = row_max + tl.log(tl.sum(s * tl.exp(m - row_max), axis=0))
    valid = target != ignore_index
    # Never read logits[row, ignore_index]: for ignored rows the target is not a column.
    picked = tl.load(base + tl.where(valid, target, 0)).to(ACC)
    tl.store(losses_ptr + row, tl.where(valid, lse - picked, 0.0))


def cross_entropy(logits, targets, ignore_index=-100):
    # logits (N, C), targets (N,) -> 0-dim, logits' dtype
    n, c = logits.shape
    logits = logits.contiguous()
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    losses = torch.empty(n, dtype=work, device=logits.device)
    acc = tl.float64 if work == torch.float64 else tl.float32
    _ce_kernel[(n,)](logits, targets, losses, c, ignore_index, CHUNK=min(1024, triton.next_power_of_2(c)), ACC=acc)
    valid = (targets != ignore_index).sum()  # divide by the rows that count, not by N
    return (losses.sum() / valid).to(logits.dtype)
