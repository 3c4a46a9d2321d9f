"""training.fp16_loss_scaler — one step of dynamic loss scaling as torch's GradScaler does it: reference, checks, wrong answers.

scaler_step(grads, scale=2.0**16, growth_tracker=0, growth_factor=2.0, backoff_factor=0.5,
growth_interval=2000): grads a non-empty list of float tensors (float16, float32 or float64),
the gradients of the loss multiplied by `scale` (a Python float >= 1). Returns
(unscaled, new_scale, new_tracker):
- any inf or NaN in any grad: the optimizer step is skipped, unscaled is None,
  new_scale = scale * backoff_factor, new_tracker = 0;
- otherwise unscaled = [g / scale, each in g's dtype], and the count of consecutive finite steps
  goes up by one: when it reaches growth_interval, new_scale = scale * growth_factor and
  new_tracker = 0; else new_scale = scale and new_tracker = growth_tracker + 1.
(Micikevicius et al. 2018, Mixed Precision Training, sec. 3.2; PyTorch torch/amp/grad_scaler.py,
GradScaler.update -> torch._amp_update_scale_, whose kernel is _amp_update_scale_cpu_/cuda_ in
aten/src/ATen/native/.../AmpKernels.)

Regimes where implementations diverge (each run every time by `boundary_cases`):
- an overflow only in the last element of the last grad (a check of the first grad misses it);
- NaN without inf (isinf alone misses it), -inf;
- an overflow exactly when the next finite step would grow (growth must not happen, the tracker
  must go to 0);
- a finite step at growth_tracker = growth_interval - 1 (it grows) and at - 2 (it does not);
  growth_interval 1 (grows every finite step) and the default 2000;
- float16, float32 and float64 grads, one-element grads.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited


def reference(grads, scale=2.0**16, growth_tracker=0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    found_inf = any(not bool(torch.isfinite(g).all()) for g in grads)  # inf and NaN, in every grad
    if found_inf:
        return None, scale * backoff_factor, 0  # skip the step, back off, start counting again
    unscaled = [g / scale for g in grads]
    successful = growth_tracker + 1
    if successful == growth_interval:
        return unscaled, scale * growth_factor, 0
    return unscaled, scale, successful


DTYPES = [torch.float16, torch.float32, torch.float64]


def _grads(ctx, dtype, shapes, scale):
    """Scaled gradients: unit-size values times the scale, kept finite in float16."""
    magnitude = min(scale, 2.0**12) if dtype == torch.float16 else scale
    return [ctx.randn(*shape, dtype=torch.float64, scale=magnitude).to(dtype) for shape in shapes]


def _poison(grads, which, index, value):
    """A copy of grads with one element of grads[which] set to value (inf, -inf or NaN)."""
    out = [g.clone() for g in grads]
    out[which].view(-1)[index] = value
    return out


def _compare(ctx, grads, args, kwargs):
    got = ctx.call(grads, *args, **kwargs)
    want = ctx.reference(grads, *args, **kwargs)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        ctx.fail("expected a tuple (unscaled grads or None, new_scale, new_tracker)")
    unscaled, new_scale, new_tracker = got
    if want[0] is None:
        if unscaled is not None:
            ctx.fail("the grads hold an inf or NaN: the step must be skipped and the grads returned as None")
    else:
        if not isinstance(unscaled, (list, tuple)) or len(unscaled) != len(grads):
            ctx.fail(f"expected a list of {len(grads)} unscaled grads, got {type(unscaled).__name__}")
        for i, (g, w, original) in enumerate(zip(unscaled, want[0], grads)):
            try:
                ctx.assert_close(g, w, dtype=original.dtype)
            except CheckFailed as exc:  # say which grad
                raise CheckFailed(f"unscaled grad [{i}]: {exc}", exc.detail) from None
    try:
        ctx.assert_close(new_scale, want[1])
    except CheckFailed as exc:
        raise CheckFailed(f"new_scale: {exc}", exc.detail) from None
    try:
        ctx.assert_equal(new_tracker, want[2])
    except CheckFailed as exc:
        raise CheckFailed(f"new_tracker: {exc}", exc.detail) from None


_SHAPES = st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=3), min_size=1, max_size=4)


@check(
    "matches the reference (1 to 4 grads of random shapes, float16/float32/float64, finite or with an inf/NaN anywhere, growth settings at defaults and away)",
    zh="与参考实现一致（1 到 4 个随机形状的梯度，float16/float32/float64，全部有限或任意位置有 inf/NaN，增长参数取默认值和非默认值）",
    teaches=["training.dynamic_loss_scaling"],
)
def matches_reference(ctx):
    dtype, shapes, scale_exp, interval, poison, settings = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            _SHAPES,
            st.integers(0, 24),
            st.sampled_from([None, 1, 2, 3, 5]),
            st.sampled_from([None, math.inf, -math.inf, math.nan]),
            st.sampled_from([{}, {"growth_factor": 4.0, "backoff_factor": 0.25}]),
        )
    )
    scale = 2.0**scale_exp
    grads = _grads(ctx, dtype, [tuple(s) for s in shapes], scale)
    n_interval = interval or 2000
    tracker = ctx.draw(st.integers(0, n_interval - 1))
    if poison is not None:
        which = ctx.draw(st.integers(0, len(grads) - 1))
        index = ctx.draw(st.integers(0, grads[which].numel() - 1))
        grads = _poison(grads, which, index, poison)
    kwargs = dict(settings)
    if interval is not None:
        kwargs["growth_interval"] = interval
    _compare(ctx, grads, (scale, tracker), kwargs)


@check(
    "boundary cases every run: an inf or NaN only in the last grad, NaN without inf, an overflow when the next step would grow, growth at exactly growth_interval steps, growth_interval 1 and 2000, float16/float32/float64",
    zh="每次都测的边界情况：inf 或 NaN 只出现在最后一个梯度、只有 NaN 没有 inf、在下一步本该增长时溢出、恰好 growth_interval 步时增长、growth_interval 为 1 和 2000、float16/float32/float64",
    examples=1,
    teaches=["training.dynamic_loss_scaling"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        grads = _grads(ctx, dtype, [(3, 2), (1,), (4,)], 2.0**10)
        last = grads[-1].numel() - 1
        # (grads, scale, tracker, kwargs): every case compared with the reference
        cases = [
            (grads, 2.0**10, 0, {"growth_interval": 3}),  # finite: count one
            (grads, 2.0**10, 1, {"growth_interval": 3}),  # finite at interval - 2: no growth yet
            (grads, 2.0**10, 2, {"growth_interval": 3}),  # finite at interval - 1: grows, tracker 0
            (_poison(grads, 2, last, math.inf), 2.0**10, 2, {"growth_interval": 3}),  # overflow instead of growth
            (_poison(grads, 2, last, math.nan), 2.0**10, 1, {"growth_interval": 3}),  # NaN only, in the last grad
            (_poison(grads, 1, 0, -math.inf), 2.0**16, 0, {}),  # -inf in a one-element grad
            (grads, 2.0**10, 0, {"growth_interval": 1}),  # grows every finite step
            (grads, 2.0**16, 1999, {}),  # the default interval: grows
            (grads, 2.0**16, 1998, {}),  # one step short
            ([g[:1] for g in grads], 1.0, 0, {}),  # scale 1, one-element grads
        ]
        for case_grads, scale, tracker, kwargs in cases:
            _compare(ctx, case_grads, (scale, tracker), kwargs)
    # a run of steps, each from the reference's state: grow, overflow, count again
    grads = _grads(ctx, torch.float32, [(2, 2)], 8.0)
    nan_grads = _poison(grads, 0, 3, math.nan)
    scale, tracker = 8.0, 0
    for step_grads in (grads, grads, nan_grads, grads, grads, grads, nan_grads, nan_grads):
        _compare(ctx, step_grads, (scale, tracker), {"growth_interval": 2})
        _, scale, tracker = ctx.reference(step_grads, scale, tracker, growth_interval=2)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def scaler_step(grads, scale=2.0**16, growth_tracker=0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    found_inf = False
    for g in grads:
        if not torch.isfinite(g).all():
            found_inf = True
    if found_inf:
        return None, scale * backoff_factor, 0
    unscaled = [g / scale for g in grads]
    growth_tracker += 1
    if growth_tracker == growth_interval:
        return unscaled, scale * growth_factor, 0
    return unscaled, scale, growth_tracker
"""

WRONG_ANSWERS = {
    "only the first grad checked for inf/NaN": edited(
        _PLAIN,
        (
            "    for g in grads:\n        if not torch.isfinite(g).all():",
            "    for g in grads[:1]:\n        if not torch.isfinite(g).all():",
        ),
    ),
    "growth counter not reset on overflow": edited(
        _PLAIN, ("return None, scale * backoff_factor, 0", "return None, scale * backoff_factor, growth_tracker")
    ),
    "grows on the overflow step: the counter is advanced before the inf check": edited(
        _PLAIN,
        (
            "    if found_inf:\n        return None, scale * backoff_factor, 0\n",
            "    if found_inf:\n        if growth_tracker + 1 == growth_interval:\n            scale = scale * growth_factor\n"
            "        return None, scale * backoff_factor, 0\n",
        ),
    ),
    "unscales by multiplying by the scale": edited(_PLAIN, ("[g / scale for g in grads]", "[g * scale for g in grads]")),
    "skips the step but still returns the grads": edited(
        _PLAIN, ("return None, scale * backoff_factor, 0", "return [g / scale for g in grads], scale * backoff_factor, 0")
    ),
    "back-off applied to the tracker instead of the scale": edited(
        _PLAIN, ("return None, scale * backoff_factor, 0", "return None, scale, int(growth_tracker * backoff_factor)")
    ),
    "NaN not detected: isinf only": edited(_PLAIN, ("not torch.isfinite(g).all()", "torch.isinf(g).any()")),
    "grows one step late: the counter compared before it is incremented": edited(
        _PLAIN,
        (
            "    growth_tracker += 1\n    if growth_tracker == growth_interval:",
            "    if growth_tracker == growth_interval:",
        ),
        ("    return unscaled, scale, growth_tracker\n", "    return unscaled, scale, growth_tracker + 1\n"),
    ),
    "unscales the grads in place": edited(_PLAIN, ("[g / scale for g in grads]", "[g.div_(scale) for g in grads]")),
    "unscaled grads returned in float32 whatever the grads' dtype": edited(
        _PLAIN, ("[g / scale for g in grads]", "[g.float() / scale for g in grads]")
    ),
}

ALTERNATIVES = {
    "as torch does it: one found_inf flag over all grads, multiply by the inverse scale, then the update": """
import torch

def scaler_step(grads, scale=2.0**16, growth_tracker=0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    found_inf = torch.stack([(~torch.isfinite(g)).any() for g in grads]).any().item()
    inv_scale = 1.0 / scale
    if found_inf:
        new_scale, new_tracker = scale * backoff_factor, 0
        return None, new_scale, new_tracker
    out = [torch.mul(g, inv_scale) for g in grads]
    new_tracker = growth_tracker + 1
    new_scale = scale
    if new_tracker >= growth_interval:
        new_scale, new_tracker = scale * growth_factor, 0
    return out, float(new_scale), int(new_tracker)
""",
}
