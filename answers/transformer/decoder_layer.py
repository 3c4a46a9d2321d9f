"""transformer.decoder_layer — one LLaMA-2 decoder layer (pre-norm): reference, checks, wrong answers.

decoder_layer(x, weights, n_heads, n_kv_heads, positions, eps=1e-6, theta=10000.0):
x (B, T, D); weights a dict of wq (D, Hq*Dh), wk and wv (D, Hkv*Dh), wo (Hq*Dh, D), w_gate and
w_up (D, F), w_down (F, D), attn_norm and ffn_norm (D,); every projection is `h @ W`.
    h = x + Attn(RMSNorm(x) * attn_norm)        (GQA, RoPE rotate-half on q and k, causal)
    out = h + W_down(silu(W_gate n) * W_up n),  n = RMSNorm(h) * ffn_norm
Query head h reads kv head h // (Hq // Hkv); scores scaled by 1/sqrt(Dh); query i sees keys j <= i
(index order; `positions` only set the RoPE angles). float64 input is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision`: Hq = 4 over Hkv = 2 with Dh = 4 (head mapping and RoPE pairing both show;
Hkv = 1, Hkv = Hq and Dh = 2 hide them), one token (masks hidden), positions with a gap (a
uniform shift of positions changes nothing, by RoPE's relativity, so only a gap shows positions
ignored), D != Hq*Dh, eps = 0.1 on inputs of scale 0.1 (eps placement shows), theta = 500, and
float64 at positions near 3000 with rtol 1e-10 (angles in float32 show).
"""

import math

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.scaled_dot_product_attention"]

# float32: angles p * freq rounded to float32 and two matmul-heavy sublayers: a little looser
# than the default atol, far below the size of every bug below.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}

WEIGHT_NAMES = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down", "attn_norm", "ffn_norm")


def rms_norm(x, weight, eps):
    # x (..., D) -> (..., D): x / sqrt(mean(x^2) + eps) * weight
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def rope(x, positions, theta):
    # x (B, H, T, Dh), positions (T,): dim i pairs with dim i + Dh/2 (rotate-half)
    dh = x.shape[-1]
    half = dh // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / dh)  # (Dh/2,)
    angles = positions.double()[:, None] * inv_freq[None, :]  # (T, Dh/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def reference(x, weights, n_heads, n_kv_heads, positions, eps=1e-6, theta=10000.0):
    w = {name: weights[name].double() for name in WEIGHT_NAMES}
    h = x.double()  # (B, T, D), the residual stream
    b, t, _ = h.shape
    dh = w["wq"].shape[1] // n_heads

    # attention sublayer: pre-norm, GQA with RoPE on q and k, causal, residual
    n = rms_norm(h, w["attn_norm"], eps)
    q = (n @ w["wq"]).view(b, t, n_heads, dh).transpose(1, 2)  # (B, Hq, T, Dh)
    k = (n @ w["wk"]).view(b, t, n_kv_heads, dh).transpose(1, 2)  # (B, Hkv, T, Dh)
    v = (n @ w["wv"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    q, k = rope(q, positions, theta), rope(k, positions, theta)
    rep = n_heads // n_kv_heads
    k = k.repeat_interleave(rep, dim=1)  # query head h reads kv head h // rep
    v = v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, Hq, T, T)
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    attn = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, n_heads * dh)
    h = h + attn @ w["wo"]

    # feed-forward sublayer: pre-norm, SwiGLU, residual
    n = rms_norm(h, w["ffn_norm"], eps)
    h = h + (F.silu(n @ w["w_gate"]) * (n @ w["w_up"])) @ w["w_down"]
    return h.to(x.dtype)


def make_weights(ctx, d, n_heads, n_kv_heads, dh, f, dtype):
    """Weights scaled so every activation is of order 1; norm weights away from 1."""
    shapes = {
        "wq": (d, n_heads * dh),
        "wk": (d, n_kv_heads * dh),
        "wv": (d, n_kv_heads * dh),
        "wo": (n_heads * dh, d),
        "w_gate": (d, f),
        "w_up": (d, f),
        "w_down": (f, d),
    }
    weights = {name: ctx.randn(*shape, dtype=dtype, scale=1.0 / math.sqrt(shape[0])) for name, shape in shapes.items()}
    weights["attn_norm"] = (1.0 + 0.5 * ctx.randn(d, dtype=torch.float64)).to(dtype)
    weights["ffn_norm"] = (1.0 + 0.5 * ctx.randn(d, dtype=torch.float64)).to(dtype)
    return weights


DTYPES = [torch.float32, torch.float64]
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 7),  # T
    st.integers(1, 3),  # Hkv
    st.integers(1, 3),  # query heads per kv head
    st.sampled_from([2, 4, 6, 8]),  # Dh
    st.sampled_from([0, 3, 5]),  # D: 0 for Hq * Dh (as in Llama), else this
    st.integers(1, 12),  # F
)


def _case(ctx, dtype, b, t, hkv, rep, dh, d, f, start=0, scale=1.0):
    hq = hkv * rep
    d = d or hq * dh
    x = ctx.randn(b, t, d, dtype=dtype, scale=scale)
    weights = make_weights(ctx, d, hq, hkv, dh, f, dtype)
    positions = torch.arange(start, start + t)
    return x, weights, hq, hkv, positions


@check(
    "matches the reference (random shapes, float32/float64, positions from 0 or later, eps and theta default and not)",
    zh="与参考实现一致（随机形状，float32/float64，位置从 0 或更后开始，eps 和 theta 默认和非默认）",
    teaches=["norm.post_vs_pre", "ffn.llama_mlp_code", "position.rope_where"],
)
def matches_reference(ctx):
    dtype, shape, start, kw = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            SHAPES,
            st.sampled_from([0, 0, 7, 40]),
            st.sampled_from([{}, {"eps": 1e-5}, {"theta": 500000.0}, {"eps": 1e-3, "theta": 100.0}]),
        )
    )
    x, weights, hq, hkv, positions = _case(ctx, dtype, *shape, start=start)
    out = ctx.call(x, weights, hq, hkv, positions, **kw)
    ctx.assert_close(out, ctx.reference(x, weights, hq, hkv, positions, **kw), dtype=dtype)


@check(
    "float64 input is computed in float64 (rtol 1e-10, positions near 3000 where float32 angles show)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10，位置在 3000 附近，float32 的角度误差会显现）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    start = ctx.draw(st.integers(2900, 3100))
    x, weights, hq, hkv, positions = _case(ctx, torch.float64, 1, 9, 2, 2, 8, 0, 10, start=start)
    out = ctx.call(x, weights, hq, hkv, positions)
    expected = ctx.reference(x, weights, hq, hkv, positions)
    ctx.assert_close(out, expected, dtype=torch.float64, rtol=1e-10, atol=1e-10)


# (what, (B, T, Hkv, rep, Dh, D or 0, F), positions or None for 0..T-1, kwargs, input scale)
REGIMES = [
    ("Hq = 4 over Hkv = 2, Dh = 4, positions 3..7", (2, 5, 2, 2, 4, 0, 8), [3, 4, 5, 6, 7], {}, 1.0),
    ("one token", (2, 1, 2, 2, 4, 0, 6), [11], {}, 1.0),
    ("one kv head for 3 query heads (MQA), Dh = 6", (1, 4, 1, 3, 6, 0, 5), None, {}, 1.0),
    ("3 kv heads for 3 query heads (MHA), Dh = 2 (one RoPE pair)", (1, 4, 3, 1, 2, 0, 5), None, {}, 1.0),
    ("positions with a gap: 0, 1, 2, 9, 10, 30 (packed or padded input)", (1, 6, 2, 2, 4, 0, 7), [0, 1, 2, 9, 10, 30], {}, 1.0),
    ("D = 5, not Hq * Dh = 8", (2, 4, 1, 2, 4, 5, 9), None, {}, 1.0),
    ("eps = 0.1 on inputs of scale 0.1", (1, 4, 2, 2, 4, 0, 6), None, {"eps": 0.1}, 0.1),
    ("theta = 500, positions 20..25", (1, 6, 2, 2, 8, 0, 6), [20, 21, 22, 23, 24, 25], {"theta": 500.0}, 1.0),
    ("a single head (Hq = Hkv = 1), 9 tokens", (1, 9, 1, 1, 8, 0, 4), None, {}, 1.0),
]


@check(
    "boundary regimes, every run: GQA 4/2, MQA, MHA, one token, Dh = 2, positions with a gap, D != Hq*Dh, eps 0.1, theta 500",
    zh="每次都测的边界情形：GQA 4/2，MQA，MHA，一个 token，Dh = 2，位置有间隔，D != Hq*Dh，eps 0.1，theta 500",
    examples=1,
    teaches=["attention.mqa_gqa_kv_heads", "position.rope_where"],
)
def boundary_regimes(ctx):
    for what, (b, t, hkv, rep, dh, d, f), positions, kw, scale in REGIMES:
        x, weights, hq, hkv, pos = _case(ctx, torch.float32, b, t, hkv, rep, dh, d, f, scale=scale)
        if positions is not None:
            pos = torch.tensor(positions, dtype=torch.int64)
        out = ctx.call(x, weights, hq, hkv, pos, **kw)
        try:
            ctx.assert_close(out, ctx.reference(x, weights, hq, hkv, pos, **kw), dtype=torch.float32)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "RoPE is relative: adding the same number to every position leaves the output unchanged",
    zh="RoPE 只依赖相对位置：所有位置加上同一个数，输出不变",
    teaches=["position.rope_2d"],
)
def shift_invariance(ctx):
    shape, shift = ctx.draw(st.tuples(SHAPES, st.integers(1, 500)))
    x, weights, hq, hkv, positions = _case(ctx, torch.float64, *shape)
    if x.shape[1] > 1:
        positions = positions * 2  # spacing 2: still relative, not 0..T-1
    before = ctx.call(x, weights, hq, hkv, positions)
    ctx.assert_close(before, ctx.reference(x, weights, hq, hkv, positions), dtype=torch.float64)
    after = ctx.call(x, weights, hq, hkv, positions + shift)
    ctx.assert_close(after, before.double(), dtype=torch.float64, rtol=1e-9, atol=1e-9)


@check(
    "causal: changing later tokens leaves the outputs of earlier tokens unchanged",
    zh="因果性：改变后面的 token，前面 token 的输出不变",
    teaches=["attention.causal_mask_before_softmax"],
)
def causality(ctx):
    shape, cut = ctx.draw(st.tuples(SHAPES, st.integers(1, 6)))
    b, t, *rest = shape
    t = max(t, 2)
    cut = min(cut, t - 1)
    x, weights, hq, hkv, positions = _case(ctx, torch.float64, b, t, *rest)
    x2 = x.clone()
    x2[:, cut:] = ctx.randn(b, t - cut, x.shape[-1], dtype=torch.float64) * 3
    before = ctx.call(x, weights, hq, hkv, positions)
    ctx.assert_close(before, ctx.reference(x, weights, hq, hkv, positions), dtype=torch.float64)
    after = ctx.call(x2, weights, hq, hkv, positions)
    ctx.assert_close(after[:, :cut], before[:, :cut].double(), dtype=torch.float64, rtol=1e-12, atol=1e-12)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import math
import torch
import torch.nn.functional as F

def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)

def apply_rope(x, positions, theta):
    dh = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh)
    angles = positions.double()[:, None] * inv_freq
    emb = torch.cat([angles, angles], dim=-1)
    return x * emb.cos().to(x.dtype) + rotate_half(x) * emb.sin().to(x.dtype)

def decoder_layer(x, weights, n_heads, n_kv_heads, positions, eps=1e-6, theta=10000.0):
    b, t, d = x.shape
    dh = weights["wq"].shape[1] // n_heads
    h = rms_norm(x, weights["attn_norm"], eps)
    q = (h @ weights["wq"]).view(b, t, n_heads, dh).transpose(1, 2)
    k = (h @ weights["wk"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    v = (h @ weights["wv"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    q = apply_rope(q, positions, theta)
    k = apply_rope(k, positions, theta)
    rep = n_heads // n_kv_heads
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    attn = torch.softmax(scores, dim=-1) @ v
    attn = attn.transpose(1, 2).reshape(b, t, n_heads * dh)
    x = x + attn @ weights["wo"]
    h = rms_norm(x, weights["ffn_norm"], eps)
    ffn = (F.silu(h @ weights["w_gate"]) * (h @ weights["w_up"])) @ weights["w_down"]
    return x + ffn
"""


WRONG_ANSWERS = {
    "post-norm (x = norm(x + attn(x)), the original Transformer) instead of pre-norm": edited(
        _PLAIN,
        ('    h = rms_norm(x, weights["attn_norm"], eps)\n', "    h = x\n"),
        ('    x = x + attn @ weights["wo"]\n', '    x = rms_norm(x + attn @ weights["wo"], weights["attn_norm"], eps)\n'),
        ('    h = rms_norm(x, weights["ffn_norm"], eps)\n', "    h = x\n"),
        ("    return x + ffn", '    return rms_norm(x + ffn, weights["ffn_norm"], eps)'),
    ),
    "RoPE applied to v as well as q and k": edited(
        _PLAIN,
        (
            "    k = apply_rope(k, positions, theta)\n",
            "    k = apply_rope(k, positions, theta)\n    v = apply_rope(v, positions, theta)\n",
        ),
    ),
    "RoPE pairs interleaved dims (2i, 2i+1), Meta's layout, instead of rotate-half (i, i + Dh/2)": edited(
        _PLAIN,
        (
            "    x1, x2 = x.chunk(2, dim=-1)\n    return torch.cat([-x2, x1], dim=-1)",
            "    x1, x2 = x[..., 0::2], x[..., 1::2]\n    return torch.stack([-x2, x1], dim=-1).flatten(-2)",
        ),
        ("emb = torch.cat([angles, angles], dim=-1)", "emb = angles.repeat_interleave(2, dim=-1)"),
    ),
    "no residual around the attention sublayer": edited(
        _PLAIN, ('    x = x + attn @ weights["wo"]', '    x = attn @ weights["wo"]')
    ),
    "no residual around the feed-forward sublayer": edited(_PLAIN, ("    return x + ffn", "    return ffn")),
    "RMSNorm without its weight (attn_norm and ffn_norm never used)": edited(
        _PLAIN,
        ("torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight", "torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)"),
    ),
    "causal mask off by one: query i also sees key i + 1": edited(_PLAIN, ("diagonal=1", "diagonal=2")),
    "no causal mask": edited(_PLAIN, ('    scores = scores.masked_fill(mask, float("-inf"))\n', "")),
    "scores scaled by 1/sqrt(D), the model width, instead of 1/sqrt(Dh)": edited(_PLAIN, ("math.sqrt(dh)", "math.sqrt(d)")),
    "kv head h % Hkv for query head h (repeat tiles the heads instead of interleaving them)": edited(
        _PLAIN,
        ("k = k.repeat_interleave(rep, dim=1)", "k = k.repeat(1, rep, 1, 1)"),
        ("v = v.repeat_interleave(rep, dim=1)", "v = v.repeat(1, rep, 1, 1)"),
    ),
    "ignores `positions`: rotates token t by t (right only when positions are 0..T-1 or shifted)": edited(
        _PLAIN,
        ("    q = apply_rope(q, positions, theta)", "    positions = torch.arange(t)\n    q = apply_rope(q, positions, theta)"),
    ),
    "SwiGLU with silu on the up projection instead of the gate": edited(
        _PLAIN,
        ('(F.silu(h @ weights["w_gate"]) * (h @ weights["w_up"]))', '((h @ weights["w_gate"]) * F.silu(h @ weights["w_up"]))'),
    ),
    "RMSNorm with eps outside the square root": edited(
        _PLAIN, ("torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)", "1 / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps)")
    ),
    "theta ignored (10000 hard-coded)": edited(_PLAIN, ("1.0 / theta ** (", "1.0 / 10000.0 ** (")),
    "RoPE angles in float32 (positions.float()): float64 input loses precision at large positions": edited(
        _PLAIN,
        ("dtype=torch.float64) / dh)", "dtype=torch.float32) / dh)"),
        ("angles = positions.double()[:, None]", "angles = positions.float()[:, None]"),
    ),
}

ALTERNATIVES = {
    "nn.Linear-free loop over query heads, RMSNorm by the vector norm, RoPE on complex pairs (i, i + Dh/2)": """
import torch

def decoder_layer(x, weights, n_heads, n_kv_heads, positions, eps=1e-6, theta=10000.0):
    b, t, d = x.shape
    dh = weights["wq"].shape[1] // n_heads
    half = dh // 2

    def norm(y, w):
        rms = y.norm(dim=-1, keepdim=True) / d ** 0.5
        return y / torch.sqrt(rms * rms + eps) * w

    exponent = torch.arange(half, dtype=torch.float64) * (2.0 / dh)
    angles = positions.to(torch.float64)[:, None] / theta ** exponent
    turn = torch.polar(torch.ones_like(angles), angles)

    def rotate(y):  # (b, t, dh): pair dim i with dim i + half as one complex number
        z = torch.complex(y[..., :half].to(torch.float64), y[..., half:].to(torch.float64)) * turn
        return torch.cat([z.real, z.imag], dim=-1).to(y.dtype)

    n = norm(x, weights["attn_norm"])
    q, k, v = n @ weights["wq"], n @ weights["wk"], n @ weights["wv"]
    causal = torch.arange(t)[None, :] > torch.arange(t)[:, None]
    rep = n_heads // n_kv_heads
    heads = []
    for h in range(n_heads):
        g = h // rep
        qh = rotate(q[..., h * dh:(h + 1) * dh])
        kh = rotate(k[..., g * dh:(g + 1) * dh])
        vh = v[..., g * dh:(g + 1) * dh]
        s = torch.einsum("bid,bjd->bij", qh, kh) * dh ** -0.5
        s = s.masked_fill(causal, float("-inf"))
        p = torch.exp(s - s.max(dim=-1, keepdim=True).values)
        heads.append(torch.einsum("bij,bjd->bid", p / p.sum(dim=-1, keepdim=True), vh))
    x = x + torch.cat(heads, dim=-1) @ weights["wo"]
    n = norm(x, weights["ffn_norm"])
    gate = n @ weights["w_gate"]
    return x + (gate * torch.sigmoid(gate) * (n @ weights["w_up"])) @ weights["w_down"]
""",
}
