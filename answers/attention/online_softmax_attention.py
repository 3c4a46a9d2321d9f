"""attention.online_softmax_attention — tiled attention with an online softmax (FlashAttention's
algorithm): reference, checks, known-wrong answers.

q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv) -> (..., Lq, Dv): softmax(q k^T / sqrt(D)) v, the
keys visited block_size at a time; causal: query i attends keys j <= i + (Lk - Lq), with Lq <= Lk.
The result must equal plain attention for every block size. The reference is plain attention
(softmax written out, since the softmax functions are forbidden to the solution). float64 input
is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random):
- block size 1, smaller than Lk and not dividing it, equal to Lk, larger than Lk, and the
  default 64 over 200 keys (four blocks, the last partial): a max or sum over one block fails;
- Lq < Lk and Lq = Lk with causal (a mask built from block-local key indices, or aligned
  top-left, fails), Lq > Lk without, one query, one key;
- scores that grow along the keys (the running max changes in every block), scores ~1e4, and
  every score below -1e3 (exp underflows to 0 for a running max started at 0: 0/0);
- float64 input with scores of a few hundred: compared at rtol 1e-10, where float32 shows.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.forbidden import SOFTMAX_FAMILY
from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = [*SOFTMAX_FAMILY, "torch.nn.functional.scaled_dot_product_attention"]

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
SHAPES = st.tuples(
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(1, 9),
    st.integers(1, 20),
    st.sampled_from([1, 2, 3, 8]),
    st.sampled_from([1, 3, 4]),
)


def _draw(ctx, dtypes, scale=1.0):
    dtype, (b, h, lq, lk, d, dv), causal, block = ctx.draw(
        st.tuples(st.sampled_from(dtypes), SHAPES, st.sampled_from(["default", True, False]), st.integers(1, 23))
    )
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


@check(
    "equals plain attention for block sizes 1 to 23 (dividing Lk or not), float32/float64/bfloat16, causal on, off and default",
    zh="块大小为 1 到 23（整除 Lk 或不整除）时等于普通注意力，float32/float64/bfloat16，causal 开、关和默认",
    teaches=["attention.flash_online_softmax"],
)
def matches_reference(ctx):
    dtype, q, k, v, causal, block = _draw(ctx, DTYPES)
    kwargs = _kwargs(causal, block)
    ctx.assert_close(ctx.call(q, k, v, **kwargs), ctx.reference(q, k, v, **kwargs), dtype=dtype)


def _regime_cases(ctx):
    """(what, q, k, v, kwargs, dtype, rtol, atol) for the regimes of the module docstring."""
    f32, f64 = torch.float32, torch.float64
    cases = []
    for what, (lq, lk, d, dv), kwargs, scale, rtol, atol in [
        ("block 1, 7 keys, causal", (3, 7, 4, 3), {"block_size": 1, "causal": True}, 1.0, None, None),
        ("block 3 (not dividing 7 keys), causal", (3, 7, 4, 3), {"block_size": 3, "causal": True}, 1.0, None, None),
        ("block 7 = Lk", (3, 7, 4, 3), {"block_size": 7}, 1.0, None, None),
        ("block 10 > Lk = 7, causal", (3, 7, 4, 3), {"block_size": 10, "causal": True}, 1.0, None, None),
        ("default block (64), 200 keys, causal", (2, 200, 4, 3), {"causal": True}, 1.0, None, None),
        ("one query, 9 keys, block 4, causal", (1, 9, 4, 3), {"block_size": 4, "causal": True}, 1.0, None, None),
        ("one key, 3 queries, block 2", (3, 1, 4, 3), {"block_size": 2}, 1.0, None, None),
        ("6 queries, 4 keys (Lq > Lk), block 3, not causal", (6, 4, 4, 3), {"block_size": 3, "causal": False}, 1.0, None, None),
        ("6 queries, 6 keys, block 4, causal", (6, 6, 4, 3), {"block_size": 4, "causal": True}, 1.0, None, None),
        # float32 rounding of scores this large moves the weights a little: a looser tolerance.
        ("scores ~1e4 (float32), block 3, causal", (3, 8, 4, 3), {"block_size": 3, "causal": True}, 12.0, 1e-3, 1e-3),
    ]:
        q = ctx.randn(2, lq, d, scale=scale)
        k = ctx.randn(2, lk, d, scale=scale)
        v = ctx.randn(2, lk, dv)
        cases.append((what, q, k, v, kwargs, f32, rtol, atol))
    # D = 1, q = 4, key j = 5 j (+ noise): scores grow by ~20 a key, so the max changes every block.
    q = torch.full((1, 3, 1), 4.0)
    k = 5.0 * torch.arange(12.0).reshape(1, 12, 1) + 0.1 * ctx.randn(1, 12, 1)
    v = ctx.randn(1, 12, 2)
    cases.append(("scores growing along the keys (~20 a key), block 2", q, k, v, {"block_size": 2}, f32, None, None))
    # q = 30 and k = -30 everywhere (plus noise), D = 4: every score is near -1800.
    q = 30.0 + ctx.randn(1, 3, 4, dtype=f64)
    k = -30.0 + ctx.randn(1, 7, 4, dtype=f64)
    v = ctx.randn(1, 7, 2, dtype=f64)
    cases.append(
        ("every score below -1e3 (float64), block 3, causal", q, k, v, {"block_size": 3, "causal": True}, f64, None, None)
    )
    return cases


@check(
    "boundary regimes, every run: block 1, < Lk, = Lk, > Lk and 64 over 200 keys; Lq < = > Lk; growing, huge and very negative scores",
    zh="每次都测的边界情形：块大小为 1、< Lk、= Lk、> Lk，以及 200 个 key 上的 64；Lq < = > Lk；递增、极大和极负的分数",
    examples=1,
    teaches=["attention.flash_online_softmax", "attention.sdpa_is_causal_decode"],
)
def boundary_regimes(ctx):
    for what, q, k, v, kwargs, dtype, rtol, atol in _regime_cases(ctx):
        out = ctx.call(q, k, v, **kwargs)
        try:
            ctx.assert_close(out, ctx.reference(q, k, v, **kwargs), dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "float64 input is computed in float64 (rtol 1e-10, scores of a few hundred where float32 rounding shows)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10，分数为几百，float32 的舍入误差会显现）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    causal = ctx.draw(st.booleans())
    q = ctx.randn(2, 5, 16, dtype=torch.float64, scale=10.0)
    k = ctx.randn(2, 100, 16, dtype=torch.float64, scale=10.0)
    v = ctx.randn(2, 100, 3, dtype=torch.float64)
    out = ctx.call(q, k, v, block_size=7, causal=causal)
    ctx.assert_close(out, ctx.reference(q, k, v, block_size=7, causal=causal), dtype=torch.float64, rtol=1e-10, atol=1e-10)


@check(
    "block_size left at its default (64): equals plain attention for rows longer than one block",
    zh="block_size 取默认值（64）：比一个块长的行上等于普通注意力",
    examples=4,
    teaches=["attention.flash_online_softmax"],
)
def default_block(ctx):
    dtype, lk, causal = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), st.integers(65, 150), st.booleans()))
    q, k, v = ctx.randn(1, 3, 2, dtype=dtype), ctx.randn(1, lk, 2, dtype=dtype), ctx.randn(1, lk, 3, dtype=dtype)
    ctx.assert_close(ctx.call(q, k, v, causal=causal), ctx.reference(q, k, v, causal=causal), dtype=dtype)


@check(
    "the result does not depend on the block size (block 1, a middle size and one block for the whole row)",
    zh="结果与块大小无关（块大小 1、中间大小、整行一个块）",
    teaches=["attention.flash_online_softmax"],
)
def block_size_invariant(ctx):
    dtype, q, k, v, causal, block = _draw(ctx, [torch.float32, torch.float64])
    lk = k.shape[-2]
    causal = causal is True
    one_block = ctx.call(q, k, v, block_size=lk, causal=causal)
    ctx.assert_close(one_block, ctx.reference(q, k, v, causal=causal), dtype=dtype)
    for size in (1, min(block, lk)):
        tiled = ctx.call(q, k, v, block_size=size, causal=causal)
        ctx.assert_close(tiled, one_block.double(), dtype=dtype)


@check(
    "stable for large scores: the running max keeps exp() from overflowing",
    zh="分数很大时数值稳定：running max 防止 exp() 溢出",
    examples=6,
    teaches=["attention.flash_online_softmax"],
)
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
    "running max started at 0 instead of -inf: when every score is below ~-745, exp underflows and 0/0 is NaN": edited(
        _LOOP,
        (
            'm = torch.full(q.shape[:-1] + (1,), float("-inf"), dtype=q.dtype)',
            "m = torch.zeros(q.shape[:-1] + (1,), dtype=q.dtype)",
        ),
    ),
    "causal mask from block-local key indices (arange(block) without the block's start)": edited(
        _LOOP,
        ("torch.arange(start, start + kb.shape[-2])", "torch.arange(kb.shape[-2])"),
    ),
    "causal mask aligned top-left (j > i), ignoring Lk - Lq": edited(_LOOP, ("j > i + lk - lq", "j > i")),
    "scales q in place once before the loop (q *= 1/sqrt(D)): the caller's q changes": edited(
        _LOOP,
        (
            "    lq, lk = q.shape[-2], k.shape[-2]\n",
            "    lq, lk = q.shape[-2], k.shape[-2]\n    q *= 1 / math.sqrt(q.shape[-1])\n",
        ),
        ("s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])", "s = q @ kb.transpose(-2, -1)"),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _LOOP,
        (
            "    lq, lk = q.shape[-2], k.shape[-2]\n",
            "    dtype = q.dtype\n    q, k, v = q.float(), k.float(), v.float()\n    lq, lk = q.shape[-2], k.shape[-2]\n",
        ),
        ("return acc / l", "return (acc / l).to(dtype)"),
    ),
    "forgets to rescale the running output when the running max grows (rescales only the sum)": edited(
        _LOOP,
        ("acc = acc * scale + p @ vb", "acc = acc + p @ vb"),
        ("        scale = torch.exp(m - m_new)\n", ""),
        ("l = l * scale", "l = l * torch.exp(m - m_new)"),  # scale, used once, inlined
    ),
    "forgets to rescale the running sum when the running max grows": edited(_LOOP, ("l = l * scale + ", "l = l + ")),
    "drops the last partial block when block_size does not divide Lk": edited(
        _LOOP,
        ("range(0, lk, block_size)", "range(0, max(lk - block_size + 1, 1), block_size)"),
    ),
    "no running max: sums exp(score) directly (exact in theory, overflows for large scores)": edited(
        _LOOP,
        ('    m = torch.full(q.shape[:-1] + (1,), float("-inf"), dtype=q.dtype)\n', ""),
        (
            "        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))\n"
            "        p = torch.exp(s - m_new)\n"
            "        scale = torch.exp(m - m_new)\n"
            "        l = l * scale + p.sum(dim=-1, keepdim=True)\n"
            "        acc = acc * scale + p @ vb\n"
            "        m = m_new\n",
            "        p = torch.exp(s)\n        l = l + p.sum(dim=-1, keepdim=True)\n        acc = acc + p @ vb\n",
        ),
    ),
    "normalises each block on its own and averages the block outputs": """
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
""",
}

ALTERNATIVES = {
    "carries the running log-sum-exp and a normalised output (torch.logaddexp), float32 inside for bfloat16": """
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
""",
    "the textbook loop: running max, sum and output in the input dtype, divided once at the end": _LOOP,
}
