"""attention.cross_attention — multi-head encoder-decoder attention: reference, checks, wrong answers.

cross_attention(x, memory, weights, n_heads, key_padding_mask=None): x (B, Lq, D) decoder states;
memory (B, Lk, D) encoder output; weights a dict of wq, wk, wv, wo (D, D), projections as h @ W.
Queries come from x, keys and values from memory; H heads of Dh = D // H consecutive columns;
scores scaled by 1/sqrt(Dh); no causal mask; key_padding_mask bool (B, Lk), True = a real key,
False = padding (never attended), None = every key real; every row keeps at least one key.
Returns (B, Lq, D) in x's dtype; float64 is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes`: Lq < Lk and
Lq > Lk (a mask on the wrong axis or keys from x show), one query, one key, one head and four
heads of dim 2, padding at the end and in the middle of a row, one real key left, no mask, and
scores in the thousands (overflow without the max).
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


def reference(x, memory, weights, n_heads, key_padding_mask=None):
    w = {name: weights[name].double() for name in ("wq", "wk", "wv", "wo")}
    b, lq, d = x.shape
    lk = memory.shape[1]
    dh = d // n_heads
    q = (x.double() @ w["wq"]).view(b, lq, n_heads, dh).transpose(1, 2)  # (B, H, Lq, Dh)
    k = (memory.double() @ w["wk"]).view(b, lk, n_heads, dh).transpose(1, 2)  # (B, H, Lk, Dh)
    v = (memory.double() @ w["wv"]).view(b, lk, n_heads, dh).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, H, Lq, Lk)
    if key_padding_mask is not None:
        padding = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, Lk): the same keys for every query
        scores = scores.masked_fill(padding, float("-inf"))
    out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, lq, d)  # softmax over the keys
    return (out @ w["wo"]).to(x.dtype)


def make_weights(ctx, d, dtype, scale=1.0):
    return {name: ctx.randn(d, d, dtype=dtype, scale=scale / math.sqrt(d)) for name in ("wq", "wk", "wv", "wo")}


def random_mask(ctx, b, lk):
    """True = keep; at least one key kept per row."""
    keep = ctx.rand(b, lk) < 0.6
    keep[torch.arange(b), ctx.randint(0, lk, (b,))] = True
    return keep


DTYPES = [torch.float32, torch.float64]
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 6),  # Lq
    st.integers(1, 7),  # Lk
    st.integers(1, 4),  # H
    st.sampled_from([1, 2, 3, 4]),  # Dh
)


def _case(ctx, dtype, b, lq, lk, h, dh, scale=1.0):
    d = h * dh
    x = ctx.randn(b, lq, d, dtype=dtype, scale=scale)
    memory = ctx.randn(b, lk, d, dtype=dtype, scale=scale)
    return x, memory, make_weights(ctx, d, dtype)


@check(
    "matches the reference (random shapes with Lq != Lk, float32/float64, mask given, None and default)",
    zh="与参考实现一致（随机形状，Lq != Lk，float32/float64，mask 给定、为 None 和取默认值）",
    teaches=["transformer.cross_attention", "attention.mask_placement_choice"],
)
def matches_reference(ctx):
    dtype, shape, masked = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from(["mask", "none", "default"])))
    x, memory, weights = _case(ctx, dtype, *shape)
    h = shape[3]
    if masked == "default":
        out, expected = ctx.call(x, memory, weights, h), ctx.reference(x, memory, weights, h)
    else:
        mask = random_mask(ctx, shape[0], shape[2]) if masked == "mask" else None
        out = ctx.call(x, memory, weights, h, key_padding_mask=mask)
        expected = ctx.reference(x, memory, weights, h, key_padding_mask=mask)
    ctx.assert_close(out, expected, dtype=dtype)


def _mask(rows):
    return torch.tensor([[c == "1" for c in row] for row in rows])


# (what, (B, Lq, Lk, H, Dh), mask rows ("1" keep, "0" pad) or None, input scale, rtol, atol)
REGIMES = [
    ("Lq = 3 < Lk = 7, padding at the end of row 0 and in the middle of row 1", (2, 3, 7, 2, 4), ["1111100", "1100111"], 1.0),
    ("Lq = 5 > Lk = 2, one real key in row 1", (2, 5, 2, 2, 2), ["11", "01"], 1.0),
    ("one query, 6 keys, 4 heads of dim 2", (2, 1, 6, 4, 2), ["101011", "111111"], 1.0),
    ("one key, 4 queries", (1, 4, 1, 2, 3), ["1"], 1.0),
    ("one head, Lq = 4, Lk = 5, no mask", (2, 4, 5, 1, 6), None, 1.0),
    ("Lq = Lk = 4, 2 heads, padding in both rows", (2, 4, 4, 2, 3), ["1110", "0111"], 1.0),
    # scores in the thousands: exp overflows without the row max; float32 rounding of such
    # scores moves the weights a little, hence the looser tolerance below.
    ("scores in the thousands (float32)", (1, 3, 5, 2, 4), ["11101"], 8.0),
]


@check(
    "boundary regimes, every run: Lq < Lk and Lq > Lk, one query, one key, 1 and 4 heads, padding at the end and "
    "in the middle, one real key, no mask, scores in the thousands",
    zh="每次都测的边界情形：Lq < Lk 和 Lq > Lk，一个 query，一个 key，1 个和 4 个 head，padding 在末尾和中间，只有一个真实 key，没有 mask，分数为几千",
    examples=1,
    teaches=["attention.mask_placement_choice"],
)
def boundary_regimes(ctx):
    for what, (b, lq, lk, h, dh), rows, scale in REGIMES:
        x, memory, weights = _case(ctx, torch.float32, b, lq, lk, h, dh, scale=scale)
        if scale > 1:
            weights = make_weights(ctx, h * dh, torch.float32, scale=scale)
        kw = {} if rows is None else {"key_padding_mask": _mask(rows)}
        out = ctx.call(x, memory, weights, h, **kw)
        tol = {"rtol": 1e-3, "atol": 1e-3} if scale > 1 else {}
        try:
            ctx.assert_close(out, ctx.reference(x, memory, weights, h, **kw), dtype=torch.float32, **tol)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "float64 input is computed in float64 (rtol 1e-10)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    x, memory, weights = _case(ctx, torch.float64, 2, 5, 9, 2, 8, scale=3.0)
    mask = random_mask(ctx, 2, 9)
    out = ctx.call(x, memory, weights, 2, key_padding_mask=mask)
    ctx.assert_close(
        out, ctx.reference(x, memory, weights, 2, key_padding_mask=mask), dtype=torch.float64, rtol=1e-10, atol=1e-10
    )


@check(
    "padded keys are never attended: changing the memory at padded positions changes nothing",
    zh="padding 的 key 永远不会被关注：改变 memory 中 padding 位置的内容，结果不变",
    teaches=["attention.mask_placement_choice"],
)
def padding_ignored(ctx):
    b, lq, lk, h, dh = ctx.draw(SHAPES)
    lk = max(lk, 2)
    x, memory, weights = _case(ctx, torch.float64, b, lq, lk, h, dh)
    mask = random_mask(ctx, b, lk)
    mask[:, 0] = False  # at least one padded key per row...
    mask[:, 1] = True  # ...and one real one
    before = ctx.call(x, memory, weights, h, key_padding_mask=mask)
    ctx.assert_close(before, ctx.reference(x, memory, weights, h, key_padding_mask=mask), dtype=torch.float64)
    changed = memory.clone()
    changed[~mask] = ctx.randn(int((~mask).sum()), h * dh, dtype=torch.float64, scale=5.0)
    after = ctx.call(x, changed, weights, h, key_padding_mask=mask)
    ctx.assert_close(after, before.double(), dtype=torch.float64, rtol=1e-12, atol=1e-12)


@check(
    "no order among keys: permuting the memory and its mask together changes nothing; each query is on its own",
    zh="key 之间没有顺序：把 memory 和它的 mask 一起置换，结果不变；每个 query 各自独立",
    teaches=["transformer.cross_attention"],
)
def permutations(ctx):
    b, lq, lk, h, dh = ctx.draw(SHAPES)
    lq, lk = max(lq, 2), max(lk, 2)
    x, memory, weights = _case(ctx, torch.float64, b, lq, lk, h, dh)
    mask = random_mask(ctx, b, lk)
    base = ctx.call(x, memory, weights, h, key_padding_mask=mask)
    ctx.assert_close(base, ctx.reference(x, memory, weights, h, key_padding_mask=mask), dtype=torch.float64)
    keys = torch.randperm(lk, generator=ctx.generator)
    shuffled = ctx.call(x, memory[:, keys], weights, h, key_padding_mask=mask[:, keys])
    ctx.assert_close(shuffled, base.double(), dtype=torch.float64, rtol=1e-10, atol=1e-10)
    queries = torch.randperm(lq, generator=ctx.generator)
    moved = ctx.call(x[:, queries], memory, weights, h, key_padding_mask=mask)
    ctx.assert_close(moved, base[:, queries].double(), dtype=torch.float64, rtol=1e-10, atol=1e-10)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import math
import torch

def cross_attention(x, memory, weights, n_heads, key_padding_mask=None):
    b, lq, d = x.shape
    lk = memory.shape[1]
    dh = d // n_heads
    q = (x @ weights["wq"]).view(b, lq, n_heads, dh).transpose(1, 2)
    k = (memory @ weights["wk"]).view(b, lk, n_heads, dh).transpose(1, 2)
    v = (memory @ weights["wv"]).view(b, lk, n_heads, dh).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    if key_padding_mask is not None:
        scores = scores.masked_fill(~key_padding_mask[:, None, None, :], float("-inf"))
    attn = torch.softmax(scores, dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(b, lq, d)
    return out @ weights["wo"]
"""


WRONG_ANSWERS = {
    "causal mask applied (query i sees keys j <= i), as in self-attention": edited(
        _PLAIN,
        (
            "    attn = torch.softmax(scores, dim=-1)",
            '    scores = scores.masked_fill(torch.ones(lq, lk, dtype=torch.bool).triu(1), float("-inf"))\n'
            "    attn = torch.softmax(scores, dim=-1)",
        ),
    ),
    "padding mask on the query axis instead of the keys": edited(
        _PLAIN, ("~key_padding_mask[:, None, None, :]", "~key_padding_mask[:, None, :, None]")
    ),
    "softmax over the queries (dim=-2) instead of the keys": edited(
        _PLAIN, ("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")
    ),
    "padding mask inverted (True read as padding, nn.MultiheadAttention's convention)": edited(
        _PLAIN, ("~key_padding_mask[:, None, None, :]", "key_padding_mask[:, None, None, :]")
    ),
    "keys and values projected from the decoder states x, not the memory": edited(
        _PLAIN,
        ('k = (memory @ weights["wk"]).view(b, lk,', 'k = (x @ weights["wk"]).view(b, lq,'),
        ('v = (memory @ weights["wv"]).view(b, lk,', 'v = (x @ weights["wv"]).view(b, lq,'),
    ),
    "scores scaled by 1/sqrt(D) instead of 1/sqrt(Dh)": edited(_PLAIN, ("math.sqrt(dh)", "math.sqrt(d)")),
    "heads split with view(B, H, L, Dh), no transpose: each head gets a slice of tokens, not of features": edited(
        _PLAIN,
        ('(x @ weights["wq"]).view(b, lq, n_heads, dh).transpose(1, 2)', '(x @ weights["wq"]).view(b, n_heads, lq, dh)'),
        (
            '(memory @ weights["wk"]).view(b, lk, n_heads, dh).transpose(1, 2)',
            '(memory @ weights["wk"]).view(b, n_heads, lk, dh)',
        ),
        (
            '(memory @ weights["wv"]).view(b, lk, n_heads, dh).transpose(1, 2)',
            '(memory @ weights["wv"]).view(b, n_heads, lk, dh)',
        ),
        ("(attn @ v).transpose(1, 2).reshape(b, lq, d)", "(attn @ v).reshape(b, lq, d)"),
    ),
    "no output projection wo": edited(_PLAIN, ('    return out @ weights["wo"]', "    return out")),
    "padding zeroes the scores (scores * mask) instead of excluding the keys": edited(
        _PLAIN,
        (
            'scores = scores.masked_fill(~key_padding_mask[:, None, None, :], float("-inf"))',
            "scores = scores * key_padding_mask[:, None, None, :]",
        ),
    ),
    "key_padding_mask ignored": edited(_PLAIN, ("    if key_padding_mask is not None:", "    if False:")),
    "softmax without subtracting the row max (overflows for large scores)": edited(
        _PLAIN,
        (
            "    attn = torch.softmax(scores, dim=-1)",
            "    e = scores.exp()\n    attn = e / e.sum(dim=-1, keepdim=True)",
        ),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        (
            "    b, lq, d = x.shape",
            "    dtype = x.dtype\n    x, memory = x.float(), memory.float()\n    weights = {k: w.float() for k, w in weights.items()}\n    b, lq, d = x.shape",
        ),
        ('    return out @ weights["wo"]', '    return (out @ weights["wo"]).to(dtype)'),
    ),
}

ALTERNATIVES = {
    "einsum over named axes, an additive -inf bias built from the mask, stable softmax by hand": """
import torch

def cross_attention(x, memory, weights, n_heads, key_padding_mask=None):
    b, lq, d = x.shape
    lk = memory.shape[1]
    dh = d // n_heads
    q = torch.einsum("bqd,de->bqe", x, weights["wq"]).reshape(b, lq, n_heads, dh)
    k = torch.einsum("bkd,de->bke", memory, weights["wk"]).reshape(b, lk, n_heads, dh)
    v = torch.einsum("bkd,de->bke", memory, weights["wv"]).reshape(b, lk, n_heads, dh)
    s = torch.einsum("bqhe,bkhe->bhqk", q, k) * dh ** -0.5
    if key_padding_mask is not None:
        bias = torch.zeros(b, lk, dtype=s.dtype).masked_fill(~key_padding_mask, float("-inf"))
        s = s + bias[:, None, None, :]
    s = s - s.amax(dim=-1, keepdim=True)
    p = s.exp()
    p = p / p.sum(dim=-1, keepdim=True)
    o = torch.einsum("bhqk,bkhe->bqhe", p, v).reshape(b, lq, d)
    return o @ weights["wo"]
""",
}
