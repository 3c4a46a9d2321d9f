"""memory.kv_cache — bytes of a transformer's KV cache: reference, checks, known-wrong answers.

kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2) -> int: one
key and one value vector of head_dim elements per layer, token and kv head, for every sequence.
"""
from hypothesis import strategies as st

from llmq.judge.kit import BankError, check, edited


def reference(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    per_token_per_layer = 2 * n_kv_heads * head_dim  # K and V: one head_dim vector per kv head each
    return batch * seq_len * n_layers * per_token_per_layer * bytes_per_element


# Published numbers: (arguments, bytes, where from)
PUBLISHED = [
    ((1, 1, 40, 40, 128), 800 * 1024, "OPT-13B (40 layers, 40 heads of 128), 800 KB per token in fp16 (Kwon et al. 2023, vLLM, arXiv:2309.06180, sec. 3)"),
    ((1, 2048, 40, 40, 128), 1600 * 1024 * 1024, "OPT-13B, 2048 tokens: 1.6 GB (vLLM paper, sec. 3)"),
    ((1, 4096, 32, 32, 128), 2 * 1024**3, "Llama-2-7B (MHA, 32 kv heads), 4096 tokens in fp16: 2 GiB"),
    ((1, 4096, 80, 8, 128), 1280 * 1024**2, "Llama-2-70B (GQA, 8 kv heads of 64 query heads), 4096 tokens in fp16"),
]


@check("published sizes: OPT-13B (vLLM paper), Llama-2-7B (MHA) and Llama-2-70B (GQA, 8 kv heads), fp16", examples=1)
def published(ctx):
    for args, expected, where in PUBLISHED:
        if reference(*args) != expected:
            raise BankError(f"reference gives {reference(*args):,} bytes, disagreeing with {where}")
        got = ctx.call(*args)
        if got != expected or type(got) is not int:
            ctx.fail(f"{where}: expected {expected:,} bytes (an int; fp16 is the default, "
                     f"2 bytes per element; keys and values both cached), got {got!r}")


@check("matches the formula for random sizes (1s and odd sizes included), bytes_per_element at its default and 1, 4; an int")
def matches_reference(ctx):
    *args, bpe = ctx.draw(
        st.tuples(
            st.integers(1, 64),  # batch
            st.one_of(st.integers(1, 9), st.integers(1, 1_000_003)),  # seq_len
            st.integers(1, 128),  # n_layers
            st.integers(1, 64),  # n_kv_heads
            st.sampled_from([1, 3, 64, 80, 96, 128, 256]),  # head_dim
            st.sampled_from(["default", 1, 2, 4]),  # bytes_per_element
        )
    )
    kwargs = {} if bpe == "default" else {"bytes_per_element": bpe}  # the default is part of the contract
    ctx.assert_equal(ctx.call(*args, **kwargs), ctx.reference(*args, **kwargs))


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
def kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    return 2 * batch * seq_len * n_layers * n_kv_heads * head_dim * bytes_per_element
"""

WRONG_ANSWERS = {
    "forgets the factor 2: counts keys but not values": edited(_PLAIN, ("return 2 * batch", "return batch")),
    "bytes_per_element defaults to 4 (fp32) instead of 2": edited(_PLAIN, ("bytes_per_element=2", "bytes_per_element=4")),
    "returns GiB, a float, instead of bytes": edited(_PLAIN, ("* bytes_per_element\n", "* bytes_per_element / 2**30\n")),
    "counts one layer only": edited(_PLAIN, (" * n_layers", "")),
}

ALTERNATIVES = {
    "per layer, summed over the layers": '''
import math

def kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    one_layer = math.prod([2, batch, seq_len, n_kv_heads, head_dim, bytes_per_element])
    return sum(one_layer for _ in range(n_layers))
''',
}
