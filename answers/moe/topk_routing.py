"""moe.topk_routing — Mixtral-style top-k routing with the Switch Transformer load-balancing loss.

topk_routing(logits, k): router logits (N, E) float32/float64 (no ties within a row), 1 <= k <= E ->
(weights, indices, aux_loss):
  indices (N, k) int64: each token's k largest logits, largest first (as torch.topk);
  weights (N, k) in logits' dtype: softmax over the k selected logits (= the full softmax
    renormalised over the selected experts, as Mixtral), weights[:, j] belongs to indices[:, j];
  aux_loss (0-dim, logits' dtype) = E * sum_i f_i * P_i, with P_i the mean over tokens of the full
    softmax over all E experts, and f_i the fraction of the N * k (token, slot) assignments that go to
    expert i (so sum_i f_i = 1; for k = 1 this is Switch's eq. 4 exactly). Hugging Face's Mixtral
    load_balancing_loss_func divides the counts by N only, which gives k times this value.
(Fedus et al. 2021, arXiv:2101.03961, sec. 2.2, eq. 4-6; Jiang et al. 2024, Mixtral of Experts,
arXiv:2401.04088, sec. 2.1.) Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- k = 1 (top-1 counting is then right), k = E (the weights are then the full softmax), E = 1,
  one token (a softmax over tokens is then all ones);
- 64 experts with k = 8, the last experts never chosen (a bincount without minlength is short);
- logits of a few hundred (exp overflows without the max subtracted);
- float64 logits of ~30 over 512 tokens: a `.float()` shows at a relative 1e-7.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited


def reference(logits, k):
    n, e = logits.shape
    top_logits, indices = logits.topk(k, dim=-1)  # (N, k), (N, k): largest first
    weights = top_logits.softmax(dim=-1)  # (N, k): softmax over the selected experts only
    probs = logits.softmax(dim=-1)  # (N, E): the router's full distribution
    p_mean = probs.mean(dim=0)  # (E,): P_i
    counts = torch.zeros(e, dtype=logits.dtype).index_add_(0, indices.reshape(-1), torch.ones(n * k, dtype=logits.dtype))
    f = counts / (n * k)  # (E,): fraction of the N * k assignments
    return weights, indices, e * (f * p_mean).sum()


DTYPES = [torch.float32, torch.float64]
# (N tokens, E experts, k): size 1 and odd sizes; k clipped to E below
SIZES = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4))


def _triple(ctx, out):
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (weights, indices, aux_loss)")
    return out


def _compare(ctx, out, logits, k, dtype):
    weights, indices, aux = _triple(ctx, out)
    want_w, want_i, want_aux = ctx.reference(logits, k)
    for what, compare, got, want in (
        ("indices", ctx.assert_equal, indices, want_i),
        ("weights", ctx.assert_close, weights, want_w),
        ("aux_loss", ctx.assert_close, aux, want_aux),
    ):
        try:
            compare(got, want) if compare == ctx.assert_equal else compare(got, want, dtype=dtype)
        except CheckFailed as exc:  # say which of the three outputs
            raise CheckFailed(f"{what}: {exc}") from None


def _logits(ctx, n, e, dtype, scale=2.0):
    # distinct values in each row (a tie would make the top-k ambiguous): random order plus noise
    return ctx.randn(n, e, dtype=torch.float64, scale=scale).to(dtype)


@check(
    "matches the reference: indices, weights and aux loss (N 1 to 9, E 1 to 9, k 1 to 4, float32/float64)",
    zh="与参考实现一致：索引、权重和辅助损失（N 1 到 9，E 1 到 9，k 1 到 4，float32/float64）",
    teaches=["moe.softmax_topk_order", "moe.load_balancing_loss"],
)
def matches_reference(ctx):
    dtype, (n, e, k) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES))
    k = min(k, e)
    logits = _logits(ctx, n, e, dtype)
    _compare(ctx, ctx.call(logits, k), logits, k, dtype)


# (N, E, k, logit scale, why): every dtype, every run
BOUNDARY_CASES = [
    (1, 1, 1, 2.0, "E = 1"),
    (6, 8, 1, 2.0, "k = 1"),
    (5, 4, 4, 2.0, "k = E"),
    (1, 8, 3, 2.0, "one token"),
    (3, 5, 2, 150.0, "logits of a few hundred"),
    (64, 64, 8, 2.0, "64 experts, k = 8, the last 8 experts never chosen"),
]


@check(
    "float64 input is computed in float64: logits of ~30 over 512 tokens, within 1e-11",
    zh="float64 输入全程用 float64 计算：512 个 token 上约 30 的 logits，误差在 1e-11 内",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    e, k = ctx.draw(st.sampled_from([(8, 2), (16, 4)]))
    logits = _logits(ctx, 512, e, torch.float64, scale=30.0)
    weights, indices, aux = _triple(ctx, ctx.call(logits, k))
    want_w, want_i, want_aux = ctx.reference(logits, k)
    ctx.assert_equal(indices, want_i)
    ctx.assert_close(weights, want_w, dtype=torch.float64, rtol=1e-11, atol=1e-15)
    ctx.assert_close(aux, want_aux, dtype=torch.float64, rtol=1e-11, atol=0.0)


@check(
    "boundary cases every run: E = 1, k = 1, k = E, one token, 64 experts with some never chosen, logits of a few hundred",
    zh="每次都测的边界情况：E = 1，k = 1，k = E，一个 token，64 个专家且有的从未被选中，几百大小的 logits",
    examples=1,
    teaches=["moe.softmax_topk_order", "moe.load_balancing_loss"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for n, e, k, scale, why in BOUNDARY_CASES:
            logits = _logits(ctx, n, e, torch.float64, scale=scale)
            if e == 64:
                logits[:, -8:] -= 100.0  # never among the top 8
            logits = logits.to(dtype)
            try:
                _compare(ctx, ctx.call(logits, k), logits, k, dtype)
            except CheckFailed as exc:
                raise CheckFailed(f"{why}: {exc}") from None


@check(
    "weights use the selected logits only: lowering the experts that were not chosen leaves them unchanged",
    zh="权重只用被选中的 logits：调低没被选中的专家的 logits，权重不变",
    teaches=["moe.softmax_topk_order"],
)
def renormalised(ctx):
    dtype, (n, e, k), drop = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from([1.0, 5.0, 30.0])))
    e = max(e, 2)
    k = min(k, e - 1)  # at least one expert not chosen
    logits = _logits(ctx, n, e, dtype)
    out = _triple(ctx, ctx.call(logits, k))
    _compare(ctx, out, logits, k, dtype)
    chosen = torch.zeros(n, e, dtype=torch.bool).scatter_(1, logits.topk(k, dim=-1).indices, True)
    lowered = torch.where(chosen, logits, logits - drop)
    again = _triple(ctx, ctx.call(lowered, k))
    ctx.assert_close(again[0], out[0].double(), dtype=dtype)


@check(
    "balanced routing gives aux loss 1; all tokens on the same experts give a larger one (E * P of those experts)",
    zh="均衡路由时辅助损失为 1；所有 token 都路由到同样的专家时损失更大（E * 这些专家的 P）",
    teaches=["moe.load_balancing_loss"],
)
def balance(ctx):
    dtype, e, k, rounds, collapse = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), st.integers(2, 8), st.integers(1, 3), st.integers(1, 3), st.booleans())
    )
    k = min(k, e)
    base = torch.linspace(2.0, -1.5, e, dtype=torch.float64) + 0.01 * ctx.rand(e, dtype=torch.float64)  # distinct
    if collapse:  # every token ranks the experts the same way
        logits = base.expand(e * rounds, e).clone().to(dtype)
    else:  # token t's row is base rotated by t: each expert is chosen, and weighted, equally often
        logits = torch.stack([base.roll(t) for t in range(e * rounds)]).to(dtype)
    out = _triple(ctx, ctx.call(logits, k))
    if not collapse:
        try:
            ctx.assert_close(out[2], torch.tensor(1.0, dtype=torch.float64), dtype=dtype)
        except CheckFailed as exc:
            raise CheckFailed(
                f"aux_loss of perfectly balanced routing (each expert chosen and weighted equally) should be 1: {exc}"
            ) from None
    _compare(ctx, out, logits, k, dtype)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def topk_routing(logits, k):
    n, e = logits.shape
    top, indices = logits.topk(k, dim=-1)
    weights = torch.softmax(top, dim=-1)
    probs = torch.softmax(logits, dim=-1)
    counts = torch.bincount(indices.flatten(), minlength=e).to(logits.dtype)
    f = counts / (n * k)
    aux = e * (f * probs.mean(dim=0)).sum()
    return weights, indices, aux
"""


WRONG_ANSWERS = {
    "weights are the full-softmax probabilities of the chosen experts, not renormalised over them": edited(
        _PLAIN,
        ("weights = torch.softmax(top, dim=-1)", "weights = torch.softmax(logits, dim=-1).gather(1, indices)"),
    ),
    "f_i counts only each token's top-1 expert (Switch's k = 1 rule) while routing to k experts": edited(
        _PLAIN,
        ("torch.bincount(indices.flatten(), minlength=e)", "torch.bincount(indices[:, 0], minlength=e)"),
        ("f = counts / (n * k)", "f = counts / n"),
    ),
    "P_i from the renormalised top-k weights instead of the router's full softmax": edited(
        _PLAIN,
        ("probs = torch.softmax(logits, dim=-1)", "probs = torch.zeros_like(logits).scatter_(1, indices, weights)"),
    ),
    "forgets the factor E (the loss then shrinks as experts are added; balanced gives 1/E, not 1)": edited(
        _PLAIN,
        ("aux = e * (f * probs", "aux = (f * probs"),
    ),
    "divides the counts by N, not N * k (Hugging Face's Mixtral convention: k times the stated loss)": edited(
        _PLAIN,
        ("f = counts / (n * k)", "f = counts / n"),
    ),
    "softmax over the tokens (dim=0) instead of over the experts": edited(
        _PLAIN,
        (
            "weights = torch.softmax(top, dim=-1)",
            "weights = torch.softmax(logits, dim=0).gather(1, indices)\n    weights = weights / weights.sum(dim=-1, keepdim=True)",
        ),
        ("probs = torch.softmax(logits, dim=-1)", "probs = torch.softmax(logits, dim=0)"),
    ),
    "bincount without minlength: f is short when the last experts are never chosen": edited(
        _PLAIN,
        ("torch.bincount(indices.flatten(), minlength=e)", "torch.bincount(indices.flatten())"),
    ),
    "softmax by hand without subtracting the max (exp overflows for large logits)": edited(
        _PLAIN,
        (
            "    weights = torch.softmax(top, dim=-1)\n    probs = torch.softmax(logits, dim=-1)\n",
            "    weights = top.exp() / top.exp().sum(dim=-1, keepdim=True)\n"
            "    probs = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)\n",
        ),
    ),
    "computes the softmaxes in float32 (.float() on float64 input), cast back": edited(
        _PLAIN,
        (
            "    weights = torch.softmax(top, dim=-1)\n    probs = torch.softmax(logits, dim=-1)\n",
            "    weights = torch.softmax(top.float(), dim=-1).to(logits.dtype)\n"
            "    probs = torch.softmax(logits.float(), dim=-1).to(logits.dtype)\n",
        ),
    ),
}

ALTERNATIVES = {
    "full softmax, gather and renormalise; f from one_hot summed over the k slots": """
import torch
import torch.nn.functional as F

def topk_routing(logits, k):
    n, e = logits.shape
    probs = F.softmax(logits, dim=-1)
    indices = torch.argsort(logits, dim=-1, descending=True)[:, :k]
    picked = probs.gather(1, indices)
    weights = picked / picked.sum(dim=-1, keepdim=True)
    f = F.one_hot(indices, e).sum(dim=(0, 1)).to(logits.dtype) / (n * k)
    aux = e * torch.dot(f, probs.mean(dim=0))
    return weights, indices, aux
""",
    "per token in float64: stable softmax by hand over the chosen logits": """
import torch

def topk_routing(logits, k):
    n, e = logits.shape
    x = logits.double()
    top, indices = torch.topk(x, k, dim=1, sorted=True)
    w = torch.exp(top - top[:, :1])
    weights = w / w.sum(dim=1, keepdim=True)
    full = torch.exp(x - x.max(dim=1, keepdim=True).values)
    full = full / full.sum(dim=1, keepdim=True)
    counts = torch.bincount(indices.flatten(), minlength=e).double()
    aux = e * (counts / (n * k) * full.mean(dim=0)).sum()
    return weights.to(logits.dtype), indices, aux.to(logits.dtype)
""",
}
