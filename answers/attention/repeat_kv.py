"""attention.repeat_kv — expand KV heads for GQA: reference, checks, known-wrong answers.

repeat_kv(x, n_rep): (B, Hkv, T, D) -> (B, Hkv * n_rep, T, D); output head h is input head
h // n_rep (each kv head n_rep times in a row), always a new tensor.

Regimes where implementations diverge, each run every time by `boundary_regimes` (the other
checks draw at random): n_rep = 1 (the result must still be a new tensor, not x or a view of
it), one kv head, n_rep = 8 (many copies), T = 1 and D = 1, and float64 values with all 53 bits
used (a round trip through float32 shows). A copy rounds nothing: every comparison is exact.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []


def reference(x, n_rep):
    # (B, Hkv, T, D) -> (B, Hkv * n_rep, T, D)
    b, hkv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, hkv, n_rep, t, d).reshape(b, hkv * n_rep, t, d).clone()


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
SIZES = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 5), st.sampled_from([1, 2, 3, 8]), st.integers(1, 4))


@check(
    "matches the reference exactly (random shapes, n_rep 1 to 4, float32/float64/bfloat16)",
    zh="与参考实现完全一致（随机形状，n_rep 1 到 4，float32/float64/bfloat16）",
    teaches=["attention.mqa_gqa_kv_heads"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    b, hkv, t, d, n_rep = ctx.draw(SIZES)
    x = ctx.randn(b, hkv, t, d, dtype=dtype)
    # A copy: nothing to round, so nothing to tolerate.
    ctx.assert_close(ctx.call(x, n_rep), ctx.reference(x, n_rep), dtype=dtype, rtol=0.0, atol=0.0)


# (what, (B, Hkv, T, D), n_rep, dtype)
REGIMES = [
    ("n_rep = 1: a new tensor equal to x", (2, 3, 4, 5), 1, torch.float32),
    ("n_rep = 1, float64", (1, 2, 3, 2), 1, torch.float64),
    ("one kv head, n_rep = 4", (2, 1, 3, 4), 4, torch.float32),
    ("n_rep = 8, three kv heads", (1, 3, 2, 3), 8, torch.float32),
    ("T = 1 and D = 1, n_rep = 2", (2, 3, 1, 1), 2, torch.float32),
    ("float64 with every bit used, n_rep = 3", (2, 2, 3, 4), 3, torch.float64),
    ("bfloat16, n_rep = 2", (1, 2, 3, 4), 2, torch.bfloat16),
]


@check(
    "boundary regimes, every run: n_rep 1 (a new tensor) and 8, one kv head, T = D = 1, float64 bits kept",
    zh="每次都测的边界情形：n_rep 为 1（返回新张量）和 8，一个 kv head，T = D = 1，float64 的比特保持不变",
    examples=1,
    teaches=["attention.mqa_gqa_kv_heads"],
)
def boundary_regimes(ctx):
    for what, shape, n_rep, dtype in REGIMES:
        x = ctx.randn(*shape, dtype=dtype)
        out = ctx.call(x, n_rep)
        try:
            ctx.assert_close(out, ctx.reference(x, n_rep), dtype=dtype, rtol=0.0, atol=0.0)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "output head h is input head h // n_rep (heads 0,0,1,1,... not 0,1,0,1,...)",
    zh="输出 head h 是输入 head h // n_rep（head 顺序为 0,0,1,1,…，不是 0,1,0,1,…）",
)
def head_mapping(ctx):
    b, hkv, t, d, _ = ctx.draw(SIZES)
    hkv = max(hkv, 2)
    n_rep = ctx.draw(st.integers(2, 4))
    # Head j holds the value j everywhere (plus noise), so a wrong head is easy to name.
    x = torch.arange(hkv, dtype=torch.float64).view(1, hkv, 1, 1) + 0.01 * ctx.randn(b, hkv, t, d, dtype=torch.float64)
    x = x.float()
    out = ctx.call(x, n_rep)
    expected = ctx.reference(x, n_rep)
    if isinstance(out, torch.Tensor) and out.shape == expected.shape and out.dtype == torch.float32:
        for h in range(hkv * n_rep):
            if not torch.equal(out[:, h], x[:, h // n_rep]):
                same = [j for j in range(hkv) if torch.equal(out[:, h], x[:, j])]
                got = f"input head {same[0]}" if same else "none of the input heads"
                ctx.fail(f"output head {h} should be input head {h} // {n_rep} = {h // n_rep}; it is {got}")
    ctx.assert_close(out, expected, dtype=torch.float32, rtol=0.0, atol=0.0)


# Hugging Face's transformers code: a view of x when n_rep == 1 (reshape copies only when it must).
_EXPAND = """
import torch

def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, hkv, n_rep, t, d).reshape(b, hkv * n_rep, t, d).clone()
"""


WRONG_ANSWERS = {
    "expand then reshape without a copy: for n_rep == 1 the result is a view of x": edited(
        _EXPAND,
        (".reshape(b, hkv * n_rep, t, d).clone()", ".reshape(b, hkv * n_rep, t, d)"),
    ),
    "round-trips through float32 (.float() ... .to(x.dtype)): float64 values lose bits": edited(
        _EXPAND,
        ("return x[:, :, None, :, :]", "return x.float()[:, :, None, :, :]"),
        (".reshape(b, hkv * n_rep, t, d).clone()", ".reshape(b, hkv * n_rep, t, d).to(x.dtype)"),
    ),
    "x.repeat(1, n_rep, 1, 1): tiles the heads as 0,1,0,1": """
import torch

def repeat_kv(x, n_rep):
    return x.repeat(1, n_rep, 1, 1)
""",
    "torch.cat([x] * n_rep, dim=1): the same tiling": """
import torch

def repeat_kv(x, n_rep):
    return torch.cat([x] * n_rep, dim=1)
""",
    "expand on a new dim before the heads, then reshape (tiles 0,1,0,1)": """
import torch

def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    return x[:, None].expand(b, n_rep, hkv, t, d).reshape(b, n_rep * hkv, t, d).clone()
""",
    "repeat_interleave along the sequence dim instead of the heads": """
import torch

def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    return x.repeat_interleave(n_rep, dim=2).reshape(b, hkv * n_rep, t, d)
""",
    "returns x itself when n_rep == 1 (Hugging Face's shortcut; the result must be a new tensor)": """
import torch

def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    return torch.repeat_interleave(x, n_rep, dim=1)
""",
}

ALTERNATIVES = {
    "Hugging Face's expand and reshape, with a copy": _EXPAND,
    "torch.repeat_interleave on the head dim": """
import torch

def repeat_kv(x, n_rep):
    return torch.repeat_interleave(x, repeats=n_rep, dim=1)
""",
    "index the head dim with arange(Hkv * n_rep) // n_rep": """
import torch

def repeat_kv(x, n_rep):
    heads = torch.arange(x.shape[1] * n_rep) // n_rep
    return x[:, heads]
""",
    "stack n_rep copies after the head dim, then flatten the two": """
import torch

def repeat_kv(x, n_rep):
    return torch.stack([x] * n_rep, dim=2).flatten(1, 2)
""",
}
