"""loss.infonce — the InfoNCE contrastive loss with in-batch negatives (and CLIP's symmetric form): reference, checks, wrong answers.

infonce(a, b, temperature=0.07, symmetric=False): a and b (N, D) float32 or float64, row i of a
and row i of b a positive pair, every other row of the batch a negative. The function
L2-normalises the rows of both (cosine similarities), forms logits = a_n @ b_n.T / temperature
(N, N), and returns the mean over rows of the cross-entropy with the diagonal as the labels
(a -> b: each row of a picks its b among N); symmetric=True averages that with the b -> a
direction (the columns), as CLIP does. A 0-dim tensor in a's dtype. (Oord et al. 2018, CPC,
eq. 4; Radford et al. 2021, CLIP, Figure 3.)

Regimes where implementations diverge (each run every time by `boundary_cases`):
- N = 1 (the loss is 0: one candidate), N = 2, D = 1 (normalised rows are +-1);
- symmetric off (a softmax over the wrong axis is the other direction) and on (one direction
  only shows there);
- rows of norm 1e3 and 1e-3 (without normalisation logits explode or vanish);
- temperature 0.01 with a == b (diagonal logits of 100: exp overflows float32 without the max
  subtracted), temperature at its default and 1.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited


def reference(a, b, temperature=0.07, symmetric=False):
    a = a / a.norm(dim=-1, keepdim=True)  # (N, D): unit rows, so a @ b.T is cosine similarity
    b = b / b.norm(dim=-1, keepdim=True)
    logits = a @ b.T / temperature  # (N, N): row i scores every b against a_i
    labels = torch.arange(a.shape[0])  # the positive of row i is column i
    loss = torch.nn.functional.cross_entropy(logits, labels)  # a -> b
    if symmetric:
        loss = (loss + torch.nn.functional.cross_entropy(logits.T, labels)) / 2  # b -> a, as CLIP
    return loss


DTYPES = [torch.float32, torch.float64]


def _pairs(ctx, dtype, n, d, noise=0.5, scale=1.0):
    """Positive pairs: b is a plus noise, so the diagonal tends to win but not always."""
    a = ctx.randn(n, d, dtype=torch.float64)
    b = a + ctx.randn(n, d, dtype=torch.float64, scale=noise)
    return (a * scale).to(dtype), (b * scale).to(dtype)


def _compare(ctx, a, b, kwargs, dtype):
    out = ctx.call(a, b, **kwargs)
    ctx.assert_close(out, ctx.reference(a, b, **kwargs), dtype=dtype)


@check(
    "matches the reference (N 1 to 9, D 1 to 16, float32/float64, temperature and symmetric at defaults and away)",
    zh="与参考实现一致（N 为 1 到 9，D 为 1 到 16，float32/float64，temperature 和 symmetric 取默认值和非默认值）",
    teaches=["applications.contrastive_embedding_training", "models.clip_contrastive"],
)
def matches_reference(ctx):
    dtype, n, d, temp, sym, scale = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 9),
            st.integers(1, 16),
            st.sampled_from(["default", 0.05, 0.2, 1.0]),
            st.sampled_from(["default", True, False]),
            st.sampled_from([1.0, 3.0, 0.2]),
        )
    )
    kwargs = {k: v for k, v in (("temperature", temp), ("symmetric", sym)) if v != "default"}
    a, b = _pairs(ctx, dtype, n, d, scale=scale)
    _compare(ctx, a, b, kwargs, dtype)


# (N, D, kwargs, noise, scale, why): every dtype, both directions, every run
BOUNDARY_CASES = [
    (1, 4, {}, 0.5, 1.0, "N = 1: one candidate, loss 0"),
    (2, 3, {}, 1.0, 1.0, "N = 2"),
    (5, 1, {"temperature": 0.5}, 1.0, 1.0, "D = 1: unit rows are +-1"),
    (6, 8, {}, 0.8, 1e3, "rows of norm about 1e3"),
    (6, 8, {"temperature": 1.0}, 0.8, 1e-3, "rows of norm about 1e-3, temperature 1"),
    (4, 16, {"temperature": 0.01}, 0.0, 1.0, "a == b at temperature 0.01: diagonal logits of 100"),
    (7, 5, {"temperature": 0.1}, 2.0, 1.0, "noisy pairs: the diagonal often loses"),
]


@check(
    "boundary cases every run: N = 1 and 2, D = 1, rows of norm 1e3 and 1e-3, a == b at temperature 0.01, symmetric off and on (float32 and float64)",
    zh="每次都测的边界情况：N = 1 和 2、D = 1、范数为 1e3 和 1e-3 的行、temperature 0.01 下 a == b、symmetric 关和开（float32 和 float64）",
    examples=1,
    teaches=["models.clip_contrastive", "applications.contrastive_embedding_training"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for sym in (False, True):
            for n, d, kwargs, noise, scale, _why in BOUNDARY_CASES:
                a, b = _pairs(ctx, dtype, n, d, noise=noise, scale=scale)
                _compare(ctx, a, b, {**kwargs, "symmetric": sym}, dtype)


@check(
    "the loss does not change when rows of a or b are rescaled (it works on cosine similarities)",
    zh="对 a 或 b 的行做缩放，损失不变（只依赖余弦相似度）",
    teaches=["models.clip_contrastive"],
)
def scale_invariance(ctx):
    n, d, sym = ctx.draw(st.tuples(st.integers(2, 6), st.integers(2, 8), st.booleans()))
    a, b = _pairs(ctx, torch.float64, n, d)
    factors = ctx.rand(n, 1, dtype=torch.float64) * 20 + 0.05
    expected = ctx.reference(a, b, symmetric=sym)
    ctx.assert_close(ctx.call(a, b, symmetric=sym), expected, dtype=torch.float64)
    ctx.assert_close(ctx.call(a * factors, b, symmetric=sym), expected, dtype=torch.float64)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def infonce(a, b, temperature=0.07, symmetric=False):
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    labels = torch.arange(a.shape[0])
    loss = F.cross_entropy(logits, labels)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, labels)) / 2
    return loss
"""

_BY_HAND = """
import torch

def infonce(a, b, temperature=0.07, symmetric=False):
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    logits = a @ b.T / temperature
    loss = -torch.log_softmax(logits, dim=1).diagonal().mean()
    if symmetric:
        loss = (loss - torch.log_softmax(logits, dim=0).diagonal().mean()) / 2
    return loss
"""

WRONG_ANSWERS = {
    "no L2 normalisation: dot products, not cosine similarities": edited(
        _PLAIN, ("    a = F.normalize(a, dim=-1)\n    b = F.normalize(b, dim=-1)\n", "")
    ),
    "temperature multiplies the logits instead of dividing them": edited(
        _PLAIN, ("a @ b.T / temperature", "a @ b.T * temperature")
    ),
    "symmetric=True still computes one direction only": edited(
        _PLAIN, ("loss = (loss + F.cross_entropy(logits.T, labels)) / 2", "loss = F.cross_entropy(logits, labels)")
    ),
    "labels not the diagonal: every row's positive taken as column 0": edited(
        _PLAIN, ("labels = torch.arange(a.shape[0])", "labels = torch.zeros(a.shape[0], dtype=torch.long)")
    ),
    "softmax over the wrong axis: columns (b -> a) when symmetric is off": edited(
        _BY_HAND,
        (
            "loss = -torch.log_softmax(logits, dim=1).diagonal().mean()",
            "loss = -torch.log_softmax(logits, dim=0).diagonal().mean()",
        ),
    ),
    "normalised along the batch axis (dim=0) instead of each row": edited(
        _PLAIN,
        ("a = F.normalize(a, dim=-1)", "a = F.normalize(a, dim=0)"),
        ("b = F.normalize(b, dim=-1)", "b = F.normalize(b, dim=0)"),
    ),
    "symmetric directions summed, not averaged": edited(
        _PLAIN, ("loss = (loss + F.cross_entropy(logits.T, labels)) / 2", "loss = loss + F.cross_entropy(logits.T, labels)")
    ),
    "softmax written out with exp and no max subtracted: overflows at temperature 0.01 in float32": edited(
        _BY_HAND,
        (
            "loss = -torch.log_softmax(logits, dim=1).diagonal().mean()",
            "e = torch.exp(logits)\n    loss = -torch.log(e.diagonal() / e.sum(dim=1)).mean()",
        ),
    ),
}

ALTERNATIVES = {
    "log-sum-exp by hand, both directions from one logits matrix, rows normalised with rsqrt": """
import torch

def infonce(a, b, temperature=0.07, symmetric=False):
    a = a * torch.rsqrt((a * a).sum(-1, keepdim=True))
    b = b * torch.rsqrt((b * b).sum(-1, keepdim=True))
    logits = torch.einsum("id,jd->ij", a, b) / temperature
    pos = logits.diagonal()
    a_to_b = (torch.logsumexp(logits, dim=1) - pos).mean()
    if not symmetric:
        return a_to_b
    b_to_a = (torch.logsumexp(logits, dim=0) - pos).mean()
    return 0.5 * (a_to_b + b_to_a)
""",
}
