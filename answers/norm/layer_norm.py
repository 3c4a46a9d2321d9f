"""norm.layer_norm — LayerNorm: reference, checks, known-wrong answers.

layer_norm(x, weight, bias, eps=1e-5): over the last dim, (x - mean) / sqrt(var + eps) * weight +
bias with the biased variance (divide by D), returned in x's dtype.
"""
import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

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


def _params(ctx, d, dtype):
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    bias = ctx.randn(d, dtype=dtype, scale=0.5)
    return weight, bias


def _rows(ctx, dtype, offset, d=None):
    """x (..., D): 0 to 2 leading dims, each row `offset` plus noise of a drawn scale."""
    lead = ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    d = d or ctx.draw(st.sampled_from([5, 1, 2, 3, 8, 17]))
    scale = ctx.draw(st.sampled_from([1e-3, 1.0, 30.0]))
    x = (offset + ctx.randn(*lead, d, dtype=torch.float64) * scale).to(dtype)
    return x


@check("matches the reference (random shapes, float32/float64/bfloat16, small and large inputs, eps default and not)")
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x = _rows(ctx, dtype, offset=0.0)
    weight, bias = _params(ctx, x.shape[-1], dtype)
    kw = ctx.draw(st.sampled_from([{}, {"eps": 1e-6}, {"eps": 1e-2}, {"eps": 0.5}]))  # {}: eps at its default
    ctx.assert_close(ctx.call(x, weight, bias, **kw), ctx.reference(x, weight, bias, **kw), dtype=dtype)


@check("eps is added to the variance, inside the square root (rows whose variance is about eps)", examples=5)
def eps_inside_sqrt(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    d = ctx.draw(st.sampled_from([8, 3, 17]))
    kw, spread = ctx.draw(st.sampled_from([({}, 3e-3), ({"eps": 1e-3}, 3e-2)]))  # var ~ spread^2 ~ eps
    x = ctx.randn(3, d, dtype=dtype, scale=spread)
    weight, bias = _params(ctx, d, dtype)
    ctx.assert_close(ctx.call(x, weight, bias, **kw), ctx.reference(x, weight, bias, **kw), dtype=dtype)


@check("rows far from zero (100 + noise) in float32: variance as the mean of squared deviations", examples=10)
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


@check("bfloat16 input: statistics in float32 (rows offset from zero), returned in bfloat16", examples=10)
def bf16_statistics(ctx):
    # In bfloat16 the mean of values near 16 is rounded to a multiple of 1/16; x - mean then
    # loses several percent of a unit spread. Computed in float32 it is exact.
    d = ctx.draw(st.sampled_from([16, 33, 64]))
    x = (16.0 + ctx.randn(3, d, dtype=torch.float64)).to(torch.bfloat16)
    weight, bias = _params(ctx, d, torch.bfloat16)
    ctx.assert_close(ctx.call(x, weight, bias), ctx.reference(x, weight, bias), dtype=torch.bfloat16)


WRONG_ANSWERS = {
    "unbiased variance (torch.var's default divides by D - 1)": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
''',
    "one-pass variance E[x^2] - E[x]^2 (cancels catastrophically when the mean is large)": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    var = (xf * xf).mean(dim=-1, keepdim=True) - mean * mean
    return ((xf - mean) / torch.sqrt(var + eps) * weight + bias).to(x.dtype)
''',
    "eps added to the standard deviation instead of the variance": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    std = (xf - mean).pow(2).mean(dim=-1, keepdim=True).sqrt()
    return ((xf - mean) / (std + eps) * weight + bias).to(x.dtype)
''',
    "statistics over every dim (the whole tensor) instead of the last": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean()
    var = (xf - mean).pow(2).mean()
    return ((xf - mean) / torch.sqrt(var + eps) * weight + bias).to(x.dtype)
''',
    "weight and bias swapped": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    mean = xf.mean(dim=-1, keepdim=True)
    var = (xf - mean).pow(2).mean(dim=-1, keepdim=True)
    return ((xf - mean) / torch.sqrt(var + eps) * bias + weight).to(x.dtype)
''',
    "computes in bfloat16 throughout for bfloat16 input": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean).pow(2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
''',
}

ALTERNATIVES = {
    "torch.var_mean with correction=0, rsqrt, in float32 for half precision": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    var, mean = torch.var_mean(xw, dim=-1, keepdim=True, correction=0)
    y = (xw - mean) * torch.rsqrt(var + eps)
    return torch.addcmul(bias.to(work), y, weight.to(work)).to(x.dtype)
''',
    "normalise in float32, cast back, then scale and shift in x's dtype": '''
import torch

def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float() if x.dtype != torch.float64 else x
    centred = xf - xf.mean(-1, keepdim=True)
    std = torch.sqrt(centred.square().sum(-1, keepdim=True) / x.shape[-1] + eps)
    return (centred / std).to(x.dtype) * weight + bias
''',
}
