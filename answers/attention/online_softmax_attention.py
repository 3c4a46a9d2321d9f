"""attention.online_softmax_attention — tiled attention with an online softmax (FlashAttention's
algorithm): reference, checks, known-wrong answers.

q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv) -> (..., Lq, Dv): softmax(q k^T / sqrt(D)) v, the
keys visited block_size at a time; causal: query i attends keys j <= i + (Lk - Lq), with Lq <= Lk.
The result must equal plain attention for every block size. The reference is plain attention
(softmax written out, since the softmax functions are forbidden to the solution).
"""
import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = [
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.special.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.special.log_softmax",
    "torch.nn.Softmax",
    "torch.nn.LogSoftmax",
    "torch.nn.functional.scaled_dot_product_attention",
]

# A tiled solution that keeps its running max, sum and output in bfloat16 rounds once per block:
# up to 1.08x the default (2e-2, 2e-2) in 2000 random draws with block_size 1 and Lk up to 20.
TOLERANCES = {torch.bfloat16: (4e-2, 4e-2)}


def reference(q, k, v, block_size=64, causal=False):
    lq, lk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, Lk): the whole row at once
    if causal:
        i = torch.arange(lq).unsqueeze(1)
        j = torch.arange(lk).unsqueeze(0)
        scores = scores.masked_fill(j > i + (lk - lq), float("-inf"))
    weights = (scores - scores.amax(dim=-1, keepdim=True)).exp()
    return (weights / weights.sum(dim=-1, keepdim=True)) @ v  # (..., Lq, Dv); block_size plays no part


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
# (B, H, Lq, Lk, D, Dv); causal needs Lq <= Lk so that no row is masked out entirely.
SHAPES = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 9), st.integers(1, 20),
                   st.sampled_from([1, 2, 3, 8]), st.sampled_from([1, 3, 4]))


def _draw(ctx, dtypes, scale=1.0):
    dtype, (b, h, lq, lk, d, dv), causal, block = ctx.draw(st.tuples(
        st.sampled_from(dtypes), SHAPES, st.sampled_from(["default", True, False]), st.integers(1, 23)))
    if causal is True:
        lq = min(lq, lk)
    q = ctx.randn(b, h, lq, d, dtype=dtype, scale=scale)
    k = ctx.randn(b, h, lk, d, dtype=dtype, scale=scale)
    v = ctx.randn(b, h, lk, dv, dtype=dtype)
    return dtype, q, k, v, causal, block


def _kwargs(causal, block):
    kwargs = {"block_size": block}
    if causal != "default":
        kwargs["causal"] = causal
    return kwargs


@check("equals plain attention for block sizes 1 to 23 (dividing Lk or not), float32/float64/bfloat16, causal on, off and default")
def matches_reference(ctx):
    dtype, q, k, v, causal, block = _draw(ctx, DTYPES)
    kwargs = _kwargs(causal, block)
    ctx.assert_close(ctx.call(q, k, v, **kwargs), ctx.reference(q, k, v, **kwargs), dtype=dtype)


@check("block_size left at its default (64): equals plain attention for rows longer than one block", examples=4)
def default_block(ctx):
    dtype, lk, causal = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), st.integers(65, 150), st.booleans()))
    q, k, v = ctx.randn(1, 3, 2, dtype=dtype), ctx.randn(1, lk, 2, dtype=dtype), ctx.randn(1, lk, 3, dtype=dtype)
    ctx.assert_close(ctx.call(q, k, v, causal=causal), ctx.reference(q, k, v, causal=causal), dtype=dtype)


@check("the result does not depend on the block size (block 1, a middle size and one block for the whole row)")
def block_size_invariant(ctx):
    dtype, q, k, v, causal, block = _draw(ctx, [torch.float32, torch.float64])
    lk = k.shape[-2]
    causal = causal is True
    one_block = ctx.call(q, k, v, block_size=lk, causal=causal)
    ctx.assert_close(one_block, ctx.reference(q, k, v, causal=causal), dtype=dtype)
    for size in (1, min(block, lk)):
        tiled = ctx.call(q, k, v, block_size=size, causal=causal)
        ctx.assert_close(tiled, one_block.double(), dtype=dtype)


@check("stable for large scores: the running max keeps exp() from overflowing", examples=6)
def large_scores(ctx):
    _, q, k, v, causal, block = _draw(ctx, [torch.float32], scale=12.0)  # scores ~ N(0, 144^2)
    kwargs = _kwargs(causal, block)
    # float32 rounding of scores this large moves the weights a little: a looser tolerance.
    ctx.assert_close(ctx.call(q, k, v, **kwargs), ctx.reference(q, k, v, **kwargs), dtype=torch.float32, rtol=1e-3, atol=1e-3)


# The textbook loop (one of the alternatives below); each wrong answer but the last is this with one
# bug put in.
_LOOP = """
import math
import torch

def online_softmax_attention(q, k, v, block_size=64, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    m = torch.full(q.shape[:-1] + (1,), float("-inf"), dtype=q.dtype)
    l = torch.zeros(q.shape[:-1] + (1,), dtype=q.dtype)
    acc = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
    i = torch.arange(lq)[:, None]
    for start in range(0, lk, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            j = torch.arange(start, start + kb.shape[-2])[None, :]
            s = s.masked_fill(j > i + lk - lq, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        p = torch.exp(s - m_new)
        scale = torch.exp(m - m_new)
        l = l * scale + p.sum(dim=-1, keepdim=True)
        acc = acc * scale + p @ vb
        m = m_new
    return acc / l
"""


WRONG_ANSWERS = {
    "forgets to rescale the running output when the running max grows (rescales only the sum)": edited(_LOOP,
        ("acc = acc * scale + p @ vb", "acc = acc + p @ vb"),
        ("        scale = torch.exp(m - m_new)\n", ""), ("l = l * scale", "l = l * torch.exp(m - m_new)"),  # scale, used once, inlined
    ),
    "forgets to rescale the running sum when the running max grows": edited(_LOOP, ("l = l * scale + ", "l = l + ")),
    "drops the last partial block when block_size does not divide Lk": edited(_LOOP,
        ("range(0, lk, block_size)", "range(0, max(lk - block_size + 1, 1), block_size)"),
    ),
    "no running max: sums exp(score) directly (exact in theory, overflows for large scores)": edited(_LOOP,
        ("    m = torch.full(q.shape[:-1] + (1,), float(\"-inf\"), dtype=q.dtype)\n", ""),
        ("        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))\n"
         "        p = torch.exp(s - m_new)\n"
         "        scale = torch.exp(m - m_new)\n"
         "        l = l * scale + p.sum(dim=-1, keepdim=True)\n"
         "        acc = acc * scale + p @ vb\n"
         "        m = m_new\n",
         "        p = torch.exp(s)\n"
         "        l = l + p.sum(dim=-1, keepdim=True)\n"
         "        acc = acc + p @ vb\n"),
    ),
    "normalises each block on its own and averages the block outputs": '''
import math
import torch

def online_softmax_attention(q, k, v, block_size=64, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    outs = []
    i = torch.arange(lq)[:, None]
    for start in range(0, lk, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            j = torch.arange(start, start + kb.shape[-2])[None, :]
            s = s.masked_fill(j > i + lk - lq, float("-inf"))
        p = torch.exp(s - s.amax(dim=-1, keepdim=True))
        p = torch.nan_to_num(p / p.sum(dim=-1, keepdim=True))
        outs.append(p @ vb)
    return torch.stack(outs).mean(dim=0)
''',
}

ALTERNATIVES = {
    "carries the running log-sum-exp and a normalised output (torch.logaddexp), float32 inside for bfloat16": '''
import math
import torch

def online_softmax_attention(q, k, v, block_size=64, causal=False):
    out_dtype = q.dtype
    work = torch.float64 if out_dtype == torch.float64 else torch.float32
    q, k, v = q.to(work), k.to(work), v.to(work)
    lq, lk = q.shape[-2], k.shape[-2]
    lse = torch.full(q.shape[:-1] + (1,), float("-inf"), dtype=work)  # log of the running sum
    out = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=work)  # already normalised
    rows = torch.arange(lq).unsqueeze(-1) + (lk - lq)
    start = 0
    while start < lk:
        stop = min(start + block_size, lk)
        s = torch.matmul(q, k[..., start:stop, :].transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
        if causal:
            s = torch.where(torch.arange(start, stop) <= rows, s, torch.tensor(float("-inf"), dtype=work))
        block_lse = torch.logsumexp(s, dim=-1, keepdim=True)
        new_lse = torch.logaddexp(lse, block_lse)
        # old share of the mass, and the block's weights, both relative to the new total
        out = out * torch.exp(lse - new_lse) + torch.exp(s - new_lse) @ v[..., start:stop, :]
        lse = new_lse
        start = stop
    return out.to(out_dtype)
''',
    "the textbook loop: running max, sum and output in the input dtype, divided once at the end": _LOOP,
}
