"""position.alibi_slopes — the per-head slopes of ALiBi: reference, checks, known-wrong answers.

alibi_slopes(n_heads) -> float32 (n_heads,). For n a power of two, slope h is 2 ** (-8 (h+1) / n).
Otherwise, with c the largest power of two below n: the c slopes for c heads, then the first
n - c of the even-indexed (0, 2, 4, ...) slopes for 2c heads (Press et al., official code).

Regimes where implementations diverge, each run every time by `boundary_regimes` (the other
checks draw at random): one head; powers of two (where every non-power rule is hidden); one more
than a power of two (one extra slope); one less than the next power of two (n - c = c - 1 extras,
past 1.5c, where a nearest-power rounding picks the wrong c); and n up to 257.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []

# Slopes are compared to the correctly rounded float32 values within 2e-5 relative: computing the
# powers in float32 (torch.pow) is off by an ulp for about half of all n, and base ** k with a
# float32 base (as BLOOM builds them) by up to k ulps (k <= 128 here); every wrong formula is off
# by several percent (the smallest: 2 ** (-8 / 128), 4 %, for n = 128).
TOLERANCES = {torch.float32: (2e-5, 0.0)}


def _power_of_two_slopes(n):
    # geometric sequence: start = ratio = 2 ** (-8 / n)
    return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]


def reference(n_heads):
    if n_heads & (n_heads - 1) == 0:  # a power of two
        slopes = _power_of_two_slopes(n_heads)
    else:
        c = 1 << (n_heads.bit_length() - 1)  # largest power of two below n_heads
        extra = _power_of_two_slopes(2 * c)[0::2][: n_heads - c]  # interleave with the c slopes
        slopes = _power_of_two_slopes(c) + extra
    return torch.tensor(slopes, dtype=torch.float32)


@check(
    "matches the reference for n_heads from 1 to 128, powers of two and not",
    zh="n_heads 从 1 到 128（2 的幂和非 2 的幂）时与参考实现一致",
    teaches=["position.alibi"],
)
def matches_reference(ctx):
    n = ctx.draw(st.one_of(st.sampled_from([1, 2, 6, 8, 12, 16, 24, 40]), st.integers(1, 128)))
    ctx.assert_close(ctx.call(n), ctx.reference(n), dtype=torch.float32)


REGIMES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 255, 257]


@check(
    "boundary regimes, every run: n = 1, powers of two, one above and one below them, up to 257",
    zh="每次都测的边界情形：n = 1，2 的幂，比它们大一和小一的数，最大到 257",
    examples=1,
    teaches=["position.alibi"],
)
def boundary_regimes(ctx):
    for n in REGIMES:
        out = ctx.call(n)
        try:
            ctx.assert_close(out, ctx.reference(n), dtype=torch.float32)
        except CheckFailed as exc:
            raise CheckFailed(f"n_heads = {n}: {exc}") from None


@check(
    "exact float32 values where every slope is a power of two (n = 1, 2, 4, 8 and 6: c = 4)",
    zh="每个斜率都是 2 的幂时（n = 1、2、4、8 和 6：c = 4）float32 值精确",
    examples=5,
    teaches=["position.alibi"],
)
def exact_powers(ctx):
    n = ctx.draw(st.sampled_from([1, 2, 4, 8, 6]))
    out = ctx.call(n)
    if isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (n,):
        ctx.assert_equal(out, ctx.reference(n))  # bit for bit
    else:
        ctx.assert_close(out, ctx.reference(n), dtype=torch.float32)  # says what is wrong


@check(
    "non-powers of two (6, 12, 24, 48, 96): the 2c-head slopes fill in at even indices",
    zh="非 2 的幂（6、12、24、48、96）：2c 个 head 的斜率填在偶数下标处",
)
def non_powers_of_two(ctx):
    n = ctx.draw(st.sampled_from([3, 5, 6, 7, 12, 20, 24, 48, 96]))
    ctx.assert_close(ctx.call(n), ctx.reference(n), dtype=torch.float32)


# A correct solution in the shape of the official code; the wrong answers written as
# edited(_POWERS, ...) are this text with one bug put in.
_POWERS = """
import math
import torch

def alibi_slopes(n_heads):
    def powers(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    if math.log2(n_heads).is_integer():
        return torch.tensor(powers(n_heads), dtype=torch.float32)
    c = 2 ** math.floor(math.log2(n_heads))
    return torch.tensor(powers(c) + powers(2 * c)[0::2][: n_heads - c], dtype=torch.float32)
"""


WRONG_ANSWERS = {
    "takes the odd-indexed slopes for 2c heads ([1::2]) instead of the even-indexed ones": edited(_POWERS, ("[0::2]", "[1::2]")),
    "c is the nearest power of two (round(log2 n)), not the largest below n: wrong past 1.5c": edited(
        _POWERS,
        ("c = 2 ** math.floor(math.log2(n_heads))", "c = 2 ** round(math.log2(n_heads))"),
    ),
    "off by one: 2 ** (-8 h / n) for h = 0..n-1 (the first slope is 1)": edited(_POWERS, ("(h + 1)", "h")),
    "takes the first n - c slopes for 2c heads instead of the even-indexed ones": edited(_POWERS, ("[0::2]", "")),
    "the power-of-two formula 2 ** (-8 (h+1) / n) used for every n": """
import torch

def alibi_slopes(n_heads):
    h = torch.arange(1, n_heads + 1, dtype=torch.float64)
    return (2.0 ** (-8.0 * h / n_heads)).float()
""",
    "rounds n up to the next power of two and keeps the first n slopes": """
import math
import torch

def alibi_slopes(n_heads):
    m = 2 ** math.ceil(math.log2(n_heads))
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / m) for h in range(n_heads)], dtype=torch.float32)
""",
    "returns float64 (torch.tensor of Python floats with dtype=torch.float64)": edited(
        _POWERS,
        ("torch.float32", "torch.float64"),  # both returns
    ),
}

ALTERNATIVES = {
    "recursive, as a geometric sequence: start * ratio ** i with start = ratio = 2 ** (-8 / n)": """
import math
import torch

def _geometric(n):
    ratio = 2.0 ** (-8.0 / n)
    return [ratio * ratio ** i for i in range(n)]

def _all_slopes(n):
    if n & (n - 1) == 0:
        return _geometric(n)
    below = 2 ** int(math.log2(n))
    return _geometric(below) + _all_slopes(2 * below)[::2][: n - below]

def alibi_slopes(n_heads):
    return torch.tensor(_all_slopes(n_heads), dtype=torch.float32)
""",
    "float32 base raised to integer powers (the way BLOOM builds its ALiBi tensor)": """
import math
import torch

def alibi_slopes(n_heads):
    c = 2 ** math.floor(math.log2(n_heads))
    base = torch.tensor(2.0 ** (-8.0 / c), dtype=torch.float32)
    slopes = base ** torch.arange(1, c + 1, dtype=torch.int32)
    if c < n_heads:
        finer = torch.tensor(2.0 ** (-8.0 / (2 * c)), dtype=torch.float32)
        odd = torch.arange(1, 2 * (n_heads - c), 2, dtype=torch.int32)  # 1, 3, 5: even indices
        slopes = torch.cat([slopes, finer ** odd])
    return slopes
""",
    "tensor ops in float32: torch.pow and a strided slice": """
import torch

def alibi_slopes(n_heads):
    c = 1
    while c * 2 <= n_heads:
        c *= 2
    base = torch.pow(2.0, -8.0 * torch.arange(1, c + 1, dtype=torch.float32) / c)
    if c == n_heads:
        return base
    extra = torch.pow(2.0, -8.0 * torch.arange(1, 2 * c + 1, 2, dtype=torch.float32) / (2 * c))
    return torch.cat([base, extra[: n_heads - c]])
""",
}
