"""attention.causal_mask — the boolean causal mask, aligned bottom-right: reference, checks, known-wrong answers.

causal_mask(lq, lk=None) -> bool (Lq, Lk), True = may attend; query i may attend key j iff
j <= i + (Lk - Lq); lk defaults to lq (the square mask).

Regimes where implementations diverge, each run every time by `boundary_regimes` (the other
checks draw at random): Lq < Lk (the offset), Lq = Lk, Lq > Lk (the first Lq - Lk rows allow no
key), one query, one key, and lk left at its default.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

FORBIDDEN = []


def reference(lq, lk=None):
    lk = lq if lk is None else lk
    i = torch.arange(lq).unsqueeze(1)  # (Lq, 1) query positions
    j = torch.arange(lk).unsqueeze(0)  # (1, Lk) key positions
    # Bottom-right: the last query sits at key position Lk - 1, so query i sits at i + (Lk - Lq).
    return j <= i + (lk - lq)  # (Lq, Lk) bool


SIZES = st.integers(1, 12)


@check(
    "matches the reference exactly (square and rectangular, Lq <= Lk and Lq > Lk, lk given and default)",
    zh="与参考实现完全一致（方阵和非方阵，Lq <= Lk 和 Lq > Lk，lk 给定和取默认值）",
    teaches=["attention.sdpa_is_causal_decode"],
)
def matches_reference(ctx):
    lq, lk, default = ctx.draw(st.tuples(SIZES, SIZES, st.booleans()))
    if default:
        ctx.assert_equal(ctx.call(lq), reference(lq))
    else:
        ctx.assert_equal(ctx.call(lq, lk), reference(lq, lk))


# (Lq, Lk); None: lk left at its default
REGIMES = [(1, 1), (1, 7), (4, 9), (5, 5), (9, 4), (7, 1), (6, None), (1, None)]


@check(
    "boundary regimes, every run: Lq < = > Lk, one query, one key, lk at its default",
    zh="每次都测的边界情形：Lq < = > Lk，一个 query，一个 key，lk 取默认值",
    examples=1,
    teaches=["attention.sdpa_is_causal_decode"],
)
def boundary_regimes(ctx):
    for lq, lk in REGIMES:
        ctx.assert_equal(ctx.call(lq) if lk is None else ctx.call(lq, lk), reference(lq, lk))


@check(
    "decoding with a cache: the mask for the last Lq queries is the last Lq rows of the square (Lk, Lk) mask",
    zh="带 cache 解码：最后 Lq 个 query 的 mask 是 (Lk, Lk) 方阵 mask 的最后 Lq 行",
    teaches=["attention.sdpa_is_causal_decode"],
)
def bottom_right(ctx):
    lk, back = ctx.draw(st.tuples(st.integers(2, 12), st.integers(1, 11)))
    lq = min(back, lk - 1)
    square = ctx.call(lk)
    tail = ctx.call(lq, lk)
    if not isinstance(square, torch.Tensor) or tuple(square.shape) != (lk, lk):
        ctx.assert_equal(square, reference(lk))
    ctx.assert_equal(tail, square[lk - lq :])


@check(
    "the last query sees every key, and a key row never has a gap (allowed keys form a prefix)",
    zh="最后一个 query 能看到所有 key，且每行允许的 key 没有空缺（允许的 key 构成一个前缀）",
    teaches=["attention.sdpa_is_causal_decode"],
)
def prefix_rows(ctx):
    lq, lk = ctx.draw(st.tuples(SIZES, SIZES))
    lq = min(lq, lk)  # every row has at least one key
    mask = ctx.call(lq, lk)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (lq, lk):
        ctx.assert_equal(mask, reference(lq, lk))
    if not bool(mask[-1].all()):
        ctx.fail(f"the last query must see all {lk} keys; its row is {mask[-1].int().tolist()}")
    # A prefix: once a key is disallowed, every later key is too (cumulative AND equals the row).
    prefix = mask.int().cummin(dim=1).values.bool()
    if not torch.equal(prefix, mask):
        row = int((prefix != mask).any(dim=1).nonzero()[0, 0])
        ctx.fail(f"row {row} allows a key after a disallowed one: {mask[row].int().tolist()}")


# A correct solution; the wrong answers written with edited() are this with one bug put in.
_TRIL = """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    return torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
"""


WRONG_ANSWERS = {
    "offset clamped at 0 (tril(max(Lk - Lq, 0))): wrong only when Lq > Lk": edited(
        _TRIL,
        (".tril(lk - lq)", ".tril(max(lk - lq, 0))"),
    ),
    "the last Lq rows of the square (Lk, Lk) mask: wrong only when Lq > Lk": edited(
        _TRIL,
        ("torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)", "torch.ones(lk, lk, dtype=torch.bool).tril()[lk - lq:]"),
    ),
    "aligned top-left (tril of the (Lq, Lk) ones): wrong whenever Lq != Lk": """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    return torch.ones(lq, lk, dtype=torch.bool).tril()
""",
    "strict inequality: a query may not attend its own position": """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    i = torch.arange(lq)[:, None]
    j = torch.arange(lk)[None, :]
    return j < i + (lk - lq)
""",
    "returns the blocked positions (True = masked out), the opposite convention": """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    return torch.ones(lq, lk, dtype=torch.bool).triu(lk - lq + 1)
""",
    "returns a float 0/1 mask instead of bool": """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    return torch.ones(lq, lk).tril(lk - lq)
""",
}

ALTERNATIVES = {
    "tril with the diagonal offset Lk - Lq": """
import torch

def causal_mask(lq, lk=None):
    if lk is None:
        lk = lq
    return torch.ones(lq, lk, dtype=torch.bool).tril(diagonal=lk - lq)
""",
    "row by row in Python": """
import torch

def causal_mask(lq, lk=None):
    lk = lq if lk is None else lk
    rows = [[j <= i + lk - lq for j in range(lk)] for i in range(lq)]
    return torch.tensor(rows, dtype=torch.bool).reshape(lq, lk)
""",
}
