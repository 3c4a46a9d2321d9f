"""ffn.swiglu — the SwiGLU feed-forward block: reference, checks, known-wrong answers.

swiglu(x, w_gate, w_up, w_down) = (silu(x @ w_gate) * (x @ w_up)) @ w_down with x (..., D),
w_gate and w_up (D, H), w_down (H, D); silu(z) = z * sigmoid(z).
"""
import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

FORBIDDEN = []


def reference(x, w_gate, w_up, w_down):
    # x (..., D), w_gate and w_up (D, H), w_down (H, D) -> (..., D); float64 inside
    x64 = x.double()
    gate = x64 @ w_gate.double()  # (..., H)
    up = x64 @ w_up.double()  # (..., H)
    hidden = gate * torch.sigmoid(gate) * up  # silu(gate) * up
    return (hidden @ w_down.double()).to(x.dtype)  # (..., D)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]


def _inputs(ctx, dtype, scale=1.0, lead=None, hidden=(1, 3, 4, 7, 11, 32)):
    """x (..., D) with 0 to 2 leading dims, weights scaled by 1/sqrt(fan-in) as at initialisation."""
    lead = lead if lead is not None else ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    d = ctx.draw(st.sampled_from([1, 2, 3, 5, 8, 16]))
    h = ctx.draw(st.sampled_from(hidden))
    x = ctx.randn(*lead, d, dtype=dtype, scale=scale)
    w_gate = ctx.randn(d, h, dtype=dtype, scale=1 / math.sqrt(d))
    w_up = ctx.randn(d, h, dtype=dtype, scale=1 / math.sqrt(d))
    w_down = ctx.randn(h, d, dtype=dtype, scale=1 / math.sqrt(h))
    return x, w_gate, w_up, w_down


def _bf16_atol(x, w_gate, w_up, w_down):
    """Absolute tolerance for bfloat16: a few roundings (u = 2**-8) of the largest sum of term
    magnitudes an output adds up, (|x| @ |w_gate| * |x| @ |w_up|) @ |w_down|. Computed in bfloat16
    throughout (as nn.Linear does), SwiGLU is off by up to ~0.8 u of that beyond rtol 2e-2."""
    xa = x.double().abs()
    terms = (xa @ w_gate.double().abs()) * (xa @ w_up.double().abs())
    return 3 * 2.0**-8 * float((terms @ w_down.double().abs()).max())


@check("matches the reference (random shapes, D != H, float32/float64/bfloat16)")
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    # Scale 3 puts gate pre-activations where silu, gelu and sigmoid gating visibly differ.
    args = _inputs(ctx, dtype, scale=ctx.draw(st.sampled_from([3.0, 1.0])))
    atol = _bf16_atol(*args) if dtype == torch.bfloat16 else None
    ctx.assert_close(ctx.call(*args), ctx.reference(*args), dtype=dtype, atol=atol)


@check("the gate is the silu branch: swapping w_gate and w_up changes the answer accordingly")
def gate_is_silu_branch(ctx):
    # silu(a) * b != silu(b) * a: calling with the weights swapped must give the reference of the
    # swapped call, so a solution that applies silu to the up branch fails one of the two.
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    x, w_gate, w_up, w_down = _inputs(ctx, dtype, scale=2.0)
    ctx.assert_close(ctx.call(x, w_gate, w_up, w_down), ctx.reference(x, w_gate, w_up, w_down), dtype=dtype)
    ctx.assert_close(ctx.call(x, w_up, w_gate, w_down), ctx.reference(x, w_up, w_gate, w_down), dtype=dtype)


@check("large pre-activations (|x @ w_gate| in the hundreds) in float32 stay finite and accurate", examples=10)
def large_inputs(ctx):
    # silu(z) is ~0 for very negative z and ~z for large z: a sigmoid written as 1 / (1 + exp(-z))
    # is fine, exp(z) / (1 + exp(z)) gives inf / inf = NaN once z > 88. At least 16 gate values
    # of spread 100 per example, so some are past 88.
    scale = 100.0
    x, w_gate, w_up, w_down = _inputs(ctx, torch.float32, scale=scale, lead=[2], hidden=(8, 32))
    out = ctx.call(x, w_gate, w_up, w_down)
    # Outputs are ~scale^2; float32 sums of such terms carry absolute errors ~1e-7 of that.
    ctx.assert_close(out, ctx.reference(x, w_gate, w_up, w_down), dtype=torch.float32, atol=1e-5 * scale**2)


WRONG_ANSWERS = {
    "gelu instead of silu on the gate": '''
import torch
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return (F.gelu(x @ w_gate) * (x @ w_up)) @ w_down
''',
    "sigmoid gate (GLU) instead of silu": '''
import torch

def swiglu(x, w_gate, w_up, w_down):
    return (torch.sigmoid(x @ w_gate) * (x @ w_up)) @ w_down
''',
    "silu on the up branch instead of the gate (gate and up swapped)": '''
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return ((x @ w_gate) * F.silu(x @ w_up)) @ w_down
''',
    "silu applied after the product, to the whole hidden vector": '''
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return F.silu((x @ w_gate) * (x @ w_up)) @ w_down
''',
    "relu instead of silu": '''
import torch

def swiglu(x, w_gate, w_up, w_down):
    return (torch.relu(x @ w_gate) * (x @ w_up)) @ w_down
''',
    "sigmoid written as exp(z) / (1 + exp(z)) (NaN for large gate values)": '''
import torch

def swiglu(x, w_gate, w_up, w_down):
    gate = x @ w_gate
    e = torch.exp(gate)
    return (gate * e / (1 + e) * (x @ w_up)) @ w_down
''',
}

ALTERNATIVES = {
    "einsum, silu spelled out as z / (1 + exp(-z)), in float32 for half precision": '''
import torch

def swiglu(x, w_gate, w_up, w_down):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    gate = torch.einsum("...d,dh->...h", xw, w_gate.to(work))
    up = torch.einsum("...d,dh->...h", xw, w_up.to(work))
    hidden = gate / (1 + torch.exp(-gate)) * up
    return torch.einsum("...h,hd->...d", hidden, w_down.to(work)).to(x.dtype)
''',
    "F.silu and matmul in x's dtype, gate and up computed by one matmul on the concatenated weights": '''
import torch
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    h = w_gate.shape[1]
    both = x @ torch.cat([w_gate, w_up], dim=1)   # (..., 2H)
    gate, up = both[..., :h], both[..., h:]
    return (F.silu(gate) * up) @ w_down
''',
}
