"""alignment.gae — generalized advantage estimation over a rollout with episode ends: reference, checks, wrong answers.

gae(rewards, values, dones, gamma=0.99, lam=0.95): rewards (B, T), values (B, T + 1) (V(s_0) ..
V(s_T); the last is the bootstrap value of the state after the rollout), dones bool (B, T)
(dones[b, t] True: the episode ended with step t, so s_{t+1} is terminal and nothing flows back
across it) -> (advantages, returns), each (B, T) in rewards' dtype:
    delta_t = r_t + gamma * V(s_{t+1}) * (1 - d_t) - V(s_t)
    A_t     = delta_t + gamma * lam * (1 - d_t) * A_{t+1},   A_T = 0
    returns = A + V(s_0 .. s_{T-1})
(Schulman et al. 2015, arXiv:1506.02438, eq. 16, with the recursion cut at episode ends; OpenAI
Baselines' ppo2 and Stable-Baselines3 store the same flag one step later, as "s_{t+1} starts a
new episode", and read it as dones[t + 1].) Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- T = 1 (only the bootstrap value), one environment;
- an episode end at the first step, at the last step (V(s_T) must not be bootstrapped), two in a
  row, and at every step;
- lam = 0 and 1, gamma = 1;
- a long rollout (T = 200) where a missing factor compounds;
- float64 values near 1e4 with rewards of size 1: delta = r + gamma V' - V cancels, and a
  `.float()` loses 1e-3 there.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(rewards, values, dones, gamma=0.99, lam=0.95):
    b, t = rewards.shape
    alive = 1.0 - dones.to(rewards.dtype)  # (B, T): 0 where the episode ended at step t
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(b, dtype=rewards.dtype)  # A_{t+1}, zero past the rollout
    for i in reversed(range(t)):
        delta = rewards[:, i] + gamma * values[:, i + 1] * alive[:, i] - values[:, i]
        running = delta + gamma * lam * alive[:, i] * running
        advantages[:, i] = running
    return advantages, advantages + values[:, :t]


DTYPES = [torch.float32, torch.float64]
SIZES = st.tuples(st.integers(1, 3), st.integers(1, 12))  # (B, T)
GAMMA_LAM = st.sampled_from(["default", (0.9, 0.8), (0.5, 1.0), (1.0, 0.5), (0.97, 0.0), (0.8, 0.95)])


def _rollout(ctx, dtype, b, t, p_done):
    rewards = ctx.randn(b, t, dtype=dtype)
    values = ctx.randn(b, t + 1, dtype=dtype, scale=2.0)
    dones = ctx.rand(b, t) < p_done
    return rewards, values, dones


def _call(ctx, args, gl):
    options = {} if gl == "default" else {"gamma": gl[0], "lam": gl[1]}
    return ctx.call(*args, **options), ctx.reference(*args, **options)


def _close_pair(ctx, out, expected, dtype):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (advantages, returns)")
    ctx.assert_close(out[0], expected[0], dtype=dtype)
    ctx.assert_close(out[1], expected[1], dtype=dtype)


@check(
    "matches the reference (B 1 to 3, T 1 to 12, float32/float64, episode ends anywhere, gamma and lam at default and away)",
    zh="与参考实现一致（B 1 到 3，T 1 到 12，float32/float64，episode 可在任意位置结束，gamma 和 lam 取默认值和非默认值）",
    teaches=["alignment.gae_advantage"],
)
def matches_reference(ctx):
    dtype, (b, t), gl, p_done = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, GAMMA_LAM, st.sampled_from([0.0, 0.2, 0.5])))
    args = _rollout(ctx, dtype, b, t, p_done)
    out, expected = _call(ctx, args, gl)
    _close_pair(ctx, out, expected, dtype)


# (B, T, steps whose episode ends, gamma and lam, why): every dtype, every run
BOUNDARY_CASES = [
    (1, 1, [], "default", "T = 1, no episode end (only the bootstrap)"),
    (2, 1, [0], (0.9, 0.8), "T = 1, the episode ends with the only step"),
    (1, 6, [0], "default", "the episode ends with the first step"),
    (2, 6, [5], "default", "the episode ends with the last step (no bootstrap from V(s_T))"),
    (1, 7, [2, 3], (0.9, 1.0), "two episode ends in a row, lam = 1"),
    (2, 5, [0, 1, 2, 3, 4], (1.0, 0.5), "every step ends an episode, gamma = 1"),
    (1, 6, [3], (0.95, 0.0), "lam = 0"),
    (2, 200, [57, 140], "default", "a long rollout (T = 200)"),
]


@check(
    "float64 input is computed in float64: values near 1e4, rewards of size 1, within 1e-11",
    zh="float64 输入全程用 float64 计算：价值在 1e4 附近，奖励大小为 1，误差在 1e-11 内",
    examples=3,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    (b, t), p_done = ctx.draw(st.tuples(SIZES, st.sampled_from([0.0, 0.3])))
    rewards, values, dones = _rollout(ctx, torch.float64, b, t + 8, p_done)
    values = values + 1e4  # float32 keeps ~1e-3 of these
    out, expected = _call(ctx, (rewards, values, dones), "default")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (advantages, returns)")
    ctx.assert_close(out[0], expected[0], dtype=torch.float64, rtol=1e-11, atol=1e-9)
    ctx.assert_close(out[1], expected[1], dtype=torch.float64, rtol=1e-11, atol=1e-9)


@check(
    "boundary cases every run: T = 1, episode ends at the first and last step, in a row, at every step, lam 0 and 1, T = 200",
    zh="每次都测的边界情况：T = 1，episode 在第一步和最后一步结束、连续结束、每一步都结束，lam 为 0 和 1，T = 200",
    examples=1,
    teaches=["alignment.gae_advantage", "alignment.gae_lambda_choice"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for b, t, ends, gl, _why in BOUNDARY_CASES:
            rewards, values, dones = _rollout(ctx, dtype, b, t, 0.0)
            dones[:, ends] = True
            out, expected = _call(ctx, (rewards, values, dones), gl)
            _close_pair(ctx, out, expected, dtype)


@check(
    "an episode end cuts the rollout: the advantages before it do not depend on anything after it",
    zh="episode 结束会截断 rollout：它之前的优势不依赖于它之后的任何东西",
)
def cut_at_done(ctx):
    dtype, (b, t), gl = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, GAMMA_LAM))
    t = max(t, 2)
    end = ctx.draw(st.integers(0, t - 2))  # the episode ends with step `end`
    rewards, values, dones = _rollout(ctx, dtype, b, t, 0.0)
    dones[:, end] = True
    out, expected = _call(ctx, (rewards, values, dones), gl)
    _close_pair(ctx, out, expected, dtype)
    later = (rewards.clone(), values.clone(), dones)
    later[0][:, end + 1 :] += 5.0  # a different next episode
    later[1][:, end + 1 :] -= 3.0
    again, _ = _call(ctx, later, gl)
    ctx.assert_close(again[0][:, : end + 1], out[0][:, : end + 1].double(), dtype=dtype)


@check(
    "lam = 0 gives the one-step TD errors; lam = 1 with no episode end gives the discounted return minus V",
    zh="lam = 0 得到单步 TD 误差；lam = 1 且 episode 不结束时得到折扣回报减 V",
    teaches=["alignment.gae_lambda_choice", "alignment.gae_advantage"],
)
def lambda_limits(ctx):
    dtype, (b, t), gamma, one = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from([0.9, 0.99, 0.5]), st.booleans())
    )
    rewards, values, dones = _rollout(ctx, dtype, b, t, 0.0 if one else 0.3)
    out = ctx.call(rewards, values, dones, gamma=gamma, lam=1.0 if one else 0.0)
    r, v, alive = rewards.double(), values.double(), 1.0 - dones.double()
    if one:  # A_t = sum_k gamma^k r_{t+k} + gamma^(T-t) V(s_T) - V(s_t): the Monte Carlo return
        ret = v[:, t].clone()
        adv = torch.zeros_like(r)
        for i in reversed(range(t)):
            ret = r[:, i] + gamma * ret
            adv[:, i] = ret - v[:, i]
    else:  # A_t = delta_t
        adv = r + gamma * v[:, 1:] * alive - v[:, :t]
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (advantages, returns)")
    ctx.assert_close(out[0], adv, dtype=dtype)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def gae(rewards, values, dones, gamma=0.99, lam=0.95):
    T = rewards.shape[1]
    alive = (~dones).to(rewards.dtype)
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(T)):
        delta = rewards[:, t] + gamma * values[:, t + 1] * alive[:, t] - values[:, t]
        last = delta + gamma * lam * alive[:, t] * last
        adv[:, t] = last
    return adv, adv + values[:, :T]
"""


WRONG_ANSWERS = {
    "ignores dones: advantages leak across episode boundaries": edited(
        _PLAIN,
        ("values[:, t + 1] * alive[:, t]", "values[:, t + 1]"),
        ("lam * alive[:, t] * last", "lam * last"),
    ),
    "stops bootstrapping V at a done but does not reset the recursion": edited(
        _PLAIN, ("lam * alive[:, t] * last", "lam * last")
    ),
    "reads the done flag one step late (dones[t + 1], the Baselines layout) although dones[t] marks the end of step t": edited(
        _PLAIN,
        (
            "    for t in reversed(range(T)):\n",
            "    for t in reversed(range(T)):\n        nxt = alive[:, t + 1] if t + 1 < T else torch.ones_like(alive[:, 0])\n",
        ),
        ("values[:, t + 1] * alive[:, t]", "values[:, t + 1] * nxt"),
        ("lam * alive[:, t] * last", "lam * nxt * last"),
    ),
    "forgets gamma in the recursion: A_t = delta_t + lam * A_{t+1}": edited(_PLAIN, ("gamma * lam * alive", "lam * alive")),
    "returns as the discounted reward-to-go instead of advantages + values": edited(
        _PLAIN,
        (
            "    last = torch.zeros_like(rewards[:, 0])\n",
            "    last = torch.zeros_like(rewards[:, 0])\n    ret = torch.zeros_like(rewards)\n    run = torch.zeros_like(rewards[:, 0])\n",
        ),
        (
            "        adv[:, t] = last\n",
            "        adv[:, t] = last\n        run = rewards[:, t] + gamma * alive[:, t] * run\n        ret[:, t] = run\n",
        ),
        ("return adv, adv + values[:, :T]", "return adv, ret"),
    ),
    "bootstraps V(s_T) even when the episode ends with the last step": edited(
        _PLAIN,
        ("values[:, t + 1] * alive[:, t]", "values[:, t + 1] * (alive[:, t] if t < T - 1 else 1.0)"),
    ),
    "ignores the bootstrap value: V(s_T) taken as 0": edited(
        _PLAIN,
        ("values[:, t + 1] * alive[:, t]", "(values[:, t + 1] if t < T - 1 else 0.0) * alive[:, t]"),
    ),
    "computes in float32 (.float() on float64 input), cast back": edited(
        _PLAIN,
        (
            "    T = rewards.shape[1]\n",
            "    T = rewards.shape[1]\n    dtype = rewards.dtype\n    rewards, values = rewards.float(), values.float()\n",
        ),
        ("return adv, adv + values[:, :T]", "return adv.to(dtype), (adv + values[:, :T]).to(dtype)"),
    ),
    "writes the advantages into rewards' storage (adv = rewards: modifies the input)": edited(
        _PLAIN,
        ("adv = torch.zeros_like(rewards)", "adv = rewards"),
    ),
    "returns from the next state's values (adv + values[:, 1:])": edited(
        _PLAIN,
        ("return adv, adv + values[:, :T]", "return adv, adv + values[:, 1:]"),
    ),
    "closed form over a fixed 64-step horizon (drops the tail of long rollouts)": """
import torch

def gae(rewards, values, dones, gamma=0.99, lam=0.95):
    T = rewards.shape[1]
    alive = (~dones).to(rewards.dtype)
    delta = rewards + gamma * values[:, 1:] * alive - values[:, :T]
    adv = torch.zeros_like(rewards)
    for t in range(T):
        weight = torch.ones_like(rewards[:, 0])
        for k in range(t, min(T, t + 64)):
            adv[:, t] += weight * delta[:, k]
            weight = weight * gamma * lam * alive[:, k]
    return adv, adv + values[:, :T]
""",
}

ALTERNATIVES = {
    "closed form per step: A_t = sum_k (gamma lam)^k delta_{t+k}, each sum stopped at the episode end": """
import torch

def gae(rewards, values, dones, gamma=0.99, lam=0.95):
    B, T = rewards.shape
    r, v, d = rewards.double(), values.double(), dones
    delta = r + gamma * v[:, 1:] * (~d).double() - v[:, :T]
    adv = torch.zeros(B, T, dtype=torch.float64)
    for b in range(B):
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                total += weight * float(delta[b, k])
                if bool(d[b, k]):
                    break
                weight *= gamma * lam
            adv[b, t] = total
    adv = adv.to(rewards.dtype)
    return adv, adv + values[:, :T]
""",
}
