"""sampling.sample_next_token — one decoding step in Hugging Face's processor order: reference, checks, wrong answers.

sample_next_token(logits, prev_tokens, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0,
generator=None): logits (V,) or (B, V) float32/float64; prev_tokens int64 (N,) or (B, N) (N may
be 0), the tokens generated so far for each row. In this order (transformers' LogitsProcessorList
as `_get_logits_processor` builds it): repetition penalty (a previous token's logit divided by the
penalty if positive, multiplied if negative, once however often it occurred), then at temperature 0
the argmax, else temperature (logits / T), top-k (keep the k largest; 0 = off; k > V keeps all),
top-p (keep the smallest most-probable set with mass >= p; the crossing token and the top token
stay), then one torch.multinomial(softmax, 1, generator=generator) draw per row. Returns int64 of
shape logits.shape[:-1].

The draws are compared token for token with the reference's from a generator seeded the same way
(torch's multinomial takes the same uniforms whatever the probabilities' dtype, and row by row as
for the whole batch). The `run_sample` driver seeds the global RNG away from the generator's seed,
so a draw from the global RNG shows. Bugs that change the distribution show because the boundary
regimes replicate one row 300 times: a distribution at total-variation distance d from the right
one agrees on all 300 draws with probability at most (1 - d)^300.

Regimes, each run every time by `boundary_regimes`: defaults on 1-D logits (a 0-d result), V = 1,
temperature 0 with a penalty that moves the argmax, positive and negative penalised logits with a
token repeated in the history, per-row histories, an empty history, top_k 1 and top_k > V, a top-p
whose crossing token holds a third of the mass, temperature that changes the top-p set (order),
top-k that changes after the penalty (order), logits of magnitude 1e4.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, CheckFailed, check, edited, sandboxed

FORBIDDEN = []
MARGIN = 1e-4  # top-p is kept this far from every cumulative-mass boundary (float32 rounding)
COPIES = 300  # rows a boundary regime is replicated into, so a wrong distribution shows in the draws


def _processed(logits, prev_tokens, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0):
    """The (B, V) scores before the draw (or before the argmax at temperature 0)."""
    v = logits.shape[-1]
    scores = logits.reshape(-1, v).clone()  # (B, V)
    prev = prev_tokens.reshape(scores.shape[0], -1)  # (B, N)
    if repetition_penalty != 1.0 and prev.shape[1] > 0:
        # gather/scatter: each previous token is penalised once, however often it occurred
        seen = scores.gather(1, prev)
        seen = torch.where(seen < 0, seen * repetition_penalty, seen / repetition_penalty)
        scores = scores.scatter(1, prev, seen)
    if temperature == 0:
        return scores
    scores = scores / temperature
    if top_k > 0:
        k = min(top_k, v)
        kth = torch.topk(scores, k, dim=-1).values[:, -1:]  # (B, 1)
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        # TopPLogitsWarper: ascending sort, drop the tail whose mass is <= 1 - p, keep at least one
        ascending, order = torch.sort(scores, dim=-1)
        cumulative = ascending.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= 1 - top_p
        drop[:, -1] = False
        scores = scores.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return scores


def reference(logits, prev_tokens, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0, generator=None):
    scores = _processed(logits, prev_tokens, temperature, top_k, top_p, repetition_penalty)
    if temperature == 0:
        tokens = scores.argmax(dim=-1)  # greedy: no division by zero, no draw
    else:
        tokens = torch.multinomial(scores.softmax(dim=-1), num_samples=1, generator=generator)[:, 0]
    return tokens.reshape(logits.shape[:-1])


@sandboxed
def run_sample(solution, logits, prev_tokens, kwargs, seed):
    """The submission with a fresh generator seeded `seed`, the global RNG seeded elsewhere."""
    torch.manual_seed(seed + 1)
    generator = torch.Generator().manual_seed(seed)
    return solution(logits, prev_tokens, **kwargs, generator=generator)


def _expected(ctx, logits, prev, kwargs, seed):
    return ctx.reference(logits, prev, **kwargs, generator=torch.Generator().manual_seed(seed))


def _boundaries(scores):
    """Masses of the strictly more probable tokens, per row, at which the top-p set changes."""
    probs = scores.softmax(dim=-1).sort(dim=-1, descending=True).values
    before = probs.cumsum(dim=-1) - probs
    return sorted(before[:, 1:][probs[:, 1:] > 0].tolist())


def _safe_p(p, logits, prev, kwargs):
    """p moved to the middle of its gap if it lies within MARGIN of a boundary (float32 rounding)."""
    scores = _processed(logits.double(), prev, **{**kwargs, "top_p": 1.0})
    edges = [0.0] + _boundaries(scores) + [1.0]
    if all(abs(p - b) > MARGIN for b in edges[1:-1]):
        return p
    gaps = list(zip(edges, edges[1:]))
    lo, hi = max(gaps, key=lambda g: g[1] - g[0]) if p >= 1.0 else next(g for g in gaps if g[0] <= p <= g[1])
    if hi - lo < 2 * MARGIN:
        lo, hi = max(gaps, key=lambda g: g[1] - g[0])
    return (lo + hi) / 2


def _judge(ctx, logits, prev, kwargs, seed, what=""):
    got = ctx.run("run_sample", logits, prev, kwargs, seed)
    expected = _expected(ctx, logits, prev, kwargs, seed)
    try:
        ctx.assert_equal(got, expected)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" if what else str(exc)) from None


DTYPES = [torch.float32, torch.float64]


@check(
    "matches the reference draw for draw (random (V,) and (B, V) logits, histories, temperature, top-k, top-p, penalty; float32/float64)",
    zh="与参考实现逐个抽样一致（随机的 (V,) 和 (B, V) logits、历史 token、温度、top-k、top-p、重复惩罚；float32/float64）",
    teaches=["inference.repetition_penalty_hf", "inference.top_p_hf_implementation", "inference.temperature"],
)
def matches_reference(ctx):
    dtype, batch, v, n, temperature, top_k, top_p, penalty, seed = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.sampled_from([None, 1, 3, 64]),
            st.integers(1, 40),
            st.integers(0, 6),
            st.sampled_from([None, 0.0, 0.5, 1.0, 1.7]),
            st.sampled_from([None, 0, 1, 5, 50]),
            st.sampled_from([None, 1.0, 0.9, 0.5, 0.05]),
            st.sampled_from([None, 1.0, 1.3, 2.0, 0.8]),
            st.integers(0, 2**31 - 2),
        )
    )
    lead = () if batch is None else (batch,)
    logits = ctx.randn(*lead, v, dtype=dtype, scale=2.0)
    prev = ctx.randint(0, v, (*lead, n))
    kwargs = {}
    for name, value in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p), ("repetition_penalty", penalty)):
        if value is not None:
            kwargs[name] = value
    if kwargs.get("top_p", 1.0) < 1.0 and kwargs.get("temperature", 1.0) != 0:
        kwargs["top_p"] = _safe_p(kwargs["top_p"], logits, prev, kwargs)
    _judge(ctx, logits, prev, kwargs, seed)


def _rows(values, copies=COPIES):
    return torch.tensor(values, dtype=torch.float64).reshape(1, -1).expand(copies, -1).contiguous()


def _hist(tokens, copies=COPIES):
    return torch.tensor(tokens, dtype=torch.int64).reshape(1, -1).expand(copies, -1).contiguous()


def _regime_cases(ctx):
    """(what, logits float64, prev, kwargs) for every regime of the module docstring."""
    jitter = ctx.rand(8, dtype=torch.float64) * 0.01  # distinct values, different each run
    base = [2.0, 1.5, 1.0, 0.4, -0.3, -1.0, -1.6, -2.5]
    row = [b + float(j) for b, j in zip(base, jitter)]
    return [
        ("defaults on 1-D logits (a 0-d result)", torch.tensor(row, dtype=torch.float64), torch.tensor([3, 5]), {}),
        ("V = 1", _rows([0.7]), _hist([0, 0]), {"temperature": 0.8, "top_k": 3, "top_p": 0.5, "repetition_penalty": 1.5}),
        (
            "temperature 0: the argmax after the repetition penalty (the penalised top token loses)",
            torch.tensor([row, row[::-1]], dtype=torch.float64),
            torch.tensor([[0, 6], [7, 7]]),
            {"temperature": 0.0, "repetition_penalty": 1.8, "top_k": 2, "top_p": 0.3},
        ),
        (
            "repetition penalty 2 on a positive and a negative logit, the positive one twice in the history",
            _rows(row),
            _hist([1, 1, 6]),
            {"repetition_penalty": 2.0},
        ),
        (
            "an empty history with penalty 1.5",
            _rows(row, 2),
            torch.zeros(2, 0, dtype=torch.int64),
            {"repetition_penalty": 1.5},
        ),
        ("top_k = 1: always the top token", _rows(row), _hist([2]), {"top_k": 1}),
        ("top_k = 20 > V = 8: every token kept", _rows(row), _hist([2]), {"top_k": 20, "temperature": 1.5}),
        ("top_k = 3", _rows(row), _hist([0]), {"top_k": 3}),
        ("top_p = 1e-6: only the top token", _rows(row), _hist([0]), {"top_p": 1e-6, "temperature": 2.0}),
        # probabilities 0.35, 0.33, 0.32 (+ tiny tail): p = 0.5 keeps two, the second crossing p
        (
            "top-p whose crossing token holds a third of the mass",
            _rows([0.0, -0.0588, -0.0896, -12.0, -13.0]),
            _hist([4]),
            {"top_p": 0.5},
        ),
        # at T = 1 the top token has 0.6 of the mass (p = 0.55 keeps it alone); at T = 3 it has
        # about 0.4 and top-p keeps two: temperature must come before top-p
        (
            "temperature 3 before top-p 0.55 (the top-p set depends on the temperature)",
            _rows([1.0, -0.2, -0.5, -1.0]),
            _hist([3]),
            {"temperature": 3.0, "top_p": 0.55},
        ),
        # the penalty halves token 0 (2.0 -> 1.0): top-2 after the penalty is {1, 2}, before it {0, 1}
        (
            "repetition penalty before top-k (the penalised top token falls out of the top 2)",
            _rows([2.0, 1.5, 1.2, -0.5]),
            _hist([0]),
            {"repetition_penalty": 2.0, "top_k": 2},
        ),
        (
            "per-row histories: each row penalises its own previous tokens",
            torch.stack([torch.tensor(row, dtype=torch.float64)] * 3).repeat(100, 1),
            torch.tensor([[0, 0], [1, 1], [5, 4]]).repeat(100, 1),
            {"repetition_penalty": 3.0, "temperature": 0.7},
        ),
        (
            "logits of magnitude 1e4 at temperature 2000 (a stable softmax)",
            _rows([1e4 + 300 * b for b in row]),
            _hist([0]),
            {"temperature": 2000.0, "top_k": 6},
        ),
    ]


@check(
    "boundary regimes, every run: defaults on 1-D logits, V = 1, greedy after the penalty, repeated and negative "
    "penalised logits, per-row and empty histories, top_k 1/3/> V, tiny top-p and a heavy crossing token, "
    "temperature before top-p, penalty before top-k, logits of 1e4 (each replicated over 300 rows, float32/float64)",
    zh="每次都测的边界情形：1-D logits 用默认参数，V = 1，重复惩罚之后取贪心，重复出现的和为负的被惩罚 logit，"
    "每行各自的和为空的历史，top_k 为 1/3/大于 V，极小的 top-p 和质量很大的跨界 token，温度在 top-p 之前，"
    "惩罚在 top-k 之前，1e4 量级的 logits（每种复制成 300 行，float32/float64）",
    examples=1,
    teaches=["inference.repetition_penalty_sign", "inference.top_p_hf_implementation", "inference.top_k"],
)
def boundary_regimes(ctx):
    seed = ctx.draw(st.integers(0, 2**31 - 2))
    for dtype in DTYPES:
        for what, logits, prev, kwargs in _regime_cases(ctx):
            if kwargs.get("top_p", 1.0) < 1.0 and kwargs.get("temperature", 1.0) != 0:
                safe = _safe_p(kwargs["top_p"], logits, prev, kwargs)
                if safe != kwargs["top_p"]:
                    raise AnswerModuleBug(f"{what}: top_p={kwargs['top_p']} lies within {MARGIN} of a boundary")
            _judge(ctx, logits.to(dtype), prev, kwargs, seed, f"{what} ({dtype})")


@check(
    "temperature 0 is the argmax of the penalised logits and draws nothing; top_k = 1 and a tiny top_p give it too",
    zh="温度 0 就是惩罚后 logits 的 argmax，不做抽样；top_k = 1 和极小的 top_p 也给出同样结果",
    teaches=["inference.temperature"],
)
def greedy_agrees(ctx):
    dtype, batch, v, penalty = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), st.integers(1, 4), st.integers(1, 30), st.sampled_from([1.0, 1.5, 0.7]))
    )
    logits = ctx.randn(batch, v, dtype=dtype, scale=3.0)
    prev = ctx.randint(0, v, (batch, 3))
    greedy = _expected(ctx, logits, prev, {"temperature": 0.0, "repetition_penalty": penalty}, 0)
    for kwargs in (
        {"temperature": 0.0, "repetition_penalty": penalty},
        {"top_k": 1, "repetition_penalty": penalty},
        {"top_p": 1e-9, "temperature": 0.5, "repetition_penalty": penalty},
    ):
        got = ctx.run("run_sample", logits, prev, kwargs, 7)
        try:
            ctx.assert_equal(got, greedy)
        except CheckFailed as exc:
            raise CheckFailed(f"{kwargs}: expected the argmax of the penalised logits; {exc}") from None


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def sample_next_token(logits, prev_tokens, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0, generator=None):
    V = logits.shape[-1]
    x = logits.reshape(-1, V).clone()
    prev = prev_tokens.reshape(x.shape[0], -1)
    if repetition_penalty != 1.0 and prev.shape[1] > 0:
        s = torch.gather(x, 1, prev)
        s = torch.where(s < 0, s * repetition_penalty, s / repetition_penalty)
        x = x.scatter(1, prev, s)
    if temperature == 0:
        return x.argmax(dim=-1).reshape(logits.shape[:-1])
    x = x / temperature
    if top_k > 0:
        kth = torch.topk(x, min(top_k, V), dim=-1).values[:, -1:]
        x = x.masked_fill(x < kth, float("-inf"))
    if top_p < 1.0:
        sorted_x, idx = torch.sort(x, dim=-1, descending=True)
        probs = torch.softmax(sorted_x, dim=-1)
        drop = probs.cumsum(dim=-1) - probs >= top_p
        x = x.masked_fill(drop.scatter(1, idx, drop), float("-inf"))
    probs = torch.softmax(x, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0].reshape(logits.shape[:-1])
"""

_PENALTY_AFTER_FILTERS = edited(
    _PLAIN,
    (
        """    if repetition_penalty != 1.0 and prev.shape[1] > 0:
        s = torch.gather(x, 1, prev)
        s = torch.where(s < 0, s * repetition_penalty, s / repetition_penalty)
        x = x.scatter(1, prev, s)
""",
        "",
    ),
    (
        "    probs = torch.softmax(x, dim=-1)\n",
        """    if repetition_penalty != 1.0 and prev.shape[1] > 0:
        s = torch.gather(x, 1, prev)
        s = torch.where(s < 0, s * repetition_penalty, s / repetition_penalty)
        x = x.scatter(1, prev, s)
    probs = torch.softmax(x, dim=-1)
""",
    ),
)

WRONG_ANSWERS = {
    "temperature applied after top-k and top-p": edited(
        _PLAIN,
        ("    x = x / temperature\n", ""),
        ("    probs = torch.softmax(x, dim=-1)\n", "    probs = torch.softmax(x / temperature, dim=-1)\n"),
    ),
    "the penalty multiplies positive logits and divides negative ones (the sign cases swapped)": edited(
        _PLAIN,
        (
            "torch.where(s < 0, s * repetition_penalty, s / repetition_penalty)",
            "torch.where(s > 0, s * repetition_penalty, s / repetition_penalty)",
        ),
    ),
    "the penalty applied once per occurrence (a token seen twice is divided twice)": edited(
        _PLAIN,
        (
            """        s = torch.gather(x, 1, prev)
        s = torch.where(s < 0, s * repetition_penalty, s / repetition_penalty)
        x = x.scatter(1, prev, s)
""",
            """        for b in range(x.shape[0]):
            for t in prev[b].tolist():
                x[b, t] = x[b, t] * repetition_penalty if x[b, t] < 0 else x[b, t] / repetition_penalty
""",
        ),
    ),
    "top-p keeps one token too few (drops the token whose cumulative mass crosses p)": edited(
        _PLAIN, ("drop = probs.cumsum(dim=-1) - probs >= top_p", "drop = probs.cumsum(dim=-1) > top_p")
    ),
    "draws with the global RNG (torch.multinomial without the generator)": edited(
        _PLAIN, ("torch.multinomial(probs, 1, generator=generator)", "torch.multinomial(probs, 1)")
    ),
    "softmax before temperature (probabilities divided by T, renormalised away by the draw)": edited(
        _PLAIN,
        ("    x = x / temperature\n", ""),
        ("    probs = torch.softmax(x, dim=-1)\n", "    probs = torch.softmax(x, dim=-1) / temperature\n"),
    ),
    "temperature 0 not special-cased: logits / 0, then a draw": edited(
        _PLAIN, ("    if temperature == 0:\n        return x.argmax(dim=-1).reshape(logits.shape[:-1])\n", "")
    ),
    "greedy at temperature 0 takes the argmax of the raw logits (the repetition penalty skipped)": edited(
        _PLAIN,
        (
            "return x.argmax(dim=-1).reshape(logits.shape[:-1])",
            "return logits.reshape(-1, V).argmax(dim=-1).reshape(logits.shape[:-1])",
        ),
    ),
    "repetition penalty applied after top-k and top-p (on the filtered, tempered logits)": _PENALTY_AFTER_FILTERS,
    "every row penalised with the first row's history": edited(
        _PLAIN, ("x = x.scatter(1, prev, s)", "x = x.scatter(1, prev[:1].expand_as(prev), s)")
    ),
    "top-k keeps k + 1 tokens (the threshold is the (k+1)-th value)": edited(
        _PLAIN,
        (
            "kth = torch.topk(x, min(top_k, V), dim=-1).values[:, -1:]",
            "kth = torch.topk(x, min(top_k + 1, V), dim=-1).values[:, -1:]",
        ),
    ),
}

ALTERNATIVES = {
    "row by row: the penalty through a set of seen tokens, top-p in HF's ascending form, one draw per row": """
import torch

def sample_next_token(logits, prev_tokens, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0, generator=None):
    rows = logits.reshape(-1, logits.shape[-1])
    hist = prev_tokens.reshape(rows.shape[0], -1)
    out = []
    for row, seen in zip(rows, hist):
        row = row.clone()
        for t in set(seen.tolist()):
            row[t] = row[t] / repetition_penalty if row[t] > 0 else row[t] * repetition_penalty
        if temperature == 0:
            out.append(int(torch.argmax(row)))
            continue
        row = row / temperature
        if top_k:
            values, _ = torch.sort(row, descending=True)
            row[row < values[min(top_k, row.numel()) - 1]] = float("-inf")
        if top_p < 1:
            asc, order = torch.sort(row)
            remove = asc.softmax(-1).cumsum(-1) <= 1 - top_p
            remove[-1] = False
            row[order[remove]] = float("-inf")
        out.append(int(torch.multinomial(row.softmax(-1), 1, generator=generator)))
    return torch.tensor(out, dtype=torch.int64).reshape(logits.shape[:-1])
""",
}
