"""training.warmup_cosine — learning rate with linear warmup then cosine decay: reference, checks, wrong answers.

warmup_cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0) -> a Python float, for ints
0 <= warmup_steps < total_steps and step >= 0:
    step < W:       max_lr * step / W                       (lr(0) = 0, as Hugging Face's warmup)
    W <= step <= T: min_lr + (max_lr - min_lr) * 0.5 * (1 + cos(pi * (step - W) / (T - W)))
    step > T:       min_lr                                  (as nanoGPT's get_lr; it does not rise again)
so lr(W) = max_lr and lr(T) = min_lr.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws:
- W = 0 (no warmup: a test `step <= W` divides by zero at step 0), W = 1, and a long warmup;
- T - W = 1 (the cosine is one step long), 2, and long;
- the steps 0, W - 1, W, W + 1, the middle, T - 1, T, T + 1 and far past T;
- min_lr at its default 0 and above it (a warmup from min_lr, or 0 past T instead of min_lr,
  shows only then).
"""

import math

from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed


def reference(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return max_lr * step / warmup_steps  # linear from 0, reaching max_lr at step W
    if step > total_steps:
        return min_lr  # past the schedule: stay at the floor
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # 0 at W, 1 at T
    return min_lr + (max_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


@sandboxed
def schedule(solution, steps, max_lr, warmup_steps, total_steps, **kwargs):
    """The submission at many steps in one sandbox call."""
    return [solution(s, max_lr, warmup_steps, total_steps, **kwargs) for s in steps]


# (max_lr, W, T - W, min_lr): W may be 0 (no warmup) or 1; T - W may be 1
SETTINGS = st.tuples(
    st.sampled_from([3e-4, 1e-3, 6e-4, 2.0]),
    st.sampled_from([0, 1, 2, 5, 10, 100]),
    st.sampled_from([1, 2, 7, 50, 1000]),
    st.sampled_from(["default", 0.0, 3e-5, 1e-4]),
)


def _values(ctx, got, n):
    if not isinstance(got, list) or len(got) != n:
        ctx.fail(f"schedule returned {type(got).__name__}; expected one value per step")
    for v in got:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            ctx.fail(f"returned {type(v).__name__} ({v!r:.60}); expected a Python float (use math.cos, not torch)")
    return got


def _check_steps(ctx, steps, max_lr, w, t, min_lr):
    kwargs = {} if min_lr == "default" else {"min_lr": min_lr}
    got = _values(ctx, ctx.run("schedule", steps, max_lr, w, t, **kwargs), len(steps))
    for s, value in zip(steps, got):
        expected = reference(s, max_lr, w, t, **kwargs)
        try:
            ctx.assert_close(value, expected, rtol=1e-9, atol=1e-15)
        except CheckFailed as exc:  # name the step: the driver's input is the whole list
            call = f"warmup_cosine_lr(step={s}, max_lr={max_lr}, warmup_steps={w}, total_steps={t}"
            raise CheckFailed(f"{call}{f', min_lr={min_lr}' if kwargs else ''}): {exc}") from None


@check(
    "matches the reference at random steps before, during and after the schedule (min_lr at default and away)",
    zh="在调度之前、之中和之后的随机步上与参考实现一致（min_lr 默认和非默认）",
    teaches=["training.cosine_decay"],
)
def matches_reference(ctx):
    max_lr, w, span, min_lr = ctx.draw(SETTINGS)
    t = w + span
    steps = ctx.draw(st.lists(st.integers(0, t + 20), min_size=1, max_size=12))
    _check_steps(ctx, steps, max_lr, w, t, min_lr)


# (max_lr, W, T - W, min_lr) for every regime of the module docstring.
REGIME_SETTINGS = [
    (max_lr, w, span, min_lr) for max_lr, min_lr in ((6e-4, "default"), (3e-4, 1e-4)) for w in (0, 1, 7) for span in (1, 2, 50)
]


@check(
    "boundary regimes, every run: W = 0, 1, 7; T - W = 1, 2, 50; min_lr 0 and not; steps 0, W - 1, W, W + 1, T - 1, T, T + 1, T + 50",
    zh="每次都测的边界情形：W = 0、1、7；T - W = 1、2、50；min_lr 为 0 和非 0；步数 0、W - 1、W、W + 1、T - 1、T、T + 1、T + 50",
    examples=1,
    teaches=["training.cosine_decay"],
)
def boundary_regimes(ctx):
    for max_lr, w, span, min_lr in REGIME_SETTINGS:
        t = w + span
        steps = sorted({s for s in (0, w - 1, w, w + 1, (w + t) // 2, t - 1, t, t + 1, t + 50) if s >= 0})
        _check_steps(ctx, steps, max_lr, w, t, min_lr)


@check(
    "the boundaries: lr(0), lr(W - 1), lr(W) = max_lr, lr(W + 1), lr(T - 1), lr(T) = min_lr, lr(T + 1) = min_lr",
    zh="边界点：lr(0)、lr(W - 1)、lr(W) = max_lr、lr(W + 1)、lr(T - 1)、lr(T) = min_lr、lr(T + 1) = min_lr",
    teaches=["training.cosine_decay"],
)
def boundaries(ctx):
    max_lr, w, span, min_lr = ctx.draw(SETTINGS)
    t = w + span
    steps = sorted({s for s in (0, w - 1, w, w + 1, (w + t) // 2, t - 1, t, t + 1, t + 50) if s >= 0})
    _check_steps(ctx, steps, max_lr, w, t, min_lr)


@check(
    "shape: rises during warmup, never rises after it, stays within [min_lr, max_lr] from step W on",
    zh="形状：预热期间上升，之后不再上升，从第 W 步起保持在 [min_lr, max_lr] 内",
    examples=5,
    teaches=["training.cosine_decay"],
)
def monotone(ctx):
    max_lr, w, span, min_lr = ctx.draw(SETTINGS)
    span = min(span, 60)
    t = w + span
    floor = 0.0 if min_lr == "default" else min_lr
    kwargs = {} if min_lr == "default" else {"min_lr": min_lr}
    steps = list(range(t + 5))
    got = _values(ctx, ctx.run("schedule", steps, max_lr, w, t, **kwargs), len(steps))
    for s in range(1, len(steps)):
        a, b = got[s - 1], got[s]
        if s <= w and not b > a:
            ctx.fail(f"lr({s}) = {b:.6g} is not above lr({s - 1}) = {a:.6g} during warmup (W={w})")
        if s > w and b > a * (1 + 1e-12):
            ctx.fail(f"lr({s}) = {b:.6g} rose above lr({s - 1}) = {a:.6g} after warmup (W={w}, T={t})")
        if s >= w and not floor * (1 - 1e-12) <= b <= max_lr * (1 + 1e-12):
            ctx.fail(f"lr({s}) = {b:.6g} is outside [min_lr, max_lr] = [{floor:g}, {max_lr:g}]")
    ctx.assert_close(got[w], max_lr)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import math

def warmup_cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    if step > total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (max_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
"""


WRONG_ANSWERS = {
    "warmup branch `step <= W`: the same values, but W = 0 divides by zero at step 0": edited(
        _PLAIN,
        ("if step < warmup_steps:", "if step <= warmup_steps:"),
    ),
    "returns 0 past total_steps instead of min_lr (right only when min_lr is 0)": edited(
        _PLAIN,
        ("    if step > total_steps:\n        return min_lr\n", "    if step > total_steps:\n        return 0.0\n"),
    ),
    "warmup from min_lr to max_lr instead of from 0 (right only when min_lr is 0)": edited(
        _PLAIN,
        ("return max_lr * step / warmup_steps", "return min_lr + (max_lr - min_lr) * step / warmup_steps"),
    ),
    "integer division in the warmup: step // W is 0 until step W": edited(
        _PLAIN,
        ("return max_lr * step / warmup_steps", "return max_lr * (step // warmup_steps)"),
    ),
    "warmup off by one: max_lr * (step + 1) / W, reaching max_lr one step early and never 0": edited(
        _PLAIN,
        ("max_lr * step / warmup_steps", "max_lr * (step + 1) / warmup_steps"),
    ),
    "cosine progress measured from step 0 (step / T) instead of from the end of warmup": edited(
        _PLAIN,
        ("(step - warmup_steps) / (total_steps - warmup_steps)", "step / total_steps"),
    ),
    "adds min_lr to a cosine scaled by max_lr, overshooting max_lr by min_lr": edited(
        _PLAIN,
        ("min_lr + (max_lr - min_lr) * 0.5", "min_lr + max_lr * 0.5"),
    ),
    "no floor after total_steps: the cosine comes back up": edited(
        _PLAIN, ("    if step > total_steps:\n        return min_lr\n", "")
    ),
    "cos(pi/2 * progress): decays over a quarter period only and ends at max_lr - (max_lr - min_lr)/2": edited(
        _PLAIN,
        ("math.cos(math.pi * progress)", "math.cos(math.pi / 2 * progress)"),
    ),
}

ALTERNATIVES = {
    "a multiplier in [0, 1] on max_lr, with the progress clamped to 1 instead of a branch for step > T": """
import math

def warmup_cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    if warmup_steps > 0 and step < warmup_steps:
        return step / warmup_steps * max_lr
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    ratio = min_lr / max_lr
    factor = ratio + (1.0 - ratio) * (math.cos(math.pi * progress) + 1.0) / 2.0
    return factor * max_lr
""",
}
