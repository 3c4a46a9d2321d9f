"""norm.rms_norm — RMSNorm: reference, checks, known-wrong answers.

rms_norm(x, weight, eps=1e-6): over the last dim, x / sqrt(mean(x^2) + eps) * weight, computed in
float32 (float64 for float64 input) and returned in x's dtype.
"""
import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

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


def _inputs(ctx, dtype, d=None):
    """x (..., D) with 0 to 2 leading dims (sizes 1 and odd included) and a weight near 1."""
    lead = ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    d = d or ctx.draw(st.sampled_from([5, 1, 2, 3, 8, 17]))
    # Small inputs make eps matter: mean(x^2) ~ 1e-6 is the size of the default eps.
    scale = ctx.draw(st.sampled_from([1e-3, 1.0, 30.0]))
    x = ctx.randn(*lead, d, dtype=dtype, scale=scale)
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    return x, weight


@check("matches the reference (random shapes, float32/float64/bfloat16, small and large inputs, eps default and not)")
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x, weight = _inputs(ctx, dtype)
    kw = ctx.draw(st.sampled_from([{}, {"eps": 1e-5}, {"eps": 1e-2}, {"eps": 0.5}]))  # {}: eps at its default
    ctx.assert_close(ctx.call(x, weight, **kw), ctx.reference(x, weight, **kw), dtype=dtype)


@check("a row of zeros gives zeros, not NaN (eps inside the square root)")
def zero_rows(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x, weight = _inputs(ctx, dtype)
    x = x.reshape(-1, x.shape[-1]).clone()
    zero = ctx.draw(st.integers(0, x.shape[0] - 1))
    x[zero] = 0
    if x.shape[0] == 1:  # keep one non-zero row so the comparison can tell zeros from the answer
        x = torch.cat([x, ctx.randn(1, x.shape[-1], dtype=dtype)])
    ctx.assert_close(ctx.call(x, weight), ctx.reference(x, weight), dtype=dtype)


@check("bfloat16 input: computed in float32, returned in bfloat16 (within two bf16 roundings)", examples=8)
def computes_in_float32(ctx):
    # Long rows: a computation done in bfloat16 throughout is off by more than two roundings
    # somewhere in a row of a few hundred elements with near certainty.
    x, weight = _inputs(ctx, torch.bfloat16, d=ctx.draw(st.sampled_from([256, 384, 512])))
    out = ctx.call(x, weight)
    ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.bfloat16, rtol=BF16_FLOAT32_RTOL, atol=0.0)


WRONG_ANSWERS = {
    "eps added outside the square root: x / (sqrt(mean(x^2)) + eps)": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    rms = xf.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return (xf / (rms + eps) * weight).to(x.dtype)
''',
    "no eps at all (a zero row gives NaN)": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True)) * weight).to(x.dtype)
''',
    "mean of squares over the first dim instead of the last": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    ms = xf.pow(2).mean(dim=0, keepdim=True)
    return (xf * torch.rsqrt(ms + eps) * weight).to(x.dtype)
''',
    "divides by the L2 norm (sum of squares) instead of the root mean square": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).sum(dim=-1, keepdim=True) + eps) * weight).to(x.dtype)
''',
    "subtracts the mean first (that is LayerNorm without bias, not RMSNorm)": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    xc = xf - xf.mean(dim=-1, keepdim=True)
    return (xc * torch.rsqrt(xc.pow(2).mean(dim=-1, keepdim=True) + eps) * weight).to(x.dtype)
''',
    "computes in bfloat16 throughout for bfloat16 input": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight
''',
    "upcasts to float32 and forgets to cast back": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.float()
''',
    "ignores the eps argument (always 1e-6)": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float() if x.dtype != torch.float64 else x
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + 1e-6) * weight).to(x.dtype)
''',
}

ALTERNATIVES = {
    "Hugging Face's order: normalise in float32, cast back, then multiply by the weight": '''
import torch

def rms_norm(x, weight, eps=1e-6):
    dtype = x.dtype
    h = x.to(torch.float64 if dtype == torch.float64 else torch.float32)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return weight * h.to(dtype)
''',
    "norm divided by sqrt(D), with sqrt and division": '''
import math
import torch

def rms_norm(x, weight, eps=1e-6):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    d = x.shape[-1]
    rms = torch.sqrt(torch.linalg.vector_norm(xw, dim=-1, keepdim=True) ** 2 / d + eps)
    return (xw / rms * weight.to(work)).to(x.dtype)
''',
}
