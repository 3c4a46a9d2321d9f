"""attention.mla_kv_compress — MLA's low-rank key-value joint compression (DeepSeek-V2, sec. 2.1.2, without
the decoupled RoPE key): reference, checks, known-wrong answers.

h (B, T, D); w_dkv (D, d_c); w_uk (d_c, H*dh); w_uv (d_c, H*dv), all applied as x @ w ->
(c_kv (B, T, d_c), k (B, H, T, dh), v (B, H, T, dv)); head i owns columns i*dh:(i+1)*dh of c_kv @ w_uk.
float64 input is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random): one token and one head (head-splitting
mistakes hide in both), a latent of width 1, D = 1, dh != dv (the value head width is not the
key's), and float64 input with D = 512 (a reduction long enough for float32 rounding to show),
compared at rtol 1e-10.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []

# bfloat16: the two-step form reaches 0.65x and the absorbed form h @ (w_dkv @ w_uk) 0.83x the default
# (2e-2, 2e-2) in 3000 random draws; 3e-2 leaves a margin for both.
TOLERANCES = {torch.bfloat16: (3e-2, 3e-2)}


def reference(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    c_kv = h @ w_dkv  # (B, T, d_c): the only thing the cache keeps per token

    def heads(y):  # (B, T, H*e) -> (B, H, T, e): head i is the column slice i*e:(i+1)*e
        return y.reshape(b, t, n_heads, -1).transpose(1, 2)

    k = heads(c_kv @ w_uk)  # (B, H, T, dh): keys rebuilt from the latent
    v = heads(c_kv @ w_uv)  # (B, H, T, dv)
    return c_kv, k, v


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 5),  # T
    st.sampled_from([1, 3, 8, 12]),  # D (model width)
    st.sampled_from([1, 2, 4]),  # d_c (latent width)
    st.sampled_from([1, 2, 3]),  # H
    st.sampled_from([1, 2, 3]),  # dh
    st.sampled_from([1, 2, 4]),  # dv (may differ from dh, as in DeepSeek-V3's 128 vs 192 q/k)
)


def _inputs(ctx, dtype, b, t, d, dc, heads, dh, dv):
    h = ctx.randn(b, t, d, dtype=dtype)
    w_dkv = ctx.randn(d, dc, dtype=dtype, scale=d**-0.5)  # keeps the latent O(1)
    w_uk = ctx.randn(dc, heads * dh, dtype=dtype, scale=dc**-0.5)
    w_uv = ctx.randn(dc, heads * dv, dtype=dtype, scale=dc**-0.5)
    return h, w_dkv, w_uk, w_uv


def _unpack(ctx, got, expected):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(
            f"returned {what}; expected a tuple (c_kv, k, v) with shapes "
            f"{tuple(expected[0].shape)}, {tuple(expected[1].shape)}, {tuple(expected[2].shape)}"
        )
    return got


def _close(ctx, name, actual, expected, dtype):
    try:
        ctx.assert_close(actual, expected, dtype=dtype)
    except CheckFailed as exc:
        raise CheckFailed(f"`{name}`: {exc}") from None


@check(
    "matches the explicit two-matmul form: the latent c_kv (B, T, d_c), keys and values per head (float32/float64/bfloat16)",
    zh="与显式的两次矩阵乘形式一致：潜变量 c_kv (B, T, d_c)，每个 head 的 key 和 value（float32/float64/bfloat16）",
    teaches=["attention.mla_idea"],
)
def matches_reference(ctx):
    dtype, shape = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES))
    args = _inputs(ctx, dtype, *shape)
    heads = shape[4]
    expected = ctx.reference(*args, heads)
    c_kv, k, v = _unpack(ctx, ctx.call(*args, heads), expected)
    _close(ctx, "c_kv", c_kv, expected[0], dtype)
    _close(ctx, "k", k, expected[1], dtype)
    _close(ctx, "v", v, expected[2], dtype)


# (what, (B, T, D, d_c, H, dh, dv))
REGIMES = [
    ("one token, 3 heads", (2, 1, 8, 4, 3, 2, 2)),
    ("one head, dh = 3, dv = 5", (1, 4, 8, 2, 1, 3, 5)),
    ("a latent of width 1", (1, 3, 8, 1, 2, 2, 2)),
    ("dh = 3, dv = 1, 2 heads", (1, 3, 12, 4, 2, 3, 1)),
    ("dh = 2, dv = 4, 3 heads", (2, 2, 12, 4, 3, 2, 4)),
    ("D = 1", (1, 2, 1, 2, 2, 2, 2)),
]


@check(
    "float64 input is computed in float64 (rtol 1e-10, D = 512 where float32 rounding shows)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10，D = 512，float32 的舍入误差会显现）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    args = _inputs(ctx, torch.float64, 1, 3, 512, 8, 2, 4, 3)
    expected = ctx.reference(*args, 2)
    c_kv, k, v = _unpack(ctx, ctx.call(*args, 2), expected)
    for name, got, want in zip(("c_kv", "k", "v"), (c_kv, k, v), expected):
        try:
            ctx.assert_close(got, want, dtype=torch.float64, rtol=1e-10, atol=1e-10)
        except CheckFailed as exc:
            raise CheckFailed(f"`{name}`: {exc}") from None


@check(
    "boundary regimes, every run: one token, one head, d_c = 1, D = 1, dh != dv both ways",
    zh="每次都测的边界情形：一个 token，一个 head，d_c = 1，D = 1，dh != dv 两种方向",
    examples=1,
    teaches=["attention.mla_idea"],
)
def boundary_regimes(ctx):
    for what, shape in REGIMES:
        args = _inputs(ctx, torch.float32, *shape)
        heads = shape[4]
        expected = ctx.reference(*args, heads)
        try:
            c_kv, k, v = _unpack(ctx, ctx.call(*args, heads), expected)
            _close(ctx, "c_kv", c_kv, expected[0], torch.float32)
            _close(ctx, "k", k, expected[1], torch.float32)
            _close(ctx, "v", v, expected[2], torch.float32)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "the cached latent is enough: the returned k and v are the up-projections of the returned c_kv",
    zh="缓存的潜变量就够了：返回的 k 和 v 是返回的 c_kv 的上投影",
    teaches=["attention.mla_idea"],
)
def latent_suffices(ctx):
    dtype, shape = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), SHAPES))
    h, w_dkv, w_uk, w_uv = _inputs(ctx, dtype, *shape)
    b, t, _, dc, heads, dh, dv = shape
    expected = ctx.reference(h, w_dkv, w_uk, w_uv, heads)
    c_kv, k, v = _unpack(ctx, ctx.call(h, w_dkv, w_uk, w_uv, heads), expected)
    if not isinstance(c_kv, torch.Tensor) or tuple(c_kv.shape) != (b, t, dc):
        ctx.fail(
            f"the cache must be the latent c_kv of shape {(b, t, dc)} (d_c = {dc} numbers per token), "
            f"got {type(c_kv).__name__} {tuple(getattr(c_kv, 'shape', ()))}"
        )
    _close(ctx, "c_kv", c_kv, expected[0], dtype)
    # Up-project the submission's own latent in float64: its keys and values must follow from it.
    k_from_latent, v_from_latent = ((c_kv.double() @ w.double()).reshape(b, t, heads, -1).transpose(1, 2) for w in (w_uk, w_uv))
    _close(ctx, "k against up_project(your c_kv)", k, k_from_latent, dtype)
    _close(ctx, "v against up_project(your c_kv)", v, v_from_latent, dtype)


# The usual way to write it; the wrong answers written with edited() are this with one bug put in.
_PLAIN = """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    dh = w_uk.shape[1] // n_heads
    dv = w_uv.shape[1] // n_heads
    c_kv = h @ w_dkv
    k = (c_kv @ w_uk).view(b, t, n_heads, dh).transpose(1, 2)
    v = (c_kv @ w_uv).view(b, t, n_heads, dv).transpose(1, 2)
    return c_kv, k, v
"""


WRONG_ANSWERS = {
    "value heads split with the key head width dh (the same only when dh == dv)": edited(
        _PLAIN,
        ("view(b, t, n_heads, dv)", "view(b, t, -1, dh)"),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        ("    c_kv = h @ w_dkv\n", "    c_kv = (h.float() @ w_dkv.float()).to(h.dtype)\n"),
    ),
    "up-projections in float32 (.float() on the latent and the weights), cast back": edited(
        _PLAIN,
        ("(c_kv @ w_uk)", "(c_kv.float() @ w_uk.float()).to(h.dtype)"),
        ("(c_kv @ w_uv)", "(c_kv.float() @ w_uv.float()).to(h.dtype)"),
    ),
    "returns k and v as (B, T, H, e), without moving the heads in front of the tokens": edited(
        _PLAIN,
        ("view(b, t, n_heads, dh).transpose(1, 2)", "view(b, t, n_heads, dh)"),
        ("view(b, t, n_heads, dv).transpose(1, 2)", "view(b, t, n_heads, dv)"),
    ),
    "splits heads with reshape(B, H, T, dh) directly, without the transpose": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    c_kv = h @ w_dkv
    k = (c_kv @ w_uk).reshape(b, n_heads, t, -1)
    v = (c_kv @ w_uv).reshape(b, n_heads, t, -1)
    return c_kv, k, v
""",
    "interleaves the heads: column j goes to head j % H": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    c_kv = h @ w_dkv
    k = (c_kv @ w_uk).reshape(b, t, -1, n_heads).permute(0, 3, 1, 2)
    v = (c_kv @ w_uv).reshape(b, t, -1, n_heads).permute(0, 3, 1, 2)
    return c_kv, k, v
""",
    "caches what MHA caches: returns the up-projected keys (B, T, H*dh) in place of the latent": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    c_kv = h @ w_dkv
    k_flat = c_kv @ w_uk
    k = k_flat.reshape(b, t, n_heads, -1).transpose(1, 2)
    v = (c_kv @ w_uv).reshape(b, t, n_heads, -1).transpose(1, 2)
    return k_flat, k, v
""",
    "RMS-normalises the latent before up-projecting (the released code's kv_a_layernorm, not the stated form)": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    c_kv = h @ w_dkv
    normed = c_kv * torch.rsqrt(c_kv.pow(2).mean(dim=-1, keepdim=True) + 1e-6)
    k = (normed @ w_uk).reshape(b, t, n_heads, -1).transpose(1, 2)
    v = (normed @ w_uv).reshape(b, t, n_heads, -1).transpose(1, 2)
    return c_kv, k, v
""",
}

ALTERNATIVES = {
    "view and transpose with the head widths taken from the weights": _PLAIN,
    "einsum per head with the up-projections reshaped to (d_c, H, e)": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    c_kv = torch.einsum("btd,dc->btc", h, w_dkv)
    w_k = w_uk.reshape(w_uk.shape[0], n_heads, -1)  # (d_c, H, dh): head i = columns i*dh:(i+1)*dh
    w_v = w_uv.reshape(w_uv.shape[0], n_heads, -1)
    k = torch.einsum("btc,che->bhte", c_kv, w_k)
    v = torch.einsum("btc,che->bhte", c_kv, w_v)
    return c_kv, k, v
""",
    "absorbed weights: keys and values straight from h with w_dkv @ w_uk and w_dkv @ w_uv": """
import torch

def mla_kv_compress(h, w_dkv, w_uk, w_uv, n_heads):
    b, t, _ = h.shape
    k = (h @ (w_dkv @ w_uk)).view(b, t, n_heads, -1).permute(0, 2, 1, 3)  # same product, other order
    v = (h @ (w_dkv @ w_uv)).view(b, t, n_heads, -1).permute(0, 2, 1, 3)
    return h @ w_dkv, k.contiguous(), v.contiguous()
""",
}
