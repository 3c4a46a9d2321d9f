"""alignment.kl_estimators — exact KL(p || q) and Schulman's k1, k2, k3 estimators: reference, checks, wrong answers.

kl_estimators(p_logits, q_logits, logp, logq): p_logits and q_logits (B, V) logits of two
distributions over a vocabulary of V tokens (p the sampling policy, q the reference); logp and logq
(B, N) the log-probabilities under p and under q of N tokens sampled from p in each row. Returns a
tuple (exact, k1, k2, k3) of (B,) tensors in the inputs' dtype:
    exact = sum_v p_v (log p_v - log q_v)              (KL(p || q), log-probs from log_softmax)
    with log r = logq - logp (r = q / p at samples from p), averaged over the N samples:
    k1 = -log r,  k2 = (log r)^2 / 2,  k3 = (r - 1) - log r
(Schulman 2020, "Approximating KL Divergence", http://joschu.net/blog/kl-approx.html; k3 is the
estimator GRPO uses, Shao et al. 2024, DeepSeekMath, eq. 4). Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- V = 1 (every KL is 0) and N = 1 (averaging r before the log equals k1 there);
- p == q (every estimator 0: a sign or ratio bug is invisible, so it is paired with p != q);
- logits spread over 200 nats in float32: softmax underflows to 0 and log(softmax) is -inf, so
  0 * -inf = NaN in the exact KL; log_softmax stays finite;
- log-ratios of +-20 per sample (k3 is about e^20 or 19; k1 and k3 differ widely) and of 1e-4
  (k3 about 5e-9: all estimators agree to first order only).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited


def reference(p_logits, q_logits, logp, logq):
    log_p = torch.log_softmax(p_logits, dim=-1)  # (B, V), finite even where softmax underflows
    log_q = torch.log_softmax(q_logits, dim=-1)
    exact = (log_p.exp() * (log_p - log_q)).sum(dim=-1)  # (B,): KL(p || q), the sum over the vocabulary
    log_r = logq - logp  # (B, N): log(q / p) at samples from p
    k1 = (-log_r).mean(dim=-1)
    k2 = (log_r.square() / 2).mean(dim=-1)
    k3 = (torch.expm1(log_r) - log_r).mean(dim=-1)  # expm1 keeps r - 1 exact for small log r
    return exact, k1, k2, k3


DTYPES = [torch.float32, torch.float64]
NAMES = ("exact", "k1", "k2", "k3")


def _inputs(ctx, dtype, b, v, n, spread=2.0, shift=0.5):
    """Logits of p and of a nearby q, N tokens sampled from p per row and their log-probs under both."""
    p_logits = ctx.randn(b, v, dtype=torch.float64, scale=spread)
    q_logits = p_logits + ctx.randn(b, v, dtype=torch.float64, scale=shift)
    p_logits, q_logits = p_logits.to(dtype).double(), q_logits.to(dtype).double()  # as the submission sees them
    tokens = torch.multinomial(torch.softmax(p_logits, dim=-1), n, replacement=True, generator=ctx.generator)
    logp = torch.log_softmax(p_logits, dim=-1).gather(1, tokens)
    logq = torch.log_softmax(q_logits, dim=-1).gather(1, tokens)
    return tuple(t.to(dtype) for t in (p_logits, q_logits, logp, logq))


def _compare(ctx, args, dtype, rtol=None, atol=None):
    out = ctx.call(*args)
    expected = ctx.reference(*args)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (exact, k1, k2, k3)")
    for name, got, want in zip(NAMES, out, expected):
        try:
            ctx.assert_close(got, want, dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:  # say which of the four is wrong
            raise CheckFailed(f"{name}: {exc}", exc.detail) from None


@check(
    "matches the reference (B 1 to 4, V 1 to 50, N 1 to 9 samples, float32/float64)",
    zh="与参考实现一致（B 为 1 到 4，V 为 1 到 50，N 为 1 到 9 个样本，float32/float64）",
    teaches=["alignment.grpo_kl_choice", "alignment.k3_kl_value"],
)
def matches_reference(ctx):
    dtype, b, v, n, shift = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 4),
            st.integers(1, 50),
            st.integers(1, 9),
            st.sampled_from([0.1, 0.5, 1.0, 2.0]),
        )
    )
    _compare(ctx, _inputs(ctx, dtype, b, v, n, shift=shift), dtype)


def _fixed_log_r(ctx, dtype, log_r):
    """(1, N) samples whose log q - log p are the given values, with one unrelated (p, q) pair of logits."""
    p_logits, q_logits, _, _ = _inputs(ctx, dtype, 1, 7, 1)
    logp = -(ctx.rand(1, len(log_r), dtype=torch.float64) * 3 + 0.5)
    logq = logp + torch.tensor([log_r], dtype=torch.float64)
    return p_logits, q_logits, logp.to(dtype), logq.to(dtype)


@check(
    "boundary cases every run: V = 1, N = 1, p == q, logits spread over 200 nats, log-ratios of +-20 and 1e-4 (float32 and float64)",
    zh="每次都测的边界情况：V = 1、N = 1、p == q、logits 跨度 200 nats、log-ratio 为 +-20 和 1e-4（float32 和 float64）",
    examples=1,
    teaches=["alignment.k3_kl_value"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        _compare(ctx, _inputs(ctx, dtype, 2, 1, 5), dtype)  # V = 1: one token, every KL 0
        _compare(ctx, _inputs(ctx, dtype, 3, 6, 1, shift=1.0), dtype)  # N = 1
        _compare(ctx, _inputs(ctx, dtype, 1, 1, 1), dtype)  # everything of size 1
        p_logits, _, logp, _ = _inputs(ctx, dtype, 2, 9, 4)
        _compare(ctx, (p_logits, p_logits.clone(), logp, logp.clone()), dtype)  # p == q: all zero
        _compare(ctx, _inputs(ctx, dtype, 2, 40, 6, spread=60.0, shift=20.0), dtype)  # softmax underflows
        _compare(ctx, _fixed_log_r(ctx, dtype, [20.0, -20.0, 3.0, -0.5, 0.25]), dtype)
        _compare(ctx, _fixed_log_r(ctx, dtype, [1e-4, -1e-4, 2e-4]), dtype, atol=1e-9 if dtype == torch.float64 else None)


@check(
    "k1 and k3 estimate KL(p || q): averaged over 20000 samples from p they come within 4 standard errors of the exact value",
    zh="k1 和 k3 估计的是 KL(p || q)：对 p 的 20000 个样本取平均，与精确值相差在 4 个标准误以内",
    examples=3,
    teaches=["alignment.grpo_kl_choice"],
)
def unbiased(ctx):
    v = ctx.draw(st.integers(2, 12))
    p_logits, q_logits, logp, logq = _inputs(ctx, torch.float64, 1, v, 20000, shift=0.7)
    out = ctx.call(p_logits, q_logits, logp, logq)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        ctx.fail(f"returned {type(out).__name__}; expected a tuple (exact, k1, k2, k3)")
    exact = float(ctx.reference(p_logits, q_logits, logp, logq)[0][0])
    log_r = logq - logp
    for name, got, per_sample in (("k1", out[1], -log_r), ("k3", out[3], torch.expm1(log_r) - log_r)):
        stderr = float(per_sample.std()) / 20000**0.5
        value = float(got.reshape(-1)[0])
        if abs(value - exact) > 4 * stderr + 1e-12:
            ctx.fail(
                f"{name} = {value:.6g} over 20000 samples from p, but KL(p || q) = {exact:.6g} "
                f"(standard error {stderr:.2g}): it estimates something else"
            )


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch
import torch.nn.functional as F

def kl_estimators(p_logits, q_logits, logp, logq):
    log_p = F.log_softmax(p_logits, dim=-1)
    log_q = F.log_softmax(q_logits, dim=-1)
    exact = (log_p.exp() * (log_p - log_q)).sum(dim=-1)
    log_r = logq - logp
    r = torch.exp(log_r)
    k1 = (-log_r).mean(dim=-1)
    k2 = (log_r ** 2 / 2).mean(dim=-1)
    k3 = ((r - 1) - log_r).mean(dim=-1)
    return exact, k1, k2, k3
"""

WRONG_ANSWERS = {
    "ratio inverted: log r = logp - logq (r = p / q)": edited(_PLAIN, ("log_r = logq - logp", "log_r = logp - logq")),
    "k3 with the log term's sign flipped: (r - 1) + log r": edited(_PLAIN, ("((r - 1) - log_r)", "((r - 1) + log_r)")),
    "k2 without the 1/2: (log r)^2": edited(_PLAIN, ("log_r ** 2 / 2", "log_r ** 2")),
    "exact KL in the wrong direction: KL(q || p)": edited(
        _PLAIN, ("(log_p.exp() * (log_p - log_q))", "(log_q.exp() * (log_q - log_p))")
    ),
    "k1 averaged in probability space: -log(mean(r))": edited(
        _PLAIN, ("k1 = (-log_r).mean(dim=-1)", "k1 = -torch.log(r.mean(dim=-1))")
    ),
    "log(softmax(x)): -inf where softmax underflows, so 0 * -inf = NaN in the exact KL": edited(
        _PLAIN,
        ("log_p = F.log_softmax(p_logits, dim=-1)", "log_p = torch.log(F.softmax(p_logits, dim=-1))"),
        ("log_q = F.log_softmax(q_logits, dim=-1)", "log_q = torch.log(F.softmax(q_logits, dim=-1))"),
    ),
    "exact KL averaged over the vocabulary instead of summed": edited(
        _PLAIN, ("(log_p.exp() * (log_p - log_q)).sum(dim=-1)", "(log_p.exp() * (log_p - log_q)).mean(dim=-1)")
    ),
    "estimators summed over the samples instead of averaged": edited(
        _PLAIN,
        ("k1 = (-log_r).mean(dim=-1)", "k1 = (-log_r).sum(dim=-1)"),
        ("k2 = (log_r ** 2 / 2).mean(dim=-1)", "k2 = (log_r ** 2 / 2).sum(dim=-1)"),
        ("k3 = ((r - 1) - log_r).mean(dim=-1)", "k3 = ((r - 1) - log_r).sum(dim=-1)"),
    ),
}

ALTERNATIVES = {
    "cross-entropy form of the exact KL, k3 from r = q / p directly, sums divided by N": """
import torch

def kl_estimators(p_logits, q_logits, logp, logq):
    log_p = p_logits - torch.logsumexp(p_logits, dim=-1, keepdim=True)
    log_q = q_logits - torch.logsumexp(q_logits, dim=-1, keepdim=True)
    p = torch.softmax(p_logits, dim=-1)
    exact = (p * log_p).sum(-1) - (p * log_q).sum(-1)  # -H(p) + H(p, q)
    n = logp.shape[-1]
    diff = logp - logq  # log(p / q) = -log r
    ratio = torch.exp(-diff)
    k1 = diff.sum(-1) / n
    k2 = (0.5 * diff * diff).sum(-1) / n
    k3 = (ratio - 1 + diff).sum(-1) / n
    return exact, k1, k2, k3
""",
}
