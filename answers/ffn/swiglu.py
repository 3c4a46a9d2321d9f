"""ffn.swiglu — the SwiGLU feed-forward block: reference, checks, known-wrong answers.

swiglu(x, w_gate, w_up, w_down) = (silu(x @ w_gate) * (x @ w_up)) @ w_down with x (..., D),
w_gate and w_up (D, H), w_down (H, D); silu(z) = z * sigmoid(z).

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- x 1-D, 2-D and 3-D (an einsum or a reshape written for (B, D) breaks on the others);
- D = H = 1, D = H (square weights: the nn.Linear layout `x @ w.T` runs and gives wrong values),
  D > H, D < H, and a hidden width of 2048;
- gate pre-activations in the hundreds, both signs (exp(z) / (1 + exp(z)) is NaN past 88), and
  near -1000 (silu is 0 there);
- float64 input computed in float64 (a `.float()` leaves errors of 1e-8 of the summed terms).
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = []


def reference(x, w_gate, w_up, w_down):
    # x (..., D), w_gate and w_up (D, H), w_down (H, D) -> (..., D); float64 inside
    x64 = x.double()
    gate = x64 @ w_gate.double()  # (..., H)
    up = x64 @ w_up.double()  # (..., H)
    hidden = gate * torch.sigmoid(gate) * up  # silu(gate) * up
    return (hidden @ w_down.double()).to(x.dtype)  # (..., D)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}


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


@check(
    "matches the reference (random shapes, D != H, float32/float64/bfloat16)",
    zh="与参考实现一致（随机形状，D != H，float32/float64/bfloat16）",
    teaches=["ffn.swiglu_definition", "ffn.llama_mlp_code"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    # Scale 3 puts gate pre-activations where silu, gelu and sigmoid gating visibly differ.
    args = _inputs(ctx, dtype, scale=ctx.draw(st.sampled_from([3.0, 1.0])))
    atol = _bf16_atol(*args) if dtype == torch.bfloat16 else None
    ctx.assert_close(ctx.call(*args), ctx.reference(*args), dtype=dtype, atol=atol)


def _term_scale(x, w_gate, w_up, w_down):
    """The largest sum of term magnitudes an output adds up: errors are relative to this, not to
    the output, which may cancel to near zero."""
    xa = x.double().abs()
    return float((((xa @ w_gate.double().abs()) * (xa @ w_up.double().abs())) @ w_down.double().abs()).max())


FLOAT64_TOL = 1e-12  # relative to the term scale: far below float32's rounding, above float64's


@check(
    "float64 input is computed in float64 (errors below 1e-12 of the summed terms: a float32 step such as `.float()` fails)",
    zh="float64 输入全程用 float64 计算（误差低于各项之和的 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    d, h = ctx.draw(st.sampled_from([(64, 256), (96, 160)]))
    x = ctx.randn(5, d, dtype=torch.float64, scale=2.0)
    w_gate = ctx.randn(d, h, dtype=torch.float64, scale=1 / math.sqrt(d))
    w_up = ctx.randn(d, h, dtype=torch.float64, scale=1 / math.sqrt(d))
    w_down = ctx.randn(h, d, dtype=torch.float64, scale=1 / math.sqrt(h))
    args = (x, w_gate, w_up, w_down)
    ctx.assert_close(
        ctx.call(*args), ctx.reference(*args), dtype=torch.float64, rtol=FLOAT64_TOL, atol=FLOAT64_TOL * _term_scale(*args)
    )


# (shape of x without D, D, H, scale of x): every regime of the module docstring.
REGIMES = [
    ((), 5, 3, 1.0),  # 1-D x
    ((2, 3), 4, 6, 1.0),  # 3-D x
    ((3,), 1, 1, 1.0),  # D = H = 1
    ((3,), 8, 8, 1.0),  # square weights
    ((2,), 16, 3, 1.0),  # D > H
    ((2,), 4, 2048, 1.0),  # a wide hidden layer
    ((4,), 8, 32, 100.0),  # gates in the hundreds, both signs
]


def _regime_inputs(ctx, dtype, lead, d, h, scale):
    x = ctx.randn(*lead, d, dtype=dtype, scale=scale)
    w_gate = ctx.randn(d, h, dtype=dtype, scale=1 / math.sqrt(d))
    w_up = ctx.randn(d, h, dtype=dtype, scale=1 / math.sqrt(d))
    w_down = ctx.randn(h, d, dtype=dtype, scale=1 / math.sqrt(h))
    return x, w_gate, w_up, w_down


@check(
    "boundary regimes, every run: 1-D and 3-D x; D = H = 1, D = H, D > H, H = 2048; gates in the hundreds and near -1000",
    zh="每次都测的边界情形：1-D 和 3-D 的 x；D = H = 1，D = H，D > H，H = 2048；门控值为几百和接近 -1000",
    examples=1,
    teaches=["ffn.swiglu_definition"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        cases = [_regime_inputs(ctx, dtype, *regime) for regime in REGIMES]
        # Every gate near -1000 (silu ~ 0): x in [0.5, 1.5), w_gate about -250 per entry.
        x, _, w_up, w_down = _regime_inputs(ctx, dtype, (3,), 4, 8, 1.0)
        x = (ctx.rand(3, 4, dtype=torch.float64) + 0.5).to(dtype)
        w_gate = (-250 * (1 + 0.1 * ctx.randn(4, 8, dtype=torch.float64))).to(dtype)
        cases.append((x, w_gate, w_up, w_down))
        for args in cases:
            # Errors scale with the summed term magnitudes, not with outputs that may cancel; float64
            # is held to float32's level here (finer errors are the precision check's).
            atol = _bf16_atol(*args) if dtype == torch.bfloat16 else 1e-6 * _term_scale(*args)
            ctx.assert_close(ctx.call(*args), ctx.reference(*args), dtype=dtype, atol=atol, rtol=PROPERTY_RTOL.get(dtype))


@check(
    "the gate is the silu branch: swapping w_gate and w_up changes the answer accordingly",
    zh="门控是 silu 分支：交换 w_gate 和 w_up，结果相应改变",
    teaches=["ffn.llama_mlp_code", "ffn.swiglu_definition"],
)
def gate_is_silu_branch(ctx):
    # silu(a) * b != silu(b) * a: calling with the weights swapped must give the reference of the
    # swapped call, so a solution that applies silu to the up branch fails one of the two.
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    x, w_gate, w_up, w_down = _inputs(ctx, dtype, scale=2.0)
    ctx.assert_close(
        ctx.call(x, w_gate, w_up, w_down),
        ctx.reference(x, w_gate, w_up, w_down),
        dtype=dtype,
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )
    ctx.assert_close(
        ctx.call(x, w_up, w_gate, w_down),
        ctx.reference(x, w_up, w_gate, w_down),
        dtype=dtype,
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


@check(
    "large pre-activations (|x @ w_gate| in the hundreds) in float32 stay finite and accurate",
    zh="float32 下较大的激活前值（|x @ w_gate| 为几百）保持有限且准确",
    examples=10,
)
def large_inputs(ctx):
    # silu(z) is ~0 for very negative z and ~z for large z: a sigmoid written as 1 / (1 + exp(-z))
    # is fine, exp(z) / (1 + exp(z)) gives inf / inf = NaN once z > 88. At least 16 gate values
    # of spread 100 per example, so some are past 88.
    scale = 100.0
    x, w_gate, w_up, w_down = _inputs(ctx, torch.float32, scale=scale, lead=[2], hidden=(8, 32))
    out = ctx.call(x, w_gate, w_up, w_down)
    # Outputs are ~scale^2; float32 sums of such terms carry absolute errors ~1e-7 of that.
    ctx.assert_close(out, ctx.reference(x, w_gate, w_up, w_down), dtype=torch.float32, atol=1e-5 * scale**2)


_PLAIN = """
import torch
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    gate = x @ w_gate
    up = x @ w_up
    return (F.silu(gate) * up) @ w_down
"""

WRONG_ANSWERS = {
    "computes in float32 for float64 input too (`x.float()`)": edited(
        _PLAIN,
        (
            "    gate = x @ w_gate\n    up = x @ w_up\n    return (F.silu(gate) * up) @ w_down",
            "    xf = x.float()\n    gate = xf @ w_gate.float()\n    up = xf @ w_up.float()\n    return ((F.silu(gate) * up) @ w_down.float()).to(x.dtype)",
        ),
    ),
    "silu in float32 (`F.silu(gate.float())`) for every dtype, float64 included": edited(
        _PLAIN,
        ("(F.silu(gate) * up)", "(F.silu(gate.float()).to(gate.dtype) * up)"),
    ),
    "nn.Linear layout (x @ w.T): runs only for square weights, and is wrong there": edited(
        _PLAIN,
        (
            "    gate = x @ w_gate\n    up = x @ w_up\n    return (F.silu(gate) * up) @ w_down",
            "    gate = x @ w_gate.T\n    up = x @ w_up.T\n    return (F.silu(gate) * up) @ w_down.T",
        ),
    ),
    "einsum written for 2-D x ('bd,dh->bh'): breaks on 1-D and 3-D x": edited(
        _PLAIN,
        (
            "    gate = x @ w_gate\n    up = x @ w_up\n    return (F.silu(gate) * up) @ w_down",
            "    gate = torch.einsum('bd,dh->bh', x, w_gate)\n    up = torch.einsum('bd,dh->bh', x, w_up)\n    return torch.einsum('bh,hd->bd', F.silu(gate) * up, w_down)",
        ),
    ),
    "flattens x to (N, D) and reshapes the output to (x.shape[0], -1) (right for 2-D x only)": edited(
        _PLAIN,
        (
            "    gate = x @ w_gate\n    up = x @ w_up\n    return (F.silu(gate) * up) @ w_down",
            "    flat = x.reshape(-1, x.shape[-1])\n    out = (F.silu(flat @ w_gate) * (flat @ w_up)) @ w_down\n    return out.reshape(x.shape[0], -1)",
        ),
    ),
    "gelu instead of silu on the gate": """
import torch
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return (F.gelu(x @ w_gate) * (x @ w_up)) @ w_down
""",
    "sigmoid gate (GLU) instead of silu": """
import torch

def swiglu(x, w_gate, w_up, w_down):
    return (torch.sigmoid(x @ w_gate) * (x @ w_up)) @ w_down
""",
    "silu on the up branch instead of the gate (gate and up swapped)": """
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return ((x @ w_gate) * F.silu(x @ w_up)) @ w_down
""",
    "silu applied after the product, to the whole hidden vector": """
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    return F.silu((x @ w_gate) * (x @ w_up)) @ w_down
""",
    "relu instead of silu": """
import torch

def swiglu(x, w_gate, w_up, w_down):
    return (torch.relu(x @ w_gate) * (x @ w_up)) @ w_down
""",
    "sigmoid written as exp(z) / (1 + exp(z)) (NaN for large gate values)": """
import torch

def swiglu(x, w_gate, w_up, w_down):
    gate = x @ w_gate
    e = torch.exp(gate)
    return (gate * e / (1 + e) * (x @ w_up)) @ w_down
""",
}

ALTERNATIVES = {
    "einsum, silu spelled out as z / (1 + exp(-z)), in float32 for half precision": """
import torch

def swiglu(x, w_gate, w_up, w_down):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    gate = torch.einsum("...d,dh->...h", xw, w_gate.to(work))
    up = torch.einsum("...d,dh->...h", xw, w_up.to(work))
    hidden = gate / (1 + torch.exp(-gate)) * up
    return torch.einsum("...h,hd->...d", hidden, w_down.to(work)).to(x.dtype)
""",
    "F.silu and matmul in x's dtype, gate and up computed by one matmul on the concatenated weights": """
import torch
import torch.nn.functional as F

def swiglu(x, w_gate, w_up, w_down):
    h = w_gate.shape[1]
    both = x @ torch.cat([w_gate, w_up], dim=1)   # (..., 2H)
    gate, up = both[..., :h], both[..., h:]
    return (F.silu(gate) * up) @ w_down
""",
}
