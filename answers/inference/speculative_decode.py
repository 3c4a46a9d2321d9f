"""inference.speculative_decode — speculative sampling, whole loop (draft, verify, accept or resample, bonus token).

speculative_decode(target, draft, prompt, gamma, max_new_tokens, generator): prompt int64 (T,);
target(seq) and draft(seq), seq int64 (L,), return float64 probabilities (L, V), row i the
distribution of the token after seq[:i + 1]. A round: gamma draft tokens, each one
torch.multinomial(q, 1, generator) from the draft's last row; one target call on the sequence plus
the drafts; for i = 0.. one u = torch.rand(1, generator=generator, dtype=torch.float64) each,
accepting draft i iff u <= p_i(x_i) / q_i(x_i), stopping at the first rejection; then one more token
from norm(max(0, p_n - q_n)) at the first rejected n, or from p_gamma (the bonus) when all were
accepted. Rounds repeat until max_new_tokens new tokens; the output is cut there. Returns int64
(T + max_new_tokens,).

The `run_decode` driver wraps the recorded tiny models (`tiny_probs`: softmax of a table over the
last two tokens) and seeds the global RNG away from the generator's seed. Regimes, each run every
time by `boundary_regimes`: the draft equal to the target (every draft accepted: bonus tokens), a
draft far from the target (early rejections), gamma = 1, gamma > max_new_tokens, max_new_tokens 0
and 1, a one-token prompt, V = 2. `one_target_pass` counts the target's calls (one a round), and
`reproduces_target` compares the frequencies of the first two tokens over 500 runs with gamma = 1
and 500 with gamma = 2 with the target's exact probabilities (Leviathan et al., Appendix A.1); its
`count_first_two` driver runs the submission 500 times inside the sandbox and returns the counts.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = []


def reference(target, draft, prompt, gamma, max_new_tokens, generator=None):
    seq = prompt.tolist()
    t = len(seq)
    while len(seq) - t < max_new_tokens:
        drafts, qs = [], []
        for _ in range(gamma):
            q = draft(torch.tensor(seq + drafts))[-1].double()  # the draft's next-token distribution
            drafts.append(int(torch.multinomial(q, 1, generator=generator)))
            qs.append(q)
        # one target pass: row len(seq) - 1 + i scores the position of draft i; the last row is the bonus
        p = target(torch.tensor(seq + drafts)).double()[len(seq) - 1 :]  # (gamma + 1, V)
        n = 0
        while n < gamma:
            u = float(torch.rand(1, generator=generator, dtype=torch.float64))
            if u > p[n, drafts[n]] / qs[n][drafts[n]]:  # rejected with probability 1 - p/q
                break
            n += 1
        seq += drafts[:n]
        if n < gamma:
            residual = (p[n] - qs[n]).clamp(min=0)
            dist = residual / residual.sum()
        else:
            dist = p[gamma]
        seq.append(int(torch.multinomial(dist, 1, generator=generator)))
    return torch.tensor(seq[: t + max_new_tokens], dtype=torch.int64)


def tiny_probs(table, seq):
    """(L, V) next-token probabilities from each position's token and the one before it."""
    seq = torch.as_tensor(seq, dtype=torch.int64).reshape(-1)
    before = torch.cat([seq[:1], seq[:-1]])
    return torch.softmax(table["now"][seq] + table["before"][before], dim=-1)


def tiny_models(target_table, draft_table, seed):
    """target and draft over the tables, the target's call count, and a generator seeded `seed`
    (the global RNG seeded away from it)."""
    calls = [0]

    def target(seq):
        calls[0] += 1
        return tiny_probs(target_table, seq)

    def draft(seq):
        return tiny_probs(draft_table, seq)

    torch.manual_seed(seed + 1)  # the global RNG: a stream other than the generator's
    return target, draft, calls, torch.Generator().manual_seed(seed)


@sandboxed
def run_decode(solution, target_table, draft_table, prompt, gamma, max_new_tokens, seed):
    """The submission once with a generator seeded `seed`; returns ([output], target calls)."""
    target, draft, calls, generator = tiny_models(target_table, draft_table, seed)
    out = solution(target, draft, prompt, gamma, max_new_tokens, generator)
    return [out], calls[0]


@sandboxed
def count_first_two(solution, target_table, draft_table, prompt, gamma, seed, runs):
    """The submission `runs` times (max_new_tokens 2) with one generator seeded `seed`, in the
    sandbox (one crossing, not `runs`): the (V, V) counts of its first two new tokens, and the
    first output that is not T + 2 tokens of the vocabulary (None when every one was)."""
    target, draft, _, generator = tiny_models(target_table, draft_table, seed)
    vocab, t = target_table["now"].shape[0], len(prompt)
    counts = [[0] * vocab for _ in range(vocab)]
    for _ in range(runs):
        out = solution(target, draft, prompt, gamma, 2, generator)
        if isinstance(out, torch.Tensor) and out.shape == (t + 2,):
            a, b = int(out[t]), int(out[t + 1])
            if 0 <= a < vocab and 0 <= b < vocab:
                counts[a][b] += 1
                continue
        return torch.tensor(counts), out
    return torch.tensor(counts), None


def make_tables(ctx, vocab, distance, scale=(1.5, 0.7)):
    """Target and draft tables; `distance` 0 makes the draft equal to the target; `scale`: the
    spread of the target's logits (from the token, from the one before)."""
    target = {
        "now": ctx.randn(vocab, vocab, dtype=torch.float64, scale=scale[0]),
        "before": ctx.randn(vocab, vocab, dtype=torch.float64, scale=scale[1]),
    }
    draft = {name: w + distance * ctx.randn(vocab, vocab, dtype=torch.float64) for name, w in target.items()}
    return target, draft


def _expected(ctx, target_table, draft_table, prompt, gamma, max_new, seed):
    """The reference's output and how many target passes it made."""
    calls = [0]

    def target(seq):
        calls[0] += 1
        return tiny_probs(target_table, seq)

    out = ctx.reference(
        target, lambda seq: tiny_probs(draft_table, seq), prompt, gamma, max_new, torch.Generator().manual_seed(seed)
    )
    return out, calls[0]


def _judge(ctx, target_table, draft_table, prompt, gamma, max_new, seed, what=""):
    got = ctx.run("run_decode", target_table, draft_table, prompt, gamma, max_new, seed)
    expected, passes = _expected(ctx, target_table, draft_table, prompt, gamma, max_new, seed)
    try:
        ctx.assert_equal(got[0][0], expected)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" if what else str(exc)) from None
    return got[1], passes


@check(
    "matches the reference token for token (random vocabularies, prompts, gamma, lengths, drafts near and far from the target)",
    zh="与参考实现逐个 token 一致（随机的词表、prompt、gamma、生成长度，draft 与 target 接近和相差较远）",
    teaches=["inference.speculative_decoding", "inference.speculative_acceptance"],
)
def matches_reference(ctx):
    vocab, t, gamma, max_new, distance, seed = ctx.draw(
        st.tuples(
            st.integers(2, 12),
            st.integers(1, 4),
            st.integers(1, 5),
            st.integers(0, 12),
            st.sampled_from([0.0, 0.3, 1.0, 3.0]),
            st.integers(0, 2**31 - 2),
        )
    )
    target_table, draft_table = make_tables(ctx, vocab, distance)
    prompt = ctx.randint(0, vocab, (t,))
    _judge(ctx, target_table, draft_table, prompt, gamma, max_new, seed)


@check(
    "boundary regimes, every run: draft = target (bonus tokens), a far draft (early rejections), gamma = 1, "
    "gamma > max_new_tokens, max_new_tokens 0 and 1, a one-token prompt, V = 2",
    zh="每次都测的边界情形：draft 等于 target（每轮都有 bonus token），相差很远的 draft（很早就被拒），gamma = 1，"
    "gamma > max_new_tokens，max_new_tokens 为 0 和 1，只有一个 token 的 prompt，V = 2",
    examples=1,
    teaches=["inference.speculative_decoding", "inference.speculative_acceptance"],
)
def boundary_regimes(ctx):
    seed = ctx.draw(st.integers(0, 2**31 - 2))
    cases = [
        ("draft = target: every draft accepted, a bonus token each round", 8, 3, 4, 15, 0.0),
        ("a draft far from the target: early rejections", 8, 3, 4, 15, 3.0),
        ("a draft near the target, gamma 3", 10, 2, 3, 14, 0.4),
        ("gamma = 1", 6, 3, 1, 10, 1.0),
        ("gamma = 8 > max_new_tokens = 5 (the output is cut)", 6, 3, 8, 5, 0.5),
        ("max_new_tokens = 1", 6, 3, 3, 1, 1.0),
        ("max_new_tokens = 0: the prompt, as a new tensor", 6, 3, 3, 0, 1.0),
        ("a one-token prompt", 6, 1, 3, 9, 1.0),
        ("V = 2", 2, 3, 3, 12, 1.0),
    ]
    for what, vocab, t, gamma, max_new, distance in cases:
        target_table, draft_table = make_tables(ctx, vocab, distance)
        prompt = ctx.randint(0, vocab, (t,))
        _judge(ctx, target_table, draft_table, prompt, gamma, max_new, seed, what)


@check(
    "verifies with one target pass a round (the target's calls counted)",
    zh="每一轮只用一次 target 前向来验证（统计 target 的调用次数）",
    teaches=["inference.speculative_decoding"],
)
def one_target_pass(ctx):
    gamma, distance, seed = ctx.draw(st.tuples(st.integers(2, 5), st.sampled_from([0.0, 0.5, 2.0]), st.integers(0, 2**31 - 2)))
    target_table, draft_table = make_tables(ctx, 7, distance)
    prompt = ctx.randint(0, 7, (3,))
    calls, passes = _judge(ctx, target_table, draft_table, prompt, gamma, 12, seed)
    if calls != passes:
        ctx.fail(
            f"the target was called {calls} times for {passes} rounds; verify all gamma drafts (and get the "
            "bonus distribution) from one call on the sequence plus the drafts"
        )


RUNS = 500  # runs of each regime (gamma = 1, gamma = 2) in each example
EXAMPLES = 2
FALSE_REJECTION = 1e-6  # the most a correct submission may fail this check with (both examples)
# Each example tests, for both gammas, the 9 pairs of first two tokens and the 3 first tokens, each
# count against both tails of its exact binomial distribution, Binomial(RUNS, p). Under a correct
# submission a tail probability at or below a falls with probability at most a (a discrete tail),
# so with a = FALSE_REJECTION / 96 for each of the EXAMPLES * 2 * 12 * 2 = 96 one-sided tests the
# union bound keeps a false rejection below 1e-6, whatever the tables.
# The tables: a flatter target than elsewhere (logit scales 1.0 and 0.5) and a draft far from it
# (distance 4): drafts are often rejected and every pair of tokens is likely, where the acceptance
# rule, the residual and the bonus token all show in the frequencies.
# Power, from the exact output distributions of the wrong answers below that change the
# distribution, enumerated for 1000 tables drawn as here and bounded by each table's most telling
# cell: a run of this check misses "accepts deterministically" with probability < 1e-9,
# "resamples from p" 4.5e-5, "off by one" 6.5e-7, "ratio reversed" < 1e-9, "bonus token from the
# draft" 1.2e-2 (it shows only with the bonus among the first two tokens: gamma = 1), "keeps the
# rejected draft" < 1e-9. The former check (4000 runs, one gamma drawn from 1-3 per example, two
# examples, the tables of the other checks, every |frequency - p| <= 0.035) missed them with
# 2.8e-4, 5.6e-3, 2.8e-4, 5.4e-4, 0.48 and 7.5e-4, with four times the runs. gamma = 3 is not run:
# it gives the first two tokens the distribution of gamma = 2 (a third draft is never among them).
TAIL = FALSE_REJECTION / (EXAMPLES * 2 * 12 * 2)


def _binomial_tails(count, n, p):
    """P(X <= count) and P(X >= count) for X ~ Binomial(n, p), 0 < p < 1."""
    k = torch.arange(n + 1, dtype=torch.float64)
    log_pmf = math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
    pmf = log_pmf.exp()
    return float(pmf[: count + 1].sum()), float(pmf[count:].sum())


def first_two_exact(target_table, prompt):
    """The target's exact probabilities of the first two new tokens, (V, V)."""
    first = tiny_probs(target_table, prompt)[-1]
    vocab = first.shape[0]
    return torch.stack([first[a] * tiny_probs(target_table, torch.cat([prompt, torch.tensor([a])]))[-1] for a in range(vocab)])


@check(
    "the output follows the target's distribution: frequencies of the first two tokens over 500 runs with gamma = 1 "
    "(the bonus token second) and 500 with gamma = 2, against exact probabilities (V = 3)",
    zh="输出服从 target 的分布：gamma = 1（第二个 token 是 bonus token）和 gamma = 2 各运行 500 次，"
    "前两个 token 的频率与精确概率比较（V = 3）",
    examples=EXAMPLES,
    teaches=["inference.speculative_acceptance", "inference.speculative_decoding"],
)
def reproduces_target(ctx):
    seed = ctx.draw(st.integers(0, 2**31 - 3))
    for gamma in (1, 2):
        target_table, draft_table = make_tables(ctx, 3, 4.0, scale=(1.0, 0.5))
        prompt = ctx.randint(0, 3, (2,))
        counts, bad = ctx.run("count_first_two", target_table, draft_table, prompt, gamma, seed + gamma, RUNS)
        if bad is not None:
            ctx.fail(f"with max_new_tokens = 2 and a prompt of 2 tokens it returned {bad!r:.200}; expected 4 tokens of 0..2")
        exact = first_two_exact(target_table, prompt)
        cells = [(f"the pair ({a}, {b})", int(counts[a, b]), float(exact[a, b])) for a in range(3) for b in range(3)]
        cells += [(f"the first token {a}", int(counts[a].sum()), float(exact[a].sum())) for a in range(3)]
        tail, what, seen, p = min((min(_binomial_tails(c, RUNS, p)), what, c, p) for what, c, p in cells)
        if tail <= TAIL:
            ctx.fail(
                f"with gamma = {gamma}, over {RUNS} runs the first two new tokens have frequencies "
                f"{[round(x, 3) for x in (counts / RUNS).flatten().tolist()]}; the target gives "
                f"{[round(x, 3) for x in exact.flatten().tolist()]}: {what} came {seen} times where {RUNS * p:.1f} are "
                f"expected, a binomial tail of {tail:.1e} (a correct answer fails this check with probability below {FALSE_REJECTION:g})"
            )


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def speculative_decode(target, draft, prompt, gamma, max_new_tokens, generator=None):
    seq = prompt.tolist()
    T = len(seq)
    while len(seq) - T < max_new_tokens:
        drafted, qs = [], []
        for _ in range(gamma):
            q = draft(torch.tensor(seq + drafted))[-1]
            drafted.append(torch.multinomial(q, 1, generator=generator).item())
            qs.append(q)
        p = target(torch.tensor(seq + drafted))[len(seq) - 1:]
        n = 0
        for i in range(gamma):
            u = torch.rand(1, generator=generator, dtype=torch.float64).item()
            if u <= p[i, drafted[i]] / qs[i][drafted[i]]:
                n += 1
            else:
                break
        seq += drafted[:n]
        if n < gamma:
            dist = torch.clamp(p[n] - qs[n], min=0)
            dist = dist / dist.sum()
        else:
            dist = p[gamma]
        seq.append(torch.multinomial(dist, 1, generator=generator).item())
    return torch.tensor(seq[: T + max_new_tokens])
"""

WRONG_ANSWERS = {
    "accepts deterministically when p(x) >= q(x), no uniform drawn": edited(
        _PLAIN,
        (
            "            u = torch.rand(1, generator=generator, dtype=torch.float64).item()\n"
            "            if u <= p[i, drafted[i]] / qs[i][drafted[i]]:",
            "            if p[i, drafted[i]] >= qs[i][drafted[i]]:",
        ),
    ),
    "on rejection resamples from the target p instead of norm(max(0, p - q))": edited(
        _PLAIN, ("dist = torch.clamp(p[n] - qs[n], min=0)", "dist = p[n].clone()")
    ),
    "no bonus token: when every draft is accepted nothing more is sampled": edited(
        _PLAIN,
        (
            "        seq.append(torch.multinomial(dist, 1, generator=generator).item())",
            "        if n < gamma:\n            seq.append(torch.multinomial(dist, 1, generator=generator).item())",
        ),
    ),
    "off by one: draft i verified with the target row after it (p rows from len(seq))": edited(
        _PLAIN,
        ("p = target(torch.tensor(seq + drafted))[len(seq) - 1:]", "p = target(torch.tensor(seq + drafted + [0]))[len(seq):]"),
    ),
    "acceptance ratio reversed: u <= q(x) / p(x)": edited(
        _PLAIN, ("if u <= p[i, drafted[i]] / qs[i][drafted[i]]:", "if u <= qs[i][drafted[i]] / p[i, drafted[i]]:")
    ),
    "the uniforms come from the global RNG (torch.rand without the generator)": edited(
        _PLAIN, ("torch.rand(1, generator=generator, dtype=torch.float64)", "torch.rand(1, dtype=torch.float64)")
    ),
    "the bonus token drawn from the draft's distribution": edited(
        _PLAIN, ("            dist = p[gamma]", "            dist = draft(torch.tensor(seq))[-1]")
    ),
    "keeps the rejected draft token before the resampled one": edited(
        _PLAIN, ("        seq += drafted[:n]", "        seq += drafted[: n + 1]")
    ),
    "calls the target once per draft token instead of one pass a round": edited(
        _PLAIN,
        (
            "        p = target(torch.tensor(seq + drafted))[len(seq) - 1:]",
            "        p = torch.stack([target(torch.tensor(seq + drafted[:i]))[-1] for i in range(gamma + 1)])",
        ),
    ),
}

ALTERNATIVES = {
    "drafting and verification as small helpers, u * q <= p, indices into the target's rows": """
import torch

def _draft_tokens(draft, seq, gamma, generator):
    toks, dists = [], []
    for _ in range(gamma):
        q = draft(torch.tensor(seq + toks, dtype=torch.long))[-1]
        toks.append(int(torch.multinomial(q, num_samples=1, generator=generator)[0]))
        dists.append(q)
    return toks, dists

def speculative_decode(target, draft, prompt, gamma, max_new_tokens, generator=None):
    out = [int(x) for x in prompt]
    goal = len(out) + max_new_tokens
    while len(out) < goal:
        toks, dists = _draft_tokens(draft, out, gamma, generator)
        probs = target(torch.tensor(out + toks, dtype=torch.long))
        base = len(out) - 1
        for i, (x, q) in enumerate(zip(toks, dists)):
            u = torch.rand(1, generator=generator, dtype=torch.float64)[0]
            p = probs[base + i]
            if u * q[x] > p[x]:
                r = (p - q).clamp_min(0)
                out.append(int(torch.multinomial(r / r.sum(), 1, generator=generator)[0]))
                break
            out.append(x)
        else:
            out.append(int(torch.multinomial(probs[base + gamma], 1, generator=generator)[0]))
    return torch.tensor(out[:goal], dtype=torch.long)
""",
}
