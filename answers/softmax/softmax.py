"""softmax.softmax — a numerically stable softmax along any dim: reference, checks, wrong answers.

softmax(x, dim=-1) = exp(x - max) / sum(exp(x - max)) along `dim`; accurate for float32 inputs of
magnitude up to 1e4, where exp(x) alone overflows; float64 input computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random):
- the reduced dim of size 1 (every output is 1), and dim 0 of a 2-D tensor;
- rows of one, several and many blocks (3, 200, a 32768-entry vocabulary row) with the maximum
  far from the first entries: a max or sum over only the first block fails;
- magnitudes near eps (rows of 1e-6: nearly uniform), near float32 exp overflow (~89) and at
  +-1e4, rows entirely near -1e4 (a max clamped at 0 underflows to 0/0);
- float64 input whose float32 rounding shows (entries ~1000 apart by a few units): compared at
  rtol 1e-10, far below float32's rounding (~6e-8 relative per entry, 1e-5 here).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.forbidden import SOFTMAX_FAMILY
from llmq.judge.kit import CheckFailed, check, edited

# The five of CONTRACTS.md, then other spellings of the same kernels (torch.special, the nn
# modules, the log_softmax method), which would otherwise slip past.
FORBIDDEN = list(SOFTMAX_FAMILY)

# Outputs are probabilities in [0, 1]: an absolute tolerance of 2e-2 would accept zeros for every
# entry of a long row, so bfloat16 gets a small atol and a relative tolerance of a few roundings.
TOLERANCES = {torch.bfloat16: (2e-2, 1e-3)}

# At |x| ~ 1e4 one float32 ulp is ~1e-3: a formulation that rounds a quantity of size 1e4 before
# the exp (x - logsumexp(x)) is off by up to ~5e-4 relative. Max-subtraction is exact; both are
# correct answers, and overflow (NaN) or a wrong max is off by far more than 2e-3.
LARGE_RTOL = 2e-3


def reference(x, dim=-1):
    # x (...) -> same shape; float64 inside
    x64 = x.double()
    shifted = x64 - x64.amax(dim=dim, keepdim=True)  # largest entry becomes 0: exp cannot overflow
    e = shifted.exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]


def _shape_and_dim(ctx, min_ndim=1):
    """A shape of 1 to 3 dims and the keyword arguments: {} (dim at its default) or any dim."""
    shape = ctx.draw(st.lists(st.sampled_from([1, 2, 3, 5, 8]), min_size=min_ndim, max_size=3))
    kw = ctx.draw(st.sampled_from([{}, *({"dim": d} for d in range(-len(shape), len(shape)))]))
    return shape, kw


@check(
    "matches the reference (random shapes, any dim positive or negative, float32/float64/bfloat16)",
    zh="与参考实现一致（随机形状，任意正负 dim，float32/float64/bfloat16）",
    teaches=["softmax.stable_softmax"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    shape, kw = _shape_and_dim(ctx)
    x = ctx.randn(*shape, dtype=dtype, scale=3.0)
    ctx.assert_close(ctx.call(x, **kw), ctx.reference(x, **kw), dtype=dtype)


def _regime_cases(ctx):
    """(what, x, kwargs, rtol) for every boundary regime of the module docstring, in order."""
    many = ctx.randn(32768, scale=3.0)
    many[-1] = many.max() + 40.0  # the maximum in the last block, far above the rest
    late = ctx.randn(2, 200, scale=3.0)
    late[:, 150:] += 1e4  # the large entries come after the first 64 or 128
    low = ctx.randn(2, 200, scale=3.0) - 1e4
    return [
        ("one entry", ctx.randn(1, scale=3.0), {}, None),
        ("reduced dim of size 1", ctx.randn(3, 1, scale=3.0), {}, None),
        ("dim=0 of a (40, 3) tensor", ctx.randn(40, 3, scale=3.0), {"dim": 0}, None),
        ("three entries", ctx.randn(2, 3, scale=3.0), {}, None),
        ("a 32768-entry row (vocabulary-sized), maximum in the last entry", many, {}, None),
        ("rows of 200: 150 entries near 0, then 50 near 1e4", late, {}, LARGE_RTOL),
        ("rows of 200 entries all near -1e4 (every exp(x) underflows)", low, {}, LARGE_RTOL),
        ("rows near 100 (exp(x) overflows float32 above ~88.7)", ctx.randn(3, 50, scale=3.0) + 100.0, {}, None),
        ("rows of magnitude 1e-6 (nearly uniform)", ctx.randn(3, 50, scale=1e-6), {}, None),
        ("columns of 200 (150 near 0, then 50 near 1e4), dim=0", late.T.contiguous(), {"dim": 0}, LARGE_RTOL),
    ]


@check(
    "boundary regimes, every run: size-1 dims, rows of 3, 200 and 32768 entries, magnitudes 1e-6, ~100 and +-1e4",
    zh="每次都测的边界情形：大小为 1 的维度，每行 3、200 和 32768 个元素，数量级 1e-6、约 100 和 +-1e4",
    examples=1,
    teaches=["softmax.stable_softmax"],
)
def boundary_regimes(ctx):
    for what, x, kw, rtol in _regime_cases(ctx):
        out = ctx.call(x, **kw)
        try:
            ctx.assert_close(out, ctx.reference(x, **kw), dtype=torch.float32, rtol=rtol, atol=1e-6 if rtol else None)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "float64 input is computed in float64 (rtol 1e-10; entries near 1000, where float32 rounding shows)",
    zh="float64 输入全程用 float64 计算（rtol 1e-10；元素在 1000 附近，float32 的舍入误差会显现）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    # Entries ~1000 rounded to float32 move by up to 3e-5, so a float32 computation is off by
    # ~1e-5 relative; float64 arithmetic (max subtraction or logsumexp) stays near 1e-13.
    x = 1000.0 + ctx.randn(3, 1000, dtype=torch.float64, scale=5.0)
    ctx.assert_close(ctx.call(x), ctx.reference(x), dtype=torch.float64, rtol=1e-10, atol=0.0)


@check(
    "sums to 1 along the given dim, every entry in [0, 1]",
    zh="沿给定的 dim 求和为 1，每个元素都在 [0, 1] 内",
    teaches=["softmax.stable_softmax"],
)
def sums_to_one(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    shape, kw = _shape_and_dim(ctx, min_ndim=2)
    x = ctx.randn(*shape, dtype=dtype, scale=3.0)
    out = ctx.call(x, **kw)
    axis = kw.get("dim", -1)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != dtype:
        ctx.assert_close(out, ctx.reference(x, **kw), dtype=dtype)  # says what is wrong with it
    if bool(((out < 0) | (out > 1) | out.isnan()).any()):
        ctx.fail(f"entries outside [0, 1]: min {out.min().item():.6g}, max {out.max().item():.6g}")
    totals = out.double().sum(dim=axis)
    ctx.assert_close(totals, torch.ones_like(totals), dtype=torch.float64, rtol=1e-5, atol=0.0)


@check(
    "float32 inputs of magnitude up to 1e4 (rows of very different scales, near-ties at +-1e4)",
    zh="绝对值大到 1e4 的 float32 输入（各行尺度差别很大，+-1e4 附近几乎并列）",
    examples=15,
    teaches=["softmax.stable_softmax"],
)
def large_inputs(ctx):
    shape, kw = _shape_and_dim(ctx)
    kind = ctx.draw(st.sampled_from(["spread", "offset"]))
    if kind == "spread":  # entries anywhere in [-1e4, 1e4]: rows' maxima differ by thousands
        x = (ctx.rand(*shape, dtype=torch.float64) * 2e4 - 1e4).float()
    else:  # every entry near +1e4 or near -1e4: the answer is a smooth distribution, not one-hot
        sign = ctx.draw(st.sampled_from([1.0, -1.0]))
        x = (sign * 1e4 + ctx.randn(*shape, dtype=torch.float64) * 3).float()
    ctx.assert_close(ctx.call(x, **kw), ctx.reference(x, **kw), dtype=torch.float32, rtol=LARGE_RTOL, atol=1e-6)


# The usual way to write it; the wrong answers written with edited() are this with one bug put in.
_PLAIN = """
import torch

def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(dim=dim, keepdim=True)
"""


WRONG_ANSWERS = {
    "max taken over the first 128 entries only (a block's max, never updated)": edited(
        _PLAIN,
        ("m = x.amax(dim=dim, keepdim=True)", "m = x.narrow(dim, 0, min(128, x.shape[dim])).amax(dim=dim, keepdim=True)"),
    ),
    "sum taken over the first 1024 entries only (one block of the reduction)": edited(
        _PLAIN,
        ("e.sum(dim=dim, keepdim=True)", "e.narrow(dim, 0, min(1024, e.shape[dim])).sum(dim=dim, keepdim=True)"),
    ),
    "max clamped at 0 (subtracts the max only when it is positive): rows near -1e4 give 0/0": edited(
        _PLAIN,
        ("m = x.amax(dim=dim, keepdim=True)", "m = x.amax(dim=dim, keepdim=True).clamp(min=0)"),
    ),
    "computes in float32 (.float()) and casts back: float64 input loses precision": edited(
        _PLAIN,
        ("    m = x.amax(", "    dtype = x.dtype\n    x = x.float()\n    m = x.amax("),
        ("return e / e.sum(dim=dim, keepdim=True)", "return (e / e.sum(dim=dim, keepdim=True)).to(dtype)"),
    ),
    "adds 1e-6 to the denominator 'for safety'": edited(
        _PLAIN, ("e.sum(dim=dim, keepdim=True)", "(e.sum(dim=dim, keepdim=True) + 1e-6)")
    ),
    "subtracts the max in place (x -= max): the caller's tensor changes": edited(
        _PLAIN,
        ("    e = torch.exp(x - m)", "    x -= m\n    e = torch.exp(x)"),
    ),
    "no max subtraction: exp overflows to inf (NaN) for large inputs": """
import torch

def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
""",
    "always normalises over the last dim, ignoring `dim`": """
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
""",
    "subtracts the global max instead of each row's max (rows far below it underflow to 0/0)": """
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
""",
    "max over the given dim but the sum over the last dim": """
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
""",
    "calls torch.softmax": """
import torch

def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
""",
    "computes in float64 and returns float64": """
import torch

def softmax(x, dim=-1):
    x = x.double()
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)
""",
}

ALTERNATIVES = {
    "exp(x - logsumexp(x)), in float32 for bfloat16": """
import torch

def softmax(x, dim=-1):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    return torch.exp(xw - torch.logsumexp(xw, dim=dim, keepdim=True)).to(x.dtype)
""",
    "moves `dim` to the end, works on the last axis, moves it back": """
import torch

def softmax(x, dim=-1):
    y = x.movedim(dim, -1)
    m = y.max(dim=-1, keepdim=True).values
    e = (y - m).exp()
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)
""",
}
