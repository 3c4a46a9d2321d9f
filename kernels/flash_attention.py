"""Reference for gpu.flash_attention_triton: the flash-attention forward pass in Triton.

q, k, v (B, H, T, D) contiguous, D a power of two from 16 to 128; out = softmax(q k^T / sqrt(D)) v,
causal optional (query i sees keys j <= i). Each program owns BLOCK_M queries of one (b, h) and
walks the keys in blocks of BLOCK_N with an online softmax (running max m, running sum row_sum, output
accumulator rescaled whenever the max grows), so the (T, T) scores never exist in memory.
"""

import math

import torch
import triton
import triton.language as tl


@triton.jit
def _flash_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    out_ptr,
    t_len,
    scale,
    CAUSAL: tl.constexpr,
    D: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    block_m = tl.program_id(0)
    base = tl.program_id(1) * t_len * D  # the (b, h) slice
    rows = block_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    row_ok = rows < t_len
    q = tl.load(q_ptr + base + rows[:, None] * D + dims[None, :], mask=row_ok[:, None], other=0.0)
    m = tl.full([BLOCK_M], float("-inf"), tl.float32)  # running max of the scores
    row_sum = tl.zeros([BLOCK_M], tl.float32)  # running sum of exp(score - m)
    acc = tl.zeros([BLOCK_M, D], tl.float32)  # running sum of exp(score - m) * v
    # Causal: keys past this block's last query can be skipped entirely.
    end = tl.minimum(t_len, (block_m + 1) * BLOCK_M) if CAUSAL else t_len
    for start in range(0, end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < t_len
        k = tl.load(k_ptr + base + cols[:, None] * D + dims[None, :], mask=col_ok[:, None], other=0.0)
        v = tl.load(v_ptr + base + cols[:, None] * D + dims[None, :], mask=col_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale  # (BLOCK_M, BLOCK_N)
        allowed = col_ok[None, :]  # padding keys (past T) must get no weight
        if CAUSAL:
            allowed = allowed & (cols[None, :] <= rows[:, None])
        s = tl.where(allowed, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))
        alpha = tl.exp(m - m_new)  # how much the old sums shrink under the new max
        p = tl.exp(s - m_new[:, None])
        row_sum = row_sum * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v).to(tl.float32)
        m = m_new
    out = acc / row_sum[:, None]
    tl.store(out_ptr + base + rows[:, None] * D + dims[None, :], out.to(out_ptr.dtype.element_ty), mask=row_ok[:, None])


def flash_attention(q, k, v, causal=False):
    # q, k, v (B, H, T, D) -> (B, H, T, D) in q's dtype
    b, h, t, d = q.shape
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = torch.empty_like(q)
    block = 64 if q.is_cuda else 16  # small blocks keep Triton's CPU interpreter quick
    grid = (triton.cdiv(t, block), b * h)
    _flash_kernel[grid](q, k, v, out, t, 1.0 / math.sqrt(d), CAUSAL=causal, D=d, BLOCK_M=block, BLOCK_N=block)
    return out
