"""inference.repetition_penalty — Hugging Face's RepetitionPenaltyLogitsProcessor: reference, checks, known-wrong answers.

logits (B, V) float, input_ids (B, L) int64 -> (B, V): for each id that occurs in row b of
input_ids (once per distinct id), logits[b, id] is divided by penalty if it is >= 0 and multiplied
by penalty if it is < 0; every other logit is unchanged. Float64 logits are computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- an empty history (L = 0) and a one-token history;
- ids 0 and V - 1 (padding-like id 0 skipped, off-by-one vocabularies);
- a vocabulary of 32000 with a history of 300 (a window over the last tokens only shows);
- an id repeated many times (penalised once), logits of exactly 0;
- penalty 1, below 1 and non-representable in float32 (1.2: a float32 penalty shows on float64
  logits at a relative 4e-8, checked at 1e-12).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = []


def reference(logits, input_ids, penalty=1.2):
    seen = logits.gather(1, input_ids)  # (B, L) the logits of tokens already in the text
    penalised = torch.where(seen < 0, seen * penalty, seen / penalty)  # both signs move down
    # scatter writes the same value for a repeated id, so each id is penalised once
    return logits.scatter(1, input_ids, penalised)  # (B, V)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
CASES = st.tuples(
    st.integers(1, 3),  # B
    st.integers(1, 12),  # V
    st.integers(0, 10),  # L (0: nothing generated yet)
    st.sampled_from(["default", 0.5, 1.0, 1.3, 2.0, 3.7]),  # penalty (< 1 rewards repeats)
)


def _inputs(ctx, dtype, b, v, length):
    logits = ctx.randn(b, v, dtype=torch.float64, scale=3.0)
    logits[ctx.rand(b, v, dtype=torch.float64) < 0.15] = 0.0  # exact zeros: divided, stay 0
    logits = logits.to(dtype)
    # ids from a few values only, so ids repeat within a row
    ids = ctx.randint(0, max(1, v // 2 + 1), (b, length))
    return logits, ids


@check(
    "matches the reference (repeated ids, empty history, zeros, penalty at its default, above and below 1)",
    zh="与参考实现一致（重复的 id，空历史，零值，penalty 取默认值、大于 1 和小于 1）",
    teaches=["inference.repetition_penalty_hf", "inference.repetition_penalty_sign"],
)
def matches_reference(ctx):
    dtype, (b, v, length, penalty) = ctx.draw(st.tuples(st.sampled_from(DTYPES), CASES))
    logits, ids = _inputs(ctx, dtype, b, v, length)
    if penalty == "default":
        out, expected = ctx.call(logits, ids), ctx.reference(logits, ids)
    else:
        out, expected = ctx.call(logits, ids, penalty=penalty), ctx.reference(logits, ids, penalty=penalty)
    ctx.assert_close(out, expected, dtype=dtype)


def _history(b, length, v):
    """(B, L) ids that include 0, V - 1 and a repeated id in every row (deterministic)."""
    ids = (torch.arange(b * length).view(b, length) * 7919 + torch.arange(b).unsqueeze(1) * 13) % v
    if length >= 4:
        ids[:, 0], ids[:, 1], ids[:, 2], ids[:, 3] = 0, v - 1, ids[:, 2], ids[:, 2]
    return ids


# (B, V, L, penalty, why): every dtype, every run
BOUNDARY_CASES = [
    (2, 7, 0, "default", "an empty history"),
    (1, 5, 1, 2.0, "one token of history"),
    (3, 11, 6, 0.5, "ids 0 and V - 1, a repeated id, penalty below 1"),
    (2, 9, 5, 1.0, "penalty 1 (nothing changes)"),
    (1, 32000, 300, "default", "a vocabulary of 32000 and a history of 300"),
]


@check(
    "float64 logits are computed in float64: penalty 1.2 and 1.3 applied exactly (within 1e-12)",
    zh="float64 logits 全程用 float64 计算：penalty 1.2 和 1.3 精确作用（误差在 1e-12 内）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    penalty = ctx.draw(st.sampled_from(["default", 1.3]))
    logits = ctx.randn(2, 64, dtype=torch.float64, scale=50.0)
    ids = _history(2, 40, 64)
    kwargs = {} if penalty == "default" else {"penalty": penalty}
    ctx.assert_close(
        ctx.call(logits, ids, **kwargs), ctx.reference(logits, ids, **kwargs), dtype=torch.float64, rtol=1e-12, atol=0.0
    )


@check(
    "boundary cases every run: empty and one-token histories, ids 0 and V - 1, V = 32000 with 300 ids, penalty 1 and below 1",
    zh="每次都测的边界情况：空的和只有一个 token 的历史，id 为 0 和 V - 1，V = 32000 含 300 个 id，penalty 为 1 和小于 1",
    examples=1,
    teaches=["inference.repetition_penalty_hf"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for b, v, length, penalty, _why in BOUNDARY_CASES:
            logits = ctx.randn(b, v, dtype=torch.float64, scale=3.0)
            logits[:, 1::4] = 0.0  # exact zeros among the seen ids
            logits = logits.to(dtype)
            ids = _history(b, length, v)
            kwargs = {} if penalty == "default" else {"penalty": penalty}
            ctx.assert_close(ctx.call(logits, ids, **kwargs), ctx.reference(logits, ids, **kwargs), dtype=dtype)


@check(
    "rows are independent: a logit is left exactly as it was unless its id occurs in that row's input_ids",
    zh="各行相互独立：一个 logit 只有在其 id 出现在该行的 input_ids 中时才会改变，否则原样保留",
    teaches=["inference.repetition_penalty_hf"],
)
def untouched_elsewhere(ctx):
    dtype, (b, v, length, _) = ctx.draw(st.tuples(st.sampled_from(DTYPES), CASES))
    b, v, length = max(b, 2), max(v, 4), max(length, 1)
    logits = ctx.randn(b, v, dtype=dtype, scale=3.0)
    # row r draws its ids from its own residue class, so the rows' histories are disjoint
    ids = torch.stack([r % b + b * ctx.randint(0, (v - 1 - r % b) // b + 1, (length,)) for r in range(b)])
    out = ctx.call(logits, ids, penalty=2.0)
    expected = ctx.reference(logits, ids, penalty=2.0)
    if not isinstance(out, torch.Tensor) or out.shape != logits.shape or out.dtype != dtype:
        ctx.assert_close(out, expected, dtype=dtype)
    seen = torch.zeros(b, v, dtype=torch.bool).scatter(1, ids, True)
    for r in range(b):
        changed = (out[r] != logits[r]) & ~seen[r]
        if bool(changed.any()):
            j = int(changed.nonzero()[0, 0])
            ctx.fail(
                f"row {r}: logit {j} changed from {float(logits[r, j]):g} to {float(out[r, j]):g}, but id {j} "
                f"does not occur in that row's input_ids {ids[r].tolist()}"
            )
    ctx.assert_close(out, expected, dtype=dtype)


@check(
    "with penalty > 1 no logit ever goes up, whatever its sign",
    zh="penalty > 1 时，不论正负，没有任何 logit 会变大",
    examples=8,
    teaches=["inference.repetition_penalty_sign"],
)
def never_raises(ctx):
    dtype, (b, v, length, _), penalty = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), CASES, st.sampled_from([1.1, 1.5, 3.0]))
    )
    logits, ids = _inputs(ctx, dtype, b, v, max(length, 1))
    out = ctx.call(logits, ids, penalty=penalty)
    expected = ctx.reference(logits, ids, penalty=penalty)
    if not isinstance(out, torch.Tensor) or out.shape != logits.shape or out.dtype != dtype:
        ctx.assert_close(out, expected, dtype=dtype)
    raised = out > logits
    if bool(raised.any()):
        r, j = (int(x) for x in raised.nonzero()[0])
        ctx.fail(
            f"penalty {penalty} raised logit [{r}, {j}] from {float(logits[r, j]):g} to {float(out[r, j]):g}; "
            f"a penalty above 1 must make a seen token less likely (divide if >= 0, multiply if < 0)"
        )
    ctx.assert_close(out, expected, dtype=dtype)


_PLAIN = """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    seen = torch.gather(logits, 1, input_ids)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(1, input_ids, seen)
"""


WRONG_ANSWERS = {
    "the notes' version: multiplies positive logits by the penalty and divides negative ones": """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    seen = torch.gather(logits, 1, input_ids)
    seen = torch.where(seen > 0, seen * penalty, seen / penalty)
    return logits.scatter(1, input_ids, seen)
""",
    "divides every seen logit by the penalty, so negative logits move up towards 0": """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    seen = torch.gather(logits, 1, input_ids)
    return logits.scatter(1, input_ids, seen / penalty)
""",
    "penalises once per occurrence: an id seen three times is divided three times": """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    out = logits.clone()
    for b in range(input_ids.shape[0]):
        for token in input_ids[b].tolist():
            if out[b, token] < 0:
                out[b, token] = out[b, token] * penalty
            else:
                out[b, token] = out[b, token] / penalty
    return out
""",
    "uses the ids of the whole batch for every row": """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    ids = torch.unique(input_ids)
    out = logits.clone()
    seen = out[:, ids]
    out[:, ids] = torch.where(seen < 0, seen * penalty, seen / penalty)
    return out
""",
    "penalty made a float32 tensor (torch.tensor(penalty)): 1.2 becomes 1.2000000477 on float64 logits": edited(
        _PLAIN,
        (
            "    seen = torch.gather(logits, 1, input_ids)\n",
            "    penalty = torch.tensor(penalty)\n    seen = torch.gather(logits, 1, input_ids)\n",
        ),
    ),
    "skips id 0, taking it for padding": edited(
        _PLAIN,
        (
            "    return logits.scatter(1, input_ids, seen)",
            "    seen = torch.where(input_ids == 0, logits[:, :1], seen)\n    return logits.scatter(1, input_ids, seen)",
        ),
    ),
    "penalises only the last 64 tokens of the history (a window)": edited(
        _PLAIN,
        (
            "    seen = torch.gather(logits, 1, input_ids)\n",
            "    input_ids = input_ids[:, -64:]\n    seen = torch.gather(logits, 1, input_ids)\n",
        ),
    ),
    "scatters into logits in place (modifies logits)": edited(_PLAIN, ("logits.scatter(", "logits.scatter_(")),
    "penalises only the most recent token": edited(
        _PLAIN,
        (
            "    seen = torch.gather(logits, 1, input_ids)\n",
            "    input_ids = input_ids[:, -1:]\n    seen = torch.gather(logits, 1, input_ids)\n",
        ),
    ),
}

ALTERNATIVES = {
    "a boolean 'seen' mask from one-hot rows, then torch.where over the whole vocabulary": """
import torch
import torch.nn.functional as F

def repetition_penalty(logits, input_ids, penalty=1.2):
    vocab = logits.shape[-1]
    seen = F.one_hot(input_ids, vocab).sum(dim=1) > 0  # (B, V); an empty history gives all False
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(seen, penalised, logits)
""",
    "a Python loop over each row's set of ids": """
import torch

def repetition_penalty(logits, input_ids, penalty=1.2):
    out = logits.clone()
    for row, ids in enumerate(input_ids.tolist()):
        for token in set(ids):
            value = out[row, token]
            out[row, token] = value * penalty if value < 0 else value / penalty
    return out
""",
}
