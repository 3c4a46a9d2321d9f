"""loss.sft_loss — the supervised fine-tuning loss (shifted labels, prompt and padding masked): reference, checks, wrong answers.

sft_loss(logits, labels): logits (B, T, V) float32 or float64, the model's output at every
position; labels (B, T) int64, the input ids with every prompt and padding position set to -100
(as Hugging Face's collators build them). The logits at position t predict the token at t + 1, so
the loss pairs logits[:, :-1] with labels[:, 1:]; it is the mean of -log softmax(logits)[target]
over the pairs whose target is not -100 (every kept token of the batch weighs the same), as a
0-dim tensor in logits' dtype (Hugging Face transformers, loss/loss_utils.py, ForCausalLMLoss).
At least one target is kept. Finite for float32 logits up to 1e4 in magnitude.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- B = 1 and T = 2 (a single prediction: any shift bug reads the wrong pair);
- a row with no prompt (its first label is a real token: a shift by torch.roll wraps it around
  to be the last position's target);
- a row with padding after the answer, a row whose labels are all -100 (a per-row mean divides
  0 by 0), rows with 1 and 6 answer tokens (a per-row mean differs from the token mean);
- logits of magnitude 1e4 in float32 (log(softmax(x)) is -inf).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

IGNORE = -100


def reference(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V): position t predicts token t + 1
    targets = labels[:, 1:]  # (B, T-1)
    keep = targets != IGNORE
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # -100 is no index: clamp, then drop
    return -(picked * keep).sum() / keep.sum()  # one mean over every kept token of the batch


DTYPES = [torch.float32, torch.float64]


def _labels(ctx, rows, t, v):
    """labels (B, T) from (prompt length, answer length) per row: -100, then tokens, then -100 padding."""
    ids = ctx.randint(0, v, (len(rows), t))
    labels = torch.full((len(rows), t), IGNORE, dtype=torch.int64)
    for i, (prompt, answer) in enumerate(rows):
        labels[i, prompt : prompt + answer] = ids[i, prompt : prompt + answer]
    return labels


def _rows(ctx, b, t):
    rows = []
    for _ in range(b):
        prompt = ctx.draw(st.integers(0, t - 1))
        rows.append((prompt, ctx.draw(st.integers(0, t - prompt))))
    rows[0] = (min(rows[0][0], t - 2) + 1, max(rows[0][1], 1))  # a kept target after the shift
    rows[0] = (rows[0][0], min(rows[0][1], t - rows[0][0]))
    return rows


def _compare(ctx, logits, labels, dtype):
    out = ctx.call(logits, labels)
    ctx.assert_close(out, ctx.reference(logits, labels), dtype=dtype)


@check(
    "matches the reference (B 1 to 4, T 2 to 10, V 2 to 40, random prompt, answer and padding lengths, float32/float64)",
    zh="与参考实现一致（B 为 1 到 4，T 为 2 到 10，V 为 2 到 40，随机的 prompt、回答和 padding 长度，float32/float64）",
    teaches=["training.causal_lm_targets", "training.ignore_index_masking"],
)
def matches_reference(ctx):
    dtype, b, t, v = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.integers(1, 4), st.integers(2, 10), st.integers(2, 40)))
    labels = _labels(ctx, _rows(ctx, b, t), t, v)
    _compare(ctx, ctx.randn(b, t, v, dtype=dtype, scale=2.0), labels, dtype)


# (rows of (prompt length, answer length), T, why): every dtype, every run
BOUNDARY_CASES = [
    ([(1, 1)], 2, "B = 1, T = 2: one prediction"),
    ([(2, 3), (0, 4)], 6, "a row with no prompt: its first token is never a target"),
    ([(3, 1), (1, 6), (2, 2)], 8, "rows of 1, 6 and 2 answer tokens, padding after them"),
    ([(2, 4), (7, 0)], 7, "a row whose labels are all -100"),
    ([(0, 5), (1, 4)], 5, "no padding and no prompt in one row"),
]


@check(
    "boundary cases every run: B = 1 and T = 2, rows without a prompt, padding after the answer, an all -100 row, answers of 1 and 6 tokens, logits of 1e4 (float32 and float64)",
    zh="每次都测的边界情况：B = 1 且 T = 2、没有 prompt 的行、回答后的 padding、全为 -100 的行、1 个和 6 个 token 的回答、1e4 量级的 logits（float32 和 float64）",
    examples=1,
    teaches=["training.ignore_index_masking", "training.label_mask_choice"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for rows, t, _why in BOUNDARY_CASES:
            v = 11
            labels = _labels(ctx, rows, t, v)
            _compare(ctx, ctx.randn(len(rows), t, v, dtype=dtype, scale=2.0), labels, dtype)
        labels = _labels(ctx, [(1, 3), (0, 3)], 4, 5)
        _compare(ctx, ctx.randn(2, 4, 5, dtype=dtype, scale=5e3), labels, dtype)  # logits up to ~1e4


@check(
    "the logits at the last position and at prompt and padding positions do not change the loss (only positions whose next label is kept count)",
    zh="最后一个位置、prompt 和 padding 位置上的 logits 不影响损失（只有下一个 label 被保留的位置才计入）",
    teaches=["training.causal_lm_targets", "training.ignore_index_masking"],
)
def unused_positions(ctx):
    b, t = ctx.draw(st.tuples(st.integers(1, 3), st.integers(2, 8)))
    labels = _labels(ctx, _rows(ctx, b, t), t, 9)
    logits = ctx.randn(b, t, 9, dtype=torch.float64)
    unused = torch.ones(b, t, dtype=torch.bool)
    unused[:, :-1] = labels[:, 1:] == IGNORE  # position t is used only when label t + 1 is kept
    moved = logits.clone()
    moved[unused] = moved[unused] * 3 + 7
    base = ctx.call(logits, labels)
    ctx.assert_close(base, ctx.reference(logits, labels), dtype=torch.float64)
    ctx.assert_close(ctx.call(moved, labels), ctx.reference(logits, labels), dtype=torch.float64)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def sft_loss(logits, labels):
    shift_logits = logits[:, :-1, :]
    shift_labels = labels[:, 1:]
    return F.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1), ignore_index=-100)
"""

_BY_HAND = """
import torch

def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = labels[:, 1:]
    keep = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * keep).sum() / keep.sum()
"""

WRONG_ANSWERS = {
    "no shift: the logits at t scored against the token at t": edited(
        _PLAIN, ("logits[:, :-1, :]", "logits"), ("labels[:, 1:]", "labels")
    ),
    "shifted the wrong way: logits[:, 1:] against labels[:, :-1]": edited(
        _PLAIN, ("logits[:, :-1, :]", "logits[:, 1:, :]"), ("labels[:, 1:]", "labels[:, :-1]")
    ),
    "mean over all positions, masked ones counted as zero loss": edited(
        _BY_HAND, ("return -(picked * keep).sum() / keep.sum()", "return -(picked * keep).mean()")
    ),
    "mean per sequence, then over the batch": edited(
        _BY_HAND, ("return -(picked * keep).sum() / keep.sum()", "return (-(picked * keep).sum(dim=1) / keep.sum(dim=1)).mean()")
    ),
    "mask taken from the unshifted labels: drops the first answer token, scores the token after the answer": edited(
        _BY_HAND, ("keep = targets != -100", "keep = labels[:, :-1] != -100")
    ),
    "padding not masked: only positions before the answer start are dropped": edited(
        _BY_HAND,
        (
            "keep = targets != -100",
            "keep = torch.cumsum((targets != -100).to(torch.int64), dim=1) > 0",
        ),
    ),
    "shift by torch.roll: the last position predicts the row's first token (wraps around)": edited(
        _BY_HAND,
        ("logp = torch.log_softmax(logits[:, :-1], dim=-1)", "logp = torch.log_softmax(logits, dim=-1)"),
        ("targets = labels[:, 1:]", "targets = torch.roll(labels, -1, dims=1)"),
    ),
    "log(softmax(x)): -inf for logits of 1e4 in float32": edited(
        _BY_HAND, ("torch.log_softmax(logits[:, :-1], dim=-1)", "torch.log(torch.softmax(logits[:, :-1], dim=-1))")
    ),
}

ALTERNATIVES = {
    "Hugging Face's order: pad the labels on the right with -100, shift them left, cross_entropy with ignore_index": """
import torch
import torch.nn.functional as F

def sft_loss(logits, labels):
    padded = F.pad(labels, (0, 1), value=-100)
    shift_labels = padded[:, 1:]
    flat = logits.reshape(-1, logits.shape[-1])
    return F.cross_entropy(flat, shift_labels.reshape(-1), ignore_index=-100, reduction="sum") / (shift_labels != -100).sum()
""",
}
