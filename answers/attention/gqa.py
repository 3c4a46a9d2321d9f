"""attention.gqa — grouped-query attention: reference, checks, known-wrong answers.

q (B, Hq, T, D); k, v (B, Hkv, T, D); Hq % Hkv == 0; query head h reads kv head h // (Hq // Hkv);
scores scaled by 1/sqrt(D); causal: query i attends keys j <= i. float64 input is computed in
float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random):
- one kv head (MQA) and as many kv heads as query heads (MHA): head-mapping mistakes are hidden
  in both; one token; head dim 1 and a non-power-of-two head dim; 40 tokens;
- magnitudes: scores ~1e4 (overflow without the max), every allowed score below -1e4 (a finite
  -1e4 fill for the masked keys then wins);
- float64 input with scores of a few hundred: compared at rtol 1e-10, where float32 shows.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.scaled_dot_product_attention"]


def reference(q, k, v, causal=True):
    b, hq, t, d = q.shape
    rep = hq // k.shape[1]  # query heads per kv head
    k = k.repeat_interleave(rep, dim=1)  # (B, Hq, T, D): head h gets kv head h // rep
    v = v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, Hq, T, T)
    if causal:
        future = torch.ones(t, t, dtype=torch.bool).triu(1)  # key j > query i
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(dim=-1) @ v  # (B, Hq, T, D)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
# One draw per example where possible: each ctx.draw costs hypothesis about 0.1 ms.
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 3),  # Hkv
    st.integers(1, 4),  # query heads per kv head
    st.integers(1, 9),  # T
    st.sampled_from([1, 2, 3, 5, 8, 16]),  # D
)


def _qkv(ctx, dtype, b, hkv, rep, t, d, scale=1.0):
    q = ctx.randn(b, hkv * rep, t, d, dtype=dtype, scale=scale)
    k = ctx.randn(b, hkv, t, d, dtype=dtype, scale=scale)
    v = ctx.randn(b, hkv, t, d, dtype=dtype)
    return q, k, v


@check(
    "matches the reference (random shapes, float32/float64/bfloat16, causal on, off and default)",
    zh="与参考实现一致（随机形状，float32/float64/bfloat16，causal 开、关和默认）",
    teaches=["attention.mqa_gqa_kv_heads"],
)
def matches_reference(ctx):
    dtype, (b, hkv, rep, t, d), causal = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from(["default", True, False]))
    )
    q, k, v = _qkv(ctx, dtype, b, hkv, rep, t, d)
    if causal == "default":
        out = ctx.call(q, k, v)
        expected = ctx.reference(q, k, v)
    else:
        out = ctx.call(q, k, v, causal=causal)
        expected = ctx.reference(q, k, v, causal=causal)
    ctx.assert_close(out, expected, dtype=dtype)


def _regime_cases(ctx):
    """(what, q, k, v, kwargs, dtype, rtol, atol) for the regimes of the module docstring."""
    f32, f64 = torch.float32, torch.float64
    cases = []
    for what, shape, kwargs, dtype, scale, rtol, atol in [
        ("one kv head for 4 query heads (MQA), causal", (2, 1, 4, 5, 4), {"causal": True}, f32, 1.0, None, None),
        ("3 kv heads for 3 query heads (MHA)", (1, 3, 1, 5, 4), {"causal": False}, f32, 1.0, None, None),
        ("one token, 2 kv heads x 2", (2, 2, 2, 1, 8), {}, f32, 1.0, None, None),
        ("head dim 1, not causal", (1, 2, 3, 4, 1), {"causal": False}, f32, 1.0, None, None),
        ("head dim 5, 9 tokens", (1, 2, 2, 9, 5), {}, f32, 1.0, None, None),
        ("40 tokens, causal", (1, 1, 2, 40, 8), {"causal": True}, f32, 1.0, None, None),
        # float32 rounding of scores this large moves the weights a little: a looser tolerance.
        ("scores ~1e4 (float32)", (1, 2, 2, 6, 4), {}, f32, 12.0, 1e-3, 1e-3),
    ]:
        q, k, v = _qkv(ctx, dtype, *shape, scale=scale)
        cases.append((what, q, k, v, kwargs, dtype, rtol, atol))
    # q = 80 and k = -80 everywhere (plus noise), D = 4: every score is near -12800.
    q = 80.0 + ctx.randn(1, 4, 5, 4, dtype=f64)
    k = -80.0 + ctx.randn(1, 2, 5, 4, dtype=f64)
    v = ctx.randn(1, 2, 5, 4, dtype=f64)
    cases.append(("every allowed score below -1e4 (float64), causal", q, k, v, {}, f64, None, None))
    return cases


@check(
    "float64 input is computed in float64 (rtol 1e-10, scores of a few hundred where float32 rounding shows)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10，分数为几百，float32 的舍入误差会显现）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    causal = ctx.draw(st.booleans())
    q, k, v = _qkv(ctx, torch.float64, 1, 2, 2, 48, 16, scale=10.0)
    out = ctx.call(q, k, v, causal=causal)
    ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float64, rtol=1e-10, atol=1e-10)


@check(
    "boundary regimes, every run: MQA and MHA, one token, head dim 1 and 5, 40 tokens, scores ~1e4 and below -1e4",
    zh="每次都测的边界情形：MQA 和 MHA，一个 token，head dim 为 1 和 5，40 个 token，分数约 1e4 和低于 -1e4",
    examples=1,
    teaches=["attention.mqa_gqa_kv_heads"],
)
def boundary_regimes(ctx):
    for what, q, k, v, kwargs, dtype, rtol, atol in _regime_cases(ctx):
        out = ctx.call(q, k, v, **kwargs)
        try:
            ctx.assert_close(out, ctx.reference(q, k, v, **kwargs), dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "causal: changing future queries, keys and values leaves earlier outputs unchanged",
    zh="因果性：改变未来的 query、key 和 value，之前的输出不变",
    teaches=["attention.causal_mask_before_softmax"],
)
def causality(ctx):
    dtype, (b, hkv, rep, t, d), cut, default = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SHAPES, st.integers(1, 8), st.booleans())
    )
    t = max(t, 2)
    cut = min(cut, t - 1)  # positions >= cut are "the future"
    q, k, v = _qkv(ctx, dtype, b, hkv, rep, t, d)
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    for x in (q2, k2, v2):
        x[:, :, cut:] = ctx.randn(*x[:, :, cut:].shape, dtype=dtype) * 3
    options = {} if default else {"causal": True}  # causal is the default
    before = ctx.call(q, k, v, **options)
    after = ctx.call(q2, k2, v2, **options)
    if not isinstance(before, torch.Tensor) or before.shape != q.shape:
        ctx.assert_close(before, ctx.reference(q, k, v), dtype=dtype)
    ctx.assert_close(after[:, :, :cut], before[:, :, :cut].double(), dtype=dtype)


@check(
    "GQA equals multi-head attention with each kv head repeated for its query group",
    zh="GQA 等价于把每个 kv head 按其 query 组复制后的多头注意力",
    teaches=["attention.mqa_gqa_kv_heads"],
)
def equals_mha(ctx):
    dtype, (b, hkv, rep, t, d), causal = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SHAPES, st.booleans())
    )
    rep = max(rep, 2)
    q, k, v = _qkv(ctx, dtype, b, hkv, rep, t, d)
    grouped = ctx.call(q, k, v, causal=causal)
    # Hkv = Hq: plain multi-head attention, where the head mapping cannot be wrong.
    mha = ctx.call(q, k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1), causal=causal)
    if not isinstance(mha, torch.Tensor) or mha.shape != q.shape:
        ctx.assert_close(mha, ctx.reference(q, k, v, causal=causal), dtype=dtype)
    ctx.assert_close(grouped, mha.double(), dtype=dtype)


@check(
    "stable for large scores (no overflow in the softmax)",
    zh="分数很大时数值稳定（softmax 中不溢出）",
    examples=6,
    teaches=["softmax.stable_softmax"],
)
def large_scores(ctx):
    (b, hkv, rep, t, d), causal = ctx.draw(st.tuples(SHAPES, st.booleans()))
    q, k, v = _qkv(ctx, torch.float32, b, hkv, rep, t, d, scale=12.0)  # scores ~ N(0, 144^2)
    out = ctx.call(q, k, v, causal=causal)
    # float32 rounding of scores this large moves the weights a little: a looser tolerance.
    ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float32, rtol=1e-3, atol=1e-3)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import math
import torch

def grouped_query_attention(q, k, v, causal=True):
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    t, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if causal:
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""


WRONG_ANSWERS = {
    "masked scores filled with -1e4 instead of -inf (wins when every allowed score is below -1e4)": edited(
        _PLAIN,
        ('scores.masked_fill(mask, float("-inf"))', "scores.masked_fill(mask, -1e4)"),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        ("    rep = q.shape[1]", "    dtype = q.dtype\n    q, k, v = q.float(), k.float(), v.float()\n    rep = q.shape[1]"),
        ("return torch.softmax(scores, dim=-1) @ v", "return (torch.softmax(scores, dim=-1) @ v).to(dtype)"),
    ),
    "scales q in place (q /= sqrt(D)): the caller's q changes": edited(
        _PLAIN,
        ("    scores = q @ k.transpose(-2, -1) / math.sqrt(d)", "    q /= math.sqrt(d)\n    scores = q @ k.transpose(-2, -1)"),
    ),
    "maps query head h to kv head h % Hkv (repeat tiles the heads instead of interleaving them)": edited(
        _PLAIN,
        ("k.repeat_interleave(rep, dim=1)", "k.repeat(1, rep, 1, 1)"),
        ("v.repeat_interleave(rep, dim=1)", "v.repeat(1, rep, 1, 1)"),
    ),
    "no 1/sqrt(D) scaling of the scores": edited(_PLAIN, (" / math.sqrt(d)", "")),
    "scales by 1/sqrt(Hq * D), the model width, instead of the head dim": edited(
        _PLAIN,
        ("math.sqrt(d)", "math.sqrt(q.shape[1] * d)"),
    ),
    "causal mask off by one: lets query i see key i + 1": edited(_PLAIN, ("diagonal=1", "diagonal=2")),
    "softmax over the query axis (dim=-2) instead of the keys": edited(
        _PLAIN, ("softmax(scores, dim=-1)", "softmax(scores, dim=-2)")
    ),
    "softmax without subtracting the row max (overflows for large scores)": edited(
        _PLAIN,
        (
            "return torch.softmax(scores, dim=-1) @ v",
            "weights = scores.exp()\n    return weights / weights.sum(dim=-1, keepdim=True) @ v",
        ),
    ),
    "defaults to causal=False": edited(_PLAIN, ("causal=True", "causal=False")),
    "upcasts to float32 and forgets to cast back": edited(
        _PLAIN,
        ("    rep = q.shape[1]", "    q, k, v = q.float(), k.float(), v.float()\n    rep = q.shape[1]"),
    ),
}

ALTERNATIVES = {
    "einsum over query groups, no repeated kv, in float32 for half-precision inputs": """
import torch

def grouped_query_attention(q, k, v, causal=True):
    b, hq, t, d = q.shape
    hkv = k.shape[1]
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    qg = q.to(work).reshape(b, hkv, hq // hkv, t, d)         # query heads grouped by kv head
    scores = torch.einsum("bgrid,bgjd->bgrij", qg, k.to(work)) * d ** -0.5
    if causal:
        i = torch.arange(t).unsqueeze(1)
        j = torch.arange(t).unsqueeze(0)
        scores = scores.masked_fill(j > i, float("-inf"))
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp()
    weights = weights / weights.sum(dim=-1, keepdim=True)
    out = torch.einsum("bgrij,bgjd->bgrid", weights, v.to(work))
    return out.reshape(b, hq, t, d).to(q.dtype)
""",
    "one query head at a time, kv head chosen by integer division": """
import math
import torch

def grouped_query_attention(q, k, v, causal=True):
    hq, t, d = q.shape[1], q.shape[2], q.shape[3]
    rep = hq // k.shape[1]
    heads = []
    for h in range(hq):
        kh, vh = k[:, h // rep], v[:, h // rep]
        scores = q[:, h] @ kh.transpose(-1, -2) / math.sqrt(d)
        if causal:
            scores = scores + torch.full((t, t), float("-inf"), dtype=q.dtype).triu(1)
        heads.append(torch.softmax(scores, dim=-1) @ vh)
    return torch.stack(heads, dim=1)
""",
}
