"""softmax.softmax — a numerically stable softmax along any dim: reference, checks, wrong answers.

softmax(x, dim=-1) = exp(x - max) / sum(exp(x - max)) along `dim`; accurate for float32 inputs of
magnitude up to 1e4, where exp(x) alone overflows.
"""
import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

# The five of CONTRACTS.md, then other spellings of the same kernels (torch.special, the nn
# modules, the log_softmax method), which would otherwise slip past.
FORBIDDEN = [
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.special.softmax",
    "torch.special.log_softmax",
    "torch.nn.Softmax",
    "torch.nn.LogSoftmax",
    "torch.Tensor.log_softmax",
]

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


@check("matches the reference (random shapes, any dim positive or negative, float32/float64/bfloat16)")
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    shape, kw = _shape_and_dim(ctx)
    x = ctx.randn(*shape, dtype=dtype, scale=3.0)
    ctx.assert_close(ctx.call(x, **kw), ctx.reference(x, **kw), dtype=dtype)


@check("sums to 1 along the given dim, every entry in [0, 1]")
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


@check("float32 inputs of magnitude up to 1e4 (rows of very different scales, near-ties at +-1e4)", examples=15)
def large_inputs(ctx):
    shape, kw = _shape_and_dim(ctx)
    kind = ctx.draw(st.sampled_from(["spread", "offset"]))
    if kind == "spread":  # entries anywhere in [-1e4, 1e4]: rows' maxima differ by thousands
        x = (ctx.rand(*shape, dtype=torch.float64) * 2e4 - 1e4).float()
    else:  # every entry near +1e4 or near -1e4: the answer is a smooth distribution, not one-hot
        sign = ctx.draw(st.sampled_from([1.0, -1.0]))
        x = (sign * 1e4 + ctx.randn(*shape, dtype=torch.float64) * 3).float()
    ctx.assert_close(ctx.call(x, **kw), ctx.reference(x, **kw), dtype=torch.float32, rtol=LARGE_RTOL, atol=1e-6)


WRONG_ANSWERS = {
    "no max subtraction: exp overflows to inf (NaN) for large inputs": '''
import torch

def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
''',
    "always normalises over the last dim, ignoring `dim`": '''
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
''',
    "subtracts the global max instead of each row's max (rows far below it underflow to 0/0)": '''
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
''',
    "max over the given dim but the sum over the last dim": '''
import torch

def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
''',
    "calls torch.softmax": '''
import torch

def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
''',
    "computes in float64 and returns float64": '''
import torch

def softmax(x, dim=-1):
    x = x.double()
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)
''',
}

ALTERNATIVES = {
    "exp(x - logsumexp(x)), in float32 for bfloat16": '''
import torch

def softmax(x, dim=-1):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    return torch.exp(xw - torch.logsumexp(xw, dim=dim, keepdim=True)).to(x.dtype)
''',
    "moves `dim` to the end, works on the last axis, moves it back": '''
import torch

def softmax(x, dim=-1):
    y = x.movedim(dim, -1)
    m = y.max(dim=-1, keepdim=True).values
    e = (y - m).exp()
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)
''',
}
