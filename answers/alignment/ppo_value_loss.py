"""alignment.ppo_value_loss — PPO's clipped value (critic) loss: reference, checks, wrong answers.

ppo_value_loss(values, old_values, returns, mask=None, clip_eps=0.2): three tensors of one shape
(B, T) (the critic's current predictions, its predictions when the batch was sampled, and the
return targets), mask a bool tensor of that shape (True = the token counts) or None (all count)
-> a 0-dim tensor in values' dtype:
    clipped = old_values + clip(values - old_values, -clip_eps, clip_eps)
    loss    = 0.5 * masked mean of max((values - returns)^2, (clipped - returns)^2)
(OpenAI baselines, ppo2/model.py: vpredclipped and vf_loss = .5 * mean(maximum(vf_losses1,
vf_losses2)); Hugging Face TRL's PPO trainer: the same with a masked mean over all unmasked tokens
of the batch). The mask never masks everything. Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- each clip case alone: values within clip_eps of old_values (the two terms agree), moved past it
  towards the return (the clipped term is larger: max and min differ) and away from it (the
  unclipped term is larger), old_values far from the returns (a clip around the return differs);
- one token (B = T = 1), rows of 1, 5 and 9 tokens (a per-row mean differs from the token mean),
  no mask, an all-True mask, a mask keeping one token;
- clip_eps at its default and at 10 (nothing clipped);
- returns far from 0 with old_values near them (a clip relative to old_values * (1 +- eps) differs).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(values, old_values, returns, mask=None, clip_eps=0.2):
    clipped = old_values + (values - old_values).clamp(-clip_eps, clip_eps)  # at most clip_eps from the old value
    per_token = torch.maximum((values - returns).square(), (clipped - returns).square())  # the pessimistic of the two
    if mask is None:
        return 0.5 * per_token.mean()
    weights = mask.to(per_token.dtype)
    return 0.5 * (per_token * weights).sum() / weights.sum()  # mean over every counted token of the batch


DTYPES = [torch.float32, torch.float64]
EPS = ["default", 0.1, 0.5, 1.0]


def _inputs(ctx, dtype, b, t, level=0.0, spread=0.4):
    old_values = ctx.randn(b, t, dtype=torch.float64) + level
    values = old_values + ctx.randn(b, t, dtype=torch.float64, scale=spread)  # inside and outside the clip range
    returns = old_values + ctx.randn(b, t, dtype=torch.float64)
    return values.to(dtype), old_values.to(dtype), returns.to(dtype)


def _mask(ctx, b, t, kind):
    if kind == "none":
        return None
    if kind == "all":
        return torch.ones(b, t, dtype=torch.bool)
    if kind == "ragged":
        lengths = torch.tensor([(1, 5, 9)[i % 3] for i in range(b)]).clamp(max=t)
        return torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
    mask = ctx.rand(b, t) < 0.6
    mask[int(ctx.randint(0, b, (1,))), int(ctx.randint(0, t, (1,)))] = True  # never all masked
    return mask


def _compare(ctx, args, mask, kwargs, dtype):
    out = ctx.call(*args, mask, **kwargs)
    ctx.assert_close(out, ctx.reference(*args, mask, **kwargs), dtype=dtype)


@check(
    "matches the reference (B 1 to 4, T 1 to 9, float32/float64, random, ragged or no mask, clip_eps at its default and away)",
    zh="与参考实现一致（B 为 1 到 4，T 为 1 到 9，float32/float64，随机、参差不齐或没有 mask，clip_eps 取默认值和非默认值）",
    teaches=["alignment.ppo_value_clipping"],
)
def matches_reference(ctx):
    dtype, b, t, eps, kind = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 4),
            st.integers(1, 9),
            st.sampled_from(EPS),
            st.sampled_from(["none", "random", "ragged", "all"]),
        )
    )
    kwargs = {} if eps == "default" else {"clip_eps": eps}
    _compare(ctx, _inputs(ctx, dtype, b, t), _mask(ctx, b, t, kind), kwargs, dtype)


def _clip_cases(dtype):
    """One row per clip case (old value, value, return): inside, past it towards R, past it away from R, ..."""
    rows = [
        (0.0, 0.1, 1.0),  # inside the clip range: both terms equal
        (0.0, 1.0, 2.0),  # moved past +eps towards R: the clipped term is the larger
        (0.0, 1.0, -1.0),  # moved past +eps away from R: the unclipped term is the larger
        (0.0, -1.0, 0.5),  # moved past -eps past R: the unclipped term is the larger
        (3.0, 2.0, -4.0),  # old value far from R, moved towards it
        (-2.0, -2.5, 6.0),  # past -eps away from R
    ]
    old, new, ret = (torch.tensor([[r[i] for r in rows]], dtype=torch.float64).to(dtype) for i in range(3))
    return new, old, ret


@check(
    "boundary cases every run: each clip case, one token, rows of 1, 5 and 9 tokens, no mask, all-True and one-token masks, clip_eps 10, returns near 1e3 (float32 and float64)",
    zh="每次都测的边界情况：每种 clip 情况、只有一个 token、1、5、9 个 token 的行、没有 mask、全 True 和只留一个 token 的 mask、clip_eps 为 10、接近 1e3 的 return（float32 和 float64）",
    examples=1,
    teaches=["alignment.ppo_value_clipping"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        cases = _clip_cases(dtype)
        _compare(ctx, cases, None, {}, dtype)
        _compare(ctx, cases, torch.tensor([[True, True, False, True, False, True]]), {"clip_eps": 0.5}, dtype)
        _compare(ctx, _inputs(ctx, dtype, 1, 1), None, {}, dtype)  # one token
        _compare(ctx, _inputs(ctx, dtype, 3, 9), _mask(ctx, 3, 9, "ragged"), {}, dtype)
        _compare(ctx, _inputs(ctx, dtype, 2, 5), _mask(ctx, 2, 5, "all"), {"clip_eps": 0.1}, dtype)
        one = torch.zeros(3, 4, dtype=torch.bool)
        one[1, 2] = True
        _compare(ctx, _inputs(ctx, dtype, 3, 4), one, {}, dtype)  # a mask keeping one token
        _compare(ctx, _inputs(ctx, dtype, 2, 6, spread=2.0), _mask(ctx, 2, 6, "random"), {"clip_eps": 10.0}, dtype)
        _compare(ctx, _inputs(ctx, dtype, 2, 7, level=1e3), _mask(ctx, 2, 7, "ragged"), {}, dtype)


@check(
    "with values equal to old_values (the first epoch on a batch) the loss is 0.5 * the masked mean of (values - returns)^2",
    zh="values 等于 old_values 时（一个 batch 上的第一轮），损失等于 0.5 * (values - returns)^2 的带 mask 均值",
    teaches=["alignment.ppo_value_clipping"],
)
def unclipped_when_unmoved(ctx):
    b, t = ctx.draw(st.tuples(st.integers(1, 4), st.integers(1, 8)))
    values, _, returns = _inputs(ctx, torch.float64, b, t)
    mask = _mask(ctx, b, t, "random")
    out = ctx.call(values, values.clone(), returns, mask)
    weights = mask.to(torch.float64)
    expected = 0.5 * ((values - returns).square() * weights).sum() / weights.sum()
    ctx.assert_close(out, ctx.reference(values, values.clone(), returns, mask), dtype=torch.float64)
    ctx.assert_close(out, expected, dtype=torch.float64)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def ppo_value_loss(values, old_values, returns, mask=None, clip_eps=0.2):
    v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    loss_unclipped = (values - returns) ** 2
    loss_clipped = (v_clipped - returns) ** 2
    per_token = torch.max(loss_unclipped, loss_clipped)
    if mask is None:
        return 0.5 * per_token.mean()
    m = mask.to(per_token.dtype)
    return 0.5 * (per_token * m).sum() / m.sum()
"""

WRONG_ANSWERS = {
    "min instead of max: the optimistic of the two losses": edited(
        _PLAIN, ("per_token = torch.max(loss_unclipped, loss_clipped)", "per_token = torch.min(loss_unclipped, loss_clipped)")
    ),
    "clipped around the return instead of the old value": edited(
        _PLAIN,
        (
            "v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)",
            "v_clipped = returns + torch.clamp(values - returns, -clip_eps, clip_eps)",
        ),
    ),
    "missing the factor 0.5": edited(
        _PLAIN,
        ("return 0.5 * per_token.mean()", "return per_token.mean()"),
        ("return 0.5 * (per_token * m).sum() / m.sum()", "return (per_token * m).sum() / m.sum()"),
    ),
    "mask ignored: the mean over every position, padding included": edited(
        _PLAIN, ("    if mask is None:\n        return 0.5 * per_token.mean()\n", "    return 0.5 * per_token.mean()\n")
    ),
    "mean per sequence, then over the batch": edited(
        _PLAIN,
        (
            "return 0.5 * (per_token * m).sum() / m.sum()",
            "return 0.5 * ((per_token * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)).mean()",
        ),
    ),
    "clip relative to the old value, like the ratio: clamp(V, V_old * (1 - eps), V_old * (1 + eps))": edited(
        _PLAIN,
        (
            "v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)",
            "v_clipped = torch.max(torch.min(values, old_values * (1 + clip_eps)), old_values * (1 - clip_eps))",
        ),
    ),
    "only the clipped term, no max with the unclipped one": edited(
        _PLAIN, ("per_token = torch.max(loss_unclipped, loss_clipped)", "per_token = loss_clipped")
    ),
    "masked sum divided by the number of positions, not of counted tokens": edited(
        _PLAIN, ("return 0.5 * (per_token * m).sum() / m.sum()", "return 0.5 * (per_token * m).sum() / m.numel()")
    ),
}

ALTERNATIVES = {
    "values clamped into [old - eps, old + eps] with tensor bounds, masked_select for the mean": """
import torch

def ppo_value_loss(values, old_values, returns, mask=None, clip_eps=0.2):
    v_clipped = torch.clamp(values, min=old_values - clip_eps, max=old_values + clip_eps)
    worst = torch.maximum((values - returns).pow(2), (v_clipped - returns).pow(2))
    if mask is not None:
        worst = torch.masked_select(worst, mask)
    return worst.mean() / 2
""",
}
