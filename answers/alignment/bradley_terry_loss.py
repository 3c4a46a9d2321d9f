"""alignment.bradley_terry_loss — the reward model's pairwise (Bradley–Terry) loss: reference, checks, wrong answers.

bradley_terry_loss(r_chosen, r_rejected, margin=None): (B,) scalar rewards the reward model gave
the preferred and the rejected answer of B pairs, margin None or (B,) (Llama 2's m(r), larger for
pairs the labellers rated as clearly better) -> a 0-dim tensor in the inputs' dtype, the mean
over pairs of -log sigmoid(r_chosen - r_rejected - margin) (Ouyang et al. 2022, InstructGPT,
eq. 1; Touvron et al. 2023, Llama 2, sec. 3.2.2, eq. 2), finite and accurate for margins z up
to 1e4 in magnitude. Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- one pair (sum and mean agree) and several;
- z = 0 (loss log 2), z = -1e4 and -120 (sigmoid underflows to 0, exp(-z) overflows), z = +80
  and +1e4 (loss about exp(-z)), z just past a clamp at 50;
- a margin that moves a pair's z from positive to negative (its sign matters), a margin of 0;
- float64 rewards near 1e6 differing by a few units (a `.float()` loses them).
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(r_chosen, r_rejected, margin=None):
    z = r_chosen - r_rejected  # (B,): how much more the model rewards the preferred answer
    if margin is not None:
        z = z - margin  # Llama 2: the chosen answer must win by at least the margin
    return -torch.nn.functional.logsigmoid(z).mean()  # logsigmoid never takes log(0)


DTYPES = [torch.float32, torch.float64]


def _pair(ctx, dtype, z, margin=None, level=3.0):
    """(r_chosen, r_rejected[, margin]) whose r_chosen - r_rejected - margin is z."""
    b = len(z)
    r_rejected = ctx.randn(b, dtype=torch.float64, scale=level)
    m = torch.zeros(b, dtype=torch.float64) if margin is None else torch.tensor(margin, dtype=torch.float64)
    r_chosen = r_rejected + torch.tensor(z, dtype=torch.float64) + m
    args = [r_chosen.to(dtype), r_rejected.to(dtype)]
    if margin is not None:
        args.append(m.to(dtype))
    return tuple(args)


def _compare(ctx, args, dtype, rtol=None, atol=None):
    out = ctx.call(*args)
    ctx.assert_close(out, ctx.reference(*args), dtype=dtype, rtol=rtol, atol=atol)


@check(
    "matches the reference (batch 1 to 9, float32/float64, with and without a margin)",
    zh="与参考实现一致（batch 1 到 9，float32/float64，有无 margin）",
    teaches=["alignment.reward_model_loss"],
)
def matches_reference(ctx):
    dtype, b, with_margin = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.integers(1, 9), st.booleans()))
    r_chosen = ctx.randn(b, dtype=dtype, scale=2.0)
    r_rejected = ctx.randn(b, dtype=dtype, scale=2.0)
    args = (r_chosen, r_rejected)
    if with_margin:
        args += ((ctx.rand(b, dtype=torch.float64) * 2).to(dtype),)
    _compare(ctx, args, dtype)


# (z, margin or None, why): every dtype, every run
BOUNDARY_CASES = [
    ([0.0], None, "one pair, z = 0: log 2"),
    ([-1e4], None, "one pair, z = -1e4: loss 1e4 (sigmoid underflows, exp(-z) overflows)"),
    ([-120.0, 0.5, 2.0], None, "z = -120 among ordinary pairs"),
    ([80.0, -80.0], None, "z = +-80, past a clamp at 50"),
    ([1e4, 60.0, 3.0, -0.25], None, "large positive z: loss about exp(-z)"),
    ([-0.5, 1.5, 0.25], [1.0, 0.0, 2.0], "margins that turn positive differences negative"),
    ([-1e4, 2.0], [3.0, 0.5], "a margin with z = -1e4"),
    ([0.7, -1.2], [0.0, 0.0], "a margin of 0: the same as none"),
]


@check(
    "boundary cases every run: one pair and several, z of 0, -1e4, -120, +-80, +1e4, margins that change the sign, float64 rewards near 1e6 (float32 and float64)",
    zh="每次都测的边界情况：一对和多对，z 为 0、-1e4、-120、+-80、+1e4，改变符号的 margin，接近 1e6 的 float64 奖励（float32 和 float64）",
    examples=1,
    teaches=["alignment.reward_model_loss"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for z, margin, _why in BOUNDARY_CASES:
            _compare(ctx, _pair(ctx, dtype, z, margin), dtype)
    # rewards of about 1e6 whose differences are a few units: float32 keeps them to ~0.06
    z = [0.3, -1.7, 2.2]
    args = _pair(ctx, torch.float64, z, level=1e6)
    _compare(ctx, args, torch.float64, rtol=1e-12, atol=0.0)


@check(
    "adding the same constant to every reward leaves the loss unchanged (only differences count)",
    zh="给所有奖励加同一个常数，损失不变（只有差值起作用）",
    teaches=["alignment.reward_model_loss"],
)
def shift_invariance(ctx):
    b, shift = ctx.draw(st.tuples(st.integers(1, 6), st.sampled_from([-7.0, 3.5, 100.0])))
    r_chosen = ctx.randn(b, dtype=torch.float64)
    r_rejected = ctx.randn(b, dtype=torch.float64)
    base = ctx.call(r_chosen, r_rejected)
    moved = ctx.call(r_chosen + shift, r_rejected + shift)
    ctx.assert_close(base, ctx.reference(r_chosen, r_rejected), dtype=torch.float64)
    ctx.assert_close(moved, ctx.reference(r_chosen, r_rejected), dtype=torch.float64, rtol=1e-12, atol=1e-12)
    if b == 1:
        ctx.assert_close(ctx.call(r_chosen, r_chosen.clone()), torch.tensor(math.log(2.0), dtype=torch.float64))


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def bradley_terry_loss(r_chosen, r_rejected, margin=None):
    z = r_chosen - r_rejected
    if margin is not None:
        z = z - margin
    return -F.logsigmoid(z).mean()
"""

WRONG_ANSWERS = {
    "torch.log(torch.sigmoid(z)): sigmoid underflows to 0 and the loss is inf for large negative z": edited(
        _PLAIN, ("F.logsigmoid(z)", "torch.log(torch.sigmoid(z))")
    ),
    "chosen and rejected swapped: rewards the rejected answer": edited(
        _PLAIN, ("z = r_chosen - r_rejected", "z = r_rejected - r_chosen")
    ),
    "sums over pairs instead of taking the mean": edited(_PLAIN, (".mean()", ".sum()")),
    "softplus(z) instead of softplus(-z)": edited(_PLAIN, ("return -F.logsigmoid(z).mean()", "return F.softplus(z).mean()")),
    "margin added with the wrong sign: z + margin": edited(_PLAIN, ("z = z - margin", "z = z + margin")),
    "log(1 + exp(-z)) written out: exp overflows for large negative z": edited(
        _PLAIN, ("return -F.logsigmoid(z).mean()", "return torch.log(1 + torch.exp(-z)).mean()")
    ),
    "margin ignored": edited(_PLAIN, ("z = z - margin", "pass")),
    "clamps z to [-50, 50] 'for stability'": edited(_PLAIN, ("F.logsigmoid(z)", "F.logsigmoid(z.clamp(-50, 50))")),
    "rewards cast to float32 (.float()) before the difference, the loss cast back": edited(
        _PLAIN,
        ("z = r_chosen - r_rejected", "z = r_chosen.float() - r_rejected.float()"),
        ("return -F.logsigmoid(z).mean()", "return -F.logsigmoid(z).mean().to(r_chosen.dtype)"),
    ),
}

ALTERNATIVES = {
    "softplus of the negated margin, stable by construction; margin defaulting to zeros": """
import torch
import torch.nn.functional as F

def bradley_terry_loss(r_chosen, r_rejected, margin=None):
    if margin is None:
        margin = torch.zeros_like(r_chosen)
    return F.softplus(r_rejected - r_chosen + margin).mean()
""",
    "by hand: max(-z, 0) + log1p(exp(-|z|)), mean as sum / B": """
import torch

def bradley_terry_loss(r_chosen, r_rejected, margin=None):
    z = r_chosen - r_rejected - (0 if margin is None else margin)
    losses = torch.relu(-z) + torch.log1p(torch.exp(-torch.abs(z)))
    return losses.sum() / z.numel()
""",
}
