"""alignment.dpo_loss — the DPO loss: reference, checks, known-wrong answers.

dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
each (B,) summed log-probabilities -> a 0-dim tensor in the inputs' dtype, the batch mean of
-log sigmoid(beta * ((pc - rc) - (pr - rr))) (Rafailov et al. 2023, arXiv:2305.18290, eq. 7),
finite for margins z = beta * (...) up to 1e4 in magnitude; float64 input computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- batch of one (sum and mean agree) against several pairs;
- margins of 0, large negative (-1e4, -60: sigmoid underflows, log(sigmoid(z) + eps) saturates,
  exp(-z) overflows) and large positive (+60, +1e4: the loss is about exp(-z));
- |z| just past a clamp someone added "for stability" (z = +-80);
- float64 log-probabilities of long answers (|logp| ~ 1e4) whose log-ratios cancel to a few nats:
  a `.float()` loses 1e-3 nats there.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    chosen = policy_chosen_logps - ref_chosen_logps  # (B,): log pi/pi_ref of the preferred answer
    rejected = policy_rejected_logps - ref_rejected_logps  # (B,)
    z = beta * (chosen - rejected)  # (B,): the implicit reward margin
    return -torch.nn.functional.logsigmoid(z).mean()  # () ; logsigmoid never takes log(0)


DTYPES = [torch.float32, torch.float64]  # summed log-probs in bfloat16 would be mostly rounding
BETAS = ["default", 0.01, 0.05, 0.1, 0.5, 1.0, 2.5]
MARGINS = st.sampled_from([-1e4, -3e3, -200.0, -50.0, 0.0, 30.0, 200.0, 1e4])


def _logps(ctx, b, dtype, scale=30.0):
    """Summed log-probabilities of whole answers: negative, tens to hundreds of nats."""
    return -(ctx.rand(b, dtype=torch.float64) * scale * 10 + 1).to(dtype)


def _call(ctx, args, beta):
    """The submission and the reference on the same inputs, beta left out when drawn as "default"."""
    kwargs = {} if beta == "default" else {"beta": beta}
    return ctx.call(*args, **kwargs), ctx.reference(*args, **kwargs)


@check(
    "matches the reference (batch 1 to 9, float32/float64, beta at its default and away from it)",
    zh="与参考实现一致（batch 1 到 9，float32/float64，beta 取默认值和非默认值）",
    teaches=["alignment.dpo_derivation", "alignment.dpo_pitfalls"],
)
def matches_reference(ctx):
    dtype, b, beta = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.integers(1, 9), st.sampled_from(BETAS)))
    pc, pr = _logps(ctx, b, dtype), _logps(ctx, b, dtype)
    # the reference model is near the policy, as in training: differences of a few nats
    rc = (pc.double() + ctx.randn(b, dtype=torch.float64, scale=5.0)).to(dtype)
    rr = (pr.double() + ctx.randn(b, dtype=torch.float64, scale=5.0)).to(dtype)
    out, expected = _call(ctx, (pc, pr, rc, rr), beta)
    ctx.assert_close(out, expected, dtype=dtype)


def _with_margins(ctx, z, beta, dtype, size=300.0):
    """Four (B,) log-probability tensors whose beta * ((pc - rc) - (pr - rr)) is z (rounded to dtype)."""
    b = len(z)
    pc, pr, rc = (_logps(ctx, b, torch.float64, scale=size) for _ in range(3))
    rr = pr - pc + rc + torch.tensor(z, dtype=torch.float64) / beta
    return tuple(t.to(dtype) for t in (pc, pr, rc, rr))


# (margins z, beta, why): every dtype, every run
BOUNDARY_CASES = [
    ([0.0], "default", "one pair, margin 0 (loss log 2)"),
    ([-1e4], 0.1, "one pair, margin -1e4 (loss 1e4: sigmoid underflows, exp(-z) overflows)"),
    ([-60.0, 0.5, 2.0], 1.0, "three pairs, one margin of -60 (log(sigmoid(z) + 1e-10) saturates at 23)"),
    ([80.0, -80.0], 0.5, "margins of +-80 (past a clamp at 50)"),
    ([60.0, 1e4, 3.0, -0.25], "default", "large positive margins (loss about exp(-z))"),
]


@check(
    "boundary cases every run: one pair and several, margins 0, -1e4, -80, -60, +80, +1e4 (float32 and float64)",
    zh="每次都测的边界情况：一对和多对，margin 为 0、-1e4、-80、-60、+80、+1e4（float32 和 float64）",
    examples=1,
    teaches=["alignment.dpo_derivation"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for z, beta, _why in BOUNDARY_CASES:
            beta_value = 0.1 if beta == "default" else beta
            args = _with_margins(ctx, z, beta_value, dtype)
            out, expected = _call(ctx, args, beta)
            # float32 log-probs of ~3e3 carry ~1e-4 nats of rounding in z
            ctx.assert_close(
                out,
                expected,
                dtype=dtype,
                rtol=1e-5 if dtype == torch.float32 else None,
                atol=1e-5 if dtype == torch.float32 else None,
            )


@check(
    "float64 input is computed in float64: log-probs of ~1e4 nats whose log-ratios cancel, within 1e-12",
    zh="float64 输入全程用 float64 计算：约 1e4 nats 的 log-prob，log-ratio 相互抵消，误差在 1e-12 内",
    examples=3,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    b, beta = ctx.draw(st.tuples(st.integers(1, 9), st.sampled_from([0.1, 0.5, 1.0])))
    z = (ctx.randn(b, dtype=torch.float64) * 3).tolist()
    args = _with_margins(ctx, z, beta, torch.float64, size=3000.0)  # |logp| up to 3e4: float32 keeps ~2e-3
    out = ctx.call(*args, beta=beta)
    ctx.assert_close(out, ctx.reference(*args, beta=beta), dtype=torch.float64, rtol=1e-12, atol=0.0)


@check(
    "all margins zero (policy == reference) gives log(2), for any beta",
    zh="所有 margin 为零（策略 == 参考模型）时得到 log(2)，与 beta 无关",
    teaches=["alignment.dpo_derivation"],
)
def zero_margin(ctx):
    dtype, b, beta = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.integers(1, 9), st.sampled_from(BETAS)))
    pc, pr = _logps(ctx, b, dtype), _logps(ctx, b, dtype)
    out, _ = _call(ctx, (pc, pr, pc.clone(), pr.clone()), beta)
    ctx.assert_close(out, torch.tensor(math.log(2.0), dtype=torch.float64), dtype=dtype)


@check(
    "finite and right for margins up to 1e4 in magnitude: -log sigmoid(-1e4) is 1e4, not inf",
    zh="margin 的绝对值大到 1e4 时仍有限且正确：-log sigmoid(-1e4) 是 1e4，不是 inf",
    teaches=["softmax.stable_softmax"],
)
def large_margins(ctx):
    dtype, beta, z, large, where = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.sampled_from([0.1, 1.0, 0.5]),
            st.lists(MARGINS, min_size=1, max_size=6),  # target margins z, one per pair
            st.sampled_from([-1e4, -5e3, -120.0]),  # at least one large negative margin: loss about |z|
            st.integers(0, 5),
        )
    )
    b, z = len(z), list(z)  # a copy: the drawn list is part of the failure message
    z[where % b] = large
    pc, pr, rc = _logps(ctx, b, dtype), _logps(ctx, b, dtype), _logps(ctx, b, dtype)
    # choose rr so that beta * ((pc - rc) - (pr - rr)) = z, rounded to the input dtype
    rr = (pr.double() - pc.double() + rc.double() + torch.tensor(z, dtype=torch.float64) / beta).to(dtype)
    out = ctx.call(pc, pr, rc, rr, beta=beta)
    # float32 inputs of size ~1e5 carry rounding of ~1e-2 nats: a relative tolerance of 1e-5
    ctx.assert_close(out, ctx.reference(pc, pr, rc, rr, beta=beta), dtype=dtype, rtol=1e-5, atol=1e-5)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -F.logsigmoid(z).mean()
"""

WRONG_ANSWERS = {
    "sign flipped: -log sigmoid(-z) rewards the rejected answer": edited(_PLAIN, ("F.logsigmoid(z)", "F.logsigmoid(-z)")),
    "torch.log(torch.sigmoid(z)): sigmoid underflows to 0 and the loss becomes inf for large negative margins": edited(
        _PLAIN, ("F.logsigmoid(z)", "torch.log(torch.sigmoid(z))")
    ),
    "log(1 + exp(-z)) written out: exp overflows for large negative margins": edited(
        _PLAIN, ("-F.logsigmoid(z).mean()", "torch.log(1 + torch.exp(-z)).mean()")
    ),
    "sums over the batch instead of taking the mean": edited(_PLAIN, (".mean()", ".sum()")),
    "beta multiplies only the chosen log-ratio": edited(
        _PLAIN,
        (
            "beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))",
            "beta * (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)",
        ),
    ),
    "default beta of 0.5 instead of 0.1": edited(_PLAIN, ("beta=0.1", "beta=0.5")),
    "the margin cast to float32 (.float() on float64 input), the loss cast back": edited(
        _PLAIN, ("    return -F.logsigmoid(z).mean()", "    return -F.logsigmoid(z.float()).mean().to(z.dtype)")
    ),
    "log(sigmoid(z) + 1e-10): finite, but saturates at 23 for margins below -23": edited(
        _PLAIN, ("F.logsigmoid(z)", "torch.log(torch.sigmoid(z) + 1e-10)")
    ),
    "clamps the margin to [-50, 50] 'for stability'": edited(_PLAIN, ("F.logsigmoid(z)", "F.logsigmoid(z.clamp(-50, 50))")),
}

ALTERNATIVES = {
    "softplus(-z), with the log-ratios grouped as policy margin minus reference margin": """
import torch.nn.functional as F

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    policy_margin = policy_chosen_logps - policy_rejected_logps
    ref_margin = ref_chosen_logps - ref_rejected_logps
    return F.softplus(-beta * (policy_margin - ref_margin)).mean()
""",
    "stable by hand: max(-z, 0) + log1p(exp(-|z|)), mean as sum / B": """
import torch

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    losses = torch.clamp(-z, min=0) + torch.log1p(torch.exp(-z.abs()))
    return losses.sum() / z.shape[0]
""",
}
