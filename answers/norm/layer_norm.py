"""norm.layer_norm — LayerNorm: reference, checks, known-wrong answers.

layer_norm(x, weight, bias, eps=1e-5): over the last dim, (x - mean) / sqrt(var + eps) * weight +
bias with the biased variance (divide by D), returned in x's dtype.

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the width of the reductions: D = 1 (variance 0: the output is the bias; an unbiased variance
  divides by 0), a few, and thousands (statistics over only the first block of a row show);
  x 1-D, 2-D and 3-D (a dim counted from the front, or the whole tensor);
- a row's variance far below, about, and far above eps; eps at its default and away from it;
- rows whose mean is large against their spread (E[x^2] - E[x]^2 cancels);
- float64 input computed in float64 (a `.float()` leaves errors of 1e-6 on rows near 100);
- bfloat16 input with statistics in float32 (`bf16_statistics`).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

# torch.layer_norm is the same kernel under its top-level name (F.layer_norm calls it).
FORBIDDEN = ["torch.nn.functional.layer_norm", "torch.nn.LayerNorm", "torch.layer_norm"]


def reference(x, weight, bias, eps=1e-5):
    # x (..., D), weight and bias (D,) -> (..., D), in float64 inside
    x64 = x.double()
    mean = x64.mean(dim=-1, keepdim=True)  # (..., 1)
    var = (x64 - mean).pow(2).mean(dim=-1, keepdim=True)  # biased: divide by D, not D - 1
    normed = (x64 - mean) / torch.sqrt(var + eps)
    return (normed * weight.double() + bias.double()).to(x.dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}


def _params(ctx, d, dtype):
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    bias = ctx.randn(d, dtype=dtype, scale=0.5)
    return weight, bias


def _rows(ctx, dtype, offset, d=None):
    """x (..., D): 0 to 2 leading dims, each row `offset` plus noise of a drawn scale."""
    lead = ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    d = d or ctx.draw(st.sampled_from([5, 1, 2, 3, 8, 17]))
    scale = ctx.draw(st.sampled_from([1e-3, 1.0, 30.0]))
    return (offset + ctx.randn(*lead, d, dtype=torch.float64) * scale).to(dtype)


@check(
    "matches the reference (random shapes, float32/float64/bfloat16, small and large inputs, eps default and not)",
    zh="与参考实现一致（随机形状，float32/float64/bfloat16，输入小和大，eps 默认和非默认）",
    teaches=["norm.layernorm_impl", "norm.bn_vs_ln_axes"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x = _rows(ctx, dtype, offset=0.0)
    weight, bias = _params(ctx, x.shape[-1], dtype)
    kw = ctx.draw(st.sampled_from([{}, {"eps": 1e-6}, {"eps": 1e-2}, {"eps": 0.5}]))  # {}: eps at its default
    ctx.assert_close(ctx.call(x, weight, bias, **kw), ctx.reference(x, weight, bias, **kw), dtype=dtype)


# Far below float32's rounding and far above float64's error on rows near 100.
FLOAT64_TOL = 1e-12


# (shape of x, offset, spread, keyword arguments): every regime of the module docstring.
REGIMES = [
    ((1,), 0.0, 1.0, {}),  # D = 1, 1-D x: variance 0, the output is the bias
    ((4, 1), 3.0, 1.0, {}),
    ((7,), 0.0, 1.0, {}),
    ((2, 3, 5), 0.0, 1.0, {}),  # 3-D x: statistics over dim 1 or over everything show
    ((3, 1000), 0.0, 1.0, {}),  # many blocks: statistics over only the first elements show
    ((2, 4, 64), 1.0, 2.0, {}),
    ((3, 16), 0.0, 1e-6, {}),  # variance far below eps
    ((3, 16), 0.0, 3e-3, {}),  # variance about eps
    ((3, 16), 0.0, 3e-2, {"eps": 1e-3}),  # variance about a non-default eps
    ((2, 9), 0.0, 10.0, {"eps": 0.5}),
    ((3, 64), 100.0, 1.0, {}),  # large mean against the spread
]


@check(
    "boundary regimes, every run: D = 1, 7, 1000; 1-D and 3-D x; variance far below, near and above eps; rows near 100",
    zh="每次都测的边界情形：D = 1、7、1000；1-D 和 3-D 的 x；方差远小于、接近和大于 eps；行值在 100 附近",
    examples=1,
    teaches=["norm.layernorm_impl"],
)
def boundary_regimes(ctx):
    for dtype in (torch.float32, torch.float64):
        for shape, offset, spread, kw in REGIMES:
            x = (offset + ctx.randn(*shape, dtype=torch.float64) * spread).to(dtype)
            weight, bias = _params(ctx, shape[-1], dtype)
            # Near 100 a float32 mean is off by half an ulp of 100 (4e-6): allowed here in both
            # dtypes (for float64 it is the precision check's to report).
            atol = 5e-5 if offset >= 100 else PROPERTY_ATOL.get(dtype)
            ctx.assert_close(
                ctx.call(x, weight, bias, **kw),
                ctx.reference(x, weight, bias, **kw),
                dtype=dtype,
                atol=atol,
                rtol=PROPERTY_RTOL.get(dtype),
            )


@check(
    "float64 input is computed in float64 (rows near 100, rtol and atol 1e-12: a float32 step such as `.float()` fails)",
    zh="float64 输入全程用 float64 计算（行值在 100 附近，rtol 和 atol 为 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    # Rows shorter than a block: long rows have their own regime check.
    d = ctx.draw(st.sampled_from([200, 77]))
    x = 100.0 + ctx.randn(3, d, dtype=torch.float64)
    weight, bias = _params(ctx, d, torch.float64)
    out = ctx.call(x, weight, bias)
    ctx.assert_close(out, ctx.reference(x, weight, bias), dtype=torch.float64, rtol=FLOAT64_TOL, atol=FLOAT64_TOL)


@check(
    "eps is added to the variance, inside the square root (rows whose variance is about eps)",
    zh="eps 加在方差上，位于平方根里面（方差约为 eps 的行）",
    examples=5,
    teaches=["norm.layernorm_impl", "norm.rmsnorm_eps"],
)
def eps_inside_sqrt(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    d = ctx.draw(st.sampled_from([8, 3, 17]))
    kw, spread = ctx.draw(st.sampled_from([({}, 3e-3), ({"eps": 1e-3}, 3e-2)]))  # var ~ spread^2 ~ eps
    x = ctx.randn(3, d, dtype=dtype, scale=spread)
    weight, bias = _params(ctx, d, dtype)
    ctx.assert_close(
        ctx.call(x, weight, bias, **kw),
        ctx.reference(x, weight, bias, **kw),
        dtype=dtype,
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


@check(
    "rows far from zero (100 + noise) in float32: variance as the mean of squared deviations",
    zh="float32 下远离零的行（100 + 噪声）：方差按偏差平方的均值计算",
    examples=10,
    teaches=["norm.layernorm_impl"],
)
def large_mean(ctx):
    # E[x^2] - E[x]^2 cancels catastrophically here: 1e4 - 1e4 in float32 leaves ~1e-3 of noise
    # where the variance is ~1. Each row's noise is standardised so no row is ill-conditioned.
    d = ctx.draw(st.sampled_from([4, 8, 17, 64]))
    noise = ctx.randn(3, d, dtype=torch.float64)
    noise = (noise - noise.mean(-1, keepdim=True)) / noise.std(-1, keepdim=True)
    x = (100.0 + noise).float()
    weight, bias = _params(ctx, d, torch.float32)
    # The float32 mean itself is off by up to half an ulp of 100 (4e-6): a little atol for that.
    ctx.assert_close(ctx.call(x, weight, bias), ctx.reference(x, weight, bias), dtype=torch.float32, atol=5e-5)


@check(
    "bfloat16 input: statistics in float32 (rows offset from zero), returned in bfloat16",
    zh="bfloat16 输入：统计量用 float32 计算（行值偏离零），以 bfloat16 返回",
    examples=10,
    teaches=["norm.rmsnorm_fp32"],
)
def bf16_statistics(ctx):
    # In bfloat16 the mean of values near 16 is rounded to a multiple of 1/16; x - mean then
    # loses several percent of a unit spread. Computed in float32 it is exact.
    d = ctx.draw(st.sampled_from([16, 33, 64]))
    x = (16.0 + ctx.randn(3, d, dtype=torch.float64)).to(torch.bfloat16)
    weight, bias = _params(ctx, d, torch.bfloat16)
    ctx.assert_close(ctx.call(x, weight, bias), ctx.reference(x, weight, bias), dtype=torch.bfloat16)


_BASE = """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)
    return ((xf - mean) / torch.sqrt(var + eps) * weight + bias).to(x.dtype)
"""

WRONG_ANSWERS = {
    "computes in float32 for float64 input too (`x.float()` unconditionally)": edited(
        _BASE, ("xf = x.float() if x.dtype != torch.float64 else x", "xf = x.float()")
    ),
    "centres x in place (`x.float()` is x itself for float32 input)": edited(
        _BASE,
        ("var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)", "xf.sub_(mean)\n    var = xf.pow(2).mean(dim=-1, keepdim=True)"),
        ("((xf - mean) / torch.sqrt", "(xf / torch.sqrt"),
    ),
    "statistics over the first 256 elements of each row only (one block of a long row)": edited(
        _BASE,
        ("mean = xf.mean(dim=-1, keepdim=True)", "mean = xf[..., :256].mean(dim=-1, keepdim=True)"),
        ("var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)", "var = (xf - mean)[..., :256].pow(2).mean(dim=-1, keepdim=True)"),
    ),
    "statistics over dim 1 (right for 2-D x only)": edited(
        _BASE,
        ("mean = xf.mean(dim=-1, keepdim=True)", "mean = xf.mean(dim=1, keepdim=True)"),
        ("var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)", "var = (xf - mean).pow(2).mean(dim=1, keepdim=True)"),
    ),
    "ignores the eps argument (always 1e-5)": edited(_BASE, ("torch.sqrt(var + eps)", "torch.sqrt(var + 1e-5)")),
    "unbiased variance (torch.var's default divides by D - 1)": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
""",
    "one-pass variance E[x^2] - E[x]^2 (cancels catastrophically when the mean is large)": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    var = (xf * xf).mean(dim=-1, keepdim=True) - mean * mean
    return ((xf - mean) / torch.sqrt(var + eps) * weight + bias).to(x.dtype)
""",
    "eps added to the standard deviation instead of the variance": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    std = (xf - mean).pow(2).mean(dim=-1, keepdim=True).sqrt()
    return ((xf - mean) / (std + eps) * weight + bias).to(x.dtype)
""",
    "statistics over every dim (the whole tensor) instead of the last": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean()
    var = (xf - mean).pow(2).mean()
    return ((xf - mean) / torch.sqrt(var + eps) * weight + bias).to(x.dtype)
""",
    "weight and bias swapped": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)
    return ((xf - mean) / torch.sqrt(var + eps) * bias + weight).to(x.dtype)
""",
    "computes in bfloat16 throughout for bfloat16 input": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean).pow(2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
""",
}

ALTERNATIVES = {
    "torch.var_mean with correction=0, rsqrt, in float32 for half precision": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    var, mean = torch.var_mean(xw, dim=-1, keepdim=True, correction=0)
    y = (xw - mean) * torch.rsqrt(var + eps)
    return torch.addcmul(bias.to(work), y, weight.to(work)).to(x.dtype)
""",
    "normalise in float32, cast back, then scale and shift in x's dtype": """
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    centred = xf - xf.mean(-1, keepdim=True)
    std = torch.sqrt(centred.square().sum(-1, keepdim=True) / x.shape[-1] + eps)
    return (centred / std).to(x.dtype) * weight + bias
""",
}
