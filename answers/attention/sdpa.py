"""attention.sdpa — scaled dot-product attention with a bool mask and bottom-right causal masking.

Reference only for now; checks, wrong answers and alternatives are added with the judge's kit.
"""
import math

import torch


def reference(q, k, v, mask=None, causal=False):
    # q (..., Lq, E), k (..., Lk, E), v (..., Lk, Ev) -> (..., Lq, Ev); float64 inside
    dtype = q.dtype
    q, k, v = q.double(), k.double(), v.double()
    lq, lk = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., Lq, Lk)
    allowed = torch.ones(lq, lk, dtype=torch.bool)
    if causal:
        i = torch.arange(lq)[:, None]
        j = torch.arange(lk)[None, :]
        allowed = j <= i + (lk - lq)
    if mask is not None:
        allowed = allowed & mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).to(dtype)
