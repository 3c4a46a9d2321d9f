"""loss.cross_entropy — mean token cross-entropy with ignore_index: reference, checks, wrong answers.

cross_entropy(logits, targets, ignore_index=-100): logits (N, C), targets int64 (N,); the mean of
logsumexp(logits[n]) - logits[n, targets[n]] over the n whose target is not ignore_index, as a
0-dim tensor in logits' dtype. Stable for float32 logits up to 1e4 in magnitude.

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the class count: C = 1 (every loss 0), 2, and a vocabulary of 32768 (a max or log-sum-exp over
  only the first block of a row shows there); N = 1;
- ignore_index -100, -1 (a negative index that gather would wrap to the last class) and 0 (a real
  class: a mask `targets >= 0` keeps it); every target but one ignored;
- float32 logits near +1e4 and -1e4 in different rows of one batch (a max over the whole batch
  instead of per row underflows a row to log(0)), and logits spread over [-1e4, 1e4];
- float64 logits computed in float64 (a `.float()` leaves errors of 1e-8, far above 1e-12).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.forbidden import SOFTMAX_FAMILY
from llmq.judge.kit import check, edited

# CONTRACTS.md's list, plus other spellings of the same kernels (the nn modules, torch.special,
# the log_softmax method), which would otherwise slip past.
FORBIDDEN = [
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
    *SOFTMAX_FAMILY,
]


def reference(logits, targets, ignore_index=-100):
    # logits (N, C), targets (N,) -> () ; float64 inside
    x = logits.double()
    keep = targets != ignore_index  # (N,)
    m = x.amax(dim=-1, keepdim=True)  # (N, 1): log-sum-exp shifted by the row max
    lse = (m + (x - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)  # (N,)
    picked = x.gather(-1, torch.where(keep, targets, 0).unsqueeze(-1)).squeeze(-1)  # (N,)
    nll = lse - picked
    return (nll[keep].sum() / keep.sum()).to(logits.dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}


def _batch(ctx, dtype, scale=2.0, n_range=(1, 9), c_choices=(1, 2, 3, 5, 8, 17)):
    """logits (N, C), targets (N,) with some (never all) set to the ignored value, and the keyword
    arguments: {} (ignore_index at its default, -100) or {"ignore_index": -1 or 0}."""
    n = ctx.draw(st.integers(*n_range))
    c = ctx.draw(st.sampled_from(c_choices))
    logits = ctx.randn(n, c, dtype=dtype, scale=scale)
    targets = ctx.randint(0, c, (n,))
    # Besides the default: -1, and a real class id (0, as when padding id 0 is ignored).
    kw = ctx.draw(st.sampled_from([{}, {"ignore_index": -1}, {"ignore_index": 0}][: 3 if c > 1 else 2]))
    value = kw.get("ignore_index", -100)
    n_ignored = ctx.draw(st.integers(0, n - 1))
    if n_ignored:
        targets[ctx.randint(0, n, (n_ignored,))] = value
    if bool((targets == value).all()):  # ignore_index 0 may hit every target: keep one
        targets[0] = 1 if value == 0 else 0
    return logits, targets, kw


@check(
    "matches the reference (random N and C, some targets ignored, ignore_index default and not, float32/float64/bfloat16)",
    zh="与参考实现一致（随机的 N 和 C，部分目标被忽略，ignore_index 默认和非默认，float32/float64/bfloat16）",
    teaches=["training.ignore_index_masking"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    logits, targets, kw = _batch(ctx, dtype)
    ctx.assert_close(ctx.call(logits, targets, **kw), ctx.reference(logits, targets, **kw), dtype=dtype)


FLOAT64_RTOL = 1e-12  # far below float32's rounding, far above float64's error here


@check(
    "float64 logits are computed in float64 (rtol 1e-12: a float32 step such as `.float()` fails)",
    zh="float64 logits 全程用 float64 计算（rtol 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    # Moderate rows (the vocabulary regime has its own check), many of them: any float32
    # rounding of the logits, the log-sum-exp or the mean shows at 1e-8.
    n, c = ctx.draw(st.sampled_from([(64, 100), (33, 1000)]))
    logits = ctx.randn(n, c, dtype=torch.float64, scale=4.0)
    targets = ctx.randint(0, c, (n,))
    ctx.assert_close(ctx.call(logits, targets), ctx.reference(logits, targets), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


# float32 logits near 1e4 are known to an ulp of 1e4 (2**-10); the loss inherits a few of them.
LARGE_ATOL = 8 * 2.0**-10


def _regime_batches(ctx, dtype):
    """(logits, targets, keyword arguments, atol) for every regime of the module docstring."""

    def logits(n, c, scale=2.0):
        return ctx.randn(n, c, dtype=dtype, scale=scale)

    t = torch.tensor
    cases = [
        (logits(1, 1), t([0]), {}, None),  # C = 1: the loss is 0
        (logits(1, 2), t([1]), {}, None),  # N = 1
        (logits(4, 32768), t([0, 32767, 4099, 17]), {}, None),  # a vocabulary: many blocks per row
        (logits(6, 5), t([-100, -100, 3, -100, -100, -100]), {}, None),  # all targets but one ignored
        (logits(5, 4), t([-1, 3, 0, -1, 2]), {"ignore_index": -1}, None),  # -1 would wrap to class 3
        (logits(6, 4), t([0, 2, 0, 1, 3, 0]), {"ignore_index": 0}, None),  # a real class ignored
        (logits(4, 3), t([0, 0, 2, 1]), {}, None),  # class 0 is a real class by default
    ]
    if dtype == torch.float32:
        # Rows near +1e4, -1e4 and 0 in one batch, then logits spread over [-1e4, 1e4].
        offsets = torch.tensor([[1e4], [-1e4], [0.0]], dtype=torch.float64)
        near = (offsets + ctx.randn(3, 7, dtype=torch.float64) * 2).float()
        spread = (ctx.rand(4, 9, dtype=torch.float64) * 2e4 - 1e4).float()
        cases += [(near, t([1, 6, 0]), {}, LARGE_ATOL), (spread, t([8, 0, 4, -100]), {}, LARGE_ATOL)]
    return cases


@check(
    "boundary regimes, every run: C = 1, 2, 32768; one kept target; ignore_index -1 and 0; rows near +1e4 and -1e4 together",
    zh="每次都测的边界情形：C = 1、2、32768；只保留一个目标；ignore_index 为 -1 和 0；接近 +1e4 和 -1e4 的行同时出现",
    examples=1,
    teaches=["training.ignore_index_masking"],
)
def boundary_regimes(ctx):
    for dtype in (torch.float32, torch.float64):
        for logits, targets, kw, atol in _regime_batches(ctx, dtype):
            ctx.assert_close(
                ctx.call(logits, targets, **kw),
                ctx.reference(logits, targets, **kw),
                dtype=dtype,
                atol=PROPERTY_ATOL.get(dtype, atol),
                rtol=PROPERTY_RTOL.get(dtype),
            )


@check(
    "ignored targets do not count: the loss equals the loss over the kept rows alone",
    zh="被忽略的目标不计入：损失等于只在保留的行上计算的损失",
    teaches=["training.ignore_index_masking"],
)
def ignored_rows_do_not_count(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    logits, targets, kw = _batch(ctx, dtype, n_range=(2, 9), c_choices=(2, 3, 5, 8))
    value = kw.get("ignore_index", -100)
    targets[0] = value  # at least one ignored row
    if bool((targets == value).all()):
        targets[1] = (value + 1) % logits.shape[1] if value >= 0 else 0
    keep = targets != value
    full = ctx.call(logits, targets, **kw)
    kept_only = ctx.call(logits[keep], targets[keep], **kw)
    expected = ctx.reference(logits[keep], targets[keep], **kw)
    ctx.assert_close(kept_only, expected, dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype))
    ctx.assert_close(full, expected, dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype))


@check(
    "float32 logits up to 1e4 in magnitude: finite and accurate (log-sum-exp, not log(softmax))",
    zh="绝对值大到 1e4 的 float32 logits：有限且准确（用 log-sum-exp，而不是 log(softmax)）",
    examples=15,
    teaches=["softmax.stable_softmax"],
)
def large_logits(ctx):
    logits, targets, kw = _batch(ctx, torch.float32, c_choices=(2, 3, 5, 17))
    kind = ctx.draw(st.sampled_from(["spread", "offset"]))
    if kind == "spread":  # the loss itself is in the thousands
        logits = (ctx.rand(*logits.shape, dtype=torch.float64) * 2e4 - 1e4).float()
    else:  # every logit near +-1e4: the loss is O(1), exp(1e4) overflows, exp(-1e4) underflows
        sign = ctx.draw(st.sampled_from([1.0, -1.0]))
        logits = (sign * 1e4 + ctx.randn(*logits.shape, dtype=torch.float64) * 2).float()
    out, expected = ctx.call(logits, targets, **kw), ctx.reference(logits, targets, **kw)
    # A float32 number near 1e4 is only known to ~1e-3 (its ulp), so `logsumexp - logit`
    # carries that much absolute error; a handful of ulps of 1e4 is still far below the loss.
    ctx.assert_close(out, expected, dtype=torch.float32, atol=8 * 2.0**-10)


# The usual way to write it (log-sum-exp minus the target's logit); each wrong answer below but the
# two log(softmax) ones is this with one bug put in.
_PLAIN = """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, torch.where(keep, targets, 0)[:, None])[:, 0]
    return (lse - picked)[keep].mean()
"""


WRONG_ANSWERS = {
    "computes in float32 for float64 logits too (`logits.float()`)": edited(
        _PLAIN,
        ("lse = torch.logsumexp(logits, dim=-1)", "x = logits.float()\n    lse = torch.logsumexp(x, dim=-1)"),
        ("picked = logits.gather(", "picked = x.gather("),
        ("return (lse - picked)[keep].mean()", "return (lse - picked)[keep].mean().to(logits.dtype)"),
    ),
    "subtracts the row max from logits in place": edited(
        _PLAIN,
        (
            "lse = torch.logsumexp(logits, dim=-1)",
            "logits -= logits.amax(dim=-1, keepdim=True)\n    lse = torch.logsumexp(logits, dim=-1)",
        ),
    ),
    "log-sum-exp over the first 4096 classes only (one block of a vocabulary row)": edited(
        _PLAIN,
        ("torch.logsumexp(logits, dim=-1)", "torch.logsumexp(logits[:, :4096], dim=-1)"),
    ),
    "keeps the targets >= 0 (right unless ignore_index is a real class such as 0)": edited(
        _PLAIN,
        ("keep = targets != ignore_index", "keep = targets >= 0"),
    ),
    "shifts by the max of the whole batch instead of each row (a row far below it underflows)": edited(
        _PLAIN,
        ("lse = torch.logsumexp(logits, dim=-1)", "m = logits.max()\n    lse = m + (logits - m).exp().sum(dim=-1).log()"),
    ),
    "averages over all N targets, ignored ones included (as zero loss)": edited(
        _PLAIN,
        (
            "    return (lse - picked)[keep].mean()",
            "    nll = torch.where(keep, lse - picked, torch.zeros_like(lse))\n    return nll.mean()",
        ),
    ),
    "log of a softmax computed without the max (inf/NaN for large logits)": """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    probs = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)
    picked = probs.gather(-1, torch.where(keep, targets, 0)[:, None])[:, 0]
    return -picked.log()[keep].mean()
""",
    "log(softmax) with the max subtracted: still -inf once a probability underflows": """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    e = (logits - logits.amax(dim=-1, keepdim=True)).exp()
    probs = e / e.sum(dim=-1, keepdim=True)
    picked = probs.gather(-1, torch.where(keep, targets, 0)[:, None])[:, 0]
    return -picked.log()[keep].mean()
""",
    "ignores the ignore_index argument (always -100)": edited(_PLAIN, ("targets != ignore_index", "targets != -100")),
    "sum instead of mean": edited(_PLAIN, ("[keep].mean()", "[keep].sum()")),
    "returns the per-token losses instead of their mean": edited(_PLAIN, ("[keep].mean()", "[keep]")),
    "log-sum-exp over the batch (dim 0) instead of the classes": edited(
        _PLAIN,
        ("torch.logsumexp(logits, dim=-1)", "torch.logsumexp(logits, dim=0)[targets.clamp(min=0)]"),
    ),
}

ALTERNATIVES = {
    "log-softmax by hand, one-hot mask, float32 for bfloat16": """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    x = logits.to(work)
    shifted = x - x.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    keep = targets != ignore_index
    one_hot = torch.zeros_like(log_probs)
    rows = torch.arange(len(targets))[keep]
    one_hot[rows, targets[keep]] = 1.0
    return (-(one_hot * log_probs).sum() / keep.sum()).to(logits.dtype)
""",
    "torch.logsumexp and boolean indexing, loss in logits' dtype": """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    x, t = logits[keep], targets[keep]
    nll = torch.logsumexp(x, dim=-1) - x[torch.arange(len(t)), t]
    return nll.mean()
""",
}
