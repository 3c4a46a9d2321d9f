"""loss.label_smoothing — cross-entropy with label smoothing as PyTorch defines it: reference, checks, wrong answers.

label_smoothing_ce(logits, targets, eps=0.1, ignore_index=-100): logits (N, C) float32 or float64,
targets int64 (N,) in [0, C) or equal to ignore_index -> a 0-dim tensor in logits' dtype:
    loss_n = (1 - eps) * (-log p_n[target]) + eps * mean_c(-log p_n[c])
i.e. the cross-entropy against the target distribution (1 - eps) * one_hot + eps / C, uniform
over **all C classes including the target** (Szegedy et al. 2016, sec. 7; torch.nn.CrossEntropyLoss's
label_smoothing), averaged over the rows whose target is not ignore_index (both terms skip
ignored rows). At least one row is kept. Finite for float32 logits up to 1e4 in magnitude.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- C = 1 (every loss 0; a smoothing over C - 1 classes divides by 0) and C = 2 (eps / (C - 1) and
  eps / C differ most);
- eps = 0 (plain cross-entropy), eps = 1 (pure uniform target), eps at its default;
- ignore_index -100 and 0 (a real class id), every row but one ignored;
- float32 logits of magnitude 1e4 (log(softmax(x)) is -inf, and 0 * -inf is NaN).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = [
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
]


def reference(logits, targets, eps=0.1, ignore_index=-100):
    logp = torch.log_softmax(logits, dim=-1)  # (N, C)
    keep = targets != ignore_index  # (N,)
    nll = -logp.gather(-1, torch.where(keep, targets, 0).unsqueeze(-1)).squeeze(-1)  # (N,)
    uniform = -logp.mean(dim=-1)  # (N,): cross-entropy against eps / C on every class
    per_row = (1 - eps) * nll + eps * uniform
    return per_row[keep].sum() / keep.sum()  # ignored rows count in neither the sum nor the count


DTYPES = [torch.float32, torch.float64]


def _batch(ctx, dtype, n, c, ignore_index, scale=2.0, keep_one=None):
    """logits (N, C) and targets (N,) with some rows (never all) set to ignore_index."""
    logits = ctx.randn(n, c, dtype=dtype, scale=scale)
    targets = ctx.randint(0, c, (n,))
    dropped = ctx.rand(n) < 0.35
    kept = int(ctx.randint(0, n, (1,))) if keep_one is None else keep_one
    if keep_one is not None:  # every row but one ignored
        dropped[:] = True
    dropped[kept] = False
    if targets[kept] == ignore_index:  # ignore_index may be a real class: the kept row must differ
        targets[kept] = (ignore_index + 1) % c
    return logits, torch.where(dropped, torch.full_like(targets, ignore_index), targets)


def _compare(ctx, logits, targets, kwargs, dtype):
    out = ctx.call(logits, targets, **kwargs)
    ctx.assert_close(out, ctx.reference(logits, targets, **kwargs), dtype=dtype)


@check(
    "matches the reference (N 1 to 9, C 1 to 17, float32/float64, eps and ignore_index at defaults and away)",
    zh="与参考实现一致（N 为 1 到 9，C 为 1 到 17，float32/float64，eps 和 ignore_index 取默认值和非默认值）",
    teaches=["loss.label_smoothing_targets"],
)
def matches_reference(ctx):
    dtype, n, c, eps, ignore = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 9),
            st.sampled_from([1, 2, 3, 5, 8, 17]),
            st.sampled_from(["default", 0.0, 0.05, 0.2, 0.5]),
            st.sampled_from(["default", -1, 0]),
        )
    )
    if c == 1 and ignore == 0:
        ignore = -1  # with one class, ignoring class 0 would ignore every row
    kwargs = {k: v for k, v in (("eps", eps), ("ignore_index", ignore)) if v != "default"}
    logits, targets = _batch(ctx, dtype, n, c, -100 if ignore == "default" else ignore)
    _compare(ctx, logits, targets, kwargs, dtype)


# (N, C, kwargs, scale, why): every dtype, every run
BOUNDARY_CASES = [
    (3, 1, {}, 2.0, "C = 1: every loss is 0"),
    (4, 2, {}, 2.0, "C = 2: eps / C against eps / (C - 1)"),
    (5, 7, {"eps": 0.0}, 2.0, "eps = 0: plain cross-entropy"),
    (5, 7, {"eps": 1.0}, 2.0, "eps = 1: the uniform target only"),
    (6, 5, {"ignore_index": 0}, 2.0, "ignore_index 0, a real class"),
    (4, 9, {"eps": 0.2}, 5e3, "logits of magnitude 1e4"),
]


@check(
    "boundary cases every run: C = 1 and 2, eps 0, 1 and the default, ignore_index 0, every row but one ignored, logits of 1e4 (float32 and float64)",
    zh="每次都测的边界情况：C = 1 和 2，eps 为 0、1 和默认值，ignore_index 为 0，只保留一行，1e4 量级的 logits（float32 和 float64）",
    examples=1,
    teaches=["loss.label_smoothing_targets", "softmax.stable_softmax"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for n, c, kwargs, scale, _why in BOUNDARY_CASES:
            logits, targets = _batch(ctx, dtype, n, c, kwargs.get("ignore_index", -100), scale=scale)
            _compare(ctx, logits, targets, kwargs, dtype)
        logits, targets = _batch(ctx, dtype, 6, 4, -100, keep_one=2)  # every row but one ignored
        _compare(ctx, logits, targets, {}, dtype)


@check(
    "equals torch.nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=...) and, at eps = 0, the plain cross-entropy",
    zh="等于 torch.nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=...)；eps = 0 时等于普通交叉熵",
    teaches=["loss.label_smoothing_targets"],
)
def matches_pytorch(ctx):
    n, c, eps = ctx.draw(st.tuples(st.integers(1, 8), st.sampled_from([2, 3, 10]), st.sampled_from([0.0, 0.1, 0.3])))
    logits, targets = _batch(ctx, torch.float64, n, c, -100)
    out = ctx.call(logits, targets, eps=eps)
    expected = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=eps, ignore_index=-100)
    ctx.assert_close(out, ctx.reference(logits, targets, eps=eps), dtype=torch.float64)
    ctx.assert_close(out, expected, dtype=torch.float64)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def label_smoothing_ce(logits, targets, eps=0.1, ignore_index=-100):
    logp = torch.log_softmax(logits, dim=-1)
    keep = targets != ignore_index
    safe = torch.where(keep, targets, 0)
    nll = -logp.gather(1, safe[:, None]).squeeze(1)
    smooth = -logp.mean(dim=-1)
    loss = (1 - eps) * nll + eps * smooth
    return loss[keep].sum() / keep.sum()
"""

WRONG_ANSWERS = {
    "smoothing over the C - 1 other classes (target 1 - eps, others eps / (C - 1))": edited(
        _PLAIN,
        (
            "smooth = -logp.mean(dim=-1)",
            "smooth = -(logp.sum(dim=-1) - logp.gather(1, safe[:, None]).squeeze(1)) / (logp.shape[-1] - 1)",
        ),
    ),
    "eps applied to the probabilities before the log: -log((1 - eps) p_target + eps / C)": edited(
        _PLAIN,
        (
            "loss = (1 - eps) * nll + eps * smooth",
            "loss = -torch.log((1 - eps) * torch.exp(-nll) + eps / logp.shape[-1])",
        ),
    ),
    "the uniform term summed over classes instead of averaged (eps * sum_c -log p_c)": edited(
        _PLAIN, ("smooth = -logp.mean(dim=-1)", "smooth = -logp.sum(dim=-1)")
    ),
    "ignored rows counted in the mean (divides by N)": edited(
        _PLAIN, ("return loss[keep].sum() / keep.sum()", "return loss[keep].sum() / targets.shape[0]")
    ),
    "ignored rows' smoothing term kept (only the target term masked)": edited(
        _PLAIN,
        ("loss = (1 - eps) * nll + eps * smooth", "loss = (1 - eps) * nll * keep + eps * smooth"),
        ("return loss[keep].sum() / keep.sum()", "return loss.sum() / keep.sum()"),
    ),
    "target term not scaled by 1 - eps: CE + eps * uniform": edited(
        _PLAIN, ("loss = (1 - eps) * nll + eps * smooth", "loss = nll + eps * smooth")
    ),
    "log(softmax(x)): -inf for logits of 1e4, NaN in the uniform term": edited(
        _PLAIN, ("logp = torch.log_softmax(logits, dim=-1)", "logp = torch.log(torch.softmax(logits, dim=-1))")
    ),
    "mask `targets >= 0`: keeps the rows of ignore_index 0": edited(
        _PLAIN, ("keep = targets != ignore_index", "keep = targets >= 0")
    ),
}

ALTERNATIVES = {
    "the smoothed target distribution built explicitly, log-sum-exp by hand": """
import torch

def label_smoothing_ce(logits, targets, eps=0.1, ignore_index=-100):
    n, c = logits.shape
    keep = targets != ignore_index
    lse = torch.logsumexp(logits, dim=-1, keepdim=True)
    logp = logits - lse
    dist = torch.full_like(logits, eps / c)
    dist[torch.arange(n), torch.where(keep, targets, 0)] += 1 - eps
    per_row = -(dist * logp).sum(dim=-1)
    per_row = torch.where(keep, per_row, torch.zeros_like(per_row))
    return per_row.sum() / keep.sum().to(logits.dtype)
""",
}
