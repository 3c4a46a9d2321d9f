"""alignment.ppo_clip_loss — PPO's clipped surrogate objective as a loss: reference, checks, wrong answers.

ppo_clip_loss(logp_new, logp_old, advantages, mask=None, clip_eps=0.2): three tensors of one shape
(B, T) (per-token log-probabilities of the sampled tokens under the current and the sampling
policy, and the advantages), mask a bool tensor of that shape (True = the token counts) or None
(all count) -> a 0-dim tensor in logp_new's dtype:
    -sum(mask * min(r * A, clip(r, 1 - eps, 1 + eps) * A)) / sum(mask),  r = exp(logp_new - logp_old)
(Schulman et al. 2017, arXiv:1707.06347, eq. 7, negated for gradient descent; the mean is over all
unmasked tokens of the batch, as TRL's masked_mean). The mask never masks everything. Float64
input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- each of the clip cases alone (r above 1 + eps or below 1 - eps, inside, times A > 0 and A < 0):
  a one-sided clamp is wrong only for r < 1 - eps with A < 0;
- one token (B = T = 1), one sequence (a per-row mean equals the token mean), ragged masks with
  rows of 1, 5 and 9 tokens, an all-True mask, a mask keeping a single token;
- clip_eps at its default (a wrong default shows only there);
- per-token log-probs near -110 (exp(logp) underflows in float32: exp(new) / exp(old) is 0/0);
- float64 log-probs over 4096 tokens: a `.float()` loses ~1e-7 there.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(logp_new, logp_old, advantages, mask=None, clip_eps=0.2):
    ratio = torch.exp(logp_new - logp_old)  # (B, T): pi_new / pi_old per token
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages
    surrogate = torch.minimum(unclipped, clipped)  # (B, T): the pessimistic bound
    if mask is None:
        return -surrogate.mean()
    weights = mask.to(surrogate.dtype)
    return -(surrogate * weights).sum() / weights.sum()  # mean over the tokens that count


DTYPES = [torch.float32, torch.float64]
EPS = ["default", 0.1, 0.3, 0.05]
SIZES = st.tuples(st.integers(1, 4), st.integers(1, 9))  # (B, T)


def _inputs(ctx, dtype, b, t, spread=0.4):
    """Log-probs of sampled tokens and a policy that moved: ratios on both sides of the clip range."""
    logp_old = -(ctx.rand(b, t, dtype=torch.float64) * 5 + 0.01)
    logp_new = logp_old + ctx.randn(b, t, dtype=torch.float64, scale=spread)
    advantages = ctx.randn(b, t, dtype=torch.float64)  # both signs
    return logp_new.to(dtype), logp_old.to(dtype), advantages.to(dtype)


def _mask(ctx, b, t, kind):
    if kind == "none":
        return None
    mask = ctx.rand(b, t) < 0.6
    mask[ctx.draw(st.integers(0, b - 1)), ctx.draw(st.integers(0, t - 1))] = True  # never all masked
    if kind == "ragged" and b > 1:
        mask[0] = True  # rows of different lengths: a per-row mean then differs from the token mean
        mask[1, 1:] = False
    return mask


def _call(ctx, args, mask, eps):
    options = {} if eps == "default" else {"clip_eps": eps}
    if mask is not None:
        options["mask"] = mask
    return ctx.call(*args, **options), ctx.reference(*args, **options)


@check(
    "matches the reference (B 1 to 4, T 1 to 9, float32/float64, no mask / random / ragged masks, clip_eps at default and away)",
    zh="与参考实现一致（B 1 到 4，T 1 到 9，float32/float64，无 mask / 随机 / 长短不一的 mask，clip_eps 取默认值和非默认值）",
    teaches=["alignment.ppo_clipped_loss"],
)
def matches_reference(ctx):
    dtype, (b, t), eps, kind = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from(EPS), st.sampled_from(["none", "random", "ragged"]))
    )
    args = _inputs(ctx, dtype, b, t)
    out, expected = _call(ctx, args, _mask(ctx, b, t, kind), eps)
    ctx.assert_close(out, expected, dtype=dtype)


def _tokens(ctx, ratios, adv, dtype, level=3.0):
    """(1, T) inputs with the given ratios and advantages, log-probs around -level."""
    t = len(ratios)
    logp_old = -(ctx.rand(1, t, dtype=torch.float64) * 3 + level)
    ratio = torch.tensor(ratios, dtype=torch.float64)[None]
    return (logp_old + ratio.log()).to(dtype), logp_old.to(dtype), torch.tensor(adv, dtype=torch.float64)[None].to(dtype)


@check(
    "boundary cases every run: each clip case alone, one token, one sequence, ragged and single-token masks, log-probs near -110",
    zh="每次都测的边界情况：每种 clip 情况单独出现，一个 token，一条序列，长短不一和单 token 的 mask，log-prob 在 -110 附近",
    examples=1,
    teaches=["alignment.ppo_clipped_loss"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for eps in ("default", 0.1):
            e = 0.2 if eps == "default" else eps
            cases = [(r, a) for r in (1 + 3 * e, 1 - 3 * e, 1 + e / 2, 1 - e / 2) for a in (1.5, -0.7)]
            args = _tokens(ctx, [r for r, _ in cases], [a for _, a in cases], dtype)
            for keep in range(len(cases)):  # each branch of the min by itself
                mask = (torch.arange(len(cases)) == keep)[None]
                out, expected = _call(ctx, args, mask, eps)
                ctx.assert_close(out, expected, dtype=dtype)
        out, expected = _call(ctx, _tokens(ctx, [1.5], [2.0], dtype), None, "default")  # one token
        ctx.assert_close(out, expected, dtype=dtype)
        # three sequences of 1, 5 and 9 tokens (ragged), then all kept, then one token kept
        args = _inputs(ctx, dtype, 3, 9)
        lengths = torch.tensor([[1], [5], [9]])
        for mask in (torch.arange(9)[None] < lengths, torch.ones(3, 9, dtype=torch.bool), torch.arange(27).view(3, 9) == 13):
            out, expected = _call(ctx, args, mask, "default")
            ctx.assert_close(out, expected, dtype=dtype)
        out, expected = _call(ctx, _inputs(ctx, dtype, 1, 7), torch.arange(7)[None] < 4, 0.3)  # one sequence
        ctx.assert_close(out, expected, dtype=dtype)
        args = _tokens(ctx, [1.6, 0.5, 1.05, 0.95], [1.0, -1.0, 0.5, -0.5], dtype, level=110.0)  # exp(logp) underflows
        out, expected = _call(ctx, args, None, "default")
        ctx.assert_close(out, expected, dtype=dtype)


@check(
    "float64 input is computed in float64: 4096 tokens, within 1e-11",
    zh="float64 输入全程用 float64 计算：4096 个 token，误差在 1e-11 内",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    kind = ctx.draw(st.sampled_from(["none", "random"]))
    args = _inputs(ctx, torch.float64, 2, 2048, spread=0.1)
    args = (args[0] - 20, args[1] - 20, args[2] + 0.3)  # log-probs near -20: float32 keeps ~2e-6 of them
    out, expected = _call(ctx, args, _mask(ctx, 2, 2048, kind), "default")
    ctx.assert_close(out, expected, dtype=torch.float64, rtol=1e-11, atol=1e-13)


@check(
    "every case of the min: ratio above 1 + eps and below 1 - eps, with positive and negative advantages",
    zh="min 的每种情况：ratio 高于 1 + eps 和低于 1 - eps，优势为正和为负",
    teaches=["alignment.ppo_clipped_loss"],
)
def clip_cases(ctx):
    dtype, eps, masked = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.sampled_from(EPS), st.booleans()))
    e = 0.2 if eps == "default" else eps
    # one token per case: r in {1 + 3e, 1 - 3e, 1 + e/2, 1 - e/2} x A in {+, -}
    ratios = torch.tensor([1 + 3 * e, 1 - 3 * e, 1 + e / 2, 1 - e / 2], dtype=torch.float64).repeat(2)
    adv = torch.tensor([1.5] * 4 + [-0.7] * 4, dtype=torch.float64)
    keep = ctx.draw(st.integers(0, 7))  # one case alone (when masked), so each branch is seen by itself
    logp_old = -(ctx.rand(1, 8, dtype=torch.float64) * 3 + 0.1)
    args = ((logp_old + ratios.log()).to(dtype), logp_old.to(dtype), adv[None].to(dtype))
    mask = (torch.arange(8) == keep)[None] if masked else None
    out, expected = _call(ctx, args, mask, eps)
    ctx.assert_close(out, expected, dtype=dtype)


@check(
    "with logp_new == logp_old (the first PPO epoch) the loss is minus the mean advantage over unmasked tokens",
    zh="logp_new == logp_old 时（PPO 的第一个 epoch），损失是未被 mask 的 token 上优势均值的相反数",
    teaches=["alignment.ppo_clipped_loss"],
)
def no_change(ctx):
    dtype, (b, t), kind = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from(["none", "random", "ragged"])))
    _, logp_old, adv = _inputs(ctx, dtype, b, t)
    mask = _mask(ctx, b, t, kind)
    out, _ = _call(ctx, (logp_old.clone(), logp_old, adv), mask, "default")
    a = adv.double()
    expected = -a.mean() if mask is None else -(a * mask).sum() / mask.sum()
    ctx.assert_close(out, expected, dtype=dtype)


@check(
    "masked-out tokens do not matter: changing their log-probs and advantages leaves the loss unchanged",
    zh="被 mask 掉的 token 不影响结果：改变它们的 log-prob 和优势，损失不变",
)
def masked_ignored(ctx):
    dtype, (b, t) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES))
    logp_new, logp_old, adv = _inputs(ctx, dtype, b, t)
    mask = _mask(ctx, b, t, "random")
    out = ctx.call(logp_new, logp_old, adv, mask=mask)
    ctx.assert_close(out, ctx.reference(logp_new, logp_old, adv, mask=mask), dtype=dtype)
    noise = ctx.randn(b, t, dtype=dtype, scale=5.0)
    other = ctx.call(torch.where(mask, logp_new, logp_new - noise.abs()), logp_old, torch.where(mask, adv, noise), mask=mask)
    ctx.assert_close(other, out.double(), dtype=dtype)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def ppo_clip_loss(logp_new, logp_old, advantages, mask=None, clip_eps=0.2):
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages
    s = torch.minimum(unclipped, clipped)
    if mask is None:
        return -s.mean()
    return -(s * mask).sum() / mask.sum()
"""


WRONG_ANSWERS = {
    "max instead of min: the optimistic bound, which lets the policy move without limit": edited(
        _PLAIN, ("torch.minimum", "torch.maximum")
    ),
    "clips the advantage instead of the ratio": edited(
        _PLAIN,
        ("ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages", "ratio * advantages.clamp(1 - clip_eps, 1 + clip_eps)"),
    ),
    "ratio as logp_new / logp_old (a ratio of log-probabilities, not of probabilities)": edited(
        _PLAIN,
        ("torch.exp(logp_new - logp_old)", "logp_new / logp_old"),
    ),
    "returns the objective, not the loss (no minus sign): gradient descent then makes good actions rarer": edited(
        _PLAIN,
        ("return -s.mean()", "return s.mean()"),
        ("return -(s * mask)", "return (s * mask)"),
    ),
    "zeroes masked tokens but still divides by every token (mean over padding too)": edited(
        _PLAIN,
        (
            "    if mask is None:\n        return -s.mean()\n    return -(s * mask).sum() / mask.sum()",
            "    if mask is not None:\n        s = s * mask\n    return -s.mean()",
        ),
    ),
    "mean per sequence, then over the batch (weights short sequences' tokens more)": edited(
        _PLAIN,
        (
            "    if mask is None:\n        return -s.mean()\n    return -(s * mask).sum() / mask.sum()",
            "    if mask is None:\n        mask = torch.ones_like(s, dtype=torch.bool)\n"
            "    per_row = (s * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)\n"
            "    return -per_row[mask.any(dim=-1)].mean()",
        ),
    ),
    "clamps the ratio only from above (min(r, 1 + eps)): wrong for r < 1 - eps with A < 0": edited(
        _PLAIN,
        ("ratio.clamp(1 - clip_eps, 1 + clip_eps)", "ratio.clamp(max=1 + clip_eps)"),
    ),
    "ratio as exp(logp_new) / exp(logp_old): 0/0 once the log-probs are below -104 in float32": edited(
        _PLAIN,
        ("torch.exp(logp_new - logp_old)", "torch.exp(logp_new) / torch.exp(logp_old)"),
    ),
    "computes in float32 (.float() on float64 input), cast back": edited(
        _PLAIN,
        (
            "    ratio = torch.exp(logp_new - logp_old)",
            "    dtype = logp_new.dtype\n    logp_new, logp_old, advantages = logp_new.float(), logp_old.float(), advantages.float()\n"
            "    ratio = torch.exp(logp_new - logp_old)",
        ),
        ("return -s.mean()", "return -s.mean().to(dtype)"),
        ("/ mask.sum()", "/ mask.sum().to(dtype)"),
    ),
    "clip_eps defaults to 0.1 (the value some PPO code uses) instead of 0.2": edited(_PLAIN, ("clip_eps=0.2", "clip_eps=0.1")),
    "zeroes the masked advantages in place (modifies advantages)": edited(
        _PLAIN,
        ("    return -(s * mask).sum() / mask.sum()", "    advantages.mul_(mask)\n    return -(s * mask).sum() / mask.sum()"),
    ),
}

ALTERNATIVES = {
    "the clipped objective written by cases (A >= 0: min(r, 1+eps) A; A < 0: max(r, 1-eps) A), masked_select": """
import torch

def ppo_clip_loss(logp_new, logp_old, advantages, mask=None, clip_eps=0.2):
    if mask is None:
        mask = torch.ones_like(advantages, dtype=torch.bool)
    r = torch.exp(logp_new.masked_select(mask) - logp_old.masked_select(mask))
    a = advantages.masked_select(mask)
    capped = torch.where(a >= 0, torch.clamp(r, max=1 + clip_eps), torch.clamp(r, min=1 - clip_eps))
    return -(capped * a).mean()
""",
    "float64 sums with an explicit token count": """
import torch

def ppo_clip_loss(logp_new, logp_old, advantages, mask=None, clip_eps=0.2):
    dtype = logp_new.dtype
    lo, hi = 1.0 - clip_eps, 1.0 + clip_eps
    ratio = (logp_new.double() - logp_old.double()).exp()
    adv = advantages.double()
    per_token = -torch.min(ratio * adv, torch.clip(ratio, lo, hi) * adv)
    w = torch.ones_like(adv) if mask is None else mask.double()
    return ((per_token * w).sum() / w.sum()).to(dtype)
""",
}
