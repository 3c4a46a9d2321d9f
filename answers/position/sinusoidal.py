"""position.sinusoidal — the sinusoidal position table of Vaswani et al.: reference, checks, known-wrong answers.

sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32) -> (T, D):
PE[p, 2i] = sin(p / base^(2i/D)), PE[p, 2i+1] = cos(p / base^(2i/D)); positions p = 0..T-1; D even.
"""
import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

FORBIDDEN = []


def reference(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64).unsqueeze(1)  # (T, 1) positions
    two_i = torch.arange(0, d, 2, dtype=torch.float64)  # (D/2,) the even dims 2i
    angle = p / base ** (two_i / d)  # (T, D/2): pair i turns at frequency base^(-2i/D)
    pe = torch.empty(t, d, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()  # even dims: sin
    pe[:, 1::2] = angle.cos()  # odd dims: cos of the same angle
    return pe.to(dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
# Positions up to 64: float32 arithmetic on p * frequency stays within float32's tolerance there.
CASES = st.tuples(
    st.integers(1, 64),  # T
    st.sampled_from([2, 4, 6, 10, 16, 32, 64]),  # D
    st.sampled_from(["default", 100.0, 10000.0, 500000.0]),  # base
    st.sampled_from(["default", *DTYPES]),
)


@check("matches the exact table (T up to 64, several D, base and dtype at their defaults and away from them)")
def matches_reference(ctx):
    t, d, base, dtype = ctx.draw(CASES)
    kwargs = {}
    if base != "default":
        kwargs["base"] = base
    if dtype != "default":
        kwargs["dtype"] = dtype
    out = ctx.call(t, d, **kwargs)
    expected = ctx.reference(t, d, kwargs.get("base", 10000.0), torch.float64)  # exact; the output is rounded to dtype
    ctx.assert_close(out, expected, dtype=kwargs.get("dtype", torch.float32))


@check("PE[p] . PE[p + k] depends only on the offset k: it equals the sum over pairs of cos(k * frequency)")
def relative_dot_products(ctx):
    t, d, base, _ = ctx.draw(CASES)
    t = max(t, 2)
    base = 10000.0 if base == "default" else base
    pe = ctx.call(t, d, base=base, dtype=torch.float64)
    if not isinstance(pe, torch.Tensor) or tuple(pe.shape) != (t, d):
        ctx.assert_close(pe, reference(t, d, base, torch.float64), dtype=torch.float64)
    k = int(torch.randint(1, t, (1,), generator=ctx.generator))
    frequencies = [base ** (-2 * i / d) for i in range(d // 2)]
    expected = sum(math.cos(k * w) for w in frequencies)
    for p in {0, t - 1 - k, (t - 1 - k) // 2}:
        got = float(pe[p] @ pe[p + k])
        ctx.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@check("each (sin, cos) pair has norm 1, so every row has norm sqrt(D / 2)")
def row_norms(ctx):
    t, d, base, _ = ctx.draw(CASES)
    base = 10000.0 if base == "default" else base
    pe = ctx.call(t, d, base=base, dtype=torch.float64)
    if not isinstance(pe, torch.Tensor) or tuple(pe.shape) != (t, d):
        ctx.assert_close(pe, reference(t, d, base, torch.float64), dtype=torch.float64)
    pairs = pe.reshape(t, d // 2, 2).pow(2).sum(-1)  # (T, D/2): sin^2 + cos^2 of adjacent dims
    ctx.assert_close(pairs, torch.ones(t, d // 2, dtype=torch.float64), dtype=torch.float64)


WRONG_ANSWERS = {
    "sin and cos swapped (cos on the even dims)": '''
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    angle = p / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)
    return pe.to(dtype)
''',
    "concatenates [sin | cos] halves (the tensor2tensor layout) instead of interleaving": '''
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    angle = p / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    return torch.cat([angle.sin(), angle.cos()], dim=1).to(dtype)
''',
    "exponent 2 * (2i) / D: uses the even dim index 2i where the formula's i belongs": '''
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    even = torch.arange(0, d, 2, dtype=torch.float64)
    angle = p / base ** (2 * even / d)
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe.to(dtype)
''',
    "ignores dtype: always returns float32": '''
import math
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(base) / d))
    p = torch.arange(t).float()[:, None]
    pe = torch.zeros(t, d)
    pe[:, 0::2] = torch.sin(p * div)
    pe[:, 1::2] = torch.cos(p * div)
    return pe
''',
}

ALTERNATIVES = {
    "unit complex numbers e^{i angle} from torch.polar, (cos, sin) swapped into (sin, cos) pairs": '''
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    inv_freq = torch.exp(-torch.arange(0, d, 2, dtype=torch.float64) / d * torch.log(torch.tensor(base, dtype=torch.float64)))
    angle = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)  # (T, D/2)
    z = torch.polar(torch.ones_like(angle), angle)  # cos + i sin
    cos_sin = torch.view_as_real(z)  # (T, D/2, 2) = (cos, sin)
    return cos_sin.flip(-1).reshape(t, d).to(dtype)  # (sin, cos) interleaved
''',
    "float32 arithmetic the Annotated Transformer way, cast at the end": '''
import math
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    work = torch.float64 if dtype == torch.float64 else torch.float32
    div = torch.exp(torch.arange(0, d, 2, dtype=work) * (-math.log(base) / d))
    p = torch.arange(t, dtype=work).unsqueeze(1)
    pe = torch.zeros(t, d, dtype=work)
    pe[:, 0::2] = torch.sin(p * div)
    pe[:, 1::2] = torch.cos(p * div)
    return pe.to(dtype)
''',
}
