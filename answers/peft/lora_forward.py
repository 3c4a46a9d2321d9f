"""peft.lora_forward — the forward pass of a LoRA-adapted linear layer: reference, checks, wrong answers.

lora_forward(x, weight, lora_a, lora_b, alpha, r): x (..., in), weight (out, in), lora_a (r, in),
lora_b (out, r) -> (..., out) in x's dtype: x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T
(Hu et al. 2021, arXiv:2106.09685, sec. 4.1: h = W0 x + (alpha / r) B A x).
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
    weight = ctx.randn(n_out, n_in, dtype=dtype, scale=n_in ** -0.5)
    lora_a = ctx.randn(r, n_in, dtype=dtype, scale=n_in ** -0.5)
    # trained B (not its zero init), shrunk by the scaling so the update stays comparable to the base
    lora_b = ctx.randn(n_out, r, dtype=dtype, scale=r ** -0.5 / max(1.0, alpha / r))
    if zero_b:
        lora_b = torch.zeros_like(lora_b)
    return x, weight, lora_a, lora_b


@check("matches the reference (random shapes incl. size 1 and odd sizes, r from 1 to 6, several alpha, float32/float64/bfloat16)")
def matches_reference(ctx):
    dtype, sizes, r, alpha = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.integers(1, 6), ALPHAS))
    alpha = r if alpha == "r" else alpha
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, r, alpha)
    out = ctx.call(x, weight, lora_a, lora_b, alpha, r)
    ctx.assert_close(out, ctx.reference(x, weight, lora_a, lora_b, alpha, r), dtype=dtype)


@check("the update is scaled by alpha / r: with alpha != r it equals the merged layer x @ (W + (alpha/r) B A).T")
def scaling(ctx):
    dtype, sizes, r, alpha = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SIZES, st.integers(2, 6), st.sampled_from([1, 3, 7, 16, 0.5]))
    )
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, r, alpha)
    lora_b = lora_b * 4  # a large update, so a wrong scale cannot hide in the base
    out = ctx.call(x, weight, lora_a, lora_b, alpha, r)
    merged = weight.double() + (alpha / r) * lora_b.double() @ lora_a.double()  # (out, in)
    ctx.assert_close(out, x.double() @ merged.T, dtype=dtype)


@check("rank 1 works, and a zero lora_b (LoRA's initialisation) gives the base layer x @ weight.T")
def rank_one_and_zero_b(ctx):
    dtype, sizes, alpha, zero_b = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, ALPHAS, st.booleans()))
    alpha = 1 if alpha == "r" else alpha
    x, weight, lora_a, lora_b = _inputs(ctx, dtype, sizes, 1, alpha, zero_b=zero_b)
    out = ctx.call(x, weight, lora_a, lora_b, alpha, 1)
    expected = x.double() @ weight.double().T if zero_b else ctx.reference(x, weight, lora_a, lora_b, alpha, 1)
    ctx.assert_close(out, expected, dtype=dtype)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    return x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T
"""

WRONG_ANSWERS = {
    "scales the update by alpha instead of alpha / r": edited(_PLAIN, ("(alpha / r) *", "alpha *")),
    "scales by r / alpha (the ratio upside down)": edited(_PLAIN, ("(alpha / r)", "(r / alpha)")),
    "alpha // r: integer division truncates the scale": edited(_PLAIN, ("(alpha / r)", "(alpha // r)")),
    "transposes swapped: multiplies by B A without transposing it":
        edited(_PLAIN, ("(x @ lora_a.T) @ lora_b.T", "x @ (lora_b @ lora_a)")),
    "applies the scale to the base output too":
        edited(_PLAIN, ("x @ weight.T + (alpha / r) * (x @ lora_a.T) @ lora_b.T",
                       "(alpha / r) * (x @ weight.T + (x @ lora_a.T) @ lora_b.T)")),
    "computes in float32 and returns float32 whatever the input dtype":
        edited(_PLAIN, ("    return", "    x, weight, lora_a, lora_b = x.float(), weight.float(), lora_a.float(), lora_b.float()\n    return")),
}

ALTERNATIVES = {
    "merge first: one matmul with W + (alpha / r) B A": '''
def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    merged = weight + (alpha / r) * (lora_b @ lora_a)  # (out, in)
    return x @ merged.T
''',
    "einsum, accumulating in float32 for half-precision inputs": '''
import torch

def lora_forward(x, weight, lora_a, lora_b, alpha, r):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    base = torch.einsum("...i,oi->...o", xw, weight.to(work))
    down = torch.einsum("...i,ri->...r", xw, lora_a.to(work))
    up = torch.einsum("...r,or->...o", down, lora_b.to(work))
    return (base + up * (alpha / r)).to(x.dtype)
''',
}
