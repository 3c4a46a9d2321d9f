"""attention.sliding_window_mask — causal sliding-window mask (Mistral-style): reference, checks, known-wrong answers.

sliding_window_mask(lq, window, lk=None) -> bool (Lq, Lk), True = may attend. Query i sits at key
position p = i + (Lk - Lq) (aligned bottom-right; lk defaults to lq) and may attend key j iff
p - window < j <= p: the `window` most recent keys, itself included.

Regimes where implementations diverge, each run every time by `boundary_regimes` (the other
checks draw at random): window 1; window smaller than, equal to and larger than Lq and than Lk
(Lq <= window < Lk is where a "window covers every query" shortcut goes wrong); Lq < Lk, Lq = Lk,
Lq > Lk (rows that allow no key); one query; one key; lk at its default.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = []


def reference(lq, window, lk=None):
    lk = lq if lk is None else lk
    p = torch.arange(lq).unsqueeze(1) + (lk - lq)  # (Lq, 1) each query's position among the keys
    j = torch.arange(lk).unsqueeze(0)  # (1, Lk)
    distance = p - j  # how far back key j is from the query
    return (distance >= 0) & (distance < window)  # (Lq, Lk): window keys, the query's own included


CASES = st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 14), st.booleans())


@check(
    "matches the reference exactly (window 1 to past Lk, Lq <= Lk and Lq > Lk, lk given and default)",
    zh="与参考实现完全一致（窗口从 1 到超过 Lk，Lq <= Lk 和 Lq > Lk，lk 给定和取默认值）",
    teaches=["attention.sliding_window_mistral", "attention.sdpa_is_causal_decode"],
)
def matches_reference(ctx):
    lq, lk, window, default = ctx.draw(CASES)
    if default:
        ctx.assert_equal(ctx.call(lq, window), reference(lq, window))
    else:
        ctx.assert_equal(ctx.call(lq, window, lk=lk), reference(lq, window, lk))


# (Lq, Lk, window); Lk None: left at its default
REGIMES = [
    (1, 9, 3),  # one query (decoding)
    (4, 9, 2),
    (4, 9, 4),
    (4, 9, 6),
    (4, 9, 9),
    (4, 9, 12),  # window < = Lq, between, = Lk, > Lk
    (5, 5, 1),
    (5, 5, 5),
    (5, 5, 8),  # square: window 1, = T, > T
    (9, 4, 2),
    (9, 4, 6),  # Lq > Lk
    (7, 1, 1),
    (3, 1, 4),  # one key
    (6, None, 3),
    (6, None, 6),
]


@check(
    "boundary regimes, every run: window < = > Lq and Lk, window 1, Lq < = > Lk, one query, one key",
    zh="每次都测的边界情形：窗口 < = > Lq 和 Lk，窗口为 1，Lq < = > Lk，一个 query，一个 key",
    examples=1,
    teaches=["attention.sliding_window_mistral", "attention.sdpa_is_causal_decode"],
)
def boundary_regimes(ctx):
    for lq, lk, window in REGIMES:
        out = ctx.call(lq, window) if lk is None else ctx.call(lq, window, lk=lk)
        ctx.assert_equal(out, reference(lq, window, lk))


@check(
    "each query sees exactly min(window, p + 1) keys, ending at its own position p = i + Lk - Lq",
    zh="每个 query 恰好看到 min(window, p + 1) 个 key，结束于它自己的位置 p = i + Lk - Lq",
    teaches=["attention.sliding_window_mistral"],
)
def window_counts(ctx):
    lq, lk, window, _ = ctx.draw(CASES)
    lq = min(lq, lk)
    mask = ctx.call(lq, window, lk=lk)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (lq, lk):
        ctx.assert_equal(mask, reference(lq, window, lk))
    for i in range(lq):
        p = i + lk - lq
        seen = mask[i].nonzero().flatten().tolist()
        want = list(range(max(0, p - window + 1), p + 1))
        if seen != want:
            ctx.fail(f"query {i} (position {p}, window {window}) sees keys {seen}; expected keys {want}")


@check(
    "a window at least Lk wide is the plain causal mask",
    zh="宽度至少为 Lk 的窗口就是普通的因果掩码",
    teaches=["attention.sliding_window_mistral"],
)
def wide_window_is_causal(ctx):
    lq, lk, extra, _ = ctx.draw(CASES)
    lq = min(lq, lk)
    causal = torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
    ctx.assert_equal(ctx.call(lq, lk + extra - 1, lk=lk), causal)


# A correct solution; the wrong answers written with edited() are this with one bug put in.
_DISTANCE = """
import torch

def sliding_window_mask(lq, window, lk=None):
    lk = lq if lk is None else lk
    p = torch.arange(lq)[:, None] + (lk - lq)
    j = torch.arange(lk)[None, :]
    return (j <= p) & (p - j < window)
"""


WRONG_ANSWERS = {
    "offset clamped at 0 (p = i + max(Lk - Lq, 0)): wrong only when Lq > Lk": edited(
        _DISTANCE,
        ("+ (lk - lq)", "+ max(lk - lq, 0)"),
    ),
    "shortcut: a window of at least Lq keys returns the plain causal mask (wrong when Lq <= window < Lk)": edited(
        _DISTANCE,
        (
            "    p = torch.arange(lq)",
            "    if window >= lq:\n        return torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)\n    p = torch.arange(lq)",
        ),
    ),
    "off by one: window + 1 keys (triu with diagonal -window, as in the Mistral paper's 'i - W to i' read literally)": """
import torch

def sliding_window_mask(lq, window, lk=None):
    lk = lq if lk is None else lk
    causal = torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
    return causal.triu(lk - lq - window)
""",
    "off by one the other way: window - 1 keys (distance <= window - 1 read as < window - 1)": """
import torch

def sliding_window_mask(lq, window, lk=None):
    lk = lq if lk is None else lk
    p = torch.arange(lq)[:, None] + (lk - lq)
    j = torch.arange(lk)[None, :]
    return (j <= p) & (p - j < window - 1)
""",
    "not causal: a symmetric band |p - j| < window": """
import torch

def sliding_window_mask(lq, window, lk=None):
    lk = lq if lk is None else lk
    p = torch.arange(lq)[:, None] + (lk - lq)
    j = torch.arange(lk)[None, :]
    return (p - j).abs() < window
""",
    "aligned top-left: ignores Lk - Lq, so decoding queries see the oldest keys": """
import torch

def sliding_window_mask(lq, window, lk=None):
    lk = lq if lk is None else lk
    i = torch.arange(lq)[:, None]
    j = torch.arange(lk)[None, :]
    return (j <= i) & (i - j < window)
""",
}

ALTERNATIVES = {
    "distance from each query's position: 0 <= p - j < window": _DISTANCE,
    "causal tril minus the keys that fell out of the window": """
import torch

def sliding_window_mask(lq, window, lk=None):
    if lk is None:
        lk = lq
    ones = torch.ones(lq, lk, dtype=torch.bool)
    causal = ones.tril(diagonal=lk - lq)
    too_old = ones.tril(diagonal=lk - lq - window)  # keys at distance >= window
    return causal & ~too_old
""",
}
