"""inference.speculative_accept — the accept/reject rule of speculative sampling: reference, checks, known-wrong answers.

draft_tokens int64 (B, G); draft_probs q (B, G, V); target_probs p (B, G+1, V); uniforms u (B, G) ->
(n_accepted int64 (B,), dist (B, V)). Draft token i is accepted iff u_i <= p_i(x_i) / q_i(x_i), in
order, stopping at the first rejection; dist is norm(max(0, p_n - q_n)) at the first rejected
position n, or p_G (the extra token's distribution) when all G are accepted. Float64 input is
computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- the first draft rejected (n = 0), the last one rejected (n = G - 1), every draft accepted
  (n = G: the extra distribution p_G), all in one batch, so rows stop at different places;
- G = 1; V = 1 (p = q = 1: always accepted); a vocabulary of 32000 (the residual's sum over the
  whole row);
- float64 residuals over V = 4096 normalised: a `.float()` shows at a relative 1e-7.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, CheckFailed, check, edited

FORBIDDEN = []


def reference(draft_tokens, draft_probs, target_probs, uniforms):
    batch, gamma = draft_tokens.shape
    n_accepted = torch.zeros(batch, dtype=torch.int64)
    dist = torch.empty(batch, target_probs.shape[-1], dtype=target_probs.dtype)
    for b in range(batch):
        n = 0
        while n < gamma:
            x = draft_tokens[b, n]
            ratio = target_probs[b, n, x] / draft_probs[b, n, x]  # p(x) / q(x)
            if uniforms[b, n] > ratio:  # rejected (Leviathan et al., Algorithm 1)
                break
            n += 1
        n_accepted[b] = n
        if n < gamma:  # resample from what the target wants more than the draft offered
            residual = (target_probs[b, n] - draft_probs[b, n]).clamp(min=0)
            dist[b] = residual / residual.sum()
        else:  # every draft token accepted: the target's next distribution gives one more token
            dist[b] = target_probs[b, gamma]
    return n_accepted, dist


DTYPES = [torch.float32, torch.float64]
SIZES = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 8))  # B, G, V


def _inputs(ctx, dtype, b, gamma, v, closeness):
    """Draft and target distributions, draft tokens drawn from the draft, uniforms away from p/q."""
    base = ctx.randn(b, gamma + 1, v, dtype=torch.float64, scale=2.0)
    q = torch.softmax(base[:, :gamma], dim=-1)
    p = torch.softmax(base + closeness * ctx.randn(b, gamma + 1, v, dtype=torch.float64), dim=-1)
    q, p = q.to(dtype), p.to(dtype)
    tokens = torch.multinomial(q.double().reshape(-1, v), 1, generator=ctx.generator).reshape(b, gamma)
    ratio = p[:, :gamma].double().gather(-1, tokens[..., None])[..., 0] / q.double().gather(-1, tokens[..., None])[..., 0]
    u = ctx.rand(b, gamma, dtype=torch.float64) * 0.98 + 0.01
    # keep u clearly on one side of p/q, so u <= p/q and u * q <= p decide alike
    near = (u - ratio).abs() < 1e-3
    u = torch.where(near, (u + 0.01).clamp(max=0.999), u)
    return tokens, q, p, u.to(dtype)


def _unpack(ctx, got, batch):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(f"returned {what}; expected a tuple (n_accepted int64 ({batch},), dist ({batch}, V))")
    return got


def _named(ctx, name, compare):
    try:
        compare()
    except CheckFailed as exc:
        raise CheckFailed(f"`{name}`: {exc}") from None


@check(
    "matches the reference: accepted count and next-token distribution (float32/float64, drafts close to and far from the target)",
    zh="与参考实现一致：接受的个数和下一个 token 的分布（float32/float64，draft 与 target 接近和相差较远）",
    teaches=["inference.speculative_acceptance"],
)
def matches_reference(ctx):
    dtype, (b, gamma, v), closeness = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from([0.1, 0.5, 2.0])))
    args = _inputs(ctx, dtype, b, gamma, v, closeness)
    expected = ctx.reference(*args)
    n, dist = _unpack(ctx, ctx.call(*args), b)
    _named(ctx, "n_accepted", lambda: ctx.assert_equal(n, expected[0]))
    _named(ctx, "dist", lambda: ctx.assert_close(dist, expected[1], dtype=dtype))


def _forced(ctx, dtype, gamma, v, stops):
    """Inputs whose row r accepts exactly stops[r] drafts (stops[r] = gamma: all accepted).

    Each draft token is the one with the smallest p/q (below 1 unless p = q), and u is set to half
    that ratio (accept) or halfway between it and 1 (reject), far from p/q either way."""
    b = len(stops)
    base = ctx.randn(b, gamma + 1, v, dtype=torch.float64, scale=2.0)
    q = torch.softmax(base[:, :gamma], dim=-1)
    p = torch.softmax(base + ctx.randn(b, gamma + 1, v, dtype=torch.float64), dim=-1)
    q, p = q.to(dtype).double(), p.to(dtype).double()  # the ratios of the values the submission sees
    ratio_all = p[:, :gamma] / q
    tokens = ratio_all.argmin(dim=-1)  # (B, G)
    ratio = ratio_all.gather(-1, tokens[..., None])[..., 0]
    u = ratio * 0.5
    for r, stop in enumerate(stops):
        if stop < gamma:
            u[r, stop] = (ratio[r, stop] + 1) / 2
    return tokens, q.to(dtype), p.to(dtype), u.to(dtype)


# (G, V, accepted per row, why): every dtype, every run
BOUNDARY_CASES = [
    (4, 6, [4, 0, 3, 1], "rows stopping at 0, 1, the last draft and none"),
    (1, 5, [0, 1], "G = 1, rejected and accepted"),
    (2, 1, [2], "V = 1 (p = q = 1: always accepted)"),
    (2, 32000, [1, 2], "a vocabulary of 32000"),
]


@check(
    "boundary cases every run: first, last and no draft rejected in one batch, G = 1, V = 1, V = 32000 (float32/float64)",
    zh="每次都测的边界情况：同一 batch 中第一个、最后一个 draft 被拒和都不被拒，G = 1，V = 1，V = 32000（float32/float64）",
    examples=1,
    teaches=["inference.speculative_acceptance"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        for gamma, v, stops, why in BOUNDARY_CASES:
            args = _forced(ctx, dtype, gamma, v, stops)
            expected = ctx.reference(*args)
            if expected[0].tolist() != stops:  # guards the construction of the inputs
                raise AnswerModuleBug(f"{why}: the inputs accept {expected[0].tolist()} drafts, meant {stops}")
            n, dist = _unpack(ctx, ctx.call(*args), len(stops))
            _named(ctx, f"n_accepted ({why})", lambda n=n, e=expected: ctx.assert_equal(n, e[0]))
            _named(ctx, f"dist ({why})", lambda d=dist, e=expected, t=dtype: ctx.assert_close(d, e[1], dtype=t))


@check(
    "float64 input is computed in float64: residuals over V = 4096 normalised within 1e-12",
    zh="float64 输入全程用 float64 计算：V = 4096 上的残差分布归一化误差在 1e-12 内",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    stops = ctx.draw(st.sampled_from([[0, 1], [2, 0], [1, 1]]))
    args = _forced(ctx, torch.float64, 2, 4096, stops)
    expected = ctx.reference(*args)
    n, dist = _unpack(ctx, ctx.call(*args), len(stops))
    _named(ctx, "n_accepted", lambda: ctx.assert_equal(n, expected[0]))
    _named(ctx, "dist", lambda: ctx.assert_close(dist, expected[1], dtype=torch.float64, rtol=1e-12, atol=1e-18))


GRID = 200  # uniforms (m + 0.5) / GRID: each acceptance frequency is within 0.5 / GRID of min(1, p/q)


@check(
    "speculative sampling reproduces the target: P(accept x) q(x) + P(reject) dist = p, over a grid of uniforms (one draft token)",
    zh="投机采样复现目标分布：P(accept x) q(x) + P(reject) dist = p，在一组均匀随机数网格上验证（一个 draft token）",
    teaches=["inference.speculative_acceptance"],
)
def reproduces_target(ctx):
    dtype, (_, _, v), closeness = ctx.draw(st.tuples(st.sampled_from(DTYPES), SIZES, st.sampled_from([0.5, 2.0])))
    v = max(v, 2)
    _, q, p, _ = _inputs(ctx, dtype, 1, 1, v, closeness)
    # one row per (draft token x, uniform): every token, each tried with GRID uniforms
    tokens = torch.arange(v).repeat_interleave(GRID).unsqueeze(1)  # (V*GRID, 1)
    u = ((torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID).repeat(v).unsqueeze(1).to(dtype)
    n, dist = _unpack(ctx, ctx.call(tokens, q.expand(v * GRID, 1, v), p.expand(v * GRID, 2, v), u), v * GRID)
    if (
        not isinstance(n, torch.Tensor)
        or tuple(n.shape) != (v * GRID,)
        or not isinstance(dist, torch.Tensor)
        or tuple(dist.shape) != (v * GRID, v)
    ):
        ctx.fail(
            f"expected n_accepted of shape ({v * GRID},) and dist of shape ({v * GRID}, {v}); "
            f"got {tuple(getattr(n, 'shape', ()))} and {tuple(getattr(dist, 'shape', ()))}"
        )
    accepted = n.reshape(v, GRID).double().mean(dim=1)  # how often each draft token was kept
    q0, p0 = q[0, 0].double(), p[0, 0].double()
    mixture = q0 * accepted  # emitted as the accepted draft token
    rejected = (n == 0).nonzero().flatten()
    if len(rejected):  # emitted from the corrected distribution (the same whichever token was rejected)
        mixture = mixture + (1 - mixture.sum()) * dist[int(rejected[0])].double()
    # grid error at most 1 / GRID per entry; 2 / GRID also absorbs a uniform landing on p/q itself
    _named(
        ctx,
        "the distribution of the emitted token, P(accept x) q(x) + P(reject) dist(x)",
        lambda: ctx.assert_close(mixture, p0, dtype=torch.float64, rtol=0.0, atol=2.0 / GRID),
    )


# The plain loop, as the reference writes it; each wrong answer below but the vectorised one is this
# with one bug put in.
_LOOP = """
import torch

def speculative_accept(draft_tokens, draft_probs, target_probs, uniforms):
    batch, gamma = draft_tokens.shape
    n_acc = torch.zeros(batch, dtype=torch.int64)
    dist = torch.empty(batch, target_probs.shape[-1], dtype=target_probs.dtype)
    for b in range(batch):
        n = 0
        while n < gamma:
            x = draft_tokens[b, n]
            if uniforms[b, n] > target_probs[b, n, x] / draft_probs[b, n, x]:
                break
            n += 1
        n_acc[b] = n
        if n < gamma:
            r = torch.clamp(target_probs[b, n] - draft_probs[b, n], min=0)
            dist[b] = r / r.sum()
        else:
            dist[b] = target_probs[b, gamma]
    return n_acc, dist
"""


WRONG_ANSWERS = {
    "ratio reversed: accepts when u <= q(x) / p(x) (mixing up which model is p)": edited(
        _LOOP,
        ("target_probs[b, n, x] / draft_probs[b, n, x]", "draft_probs[b, n, x] / target_probs[b, n, x]"),
    ),
    "resamples from max(0, q - p), the draft's excess, instead of max(0, p - q)": edited(
        _LOOP,
        (
            "torch.clamp(target_probs[b, n] - draft_probs[b, n], min=0)",
            "torch.clamp(draft_probs[b, n] - target_probs[b, n], min=0)",
        ),
    ),
    "counts every accepted draft token instead of stopping at the first rejection": """
import torch

def speculative_accept(draft_tokens, draft_probs, target_probs, uniforms):
    gamma = draft_tokens.shape[1]
    p_x = target_probs[:, :gamma].gather(-1, draft_tokens[..., None])[..., 0]
    q_x = draft_probs.gather(-1, draft_tokens[..., None])[..., 0]
    ok = uniforms <= p_x / q_x
    n_acc = ok.sum(dim=1)
    first_bad = torch.where(ok.all(dim=1), gamma, (~ok).int().argmax(dim=1))
    dist = []
    for b in range(draft_tokens.shape[0]):
        n = int(first_bad[b])
        if n < gamma:
            r = (target_probs[b, n] - draft_probs[b, n]).clamp(min=0)
            dist.append(r / r.sum())
        else:
            dist.append(target_probs[b, gamma])
    return n_acc, torch.stack(dist)
""",
    "forgets to normalise the residual max(0, p - q)": edited(
        _LOOP,
        (
            "            r = torch.clamp(target_probs[b, n] - draft_probs[b, n], min=0)\n            dist[b] = r / r.sum()",
            "            dist[b] = torch.clamp(target_probs[b, n] - draft_probs[b, n], min=0)",
        ),
    ),
    "all accepted: returns the target distribution at the last draft position, not the extra one p_G": edited(
        _LOOP,
        ("dist[b] = target_probs[b, gamma]", "dist[b] = target_probs[b, gamma - 1]"),
    ),
    "never tests the last draft (loop to G - 1, then accepts it)": edited(
        _LOOP,
        ("        while n < gamma:\n", "        while n < gamma - 1:\n"),
        ("        n_acc[b] = n\n", "        if n == gamma - 1:\n            n = gamma\n        n_acc[b] = n\n"),
    ),
    "stops every row at the batch's first rejection (n = the smallest over the rows)": edited(
        _LOOP,
        (
            "    return n_acc, dist",
            "    n_min = int(n_acc.min())\n    for b in range(batch):\n"
            "        if n_min < gamma:\n            r = torch.clamp(target_probs[b, n_min] - draft_probs[b, n_min], min=0)\n"
            "            dist[b] = r / r.sum()\n    return torch.full_like(n_acc, n_min), dist",
        ),
    ),
    "normalises the residual in float32 (.float() on float64 input), cast back": edited(
        _LOOP,
        ("            dist[b] = r / r.sum()", "            dist[b] = (r.float() / r.float().sum()).to(r.dtype)"),
    ),
    "normalises the residual with a softmax instead of dividing by its sum": edited(
        _LOOP,
        ("            dist[b] = r / r.sum()", "            dist[b] = torch.softmax(r, dim=-1)"),
    ),
}

ALTERNATIVES = {
    "vectorised: u * q <= p per position, a cumulative product for 'all accepted so far', one gather for the rows": """
import torch

def speculative_accept(draft_tokens, draft_probs, target_probs, uniforms):
    batch, gamma = draft_tokens.shape
    idx = draft_tokens.unsqueeze(-1)
    p_x = target_probs[:, :gamma].gather(-1, idx).squeeze(-1)  # (B, G)
    q_x = draft_probs.gather(-1, idx).squeeze(-1)
    accept = uniforms * q_x <= p_x  # the same test as u <= p/q, without dividing
    n = accept.long().cumprod(dim=1).sum(dim=1)  # accepted before the first rejection
    residual = (target_probs[:, :gamma] - draft_probs).clamp(min=0)
    residual = residual / residual.sum(dim=-1, keepdim=True).clamp(min=torch.finfo(residual.dtype).tiny)
    options = torch.cat([residual, target_probs[:, gamma:]], dim=1)  # (B, G+1, V): row G is the extra token
    dist = options[torch.arange(batch), n]
    return n, dist
""",
}
