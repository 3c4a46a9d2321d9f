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
`reproduces_target` compares the frequencies of the first two tokens over 4000 runs with the
target's exact probabilities (Leviathan et al., Appendix A.1).
"""

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


@sandboxed
def run_decode(solution, target_table, draft_table, prompt, gamma, max_new_tokens, seed, repeats=1):
    """The submission `repeats` times with one generator seeded `seed`; returns (outputs, target calls)."""
    calls = [0]

    def target(seq):
        calls[0] += 1
        return tiny_probs(target_table, seq)

    def draft(seq):
        return tiny_probs(draft_table, seq)

    torch.manual_seed(seed + 1)  # the global RNG: a stream other than the generator's
    generator = torch.Generator().manual_seed(seed)
    outs = [solution(target, draft, prompt, gamma, max_new_tokens, generator) for _ in range(repeats)]
    return outs, calls[0]


def make_tables(ctx, vocab, distance):
    """Target and draft tables; `distance` 0 makes the draft equal to the target."""
    target = {
        "now": ctx.randn(vocab, vocab, dtype=torch.float64, scale=1.5),
        "before": ctx.randn(vocab, vocab, dtype=torch.float64, scale=0.7),
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


RUNS = 4000
TOLERANCE = 0.035  # about 5 standard deviations of a frequency estimated from 4000 runs


@check(
    "the output follows the target's distribution: frequencies of the first two tokens over 4000 runs (exact probabilities, V = 3)",
    zh="输出服从 target 的分布：4000 次运行中前两个 token 的频率与精确概率比较（V = 3）",
    examples=2,
    teaches=["inference.speculative_acceptance", "inference.speculative_decoding"],
)
def reproduces_target(ctx):
    gamma, seed = ctx.draw(st.tuples(st.integers(1, 3), st.integers(0, 2**31 - 2)))
    target_table, draft_table = make_tables(ctx, 3, 2.0)
    prompt = ctx.randint(0, 3, (2,))
    outs, _ = ctx.run("run_decode", target_table, draft_table, prompt, gamma, 2, seed, RUNS)
    counts = torch.zeros(3, 3, dtype=torch.float64)
    for out in outs:
        counts[int(out[2]), int(out[3])] += 1
    first = tiny_probs(target_table, prompt)[-1]
    exact = torch.stack([first[a] * tiny_probs(target_table, torch.cat([prompt, torch.tensor([a])]))[-1] for a in range(3)])
    worst = float((counts / RUNS - exact).abs().max())
    if worst > TOLERANCE:
        ctx.fail(
            f"over {RUNS} runs the first two new tokens have frequencies {[round(x, 3) for x in (counts / RUNS).flatten().tolist()]}; "
            f"the target gives {[round(x, 3) for x in exact.flatten().tolist()]} (largest gap {worst:.3f} > {TOLERANCE})"
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
