"""attention.mha_forward — multi-head self-attention from weight matrices: reference, checks, known-wrong answers.

x (B, T, D); w_q, w_k, w_v, w_o (D, D) applied as x @ w; head h owns features h*dh:(h+1)*dh with
dh = D / n_heads; scores scaled by 1/sqrt(dh); causal: query i attends keys j <= i. float64 input
is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random):
- one token (T = 1: head merging without the transpose is hidden), one head (H = 1: the scale
  1/sqrt(D) and head-splitting mistakes are hidden), head dim 1, non-power-of-two D = 9, T = 16;
- magnitudes: scores ~1e3 and beyond (overflow without the max), every allowed score below -1e4
  (a finite -1e4 fill for the masked keys then wins);
- float64 input with scores of a few hundred: compared at rtol 1e-10, where float32 shows.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = [
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.MultiheadAttention",
]

# bfloat16 rounds each of the four projections and the attention: errors reach about 1.06x the
# default (2e-2, 2e-2) in 3000 random draws of a plain bfloat16 solution; 4e-2 leaves a margin.
TOLERANCES = {torch.bfloat16: (4e-2, 4e-2)}


def reference(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    b, t, d = x.shape
    dh = d // n_heads

    def heads(y):  # (B, T, D) -> (B, H, T, dh): head h is the feature slice h*dh:(h+1)*dh
        return y.reshape(b, t, n_heads, dh).transpose(1, 2)

    q, k, v = heads(x @ w_q), heads(x @ w_k), heads(x @ w_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, H, T, T)
    if causal:
        future = torch.ones(t, t, dtype=torch.bool).triu(1)  # key j > query i
        scores = scores.masked_fill(future, float("-inf"))
    out = scores.softmax(dim=-1) @ v  # (B, H, T, dh)
    out = out.transpose(1, 2).reshape(b, t, d)  # heads back side by side
    return out @ w_o  # (B, T, D)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 7),  # T
    st.sampled_from([1, 2, 3, 4]),  # heads
    st.sampled_from([1, 2, 3, 5, 8]),  # head dim
)


def _inputs(ctx, dtype, b, t, h, dh):
    d = h * dh
    x = ctx.randn(b, t, d, dtype=dtype)
    ws = [ctx.randn(d, d, dtype=dtype, scale=d**-0.5) for _ in range(4)]  # keeps activations O(1)
    return x, ws


@check(
    "matches the reference (random shapes, float32/float64/bfloat16, causal on, off and default)",
    zh="与参考实现一致（随机形状，float32/float64/bfloat16，causal 开、关和默认）",
    teaches=["attention.head_split_reshape", "attention.why_sqrt_dk"],
)
def matches_reference(ctx):
    dtype, (b, t, h, dh), causal = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from(["default", True, False])))
    x, ws = _inputs(ctx, dtype, b, t, h, dh)
    if causal == "default":
        out, expected = ctx.call(x, *ws, h), ctx.reference(x, *ws, h)
    else:
        out, expected = ctx.call(x, *ws, h, causal=causal), ctx.reference(x, *ws, h, causal=causal)
    ctx.assert_close(out, expected, dtype=dtype)


def _regime_cases(ctx):
    """(what, x, weights, n_heads, kwargs, dtype, rtol, atol) for the regimes of the docstring."""
    f32, f64 = torch.float32, torch.float64
    cases = []
    for what, (b, t, h, dh), kwargs in [
        ("one token, 2 heads of 3, causal", (2, 1, 2, 3), {"causal": True}),
        ("one head of 5, 4 tokens, causal", (2, 4, 1, 5), {"causal": True}),
        ("4 heads of 1, 5 tokens", (1, 5, 4, 1), {}),
        ("3 heads of 3 (D = 9), 6 tokens", (2, 6, 3, 3), {"causal": False}),
        ("16 tokens, 2 heads of 4, causal", (1, 16, 2, 4), {"causal": True}),
    ]:
        x, ws = _inputs(ctx, f32, b, t, h, dh)
        cases.append((what, x, ws, h, kwargs, f32, None, None))
    x, ws = _inputs(ctx, f32, 2, 5, 2, 4)
    cases.append(("scores ~1e3 and beyond (x * 30), causal", x * 30, ws, 2, {"causal": True}, f32, 1e-3, 3e-2))
    # w_q = 100 I and w_k = -100 I on x near 1: every score is near -1e4 * 2 / sqrt(2).
    x = 1.0 + 0.01 * ctx.randn(2, 4, 4, dtype=f64)
    eye = torch.eye(4, dtype=f64)
    ws = [100.0 * eye, -100.0 * eye, ctx.randn(4, 4, dtype=f64), ctx.randn(4, 4, dtype=f64)]
    cases.append(("every allowed score below -1e4 (float64), causal", x, ws, 2, {"causal": True}, f64, None, None))
    return cases


@check(
    "boundary regimes, every run: one token, one head, head dim 1, D = 9, 16 tokens, scores ~1e3 and below -1e4",
    zh="每次都测的边界情形：一个 token，一个 head，head dim 为 1，D = 9，16 个 token，分数约 1e3 和低于 -1e4",
    examples=1,
    teaches=["attention.head_split_reshape"],
)
def boundary_regimes(ctx):
    for what, x, ws, h, kwargs, dtype, rtol, atol in _regime_cases(ctx):
        out = ctx.call(x, *ws, h, **kwargs)
        try:
            ctx.assert_close(out, ctx.reference(x, *ws, h, **kwargs), dtype=dtype, rtol=rtol, atol=atol)
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
    x, ws = _inputs(ctx, torch.float64, 1, 32, 2, 16)
    x = x * 20  # scores of a few hundred: float32 rounding moves the weights by ~1e-5
    out = ctx.call(x, *ws, 2, causal=causal)
    ctx.assert_close(out, ctx.reference(x, *ws, 2, causal=causal), dtype=torch.float64, rtol=1e-10, atol=1e-9)


@check(
    "causal: changing later tokens leaves earlier outputs unchanged",
    zh="因果性：改变后面的 token，前面的输出不变",
    teaches=["attention.causal_mask_before_softmax"],
)
def causality(ctx):
    dtype, (b, t, h, dh), cut = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), SHAPES, st.integers(1, 6)))
    t = max(t, 2)
    cut = min(cut, t - 1)  # positions >= cut are the future
    x, ws = _inputs(ctx, dtype, b, t, h, dh)
    x2 = x.clone()
    x2[:, cut:] = ctx.randn(b, t - cut, h * dh, dtype=dtype) * 3
    before = ctx.call(x, *ws, h, causal=True)
    after = ctx.call(x2, *ws, h, causal=True)
    ctx.assert_close(before, ctx.reference(x, *ws, h, causal=True), dtype=dtype)
    ctx.assert_close(after[:, :cut], before[:, :cut].double(), dtype=dtype)


@check(
    "without the mask, permuting the tokens permutes the outputs the same way",
    zh="不加 mask 时，对 token 做置换，输出也按同样方式置换",
    teaches=["attention.head_split_reshape"],
)
def permutation_equivariant(ctx):
    dtype, (b, t, h, dh) = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), SHAPES))
    x, ws = _inputs(ctx, dtype, b, t, h, dh)
    perm = torch.randperm(t, generator=ctx.generator)
    out = ctx.call(x, *ws, h)
    shuffled = ctx.call(x[:, perm], *ws, h)
    ctx.assert_close(out, ctx.reference(x, *ws, h), dtype=dtype)
    ctx.assert_close(shuffled, out[:, perm].double(), dtype=dtype)


@check(
    "stable for large scores (no overflow in the softmax)",
    zh="分数很大时数值稳定（softmax 中不溢出）",
    examples=5,
    teaches=["softmax.stable_softmax"],
)
def large_scores(ctx):
    (b, t, h, dh), causal = ctx.draw(st.tuples(SHAPES, st.booleans()))
    x, ws = _inputs(ctx, torch.float32, b, t, h, dh)
    x = x * 30  # scores grow with the square: ~1e3 and beyond
    out = ctx.call(x, *ws, h, causal=causal)
    ctx.assert_close(out, ctx.reference(x, *ws, h, causal=causal), dtype=torch.float32, rtol=1e-3, atol=1e-3 * 30)


# The usual way to write it; each wrong answer below is this text with one bug put in.
_PLAIN = """
import math
import torch

def mha_forward(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    b, t, d = x.shape
    dh = d // n_heads
    q = (x @ w_q).view(b, t, n_heads, dh).transpose(1, 2)
    k = (x @ w_k).view(b, t, n_heads, dh).transpose(1, 2)
    v = (x @ w_v).view(b, t, n_heads, dh).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    if causal:
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    return out.transpose(1, 2).reshape(b, t, d) @ w_o
"""


WRONG_ANSWERS = {
    "splits heads as reshape(B, T, dh, H): head h gets features h, h + H, ... (hidden with one head or dh = 1)": edited(
        _PLAIN,
        *(
            (f"(x @ w_{n}).view(b, t, n_heads, dh).transpose(1, 2)", f"(x @ w_{n}).view(b, t, dh, n_heads).permute(0, 3, 1, 2)")
            for n in "qkv"
        ),
        ("out.transpose(1, 2).reshape(b, t, d)", "out.permute(0, 2, 3, 1).reshape(b, t, d)"),
    ),
    "masked scores filled with -1e4 instead of -inf (wins when every allowed score is below -1e4)": edited(
        _PLAIN,
        ('.triu(1), float("-inf"))', ".triu(1), -1e4)"),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        (
            "    b, t, d = x.shape\n",
            "    b, t, d = x.shape\n    dtype = x.dtype\n    x, w_q, w_k, w_v, w_o = (a.float() for a in (x, w_q, w_k, w_v, w_o))\n",
        ),
        ("return out.transpose(1, 2).reshape(b, t, d) @ w_o", "return (out.transpose(1, 2).reshape(b, t, d) @ w_o).to(dtype)"),
    ),
    "scales the scores by 1/sqrt(D), the model width, instead of 1/sqrt(D / n_heads)": edited(
        _PLAIN,
        ("math.sqrt(dh)", "math.sqrt(d)"),
    ),
    "splits heads with view(B, H, T, dh) directly, without the transpose (mixes tokens into heads)": edited(
        _PLAIN,
        (".view(b, t, n_heads, dh).transpose(1, 2)", ".reshape(b, n_heads, t, dh)"),
        ("out.transpose(1, 2).reshape", "out.reshape"),
    ),
    "merges heads with reshape(B, T, D) without transposing back (tokens get other tokens' outputs)": edited(
        _PLAIN,
        ("out.transpose(1, 2).reshape", "out.reshape"),
    ),
    "forgets the output projection w_o": edited(_PLAIN, (".reshape(b, t, d) @ w_o", ".reshape(b, t, d)")),
    "causal mask from tril instead of triu: hides the past and lets each token see the future": edited(
        _PLAIN,
        (".triu(1)", ".tril(-1)"),
    ),
    "applies the weights as nn.Linear does (x @ w.T), not x @ w as stated": edited(
        _PLAIN,
        ("x @ w_q", "x @ w_q.T"),
        ("x @ w_k", "x @ w_k.T"),
        ("x @ w_v", "x @ w_v.T"),
        ("@ w_o", "@ w_o.T"),
    ),
}

ALTERNATIVES = {
    "one head at a time with column slices of the weights, summing each head's share of w_o; float32 inside for bfloat16": """
import torch

def mha_forward(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    t, d = x.shape[1], x.shape[2]
    dh = d // n_heads
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    out = torch.zeros(x.shape, dtype=work)
    allowed = torch.ones(t, t, dtype=torch.bool)
    if causal:
        allowed = allowed.tril()
    for h in range(n_heads):
        cols = slice(h * dh, (h + 1) * dh)
        q = xw @ w_q[:, cols].to(work)  # (B, T, dh)
        k = xw @ w_k[:, cols].to(work)
        v = xw @ w_v[:, cols].to(work)
        s = torch.einsum("bid,bjd->bij", q, k) * dh ** -0.5
        s = s.masked_fill(~allowed, float("-inf"))
        p = (s - s.amax(dim=-1, keepdim=True)).exp()
        p = p / p.sum(dim=-1, keepdim=True)
        out = out + (p @ v) @ w_o[cols, :].to(work)  # rows of w_o that read head h
    return out.to(x.dtype)
""",
}
