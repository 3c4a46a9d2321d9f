"""inference.beam_search_full — the whole beam search with EOS, finished hypotheses and a length penalty.

beam_search(step_fn, prompt, num_beams, max_new_tokens, eos_id, length_penalty=1.0) -> list of up
to K (sequence int64 (T + n,), score float), best first. step_fn(seqs int64 (n, L)) -> float64
log-probs (n, V) of the next token of each row. The search starts from one beam (the prompt, sum 0).
Each step: every live beam's sum plus its log-probs; the 2K best of all n*V candidates (ties to the
smaller j*V + t), in order: an EOS candidate ranked in the first K becomes a finished hypothesis
(EOS appended), one ranked lower is dropped; the other candidates become the new live beams until
K of them. A hypothesis scores sum_logprobs / n**length_penalty, n = its new tokens with EOS counted
(the prompt is not); the K best hypotheses are kept. Stop when K hypotheses are kept (Hugging
Face's early_stopping=True), or after max_new_tokens steps: then the live beams join as unfinished
hypotheses (n = max_new_tokens) before the K best are returned.

The model the checks use is `tiny_step` (log-softmax of a table over the last two tokens, a position
term and a per-run bias of the EOS logit), wrapped by the `run_search` driver.

Regimes where implementations diverge, each run every time by `boundary_regimes`: EOS never likely
(only unfinished hypotheses), EOS the most likely first token (K finished at once), EOS likely
mid-search (finished and live hypotheses compete), K = 1, V = 2 (fewer than 2K candidates at the
first step), max_new_tokens = 1, a one-token prompt, length_penalty 0, 1, 2 and -0.5.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = []
CLOSE = {"rtol": 1e-9, "atol": 1e-12}  # float64 sums of up to 12 log-probs, added in any order


def reference(step_fn, prompt, num_beams, max_new_tokens, eos_id, length_penalty=1.0):
    k = num_beams
    beams = [(prompt.tolist(), 0.0)]  # live: (tokens, sum of the new tokens' log-probs)
    kept = []  # finished or final hypotheses: (score, tokens)

    def add(tokens, total, n_new):
        kept.append((total / n_new**length_penalty, tokens))
        if len(kept) > k:  # keep the K best, as Hugging Face's BeamHypotheses does
            kept.remove(min(kept, key=lambda h: h[0]))

    for step in range(max_new_tokens):
        log_probs = step_fn(torch.tensor([tokens for tokens, _ in beams])).double()  # (n, V)
        vocab = log_probs.shape[1]
        flat = (torch.tensor([s for _, s in beams], dtype=torch.float64)[:, None] + log_probs).reshape(-1)
        order = torch.sort(flat, descending=True, stable=True).indices[: 2 * k].tolist()
        live = []
        for rank, c in enumerate(order):
            j, t = divmod(c, vocab)
            if t == eos_id:
                if rank < k:  # an EOS below the top K would not have been a beam: dropped
                    add(beams[j][0] + [t], float(flat[c]), step + 1)
                continue
            live.append((beams[j][0] + [t], float(flat[c])))
            if len(live) == k:
                break
        beams = live
        if len(kept) >= k:  # early_stopping=True: K hypotheses are done
            break
    else:
        for tokens, total in beams:  # max_new_tokens reached: the live beams compete too
            add(tokens, total, max_new_tokens)
    kept.sort(key=lambda h: -h[0])
    return [(torch.tensor(tokens, dtype=torch.int64), score) for score, tokens in kept]


def tiny_step(weights, seqs):
    """Log-probs (n, V) from the last two tokens of each row, the length, and a bias on EOS."""
    seqs = torch.as_tensor(seqs, dtype=torch.int64)
    last = seqs[:, -1]
    before = seqs[:, -2] if seqs.shape[1] > 1 else last
    logits = weights["last"][last] + weights["before"][before] + weights["pos"][seqs.shape[1] % 4] + weights["bias"]
    return torch.log_softmax(logits, dim=-1)


@sandboxed
def run_search(solution, weights, prompt, num_beams, max_new_tokens, eos_id, kwargs):
    def step_fn(seqs):
        return tiny_step(weights, seqs)

    return solution(step_fn, prompt, num_beams, max_new_tokens, eos_id, **kwargs)


def make_weights(ctx, vocab, eos_id, eos_bias):
    bias = torch.zeros(vocab, dtype=torch.float64)
    bias[eos_id] = eos_bias
    return {
        "last": ctx.randn(vocab, vocab, dtype=torch.float64, scale=1.5),
        "before": ctx.randn(vocab, vocab, dtype=torch.float64, scale=0.7),
        "pos": ctx.randn(4, vocab, dtype=torch.float64, scale=0.5),
        "bias": bias,
    }


def _describe(hyps):
    return [(h[0].tolist(), round(float(h[1]), 6)) for h in hyps]


def _judge(ctx, weights, prompt, k, max_new, eos_id, kwargs, what=""):
    got = ctx.run("run_search", weights, prompt, k, max_new, eos_id, kwargs)
    expected = ctx.reference(lambda seqs: tiny_step(weights, seqs), prompt, k, max_new, eos_id, **kwargs)
    where = f"{what}: " if what else ""
    if not isinstance(got, (list, tuple)) or not all(isinstance(h, (list, tuple)) and len(h) == 2 for h in got):
        ctx.fail(f"{where}returned {type(got).__name__}; expected a list of (sequence, score) pairs, best first")
    if len(got) != len(expected):
        ctx.fail(
            f"{where}returned {len(got)} hypotheses; expected {len(expected)}\n"
            f"got      {_describe(got)}\nexpected {_describe(expected)}"
        )
    for i, ((seq, score), (want_seq, want_score)) in enumerate(zip(got, expected)):
        try:
            ctx.assert_equal(seq, want_seq)
            ctx.assert_close(float(score), want_score, **CLOSE)
        except CheckFailed as exc:
            raise CheckFailed(
                f"{where}hypothesis {i} differs: {exc}\ngot      {_describe(got)}\nexpected {_describe(expected)}"
            ) from None


@check(
    "matches the reference (random vocabularies, prompts, beam widths, EOS likelihood, length penalties)",
    zh="与参考实现一致（随机的词表、prompt、beam 宽度、EOS 出现的概率、长度惩罚）",
    teaches=["inference.beam_search", "inference.beam_length_penalty"],
)
def matches_reference(ctx):
    vocab, t, k, max_new, eos_bias, alpha = ctx.draw(
        st.tuples(
            st.integers(2, 9),
            st.integers(1, 4),
            st.integers(1, 4),
            st.integers(1, 8),
            st.sampled_from([-20.0, -1.0, 0.0, 1.0, 2.5]),
            st.sampled_from([None, 0.0, 1.0, 2.0, -0.5]),
        )
    )
    eos_id = int(ctx.randint(0, vocab, (1,)))
    weights = make_weights(ctx, vocab, eos_id, eos_bias)
    prompt = ctx.randint(0, vocab, (t,))
    kwargs = {} if alpha is None else {"length_penalty": alpha}
    _judge(ctx, weights, prompt, k, max_new, eos_id, kwargs)


@check(
    "boundary regimes, every run: EOS never, first and mid-search, K = 1, V = 2, max_new_tokens = 1, "
    "a one-token prompt, length_penalty 0, 1, 2 and -0.5",
    zh="每次都测的边界情形：EOS 从不出现、第一步就出现和在搜索中途出现，K = 1，V = 2，max_new_tokens = 1，"
    "只有一个 token 的 prompt，length_penalty 为 0、1、2 和 -0.5",
    examples=1,
    teaches=["inference.beam_length_penalty", "inference.beam_search"],
)
def boundary_regimes(ctx):
    ctx.draw(st.just(0))
    cases = [
        ("EOS never likely: only unfinished hypotheses at max_new_tokens", 7, 3, 3, 6, -30.0, {}),
        ("EOS the most likely first token: K hypotheses finish at once", 7, 3, 3, 6, 8.0, {}),
        ("EOS likely mid-search, length_penalty 1", 8, 3, 3, 9, 1.5, {"length_penalty": 1.0}),
        ("EOS likely mid-search, length_penalty 2 (long hypotheses favoured)", 8, 3, 4, 9, 1.5, {"length_penalty": 2.0}),
        ("EOS likely mid-search, length_penalty 0 (sums compared)", 8, 2, 3, 9, 1.0, {"length_penalty": 0.0}),
        ("EOS likely, length_penalty -0.5 (short hypotheses favoured)", 8, 2, 3, 9, 1.0, {"length_penalty": -0.5}),
        ("K = 1 (greedy with EOS)", 6, 3, 1, 8, 0.5, {}),
        ("V = 2: fewer than 2K candidates at the first step", 2, 2, 3, 6, 0.0, {}),
        ("max_new_tokens = 1", 6, 2, 3, 1, 0.5, {}),
        ("a one-token prompt", 7, 1, 3, 6, 1.0, {}),
        ("K = 4, EOS moderately likely, 10 steps", 9, 3, 4, 10, 0.8, {"length_penalty": 1.0}),
    ]
    for what, vocab, t, k, max_new, eos_bias, kwargs in cases:
        eos_id = vocab - 1
        weights = make_weights(ctx, vocab, eos_id, eos_bias)
        prompt = ctx.randint(0, vocab - 1, (t,))
        _judge(ctx, weights, prompt, k, max_new, eos_id, kwargs, what)


@check(
    "K = 1 without EOS is greedy decoding; hypotheses come best first, each scored sum / n ** length_penalty",
    zh="K = 1 且没有 EOS 时就是贪心解码；假设按分数从高到低排列，每个的分数是 sum / n ** length_penalty",
    teaches=["inference.beam_length_penalty", "inference.greedy_search"],
)
def greedy_and_scores(ctx):
    vocab, t, max_new, alpha = ctx.draw(
        st.tuples(st.integers(2, 9), st.integers(1, 4), st.integers(1, 8), st.sampled_from([0.0, 1.0, 2.0]))
    )
    eos_id = vocab - 1
    weights = make_weights(ctx, vocab, eos_id, -40.0)
    prompt = ctx.randint(0, vocab - 1, (t,))
    seq = prompt.tolist()
    total = 0.0
    for _ in range(max_new):
        log_probs = tiny_step(weights, torch.tensor([seq]))[0]
        seq.append(int(log_probs.argmax()))
        total += float(log_probs.max())
    got = ctx.run("run_search", weights, prompt, 1, max_new, eos_id, {"length_penalty": alpha})
    if not isinstance(got, (list, tuple)) or len(got) != 1:
        ctx.fail(f"returned {got!r}; expected one hypothesis for num_beams = 1")
    ctx.assert_equal(got[0][0], torch.tensor(seq))
    ctx.assert_close(float(got[0][1]), total / max_new**alpha, **CLOSE)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def beam_search(step_fn, prompt, num_beams, max_new_tokens, eos_id, length_penalty=1.0):
    K = num_beams
    beams = [(prompt.tolist(), 0.0)]
    done = []

    def finish(seq, logp, n):
        done.append((logp / n ** length_penalty, seq))
        done.sort(key=lambda h: -h[0])
        del done[K:]

    for step in range(max_new_tokens):
        logp = step_fn(torch.tensor([b[0] for b in beams]))
        V = logp.shape[-1]
        sums = torch.tensor([b[1] for b in beams], dtype=logp.dtype)[:, None] + logp
        flat = sums.reshape(-1)
        top = torch.sort(flat, descending=True, stable=True).indices[: 2 * K].tolist()
        new_beams = []
        for rank, idx in enumerate(top):
            beam, tok = idx // V, idx % V
            if tok == eos_id:
                if rank < K:
                    finish(beams[beam][0] + [tok], flat[idx].item(), step + 1)
                continue
            new_beams.append((beams[beam][0] + [tok], flat[idx].item()))
            if len(new_beams) == K:
                break
        beams = new_beams
        if len(done) >= K:
            return [(torch.tensor(s), sc) for sc, s in done]
    for seq, logp in beams:
        finish(seq, logp, max_new_tokens)
    return [(torch.tensor(s), sc) for sc, s in done]
"""

WRONG_ANSWERS = {
    "no length penalty: hypotheses scored by their sum of log-probs": edited(
        _PLAIN, ("done.append((logp / n ** length_penalty, seq))", "done.append((logp, seq))")
    ),
    "live beams carry the length-normalised score (sum / n ** alpha fed back into the running sum)": edited(
        _PLAIN,
        (
            "new_beams.append((beams[beam][0] + [tok], flat[idx].item()))",
            "new_beams.append((beams[beam][0] + [tok], flat[idx].item() / (step + 1) ** length_penalty))",
        ),
    ),
    "finished beams keep expanding (an EOS candidate also stays a live beam)": edited(
        _PLAIN,
        (
            "                    finish(beams[beam][0] + [tok], flat[idx].item(), step + 1)\n                continue\n",
            "                    finish(beams[beam][0] + [tok], flat[idx].item(), step + 1)\n",
        ),
    ),
    "EOS left out of the length (n = new tokens before EOS)": edited(
        _PLAIN,
        ("finish(beams[beam][0] + [tok], flat[idx].item(), step + 1)", "finish(beams[beam][0] + [tok], flat[idx].item(), step)"),
    ),
    "the prompt counted in the length (n = the whole sequence)": edited(
        _PLAIN, ("done.append((logp / n ** length_penalty, seq))", "done.append((logp / len(seq) ** length_penalty, seq))")
    ),
    "each beam keeps only its own best token (K greedy searches, not the best K of all K*V)": edited(
        _PLAIN,
        (
            "        top = torch.sort(flat, descending=True, stable=True).indices[: 2 * K].tolist()\n",
            "        best = sums.argmax(dim=-1) + torch.arange(len(beams)) * V\n"
            "        top = best[torch.sort(flat[best], descending=True, stable=True).indices].tolist()\n",
        ),
    ),
    "an EOS ranked below the top K still becomes a hypothesis": edited(
        _PLAIN,
        ("                if rank < K:\n                    finish(", "                if True:\n                    finish("),
    ),
    "at max_new_tokens the live beams are not considered (finished hypotheses only)": edited(
        _PLAIN, ("    for seq, logp in beams:\n        finish(seq, logp, max_new_tokens)\n", "")
    ),
    "stops at the first finished hypothesis instead of K": edited(_PLAIN, ("if len(done) >= K:", "if len(done) >= 1:")),
    "keeps every finished hypothesis instead of the K best": edited(_PLAIN, ("        del done[K:]\n", "")),
}

ALTERNATIVES = {
    "tensors for the live beams, candidates ranked with topk over (n*V), EOS by masking": """
import torch

def beam_search(step_fn, prompt, num_beams, max_new_tokens, eos_id, length_penalty=1.0):
    seqs = prompt.reshape(1, -1).clone()
    sums = torch.zeros(1, dtype=torch.float64)
    hyps = []
    for step in range(1, max_new_tokens + 1):
        logp = step_fn(seqs).double()
        n, V = logp.shape
        cand = (sums[:, None] + logp).reshape(-1)
        m = min(2 * num_beams, cand.numel())
        vals, idx = torch.sort(cand, descending=True, stable=True)
        vals, idx = vals[:m], idx[:m]
        is_eos = (idx % V) == eos_id
        for r in torch.nonzero(is_eos[:num_beams]).flatten().tolist():
            seq = torch.cat([seqs[idx[r] // V], torch.tensor([eos_id])])
            hyps.append((vals[r].item() / step ** length_penalty, seq))
        hyps = sorted(hyps, key=lambda h: h[0], reverse=True)[:num_beams]
        keep = torch.nonzero(~is_eos).flatten()[:num_beams]
        seqs = torch.cat([seqs[idx[keep] // V], (idx[keep] % V)[:, None]], dim=1)
        sums = vals[keep]
        if len(hyps) == num_beams:
            return [(s, sc) for sc, s in hyps]
    for s, total in zip(seqs, sums.tolist()):
        hyps.append((total / max_new_tokens ** length_penalty, s.clone()))
    hyps = sorted(hyps, key=lambda h: h[0], reverse=True)[:num_beams]
    return [(s, sc) for sc, s in hyps]
""",
}
