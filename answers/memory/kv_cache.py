"""memory.kv_cache — bytes of a transformer's KV cache: reference, checks, known-wrong answers.

kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2) -> int: one
key and one value vector of head_dim elements per layer, token and kv head, for every sequence.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- every size 1 (the answer is 2 * bytes_per_element): a factor dropped or doubled shows alone;
- bytes_per_element at its default, 1 and 4 (a hard-coded 2 or a default of 4);
- totals past 2**31 (an int32 accumulator wraps) and past 2**53 (a float product rounds);
- one kv head against many (GQA/MQA caches: n_kv_heads, never the query heads).
"""

from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited


def reference(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    per_token_per_layer = 2 * n_kv_heads * head_dim  # K and V: one head_dim vector per kv head each
    return batch * seq_len * n_layers * per_token_per_layer * bytes_per_element


# (arguments, keyword arguments, why this case): the regimes listed at the top.
BOUNDARY_CASES = [
    ((1, 1, 1, 1, 1), {}, "every size 1"),
    ((1, 1, 1, 1, 1), {"bytes_per_element": 1}, "every size 1, 1 byte per element"),
    ((3, 5, 7, 1, 96), {"bytes_per_element": 4}, "one kv head (MQA), fp32"),
    ((2, 3, 1, 5, 3), {"bytes_per_element": 1}, "one layer, odd sizes, int8"),
    ((8, 32768, 80, 8, 128), {}, "past 2**31 bytes (an int32 total wraps)"),
    ((65535, 1_048_575, 127, 61, 255), {"bytes_per_element": 1}, "past 2**53 bytes, odd sizes (a float product rounds)"),
]


# Published numbers: (arguments, bytes, where from)
PUBLISHED = [
    (
        (1, 1, 40, 40, 128),
        800 * 1024,
        "OPT-13B (40 layers, 40 heads of 128), 800 KB per token in fp16 (Kwon et al. 2023, vLLM, arXiv:2309.06180, sec. 3)",
    ),
    ((1, 2048, 40, 40, 128), 1600 * 1024 * 1024, "OPT-13B, 2048 tokens: 1.6 GB (vLLM paper, sec. 3)"),
    ((1, 4096, 32, 32, 128), 2 * 1024**3, "Llama-2-7B (MHA, 32 kv heads), 4096 tokens in fp16: 2 GiB"),
    ((1, 4096, 80, 8, 128), 1280 * 1024**2, "Llama-2-70B (GQA, 8 kv heads of 64 query heads), 4096 tokens in fp16"),
]


@check(
    "matches the formula for random sizes (1s and odd sizes included), bytes_per_element at its default and 1, 4; an int",
    zh="随机大小下与公式一致（包括 1 和奇数大小），bytes_per_element 取默认值和 1、4；结果为 int",
    teaches=["inference.kv_cache_size"],
)
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


@check(
    "published sizes: OPT-13B (vLLM paper), Llama-2-7B (MHA) and Llama-2-70B (GQA, 8 kv heads), fp16",
    zh="公开的规模：OPT-13B（vLLM 论文）、Llama-2-7B（MHA）和 Llama-2-70B（GQA，8 个 kv head），fp16",
    examples=1,
    teaches=["inference.kv_cache_size", "inference.kv_gqa_choice"],
)
def published(ctx):
    for args, expected, where in PUBLISHED:
        if reference(*args) != expected:
            raise AnswerModuleBug(f"reference gives {reference(*args):,} bytes, disagreeing with {where}")
        got = ctx.call(*args)
        if got != expected or type(got) is not int:
            ctx.fail(
                f"{where}: expected {expected:,} bytes (an int; fp16 is the default, "
                f"2 bytes per element; keys and values both cached), got {got!r}"
            )


@check(
    "boundary cases every run: all sizes 1, one layer, one kv head, 1 and 4 bytes, totals past 2**31 and 2**53; an int",
    zh="每次都测的边界情况：所有大小为 1，一层，一个 kv head，1 和 4 字节，总数超过 2**31 和 2**53；结果为 int",
    examples=1,
    teaches=["inference.kv_cache_size"],
)
def boundary_cases(ctx):
    for args, kwargs, why in BOUNDARY_CASES:
        got = ctx.call(*args, **kwargs)
        expected = ctx.reference(*args, **kwargs)
        if got != expected or type(got) is not int:
            ctx.fail(f"{why}: expected {expected:,} bytes (an int), got {got!r}")
        ctx.assert_equal(got, expected)


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
    "ignores bytes_per_element: always 2 bytes (fp16)": edited(_PLAIN, (" * bytes_per_element\n", " * 2\n")),
    "accumulates in an int32 tensor (wraps past 2**31 bytes)": """
import torch

def kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    total = torch.tensor(2, dtype=torch.int32)
    for size in (batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element):
        total = total * size
    return int(total)
""",
    "multiplies in floats and converts at the end (rounds past 2**53)": edited(
        _PLAIN, ("return 2 * batch", "return int(2.0 * batch"), ("* bytes_per_element\n", "* bytes_per_element)\n")
    ),
}

ALTERNATIVES = {
    "per layer, summed over the layers": """
import math

def kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_element=2):
    one_layer = math.prod([2, batch, seq_len, n_kv_heads, head_dim, bytes_per_element])
    return sum(one_layer for _ in range(n_layers))
""",
}
