"""sampling.top_k — top-k filtering of logits: reference, checks, known-wrong answers.

top_k_filter(logits, k): logits (..., V) -> same shape and dtype; along the last dim every entry
smaller than the k-th largest becomes -inf, entries tied with the k-th largest stay, k >= V keeps
all. Kept entries are returned unchanged, so every comparison here is exact.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws:
- k against V: k = 1, V - 1, V (a new tensor, not the input itself), V + 1 and far beyond; V = 1;
- logits 1-D, 2-D and 3-D (a topk over dim 1 is right for 2-D only);
- a vocabulary of 32768 entries per row;
- ties at the k-th largest (kept), a row of equal values, -inf already in the row (the k-th
  largest may itself be -inf);
- float64 values closer together than float32 can tell (1 and 1 - 1e-12): a comparison done in
  float32 keeps an entry smaller than the k-th largest.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

EXACT = {"rtol": 0.0, "atol": 0.0}  # filtering only selects: kept values must be bit-identical


def reference(logits, k):
    # logits (..., V); k >= 1
    v = logits.shape[-1]
    if k >= v:
        return logits.clone()
    kth = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest of each row
    return logits.masked_fill(logits < kth, float("-inf"))  # ties with kth are not < kth: kept


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
LEAD = st.lists(st.integers(1, 3), min_size=0, max_size=2)  # leading (batch) dims: none, or up to two


def _logits(ctx, shape, dtype, ties):
    if ties:  # few distinct values: the k-th largest is often tied
        return ctx.randint(-2, 3, shape).to(dtype)
    return ctx.randn(*shape, dtype=dtype, scale=5.0)


@check(
    "matches the reference (random (..., V) shapes, float32/float64/bfloat16, with and without ties, k from 1 to beyond V)",
    zh="与参考实现一致（随机的 (..., V) 形状，float32/float64/bfloat16，有无并列值，k 从 1 到超过 V）",
    teaches=["inference.top_k"],
)
def matches_reference(ctx):
    dtype, lead, v, k_offset, ties = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), LEAD, st.integers(1, 17), st.integers(0, 18), st.booleans())
    )
    k = 1 + k_offset % (v + 2)  # 1 .. V + 2
    logits = _logits(ctx, (*lead, v), dtype, ties)
    out = ctx.call(logits, k)
    ctx.assert_close(out, ctx.reference(logits, k), dtype=dtype, **EXACT)


def _regime_cases(ctx, dtype):
    """(logits, k) for every regime of the module docstring."""

    def t(*rows):
        return torch.tensor(rows, dtype=dtype)

    inf = float("-inf")
    flat = ctx.randn(10, dtype=dtype, scale=5.0)
    cases = [(t(2.5), 1), (t(2.5), 5)]  # V = 1
    cases += [(flat, k) for k in (1, 9, 10, 11, 1000)]  # 1-D logits, k around V
    cases += [(ctx.randn(2, 3, 7, dtype=dtype, scale=5.0), k) for k in (1, 3, 6, 7)]  # 3-D logits
    if dtype == torch.float32:  # a vocabulary row (one dtype: a plain Python loop must stay in time)
        cases += [(ctx.randn(1, 32768, dtype=dtype, scale=5.0), k) for k in (1, 50)]
    ties = t([3, 1, 2, 2, 2, 0], [1, 1, 1, 1, 1, 1], [0, inf, inf, 1, inf, 2])
    cases += [(ties, k) for k in (1, 2, 3, 4, 5)]  # ties at the k-th, equal values, -inf inputs
    if dtype == torch.float64:
        cases.append((t([1.0, 1.0 - 1e-12, 0.5, 1.0 + 1e-12]), 2))  # one float32 value, three float64 ones
    return cases


@check(
    "boundary regimes, every run: V = 1; k = 1, V - 1, V, V + 1; 1-D and 3-D logits; 32768 entries a row; ties, -inf inputs, float64 values float32 cannot tell apart",
    zh="每次都测的边界情形：V = 1；k = 1、V - 1、V、V + 1；1-D 和 3-D 的 logits；每行 32768 个元素；并列值、-inf 输入、float32 区分不出的 float64 值",
    examples=1,
    teaches=["inference.top_k"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for logits, k in _regime_cases(ctx, dtype):
            ctx.assert_close(ctx.call(logits, k), ctx.reference(logits, k), dtype=dtype, **EXACT)


def _row_problem(row, out_row, k):
    """What is wrong with one filtered row (1-D), judged from the definition alone, or None."""
    kept = torch.isfinite(out_row)
    if not torch.equal(out_row[kept], row[kept]):
        return "a kept entry was changed: kept entries must keep their value"
    if not bool((out_row[~kept] == float("-inf")).all()):
        return "a filtered entry is not -inf"
    if not bool(kept.any()):
        return "every entry was filtered out"
    smallest_kept = row[kept].min()
    if bool((row[~kept] >= smallest_kept).any()):
        return (
            f"an entry >= the smallest kept value {float(smallest_kept):g} was filtered: "
            "entries tied with the k-th largest must stay"
        )
    if int(kept.sum()) < min(k, row.numel()):
        return f"kept {int(kept.sum())} entries, fewer than k={k}"
    above = int((row > smallest_kept).sum())
    if above >= k:
        return f"kept {float(smallest_kept):g}, but {above} entries are larger: it is not among the k={k} largest"
    return None


@check(
    "ties: every entry tied with the k-th largest stays, everything smaller becomes -inf (checked from the definition)",
    zh="并列值：与第 k 大的值并列的元素都保留，更小的都变成 -inf（按定义检查）",
)
def ties_kept(ctx):
    dtype, lead, v, k_offset = ctx.draw(st.tuples(st.sampled_from(DTYPES), LEAD, st.integers(2, 12), st.integers(0, 11)))
    k = 1 + k_offset % (v - 1)  # 1 .. V - 1
    logits = ctx.randint(-1, 2, (*lead, v)).to(dtype)  # three values: ties at the k-th are the rule
    out = ctx.call(logits, k)
    expected = ctx.reference(logits, k)
    if not isinstance(out, torch.Tensor) or out.shape != logits.shape or out.dtype != dtype:
        ctx.assert_close(out, expected, dtype=dtype, **EXACT)  # says what is wrong with it
    rows, out_rows = logits.reshape(-1, v), out.reshape(-1, v)
    for i in range(rows.shape[0]):
        problem = _row_problem(rows[i], out_rows[i], k)
        if problem:
            ctx.fail(f"row {i} = {rows[i].tolist()}, k={k}: {problem}; got {out_rows[i].tolist()}")
    ctx.assert_close(out, expected, dtype=dtype, **EXACT)


@check("k >= V keeps every entry unchanged (and returns a new tensor)", zh="k >= V 时所有元素保持不变（并返回一个新张量）")
def large_k_keeps_all(ctx):
    dtype, lead, v, extra = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), LEAD, st.integers(1, 9), st.sampled_from([0, 1, 5, 1000]))
    )
    logits = ctx.randn(*lead, v, dtype=dtype)
    out = ctx.call(logits, v + extra)
    ctx.assert_close(out, logits.double(), dtype=dtype, **EXACT)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def top_k_filter(logits, k):
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
"""

WRONG_ANSWERS = {
    "returns the input itself when k >= V (a caller that edits the result edits its logits)": edited(
        _PLAIN, ("        return logits.clone()", "        return logits")
    ),
    "topk over dim 1 (right for 2-D logits only)": edited(
        _PLAIN, ("torch.topk(logits, k, dim=-1).values[..., -1:]", "torch.topk(logits, k, dim=1).values.narrow(1, k - 1, 1)")
    ),
    "threshold at index k of the sorted row (the (k+1)-th largest: one entry too many)": edited(
        _PLAIN,
        (
            "torch.topk(logits, k, dim=-1).values[..., -1:]",
            "torch.sort(logits, dim=-1, descending=True).values[..., min(k, logits.shape[-1] - 1):][..., :1]",
        ),
    ),
    "compares in float32 (`.float()`): float64 entries just below the k-th largest are kept as ties": edited(
        _PLAIN, ("masked_fill(logits < kth,", "masked_fill(logits.float() < kth.float(),")
    ),
    "keeps entries > the k-th largest instead of >=: drops the k-th itself and its ties": edited(
        _PLAIN, ("masked_fill(logits < kth,", "masked_fill(logits <= kth,")
    ),
    "keeps exactly the k indices topk returns: entries tied with the k-th largest are dropped": edited(
        _PLAIN,
        (
            """    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))""",
            """    values, indices = torch.topk(logits, k, dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)""",
        ),
    ),
    "does not handle k > V (torch.topk raises)": edited(
        _PLAIN,
        (
            """    if k >= logits.shape[-1]:
        return logits.clone()
""",
            "",
        ),
    ),
    "uses kthvalue(k), which is the k-th smallest, as the threshold": edited(
        _PLAIN, ("torch.topk(logits, k, dim=-1).values[..., -1:]", "torch.kthvalue(logits, k, dim=-1, keepdim=True).values")
    ),
    "one threshold for the whole batch (topk of the flattened tensor) instead of one per row": edited(
        _PLAIN, ("torch.topk(logits, k, dim=-1).values[..., -1:]", "torch.topk(logits.flatten(), k).values[-1]")
    ),
    "fills with -1e9 instead of -inf": edited(
        _PLAIN, ('masked_fill(logits < kth, float("-inf"))', "masked_fill(logits < kth, -1e9)")
    ),
    "filters in place and returns its input": edited(
        _PLAIN,
        (
            """    return logits.masked_fill(logits < kth, float("-inf"))""",
            """    logits[logits < kth] = float("-inf")
    return logits""",
        ),
    ),
}

ALTERNATIVES = {
    "threshold from kthvalue (the (V-k+1)-th smallest), torch.where": """
import torch

def top_k_filter(logits, k):
    v = logits.shape[-1]
    k = min(k, v)
    kth = torch.kthvalue(logits, v - k + 1, dim=-1, keepdim=True).values
    return torch.where(logits >= kth, logits, torch.full_like(logits, float("-inf")))
""",
    "sort descending, read the k-th value, one row at a time": """
import torch

def top_k_filter(logits, k):
    v = logits.shape[-1]
    rows = logits.reshape(-1, v)
    out = torch.empty_like(rows)
    for i in range(rows.shape[0]):
        ordered = sorted(rows[i].tolist(), reverse=True)
        kth = ordered[min(k, v) - 1]
        for j in range(v):
            out[i, j] = rows[i, j] if rows[i, j] >= kth else float("-inf")
    return out.reshape(logits.shape)
""",
}
