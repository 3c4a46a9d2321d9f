"""transformer.embedding_one_hot_matmul — an embedding lookup written as one-hot times the weight:
reference, checks, known-wrong answers.

ids int64 (...) with values in [0, V), weight (V, D) -> (..., D) in weight's dtype, computed as
one_hot(ids, V) @ weight, which equals weight[ids] exactly.

Regimes where implementations diverge, each run every time by `boundary_regimes` (the other
check draws at random): 0-d ids (a view of a weight row is not a new tensor), empty ids, one
vocabulary row, D = 1, the largest id V - 1 present or absent (F.one_hot infers V from the
largest id), a vocabulary-sized V = 32768 (a V x V identity matrix needs 4 GiB), and float64
weights with every bit used (a round trip through float32 shows). Every comparison is exact.

No gradient check: the first backward pass in a freshly forked sandbox costs about 1.7 s (autograd
starting up), more than the rest of this exercise; the forward pass is a plain matmul anyway.
"""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = [
    "torch.nn.functional.embedding",
    "torch.nn.Embedding",
    "torch.nn.functional.embedding_bag",
    "torch.nn.EmbeddingBag",
    "torch.index_select",
    "torch.Tensor.index_select",
    "torch.gather",
    "torch.Tensor.gather",
    "torch.take",
    "torch.Tensor.take",
    "torch.take_along_dim",
    "torch.Tensor.take_along_dim",
]


def reference(ids, weight):
    one_hot = F.one_hot(ids, weight.shape[0]).to(weight.dtype)  # (..., V): a single 1 per id
    return one_hot @ weight  # (..., D): row ids[...] of the weight


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
ID_SHAPES = st.sampled_from([(), (1,), (5,), (1, 1), (2, 3), (3, 1, 2)])
CASES = st.tuples(st.sampled_from(DTYPES), ID_SHAPES, st.integers(1, 9), st.integers(1, 6), st.booleans())


def _inputs(ctx, dtype, shape, vocab, dim, low_ids):
    weight = ctx.randn(vocab, dim, dtype=dtype)
    # low_ids: ids from the lower half only, so the largest id is often below V - 1
    top = max(1, (vocab + 1) // 2) if low_ids else vocab
    return ctx.randint(0, top, shape), weight


@check(
    "equals weight[ids] exactly (ids of any shape incl. 0-d and size 1, float32/float64/bfloat16 weights)",
    zh="精确等于 weight[ids]（任意形状的 ids，包括 0 维和大小为 1，float32/float64/bfloat16 的权重）",
    teaches=["transformer.embedding_one_hot"],
)
def matches_lookup(ctx):
    dtype, shape, vocab, dim, low_ids = ctx.draw(CASES)
    ids, weight = _inputs(ctx, dtype, shape, vocab, dim, low_ids)
    out = ctx.call(ids, weight)
    expected = ctx.reference(ids, weight)
    ctx.assert_close(out, expected, dtype=dtype, rtol=0.0, atol=0.0)
    ctx.assert_close(out, weight[ids].double(), dtype=dtype, rtol=0.0, atol=0.0)  # the lookup it stands for


# (what, ids, V, D, dtype)
REGIMES = [
    ("0-d id", torch.tensor(3), 5, 4, torch.float32),
    ("empty ids (0,)", torch.zeros(0, dtype=torch.int64), 5, 4, torch.float32),
    ("empty ids (2, 0)", torch.zeros(2, 0, dtype=torch.int64), 5, 3, torch.float32),
    ("one vocabulary row", torch.zeros(2, 3, dtype=torch.int64), 1, 4, torch.float32),
    ("D = 1, ids 0 and V - 1", torch.tensor([[0, 6], [6, 0]]), 7, 1, torch.float32),
    ("largest ids absent (ids below V / 2)", torch.tensor([0, 2, 1, 2]), 9, 3, torch.float32),
    ("V = 32768 (vocabulary-sized), ids 0 and 32767", torch.tensor([32767, 0, 12345]), 32768, 4, torch.float32),
    ("float64 weights, every bit used", torch.tensor([[1, 0], [3, 3]]), 4, 5, torch.float64),
    ("bfloat16 weights", torch.tensor([2, 0, 1]), 3, 6, torch.bfloat16),
]


@check(
    "boundary regimes, every run: 0-d and empty ids, V = 1 and 32768, D = 1, largest id present or absent, float64 bits",
    zh="每次都测的边界情形：0 维和空的 ids，V = 1 和 32768，D = 1，最大的 id 出现或不出现，float64 的比特",
    examples=1,
    teaches=["transformer.embedding_one_hot"],
)
def boundary_regimes(ctx):
    for what, ids, vocab, dim, dtype in REGIMES:
        weight = ctx.randn(vocab, dim, dtype=dtype)
        out = ctx.call(ids, weight)
        try:
            ctx.assert_close(out, ctx.reference(ids, weight), dtype=dtype, rtol=0.0, atol=0.0)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


# The usual way to write it; the wrong answers written with edited() are this with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    one_hot = F.one_hot(ids, weight.shape[0]).to(weight.dtype)
    return one_hot @ weight
"""


WRONG_ANSWERS = {
    "one-hot rows taken from torch.eye(V): a V x V matrix, 4 GiB at V = 32768": edited(
        _PLAIN,
        ("F.one_hot(ids, weight.shape[0]).to(weight.dtype)", "torch.eye(weight.shape[0], dtype=weight.dtype)[ids]"),
    ),
    "a 0-d id returns weight[id] directly: a view of the weight, not a new tensor": edited(
        _PLAIN,
        ("    one_hot = F.one_hot", "    if ids.dim() == 0:\n        return weight[int(ids)]\n    one_hot = F.one_hot"),
    ),
    "multiplies in float32 (.float()) and casts back: float64 weights lose their low bits": edited(
        _PLAIN,
        (".to(weight.dtype)\n    return one_hot @ weight", ".float()\n    return (one_hot @ weight.float()).to(weight.dtype)"),
    ),
    "one-hot as .float() and never cast back: float32 results for float64 and bfloat16 weights": """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    return F.one_hot(ids, weight.shape[0]).float() @ weight.float()
""",
    "lets F.one_hot infer the number of classes (max id + 1): too narrow when the largest ids do not occur": """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    return F.one_hot(ids).to(weight.dtype) @ weight
""",
    "flattens the ids and returns (N, D), losing their shape": """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    flat = ids.reshape(-1)
    return F.one_hot(flat, weight.shape[0]).to(weight.dtype) @ weight
""",
    "treats weight as nn.Linear's (out, in) layout and multiplies by weight.T": """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    return F.one_hot(ids, weight.shape[1]).to(weight.dtype) @ weight.T
""",
}

ALTERNATIVES = {
    "one-hot from comparing ids with arange(V), then einsum": """
import torch

def embedding_one_hot(ids, weight):
    vocab = weight.shape[0]
    one_hot = (ids.unsqueeze(-1) == torch.arange(vocab)).to(weight.dtype)  # (..., V)
    return torch.einsum("...v,vd->...d", one_hot, weight)
""",
    "a bias-free linear layer applied to one-hot vectors: F.linear(one_hot, weight.T)": """
import torch
import torch.nn.functional as F

def embedding_one_hot(ids, weight):
    one_hot = F.one_hot(ids, num_classes=weight.shape[0]).to(weight.dtype)
    return F.linear(one_hot, weight.t())
""",
}
