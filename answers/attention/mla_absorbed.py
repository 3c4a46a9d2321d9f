"""attention.mla_absorbed — DeepSeek-V2's multi-head latent attention with the decoupled RoPE key,
computed in the absorbed form (W_UK folded into the query, W_UV into the output) over the latent.

mla_absorbed(h, w_q, w_qr, w_dkv, w_kr, w_uk, w_uv, w_o, n_heads, theta=10000.0) -> (out, q_latent):
  h (B, T, D); every weight applied as x @ w, head i owning the column slice i*e:(i+1)*e:
  c_kv = h @ w_dkv (B, T, d_c)                                  the cache, with k_rope
  k_rope = RoPE(h @ w_kr) (B, T, d_r)                           one key for all heads
  q_nope = heads(h @ w_q) (B, H, T, d_n), q_rope = RoPE(heads(h @ w_qr)) (B, H, T, d_r)
  q_latent[h] = q_nope[h] @ w_uk[:, h]^T (B, H, T, d_c)         W_UK absorbed into the query
  scores = (q_latent c_kv^T + q_rope k_rope^T) / sqrt(d_n + d_r), causal, softmax over keys
  o_latent = P @ c_kv (B, H, T, d_c); out = sum_h o_latent[h] @ w_uv[:, h] @ w_o[h rows] (B, T, D)
RoPE: rotate-half (position.rope) at positions 0..T-1. The result equals the unabsorbed form with
k = [c_kv @ w_uk ; k_rope], v = c_kv @ w_uv (`same_as_unabsorbed` ties them).
Float64 input is computed in float64.

Regimes where implementations diverge (run every time by `boundary_regimes`, `float64_precision`):
one token (a missing causal mask hides), one head (head-slicing mistakes hide), d_r = 2 (RoPE's
two layouts agree), d_n = d_c (a W_UK used untransposed runs without error), d_v != d_n, a
latent of width 1, and float64 scores of a few thousand (softmax without the max subtracted
overflows).
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []


def _rope(x, theta):
    """Rotate-half RoPE over the last dim of x (..., T, d) at positions 0..T-1, in x's dtype."""
    t, d = x.shape[-2], x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos, sin = torch.cat([angles.cos()] * 2, -1).to(x.dtype), torch.cat([angles.sin()] * 2, -1).to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def reference(h, w_q, w_qr, w_dkv, w_kr, w_uk, w_uv, w_o, n_heads, theta=10000.0):
    b, t, _ = h.shape
    dn, dr = w_q.shape[1] // n_heads, w_qr.shape[1] // n_heads
    dc, dv = w_dkv.shape[1], w_uv.shape[1] // n_heads

    def heads(y):  # (B, T, H*e) -> (B, H, T, e)
        return y.reshape(b, t, n_heads, -1).transpose(1, 2)

    c_kv = h @ w_dkv  # (B, T, d_c)
    k_rope = _rope(h @ w_kr, theta)  # (B, T, d_r), shared by the heads
    q_nope = heads(h @ w_q)  # (B, H, T, d_n)
    q_rope = _rope(heads(h @ w_qr), theta)  # (B, H, T, d_r)
    w_uk_h = w_uk.reshape(dc, n_heads, dn).permute(1, 0, 2)  # (H, d_c, d_n)
    q_latent = q_nope @ w_uk_h.transpose(-1, -2)  # (B, H, T, d_c): W_UK absorbed
    scores = (q_latent @ c_kv.unsqueeze(1).transpose(-1, -2) + q_rope @ k_rope.unsqueeze(1).transpose(-1, -2)) / math.sqrt(
        dn + dr
    )
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    probs = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    o_latent = probs @ c_kv.unsqueeze(1)  # (B, H, T, d_c)
    w_uv_h = w_uv.reshape(dc, n_heads, dv).permute(1, 0, 2)  # (H, d_c, d_v)
    w_o_h = w_o.reshape(n_heads, dv, -1)  # (H, d_v, D)
    out = torch.einsum("bhtc,hcd->btd", o_latent, w_uv_h @ w_o_h)  # W_UV absorbed into W_O
    return out, q_latent


def unabsorbed(h, w_q, w_qr, w_dkv, w_kr, w_uk, w_uv, w_o, n_heads, theta=10000.0):
    """The paper's form, float64, harness only: explicit keys [k_C; k_R] and values, then W_O."""
    b, t, _ = h.shape
    dn, dr = w_q.shape[1] // n_heads, w_qr.shape[1] // n_heads

    def heads(y):
        return y.reshape(b, t, n_heads, -1).transpose(1, 2)

    c_kv = h @ w_dkv
    q = torch.cat([heads(h @ w_q), _rope(heads(h @ w_qr), theta)], dim=-1)
    k_rope = _rope(h @ w_kr, theta).unsqueeze(1).expand(b, n_heads, t, dr)
    k = torch.cat([heads(c_kv @ w_uk), k_rope], dim=-1)
    v = heads(c_kv @ w_uv)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dn + dr)
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    o = scores.softmax(dim=-1) @ v  # (B, H, T, d_v)
    return o.transpose(1, 2).reshape(b, t, -1) @ w_o, heads(c_kv @ w_uk)


DTYPES = [torch.float32, torch.float64]
# (B, T, D, d_c, H, d_n, d_r, d_v)
SHAPES = st.tuples(
    st.integers(1, 2),
    st.integers(1, 5),
    st.sampled_from([3, 8]),
    st.sampled_from([1, 2, 4]),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([2, 4]),
    st.sampled_from([1, 2, 4]),
)


def _inputs(ctx, dtype, b, t, d, dc, heads, dn, dr, dv, scale=1.0):
    """h and the seven weights; `scale` multiplies h (scores grow with its square)."""

    def w(rows, cols):
        return ctx.randn(rows, cols, dtype=dtype, scale=rows**-0.5)

    h = ctx.randn(b, t, d, dtype=dtype, scale=scale)
    return (h, w(d, heads * dn), w(d, heads * dr), w(d, dc), w(d, dr), w(dc, heads * dn), w(dc, heads * dv), w(heads * dv, d))


def _pair(ctx, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(f"returned {what}; expected a tuple (out, q_latent)")
    return got


def _compare(ctx, args, heads, dtype, rtol=None, atol=None, **kw):
    out, q_latent = _pair(ctx, ctx.call(*args, heads, **kw))
    want_out, want_q = ctx.reference(*args, heads, **kw)
    for name, got, want in (("out", out, want_out), ("q_latent", q_latent, want_q)):
        try:
            ctx.assert_close(got, want, dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:
            raise CheckFailed(f"`{name}`: {exc}") from None


@check(
    "matches the reference: out and the absorbed query q_latent (random shapes, d_v != d_n, theta default and not, float32/float64)",
    zh="与参考实现一致：out 和吸收后的 query q_latent（随机形状，d_v != d_n，theta 默认和非默认，float32/float64）",
    teaches=["attention.mla_inference_absorb", "attention.mla_decoupled_rope"],
)
def matches_reference(ctx):
    dtype, shape, theta = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from([None, 500.0])))
    kw = {} if theta is None else {"theta": theta}
    _compare(ctx, _inputs(ctx, dtype, *shape), shape[4], dtype, **kw)


# (why, (B, T, D, d_c, H, d_n, d_r, d_v), scale of h, dtypes)
BOTH = (torch.float32, torch.float64)
REGIMES = [
    ("one token", (2, 1, 8, 4, 2, 2, 4, 2), 1.0, BOTH),
    ("one head", (1, 4, 8, 4, 1, 3, 4, 2), 1.0, BOTH),
    ("d_r = 2 (RoPE's two layouts agree there)", (1, 4, 8, 2, 2, 2, 2, 3), 1.0, BOTH),
    ("d_n = d_c = 4, 2 heads", (1, 3, 8, 4, 2, 4, 4, 4), 1.0, BOTH),
    ("d_v = 3 != d_n = 2, 3 heads", (2, 3, 8, 2, 3, 2, 2, 3), 1.0, BOTH),
    ("a latent of width 1", (1, 4, 8, 1, 2, 2, 2, 2), 1.0, BOTH),
    # float64 only: float32 scores of ~1e3 carry errors of ~1e-4, as large as its tolerance
    ("h of size ~60: scores of a few thousand, past exp's float64 overflow", (1, 5, 8, 4, 2, 4, 4, 2), 60.0, (torch.float64,)),
]


@check(
    "boundary regimes, every run: one token, one head, d_r = 2, d_n = d_c, d_v != d_n, d_c = 1, scores of a few thousand",
    zh="每次都测的边界情形：一个 token，一个 head，d_r = 2，d_n = d_c，d_v != d_n，d_c = 1，几千大小的分数",
    examples=1,
    teaches=["attention.mla_inference_absorb", "attention.mla_decoupled_rope"],
)
def boundary_regimes(ctx):
    for why, shape, scale, dtypes in REGIMES:
        for dtype in dtypes:
            try:
                _compare(ctx, _inputs(ctx, dtype, *shape, scale=scale), shape[4], dtype)
            except CheckFailed as exc:
                raise CheckFailed(f"{why}: {exc}") from None


@check(
    "float64 input is computed in float64 (T = 24, D = 64, within 1e-10)",
    zh="float64 输入全程用 float64 计算（T = 24，D = 64，误差在 1e-10 内）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    args = _inputs(ctx, torch.float64, 1, 24, 64, 16, 2, 8, 8, 8, scale=3.0)
    _compare(ctx, args, 2, torch.float64, rtol=1e-10, atol=1e-12)


@check(
    "equals the unabsorbed form: out as with explicit keys [c_kv W_UK ; k_rope] and values c_kv W_UV, and q_latent . c_kv = q_nope . k_nope",
    zh="与不吸收的形式相等：out 与显式 key [c_kv W_UK ; k_rope]、value c_kv W_UV 算出的相同，且 q_latent · c_kv = q_nope · k_nope",
    examples=4,
    teaches=["attention.mla_inference_absorb"],
)
def same_as_unabsorbed(ctx):
    shape = ctx.draw(SHAPES)
    args = _inputs(ctx, torch.float64, *shape)
    b, t, _, _, heads, dn, _, _ = shape
    out, q_latent = _pair(ctx, ctx.call(*args, heads))
    want_out, k_nope = unabsorbed(*args, heads)
    ctx.assert_close(out, want_out, dtype=torch.float64, rtol=1e-9, atol=1e-12)
    if not isinstance(q_latent, torch.Tensor) or q_latent.dtype != torch.float64 or q_latent.shape[:3] != (b, heads, t):
        _compare(ctx, args, heads, torch.float64)  # says what is wrong with it
    h, w_q = args[0], args[1]
    q_nope = (h @ w_q).reshape(b, t, heads, dn).transpose(1, 2)
    c_kv = h @ args[3]
    content = q_nope @ k_nope.transpose(-1, -2)  # (B, H, T, T): the unabsorbed content scores
    ctx.assert_close(q_latent @ c_kv.unsqueeze(1).transpose(-1, -2), content, dtype=torch.float64, rtol=1e-9, atol=1e-12)


# The usual absorbed solution (as DeepSeek's inference code with attn_impl="absorb"); each wrong
# answer below is this text with one bug put in.
_PLAIN = """
import math
import torch

def rope(x, theta):
    t, d = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)
    cos = torch.cat([ang.cos(), ang.cos()], -1).to(x.dtype)
    sin = torch.cat([ang.sin(), ang.sin()], -1).to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin

def mla_absorbed(h, w_q, w_qr, w_dkv, w_kr, w_uk, w_uv, w_o, n_heads, theta=10000.0):
    b, t, _ = h.shape
    dc = w_dkv.shape[1]
    dn = w_q.shape[1] // n_heads
    dr = w_qr.shape[1] // n_heads
    dv = w_uv.shape[1] // n_heads
    c_kv = h @ w_dkv
    k_pe = rope(h @ w_kr, theta)
    q_nope = (h @ w_q).view(b, t, n_heads, dn)
    q_pe = rope((h @ w_qr).view(b, t, n_heads, dr).transpose(1, 2), theta).transpose(1, 2)
    wkv_k = w_uk.view(dc, n_heads, dn)
    wkv_v = w_uv.view(dc, n_heads, dv)
    q_lat = torch.einsum("bthd,chd->bthc", q_nope, wkv_k)
    scores = torch.einsum("bthc,bsc->bhts", q_lat, c_kv) + torch.einsum("bthr,bsr->bhts", q_pe, k_pe)
    scores = scores / math.sqrt(dn + dr)
    mask = torch.full((t, t), float("-inf"), dtype=h.dtype).triu(1)
    probs = torch.softmax(scores + mask, dim=-1)
    o_lat = torch.einsum("bhts,bsc->bthc", probs, c_kv)
    o = torch.einsum("bthc,chd->bthd", o_lat, wkv_v)
    out = o.reshape(b, t, n_heads * dv) @ w_o
    return out, q_lat.transpose(1, 2)
"""

WRONG_ANSWERS = {
    "scale 1/sqrt(d_c), the width of the absorbed dot product, instead of 1/sqrt(d_n + d_r)": edited(
        _PLAIN, ("scores = scores / math.sqrt(dn + dr)", "scores = scores / math.sqrt(dc)")
    ),
    "scale 1/sqrt(d_n), forgetting the RoPE dims of the query-key head": edited(
        _PLAIN, ("scores = scores / math.sqrt(dn + dr)", "scores = scores / math.sqrt(dn)")
    ),
    "forgets the decoupled RoPE part of the scores (content scores only)": edited(
        _PLAIN, (' + torch.einsum("bthr,bsr->bhts", q_pe, k_pe)', "")
    ),
    "RoPE also applied to the absorbed query and the latent (which the decoupled key exists to avoid)": edited(
        _PLAIN,
        (
            '    scores = torch.einsum("bthc,bsc->bhts", q_lat, c_kv)',
            "    q_lat_r = rope(q_lat.transpose(1, 2), theta).transpose(1, 2)\n"
            '    scores = torch.einsum("bthc,bsc->bhts", q_lat_r, rope(c_kv, theta))',
        ),
    ),
    "W_UK split as (d_c, d_n, H): the head index taken as the fastest column": edited(
        _PLAIN, ("wkv_k = w_uk.view(dc, n_heads, dn)", "wkv_k = w_uk.view(dc, dn, n_heads).transpose(1, 2)")
    ),
    "values split with the key head width d_n (the same only when d_v == d_n)": edited(
        _PLAIN,
        ("wkv_v = w_uv.view(dc, n_heads, dv)", "wkv_v = w_uv.view(dc, n_heads, dn)"),
        ("out = o.reshape(b, t, n_heads * dv) @ w_o", "out = o.reshape(b, t, n_heads * dn) @ w_o"),
    ),
    "no causal mask (each token sees the later ones)": edited(
        _PLAIN, ("probs = torch.softmax(scores + mask", "probs = torch.softmax(scores")
    ),
    "RoPE in the interleaved layout (pairs 2i, 2i+1) instead of rotate-half": edited(
        _PLAIN,
        (
            "    x1, x2 = x[..., : d // 2], x[..., d // 2 :]\n    return x * cos + torch.cat([-x2, x1], -1) * sin\n",
            "    cos = ang.cos().repeat_interleave(2, -1).to(x.dtype)\n"
            "    sin = ang.sin().repeat_interleave(2, -1).to(x.dtype)\n"
            "    rot = torch.stack([-x[..., 1::2], x[..., 0::2]], -1).flatten(-2)\n"
            "    return x * cos + rot * sin\n",
        ),
    ),
    "softmax by hand without subtracting the max (overflows for large scores)": edited(
        _PLAIN,
        (
            "    probs = torch.softmax(scores + mask, dim=-1)\n",
            "    e = torch.exp(scores + mask)\n    probs = e / e.sum(dim=-1, keepdim=True)\n",
        ),
    ),
    "scores computed in float32 (.float()) and cast back": edited(
        _PLAIN, ("scores = scores / math.sqrt(dn + dr)", "scores = (scores.float() / math.sqrt(dn + dr)).to(h.dtype)")
    ),
    "RoPE tables built in float32 (a float32 arange) even for float64 input": edited(
        _PLAIN,
        ("torch.arange(0, d, 2, dtype=torch.float64)", "torch.arange(0, d, 2).float()"),
        ("torch.arange(t, dtype=torch.float64)", "torch.arange(t).float()"),
    ),
}

ALTERNATIVES = {
    "per head in a loop: W_UV folded into W_O first, scores by matmul, RoPE by complex rotation of a permuted pair": """
import math
import torch

def _rope_half(x, theta):
    t, d = x.shape[-2], x.shape[-1]
    freqs = theta ** (-torch.arange(d // 2, dtype=torch.float64) * 2 / d)
    ang = torch.arange(t, dtype=torch.float64)[:, None] * freqs
    z = torch.complex(x[..., : d // 2].double(), x[..., d // 2 :].double()) * torch.polar(torch.ones_like(ang), ang)
    return torch.cat([z.real, z.imag], -1).to(x.dtype)

def mla_absorbed(h, w_q, w_qr, w_dkv, w_kr, w_uk, w_uv, w_o, n_heads, theta=10000.0):
    b, t, d_model = h.shape
    dn = w_q.shape[1] // n_heads
    dr = w_qr.shape[1] // n_heads
    dv = w_uv.shape[1] // n_heads
    c = h @ w_dkv
    kr = _rope_half(h @ w_kr, theta)
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))
    out = torch.zeros(b, t, d_model, dtype=h.dtype)
    q_lats = []
    for i in range(n_heads):
        qn = h @ w_q[:, i * dn:(i + 1) * dn]
        qr = _rope_half(h @ w_qr[:, i * dr:(i + 1) * dr], theta)
        q_lat = qn @ w_uk[:, i * dn:(i + 1) * dn].T
        s = (q_lat @ c.transpose(1, 2) + qr @ kr.transpose(1, 2)) * (dn + dr) ** -0.5
        s = s.masked_fill(~allowed, float("-inf"))
        p = torch.exp(s - s.amax(-1, keepdim=True))
        p = p / p.sum(-1, keepdim=True)
        w_out = w_uv[:, i * dv:(i + 1) * dv] @ w_o[i * dv:(i + 1) * dv]
        out = out + (p @ c) @ w_out
        q_lats.append(q_lat)
    return out, torch.stack(q_lats, dim=1)
""",
}
