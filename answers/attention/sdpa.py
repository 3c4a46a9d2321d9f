"""attention.sdpa — scaled dot-product attention with a bool mask and bottom-right causal masking.

q (..., Lq, E), k (..., Lk, E), v (..., Lk, Ev) -> (..., Lq, Ev); scores scaled by 1/sqrt(E);
mask bool, broadcastable to (..., Lq, Lk), True = may attend; causal: query i may attend key j iff
j <= i + (Lk - Lq) (aligned bottom-right, as when decoding with a KV cache). float64 input is
computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random):
- query and key lengths: Lq < Lk (causal offset), Lq = Lk, Lq > Lk (not causal), one query
  (decoding), one key (the output is v itself: a new tensor is still due);
- E != Ev and non-power-of-two E (the scale is 1/sqrt(E), not of Ev), E = 1;
- no leading dims (one head) and two of them; a 2-D mask and a key-padding mask with causal;
- many keys (300): a reduction over part of the row fails;
- magnitudes: q and k of 1e-6 (uniform weights), scores ~1e4 (overflow without the max), every
  allowed score below -1e4 (a finite -1e4 fill for masked keys then wins);
- float64 input with scores of a few hundred: compared at rtol 1e-10, where float32 shows.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.scaled_dot_product_attention"]


def reference(q, k, v, mask=None, causal=False):
    # q (..., Lq, E), k (..., Lk, E), v (..., Lk, Ev) -> (..., Lq, Ev); float64 inside
    dtype = q.dtype
    q, k, v = q.double(), k.double(), v.double()
    lq, lk = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., Lq, Lk)
    allowed = torch.ones(lq, lk, dtype=torch.bool)
    if causal:
        i = torch.arange(lq)[:, None]
        j = torch.arange(lk)[None, :]
        allowed = j <= i + (lk - lq)  # the last query sees every key
    if mask is not None:
        allowed = allowed & mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).to(dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
LEADS = [(), (1,), (2,), (3,), (2, 1), (1, 3), (2, 3)]
SIZES = st.tuples(
    st.sampled_from(LEADS), st.integers(1, 7), st.integers(1, 7), st.sampled_from([1, 2, 3, 5, 8]), st.sampled_from([1, 2, 3, 5])
)
MASK_SHAPES = ["full", "2d", "keys", "heads"]


def _qkv(ctx, dtype, lead, lq, lk, e, ev, scale=1.0):
    q = ctx.randn(*lead, lq, e, dtype=dtype, scale=scale)
    k = ctx.randn(*lead, lk, e, dtype=dtype, scale=scale)
    v = ctx.randn(*lead, lk, ev, dtype=dtype)
    return q, k, v


def _mask(ctx, kind, lead, lq, lk):
    """A random bool mask of a shape broadcastable to (*lead, Lq, Lk) that leaves every row (also
    under the causal rule, where Lq <= Lk) at least one key: key i + Lk - Lq, or key 0."""
    shape = {
        "full": (*lead, lq, lk),  # one pattern per batch and head
        "2d": (lq, lk),  # the same pattern everywhere
        "keys": (*lead, 1, lk),  # key padding: the same for every query
        "heads": (*lead[:1], *([1] * len(lead[1:])), lq, lk),  # broadcast over the later dims
    }[kind]
    mask = ctx.rand(*shape, dtype=torch.float64) < 0.6
    if kind == "keys":
        mask[..., 0] = True
    else:
        rows = torch.arange(lq)
        mask[..., rows, (rows + lk - lq).clamp(0, lk - 1)] = True
    return mask


@check(
    "matches the reference (random shapes, Lq != Lk, E != Ev, masks of several shapes, causal or not)",
    zh="与参考实现一致（随机形状，Lq != Lk，E != Ev，多种形状的 mask，causal 与否）",
    teaches=["attention.why_sqrt_dk", "attention.causal_mask_before_softmax"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    lead, lq, lk, e, ev = ctx.draw(SIZES)
    causal = ctx.draw(st.sampled_from(["default", False, True])) if lq <= lk else ctx.draw(st.sampled_from(["default", False]))
    mask_kind = ctx.draw(st.sampled_from([None, *MASK_SHAPES]))
    q, k, v = _qkv(ctx, dtype, lead, lq, lk, e, ev)
    kwargs = {}
    if mask_kind is not None:
        kwargs["mask"] = _mask(ctx, mask_kind, lead, lq, lk)
    if causal != "default":
        kwargs["causal"] = causal
    ctx.assert_close(ctx.call(q, k, v, **kwargs), ctx.reference(q, k, v, **kwargs), dtype=dtype)


def _regime_cases(ctx):
    """(what, q, k, v, kwargs, dtype, rtol, atol) for every regime of the module docstring."""
    f32, f64 = torch.float32, torch.float64
    cases = []

    def add(what, lead, lq, lk, e, ev, kwargs=None, dtype=f32, scale=1.0, rtol=None, atol=None):
        q, k, v = _qkv(ctx, dtype, lead, lq, lk, e, ev, scale=scale)
        cases.append((what, q, k, v, kwargs or {}, dtype, rtol, atol))

    add("one query, 9 keys, causal (decoding)", (2,), 1, 9, 4, 4, {"causal": True})
    add("4 queries, 9 keys, causal (Lq < Lk)", (2,), 4, 9, 4, 4, {"causal": True})
    add("5 queries, 5 keys, causal (Lq = Lk)", (2,), 5, 5, 4, 4, {"causal": True})
    add("7 queries, 3 keys, not causal (Lq > Lk)", (2,), 7, 3, 4, 4)
    add("3 queries, one key", (2,), 3, 1, 4, 4)
    add("one query, one key, causal", (), 1, 1, 4, 4, {"causal": True})
    add("E = 3, Ev = 5, causal (scale 1/sqrt(E))", (2,), 4, 6, 3, 5, {"causal": True})
    add("E = 1, Ev = 2", (), 3, 4, 1, 2)
    add("two leading dims (2, 3), E = 6, Ev = 1", (2, 3), 3, 5, 6, 1, {"causal": True})
    q, k, v = _qkv(ctx, f32, (2,), 3, 6, 4, 4)
    two_d = torch.tensor([[True, False, True, True, False, True]] * 3)
    cases.append(("a 2-D mask with causal (Lq < Lk)", q, k, v, {"mask": two_d, "causal": True}, f32, None, None))
    q, k, v = _qkv(ctx, f32, (2,), 2, 300, 8, 3)
    padding = torch.ones(2, 1, 300, dtype=torch.bool)
    padding[1, :, 250:298] = False  # the second batch's padding, away from the causal edge
    cases.append(("300 keys, key padding and causal", q, k, v, {"mask": padding, "causal": True}, f32, None, None))
    add("q and k of magnitude 1e-6 (uniform weights)", (2,), 3, 5, 4, 4, {"causal": True}, scale=1e-6)
    # float32 rounding of scores this large moves the weights a little: a looser tolerance.
    add("scores ~1e4 (float32), causal", (2,), 3, 6, 4, 4, {"causal": True}, scale=12.0, rtol=1e-3, atol=1e-3)
    # q = 80 and k = -80 everywhere (plus noise): every allowed score is near -12800.
    q = 80.0 + ctx.randn(2, 3, 4, dtype=f64)
    k = -80.0 + ctx.randn(2, 6, 4, dtype=f64)
    v = ctx.randn(2, 6, 4, dtype=f64)
    cases.append(("every allowed score below -1e4 (float64), causal", q, k, v, {"causal": True}, f64, None, None))
    return cases


@check(
    "boundary regimes, every run: Lq < = > Lk, one query, one key, E != Ev, 300 keys, magnitudes 1e-6 to 1e4",
    zh="每次都测的边界情形：Lq < = > Lk，一个 query，一个 key，E != Ev，300 个 key，数量级 1e-6 到 1e4",
    examples=1,
    teaches=["attention.sdpa_is_causal_decode"],
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
    # Scores ~N(0, 300^2) rounded to float32 move by ~1e-5, and so do the weights; float64
    # arithmetic in any order stays near 1e-13.
    causal = ctx.draw(st.booleans())
    # Causal runs square (Lq = Lk), where a mask aligned top-left is right: that bug shows with
    # Lq < Lk, and the boundary regimes report it under their own title.
    q, k, v = _qkv(ctx, torch.float64, (2,), 64 if causal else 5, 64, 16, 3, scale=10.0)
    out = ctx.call(q, k, v, causal=causal)
    ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float64, rtol=1e-10, atol=1e-10)


@check(
    "causal with fewer queries than keys (KV cache): aligned bottom-right, the last query sees every key",
    zh="query 比 key 少时的 causal（KV cache）：右下角对齐，最后一个 query 能看到所有 key",
    teaches=["attention.sdpa_is_causal_decode"],
)
def causal_bottom_right(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    lead, lq, lk, e, ev = ctx.draw(SIZES)
    lk = lq + ctx.draw(st.integers(1, 6))  # strictly more keys than queries
    q, k, v = _qkv(ctx, dtype, lead, lq, lk, e, ev)
    ctx.assert_close(ctx.call(q, k, v, causal=True), ctx.reference(q, k, v, causal=True), dtype=dtype)


@check(
    "mask and causal together: a key must be allowed by both",
    zh="mask 和 causal 同时使用：一个 key 必须同时被两者允许",
    teaches=["attention.mask_placement_choice", "attention.causal_mask_before_softmax"],
)
def mask_and_causal(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    lead, lq, lk, e, ev = ctx.draw(SIZES)
    lq, lk = min(lq, lk), max(lq, lk)
    lk = max(lk, 2)  # with one key there is nothing to mask
    mask = _mask(ctx, ctx.draw(st.sampled_from(MASK_SHAPES)), lead, lq, lk)
    q, k, v = _qkv(ctx, dtype, lead, lq, lk, e, ev)
    out = ctx.call(q, k, v, mask=mask, causal=True)
    ctx.assert_close(out, ctx.reference(q, k, v, mask=mask, causal=True), dtype=dtype)


@check(
    "causal: changing future keys and values leaves the earlier queries' outputs unchanged",
    zh="因果性：改变未来的 key 和 value，前面 query 的输出不变",
    teaches=["attention.causal_mask_before_softmax"],
)
def future_keys(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    lead, lq, lk, e, ev = ctx.draw(SIZES)
    lq = max(lq, 2)
    lk = lq + ctx.draw(st.integers(0, 4))
    offset = lk - lq
    cut = ctx.draw(st.integers(offset + 1, lk - 1))  # keys >= cut are the future of queries < cut - offset
    q, k, v = _qkv(ctx, dtype, lead, lq, lk, e, ev)
    k2, v2 = k.clone(), v.clone()
    k2[..., cut:, :] = ctx.randn(*k2[..., cut:, :].shape, dtype=dtype, scale=3.0)
    v2[..., cut:, :] = ctx.randn(*v2[..., cut:, :].shape, dtype=dtype, scale=3.0)
    before = ctx.call(q, k, v, causal=True)
    ctx.assert_close(before, ctx.reference(q, k, v, causal=True), dtype=dtype)
    after = ctx.call(q, k2, v2, causal=True)
    rows = cut - offset
    ctx.assert_close(after[..., :rows, :], before[..., :rows, :].double(), dtype=dtype)


@check(
    "stable for large scores (no overflow in the softmax)",
    zh="分数很大时数值稳定（softmax 中不溢出）",
    teaches=["softmax.stable_softmax"],
)
def large_scores(ctx):
    lead, lq, lk, e, ev = ctx.draw(SIZES)
    causal = lq <= lk and ctx.draw(st.booleans())
    q, k, v = _qkv(ctx, torch.float32, lead, lq, lk, e, ev, scale=12.0)  # scores ~ N(0, 144^2)
    out = ctx.call(q, k, v, causal=causal)
    # float32 rounding of scores this large moves the weights a little: a looser tolerance.
    ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float32, rtol=1e-3, atol=1e-3)


# The usual way to write it; most wrong answers below are this text with one bug put in.
_PLAIN = """
import math
import torch

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    allowed = torch.ones(lq, lk, dtype=torch.bool)
    if causal:
        allowed = allowed.tril(lk - lq)
    if mask is not None:
        allowed = allowed & mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""


WRONG_ANSWERS = {
    "causal mask aligned top-left (tril of ones(Lq, Lk), what is_causal=True builds)": edited(
        _PLAIN,
        ("allowed = allowed.tril(lk - lq)", "allowed = torch.tril(allowed)"),
    ),
    "scores scaled by 1/E instead of 1/sqrt(E)": edited(
        _PLAIN,
        ("/ math.sqrt(q.shape[-1])", "/ q.shape[-1]"),
        # not the bug: math is no longer needed, and the causal mask is built from a fresh ones()
        ("import math\n", ""),
        ("allowed = allowed.tril(lk - lq)", "allowed = torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)"),
    ),
    "softmax over the query axis (dim=-2)": edited(_PLAIN, ("dim=-1", "dim=-2")),
    "mask read as True = masked out (the key_padding_mask convention of nn.MultiheadAttention)": """
import math
import torch

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        future = torch.ones(lq, lk, dtype=torch.bool).triu(lk - lq + 1)
        scores = scores.masked_fill(future, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
""",
    "with causal=True the mask argument is ignored (if/elif)": """
import math
import torch

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        allowed = torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
        scores = scores.masked_fill(~allowed, float("-inf"))
    elif mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
""",
    "causal mask one step too wide: query i also sees key i + (Lk - Lq) + 1": edited(
        _PLAIN,
        ("tril(lk - lq)", "tril(lk - lq + 1)"),
    ),
    "additive mask built as (~allowed) * -inf: 0 * -inf is NaN on every allowed entry": edited(
        _PLAIN,
        ('scores = scores.masked_fill(~allowed, float("-inf"))', 'scores = scores + (~allowed).to(scores.dtype) * float("-inf")'),
    ),
    "softmax without subtracting the row max (overflows for large scores)": edited(
        _PLAIN,
        (
            '    scores = scores.masked_fill(~allowed, float("-inf"))\n    return torch.softmax(scores, dim=-1) @ v\n',
            "    weights = scores.exp() * allowed\n    return weights / weights.sum(dim=-1, keepdim=True) @ v\n",
        ),
    ),
    "scale 1/sqrt(Ev) from v's width instead of 1/sqrt(E) (the same whenever E == Ev)": edited(
        _PLAIN,
        ("math.sqrt(q.shape[-1])", "math.sqrt(v.shape[-1])"),
    ),
    "masked scores filled with -1e4 instead of -inf (wins when every allowed score is below -1e4)": edited(
        _PLAIN,
        ('scores.masked_fill(~allowed, float("-inf"))', "scores.masked_fill(~allowed, -1e4)"),
    ),
    "returns v (a view of the input) when there is one key, since every weight is 1": edited(
        _PLAIN,
        (
            "    lq, lk = q.shape[-2], k.shape[-2]\n",
            "    lq, lk = q.shape[-2], k.shape[-2]\n    if lk == 1:\n        return v.expand(*q.shape[:-1], v.shape[-1])\n",
        ),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        (
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
            "    dtype = q.dtype\n    q, k, v = q.float(), k.float(), v.float()\n    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        ),
        ("return torch.softmax(scores, dim=-1) @ v", "return (torch.softmax(scores, dim=-1) @ v).to(dtype)"),
    ),
    "scales q in place (q /= sqrt(E)): the caller's q changes": edited(
        _PLAIN,
        (
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
            "    q /= math.sqrt(q.shape[-1])\n    scores = q @ k.transpose(-2, -1)",
        ),
    ),
    "calls F.scaled_dot_product_attention": """
import torch.nn.functional as F

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
""",
}

ALTERNATIVES = {
    "einsum, additive bias from torch.where, softmax by hand in float32 for bfloat16": """
import torch

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    lq, lk, e = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = torch.einsum("...ie,...je->...ij", q.to(work), k.to(work)) * e ** -0.5
    allowed = torch.ones(lq, lk, dtype=torch.bool)
    if causal:
        allowed = torch.arange(lk)[None, :] - torch.arange(lq)[:, None] <= lk - lq
    if mask is not None:
        allowed = allowed & mask
    bias = torch.where(allowed, 0.0, float("-inf")).to(work)
    scores = scores + bias
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp()
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return torch.einsum("...ij,...jd->...id", weights, v.to(work)).to(q.dtype)
""",
    "one query row at a time, keys sliced to the causal prefix": """
import math
import torch

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    lq, lk = q.shape[-2], k.shape[-2]
    full_mask = None
    if mask is not None:
        full_mask = mask.expand(*q.shape[:-2], lq, lk)
    rows = []
    for i in range(lq):
        end = i + (lk - lq) + 1 if causal else lk
        s = (q[..., i : i + 1, :] @ k[..., :end, :].transpose(-2, -1)) / math.sqrt(q.shape[-1])
        if full_mask is not None:
            s = s.masked_fill(~full_mask[..., i : i + 1, :end], float("-inf"))
        rows.append(torch.softmax(s, dim=-1) @ v[..., :end, :])
    return torch.cat(rows, dim=-2)
""",
}
