"""moe.moe_layer — a sparse MoE FFN layer: router, top-k, dispatch, weighted combine, the
load-balancing loss and an optional shared expert.

moe_layer(x, w_router, w_gate, w_up, w_down, k, shared=None) -> (out, aux_loss):
  x (B, T, D); every one of the N = B * T tokens is routed on its own.
  logits = x @ w_router (D, E); probs = softmax over the E experts; each token picks its k largest
  (no ties); its weights are those k probabilities renormalised to sum 1 (Mixtral: equal to the
  softmax over the k chosen logits, so softmax before or after top-k gives the same weights).
  Expert e is a SwiGLU FFN: (silu(x @ w_gate[e]) * (x @ w_up[e])) @ w_down[e], w_gate and w_up
  (E, D, H), w_down (E, H, D). out = sum over the k chosen experts of weight * expert(x), plus,
  when `shared` = (s_gate (D, Hs), s_up (D, Hs), s_down (Hs, D)) is given, that SwiGLU expert on
  every token with weight 1 (DeepSeekMoE's shared expert; not gated, not part of the top-k).
  aux_loss (0-dim) = E * sum_i f_i * P_i, f_i the fraction of the N * k (token, slot) assignments
  that go to expert i, P_i the mean over tokens of probs[:, i] (Switch eq. 4; for k = 1 exactly
  it, as moe.topk_routing). Float64 input is computed in float64.

Regimes where implementations diverge (run every time by `boundary_regimes`, `float64_precision`):
- k = 1 (top-1 counting, a per-slot scatter and a repeated expert all hide), k = E (the weights
  are then the full softmax: forgetting to renormalise hides), E = 1, one token;
- experts never chosen (a bincount without minlength is short);
- router logits of a few hundred (exp overflows unless the max is subtracted);
- the shared expert given and not (a gated or missing shared expert shows only with it);
- float64 over 128 tokens at rtol 1e-11 (a `.float()` shows at 1e-7).
"""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []


def _swiglu(x, w_gate, w_up, w_down):
    return (F.silu(x @ w_gate) * (x @ w_up)) @ w_down


def reference(x, w_router, w_gate, w_up, w_down, k, shared=None):
    b, t, d = x.shape
    e = w_router.shape[1]
    tokens = x.reshape(-1, d)  # (N, D)
    n = tokens.shape[0]
    probs = (tokens @ w_router).softmax(dim=-1)  # (N, E)
    top_p, top_i = probs.topk(k, dim=-1)  # (N, k)
    gates = torch.zeros_like(probs).scatter(1, top_i, top_p / top_p.sum(dim=-1, keepdim=True))  # (N, E), k nonzero
    # dense on purpose (every expert on every token, zero weight where not chosen): small shapes only
    every = torch.stack([_swiglu(tokens, w_gate[j], w_up[j], w_down[j]) for j in range(e)], dim=1)  # (N, E, D)
    out = (gates.unsqueeze(-1) * every).sum(dim=1)
    if shared is not None:
        out = out + _swiglu(tokens, *shared)
    f = torch.zeros(e, dtype=x.dtype).index_add_(0, top_i.reshape(-1), torch.ones(n * k, dtype=x.dtype)) / (n * k)
    aux = e * (f * probs.mean(dim=0)).sum()
    return out.reshape(b, t, d), aux


DTYPES = [torch.float32, torch.float64]


def _inputs(ctx, b, t, d, e, h, with_shared, router_scale=1.0):
    """Tokens and weights in float64: x, w_router, w_gate, w_up, w_down, shared or None."""
    x = ctx.randn(b, t, d, dtype=torch.float64)
    w_router = ctx.randn(d, e, dtype=torch.float64, scale=router_scale * d**-0.5)
    w_gate = ctx.randn(e, d, h, dtype=torch.float64, scale=d**-0.5)
    w_up = ctx.randn(e, d, h, dtype=torch.float64, scale=d**-0.5)
    w_down = ctx.randn(e, h, d, dtype=torch.float64, scale=h**-0.5)
    shared = None
    if with_shared:
        hs = h + 1
        shared = (
            ctx.randn(d, hs, dtype=torch.float64, scale=d**-0.5),
            ctx.randn(d, hs, dtype=torch.float64, scale=d**-0.5),
            ctx.randn(hs, d, dtype=torch.float64, scale=hs**-0.5),
        )
    return x, w_router, w_gate, w_up, w_down, shared


def _clear_topk(x, w_router, k, dtype):
    """True when every token's k-th and (k+1)-th logits are apart by far more than `dtype`'s
    rounding of the logits, so a solution computing in `dtype` picks the reference's experts."""
    logits = x.double().reshape(-1, x.shape[-1]) @ w_router.double()
    e = logits.shape[1]
    if k >= e:
        return True
    ranked = logits.sort(dim=-1, descending=True).values
    gap = (ranked[:, k - 1] - ranked[:, k]).min()
    return bool(gap > 1e3 * torch.finfo(dtype).eps * (1.0 + logits.abs().max()))


def _draw_inputs(ctx, dtype, b, t, d, e, h, k, with_shared, router_scale=1.0, adjust=None):
    """`adjust(x, w_router, dtype)` (on the float64 draws, in place) sets up a regime before the
    top-k is tested; the result is cast to `dtype`."""
    for _ in range(50):
        args = list(_inputs(ctx, b, t, d, e, h, with_shared, router_scale))
        if adjust is not None:
            adjust(args[0], args[1], dtype)
        if _clear_topk(args[0], args[1], k, dtype):
            cast = (lambda v: v.to(dtype)) if dtype != torch.float64 else (lambda v: v)
            shared = None if args[5] is None else tuple(map(cast, args[5]))
            return (*map(cast, args[:5]), shared)
    raise AssertionError("no inputs with a clear top-k in 50 draws")  # an answer-module bug


def _pair(ctx, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
        ctx.fail(f"returned {what}; expected a tuple (out, aux_loss)")
    return out


def _compare(ctx, args, k, dtype, rtol=None, atol=None):
    x, w_router, w_gate, w_up, w_down, shared = args
    kw = {} if shared is None else {"shared": shared}
    got_out, got_aux = _pair(ctx, ctx.call(x, w_router, w_gate, w_up, w_down, k, **kw))
    want_out, want_aux = ctx.reference(x, w_router, w_gate, w_up, w_down, k, **kw)
    for what, got, want in (("out", got_out, want_out), ("aux_loss", got_aux, want_aux)):
        try:
            ctx.assert_close(got, want, dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:  # say which of the two outputs
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "matches the reference: output and aux loss (B 1-2, T 1-5, E 1-6, k 1-3, shared expert or not, float32/float64)",
    zh="与参考实现一致：输出和辅助损失（B 1-2，T 1-5，E 1-6，k 1-3，有无共享专家，float32/float64）",
    teaches=["moe.softmax_topk_order", "moe.load_balancing_loss", "moe.shared_experts"],
)
def matches_reference(ctx):
    dtype, b, t, d, e, h, k, with_shared = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 2),
            st.integers(1, 5),
            st.sampled_from([1, 3, 4, 8]),
            st.integers(1, 6),
            st.sampled_from([1, 2, 5]),
            st.integers(1, 3),
            st.booleans(),
        )
    )
    k = min(k, e)
    _compare(ctx, _draw_inputs(ctx, dtype, b, t, d, e, h, k, with_shared), k, dtype)


def _never_chosen(x, w_router, dtype):
    """Feature 0 is a constant 3 and pushes the last 2 experts' logits down by ~90."""
    x[..., 0] = 3.0
    w_router[0, -2:] = -30.0


def _huge(x, w_router, dtype):
    """Feature 0 is a constant 1 and lifts every logit by 100 (float32) or 800 (float64), past
    where exp overflows, while the logits of a token stay a few units apart (no probability
    underflows to a tie at 0)."""
    x[..., 0] = 1.0
    w_router[0, :] += 800.0 if dtype == torch.float64 else 100.0


# (why, B, T, D, E, H, k, shared, adjust)
REGIMES = [
    ("k = 1", 2, 3, 4, 5, 3, 1, False, None),
    ("k = E (the weights are the full softmax)", 1, 4, 4, 3, 2, 3, False, None),
    ("E = 1", 1, 3, 3, 1, 2, 1, True, None),
    ("one token", 1, 1, 4, 4, 3, 2, False, None),
    ("8 experts, k = 2, the last 2 experts never chosen", 2, 4, 4, 8, 2, 2, False, _never_chosen),
    ("router logits past exp's overflow (100 in float32, 800 in float64)", 1, 5, 4, 4, 2, 2, False, _huge),
    ("a shared expert, k = 2", 2, 3, 4, 4, 3, 2, True, None),
    ("a shared expert, k = 1", 1, 5, 3, 3, 2, 1, True, None),
]


@check(
    "boundary regimes, every run: k = 1, k = E, E = 1, one token, experts never chosen, router logits past exp's overflow, a shared expert",
    zh="每次都测的边界情形：k = 1，k = E，E = 1，一个 token，有专家从未被选中，超过 exp 溢出点的路由 logits，有共享专家",
    examples=1,
    teaches=["moe.softmax_topk_order", "moe.load_balancing_loss"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for why, b, t, d, e, h, k, with_shared, adjust in REGIMES:
            args = _draw_inputs(ctx, dtype, b, t, d, e, h, k, with_shared, adjust=adjust)
            # float32 logits of ~100 are rounded by ~1e-5 in any correct solution, which moves the
            # weights by as much: looser there (an overflow gives NaN, caught at any tolerance)
            tol = {"rtol": 1e-3, "atol": 1e-4} if adjust is _huge and dtype == torch.float32 else {}
            try:
                _compare(ctx, args, k, dtype, **tol)
            except CheckFailed as exc:
                raise CheckFailed(f"{why}: {exc}") from None


@check(
    "float64 input is computed in float64: 128 tokens, 8 experts, within 1e-11",
    zh="float64 输入全程用 float64 计算：128 个 token，8 个专家，误差在 1e-11 内",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    k = ctx.draw(st.sampled_from([2, 3]))
    args = _draw_inputs(ctx, torch.float64, 2, 64, 16, 8, 8, k, True, 4.0)
    _compare(ctx, args, k, torch.float64, rtol=1e-11, atol=1e-13)


@check(
    "tokens are routed on their own: shuffling the tokens shuffles the output the same way and keeps the aux loss",
    zh="每个 token 独立路由：打乱 token 顺序，输出按同样方式打乱，辅助损失不变",
    examples=5,
    teaches=["moe.what_is"],
)
def token_order(ctx):
    k = ctx.draw(st.integers(1, 3))
    x, w_router, w_gate, w_up, w_down, _ = _draw_inputs(ctx, torch.float64, 2, 3, 4, 4, 3, k, False)
    perm = torch.randperm(6, generator=ctx.generator)
    shuffled = x.reshape(6, 4)[perm].reshape(2, 3, 4)
    out, aux = _pair(ctx, ctx.call(x, w_router, w_gate, w_up, w_down, k))
    out_s, aux_s = _pair(ctx, ctx.call(shuffled, w_router, w_gate, w_up, w_down, k))
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        _compare(ctx, (x, w_router, w_gate, w_up, w_down, None), k, torch.float64)  # says what is wrong
    ctx.assert_close(out_s, out.reshape(6, 4)[perm].reshape(2, 3, 4), dtype=torch.float64, rtol=1e-9, atol=1e-12)
    ctx.assert_close(aux_s, aux, dtype=torch.float64, rtol=1e-9, atol=1e-12)


# The usual sparse way to write it (a loop over experts, index_add_ to combine); each wrong
# answer below is this text with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def moe_layer(x, w_router, w_gate, w_up, w_down, k, shared=None):
    b, t, d = x.shape
    e = w_router.shape[1]
    h = x.reshape(-1, d)
    n = h.shape[0]
    logits = h @ w_router
    probs = torch.softmax(logits, dim=-1)
    weights, idx = probs.topk(k, dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(h)
    for j in range(e):
        tok, slot = (idx == j).nonzero(as_tuple=True)
        y = (F.silu(h[tok] @ w_gate[j]) * (h[tok] @ w_up[j])) @ w_down[j]
        out.index_add_(0, tok, weights[tok, slot, None] * y)
    if shared is not None:
        s_gate, s_up, s_down = shared
        out = out + (F.silu(h @ s_gate) * (h @ s_up)) @ s_down
    counts = torch.bincount(idx.flatten(), minlength=e).to(x.dtype)
    f = counts / (n * k)
    aux = e * (f * probs.mean(dim=0)).sum()
    return out.reshape(b, t, d), aux
"""

WRONG_ANSWERS = {
    "forgets to renormalise: the top-k softmax probabilities used as they are (DeepSeek-V2's convention, not the task's)": edited(
        _PLAIN, ("    weights = weights / weights.sum(dim=-1, keepdim=True)\n", "")
    ),
    "f_i from the router probabilities (mean softmax) instead of the counts of chosen experts": edited(
        _PLAIN, ("f = counts / (n * k)", "f = probs.mean(dim=0)")
    ),
    "softmax over the tokens (dim=0) instead of over the experts": edited(
        _PLAIN, ("probs = torch.softmax(logits, dim=-1)", "probs = torch.softmax(logits, dim=0)")
    ),
    "top-k by k argmaxes without masking the chosen expert: a token routed twice to its best expert": edited(
        _PLAIN,
        (
            "    weights, idx = probs.topk(k, dim=-1)\n",
            "    idx = torch.stack([probs.argmax(dim=-1) for _ in range(k)], dim=-1)\n    weights = probs.gather(1, idx)\n",
        ),
    ),
    "combines with out[tok] += ... in one scatter over all (token, slot) pairs: a token's second slot overwrites its first": edited(
        _PLAIN,
        (
            "    for j in range(e):\n"
            "        tok, slot = (idx == j).nonzero(as_tuple=True)\n"
            "        y = (F.silu(h[tok] @ w_gate[j]) * (h[tok] @ w_up[j])) @ w_down[j]\n"
            "        out.index_add_(0, tok, weights[tok, slot, None] * y)\n",
            "    ys = torch.zeros(n, k, d, dtype=h.dtype)\n"
            "    for j in range(e):\n"
            "        tok, slot = (idx == j).nonzero(as_tuple=True)\n"
            "        ys[tok, slot] = (F.silu(h[tok] @ w_gate[j]) * (h[tok] @ w_up[j])) @ w_down[j]\n"
            "    tok_all = torch.arange(n).repeat_interleave(k)\n"
            "    out[tok_all] += (weights[..., None] * ys).reshape(n * k, d)\n",
        ),
    ),
    "the shared expert weighted by the token's top gate weight, as if it were routed": edited(
        _PLAIN,
        ("out = out + (F.silu(h @ s_gate)", "out = out + weights[:, :1] * (F.silu(h @ s_gate)"),
    ),
    "ignores the shared expert": edited(_PLAIN, ("    if shared is not None:\n", "    if False:\n")),
    "counts divided by N, not N * k (Hugging Face Mixtral's loss: k times the stated one)": edited(
        _PLAIN, ("f = counts / (n * k)", "f = counts / n")
    ),
    "f_i counts only each token's top-1 expert while routing to k": edited(
        _PLAIN, ("torch.bincount(idx.flatten(), minlength=e)", "(torch.bincount(idx[:, 0], minlength=e) * k)")
    ),
    "bincount without minlength: f is short when the last experts are never chosen": edited(
        _PLAIN, ("torch.bincount(idx.flatten(), minlength=e)", "torch.bincount(idx.flatten())")
    ),
    "softmax by hand without subtracting the max (exp overflows for large router logits)": edited(
        _PLAIN, ("probs = torch.softmax(logits, dim=-1)", "probs = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)")
    ),
    "router computed in float32 (.float() on float64 input), cast back": edited(
        _PLAIN,
        ("probs = torch.softmax(logits, dim=-1)", "probs = torch.softmax(logits.float(), dim=-1).to(x.dtype)"),
    ),
}

ALTERNATIVES = {
    "softmax over the chosen logits (Mixtral's code order), one_hot counts, per-slot dispatch": """
import torch
import torch.nn.functional as F

def moe_layer(x, w_router, w_gate, w_up, w_down, k, shared=None):
    shape = x.shape
    h = x.reshape(-1, shape[-1])
    n, e = h.shape[0], w_router.shape[1]
    logits = h @ w_router
    top_logits, idx = torch.topk(logits, k, dim=-1)
    weights = F.softmax(top_logits, dim=-1)
    out = torch.zeros_like(h)
    for slot in range(k):
        for j in idx[:, slot].unique().tolist():
            rows = (idx[:, slot] == j).nonzero().squeeze(1)
            xi = h[rows]
            y = (F.silu(xi @ w_gate[j]) * (xi @ w_up[j])) @ w_down[j]
            out[rows] += weights[rows, slot].unsqueeze(1) * y
    if shared is not None:
        out = out + (F.silu(h @ shared[0]) * (h @ shared[1])) @ shared[2]
    f = F.one_hot(idx, e).to(x.dtype).sum(dim=(0, 1)) / (n * k)
    p = F.softmax(logits, dim=-1).mean(dim=0)
    return out.reshape(shape), e * torch.dot(f, p)
""",
}
