"""sampling.top_p — nucleus (top-p) filtering of logits: reference, checks, known-wrong answers.

top_p_filter(logits, p): logits (..., V), 0 < p <= 1 -> same shape and dtype. Per row, keep the
smallest set of most probable tokens whose total probability is at least p (the most probable
token always), set the rest to -inf, and leave kept values unchanged. Inputs have no ties.

A solution may compute the probabilities in the input's precision, so every p used here is kept
away from the row's cumulative-probability boundaries by a margin per dtype: near a boundary the
kept set would depend on rounding, not on the algorithm.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws:
- p = 1 (every token kept; a new tensor, not the input itself), p tiny (only the top token), p
  between two boundaries;
- V = 1; logits 1-D, 2-D and 3-D (a sort or softmax over dim 1 is right for 2-D only);
- a wide row of 4096 tokens whose nucleus holds about 1500 of them (a cumulative sum over only
  the top 1024 candidates shows). Not 32768: the task allows a correct O(V^2) solution;
- kept logits unchanged in every dtype (a `.float()` on the logits themselves changes them).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited

EXACT = {"rtol": 0.0, "atol": 0.0}  # kept values must be bit-identical; the rest exactly -inf
MARGIN = {torch.float64: 1e-6, torch.float32: 1e-4, torch.bfloat16: 0.03}  # distance of p from a boundary


def reference(logits, p):
    # logits (..., V); 0 < p <= 1
    probs = logits.softmax(dim=-1)  # (..., V), float64 when judged
    sorted_probs, order = probs.sort(dim=-1, descending=True)  # (..., V) each
    before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the strictly more probable tokens
    keep_sorted = before < p  # keep until the mass reaches p: the crossing token stays
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)  # back to vocabulary order
    return logits.masked_fill(~keep, float("-inf"))


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
LEAD = st.lists(st.integers(1, 3), min_size=0, max_size=2)  # leading (batch) dims: none, or up to two
SCALES = st.sampled_from([0.5, 1.0, 2.0])
P_DRAWN = st.one_of(st.floats(0.02, 1.0), st.just(1.0), st.just(0.9), st.just(0.5))


def _logits(ctx, shape, dtype, scale):
    """Logits with no ties in any row: distinct multiples of 1/32 in [-4, 4) (exact in bfloat16),
    times a power of two, jittered within their grid cell for float32/float64."""
    v = shape[-1]
    rows = 1
    for n in shape[:-1]:
        rows *= n
    grid = torch.stack([torch.randperm(256, generator=ctx.generator)[:v] for _ in range(rows)])
    values = (grid.double() - 128) / 32
    if dtype != torch.bfloat16:
        values = values + ctx.rand(rows, v, dtype=torch.float64) / 64  # still >= 1/64 apart
    return (values * scale).reshape(shape).to(dtype)


def _boundaries(logits):
    """Sorted cumulative masses at which some row's kept set changes (p just above one keeps one more)."""
    probs = logits.double().softmax(dim=-1).reshape(-1, logits.shape[-1])
    sorted_probs = probs.sort(dim=-1, descending=True).values
    before = sorted_probs.cumsum(dim=-1) - sorted_probs
    return sorted(before[:, 1:].flatten().tolist())


def _safe_p(p, logits, margin):
    """p in (0, 1], moved to the middle of its gap between boundaries if it lies too near one."""
    edges = [0.0] + _boundaries(logits) + [1.0]
    gaps = [(lo, hi) for lo, hi in zip(edges, edges[1:])]
    if all(abs(p - b) > margin for b in edges[1:-1]) and (p < 1.0 or edges[-2] < 1.0 - margin):
        return p
    containing = next(((lo, hi) for lo, hi in gaps if lo <= p <= hi), gaps[-1])
    lo, hi = containing if containing[1] - containing[0] > 2 * margin else max(gaps, key=lambda g: g[1] - g[0])
    return 1.0 if hi == 1.0 and hi - lo > margin else (lo + hi) / 2


@check(
    "matches the reference (random (..., V) shapes, float32/float64/bfloat16, p from near 0 to 1)",
    zh="与参考实现一致（随机的 (..., V) 形状，float32/float64/bfloat16，p 从接近 0 到 1）",
    teaches=["inference.top_p", "inference.top_p_hf_implementation"],
)
def matches_reference(ctx):
    dtype, lead, v, scale, p = ctx.draw(st.tuples(st.sampled_from(DTYPES), LEAD, st.integers(1, 16), SCALES, P_DRAWN))
    logits = _logits(ctx, (*lead, v), dtype, scale)
    p = _safe_p(p, logits, MARGIN[dtype])
    out = ctx.call(logits, p)
    ctx.assert_close(out, ctx.reference(logits, p), dtype=dtype, **EXACT)


def _wide_row(ctx, dtype):
    """(1, 4096): 2000 distinct head logits in [0, 0.5) holding nearly all the mass (each token
    ~4e-4 of it, far above float32's rounding of a cumulative sum), then a tail at about -30."""
    head = torch.randperm(2000, generator=ctx.generator).double() / 4000
    tail = -30 - torch.randperm(2096, generator=ctx.generator).double() / 100
    return torch.cat([head, tail])[torch.randperm(4096, generator=ctx.generator)].reshape(1, 4096).to(dtype)


def _regime_cases(ctx, dtype):
    """(logits, p) for every regime of the module docstring; p kept away from rounding boundaries."""
    margin = MARGIN[dtype]
    one_token = _logits(ctx, (1,), dtype, 1.0)
    flat = _logits(ctx, (10,), dtype, 2.0)
    cube = _logits(ctx, (2, 3, 7), dtype, 1.0)
    rows = _logits(ctx, (3, 9), dtype, 0.5)
    # p = 1 stays 1 unless the last token's mass is within rounding (bfloat16): then _safe_p moves it.
    cases = [
        (one_token, 0.3),
        (one_token, 1.0),
        (flat, 1e-6),
        (flat, _safe_p(0.5, flat, margin)),
        (flat, _safe_p(1.0, flat, margin)),
    ]
    cases += [(cube, _safe_p(0.7, cube, margin)), (rows, _safe_p(1.0, rows, margin)), (rows, _safe_p(0.9, rows, margin))]
    if dtype != torch.bfloat16:  # bfloat16 cannot hold 2000 distinct logits in [0, 0.5)
        wide = _wide_row(ctx, dtype)
        cases.append((wide, _safe_p(0.75, wide, margin)))
    return cases


@check(
    "boundary regimes, every run: p = 1, tiny p, V = 1, 1-D and 3-D logits, a 4096-token row whose nucleus holds ~1500 tokens",
    zh="每次都测的边界情形：p = 1，极小的 p，V = 1，1-D 和 3-D 的 logits，一行 4096 个 token、nucleus 中约 1500 个 token",
    examples=1,
    teaches=["inference.top_p_hf_implementation"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for logits, p in _regime_cases(ctx, dtype):
            ctx.assert_close(ctx.call(logits, p), ctx.reference(logits, p), dtype=dtype, **EXACT)


def _row_problem(row, out_row, p):
    """What is wrong with one filtered row (1-D), judged from the definition alone, or None."""
    probs = row.double().softmax(dim=-1)
    kept = torch.isfinite(out_row)
    if not torch.equal(out_row[kept], row[kept]):
        return "a kept entry was changed: kept logits must keep their value (return logits, not probabilities)"
    if not bool((out_row[~kept] == float("-inf")).all()):
        return "a filtered entry is not -inf"
    if not bool(kept[probs.argmax()]):
        return "the most probable token was filtered out; it must always stay"
    if bool(kept.all()):
        return (
            None
            if probs.sum() - probs.min() < p
            else f"every token was kept, but a smaller set already has probability >= p={p:g}"
        )
    if float(probs[kept].min()) < float(probs[~kept].max()):
        return "a less probable token was kept while a more probable one was filtered (are the positions sorted back?)"
    mass = float(probs[kept].sum())
    if mass < p:
        return f"the kept tokens have total probability {mass:.6g} < p={p:g}: the token that crosses p must stay"
    if mass - float(probs[kept].min()) >= p:
        return (
            f"the kept tokens have total probability {mass:.6g}: the set without its least probable token already reaches p={p:g}"
        )
    return None


@check(
    "the kept set is the smallest most-probable set with mass >= p, the top token always stays, kept values unchanged (checked from the definition)",
    zh="保留的集合是概率质量 >= p 的最小高概率集合，概率最高的 token 总是保留，保留的值不变（按定义检查）",
    teaches=["inference.top_p", "inference.top_p_choice"],
)
def smallest_set(ctx):
    dtype, lead, v, scale, p = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), LEAD, st.integers(2, 16), SCALES, P_DRAWN)
    )
    shape = (*lead, v)
    logits = _logits(ctx, shape, dtype, scale)
    p = _safe_p(p, logits, MARGIN[dtype])
    out = ctx.call(logits, p)
    expected = ctx.reference(logits, p)
    if not isinstance(out, torch.Tensor) or out.shape != logits.shape or out.dtype != dtype:
        ctx.assert_close(out, expected, dtype=dtype, **EXACT)  # says what is wrong with it
    rows, out_rows = logits.reshape(-1, v), out.reshape(-1, v)
    for i in range(rows.shape[0]):
        problem = _row_problem(rows[i], out_rows[i], p)
        if problem:
            probs = [round(x, 4) for x in rows[i].double().softmax(-1).tolist()]
            ctx.fail(f"row {i}, p={p:g}: {problem}\nrow probabilities {probs}\ngot {out_rows[i].tolist()}")
    ctx.assert_close(out, expected, dtype=dtype, **EXACT)


@check(
    "a tiny p keeps only the most probable token; p = 1 keeps every token unchanged",
    zh="极小的 p 只保留概率最高的 token；p = 1 时所有 token 保持不变",
    teaches=["inference.top_p_hf_implementation"],
)
def extremes(ctx):
    dtype, lead, v, p = ctx.draw(
        st.tuples(st.sampled_from([torch.float32, torch.float64]), LEAD, st.integers(1, 16), st.sampled_from([1.0, 1e-6, 1e-3]))
    )
    logits = ctx.randn(*lead, v, dtype=dtype)  # moderate logits: no token's probability is tiny
    out = ctx.call(logits, p)
    ctx.assert_close(out, ctx.reference(logits, p), dtype=dtype, **EXACT)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def top_p_filter(logits, p):
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    keep_sorted = before < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))
"""

WRONG_ANSWERS = {
    "returns the input itself when p >= 1 (a caller that edits the result edits its logits)": edited(
        _PLAIN,
        (
            "    probs = torch.softmax(logits, dim=-1)\n",
            "    if p >= 1:\n        return logits\n    probs = torch.softmax(logits, dim=-1)\n",
        ),
    ),
    "looks at the top 1024 candidates only (a nucleus wider than that is cut short)": edited(
        _PLAIN,
        (
            "    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)",
            "    sorted_probs, order = torch.topk(probs, min(1024, probs.shape[-1]), dim=-1)",
        ),
        ("torch.zeros_like(keep_sorted).scatter(", "torch.zeros_like(probs, dtype=torch.bool).scatter("),
    ),
    "sorts over dim 1 (right for 2-D logits only)": edited(
        _PLAIN, ("torch.sort(probs, dim=-1, descending=True)", "torch.sort(probs, dim=1, descending=True)")
    ),
    "works on `logits.float()` and returns that: kept float64 logits are rounded, the dtype changes": edited(
        _PLAIN,
        (
            "    probs = torch.softmax(logits, dim=-1)\n",
            "    logits = logits.float()\n    probs = torch.softmax(logits, dim=-1)\n",
        ),
    ),
    "filters in place (logits[~keep] = -inf) and returns its input": edited(
        _PLAIN, ('    return logits.masked_fill(~keep, float("-inf"))', '    logits[~keep] = float("-inf")\n    return logits')
    ),
    "drops the token whose cumulative probability crosses p (keeps cumsum <= p)": edited(
        _PLAIN, ("keep_sorted = before < p", "keep_sorted = torch.cumsum(sorted_probs, dim=-1) <= p")
    ),
    "cumulative sum of the sorted logits instead of probabilities": edited(
        _PLAIN,
        (
            """    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)""",
            """    sorted_probs, order = torch.sort(logits, dim=-1, descending=True)""",
        ),
    ),
    "applies the mask built in sorted order to the unsorted logits (never scatters it back)": edited(
        _PLAIN, ("keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)", "keep = keep_sorted")
    ),
    "softmax over dim 0 (the batch) instead of the vocabulary": edited(
        _PLAIN, ("torch.softmax(logits, dim=-1)", "torch.softmax(logits, dim=0)")
    ),
    "returns the filtered probabilities instead of the logits": edited(
        _PLAIN, ("return logits.masked_fill(", "return probs.masked_fill(")
    ),
}

ALTERNATIVES = {
    "Hugging Face style: ascending sort, drop while cumsum <= 1 - p, in the input's dtype": """
import torch

def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cum <= (1 - p)
    remove_sorted[..., -1] = False  # the most probable token always stays
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))
""",
    "no sort: a token stays iff the tokens more probable than it hold less than p": """
import torch

def top_p_filter(logits, p):
    probs = torch.softmax(logits.float(), dim=-1)                   # (..., V)
    more_probable = probs.unsqueeze(-2) > probs.unsqueeze(-1)       # [..., i, j]: j beats i
    mass_above = (probs.unsqueeze(-2) * more_probable).sum(dim=-1)  # (..., V)
    return torch.where(mass_above < p, logits, torch.full_like(logits, float("-inf")))
""",
}
