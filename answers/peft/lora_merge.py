"""peft.lora_merge — fold a trained LoRA adapter into the base weight: reference, checks, wrong answers.

lora_merge(weight, lora_a, lora_b, alpha, r): weight (out, in), lora_a (r, in), lora_b (out, r)
-> a new (out, in) tensor in weight's dtype: weight + (alpha / r) * lora_b @ lora_a
(Hu et al. 2021, arXiv:2106.09685, sec. 4.1: W = W0 + BA, no extra inference latency), so that
x @ merged.T equals peft.lora_forward for every x.

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the scale alpha / r: 1 (alpha = r), a power of two, and not one (8 / 3: integer division, or a
  scale rounded to float32, shows only there), alpha a float;
- r = 1, out = in (square: A.T @ B.T has the right shape and wrong values), r larger than out
  and in, in != r (a scale alpha / in shows), out = 1 and in = 1;
- a zero lora_b (LoRA's initialisation): still a new tensor, never `weight` itself;
- float64 input computed in float64 (B A in float32 leaves errors of 1e-8).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

# bfloat16: the merged weight is O(1); a few bf16 ulps of 1 absolute (zeros still fail).
TOLERANCES = {torch.bfloat16: (2e-2, 3e-2)}


def reference(weight, lora_a, lora_b, alpha, r):
    delta = lora_b @ lora_a  # (out, r) @ (r, in) -> (out, in): the low-rank update B A
    return weight + (alpha / r) * delta


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}

ALPHAS = [1, 2, 8, 16, 32, 0.5, 3.0]
# (out, in, r, alpha): sizes 1 and odd ones; alpha may also equal r (scale 1)
SIZES = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6), st.sampled_from(ALPHAS + ["r"]))


def _adapter(ctx, dtype, n_out, n_in, r, alpha, b_scale=1.0):
    """weight (out, in), lora_a (r, in), lora_b (out, r): a trained adapter (B is not zero)."""
    weight = ctx.randn(n_out, n_in, dtype=dtype)
    lora_a = ctx.randn(r, n_in, dtype=dtype, scale=n_in**-0.5)
    # shrink B by the scaling so the update stays comparable to the base weight
    lora_b = ctx.randn(n_out, r, dtype=dtype, scale=b_scale * r**-0.5 / max(1.0, alpha / r))
    return weight, lora_a, lora_b


@check(
    "matches the reference (out, in from 1 to 9, r from 1 to 6, several alpha, float32/float64/bfloat16)",
    zh="与参考实现一致（out、in 从 1 到 9，r 从 1 到 6，多个 alpha，float32/float64/bfloat16）",
    teaches=["peft.lora_formulation", "peft.lora_alpha_scaling"],
)
def matches_reference(ctx):
    dtype, (n_out, n_in, r, alpha) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES))
    alpha = r if alpha == "r" else alpha
    weight, lora_a, lora_b = _adapter(ctx, dtype, n_out, n_in, r, alpha)
    out = ctx.call(weight, lora_a, lora_b, alpha, r)
    ctx.assert_close(out, ctx.reference(weight, lora_a, lora_b, alpha, r), dtype=dtype)


FLOAT64_TOL = 1e-12  # relative to the term scale: far below float32's rounding, above float64's


@check(
    "float64 input is computed in float64 (errors below 1e-12 of the summed terms: a float32 step such as `.float()` fails)",
    zh="float64 输入全程用 float64 计算（误差低于各项之和的 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    n_out, n_in, r = ctx.draw(st.sampled_from([(48, 64, 6), (30, 100, 12)]))
    alpha = 16  # scales 8/3 and 4/3: not exact in float32 either
    weight, lora_a, lora_b = _adapter(ctx, torch.float64, n_out, n_in, r, alpha)
    terms = weight.abs() + (alpha / r) * lora_b.abs() @ lora_a.abs()  # what each entry adds up
    out = ctx.call(weight, lora_a, lora_b, alpha, r)
    ctx.assert_close(
        out,
        ctx.reference(weight, lora_a, lora_b, alpha, r),
        dtype=torch.float64,
        rtol=FLOAT64_TOL,
        atol=FLOAT64_TOL * float(terms.max()),
    )


# (out, in, r, alpha, lora_b all zero): every regime of the module docstring.
REGIMES = [
    (4, 5, 3, 8, False),  # alpha / r = 8 / 3
    (4, 5, 4, 4, False),  # scale 1
    (6, 6, 2, 16, False),  # square, scale 8
    (4, 4, 4, 2.5, False),  # r = in = out, a float alpha
    (3, 2, 6, 6.0, False),  # r larger than out and in
    (1, 1, 1, 3, False),
    (1, 7, 2, 5, False),
    (7, 1, 3, 7, False),
    (3, 5, 2, 8, True),  # LoRA's initialisation
]


@check(
    "boundary regimes, every run: alpha / r = 8/3, 1, 8; r = 1, square, r > out and in; out or in of 1; a zero lora_b",
    zh="每次都测的边界情形：alpha / r = 8/3、1、8；r = 1，方阵，r 大于 out 和 in；out 或 in 为 1；lora_b 为零",
    examples=1,
    teaches=["peft.lora_alpha_scaling", "peft.lora_formulation"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for n_out, n_in, r, alpha, zero in REGIMES:
            weight, lora_a, lora_b = _adapter(ctx, dtype, n_out, n_in, r, alpha)
            if zero:
                lora_b = torch.zeros_like(lora_b)
            ctx.assert_close(
                ctx.call(weight, lora_a, lora_b, alpha, r),
                ctx.reference(weight, lora_a, lora_b, alpha, r),
                dtype=dtype,
                rtol=PROPERTY_RTOL.get(dtype),
                atol=PROPERTY_ATOL.get(dtype),
            )


@check(
    "the merged layer computes what the unmerged one does: x @ merged.T == x @ W.T + (alpha/r) (x @ A.T) @ B.T",
    zh="合并后的层与未合并的层计算结果相同：x @ merged.T == x @ W.T + (alpha/r) (x @ A.T) @ B.T",
    teaches=["peft.lora_formulation"],
)
def equals_lora_forward(ctx):
    dtype, (n_out, n_in, r, alpha), n_x = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SIZES, st.integers(1, 5))
    )
    alpha = r if alpha == "r" else alpha
    weight, lora_a, lora_b = _adapter(ctx, dtype, n_out, n_in, r, alpha, b_scale=4.0)  # a large update
    merged = ctx.call(weight, lora_a, lora_b, alpha, r)
    if not isinstance(merged, torch.Tensor) or merged.shape != weight.shape or merged.dtype != dtype:
        ctx.assert_close(merged, ctx.reference(weight, lora_a, lora_b, alpha, r), dtype=dtype)
    x = ctx.randn(n_x, n_in, dtype=torch.float64)
    w, a, b = weight.double(), lora_a.double(), lora_b.double()
    unmerged = x @ w.T + (alpha / r) * (x @ a.T) @ b.T  # (n_x, out): peft.lora_forward
    # float32 merged weights carry ~1e-7 relative rounding; sums over `in` terms
    ctx.assert_close(x @ merged.double().T, unmerged, dtype=torch.float64, rtol=1e-5, atol=1e-5)


@check(
    "a zero lora_b (LoRA's initialisation) merges to the base weight, returned as a new tensor",
    zh="lora_b 为零（LoRA 的初始化）时合并结果等于基础权重，以新张量返回",
    teaches=["peft.lora_b_zero_init"],
)
def zero_b(ctx):
    dtype, (n_out, n_in, r, alpha) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES))
    alpha = r if alpha == "r" else alpha
    weight, lora_a, lora_b = _adapter(ctx, dtype, n_out, n_in, r, alpha)
    out = ctx.call(weight, lora_a, torch.zeros_like(lora_b), alpha, r)
    ctx.assert_close(
        out,
        ctx.reference(weight, lora_a, torch.zeros_like(lora_b), alpha, r),
        dtype=dtype,
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


_PLAIN = """
import torch

def lora_merge(weight, lora_a, lora_b, alpha, r):
    scale = alpha / r
    delta = lora_b @ lora_a
    return weight + scale * delta
"""

WRONG_ANSWERS = {
    "B A in float32 (`lora_b.float() @ lora_a.float()`) for float64 input too": edited(
        _PLAIN,
        ("delta = lora_b @ lora_a", "delta = (lora_b.float() @ lora_a.float()).to(weight.dtype)"),
    ),
    "scale kept as a tensor, torch.tensor(alpha / r), which is float32: rounded for float64 input unless a power of two": edited(
        _PLAIN,
        ("scale = alpha / r", "scale = torch.tensor(alpha / r)"),
    ),
    "returns weight itself when lora_b is all zero (a shortcut that hands out the frozen tensor)": edited(
        _PLAIN,
        ("    scale = alpha / r\n", "    if not lora_b.any():\n        return weight\n    scale = alpha / r\n"),
    ),
    "scale alpha / in_features (lora_a.shape[1]) instead of alpha / r": edited(
        _PLAIN,
        ("scale = alpha / r", "scale = alpha / lora_a.shape[1]"),
    ),
    "A @ B transposed: merges (B A).T, which is the wrong shape unless out == in, and wrong values when it is": """
def lora_merge(weight, lora_a, lora_b, alpha, r):
    return weight + (alpha / r) * (lora_a.T @ lora_b.T)
""",
    "forgets the alpha / r scaling": """
def lora_merge(weight, lora_a, lora_b, alpha, r):
    return weight + lora_b @ lora_a
""",
    "scales by alpha * r instead of alpha / r": """
def lora_merge(weight, lora_a, lora_b, alpha, r):
    return weight + (alpha * r) * (lora_b @ lora_a)
""",
    "alpha // r: integer division truncates the scale": """
def lora_merge(weight, lora_a, lora_b, alpha, r):
    return weight + (alpha // r) * (lora_b @ lora_a)
""",
    "merges in place into the base weight (weight += ...), destroying the frozen weights": """
def lora_merge(weight, lora_a, lora_b, alpha, r):
    weight += (alpha / r) * (lora_b @ lora_a)
    return weight.clone()
""",
}

ALTERNATIVES = {
    "one rank-1 outer product per LoRA rank, accumulated in float32 for half precision": """
import torch

def lora_merge(weight, lora_a, lora_b, alpha, r):
    work = torch.float64 if weight.dtype == torch.float64 else torch.float32
    merged = weight.to(work).clone()
    for i in range(r):
        merged += (alpha / r) * torch.outer(lora_b[:, i].to(work), lora_a[i].to(work))
    return merged.to(weight.dtype)
""",
    "einsum for B A, scale applied to B first": """
import torch

def lora_merge(weight, lora_a, lora_b, alpha, r):
    scaled_b = lora_b * (alpha / r)
    return weight + torch.einsum("or,ri->oi", scaled_b, lora_a)
""",
}
