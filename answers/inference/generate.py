"""inference.generate — autoregressive generation with a KV cache: reference, checks, wrong answers.

generate(model, prompt, max_new_tokens, eos_id=None, temperature=0.0, generator=None):
prompt int64 (T,), T >= 1. model(tokens, positions, cache) -> (logits (S, V) float64, new cache):
tokens and positions int64 (S,); cache None for the first call, else what the previous call
returned; logits[s] scores the token after tokens[s]. Prefill the prompt in one call, then feed
each new token once at its position with the cache. The next token is argmax(logits[-1]) at
temperature 0, else one torch.multinomial(softmax(logits[-1] / temperature), 1, generator=generator)
per token. Stop after max_new_tokens new tokens or right after eos_id (kept). Returns int64
(T + n,): the prompt, then the n new tokens.

The model the checks pass is `tiny_model` below (one RoPE attention layer with a functional cache),
wrapped by the `run_generate` driver, which records every call (tokens, positions, which cache)
and seeds the global RNG away from the generator's seed, so a draw from the global RNG shows.

Regimes where implementations diverge, each run every time by `boundary_regimes`: defaults (greedy,
no EOS), EOS as the first and as the third new token, EOS in the prompt but never generated,
max_new_tokens 0 and 1, a one-token prompt, sampling at temperature 0.5, 1 and 2 over 10 tokens,
and a sampled EOS. `no_cache_property` compares with recomputing the whole sequence every step.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = []


def reference(model, prompt, max_new_tokens, eos_id=None, temperature=0.0, generator=None):
    tokens = prompt.tolist()
    if max_new_tokens == 0:
        return torch.tensor(tokens, dtype=torch.int64)
    logits, cache = model(prompt, torch.arange(len(tokens)), None)  # prefill: (T, V)
    for step in range(max_new_tokens):
        last = logits[-1].double()  # the prediction for the token after the last one
        if temperature == 0:
            token = int(last.argmax())
        else:
            probs = torch.softmax(last / temperature, dim=-1)
            token = int(torch.multinomial(probs, num_samples=1, generator=generator))
        tokens.append(token)
        if token == eos_id or step == max_new_tokens - 1:
            break
        # decode: only the new token, at its index in the sequence, with the cache
        logits, cache = model(torch.tensor([token]), torch.tensor([len(tokens) - 1]), cache)
    return torch.tensor(tokens, dtype=torch.int64)


def rope(x, positions):
    # x (H, S, Dh), positions (S,): rotate-half RoPE, theta 10000
    half = x.shape[-1] // 2
    inv_freq = 10000.0 ** (-2.0 * torch.arange(half, dtype=torch.float64) / x.shape[-1])
    angles = positions.double()[:, None] * inv_freq[None, :]
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def tiny_model(weights, tokens, positions, cache):
    """One attention layer with RoPE, a residual and a head; cache (k, v), each (H, P, Dh)."""
    tokens = torch.as_tensor(tokens, dtype=torch.int64).reshape(-1)
    positions = torch.as_tensor(positions, dtype=torch.int64).reshape(-1)
    s = tokens.shape[0]
    h = weights["embed"][tokens]  # (S, D)
    n_heads = 2
    dh = h.shape[1] // n_heads
    q = rope((h @ weights["wq"]).view(s, n_heads, dh).transpose(0, 1), positions)  # (H, S, Dh)
    k = rope((h @ weights["wk"]).view(s, n_heads, dh).transpose(0, 1), positions)
    v = (h @ weights["wv"]).view(s, n_heads, dh).transpose(0, 1)
    if cache is not None:
        k = torch.cat([cache[0], k], dim=1)  # (H, P + S, Dh)
        v = torch.cat([cache[1], v], dim=1)
    p = k.shape[1] - s
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    future = torch.arange(p + s)[None, :] > (p + torch.arange(s))[:, None]  # new token i is at p + i
    scores = scores.masked_fill(future, float("-inf"))
    out = (scores.softmax(dim=-1) @ v).transpose(0, 1).reshape(s, n_heads * dh)
    h = h + out @ weights["wo"]
    return h @ weights["head"], (k, v)


@sandboxed
def run_generate(solution, weights, prompt, max_new_tokens, kwargs, seed, with_generator):
    """The submission with a recorded tiny_model; returns (its output, the calls it made)."""
    calls = []
    last = [None]

    def model(tokens, positions, cache=None):
        which = "none" if cache is None else "last" if cache is last[0] else "other"
        logits, new_cache = tiny_model(weights, tokens, positions, cache)
        calls.append((torch.as_tensor(tokens).reshape(-1).tolist(), torch.as_tensor(positions).reshape(-1).tolist(), which))
        last[0] = new_cache
        return logits, new_cache

    torch.manual_seed(seed + 1)  # the global RNG: a stream other than the generator's
    if with_generator:
        kwargs = {**kwargs, "generator": torch.Generator().manual_seed(seed)}
    return solution(model, prompt, max_new_tokens, **kwargs), calls


def make_weights(ctx, v, d=8):
    return {
        "embed": ctx.randn(v, d, dtype=torch.float64),
        "wq": ctx.randn(d, d, dtype=torch.float64, scale=0.7),
        "wk": ctx.randn(d, d, dtype=torch.float64, scale=0.7),
        "wv": ctx.randn(d, d, dtype=torch.float64, scale=1 / math.sqrt(d)),
        "wo": ctx.randn(d, d, dtype=torch.float64, scale=1 / math.sqrt(d)),
        "head": ctx.randn(d, v, dtype=torch.float64, scale=0.7),
    }


def _model(weights):
    def model(tokens, positions, cache=None):
        return tiny_model(weights, tokens, positions, cache)

    return model


def _expected(ctx, weights, prompt, max_new, kwargs, seed, with_generator):
    gen = torch.Generator().manual_seed(seed) if with_generator else None
    extra = {"generator": gen} if with_generator else {}
    return ctx.reference(_model(weights), prompt, max_new, **kwargs, **extra)


def _check_calls(ctx, out, calls):
    """Each call takes the cache the previous call returned; every token is fed once, in order,
    at its index in the sequence."""
    seq = out.tolist()
    fed_tokens, fed_positions = [], []
    for i, (tokens, positions, which) in enumerate(calls):
        want = "none" if i == 0 else "last"
        if which != want:
            said = {"none": "cache=None", "last": "the cache the previous call returned", "other": "some other cache"}
            ctx.fail(
                f"model call {i + 1} was given {said[which]}; the first call takes cache=None and every later call "
                "the cache the call before it returned"
            )
        fed_tokens += tokens
        fed_positions += positions
    if fed_positions != list(range(len(fed_positions))):
        ctx.fail(
            f"the positions fed to the model, call after call, were {fed_positions[:24]}; expected 0, 1, 2, ...: "
            "each token once, at its index in the sequence (prompt included)"
        )
    if fed_tokens != seq[: len(fed_tokens)] or len(fed_tokens) > len(seq):
        ctx.fail(
            f"the tokens fed to the model, call after call, were {fed_tokens[:24]}; expected the sequence "
            f"{seq[:24]} in order, each token once"
        )


def _judge(ctx, weights, prompt, max_new, kwargs, seed, with_generator, what=""):
    got = ctx.run("run_generate", weights, prompt, max_new, kwargs, seed, with_generator)
    out, calls = got if isinstance(got, tuple) and len(got) == 2 else (got, [])
    expected = _expected(ctx, weights, prompt, max_new, kwargs, seed, with_generator)
    try:
        ctx.assert_equal(out, expected)
        _check_calls(ctx, out, calls)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" if what else str(exc)) from None
    return expected


TEMPERATURES = st.sampled_from(["default", 0.0, 0.5, 1.0, 1.7])


@check(
    "matches the reference (random prompts and vocabularies, greedy and sampled, EOS or none, defaults and not)",
    zh="与参考实现一致（随机的 prompt 和词表，贪心和采样，有无 EOS，默认值和非默认值）",
    teaches=["inference.kv_cache_pitfalls", "inference.max_new_tokens"],
)
def matches_reference(ctx):
    t, v, max_new, temperature, eos, seed = ctx.draw(
        st.tuples(
            st.integers(1, 6),
            st.sampled_from([5, 13, 32]),
            st.integers(0, 10),
            TEMPERATURES,
            st.one_of(st.none(), st.integers(0, 4)),
            st.integers(0, 2**31 - 2),
        )
    )
    weights = make_weights(ctx, v)
    prompt = ctx.randint(0, v, (t,))
    kwargs = {} if eos is None else {"eos_id": eos}
    sampled = temperature not in ("default", 0.0)
    if temperature != "default":
        kwargs["temperature"] = temperature
    _judge(ctx, weights, prompt, max_new, kwargs, seed, sampled)


def _greedy_tokens(ctx, weights, prompt, max_new):
    return _expected(ctx, weights, prompt, max_new, {}, 0, False).tolist()[len(prompt) :]


@check(
    "boundary regimes, every run: defaults, EOS first, third and in the prompt, max_new_tokens 0 and 1, "
    "a one-token prompt, sampling at temperature 0.5, 1 and 2, a sampled EOS",
    zh="每次都测的边界情形：默认参数，EOS 在第一个、第三个和在 prompt 中，max_new_tokens 为 0 和 1，只有一个 token 的 prompt，温度 0.5、1 和 2 下采样，采样到 EOS",
    examples=1,
    teaches=["inference.max_new_tokens", "inference.temperature"],
)
def boundary_regimes(ctx):
    seed = ctx.draw(st.integers(0, 2**31 - 2))
    v = 13
    weights = make_weights(ctx, v)
    prompt = ctx.randint(0, v, (4,))
    greedy = _greedy_tokens(ctx, weights, prompt, 8)
    cases = [
        ("greedy at the defaults (no eos_id, no temperature), 8 new tokens", prompt, 8, {}, False),
        ("EOS is the first new token", prompt, 8, {"eos_id": greedy[0]}, False),
        ("EOS is the third new token", prompt, 8, {"eos_id": greedy[2]}, False),
        ("max_new_tokens = 1", prompt, 1, {"temperature": 0.0}, False),
        ("max_new_tokens = 0: the prompt, as a new tensor", prompt, 0, {}, False),
        ("a one-token prompt, 5 new tokens", prompt[:1].clone(), 5, {}, False),
        ("sampled at temperature 1, 10 new tokens", prompt, 10, {"temperature": 1.0}, True),
        ("sampled at temperature 0.5, 10 new tokens", prompt, 10, {"temperature": 0.5}, True),
        ("sampled at temperature 2, 10 new tokens", prompt, 10, {"temperature": 2.0}, True),
    ]
    # greedy[2] may equal greedy[0] or greedy[1]: then EOS stops earlier, which is still right.
    # EOS in the prompt but never generated: put a token the greedy run never makes first.
    unused = [t for t in range(v) if t not in greedy]
    for t in unused:
        with_eos = prompt.clone()
        with_eos[0] = t
        if t not in _greedy_tokens(ctx, weights, with_eos, 6):
            cases.append(("the prompt holds eos_id, which is never generated: 6 new tokens", with_eos, 6, {"eos_id": t}, False))
            break
    sampled = _expected(ctx, weights, prompt, 10, {"temperature": 1.3}, seed, True).tolist()[len(prompt) :]
    cases.append(
        ("sampled at temperature 1.3, EOS the fifth new token", prompt, 10, {"temperature": 1.3, "eos_id": sampled[4]}, True)
    )
    for what, p, max_new, kwargs, with_generator in cases:
        _judge(ctx, weights, p, max_new, kwargs, seed, with_generator, what)


def _no_cache(weights, prompt, max_new, eos_id, temperature, generator):
    """Decoding that runs the whole sequence through the model at every step, without a cache."""
    tokens = prompt.tolist()
    for _ in range(max_new):
        logits, _ = tiny_model(weights, torch.tensor(tokens), torch.arange(len(tokens)), None)
        if temperature == 0:
            token = int(logits[-1].argmax())
        else:
            probs = torch.softmax(logits[-1] / temperature, dim=-1)
            token = int(torch.multinomial(probs, 1, generator=generator))
        tokens.append(token)
        if token == eos_id:
            break
    return torch.tensor(tokens, dtype=torch.int64)


@check(
    "equals decoding without a cache (the whole sequence recomputed every step), greedy and sampled",
    zh="等于不用 cache 的解码（每步重新计算整个序列），贪心和采样都是",
    teaches=["inference.kv_cache_what", "inference.kv_cache_pitfalls"],
)
def no_cache_property(ctx):
    t, max_new, temperature, seed = ctx.draw(
        st.tuples(st.integers(1, 5), st.integers(1, 9), st.sampled_from([0.0, 0.8, 1.5]), st.integers(0, 2**31 - 2))
    )
    weights = make_weights(ctx, 11)
    prompt = ctx.randint(0, 11, (t,))
    sampled = temperature != 0.0
    kwargs = {"temperature": temperature, "eos_id": 3}
    expected = _judge(ctx, weights, prompt, max_new, kwargs, seed, sampled)
    gen = torch.Generator().manual_seed(seed) if sampled else None
    ctx.assert_equal(expected, _no_cache(weights, prompt, max_new, 3, temperature, gen))


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def generate(model, prompt, max_new_tokens, eos_id=None, temperature=0.0, generator=None):
    seq = prompt.tolist()
    if max_new_tokens == 0:
        return prompt.clone()
    logits, cache = model(prompt, torch.arange(len(seq)), None)
    for i in range(max_new_tokens):
        next_logits = logits[-1]
        if temperature == 0:
            token = int(torch.argmax(next_logits))
        else:
            probs = torch.softmax(next_logits / temperature, dim=-1)
            token = int(torch.multinomial(probs, num_samples=1, generator=generator))
        seq.append(token)
        if eos_id is not None and token == eos_id:
            break
        if i == max_new_tokens - 1:
            break
        logits, cache = model(torch.tensor([token]), torch.tensor([len(seq) - 1]), cache)
    return torch.tensor(seq)
"""


WRONG_ANSWERS = {
    "decode positions off by one: the new token is fed at len(seq) instead of len(seq) - 1": edited(
        _PLAIN, ("torch.tensor([len(seq) - 1])", "torch.tensor([len(seq)])")
    ),
    "picks the next token from the first position's logits after the prefill (logits[0])": edited(
        _PLAIN, ("next_logits = logits[-1]", "next_logits = logits[0]")
    ),
    "does not stop at EOS": edited(_PLAIN, ("        if eos_id is not None and token == eos_id:\n            break\n", "")),
    "stops at EOS but leaves the EOS token out of the output": edited(
        _PLAIN,
        (
            "        seq.append(token)\n        if eos_id is not None and token == eos_id:\n            break\n",
            "        if eos_id is not None and token == eos_id:\n            break\n        seq.append(token)\n",
        ),
    ),
    "stops as soon as eos_id is anywhere in the sequence, the prompt included": edited(
        _PLAIN, ("if eos_id is not None and token == eos_id:", "if eos_id in seq:")
    ),
    "draws with the global RNG (torch.multinomial without the generator)": edited(
        _PLAIN, ("torch.multinomial(probs, num_samples=1, generator=generator)", "torch.multinomial(probs, num_samples=1)")
    ),
    "temperature applied after the softmax (probs / T: renormalised away, so always T = 1)": edited(
        _PLAIN,
        ("probs = torch.softmax(next_logits / temperature, dim=-1)", "probs = torch.softmax(next_logits, dim=-1) / temperature"),
    ),
    "temperature 0 not special-cased: logits / 0": edited(_PLAIN, ("if temperature == 0:", "if temperature is None:")),
    "ignores the cache: re-feeds the whole sequence every step (right tokens, quadratic work)": edited(
        _PLAIN,
        (
            "logits, cache = model(torch.tensor([token]), torch.tensor([len(seq) - 1]), cache)",
            "logits, cache = model(torch.tensor(seq), torch.arange(len(seq)), None)",
        ),
    ),
    "feeds the whole sequence again together with the cache (keys and values cached twice)": edited(
        _PLAIN,
        (
            "logits, cache = model(torch.tensor([token]), torch.tensor([len(seq) - 1]), cache)",
            "logits, cache = model(torch.tensor(seq), torch.arange(len(seq)), cache)",
        ),
    ),
    "drops the cache each decode step returns (keeps passing the prefill's)": edited(
        _PLAIN,
        (
            "logits, cache = model(torch.tensor([token]), torch.tensor([len(seq) - 1]), cache)",
            "logits, _ = model(torch.tensor([token]), torch.tensor([len(seq) - 1]), cache)",
        ),
    ),
    "max_new_tokens counted with the prompt (a max_length, as in Hugging Face's older argument)": edited(
        _PLAIN,
        ("    for i in range(max_new_tokens):", "    for i in range(max_new_tokens - len(prompt)):"),
        ("        if i == max_new_tokens - 1:", "        if i == max_new_tokens - len(prompt) - 1:"),
    ),
}

ALTERNATIVES = {
    "a while loop over a count of new tokens, the softmax by hand, .item()": """
import torch

def generate(model, prompt, max_new_tokens, eos_id=None, temperature=0.0, generator=None):
    out = [int(t) for t in prompt]
    logits, cache = model(prompt.clone(), torch.arange(prompt.numel()), cache=None)
    made = 0
    while made < max_new_tokens:
        row = logits[-1]
        if temperature > 0:
            p = (row / temperature - (row / temperature).max()).exp()
            tok = torch.multinomial(p / p.sum(), 1, generator=generator).item()
        else:
            tok = row.argmax().item()
        out.append(tok)
        made += 1
        if tok == eos_id or made == max_new_tokens:
            break
        logits, cache = model(torch.tensor([tok]), torch.tensor([len(out) - 1]), cache)
    return torch.tensor(out, dtype=torch.long)
""",
}
