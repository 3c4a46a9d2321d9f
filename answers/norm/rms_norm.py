"""norm.rms_norm — RMSNorm: reference, checks, known-wrong answers.

rms_norm(x, weight, eps=1e-6): over the last dim, x / sqrt(mean(x^2) + eps) * weight, computed in
float32 (float64 for float64 input) and returned in x's dtype.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws:
- the width of the reduction: D = 1, a few, and thousands (a mean over only the first block of a
  row, or the wrong dim, shows only there); x 1-D, 2-D and 3-D (a dim counted from the front);
- rows whose mean square is far below eps (1e-6 values: eps dominates), about eps (1e-3 values:
  sqrt(ms) + eps and max(ms, eps) differ from ms + eps), zero rows, and 1e6 values;
- eps at its default and away from it;
- float64 input computed in float64 (a `.float()` leaves errors of 1e-8, far above rtol 1e-12);
- bfloat16 input computed in float32 (`computes_in_float32`).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

# torch.rms_norm is the same kernel under its top-level name (F.rms_norm calls it).
FORBIDDEN = ["torch.nn.functional.rms_norm", "torch.nn.RMSNorm", "torch.rms_norm"]

# bfloat16 keeps 8 significant bits: one rounding costs at most u = 2**-8 of the value. A float32
# computation rounded once to bfloat16 is within u; Hugging Face's order (round the normalised x,
# then multiply by the bf16 weight and round again) is within 2u + u^2. Anything computed in
# bfloat16 throughout goes past that (see `computes_in_float32`).
BF16_FLOAT32_RTOL = 2 * 2**-8 + 2**-16 + 1e-6


def reference(x, weight, eps=1e-6):
    # x (..., D), weight (D,) -> (..., D), in float64 inside
    x64 = x.double()
    mean_square = x64.pow(2).mean(dim=-1, keepdim=True)  # (..., 1)
    return (x64 * torch.rsqrt(mean_square + eps) * weight.double()).to(x.dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}


def _inputs(ctx, dtype, d=None):
    """x (..., D) with 0 to 2 leading dims (sizes 1 and odd included) and a weight near 1."""
    lead = ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    d = d or ctx.draw(st.sampled_from([5, 1, 2, 3, 8, 17]))
    # Small inputs make eps matter: mean(x^2) ~ 1e-6 is the size of the default eps.
    scale = ctx.draw(st.sampled_from([1e-3, 1.0, 30.0]))
    x = ctx.randn(*lead, d, dtype=dtype, scale=scale)
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    return x, weight


@check(
    "matches the reference (random shapes, float32/float64/bfloat16, small and large inputs, eps default and not)",
    zh="与参考实现一致（随机形状，float32/float64/bfloat16，输入小和大，eps 默认和非默认）",
    teaches=["norm.rmsnorm", "norm.rmsnorm_eps"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x, weight = _inputs(ctx, dtype)
    kw = ctx.draw(st.sampled_from([{}, {"eps": 1e-5}, {"eps": 1e-2}, {"eps": 0.5}]))  # {}: eps at its default
    ctx.assert_close(ctx.call(x, weight, **kw), ctx.reference(x, weight, **kw), dtype=dtype)


# Far below float32's rounding (6e-8) and far above float64's error over a row.
FLOAT64_RTOL = 1e-12


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step such as `.float()` fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    # Rows shorter than a block (long rows have their own regime check), of mixed magnitudes:
    # any float32 rounding of x, the mean or the rsqrt shows at 1e-8.
    d = ctx.draw(st.sampled_from([200, 77]))
    x = ctx.randn(3, d, dtype=torch.float64) * torch.tensor([[1e-3], [1.0], [1e4]], dtype=torch.float64)
    weight = 1 + ctx.randn(d, dtype=torch.float64) * 0.5
    out = ctx.call(x, weight)
    ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


# (shape of x, scale of its values, keyword arguments): every regime of the module docstring.
REGIMES = [
    ((1,), 1.0, {}),  # D = 1, 1-D x: the output is sign(x) * weight
    ((7,), 1.0, {}),  # 1-D x
    ((2, 3, 5), 1.0, {}),  # 3-D x: a reduction over dim 1 or over the flattened tensor shows
    ((3, 1000), 1.0, {}),  # many blocks: a mean over only the first elements shows
    ((2, 4, 64), 1.0, {}),
    ((3, 16), 1e-6, {}),  # mean(x^2) ~ 1e-12, far below eps: the output is about x / sqrt(eps)
    ((3, 16), 1e-3, {}),  # mean(x^2) ~ eps
    ((3, 16), 0.1, {"eps": 1e-2}),  # mean(x^2) ~ a non-default eps
    ((2, 9), 1e6, {"eps": 0.5}),
]


@check(
    "boundary regimes, every run: D = 1, 7, 1000; 1-D and 3-D x; rows of 1e-6, 1e-3 and 1e6; eps away from its default",
    zh="每次都测的边界情形：D = 1、7、1000；1-D 和 3-D 的 x；1e-6、1e-3 和 1e6 的行；eps 取非默认值",
    examples=1,
    teaches=["norm.rmsnorm_eps", "norm.rmsnorm"],
)
def boundary_regimes(ctx):
    for dtype in (torch.float32, torch.float64):
        for shape, scale, kw in REGIMES:
            x = ctx.randn(*shape, dtype=dtype, scale=scale)
            weight = (1 + ctx.randn(shape[-1], dtype=torch.float64) * 0.5).to(dtype)
            ctx.assert_close(
                ctx.call(x, weight, **kw),
                ctx.reference(x, weight, **kw),
                dtype=dtype,
                rtol=PROPERTY_RTOL.get(dtype),
                atol=PROPERTY_ATOL.get(dtype),
            )


@check(
    "a row of zeros gives zeros, not NaN (eps inside the square root)",
    zh="全零行得到零，而不是 NaN（eps 在平方根里面）",
    teaches=["norm.rmsnorm_eps"],
)
def zero_rows(ctx):
    # float32 and bfloat16 only: float64 precision has its own check above, so a float32 step on
    # float64 input is never reported under this title.
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.bfloat16]))
    x, weight = _inputs(ctx, dtype)
    x = x.reshape(-1, x.shape[-1]).clone()
    zero = ctx.draw(st.integers(0, x.shape[0] - 1))
    x[zero] = 0
    if x.shape[0] == 1:  # keep one non-zero row so the comparison can tell zeros from the answer
        x = torch.cat([x, ctx.randn(1, x.shape[-1], dtype=dtype)])
    ctx.assert_close(ctx.call(x, weight), ctx.reference(x, weight), dtype=dtype)


@check(
    "bfloat16 input: computed in float32, returned in bfloat16 (within two bf16 roundings)",
    zh="bfloat16 输入：用 float32 计算，以 bfloat16 返回（误差在两次 bf16 舍入内）",
    examples=8,
    teaches=["norm.rmsnorm_fp32"],
)
def computes_in_float32(ctx):
    # Long rows: a computation done in bfloat16 throughout is off by more than two roundings
    # somewhere in a row of a few hundred elements with near certainty.
    x, weight = _inputs(ctx, torch.bfloat16, d=ctx.draw(st.sampled_from([256, 384, 512])))
    out = ctx.call(x, weight)
    ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.bfloat16, rtol=BF16_FLOAT32_RTOL, atol=0.0)


_BASE = """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    ms = xf.pow(2).mean(dim=-1, keepdim=True)
    return (xf * torch.rsqrt(ms + eps) * weight).to(x.dtype)
"""

WRONG_ANSWERS = {
    "computes in float32 for float64 input too (`x.float()` unconditionally)": edited(
        _BASE, ("xf = x.float() if x.dtype != torch.float64 else x", "xf = x.float()")
    ),
    "scales x in place (`x.float()` is x itself for float32 input)": edited(
        _BASE,
        (
            "return (xf * torch.rsqrt(ms + eps) * weight).to(x.dtype)",
            "xf.mul_(torch.rsqrt(ms + eps))\n    return (xf * weight).to(x.dtype)",
        ),
    ),
    "mean square over the first 256 elements of each row only (one block of a long row)": edited(
        _BASE, ("ms = xf.pow(2).mean(dim=-1, keepdim=True)", "ms = xf[..., :256].pow(2).mean(dim=-1, keepdim=True)")
    ),
    "mean square over dim 1 (right for 2-D x only)": edited(
        _BASE, ("ms = xf.pow(2).mean(dim=-1, keepdim=True)", "ms = xf.pow(2).mean(dim=1, keepdim=True)")
    ),
    "max(mean(x^2), eps) instead of mean(x^2) + eps (differs only when mean(x^2) is near eps)": edited(
        _BASE, ("torch.rsqrt(ms + eps)", "torch.rsqrt(ms.clamp(min=eps))")
    ),
    "eps added outside the square root: x / (sqrt(mean(x^2)) + eps)": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    rms = xf.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return (xf / (rms + eps) * weight).to(x.dtype)
""",
    "no eps at all (a zero row gives NaN)": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True)) * weight).to(x.dtype)
""",
    "mean of squares over the first dim instead of the last": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    ms = xf.pow(2).mean(dim=0, keepdim=True)
    return (xf * torch.rsqrt(ms + eps) * weight).to(x.dtype)
""",
    "divides by the L2 norm (sum of squares) instead of the root mean square": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).sum(dim=-1, keepdim=True) + eps) * weight).to(x.dtype)
""",
    "subtracts the mean first (that is LayerNorm without bias, not RMSNorm)": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    xc = xf - xf.mean(dim=-1, keepdim=True)
    return (xc * torch.rsqrt(xc.pow(2).mean(dim=-1, keepdim=True) + eps) * weight).to(x.dtype)
""",
    "computes in bfloat16 throughout for bfloat16 input": """
import torch

def rms_norm(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight
""",
    "upcasts to float32 and forgets to cast back": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.float()
""",
    "ignores the eps argument (always 1e-6)": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + 1e-6) * weight).to(x.dtype)
""",
}

ALTERNATIVES = {
    "Hugging Face's order: normalise in float32, cast back, then multiply by the weight": """
import torch

def rms_norm(x, weight, eps=1e-6):
    dtype = x.dtype
    h = x.to(torch.float64 if dtype == torch.float64 else torch.float32)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return weight * h.to(dtype)
""",
    "norm divided by sqrt(D), with sqrt and division": """
import math
import torch

def rms_norm(x, weight, eps=1e-6):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    d = x.shape[-1]
    rms = torch.sqrt(torch.linalg.vector_norm(xw, dim=-1, keepdim=True) ** 2 / d + eps)
    return (xw / rms * weight.to(work)).to(x.dtype)
""",
}
