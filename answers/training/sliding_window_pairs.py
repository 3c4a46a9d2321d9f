"""training.sliding_window_pairs — next-token (input, target) pairs from a token stream: reference, checks, wrong answers.

sliding_window_pairs(token_ids, max_length, stride): token_ids a list of ints; windows start at
0, stride, 2*stride, ... while start + max_length < len(token_ids), i.e. every window whose target
(shifted by one) is complete; the last incomplete window is dropped, never padded. Returns
(inputs, targets), int64 tensors of shape (n_windows, max_length), with
inputs[i] = token_ids[i*stride : i*stride + max_length] and targets[i] the same slice shifted by 1.
No complete window: both have shape (0, max_length). As GPTDatasetV1 in Raschka's "Build a Large
Language Model (From Scratch)", ch. 2.6.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws:
- the stream against the window: len(token_ids) = 0, < max_length, = max_length (no window),
  = max_length + 1 (exactly one), and k * stride + max_length + 1 (the last window's target ends at
  the last token) or one token fewer (it is dropped);
- stride smaller than, equal to and larger than max_length (overlapping, adjacent and gapped
  windows), stride 1, and stride larger than the whole stream; max_length 1;
- the empty result: int64 of shape (0, max_length), not (0,) nor float32.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(token_ids, max_length, stride):
    inputs, targets = [], []
    for start in range(0, len(token_ids) - max_length, stride):  # the target needs one more token
        inputs.append(token_ids[start : start + max_length])
        targets.append(token_ids[start + 1 : start + max_length + 1])
    shape = (len(inputs), max_length)
    return (
        torch.tensor(inputs, dtype=torch.int64).reshape(shape),  # reshape: keeps (0, max_length) when empty
        torch.tensor(targets, dtype=torch.int64).reshape(shape),
    )


# (n_tokens, max_length, stride): streams shorter than a window, strides below, at and above it
CASES = st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(1, 10))


def _tokens(ctx, n):
    return ctx.randint(0, 50257, (n,)).tolist()  # GPT-2 ids, as plain Python ints


def _pair(ctx, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (inputs, targets) of int64 tensors")
    return out


def _matches_reference(ctx, ids, max_length, stride):
    inputs, targets = _pair(ctx, ctx.call(ids, max_length, stride))
    want_inputs, want_targets = ctx.reference(ids, max_length, stride)
    ctx.assert_equal(inputs, want_inputs)
    ctx.assert_equal(targets, want_targets)


@check(
    "matches the reference (0 to 40 tokens, max_length 1 to 8, stride 1 to 10: overlapping, adjacent and gapped windows)",
    zh="与参考实现一致（0 到 40 个 token，max_length 1 到 8，stride 1 到 10：窗口重叠、相邻和有间隔）",
    teaches=["training.causal_lm_targets"],
)
def matches_reference(ctx):
    n, max_length, stride = ctx.draw(CASES)
    ids = _tokens(ctx, n)
    _matches_reference(ctx, ids, max_length, stride)


def _regime_cases():
    """(n_tokens, max_length, stride) for every regime of the module docstring."""
    cases = [(0, 1, 1), (0, 4, 3), (2, 4, 1), (4, 4, 2), (5, 4, 1), (5, 4, 9), (7, 2, 50)]
    for max_length in (1, 3):
        for stride in (1, max_length, max_length + 2):
            for k in (1, 2, 3):
                end = k * stride + max_length + 1  # window k's target ends at the last token
                cases += [(end, max_length, stride), (end - 1, max_length, stride)]
    return cases


@check(
    "boundary regimes, every run: streams of 0, max_length and max_length + 1 tokens; the last window complete or one short; stride <, = and > max_length",
    zh="每次都测的边界情形：0、max_length 和 max_length + 1 个 token 的序列；最后一个窗口完整或差一个 token；stride 小于、等于和大于 max_length",
    examples=1,
    teaches=["training.causal_lm_targets"],
)
def boundary_regimes(ctx):
    for n, max_length, stride in _regime_cases():
        _matches_reference(ctx, _tokens(ctx, n), max_length, stride)


@check(
    "the last window: kept when its target ends exactly at the last token, dropped when one token short",
    zh="最后一个窗口：目标恰好结束于最后一个 token 时保留，差一个 token 时丢弃",
)
def last_window(ctx):
    k, max_length, stride, short = ctx.draw(st.tuples(st.integers(0, 4), st.integers(1, 8), st.integers(1, 6), st.booleans()))
    # len = k*stride + max_length + 1: window k's target ends at the last token; one fewer: it is incomplete
    ids = _tokens(ctx, k * stride + max_length + 1 - int(short))
    _matches_reference(ctx, ids, max_length, stride)


@check(
    "no complete window (len(token_ids) <= max_length) gives two int64 tensors of shape (0, max_length)",
    zh="没有完整窗口时（len(token_ids) <= max_length）得到两个形状为 (0, max_length) 的 int64 张量",
)
def empty(ctx):
    max_length, stride = ctx.draw(st.tuples(st.integers(1, 8), st.integers(1, 4)))
    n = ctx.draw(st.integers(0, max_length))
    ids = _tokens(ctx, n)
    _matches_reference(ctx, ids, max_length, stride)


@check(
    "targets are the inputs shifted by one: targets[i, :-1] == inputs[i, 1:], and every row is a slice of the stream",
    zh="目标是输入错开一位：targets[i, :-1] == inputs[i, 1:]，且每一行都是序列的一段切片",
    teaches=["training.causal_lm_targets"],
)
def shifted(ctx):
    n, max_length, stride = ctx.draw(CASES)
    ids = list(range(1000, 1000 + n))  # distinct ids: a row's values say where it was cut from
    inputs, targets = _pair(ctx, ctx.call(ids, max_length, stride))
    ctx.assert_equal(inputs, ctx.reference(ids, max_length, stride)[0])
    ctx.assert_equal(targets[:, :-1], inputs[:, 1:])
    ctx.assert_equal(targets, inputs + 1)


# The usual way to write it (the book's loop); each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def sliding_window_pairs(token_ids, max_length, stride):
    inputs, targets = [], []
    for i in range(0, len(token_ids) - max_length, stride):
        inputs.append(token_ids[i:i + max_length])
        targets.append(token_ids[i + 1:i + max_length + 1])
    shape = (len(inputs), max_length)
    return torch.tensor(inputs, dtype=torch.int64).reshape(shape), torch.tensor(targets, dtype=torch.int64).reshape(shape)
"""


# Written with unfold instead: the wrong answers on it are bugs of that way of writing it.
_UNFOLD = """
import torch

def sliding_window_pairs(token_ids, max_length, stride):
    ids = torch.tensor(token_ids, dtype=torch.int64)
    if ids.numel() < max_length + 1:
        empty = torch.empty(0, max_length, dtype=torch.int64)
        return empty, empty.clone()
    windows = ids.unfold(0, max_length + 1, stride)
    return windows[:, :-1].clone(), windows[:, 1:].clone()
"""

# Counting the windows with a formula first.
_COUNTED = """
import torch

def sliding_window_pairs(token_ids, max_length, stride):
    n = max(0, (len(token_ids) - max_length - 1) // stride + 1)
    ids = torch.tensor(token_ids, dtype=torch.int64)
    starts = torch.arange(n) * stride
    offsets = torch.arange(max_length)
    return ids[starts[:, None] + offsets], ids[starts[:, None] + offsets + 1]
"""

WRONG_ANSWERS = {
    "empty result as torch.empty(0, max_length): float32, not int64 (only when no window fits)": edited(
        _UNFOLD,
        ("torch.empty(0, max_length, dtype=torch.int64)", "torch.empty(0, max_length)"),
    ),
    "guard `len < max_length` instead of `len < max_length + 1`: unfold raises for a stream of exactly max_length": edited(
        _UNFOLD,
        ("if ids.numel() < max_length + 1:", "if ids.numel() < max_length:"),
    ),
    "window count (len - max_length) // stride: one window short when stride does not divide it": edited(
        _COUNTED,
        ("n = max(0, (len(token_ids) - max_length - 1) // stride + 1)", "n = max(0, (len(token_ids) - max_length) // stride)"),
    ),
    "targets as the inputs rolled by one (the last target wraps to the window's first token)": edited(
        _COUNTED,
        ("ids[starts[:, None] + offsets + 1]", "ids[starts[:, None] + offsets].roll(-1, dims=1)"),
    ),
    "targets not shifted (targets = inputs): the model learns to copy, not to predict": edited(
        _PLAIN,
        ("targets.append(token_ids[i + 1:i + max_length + 1])", "targets.append(token_ids[i:i + max_length])"),
    ),
    "loop bound one too short: drops the last complete window": edited(
        _PLAIN,
        ("len(token_ids) - max_length, stride", "len(token_ids) - max_length - 1, stride"),
    ),
    "keeps the last incomplete window, padding its target with token 0": edited(
        _PLAIN,
        ("len(token_ids) - max_length, stride", "len(token_ids) - max_length + 1, stride"),
        (
            "targets.append(token_ids[i + 1:i + max_length + 1])",
            "tgt = token_ids[i + 1:i + max_length + 1]\n        targets.append(tgt + [0] * (max_length - len(tgt)))",
        ),
    ),
    "ignores stride (always steps by 1)": edited(
        _PLAIN, ("len(token_ids) - max_length, stride)", "len(token_ids) - max_length)")
    ),
    "torch.tensor of an empty list: shape (0,) instead of (0, max_length) when no window fits": edited(
        _PLAIN,
        ("torch.tensor(inputs, dtype=torch.int64).reshape(shape)", "torch.tensor(inputs, dtype=torch.int64)"),
        ("torch.tensor(targets, dtype=torch.int64).reshape(shape)", "torch.tensor(targets, dtype=torch.int64)"),
    ),
}

ALTERNATIVES = {
    "count the windows first, then gather them with index arithmetic": _COUNTED,
    "tensor.unfold over the stream: windows of max_length + 1, split into input and target": """
import torch

def sliding_window_pairs(token_ids, max_length, stride):
    ids = torch.tensor(token_ids, dtype=torch.int64)
    if ids.numel() < max_length + 1:
        empty = torch.empty(0, max_length, dtype=torch.int64)
        return empty, empty.clone()
    windows = ids.unfold(0, max_length + 1, stride)  # (n, max_length + 1), complete windows only
    return windows[:, :-1].clone(), windows[:, 1:].clone()
""",
}
