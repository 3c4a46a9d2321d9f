"""position.sinusoidal — the sinusoidal position table of Vaswani et al.: reference, checks, known-wrong answers.

sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32) -> (T, D):
PE[p, 2i] = sin(p / base^(2i/D)), PE[p, 2i+1] = cos(p / base^(2i/D)); positions p = 0..T-1; D even.
A float64 table is computed in float64.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random): one position (p = 0 only: a frequency
mistake is hidden), one pair (D = 2: frequency 1 only), non-power-of-two D (6, 10), base away
from its default (100, 500000), dtype left at its default, and a float64 table of 4096
positions, where a float32 angle is off by ~1e-4: compared at rtol 1e-10.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

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


@check(
    "matches the exact table (T up to 64, several D, base and dtype at their defaults and away from them)",
    zh="与精确的表一致（T 最大 64，多个 D，base 和 dtype 取默认值和非默认值）",
    teaches=["position.sinusoidal_formula"],
)
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


# (what, t, d, kwargs)
REGIMES = [
    ("one position", 1, 8, {}),
    ("one pair (D = 2)", 5, 2, {}),
    ("D = 6, base 100, float64", 9, 6, {"base": 100.0, "dtype": torch.float64}),
    ("D = 10, base 500000", 13, 10, {"base": 500000.0}),
    ("64 positions, D = 64", 64, 64, {"dtype": torch.float32}),
    ("bfloat16, D = 16", 40, 16, {"dtype": torch.bfloat16}),
]


@check(
    "a float64 table is computed in float64 (rtol 1e-10 over 4096 positions, where float32 angles are off by ~1e-4)",
    zh="float64 的表全程用 float64 计算（4096 个位置上 rtol 1e-10，float32 的角度会偏差约 1e-4）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    base = ctx.draw(st.sampled_from([10000.0, 500000.0]))
    out = ctx.call(4096, 16, base=base, dtype=torch.float64)
    expected = ctx.reference(4096, 16, base, torch.float64)
    ctx.assert_close(out, expected, dtype=torch.float64, rtol=1e-10, atol=1e-10)


@check(
    "boundary regimes, every run: one position, one pair, D = 6 and 10, base 100 and 5e5, dtype default and not",
    zh="每次都测的边界情形：一个位置，一对维度，D = 6 和 10，base 为 100 和 5e5，dtype 默认和非默认",
    examples=1,
    teaches=["position.sinusoidal_formula"],
)
def boundary_regimes(ctx):
    for what, t, d, kwargs in REGIMES:
        out = ctx.call(t, d, **kwargs)
        expected = ctx.reference(t, d, kwargs.get("base", 10000.0), torch.float64)
        try:
            ctx.assert_close(out, expected, dtype=kwargs.get("dtype", torch.float32))
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "PE[p] . PE[p + k] depends only on the offset k: it equals the sum over pairs of cos(k * frequency)",
    zh="PE[p] . PE[p + k] 只依赖于偏移 k：等于各对维度上 cos(k * frequency) 之和",
    teaches=["position.sinusoidal_dot_limits", "position.sinusoidal_relative_rotation"],
)
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


@check(
    "each (sin, cos) pair has norm 1, so every row has norm sqrt(D / 2)",
    zh="每对 (sin, cos) 的范数为 1，所以每行的范数为 sqrt(D / 2)",
    teaches=["position.sinusoidal_formula"],
)
def row_norms(ctx):
    t, d, base, _ = ctx.draw(CASES)
    base = 10000.0 if base == "default" else base
    pe = ctx.call(t, d, base=base, dtype=torch.float64)
    if not isinstance(pe, torch.Tensor) or tuple(pe.shape) != (t, d):
        ctx.assert_close(pe, reference(t, d, base, torch.float64), dtype=torch.float64)
    pairs = pe.reshape(t, d // 2, 2).pow(2).sum(-1)  # (T, D/2): sin^2 + cos^2 of adjacent dims
    ctx.assert_close(pairs, torch.ones(t, d // 2, dtype=torch.float64), dtype=torch.float64)


# A correct solution; the wrong answers written with edited() are this with one bug put in.
_PLAIN = """
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    angle = p / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe.to(dtype)
"""


WRONG_ANSWERS = {
    "exponents from an integer arange divided by D (a float32 tensor): a float64 table loses precision": edited(
        _PLAIN,
        ("base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)", "base ** (torch.arange(0, d, 2) / d)"),
    ),
    "ignores the base argument (always 10000)": edited(_PLAIN, ("angle = p / base **", "angle = p / 10000.0 **")),
    "multiplies by base^(2i/D) instead of dividing (hidden with one pair or one position)": edited(
        _PLAIN,
        ("angle = p / base **", "angle = p * base **"),
    ),
    "computes in float32 (torch.arange(...).float()) and casts to dtype: a float64 table loses precision": edited(
        _PLAIN,
        ("torch.arange(t, dtype=torch.float64)", "torch.arange(t).float()"),
        ("torch.arange(0, d, 2, dtype=torch.float64)", "torch.arange(0, d, 2).float()"),
        ("torch.zeros(t, d, dtype=torch.float64)", "torch.zeros(t, d)"),
    ),
    "sin and cos swapped (cos on the even dims)": """
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    angle = p / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)
    return pe.to(dtype)
""",
    "concatenates [sin | cos] halves (the tensor2tensor layout) instead of interleaving": """
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    angle = p / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    return torch.cat([angle.sin(), angle.cos()], dim=1).to(dtype)
""",
    "exponent 2 * (2i) / D: uses the even dim index 2i where the formula's i belongs": """
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    p = torch.arange(t, dtype=torch.float64)[:, None]
    even = torch.arange(0, d, 2, dtype=torch.float64)
    angle = p / base ** (2 * even / d)
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe.to(dtype)
""",
    "ignores dtype: always returns float32": """
import math
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(base) / d))
    p = torch.arange(t).float()[:, None]
    pe = torch.zeros(t, d)
    pe[:, 0::2] = torch.sin(p * div)
    pe[:, 1::2] = torch.cos(p * div)
    return pe
""",
}

ALTERNATIVES = {
    "unit complex numbers e^{i angle} from torch.polar, (cos, sin) swapped into (sin, cos) pairs": """
import torch

def sinusoidal_positions(t, d, base=10000.0, dtype=torch.float32):
    inv_freq = torch.exp(-torch.arange(0, d, 2, dtype=torch.float64) / d * torch.log(torch.tensor(base, dtype=torch.float64)))
    angle = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)  # (T, D/2)
    z = torch.polar(torch.ones_like(angle), angle)  # cos + i sin
    cos_sin = torch.view_as_real(z)  # (T, D/2, 2) = (cos, sin)
    return cos_sin.flip(-1).reshape(t, d).to(dtype)  # (sin, cos) interleaved
""",
    "float32 arithmetic the Annotated Transformer way, cast at the end": """
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
""",
}
