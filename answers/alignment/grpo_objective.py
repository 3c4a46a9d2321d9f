"""alignment.grpo_objective — GRPO's clipped objective with group advantages and a k3 KL, as a loss: reference, checks, wrong answers.

grpo_objective(logp, logp_old, logp_ref, rewards, mask, group_size, clip_eps=0.2, beta=0.04,
token_level=False, eps=1e-4): logp, logp_old, logp_ref (B, T) per-token log-probabilities of the
sampled completion tokens under the policy being trained, the policy that sampled and the frozen
reference; rewards (B,) one scalar per completion; mask (B, T) bool (True = a completion token,
at least one per row); B = n_prompts * G with the G = group_size completions of one prompt in
consecutive rows. Returns a 0-dim tensor in logp's dtype, the loss to minimise:
    A_i   = (r_i - mean_group) / (std_group + eps)       (sample std, Bessel-corrected, as TRL)
    ratio = exp(logp - logp_old)
    kl    = exp(logp_ref - logp) - (logp_ref - logp) - 1  (k3)
    l_t   = -(min(ratio * A, clip(ratio, 1 - eps_c, 1 + eps_c) * A) - beta * kl)
    loss  = mean over rows of (masked mean over the row's tokens)      token_level=False (DeepSeekMath)
          = sum of masked l_t / number of masked tokens                 token_level=True (DAPO)
(Shao et al. 2024, DeepSeekMath, sec. 4.1, eq. 3 and 4; Yu et al. 2025, DAPO, eq. 8 and sec. 3.3.)
Its gradient with respect to logp is checked too (logp_old is a constant; logp is not).

Regimes where implementations diverge (each run every time by `boundary_cases`):
- one group and three groups whose rewards sit at different levels (a std over the batch, or
  groups read as columns instead of consecutive rows, shows only with several groups);
- a group whose rewards are all equal (advantage 0: only the KL term is left);
- ragged masks (rows of 1, 4 and 9 tokens: a per-row mean differs from the token mean) under
  both values of token_level, and an all-True mask;
- each clip case alone: ratio above 1 + eps with A > 0, below 1 - eps with A < 0, and the
  unclipped sides, so taking the max, or clipping one side only, shows;
- the reference far from the policy (log-ratios of +-3: k1 and k3 differ) and beta = 0.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited, sandboxed


def reference(logp, logp_old, logp_ref, rewards, mask, group_size, clip_eps=0.2, beta=0.04, token_level=False, eps=1e-4):
    groups = rewards.view(-1, group_size)  # (n_prompts, G): consecutive rows are one prompt's completions
    adv = (groups - groups.mean(dim=1, keepdim=True)) / (groups.std(dim=1, keepdim=True) + eps)
    adv = adv.reshape(-1, 1)  # (B, 1): one advantage for every token of a completion
    ratio = torch.exp(logp - logp_old)  # (B, T)
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)  # pessimistic bound
    log_ref_ratio = logp_ref - logp
    kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1  # k3: unbiased, never negative
    per_token = -(surrogate - beta * kl)  # (B, T): minimising this maximises the objective
    weights = mask.to(per_token.dtype)
    if token_level:
        return (per_token * weights).sum() / weights.sum()  # every token counts equally (DAPO)
    per_row = (per_token * weights).sum(dim=1) / weights.sum(dim=1)  # each completion counts equally
    return per_row.mean()


@sandboxed
def loss_and_grad(solution, logp, *args, **kwargs):
    """The submission's loss and its gradient with respect to logp (zeros when it returned no graph)."""
    x = logp.clone().requires_grad_(True)
    loss = solution(x, *args, **kwargs)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return loss, torch.zeros_like(logp)
    (grad,) = torch.autograd.grad(loss, x)
    return loss.detach(), grad


DTYPES = [torch.float32, torch.float64]


def _inputs(ctx, dtype, n_prompts, g, t, spread=0.3, ref_spread=0.2, levels=None, mask_kind="random"):
    """Log-probs of a policy that moved a little from the sampler and the reference; rewards per group."""
    b = n_prompts * g
    logp_old = -(ctx.rand(b, t, dtype=torch.float64) * 4 + 0.05)
    logp = logp_old + ctx.randn(b, t, dtype=torch.float64, scale=spread)
    logp_ref = logp + ctx.randn(b, t, dtype=torch.float64, scale=ref_spread)
    rewards = ctx.rand(b, dtype=torch.float64)
    if levels is not None:  # groups at different reward levels
        rewards = rewards + torch.tensor(levels, dtype=torch.float64).repeat_interleave(g)
    if mask_kind == "all":
        mask = torch.ones(b, t, dtype=torch.bool)
    else:
        mask = ctx.rand(b, t) < 0.6
        mask[:, 0] = True  # every completion has at least one token
        if mask_kind == "ragged":
            lengths = [(1, 4, 9)[i % 3] for i in range(b)]
            mask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).clamp(max=t).unsqueeze(1)
    return logp.to(dtype), logp_old.to(dtype), logp_ref.to(dtype), rewards.to(dtype), mask


def _compare(ctx, args, g, kwargs, dtype):
    out = ctx.call(*args, g, **kwargs)
    ctx.assert_close(out, ctx.reference(*args, g, **kwargs), dtype=dtype)


@check(
    "matches the reference (1 to 3 prompts, G 2 to 5, T 1 to 9, random masks, float32/float64, clip_eps, beta and token_level at defaults and away)",
    zh="与参考实现一致（1 到 3 个 prompt，G 为 2 到 5，T 为 1 到 9，随机 mask，float32/float64，clip_eps、beta、token_level 取默认值和非默认值）",
    teaches=["alignment.grpo_loss", "alignment.grpo_kl_choice", "alignment.dapo"],
)
def matches_reference(ctx):
    dtype, n, g, t, clip_eps, beta, level = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 3),
            st.integers(2, 5),
            st.integers(1, 9),
            st.sampled_from(["default", 0.1, 0.28]),
            st.sampled_from(["default", 0.0, 0.1]),
            st.sampled_from(["default", True, False]),
        )
    )
    kwargs = {k: v for k, v in (("clip_eps", clip_eps), ("beta", beta), ("token_level", level)) if v != "default"}
    _compare(ctx, _inputs(ctx, dtype, n, g, t, levels=[3.0 * i for i in range(n)]), g, kwargs, dtype)


def _clip_cases(dtype):
    """One group of 4 completions, one token each, whose ratios sit in each clip case with the sign of A chosen."""
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)  # A > 0, A < 0, A > 0, A < 0
    log_ratio = torch.tensor([[0.6], [-0.6], [-0.6], [0.6]], dtype=torch.float64)  # above 1 + eps, below 1 - eps, ...
    logp_old = torch.full((4, 1), -1.5, dtype=torch.float64)
    logp = logp_old + log_ratio
    return logp.to(dtype), logp_old.to(dtype), logp.clone().to(dtype), rewards.to(dtype), torch.ones(4, 1, dtype=torch.bool)


@check(
    "boundary cases every run: one and three groups at different reward levels, an all-equal group, ragged and all-True masks at both token_level values, each clip case, beta 0, a far reference",
    zh="每次都测的边界情况：一组和三组（奖励水平不同）、组内奖励全相等、参差不齐的 mask 和全 True 的 mask（token_level 两种取值）、每种 clip 情况、beta 为 0、参考模型相差很远",
    examples=1,
    teaches=["alignment.grpo_loss", "alignment.ppo_clipped_loss", "alignment.dapo"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for level in (False, True):
            kw = {"token_level": level}
            _compare(ctx, _inputs(ctx, dtype, 1, 2, 1), 2, kw, dtype)  # the smallest: one group of two, T = 1
            _compare(ctx, _inputs(ctx, dtype, 3, 3, 9, levels=[0.0, 5.0, -4.0], mask_kind="ragged"), 3, kw, dtype)
            _compare(ctx, _inputs(ctx, dtype, 1, 6, 9, mask_kind="ragged"), 6, kw, dtype)
            _compare(ctx, _inputs(ctx, dtype, 2, 4, 5, levels=[1.0, 10.0], mask_kind="all"), 4, kw, dtype)
            _compare(ctx, _clip_cases(dtype), 4, {**kw, "beta": 0.0}, dtype)
            _compare(ctx, _clip_cases(dtype), 2, kw, dtype)  # the same four rows as two groups of two
            logp, old, ref, rewards, mask = _inputs(ctx, dtype, 2, 3, 6, ref_spread=3.0, levels=[0.0, 2.0])
            rewards = rewards.clone()
            rewards[:3] = 1.0  # an all-equal group: advantage 0, only the KL term is left
            _compare(ctx, (logp, old, ref, rewards, mask), 3, {**kw, "beta": 0.5}, dtype)


@check(
    "the gradient with respect to logp matches the reference's (logp_old is a constant, logp is not)",
    zh="对 logp 的梯度与参考实现一致（logp_old 是常数，logp 不是）",
)
def gradient(ctx):
    n, g, t, level, beta = ctx.draw(
        st.tuples(st.integers(1, 3), st.integers(2, 4), st.integers(1, 7), st.booleans(), st.sampled_from([0.04, 0.3]))
    )
    args = _inputs(ctx, torch.float64, n, g, t, levels=[2.0 * i for i in range(n)])
    kwargs = {"token_level": level, "beta": beta}
    loss, grad = ctx.run("loss_and_grad", *args, g, **kwargs)
    x = args[0].clone().requires_grad_(True)
    with torch.enable_grad():
        expected = reference(x, *args[1:], g, **kwargs)
        (want,) = torch.autograd.grad(expected, x)
    ctx.assert_close(loss, ctx.reference(*args, g, **kwargs), dtype=torch.float64)
    if not isinstance(grad, torch.Tensor) or not torch.allclose(grad, want, rtol=1e-7, atol=1e-9):
        diff = float((grad - want).abs().max()) if isinstance(grad, torch.Tensor) else float("nan")
        ctx.fail(
            f"the loss has the right value but the wrong gradient with respect to logp (largest difference {diff:.3g}); "
            "a detached logp, or a loss built from values without a graph, trains nothing"
        )


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def grpo_objective(logp, logp_old, logp_ref, rewards, mask, group_size, clip_eps=0.2, beta=0.04, token_level=False, eps=1e-4):
    grouped = rewards.view(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    adv = ((grouped - mean) / (std + eps)).reshape(-1, 1)
    ratio = torch.exp(logp - logp_old)
    surr = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    kl = torch.exp(logp_ref - logp) - (logp_ref - logp) - 1
    per_token = -(surr - beta * kl)
    m = mask.to(per_token.dtype)
    if token_level:
        return (per_token * m).sum() / m.sum()
    return ((per_token * m).sum(dim=1) / m.sum(dim=1)).mean()
"""

WRONG_ANSWERS = {
    "max instead of min: the optimistic bound, wrong whenever the clip applies": edited(
        _PLAIN, ("surr = torch.min(", "surr = torch.max(")
    ),
    "std over the whole batch instead of per group": edited(
        _PLAIN, ("std = grouped.std(dim=1, keepdim=True)", "std = rewards.std()")
    ),
    "groups read as columns (view(group_size, -1)) instead of consecutive rows": edited(
        _PLAIN,
        ("grouped = rewards.view(-1, group_size)", "grouped = rewards.view(group_size, -1).t()"),
        ("adv = ((grouped - mean) / (std + eps)).reshape(-1, 1)", "adv = ((grouped - mean) / (std + eps)).t().reshape(-1, 1)"),
    ),
    "mask not applied to the mean: padding tokens counted": edited(
        _PLAIN,
        ("return (per_token * m).sum() / m.sum()", "return (per_token * m).mean()"),
        ("return ((per_token * m).sum(dim=1) / m.sum(dim=1)).mean()", "return (per_token * m).mean(dim=1).mean()"),
    ),
    "KL as k1 (logp - logp_ref) instead of k3": edited(
        _PLAIN, ("kl = torch.exp(logp_ref - logp) - (logp_ref - logp) - 1", "kl = logp - logp_ref")
    ),
    "returns the objective (to maximise), not the loss": edited(
        _PLAIN, ("per_token = -(surr - beta * kl)", "per_token = surr - beta * kl")
    ),
    "ratio from a detached logp: the loss has the right value but no gradient through the surrogate": edited(
        _PLAIN, ("ratio = torch.exp(logp - logp_old)", "ratio = torch.exp(logp.detach() - logp_old)")
    ),
    "sequence-level mean even when token_level=True": edited(
        _PLAIN, ("    if token_level:\n        return (per_token * m).sum() / m.sum()\n", "")
    ),
    "population std (divides by G) instead of the sample std": edited(
        _PLAIN, ("std = grouped.std(dim=1, keepdim=True)", "std = grouped.std(dim=1, keepdim=True, correction=0)")
    ),
    "KL added with the wrong sign (rewards drifting from the reference)": edited(
        _PLAIN, ("per_token = -(surr - beta * kl)", "per_token = -(surr + beta * kl)")
    ),
}

ALTERNATIVES = {
    "the loss form -min(rA, clip(r)A) = max(-rA, -clip(r)A), masked_fill, per-group loop for the advantages": """
import torch

def grpo_objective(logp, logp_old, logp_ref, rewards, mask, group_size, clip_eps=0.2, beta=0.04, token_level=False, eps=1e-4):
    adv = torch.empty_like(rewards)
    for start in range(0, rewards.shape[0], group_size):
        r = rewards[start:start + group_size]
        adv[start:start + group_size] = (r - r.mean()) / (r.std() + eps)
    adv = adv[:, None]
    log_ratio = logp - logp_old
    ratio = log_ratio.exp()
    pg = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip_eps, 1 + clip_eps))
    d = logp_ref - logp
    per_token = pg + beta * (d.exp() - d - 1)
    per_token = per_token.masked_fill(~mask, 0.0)
    counts = mask.sum(dim=1).to(per_token.dtype)
    if token_level:
        return per_token.sum() / counts.sum()
    return (per_token.sum(dim=1) / counts).sum() / per_token.shape[0]
""",
}
