"""params.llama — exact parameter count of a Llama-style decoder: reference, checks, known-wrong answers.

llama_param_count(vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_dim, tie_embeddings=False)
-> int. No biases. Per layer: q and o d×d, k and v d × n_kv_heads·(d/n_heads), SwiGLU 3·d·ffn_dim,
two RMSNorm weight vectors of d; plus the embedding vocab×d, an output head vocab×d unless tied,
and the final RMSNorm d (Touvron et al. 2023, Llama 2, arXiv:2307.09288; Meta's model code).

Regimes where implementations diverge (each run every time by `boundary_configs`):
- MHA (n_kv_heads = n_heads), GQA (1 < n_kv_heads < n_heads) and MQA (n_kv_heads = 1): k and v
  both shrink with the kv heads;
- one layer against many (per-layer terms against the once-only final norm), one head;
- tie_embeddings left at its default, given True and given False;
- totals past 2**31 (an int32 count wraps) and sizes of 1.
"""

from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited


def reference(vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_dim, tie_embeddings=False):
    d = d_model
    head_dim = d // n_heads
    attention = 2 * d * d + 2 * d * (n_kv_heads * head_dim)  # wq, wo; wk, wv (fewer kv heads under GQA)
    mlp = 3 * d * ffn_dim  # w1 (gate), w3 (up), w2 (down)
    norms = 2 * d  # attention_norm, ffn_norm
    embeddings = vocab_size * d * (1 if tie_embeddings else 2)  # tok_embeddings (+ output head)
    return embeddings + n_layers * (attention + mlp + norms) + d  # + the final norm


# Published totals: (config, tie_embeddings, count, where from)
PUBLISHED = [
    ((32000, 4096, 32, 32, 32, 11008), False, 6_738_415_616, "Llama-2-7B"),
    ((32000, 5120, 40, 40, 40, 13824), False, 13_015_864_320, "Llama-2-13B"),
    ((32000, 8192, 80, 64, 8, 28672), False, 68_976_648_192, "Llama-2-70B (GQA, 8 kv heads)"),
    ((32000, 2048, 22, 32, 4, 5632), False, 1_100_048_384, "TinyLlama-1.1B (GQA, 4 kv heads)"),
    ((128256, 2048, 16, 32, 8, 8192), True, 1_235_814_400, "Llama-3.2-1B (tied embeddings)"),
]


@check(
    "matches the formula for random configs (MHA, GQA, MQA; sizes 1 and odd), tie_embeddings default, True, False; an int",
    zh="随机配置下与公式一致（MHA、GQA、MQA；大小为 1 和奇数），tie_embeddings 为默认、True、False；结果为 int",
    teaches=["params.llama_count", "attention.mha_param_count", "norm.ln_param_count"],
)
def matches_reference(ctx):
    vocab, n_layers, n_kv, group, head_dim, ffn, tied = ctx.draw(
        st.tuples(
            st.integers(1, 200_000),
            st.integers(1, 96),
            st.integers(1, 8),  # n_kv_heads
            st.sampled_from([1, 1, 2, 3, 4, 8]),  # query heads per kv head (1: MHA)
            st.sampled_from([1, 3, 8, 64, 128]),  # head_dim
            st.integers(1, 50_000),  # ffn_dim
            st.sampled_from(["default", True, False]),
        )
    )
    n_heads = n_kv * group
    args = (vocab, n_heads * head_dim, n_layers, n_heads, n_kv, ffn)
    kwargs = {} if tied == "default" else {"tie_embeddings": tied}
    ctx.assert_equal(ctx.call(*args, **kwargs), ctx.reference(*args, **kwargs))


@check(
    "published counts: Llama-2-7B 6,738,415,616, 13B, 70B 68,976,648,192 (GQA), TinyLlama-1.1B, Llama-3.2-1B (tied)",
    zh="公开的参数量：Llama-2-7B 6,738,415,616、13B、70B 68,976,648,192（GQA）、TinyLlama-1.1B、Llama-3.2-1B（共享 embedding）",
    examples=1,
    teaches=["params.llama_count", "attention.mha_param_count"],
)
def published(ctx):
    for config, tied, expected, name in PUBLISHED:
        if reference(*config, tie_embeddings=tied) != expected:
            raise AnswerModuleBug(f"reference disagrees with the published count of {name}")
        got = ctx.call(*config, tie_embeddings=tied) if tied else ctx.call(*config)
        if got != expected or type(got) is not int:
            diff = f" ({got - expected:+,})" if isinstance(got, (int, float)) else ""
            ctx.fail(f"{name}: expected {expected:,} parameters (an int), got {got!r}{diff}")


# (config, keyword arguments, why this case)
BOUNDARY_CONFIGS = [
    ((1, 1, 1, 1, 1, 1), {}, "every size 1"),
    ((7, 12, 1, 4, 4, 5), {}, "one layer, MHA"),
    ((7, 12, 3, 4, 2, 5), {"tie_embeddings": False}, "GQA, 2 kv heads of 4"),
    ((7, 12, 3, 4, 1, 5), {"tie_embeddings": True}, "MQA (one kv head), tied"),
    ((11, 5, 2, 1, 1, 3), {"tie_embeddings": True}, "one head, tied"),
    ((128256, 4096, 32, 32, 8, 14336), {}, "Llama-3-8B-sized, past 2**31"),
]


@check(
    "boundary configs every run: MHA, GQA, MQA, one layer, one head, tied and untied, past 2**31; an int",
    zh="每次都测的边界配置：MHA、GQA、MQA，一层，一个 head，共享和不共享 embedding，超过 2**31；结果为 int",
    examples=1,
    teaches=["attention.mha_param_count", "transformer.embedding_scale_tying"],
)
def boundary_configs(ctx):
    for config, kwargs, why in BOUNDARY_CONFIGS:
        got = ctx.call(*config, **kwargs)
        expected = ctx.reference(*config, **kwargs)
        if got != expected or type(got) is not int:
            diff = f" ({got - expected:+,})" if isinstance(got, (int, float)) else ""
            ctx.fail(f"{why}: expected {expected:,} parameters (an int), got {got!r}{diff}")
        ctx.assert_equal(got, expected)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
def llama_param_count(vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_dim, tie_embeddings=False):
    d, head_dim = d_model, d_model // n_heads
    layer = 2 * d * d + 2 * d * n_kv_heads * head_dim + 3 * d * ffn_dim + 2 * d
    embeddings = vocab_size * d if tie_embeddings else 2 * vocab_size * d
    return embeddings + n_layers * layer + d
"""

WRONG_ANSWERS = {
    "forgets the final norm": edited(_PLAIN, ("n_layers * layer + d", "n_layers * layer")),
    "forgets the two RMSNorm vectors in each layer": edited(_PLAIN, (" + 3 * d * ffn_dim + 2 * d", " + 3 * d * ffn_dim")),
    "k and v projections taken as d×d (ignores grouped-query attention)": edited(
        _PLAIN, ("2 * d * n_kv_heads * head_dim", "2 * d * d")
    ),
    "ignores tie_embeddings: always counts a separate output head": edited(
        _PLAIN, ("vocab_size * d if tie_embeddings else 2 * vocab_size * d", "2 * vocab_size * d")
    ),
    "head_dim = d_model / n_heads with true division: returns a float": edited(
        _PLAIN, ("d_model // n_heads", "d_model / n_heads")
    ),
    "only k shrinks under GQA; v taken as d×d": edited(
        _PLAIN, ("2 * d * n_kv_heads * head_dim", "d * n_kv_heads * head_dim + d * d")
    ),
    "counts in numpy int32 (wraps past 2**31 parameters)": edited(
        _PLAIN,
        ("def llama_param_count", "import numpy as np\n\ndef llama_param_count"),
        ("d, head_dim = d_model, d_model // n_heads", "d, head_dim = np.int32(d_model), np.int32(d_model // n_heads)"),
        ("return embeddings + n_layers * layer + d", "return int(embeddings + n_layers * layer + d)"),
    ),
    "SwiGLU counted as two matrices (no gate)": edited(_PLAIN, ("3 * d * ffn_dim", "2 * d * ffn_dim")),
    "MQA (one kv head) taken as one full-width d×d k and v projection": edited(
        _PLAIN, ("2 * d * n_kv_heads * head_dim", "2 * d * (d if n_kv_heads == 1 else n_kv_heads * head_dim)")
    ),
}

ALTERNATIVES = {
    "sums the shapes of a state dict, as model.parameters() would": """
import math

def llama_param_count(vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_dim, tie_embeddings=False):
    d = d_model
    kv = n_kv_heads * (d // n_heads)
    layer = {
        "attention.wq": (d, d), "attention.wk": (kv, d), "attention.wv": (kv, d), "attention.wo": (d, d),
        "feed_forward.w1": (ffn_dim, d), "feed_forward.w2": (d, ffn_dim), "feed_forward.w3": (ffn_dim, d),
        "attention_norm": (d,), "ffn_norm": (d,),
    }
    shapes = [(vocab_size, d), (d,)] + [s for _ in range(n_layers) for s in layer.values()]
    if not tie_embeddings:
        shapes.append((vocab_size, d))
    return sum(math.prod(s) for s in shapes)
""",
}
