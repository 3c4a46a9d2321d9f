"""training.perplexity_from_logits — perplexity of a language model on a batch: reference, checks, wrong answers.

perplexity(logits, targets, ignore_index=-100): logits (N, C), targets int64 (N,) -> a 0-dim tensor
in logits' dtype: exp of the mean negative log-likelihood over the positions whose target is not
ignore_index (never all ignored); stable for float32 logits of magnitude up to 1e4.

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the class count: C = 1 (perplexity 1), 2, and a vocabulary of 32768 (a log-sum-exp over only
  the first block of a row shows there); N = 1;
- ignore_index -100, -1 (gather would wrap it to the last class) and 0 (a real class: a mask
  `targets >= 0` keeps it); every position but one ignored;
- float32 logits near +1e4 and -1e4 in different rows of one batch (a max over the whole batch
  instead of per row underflows a row to log(0));
- float64 logits computed in float64 (a `.float()` leaves errors of 1e-8, far above 1e-12).
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

# bfloat16: the output is exp(mean NLL); rounding the logits to 8 bits moves the NLL by ~1e-2,
# so the perplexity by ~1e-2 relative (zeros still fail: perplexity >= 1).
TOLERANCES = {torch.bfloat16: (3e-2, 1e-2)}


def reference(logits, targets, ignore_index=-100):
    keep = targets != ignore_index  # (N,): positions that count
    log_probs = logits - logits.logsumexp(dim=-1, keepdim=True)  # (N, C), stable for large logits
    safe = torch.where(keep, targets, 0)  # ignored targets may be -100: no valid index
    nll = -log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (N,)
    return torch.exp(nll[keep].mean())


DTYPES = [torch.float32, torch.float64, torch.bfloat16]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}

SIZES = st.tuples(st.integers(1, 9), st.sampled_from([1, 2, 3, 5, 8, 17]))  # (N, C)
IGNORE = st.sampled_from(["default", -1, 0])


def _batch(ctx, dtype, n, c, ignore, scale=1.5):
    logits = ctx.randn(n, c, dtype=dtype, scale=scale)
    value = -100 if ignore == "default" else ignore
    targets = ctx.randint(0, c, (n,))
    ignored = ctx.rand(n) < 0.35
    ignored[ctx.draw(st.integers(0, n - 1))] = False  # never all ignored
    targets = torch.where(ignored, torch.full_like(targets, value), targets)
    if value == 0:  # a real class id is ignored: the kept targets must differ from it
        targets = torch.where(ignored, targets, torch.ones_like(targets) if c > 1 else targets)
        if c == 1:
            value = -1
            targets = torch.where(ignored, torch.full_like(targets, -1), torch.zeros_like(targets))
    return logits, targets, ({} if ignore == "default" else {"ignore_index": value})


@check(
    "matches the reference (N 1 to 9, C up to 17, some targets ignored, ignore_index -100 / -1 / 0, float32/float64/bfloat16)",
    zh="与参考实现一致（N 1 到 9，C 最大 17，部分目标被忽略，ignore_index 为 -100 / -1 / 0，float32/float64/bfloat16）",
    teaches=["training.perplexity", "training.ignore_index_masking"],
)
def matches_reference(ctx):
    dtype, (n, c), ignore = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, IGNORE))
    logits, targets, kw = _batch(ctx, dtype, n, c, ignore)
    out = ctx.call(logits, targets, **kw)
    ctx.assert_close(out, ctx.reference(logits, targets, **kw), dtype=dtype)


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
    offsets = torch.where(ctx.rand(n, 1) < 0.5, -100.0, 100.0).to(torch.float64)  # exp would overflow float32
    logits = ctx.randn(n, c, dtype=torch.float64, scale=3.0) + offsets
    targets = ctx.randint(0, c, (n,))
    ctx.assert_close(ctx.call(logits, targets), ctx.reference(logits, targets), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


def _regime_batches(ctx, dtype):
    """(logits, targets, keyword arguments, rtol) for every regime of the module docstring."""
    t = torch.tensor

    def logits(n, c):
        return ctx.randn(n, c, dtype=dtype, scale=1.5)

    cases = [
        (logits(1, 1), t([0]), {}, None),  # C = 1: perplexity 1
        (logits(1, 2), t([1]), {}, None),  # N = 1
        (logits(4, 32768), t([0, 32767, 4099, 17]), {}, None),  # a vocabulary: many blocks per row
        (logits(6, 5), t([-100, -100, 3, -100, -100, -100]), {}, None),  # all positions but one ignored
        (logits(5, 4), t([-1, 3, 0, -1, 2]), {"ignore_index": -1}, None),  # -1 would wrap to class 3
        (logits(6, 4), t([0, 2, 0, 1, 3, 0]), {"ignore_index": 0}, None),  # a real class ignored
        (logits(4, 3), t([0, 0, 2, 1]), {}, None),  # class 0 is a real class by default
    ]
    if dtype == torch.float32:
        # Rows near +1e4, -1e4 and 0 in one batch; a float32 logit near 1e4 is known to ~1e-3,
        # so log(perplexity) to a few 1e-3.
        offsets = torch.tensor([[1e4], [-1e4], [0.0]], dtype=torch.float64)
        near = (offsets + ctx.randn(3, 7, dtype=torch.float64) * 2).float()
        cases.append((near, t([1, 6, 0]), {}, 5e-3))
    return cases


@check(
    "boundary regimes, every run: C = 1, 2, 32768; one kept position; ignore_index -1 and 0; rows near +1e4 and -1e4 together",
    zh="每次都测的边界情形：C = 1、2、32768；只保留一个位置；ignore_index 为 -1 和 0；接近 +1e4 和 -1e4 的行同时出现",
    examples=1,
    teaches=["training.ignore_index_masking", "training.perplexity"],
)
def boundary_regimes(ctx):
    for dtype in (torch.float32, torch.float64):
        for logits, targets, kw, rtol in _regime_batches(ctx, dtype):
            ctx.assert_close(
                ctx.call(logits, targets, **kw),
                ctx.reference(logits, targets, **kw),
                dtype=dtype,
                rtol=rtol or PROPERTY_RTOL.get(dtype),
                atol=PROPERTY_ATOL.get(dtype),
            )


@check(
    "ignored positions do not count: changing their logits leaves the perplexity unchanged, and it equals the perplexity of the kept rows alone",
    zh="被忽略的位置不计入：改变它们的 logits 困惑度不变，且等于只在保留的行上计算的困惑度",
    teaches=["training.ignore_index_masking", "training.perplexity"],
)
def ignored_do_not_count(ctx):
    dtype, (n, c), ignore = ctx.draw(st.tuples(st.sampled_from([torch.float32, torch.float64]), SIZES, IGNORE))
    n = max(n, 2)
    logits, targets, kw = _batch(ctx, dtype, n, c, ignore)
    value = kw.get("ignore_index", -100)
    targets[0] = value  # at least one ignored position, and one kept
    targets[1] = 0 if value != 0 else min(1, c - 1)
    if value == 0 and c == 1:
        return
    out = ctx.call(logits, targets, **kw)
    keep = targets != value
    ctx.assert_close(
        out,
        ctx.reference(logits[keep], targets[keep], **kw),
        dtype=dtype,
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )
    noisy = logits + torch.where(keep[:, None], 0.0, 7.0) * ctx.randn(n, c, dtype=dtype)
    ctx.assert_close(
        ctx.call(noisy, targets, **kw), out.double(), dtype=dtype, rtol=PROPERTY_RTOL.get(dtype), atol=PROPERTY_ATOL.get(dtype)
    )


@check(
    "uniform logits over C classes give perplexity C (the model is as unsure as a fair C-sided die)",
    zh="C 个类别上均匀的 logits 给出困惑度 C（模型的不确定程度与一个公平的 C 面骰子相同）",
    teaches=["training.initial_loss_check", "training.perplexity"],
)
def uniform_is_c(ctx):
    dtype, (n, c), level = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), SIZES, st.sampled_from([0.0, 3.0, -40.0]))
    )
    logits = torch.full((n, c), level, dtype=dtype)
    targets = ctx.randint(0, c, (n,))
    ctx.assert_close(ctx.call(logits, targets), torch.tensor(float(c), dtype=torch.float64), dtype=dtype, rtol=1e-5)


@check(
    "stable for float32 logits up to 1e4 in magnitude: no overflow in the exponentials",
    zh="绝对值大到 1e4 的 float32 logits 数值稳定：指数运算不溢出",
    examples=6,
    teaches=["softmax.stable_softmax"],
)
def large_logits(ctx):
    # float32 only: float64 logits far from 0 are `float64_precision`'s (rows offset by +-100).
    dtype, (n, c) = ctx.draw(st.tuples(st.just(torch.float32), SIZES))
    # each row shifted by +-1e4 (a softmax does not change; exp(1e4) overflows), targets near the top
    offset = torch.where(ctx.rand(n, 1) < 0.5, -1e4, 1e4).to(torch.float64)
    logits = (ctx.randn(n, c, dtype=torch.float64, scale=2.0) + offset).to(dtype)
    targets = logits.double().topk(min(2, c), dim=-1).indices[:, -1]
    out = ctx.call(logits, targets)
    # float32 logits near 1e4 are rounded to ~1e-3: the NLL, and so log(perplexity), to ~1e-3
    ctx.assert_close(
        out,
        ctx.reference(logits, targets),
        dtype=dtype,
        rtol=5e-3 if dtype == torch.float32 else PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def perplexity(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, torch.where(keep, targets, 0)[:, None])[:, 0]
    return torch.exp(nll[keep].mean())
"""


WRONG_ANSWERS = {
    "computes in float32 for float64 logits too (`logits.float()`)": edited(
        _PLAIN,
        ("torch.log_softmax(logits, dim=-1)", "torch.log_softmax(logits.float(), dim=-1)"),
        ("torch.exp(nll[keep].mean())", "torch.exp(nll[keep].mean()).to(logits.dtype)"),
    ),
    "subtracts the row max from logits in place": edited(
        _PLAIN,
        (
            "logp = torch.log_softmax(logits, dim=-1)",
            "logits -= logits.amax(dim=-1, keepdim=True)\n    logp = torch.log_softmax(logits, dim=-1)",
        ),
    ),
    "log-sum-exp over the first 4096 classes only (one block of a vocabulary row)": edited(
        _PLAIN,
        ("torch.log_softmax(logits, dim=-1)", "logits - torch.logsumexp(logits[:, :4096], dim=-1, keepdim=True)"),
    ),
    "keeps the targets >= 0 (right unless ignore_index is a real class such as 0)": edited(
        _PLAIN,
        ("keep = targets != ignore_index", "keep = targets >= 0"),
    ),
    "shifts by the max of the whole batch instead of each row (a row far below it underflows)": edited(
        _PLAIN,
        (
            "torch.log_softmax(logits, dim=-1)",
            "(logits - logits.max()) - (logits - logits.max()).exp().sum(dim=-1, keepdim=True).log()",
        ),
    ),
    "averages over every position, the ignored ones counted as zero loss": edited(
        _PLAIN,
        ("torch.exp(nll[keep].mean())", "torch.exp((nll * keep).sum() / targets.numel())"),
    ),
    "mean of the per-token perplexities exp(nll) instead of exp of the mean nll": edited(
        _PLAIN,
        ("torch.exp(nll[keep].mean())", "torch.exp(nll[keep]).mean()"),
    ),
    "log of the summed exponentials without subtracting the max: overflows for large logits": edited(
        _PLAIN,
        ("torch.log_softmax(logits, dim=-1)", "logits - torch.log(torch.exp(logits).sum(dim=-1, keepdim=True))"),
    ),
    "exp of the summed nll (the perplexity of the whole batch as one product, not per token)": edited(
        _PLAIN,
        ("nll[keep].mean()", "nll[keep].sum()"),
    ),
    "2 ** mean nll: mixes a base-2 exponent with natural-log likelihoods": edited(
        _PLAIN,
        ("torch.exp(nll[keep].mean())", "2 ** nll[keep].mean()"),
    ),
}

ALTERNATIVES = {
    "loop over kept positions in float64, log-sum-exp by hand": """
import torch

def perplexity(logits, targets, ignore_index=-100):
    x = logits.double()
    total, count = 0.0, 0
    for row, t in zip(x, targets.tolist()):
        if t == ignore_index:
            continue
        m = row.max()
        total += float(m + torch.log(torch.exp(row - m).sum()) - row[t])
        count += 1
    return torch.tensor(total / count, dtype=torch.float64).exp().to(logits.dtype)
""",
    "boolean indexing first, then log_softmax of the kept rows only": """
import torch
import torch.nn.functional as F

def perplexity(logits, targets, ignore_index=-100):
    keep = targets != ignore_index
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    kept_logits, kept_targets = logits[keep].to(work), targets[keep]
    logp = F.log_softmax(kept_logits, dim=-1)
    nll = -logp[torch.arange(kept_targets.numel()), kept_targets]
    return nll.mean().exp().to(logits.dtype)
""",
}
