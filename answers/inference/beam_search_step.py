"""inference.beam_search_step — one step of beam search over log-probs: reference, checks, known-wrong answers.

beam_scores (B*K,), log_probs (B*K, V), num_beams K -> (scores (B*K,), beam_idx (B*K,) int64,
tokens (B*K,) int64). Row b*K + j is beam j of batch item b. For each b, the K best of its K*V
candidates (beam j, token t) by beam_scores[b*K + j] + log_probs[b*K + j, t], best first; ties go
to the smaller j*V + t; beam_idx is the parent's row b*K + j.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- K = 1 (greedy), V = 1 (every candidate from another beam), K > V, K = V (dividing the flat
  index by K instead of V is right only there), one batch item against several (a parent index
  without the b*K offset is right only for b = 0);
- the first step (beam 0 at 0, the others at -1e9) and later steps where every beam differs;
- ties everywhere (multiples of 1/4) and a vocabulary of 32000;
- float64 scores near -1e3 whose sums float32 cannot hold exactly.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []


def reference(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    batch = rows // num_beams
    total = beam_scores.unsqueeze(1) + log_probs  # (B*K, V): a beam's score if it takes token t
    flat = total.reshape(batch, num_beams * vocab)  # (B, K*V): candidate c = j*V + t
    # stable sort: among equal scores the smaller candidate index stays first
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :num_beams]  # (B, K)
    scores = flat.gather(1, order)
    parent = order // vocab + torch.arange(batch).unsqueeze(1) * num_beams  # row in the flattened input
    tokens = order % vocab
    return scores.reshape(-1), parent.reshape(-1), tokens.reshape(-1)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
SIZES = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 7))  # B, K, V


def _unpack(ctx, got, rows):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(f"returned {what}; expected a tuple (scores, beam_idx, tokens), each of shape ({rows},)")
    return got


def _compare(ctx, got, expected, dtype):
    scores, beam_idx, tokens = _unpack(ctx, got, expected[0].shape[0])
    for name, value in (("beam_idx", beam_idx), ("tokens", tokens)):
        if isinstance(value, torch.Tensor) and value.dtype != torch.int64:
            ctx.fail(f"`{name}` has dtype {str(value.dtype).removeprefix('torch.')}; expected int64")
    for name, compare in (
        ("beam_idx", lambda: ctx.assert_equal(beam_idx, expected[1])),
        ("tokens", lambda: ctx.assert_equal(tokens, expected[2])),
        ("scores", lambda: ctx.assert_close(scores, expected[0], dtype=dtype, rtol=0.0, atol=0.0)),  # one exact addition
    ):
        try:
            compare()
        except CheckFailed as exc:
            raise CheckFailed(f"`{name}`: {exc}") from None


@check(
    "matches the reference exactly on inputs full of ties (multiples of 1/4: sums exact in every dtype)",
    zh="在大量并列值的输入上与参考实现完全一致（1/4 的倍数：在每种 dtype 下求和都是精确的）",
    teaches=["inference.beam_search"],
)
def matches_with_ties(ctx):
    dtype, (b, k, v) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES))
    beam_scores = (-ctx.randint(0, 9, (b * k,))).to(dtype) / 4  # few distinct values: many ties
    log_probs = (-ctx.randint(0, 9, (b * k, v))).to(dtype) / 4
    _compare(ctx, ctx.call(beam_scores, log_probs, k), ctx.reference(beam_scores, log_probs, k), dtype)


@check(
    "matches the reference on real log-softmax outputs (float64), including the first step's scores (0, -1e9, ...)",
    zh="在真实的 log-softmax 输出（float64）上与参考实现一致，包括第一步的分数 (0, -1e9, ...)",
    teaches=["inference.beam_search"],
)
def matches_real(ctx):
    (b, k, v), first = ctx.draw(st.tuples(SIZES, st.booleans()))
    log_probs = torch.log_softmax(ctx.randn(b * k, v, dtype=torch.float64, scale=2.0), dim=-1)
    if first:  # as Hugging Face starts: only beam 0 alive, so the K beams do not all pick the same token
        beam_scores = torch.full((b, k), -1e9, dtype=torch.float64)
        beam_scores[:, 0] = 0.0
        beam_scores = beam_scores.reshape(-1)
    else:
        beam_scores = -ctx.rand(b * k, dtype=torch.float64) * 10
    _compare(ctx, ctx.call(beam_scores, log_probs, k), ctx.reference(beam_scores, log_probs, k), torch.float64)


# (B, K, V, why): every dtype, tied and untied scores, every run
BOUNDARY_SIZES = [
    (1, 1, 1, "K = 1, V = 1"),
    (2, 1, 5, "greedy (K = 1), two batch items"),
    (2, 3, 1, "V = 1: each new beam comes from another beam"),
    (1, 4, 2, "K > V"),
    (3, 2, 2, "K = V, three batch items"),
    (2, 3, 32000, "a vocabulary of 32000"),
]


@check(
    "float64 scores are added in float64: beam scores near -1e3, exact sums",
    zh="float64 的分数用 float64 相加：beam 分数在 -1e3 附近，求和精确",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    b, k, v = ctx.draw(SIZES)
    beam_scores = -1000 - ctx.rand(b * k, dtype=torch.float64) * 10
    log_probs = torch.log_softmax(ctx.randn(b * k, v, dtype=torch.float64, scale=2.0), dim=-1)
    _compare(ctx, ctx.call(beam_scores, log_probs, k), ctx.reference(beam_scores, log_probs, k), torch.float64)


@check(
    "boundary cases every run: K = 1, V = 1, K > V, K = V, one and several batch items, V = 32000, ties, first step",
    zh="每次都测的边界情况：K = 1，V = 1，K > V，K = V，batch 中一个和多个样本，V = 32000，并列值，第一步",
    examples=1,
    teaches=["inference.beam_search"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for b, k, v, _why in BOUNDARY_SIZES:
            tied = ((-ctx.randint(0, 9, (b * k,))).to(dtype) / 4, (-ctx.randint(0, 9, (b * k, v))).to(dtype) / 4)
            first = torch.full((b, k), -1e9, dtype=torch.float64)
            first[:, 0] = 0.0
            real = torch.log_softmax(ctx.randn(b * k, v, dtype=torch.float64, scale=2.0), dim=-1)
            later = -ctx.rand(b * k, dtype=torch.float64) * 10 - torch.arange(b * k, dtype=torch.float64)
            cases = [tied]
            if dtype == torch.float64:  # sums of real log-probs are exact only in float64 (the reference adds in float64)
                cases += [(first.reshape(-1), real), (later, real)]
            for beam_scores, log_probs in cases:
                _compare(ctx, ctx.call(beam_scores, log_probs, k), ctx.reference(beam_scores, log_probs, k), dtype)


@check(
    "every returned score is its parent beam's score plus that token's log-prob, best first within each batch item",
    zh="每个返回的分数等于其父 beam 的分数加上该 token 的 log-prob，在每个 batch 样本内按从好到差排列",
    teaches=["inference.beam_search"],
)
def consistent(ctx):
    (b, k, v) = ctx.draw(SIZES)
    beam_scores = -ctx.rand(b * k, dtype=torch.float64) * 5
    log_probs = torch.log_softmax(ctx.randn(b * k, v, dtype=torch.float64, scale=2.0), dim=-1)
    expected = ctx.reference(beam_scores, log_probs, k)
    scores, beam_idx, tokens = _unpack(ctx, ctx.call(beam_scores, log_probs, k), b * k)
    for row in range(b * k):
        parent, token = int(beam_idx[row]), int(tokens[row])
        if not row // k * k <= parent < (row // k + 1) * k:
            ctx.fail(
                f"row {row} (batch item {row // k}) names parent row {parent}, which belongs to another batch item "
                f"(beam_idx is the parent's row in the flattened input, b*K + j)"
            )
        if not 0 <= token < v:
            ctx.fail(f"row {row}: token {token} is outside the vocabulary [0, {v})")
        ctx.assert_close(float(scores[row]), float(beam_scores[parent] + log_probs[parent, token]))
    ctx.assert_close(scores, expected[0], dtype=torch.float64)


_PLAIN = """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :num_beams]
    parent = order // vocab + torch.arange(rows // num_beams)[:, None] * num_beams
    return flat.gather(1, order).reshape(-1), parent.reshape(-1), (order % vocab).reshape(-1)
"""


WRONG_ANSWERS = {
    "beam scores not accumulated: ranks the new token's log-prob alone": """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    flat = log_probs.reshape(rows // num_beams, num_beams * vocab)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :num_beams]
    parent = order // vocab + torch.arange(rows // num_beams)[:, None] * num_beams
    scores = beam_scores[parent.reshape(-1)] + flat.gather(1, order).reshape(-1)
    return scores, parent.reshape(-1), (order % vocab).reshape(-1)
""",
    "each beam keeps its own best token (no competition across beams)": """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    total = beam_scores[:, None] + log_probs
    best, tokens = total.max(dim=1)
    return best, torch.arange(log_probs.shape[0]), tokens
""",
    "splits the flat candidate index by K instead of V (beam = c // K, token = c % K)": """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :num_beams]
    parent = order // num_beams + torch.arange(rows // num_beams)[:, None] * num_beams
    return flat.gather(1, order).reshape(-1), parent.reshape(-1), (order % num_beams).reshape(-1)
""",
    "returns the beam index within its batch item (j), not the parent's row b*K + j": """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :num_beams]
    return flat.gather(1, order).reshape(-1), (order // vocab).reshape(-1), (order % vocab).reshape(-1)
""",
    "torch.topk over the K*V candidates: right scores, but ties come back in no promised order": """
import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)
    scores, order = torch.topk(flat, num_beams, dim=1)
    parent = order // vocab + torch.arange(rows // num_beams)[:, None] * num_beams
    return scores.reshape(-1), parent.reshape(-1), (order % vocab).reshape(-1)
""",
    "adds in float32 (.float()), cast back: float64 sums rounded": edited(
        _PLAIN,
        ("(beam_scores[:, None] + log_probs)", "(beam_scores.float()[:, None] + log_probs.float()).to(log_probs.dtype)"),
    ),
    "takes every candidate from beam 0 (right only at the first step, when the beams are copies)": edited(
        _PLAIN,
        (
            "    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)\n",
            "    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)\n"
            "    flat = torch.cat([flat[:, :vocab], torch.full_like(flat[:, vocab:], float('-inf'))], dim=1)\n",
        ),
    ),
    "flattens the candidates token-major (c = t*K + j): ties come out in the wrong order": edited(
        _PLAIN,
        (
            "    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams * vocab)\n",
            "    flat = (beam_scores[:, None] + log_probs).reshape(rows // num_beams, num_beams, vocab).transpose(1, 2)\n"
            "    flat = flat.reshape(rows // num_beams, num_beams * vocab)\n",
        ),
        ("    parent = order // vocab +", "    parent = order % num_beams +"),
        ("(order % vocab).reshape(-1)", "(order // num_beams).reshape(-1)"),
    ),
}

ALTERNATIVES = {
    "Python: the K smallest (-score, candidate index) pairs of each batch item (heapq.nsmallest)": """
import heapq

import torch

def beam_search_step(beam_scores, log_probs, num_beams):
    rows, vocab = log_probs.shape
    total = beam_scores[:, None] + log_probs
    scores, parents, tokens = [], [], []
    for b in range(rows // num_beams):
        block = total[b * num_beams:(b + 1) * num_beams].reshape(-1).tolist()
        best = [c for _, c in heapq.nsmallest(num_beams, zip([-x for x in block], range(len(block))))]
        for c in best:
            parents.append(b * num_beams + c // vocab)
            tokens.append(c % vocab)
            scores.append(total[b * num_beams + c // vocab, c % vocab])
    return torch.stack(scores), torch.tensor(parents, dtype=torch.int64), torch.tensor(tokens, dtype=torch.int64)
""",
}
