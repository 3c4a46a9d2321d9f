"""inference.kv_cache_decode — one decoding step with a KV cache: reference, checks, known-wrong answers.

q, k_new, v_new (B, H, S, D); k_cache, v_cache (B, H, P, D), P >= 0 ->
(out (B, H, S, D), k_cache' (B, H, P+S, D), v_cache' (B, H, P+S, D)). The new keys/values are
appended after the cached ones; new token s (position P + s) attends keys 0 .. P + s; scale 1/sqrt(D).
Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- an empty cache (P = 0; the caches returned must still be new tensors, not k_new itself);
- one new token against a chunk, with the chunk shorter than, as long as and longer than the
  cache (S < P, S = P, S > P): a mask aligned top-left, or built from S instead of P, shows;
- one head, D = 1, a long cache (P = 300: a max or sum over only part of a row shows);
- scores of a few hundred (exp overflows without the max subtracted);
- float64 over a cache of 256 with scores of ~10: a `.float()` loses ~1e-7 there.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.scaled_dot_product_attention"]


def reference(q, k_new, v_new, k_cache, v_cache):
    p, s, d = k_cache.shape[2], q.shape[2], q.shape[3]
    k = torch.cat([k_cache, k_new], dim=2)  # (B, H, P+S, D): oldest first
    v = torch.cat([v_cache, v_new], dim=2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, S, P+S)
    i = torch.arange(s).unsqueeze(1) + p  # each new token's position
    j = torch.arange(p + s).unsqueeze(0)
    scores = scores.masked_fill(j > i, float("-inf"))  # no new token sees a later new token
    out = scores.softmax(dim=-1) @ v  # (B, H, S, D)
    return out, k, v


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
HEADS = st.tuples(st.integers(1, 2), st.integers(1, 3), st.sampled_from([1, 2, 3, 5, 8]))  # B, H, D


def _unpack(ctx, got, expected):
    """The submission's (out, k_cache, v_cache), or a failure saying what it returned instead."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(
            f"returned {what}; expected a tuple (out, k_cache, v_cache) with shapes "
            f"{tuple(expected[0].shape)}, {tuple(expected[1].shape)}, {tuple(expected[2].shape)}"
        )
    return got


def _close(ctx, name, actual, expected, dtype, **tolerance):
    """assert_close, with the message saying which of the three results differed."""
    try:
        ctx.assert_close(actual, expected, dtype=dtype, **tolerance)
    except CheckFailed as exc:
        raise CheckFailed(f"`{name}`: {exc}") from None


def _compare(ctx, got, expected, dtype):
    out, k, v = _unpack(ctx, got, expected)
    _close(ctx, "k_cache", k, expected[1], dtype, rtol=0.0, atol=0.0)  # the cache is a copy: exact
    _close(ctx, "v_cache", v, expected[2], dtype, rtol=0.0, atol=0.0)
    _close(ctx, "out", out, expected[0], dtype)


@check(
    "matches the reference: output and both grown caches (cache 0 to 8 long, 1 to 3 new tokens, float32/float64/bfloat16)",
    zh="与参考实现一致：输出和两个增长后的 cache（cache 长 0 到 8，1 到 3 个新 token，float32/float64/bfloat16）",
    teaches=["inference.kv_cache_what", "inference.kv_cache_pitfalls"],
)
def matches_reference(ctx):
    dtype, (b, h, d), p, s = ctx.draw(st.tuples(st.sampled_from(DTYPES), HEADS, st.integers(0, 8), st.sampled_from([1, 1, 2, 3])))
    q, k_new, v_new = (ctx.randn(b, h, s, d, dtype=dtype) for _ in range(3))
    k_cache, v_cache = ctx.randn(b, h, p, d, dtype=dtype), ctx.randn(b, h, p, d, dtype=dtype)
    got = ctx.call(q, k_new, v_new, k_cache, v_cache)
    _compare(ctx, got, ctx.reference(q, k_new, v_new, k_cache, v_cache), dtype)


# (B, H, D, P, S, scale of q and k, why): every dtype, every run
BOUNDARY_CASES = [
    (1, 1, 4, 0, 1, 1.0, "empty cache, one token"),
    (2, 1, 3, 0, 4, 1.0, "empty cache, a chunk of 4"),
    (1, 2, 1, 5, 1, 1.0, "D = 1, one token after 5 cached"),
    (1, 1, 5, 5, 3, 1.0, "a chunk of 3 after 5 cached (S < P)"),
    (2, 2, 2, 3, 3, 1.0, "a chunk of 3 after 3 cached (S = P)"),
    (1, 3, 4, 2, 5, 1.0, "a chunk of 5 after 2 cached (S > P)"),
    (1, 1, 8, 300, 2, 1.0, "a long cache (P = 300)"),
    (1, 2, 8, 6, 2, 12.0, "scores of a few hundred"),
]


@check(
    "boundary cases every run: empty cache, S < P, S = P, S > P, one head, D = 1, P = 300, large scores (float32/float64/bfloat16)",
    zh="每次都测的边界情况：空 cache，S < P，S = P，S > P，一个 head，D = 1，P = 300，大分数（float32/float64/bfloat16）",
    examples=1,
    teaches=["inference.kv_cache_pitfalls", "attention.sdpa_is_causal_decode"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for b, h, d, p, s, scale, why in BOUNDARY_CASES:
            q, k_new = ctx.randn(b, h, s, d, dtype=dtype, scale=scale), ctx.randn(b, h, s, d, dtype=dtype, scale=scale)
            k_cache = ctx.randn(b, h, p, d, dtype=dtype, scale=scale)
            v_new, v_cache = ctx.randn(b, h, s, d, dtype=dtype), ctx.randn(b, h, p, d, dtype=dtype)
            got = ctx.call(q, k_new, v_new, k_cache, v_cache)
            expected = ctx.reference(q, k_new, v_new, k_cache, v_cache)
            out, k, v = _unpack(ctx, got, expected)
            _close(ctx, f"k_cache ({why})", k, expected[1], dtype, rtol=0.0, atol=0.0)
            _close(ctx, f"v_cache ({why})", v, expected[2], dtype, rtol=0.0, atol=0.0)
            # float32 rounding of scores of a few hundred moves the weights a little
            loose = {"rtol": 1e-3, "atol": 1e-3} if scale > 1 and dtype == torch.float32 else {}
            _close(ctx, f"out ({why})", out, expected[0], dtype, **loose)


@check(
    "float64 input is computed in float64: a cache of 256 and scores of ~10, within 1e-11",
    zh="float64 输入全程用 float64 计算：cache 长 256，分数约 10，误差在 1e-11 内",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    b, h, s = ctx.draw(st.tuples(st.integers(1, 2), st.integers(1, 2), st.sampled_from([1, 3])))
    q, k_new = ctx.randn(b, h, s, 16, dtype=torch.float64, scale=1.5), ctx.randn(b, h, s, 16, dtype=torch.float64, scale=1.5)
    k_cache = ctx.randn(b, h, 256, 16, dtype=torch.float64, scale=1.5)
    v_new, v_cache = ctx.randn(b, h, s, 16, dtype=torch.float64), ctx.randn(b, h, 256, 16, dtype=torch.float64)
    expected = ctx.reference(q, k_new, v_new, k_cache, v_cache)
    out, _, _ = _unpack(ctx, ctx.call(q, k_new, v_new, k_cache, v_cache), expected)
    _close(ctx, "out", out, expected[0], torch.float64, rtol=1e-11, atol=1e-12)


@check(
    "decoding a sequence step by step from an empty cache (one token or a chunk a step) equals full causal attention",
    zh="从空 cache 开始逐步解码一个序列（每步一个 token 或一段）等于完整的因果注意力",
    teaches=["inference.kv_cache_what", "inference.kv_cache_pitfalls"],
)
def loop_equals_full_attention(ctx):
    dtype, (b, h, d), steps = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            HEADS,
            st.lists(st.sampled_from([1, 1, 1, 2, 3]), min_size=1, max_size=5),
        )
    )
    t = sum(steps)
    q, k, v = (ctx.randn(b, h, t, d, dtype=dtype) for _ in range(3))
    k_cache = v_cache = torch.zeros(b, h, 0, d, dtype=dtype)
    outs, start = [], 0
    for s in steps:
        new = slice(start, start + s)
        got = ctx.call(q[:, :, new], k[:, :, new], v[:, :, new], k_cache, v_cache)
        expected = ctx.reference(q[:, :, new], k[:, :, new], v[:, :, new], k_cache, v_cache)
        out, k_cache, v_cache = _unpack(ctx, got, expected)
        for name, tensor, want in (
            ("out", out, expected[0]),
            ("k_cache", k_cache, expected[1]),
            ("v_cache", v_cache, expected[2]),
        ):
            if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(want.shape):
                ctx.fail(
                    f"step with {s} new token(s) after {start}: `{name}` is {type(tensor).__name__} "
                    f"{tuple(getattr(tensor, 'shape', ()))}, expected shape {tuple(want.shape)}"
                )
        outs.append(out)
        start += s
    empty = torch.zeros(b, h, 0, d, dtype=dtype)
    full, full_k, full_v = ctx.reference(q, k, v, empty, empty)  # one causal attention over all t tokens
    _close(ctx, "k_cache after the last step", k_cache, full_k, dtype, rtol=0.0, atol=0.0)
    _close(ctx, "v_cache after the last step", v_cache, full_v, dtype, rtol=0.0, atol=0.0)
    _close(ctx, "the outputs of every step, concatenated", torch.cat(outs, dim=2), full, dtype)


@check(
    "stable for large scores (no overflow in the softmax)",
    zh="分数很大时数值稳定（softmax 中不溢出）",
    examples=5,
    teaches=["softmax.stable_softmax"],
)
def large_scores(ctx):
    (b, h, d), p, s = ctx.draw(st.tuples(HEADS, st.integers(0, 8), st.sampled_from([1, 2])))
    q, k_new = ctx.randn(b, h, s, d, scale=12.0), ctx.randn(b, h, s, d, scale=12.0)
    v_new = ctx.randn(b, h, s, d)
    k_cache, v_cache = ctx.randn(b, h, p, d, scale=12.0), ctx.randn(b, h, p, d)
    expected = ctx.reference(q, k_new, v_new, k_cache, v_cache)
    out, _, _ = _unpack(ctx, ctx.call(q, k_new, v_new, k_cache, v_cache), expected)
    # float32 rounding of scores this large moves the weights a little: a looser tolerance.
    _close(ctx, "out", out, expected[0], torch.float32, rtol=1e-3, atol=1e-3)


# A correct way to write it (the mask as tril with the diagonal moved right by P); each wrong
# answer below but the first is this with one bug put in.
_PLAIN = """
import math
import torch

def kv_cache_decode(q, k_new, v_new, k_cache, v_cache):
    k = torch.cat([k_cache, k_new], dim=2)
    v = torch.cat([v_cache, v_new], dim=2)
    s, total = q.shape[2], k.shape[2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    allowed = torch.ones(s, total, dtype=torch.bool).tril(total - s)
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v, k, v
"""


WRONG_ANSWERS = {
    "attends only the old cache: appends the new keys and values after computing attention": """
import math
import torch

def kv_cache_decode(q, k_new, v_new, k_cache, v_cache):
    scores = q @ k_cache.transpose(-2, -1) / math.sqrt(q.shape[-1])
    out = torch.softmax(scores, dim=-1) @ v_cache
    return out, torch.cat([k_cache, k_new], dim=2), torch.cat([v_cache, v_new], dim=2)
""",
    "no mask at all: fine for one token, but each token of a chunk sees the later ones": edited(
        _PLAIN,
        ("    s, total = q.shape[2], k.shape[2]\n", ""),
        (
            "    allowed = torch.ones(s, total, dtype=torch.bool).tril(total - s)\n"
            '    scores = scores.masked_fill(~allowed, float("-inf"))\n',
            "",
        ),
    ),
    "causal mask aligned top-left (tril of (S, P+S)): new token s sees only keys 0..s": edited(
        _PLAIN,
        (".tril(total - s)", ".tril()"),
    ),
    "puts the new keys and values in front of the cache (newest first)": edited(
        _PLAIN,
        ("[k_cache, k_new]", "[k_new, k_cache]"),
        ("[v_cache, v_new]", "[v_new, v_cache]"),
        # and the mask to match: each new token sees the new ones up to itself (now first) and the whole cache
        (
            "    allowed = torch.ones(s, total, dtype=torch.bool).tril(total - s)\n    scores = scores.masked_fill(~allowed",
            "    allowed = torch.ones(s, s, dtype=torch.bool).tril()\n"
            "    mask = torch.cat([allowed, torch.ones(s, total - s, dtype=torch.bool)], dim=1)\n"
            "    scores = scores.masked_fill(~mask",
        ),
    ),
    "returns k_new and v_new themselves as the caches when the cache is empty": edited(
        _PLAIN,
        (
            "    k = torch.cat([k_cache, k_new], dim=2)\n    v = torch.cat([v_cache, v_new], dim=2)\n",
            "    k = torch.cat([k_cache, k_new], dim=2) if k_cache.shape[2] else k_new\n"
            "    v = torch.cat([v_cache, v_new], dim=2) if v_cache.shape[2] else v_new\n",
        ),
    ),
    "causal mask built from the chunk length (tril(S)) instead of the cache length": edited(
        _PLAIN,
        (".tril(total - s)", ".tril(s)"),
    ),
    "softmax by hand without subtracting the max (exp overflows for large scores)": edited(
        _PLAIN,
        (
            "    return torch.softmax(scores, dim=-1) @ v, k, v",
            "    w = scores.exp()\n    return (w / w.sum(dim=-1, keepdim=True)) @ v, k, v",
        ),
    ),
    "computes in float32 (.float() on float64 input), cast back": edited(
        _PLAIN,
        (
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
            "    scores = q.float() @ k.float().transpose(-2, -1) / math.sqrt(q.shape[-1])",
        ),
        (
            "    return torch.softmax(scores, dim=-1) @ v, k, v",
            "    return (torch.softmax(scores, dim=-1) @ v.float()).to(q.dtype), k, v",
        ),
    ),
    "a token cannot see itself (mask diagonal one too far left)": edited(
        _PLAIN,
        (".tril(total - s)", ".tril(total - s - 1)"),
    ),
    "attends a sliding window of the last 256 positions instead of the whole cache": edited(
        _PLAIN,
        (".tril(total - s)", ".tril(total - s).triu(total - s - 255)"),
    ),
}

ALTERNATIVES = {
    "preallocated cache buffer, one new token at a time over its visible prefix, float32 inside for bfloat16": """
import torch

def kv_cache_decode(q, k_new, v_new, k_cache, v_cache):
    b, h, p, d = k_cache.shape
    s = q.shape[2]
    k = torch.empty(b, h, p + s, d, dtype=k_cache.dtype)
    v = torch.empty(b, h, p + s, d, dtype=v_cache.dtype)
    k[:, :, :p] = k_cache
    k[:, :, p:] = k_new
    v[:, :, :p] = v_cache
    v[:, :, p:] = v_new
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    outs = []
    for t in range(s):
        seen = p + t + 1  # keys up to and including this token
        kq, vq = k[:, :, :seen].to(work), v[:, :, :seen].to(work)
        w = torch.einsum("bhd,bhjd->bhj", q[:, :, t].to(work), kq) / d ** 0.5
        w = (w - w.max(dim=-1, keepdim=True).values).exp()
        w = w / w.sum(dim=-1, keepdim=True)
        outs.append(torch.einsum("bhj,bhjd->bhd", w, vq))
    return torch.stack(outs, dim=2).to(q.dtype), k, v
""",
}
