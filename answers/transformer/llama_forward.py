"""transformer.llama_forward — a whole LLaMA-2 forward pass to logits: reference, checks, wrong answers.

llama_forward(tokens, weights, n_heads, n_kv_heads, eps=1e-6, theta=10000.0): tokens int64 (B, T);
weights a dict: embed (V, D), layers (a list of dicts, each as in transformer.decoder_layer),
norm (D,), lm_head (D, V) or None for a head tied to the embedding (logits = h @ embed.T).
    h = embed[tokens]; h = layer(h) for each layer in order (positions 0..T-1, causal);
    logits = RMSNorm(h) * norm @ head
Returns (B, T, V) in embed's dtype; float64 is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes`: tied and untied
heads with V != D (a transposed head shows), no layers at all, one layer, three different layers
(reusing one layer's weights, or running them in reverse, shows), one token, GQA 4/2, eps 0.1 on
small embeddings. A uniform shift of the positions changes nothing (RoPE is relative), so
position bugs show only inside the layer maths, which transformer.decoder_layer checks in depth.
"""

import math

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.scaled_dot_product_attention"]

# float32: a stack of layers, each a few matmuls, then a head: a little looser than the default.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}

LAYER_NAMES = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down", "attn_norm", "ffn_norm")


def rms_norm(x, weight, eps):
    # x (..., D) -> (..., D)
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def rope(x, positions, theta):
    # x (B, H, T, Dh), positions (T,): dim i pairs with dim i + Dh/2 (rotate-half)
    dh = x.shape[-1]
    half = dh // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / dh)
    angles = positions.double()[:, None] * inv_freq[None, :]  # (T, Dh/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def decoder_layer(h, w, n_heads, n_kv_heads, positions, eps, theta):
    # h (B, T, D) -> (B, T, D): pre-norm GQA with RoPE, residual, pre-norm SwiGLU, residual
    b, t, _ = h.shape
    dh = w["wq"].shape[1] // n_heads
    n = rms_norm(h, w["attn_norm"], eps)
    q = (n @ w["wq"]).view(b, t, n_heads, dh).transpose(1, 2)  # (B, Hq, T, Dh)
    k = (n @ w["wk"]).view(b, t, n_kv_heads, dh).transpose(1, 2)  # (B, Hkv, T, Dh)
    v = (n @ w["wv"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    q, k = rope(q, positions, theta), rope(k, positions, theta)
    rep = n_heads // n_kv_heads
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    attn = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, n_heads * dh)
    h = h + attn @ w["wo"]
    n = rms_norm(h, w["ffn_norm"], eps)
    return h + (F.silu(n @ w["w_gate"]) * (n @ w["w_up"])) @ w["w_down"]


def reference(tokens, weights, n_heads, n_kv_heads, eps=1e-6, theta=10000.0):
    embed = weights["embed"].double()  # (V, D)
    head = embed.T if weights["lm_head"] is None else weights["lm_head"].double()  # (D, V)
    positions = torch.arange(tokens.shape[1])  # every layer sees the same positions 0..T-1
    h = embed[tokens]  # (B, T, D)
    for layer in weights["layers"]:
        w = {name: layer[name].double() for name in LAYER_NAMES}
        h = decoder_layer(h, w, n_heads, n_kv_heads, positions, eps, theta)
    logits = rms_norm(h, weights["norm"].double(), eps) @ head  # (B, T, V)
    return logits.to(weights["embed"].dtype)


def make_weights(ctx, v, d, n_layers, n_heads, n_kv_heads, dh, f, tied, dtype, embed_scale=1.0):
    """Random weights with activations of order 1 and norm weights away from 1."""

    def mat(rows, cols):
        return ctx.randn(rows, cols, dtype=dtype, scale=1.0 / math.sqrt(rows))

    def norm_weight():
        return (1.0 + 0.5 * ctx.randn(d, dtype=torch.float64)).to(dtype)

    layers = []
    for _ in range(n_layers):
        layers.append(
            {
                "wq": mat(d, n_heads * dh),
                "wk": mat(d, n_kv_heads * dh),
                "wv": mat(d, n_kv_heads * dh),
                "wo": mat(n_heads * dh, d),
                "w_gate": mat(d, f),
                "w_up": mat(d, f),
                "w_down": mat(f, d),
                "attn_norm": norm_weight(),
                "ffn_norm": norm_weight(),
            }
        )
    return {
        "embed": ctx.randn(v, d, dtype=dtype, scale=embed_scale),
        "layers": layers,
        "norm": norm_weight(),
        "lm_head": None if tied else mat(d, v),
    }


DTYPES = [torch.float32, torch.float64]
SHAPES = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 6),  # T
    st.sampled_from([3, 7, 11, 16]),  # V
    st.integers(0, 3),  # layers
    st.integers(1, 2),  # Hkv
    st.integers(1, 2),  # query heads per kv head
    st.sampled_from([2, 4, 6]),  # Dh
    st.integers(1, 8),  # F
    st.booleans(),  # tied head
)


def _case(ctx, dtype, b, t, v, n_layers, hkv, rep, dh, f, tied, embed_scale=1.0):
    hq = hkv * rep
    weights = make_weights(ctx, v, hq * dh, n_layers, hq, hkv, dh, f, tied, dtype, embed_scale)
    tokens = ctx.randint(0, v, (b, t))
    return tokens, weights, hq, hkv


@check(
    "matches the reference (random shapes, 0 to 3 layers, tied and untied heads, float32/float64, eps and theta default and not)",
    zh="与参考实现一致（随机形状，0 到 3 层，共享和不共享输出头，float32/float64，eps 和 theta 默认和非默认）",
    teaches=["norm.pre_ln_final_norm", "transformer.embedding_scale_tying", "norm.post_vs_pre"],
)
def matches_reference(ctx):
    dtype, shape, kw = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            SHAPES,
            st.sampled_from([{}, {"eps": 1e-5}, {"theta": 500000.0}, {"eps": 1e-3, "theta": 100.0}]),
        )
    )
    tokens, weights, hq, hkv = _case(ctx, dtype, *shape)
    out = ctx.call(tokens, weights, hq, hkv, **kw)
    ctx.assert_close(out, ctx.reference(tokens, weights, hq, hkv, **kw), dtype=dtype)


@check(
    "float64 input is computed in float64 (rtol 1e-10)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    tied = ctx.draw(st.booleans())
    tokens, weights, hq, hkv = _case(ctx, torch.float64, 2, 8, 13, 2, 2, 2, 4, 12, tied)
    out = ctx.call(tokens, weights, hq, hkv)
    ctx.assert_close(out, ctx.reference(tokens, weights, hq, hkv), dtype=torch.float64, rtol=1e-10, atol=1e-10)


# (what, (B, T, V, layers, Hkv, rep, Dh, F, tied), kwargs, embedding scale); D = Hq * Dh
REGIMES = [
    ("tied head, V = 11, D = 8, two layers", (2, 5, 11, 2, 2, 2, 2, 6, True), {}, 1.0),
    ("untied head, V = 7, D = 4, one layer", (1, 4, 7, 1, 1, 2, 2, 5, False), {}, 1.0),
    ("no layers (N = 0), tied, V = 5, D = 6", (2, 3, 5, 0, 1, 1, 6, 4, True), {}, 1.0),
    ("three different layers, GQA 4/2, untied", (1, 6, 9, 3, 2, 2, 4, 7, False), {}, 1.0),
    ("one token, two layers, tied", (2, 1, 6, 2, 1, 2, 4, 3, True), {}, 1.0),
    ("eps = 0.1 on embeddings of scale 0.1, one layer, untied", (1, 4, 10, 1, 1, 1, 4, 4, False), {"eps": 0.1}, 0.1),
]


@check(
    "boundary regimes, every run: tied and untied heads with V != D, no layers, one and three layers, one token, eps 0.1",
    zh="每次都测的边界情形：V != D 时共享和不共享输出头，没有层，一层和三层，一个 token，eps 0.1",
    examples=1,
    teaches=["transformer.embedding_scale_tying", "norm.pre_ln_final_norm"],
)
def boundary_regimes(ctx):
    for what, shape, kw, scale in REGIMES:
        tokens, weights, hq, hkv = _case(ctx, torch.float32, *shape, embed_scale=scale)
        out = ctx.call(tokens, weights, hq, hkv, **kw)
        try:
            ctx.assert_close(out, ctx.reference(tokens, weights, hq, hkv, **kw), dtype=torch.float32)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "a tied head equals an untied head holding embed.T",
    zh="共享的输出头等于持有 embed.T 的不共享输出头",
    teaches=["transformer.embedding_scale_tying"],
)
def tied_equals_untied(ctx):
    shape = ctx.draw(SHAPES)
    tokens, weights, hq, hkv = _case(ctx, torch.float64, *shape[:-1], True)
    tied = ctx.call(tokens, weights, hq, hkv)
    ctx.assert_close(tied, ctx.reference(tokens, weights, hq, hkv), dtype=torch.float64)
    untied = ctx.call(tokens, {**weights, "lm_head": weights["embed"].T.contiguous()}, hq, hkv)
    ctx.assert_close(untied, tied.double(), dtype=torch.float64, rtol=1e-10, atol=1e-10)


@check(
    "causal: changing later tokens leaves the logits of earlier tokens unchanged",
    zh="因果性：改变后面的 token，前面 token 的 logits 不变",
    teaches=["attention.causal_mask_before_softmax"],
)
def causality(ctx):
    shape, cut = ctx.draw(st.tuples(SHAPES, st.integers(1, 5)))
    b, t, v, *rest = shape
    t = max(t, 2)
    cut = min(cut, t - 1)
    tokens, weights, hq, hkv = _case(ctx, torch.float64, b, t, v, *rest)
    changed = tokens.clone()
    changed[:, cut:] = (tokens[:, cut:] + 1) % v
    before = ctx.call(tokens, weights, hq, hkv)
    ctx.assert_close(before, ctx.reference(tokens, weights, hq, hkv), dtype=torch.float64)
    after = ctx.call(changed, weights, hq, hkv)
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

def decoder_layer(x, w, n_heads, n_kv_heads, positions, eps, theta):
    b, t, d = x.shape
    dh = w["wq"].shape[1] // n_heads
    h = rms_norm(x, w["attn_norm"], eps)
    q = (h @ w["wq"]).view(b, t, n_heads, dh).transpose(1, 2)
    k = (h @ w["wk"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    v = (h @ w["wv"]).view(b, t, n_kv_heads, dh).transpose(1, 2)
    q, k = apply_rope(q, positions, theta), apply_rope(k, positions, theta)
    rep = n_heads // n_kv_heads
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    attn = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, n_heads * dh)
    x = x + attn @ w["wo"]
    h = rms_norm(x, w["ffn_norm"], eps)
    return x + (F.silu(h @ w["w_gate"]) * (h @ w["w_up"])) @ w["w_down"]

def llama_forward(tokens, weights, n_heads, n_kv_heads, eps=1e-6, theta=10000.0):
    embed = weights["embed"]
    positions = torch.arange(tokens.shape[1])
    h = embed[tokens]
    for layer in weights["layers"]:
        h = decoder_layer(h, layer, n_heads, n_kv_heads, positions, eps, theta)
    h = rms_norm(h, weights["norm"], eps)
    head = weights["lm_head"] if weights["lm_head"] is not None else embed.T
    return h @ head
"""


WRONG_ANSWERS = {
    "no final norm before the head": edited(_PLAIN, ('    h = rms_norm(h, weights["norm"], eps)\n', "")),
    "final norm without its weight": edited(
        _PLAIN, ('    h = rms_norm(h, weights["norm"], eps)', '    h = rms_norm(h, torch.ones_like(weights["norm"]), eps)')
    ),
    "tied head as h @ embed instead of h @ embed.T (fails unless V == D)": edited(_PLAIN, ("else embed.T\n", "else embed\n")),
    "always ties the head: lm_head ignored": edited(
        _PLAIN, ('weights["lm_head"] if weights["lm_head"] is not None else embed.T', "embed.T")
    ),
    "every layer runs with the first layer's weights": edited(
        _PLAIN, ("        h = decoder_layer(h, layer,", '        h = decoder_layer(h, weights["layers"][0],')
    ),
    "layers run in reverse order": edited(
        _PLAIN, ('    for layer in weights["layers"]:', '    for layer in reversed(weights["layers"]):')
    ),
    "each layer is fed the embeddings, not the previous layer's output": edited(
        _PLAIN, ("        h = decoder_layer(h, layer,", "        h = decoder_layer(embed[tokens], layer,")
    ),
    "embeddings scaled by sqrt(D) (the original Transformer's habit, not LLaMA's)": edited(
        _PLAIN, ("    h = embed[tokens]\n", "    h = embed[tokens] * math.sqrt(embed.shape[1])\n")
    ),
    "returns only the last token's logits, (B, V)": edited(_PLAIN, ("    return h @ head", "    return (h @ head)[:, -1]")),
    "returns probabilities (softmax of the logits) instead of logits": edited(
        _PLAIN, ("    return h @ head", "    return torch.softmax(h @ head, dim=-1)")
    ),
    "no causal mask in the layers": edited(_PLAIN, ('    scores = scores.masked_fill(mask, float("-inf"))\n', "")),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        ('    embed = weights["embed"]\n', '    embed = weights["embed"]\n    dtype = embed.dtype\n    embed = embed.float()\n'),
        (
            "    h = embed[tokens]\n",
            "    h = embed[tokens]\n    weights = {**weights, 'norm': weights['norm'].float(), 'lm_head': None if weights['lm_head'] is None else weights['lm_head'].float(), 'layers': [{k: v.float() for k, v in l.items()} for l in weights['layers']]}\n",
        ),
        ("    return h @ head", "    return (h @ head).to(dtype)"),
    ),
}

ALTERNATIVES = {
    "one-hot embedding, F.linear for the tied head, one einsum attention per kv group, stable softmax by hand": """
import torch
import torch.nn.functional as F

def norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w

def rotate(x, positions, theta):
    half = x.shape[-1] // 2
    freq = torch.pow(torch.tensor(theta, dtype=torch.float64), -torch.arange(half, dtype=torch.float64) / half)
    ang = positions.to(torch.float64).unsqueeze(-1) * freq
    c, s = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat((a * c - b * s, a * s + b * c), dim=-1)

def llama_forward(tokens, weights, n_heads, n_kv_heads, eps=1e-6, theta=10000.0):
    embed = weights["embed"]
    vocab, d = embed.shape
    bsz, t = tokens.shape
    x = F.one_hot(tokens, vocab).to(embed.dtype) @ embed
    pos = torch.arange(t)
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))
    groups = n_heads // n_kv_heads
    for w in weights["layers"]:
        dh = w["wq"].shape[1] // n_heads
        n = norm(x, w["attn_norm"], eps)
        q = rotate((n @ w["wq"]).reshape(bsz, t, n_kv_heads, groups, dh).permute(0, 2, 3, 1, 4), pos, theta)
        k = rotate((n @ w["wk"]).reshape(bsz, t, n_kv_heads, dh).permute(0, 2, 1, 3), pos, theta)
        v = (n @ w["wv"]).reshape(bsz, t, n_kv_heads, dh).permute(0, 2, 1, 3)
        s = torch.einsum("bgrid,bgjd->bgrij", q, k) / dh ** 0.5
        s = torch.where(allowed, s, torch.tensor(float("-inf"), dtype=s.dtype))
        p = (s - s.amax(dim=-1, keepdim=True)).exp()
        p = p / p.sum(dim=-1, keepdim=True)
        o = torch.einsum("bgrij,bgjd->bigrd", p, v).reshape(bsz, t, n_heads * dh)
        x = x + o @ w["wo"]
        n = norm(x, w["ffn_norm"], eps)
        x = x + (F.silu(n @ w["w_gate"]) * (n @ w["w_up"])) @ w["w_down"]
    x = norm(x, weights["norm"], eps)
    if weights["lm_head"] is None:
        return F.linear(x, embed)
    return x @ weights["lm_head"]
""",
}
