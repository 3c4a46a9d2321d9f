"""peft.lora_forward — the forward pass of a LoRA-adapted linear layer: reference, checks, wrong answers.

lora_forward(x, weight, lora_a, lora_b, alpha, r): x (..., in), weight (out, in), lora_a (r, in),
lora_b (out, r) -> (..., out) in x's dtype: x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T
(Hu et al. 2021, arXiv:2106.09685, sec. 4.1: h = W0 x + (alpha / r) B A x).

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the scale alpha / r: 1 (alpha = r: a wrong scale hides), a power of two, and not one (8 / 3:
  integer division, or a scale rounded to float32, shows only there), alpha a float;
- r = 1, r = in = out (square: transposes can be swapped silently), r larger than in and out,
  in != r (a scale alpha / in shows), in = 1 and out = 1;
- x 1-D, 2-D and 3-D (torch.mm takes 2-D only);
- float64 input computed in float64 (a `.float()` on either path leaves errors of 1e-8).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

# bfloat16 rounds each of the three matmuls and the sum; outputs here are O(1), so an absolute
# slack of a few bf16 ulps of 1 covers a solution computing in bf16 (zeros still fail).
TOLERANCES = {torch.bfloat16: (2e-2, 5e-2)}


def reference(x, weight, lora_a, lora_b, alpha, r):
    base = x @ weight.T  # (..., out): the frozen layer
    update = (x @ lora_a.T) @ lora_b.T  # (..., r) -> (..., out): the low-rank path B A x
    return base + (alpha / r) * update


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}

ALPHAS = st.sampled_from([1, 2, 8, 16, 32, 0.5, 3.0, "r"])  # "r": alpha = r, a scale of 1
SIZES = st.tuples(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),  # leading dims of x
    st.integers(1, 9),  # in
    st.integers(1, 9),  # out
)


def _inputs(ctx, dtype, sizes, r, alpha, zero_b=False):
    """x (..., in), weight (out, in), lora_a (r, in), lora_b (out, r), scaled so the output is O(1)."""
    lead, n_in, n_out = sizes
    x = ctx.randn(*lead, n_in, dtype=dtype)
    weight = ctx.randn(n_out, n_in, dtype=dtype, scale=n_in**-0.5)
    lora_a = ctx.randn(r, n_in, dtype=dtype, scale=n_in**-0.5)
    # trained B (not its zero init), shrunk by the scaling so the update stays comparable to the base
    lora_b = ctx.randn(n_out, r, dtype=dtype, scale=r**-0.5 / max(1.0, alpha / r))
    if zero_b:
        lora_b = torch.zeros_like(lora_b)
    return x, weight, lora_a, lora_b


@check(
    "matches the reference (random shapes incl. size 1 and odd sizes, r from 1 to 6, several alpha, float32/float64/bfloat16)",
    zh="与参考实现一致（随机形状，含大小 1 和奇数大小，r 从 1 到 6，多个 alpha，float32/float64/bfloat16）",
    teaches=["peft.lora_formulation", "peft.lora_alpha_scaling"],
)
def matches_reference(ctx):
    dtype, sizes, r, alpha = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.integers(1, 6), ALPHAS))
    alpha = r if alpha == "r" else alpha
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, r, alpha)
    out = ctx.call(x, weight, lora_a, lora_b, alpha, r)
    ctx.assert_close(out, ctx.reference(x, weight, lora_a, lora_b, alpha, r), dtype=dtype)


def _term_scale(x, weight, lora_a, lora_b, alpha, r):
    """The largest sum of term magnitudes an output adds up (outputs may cancel to near zero)."""
    xa = x.double().abs()
    base = xa @ weight.double().abs().T
    update = (xa @ lora_a.double().abs().T) @ lora_b.double().abs().T
    return float((base + abs(alpha / r) * update).max())


FLOAT64_TOL = 1e-12  # relative to the term scale: far below float32's rounding, above float64's


@check(
    "float64 input is computed in float64 (errors below 1e-12 of the summed terms: a float32 step such as `.float()` fails)",
    zh="float64 输入全程用 float64 计算（误差低于各项之和的 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    n_in, n_out, r = ctx.draw(st.sampled_from([(64, 48, 6), (100, 30, 12)]))
    alpha = 16  # scales 8/3 and 4/3: not exact in float32 either
    x, weight, lora_a, lora_b = _inputs(ctx, torch.float64, ([5], n_in, n_out), r, alpha)
    args = (x, weight, lora_a, lora_b, alpha, r)
    ctx.assert_close(
        ctx.call(*args), ctx.reference(*args), dtype=torch.float64, rtol=FLOAT64_TOL, atol=FLOAT64_TOL * _term_scale(*args)
    )


# (leading dims of x, in, out, r, alpha): every regime of the module docstring.
REGIMES = [
    ([3], 5, 4, 3, 8),  # alpha / r = 8 / 3, not a power of two
    ([3], 5, 4, 4, 4),  # alpha = r: scale 1
    ([2], 6, 6, 2, 16),  # scale 8
    ([2], 4, 4, 4, 2.5),  # r = in = out, a float alpha
    ([2], 2, 3, 6, 6.0),  # r larger than in and out
    ([4], 1, 1, 1, 3),  # in = out = r = 1
    ([], 7, 3, 2, 5),  # 1-D x
    ([2, 3], 5, 2, 3, 7),  # 3-D x
]


@check(
    "boundary regimes, every run: alpha / r = 8/3, 1, 8; r = 1, r = in = out, r > in and out; 1-D and 3-D x",
    zh="每次都测的边界情形：alpha / r = 8/3、1、8；r = 1，r = in = out，r 大于 in 和 out；1-D 和 3-D 的 x",
    examples=1,
    teaches=["peft.lora_alpha_scaling", "peft.lora_formulation"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for lead, n_in, n_out, r, alpha in REGIMES:
            x, weight, lora_a, lora_b = _inputs(ctx, dtype, (lead, n_in, n_out), r, alpha)
            args = (x, weight, lora_a, lora_b, alpha, r)
            ctx.assert_close(
                ctx.call(*args), ctx.reference(*args), dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype)
            )


@check(
    "the update is scaled by alpha / r: with alpha != r it equals the merged layer x @ (W + (alpha/r) B A).T",
    zh="更新按 alpha / r 缩放：alpha != r 时等于合并后的层 x @ (W + (alpha/r) B A).T",
    teaches=["peft.lora_alpha_scaling", "peft.lora_formulation"],
)
def scaling(ctx):
    dtype, sizes, r, alpha = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SIZES, st.integers(2, 6), st.sampled_from([1, 3, 7, 16, 0.5]))
    )
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, r, alpha)
    lora_b = lora_b * 4  # a large update, so a wrong scale cannot hide in the base
    out = ctx.call(x, weight, lora_a, lora_b, alpha, r)
    merged = weight.double() + (alpha / r) * lora_b.double() @ lora_a.double()  # (out, in)
    ctx.assert_close(out, x.double() @ merged.T, dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype))


@check(
    "rank 1 works, and a zero lora_b (LoRA's initialisation) gives the base layer x @ weight.T",
    zh="rank 为 1 也能工作，lora_b 为零（LoRA 的初始化）时得到基础层 x @ weight.T",
    teaches=["peft.lora_b_zero_init"],
)
def rank_one_and_zero_b(ctx):
    dtype, sizes, alpha, zero_b = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, ALPHAS, st.booleans()))
    alpha = 1 if alpha == "r" else alpha
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, 1, alpha, zero_b=zero_b)
    out = ctx.call(x, weight, lora_a, lora_b, alpha, 1)
    expected = x.double() @ weight.double().T if zero_b else ctx.reference(x, weight, lora_a, lora_b, alpha, 1)
    ctx.assert_close(out, expected, dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype))


# Written in steps; the wrong answers below on it are bugs of that way of writing it.
_STEPS = """
import torch

def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    scale = alpha / r
    base = x @ weight.T
    low = x @ lora_a.T
    return base + scale * (low @ lora_b.T)
"""


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    return x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T
"""

WRONG_ANSWERS = {
    "the low-rank path in float32 (`x.float() @ lora_a.float().T`) for float64 input too": edited(
        _STEPS,
        (
            "    low = x @ lora_a.T\n    return base + scale * (low @ lora_b.T)",
            "    low = x.float() @ lora_a.float().T\n    return base + scale * (low @ lora_b.float().T).to(x.dtype)",
        ),
    ),
    "scale kept as a tensor, torch.tensor(alpha / r), which is float32: rounded for float64 input unless a power of two": edited(
        _STEPS,
        ("scale = alpha / r", "scale = torch.tensor(alpha / r)"),
    ),
    "torch.mm (2-D only): breaks on 1-D and 3-D x": edited(
        _STEPS,
        (
            "    base = x @ weight.T\n    low = x @ lora_a.T\n    return base + scale * (low @ lora_b.T)",
            "    base = torch.mm(x, weight.T)\n    low = torch.mm(x, lora_a.T)\n    return base + scale * torch.mm(low, lora_b.T)",
        ),
    ),
    "pre-scales lora_b in place (lora_b.mul_(scale)): the adapter grows on every call": edited(
        _STEPS,
        ("    return base + scale * (low @ lora_b.T)", "    lora_b.mul_(scale)\n    return base + low @ lora_b.T"),
    ),
    "scale alpha / in_features (lora_a.shape[1]) instead of alpha / r": edited(
        _STEPS,
        ("scale = alpha / r", "scale = alpha / lora_a.shape[1]"),
    ),
    "scales the update by alpha instead of alpha / r": edited(_PLAIN, ("(alpha / r) *", "alpha *")),
    "scales by r / alpha (the ratio upside down)": edited(_PLAIN, ("(alpha / r)", "(r / alpha)")),
    "alpha // r: integer division truncates the scale": edited(_PLAIN, ("(alpha / r)", "(alpha // r)")),
    "transposes swapped: multiplies by B A without transposing it": edited(
        _PLAIN, ("(x @ lora_a.T) @ lora_b.T", "x @ (lora_b @ lora_a)")
    ),
    "applies the scale to the base output too": edited(
        _PLAIN,
        ("x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T", "(alpha / r) * (x @ weight.T + (x @ lora_a.T) @ lora_b.T)"),
    ),
    "computes in float32 and returns float32 whatever the input dtype": edited(
        _PLAIN,
        ("    return", "    x, weight, lora_a, lora_b = x.float(), weight.float(), lora_a.float(), lora_b.float()\n    return"),
    ),
}

ALTERNATIVES = {
    "merge first: one matmul with W + (alpha / r) B A": """
def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    merged = weight + (alpha / r) * (lora_b @ lora_a)  # (out, in)
    return x @ merged.T
""",
    "einsum, accumulating in float32 for half-precision inputs": """
import torch

def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    base = torch.einsum("...i,oi->...o", xw, weight.to(work))
    down = torch.einsum("...i,ri->...r", xw, lora_a.to(work))
    up = torch.einsum("...r,or->...o", down, lora_b.to(work))
    return (base + up * (alpha / r)).to(x.dtype)
""",
}
