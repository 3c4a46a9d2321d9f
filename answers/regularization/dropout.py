"""regularization.dropout — inverted dropout with a given generator: reference, checks, wrong answers.

dropout(x, p, training, generator): in training, keep = torch.rand(x.shape, generator=generator)
>= p (one draw of torch's default dtype, float32, on the generator; the global RNG untouched) and
out = x * keep / (1 - p) in x's dtype, so E[out] = x; p = 1 gives zeros (no 0/0). In eval, or
with p = 0, the output equals x (x itself or a copy). x is never modified.

The `run_dropout` driver gives the submission a fresh generator seeded `seed` after seeding the
global RNG with another seed, so a draw from the global RNG (or a second draw) gives another mask
and fails the comparison with the reference, element for element. Regimes run every time by
`boundary_regimes`: p = 0 and p = 1 in training, p = 0.999 and 0.5, eval at p = 0.5 and 1, a 0-d
x, size-1 dims, float32 and float64.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = [
    "torch.nn.functional.dropout",
    "torch.dropout",
    "torch.nn.Dropout",
    "torch.bernoulli",
    "torch.native_dropout",
]

DTYPES = [torch.float32, torch.float64]


def reference(x, p, training, generator):
    # x any shape -> same shape and dtype; float64 inside
    x64 = x.double()
    if not training or p == 0:
        return x64.clone().to(x.dtype)
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator) >= p  # bool, same shape as x
    return (x64 * keep / (1 - p)).to(x.dtype)


@sandboxed
def run_dropout(solution, x, p, training, seed):
    """The submission with a fresh generator seeded `seed`, the global RNG seeded elsewhere. A
    returned x itself is allowed (eval): it is copied here so the harness does not count it."""
    torch.manual_seed(seed + 1)
    generator = torch.Generator().manual_seed(seed)
    out = solution(x, p, training, generator)
    return out.clone() if isinstance(out, torch.Tensor) else out


def _judge(ctx, x, p, training, seed, what=""):
    got = ctx.run("run_dropout", x, p, training, seed)
    expected = ctx.reference(x, p, training, torch.Generator().manual_seed(seed))
    try:
        ctx.assert_close(got, expected, dtype=x.dtype)
    except CheckFailed as exc:
        mode = "training" if training else "eval"
        raise CheckFailed(f"{what}{', ' if what else ''}p = {p}, {mode}: {exc}") from None


def _x(ctx, dtype):
    shape = ctx.draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))
    return ctx.randn(*shape, dtype=dtype) + 0.5


@check(
    "matches the reference element for element (random shapes incl. 0-d and size 1, p, train and eval, float32/float64)",
    zh="与参考实现逐元素一致（随机形状，包括 0 维和大小为 1 的维，随机 p，训练和推理，float32/float64）",
    teaches=["regularization.dropout_conventions"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x = _x(ctx, dtype)
    p = ctx.draw(st.sampled_from([0.1, 0.25, 0.5, 0.8, 0.0, 1.0]))
    training = ctx.draw(st.booleans())
    _judge(ctx, x, p, training, ctx.draw(st.integers(0, 2**31 - 1)))


# (what, x shape, p, training)
REGIMES = [
    ("p = 0 in training: the identity", (3, 5), 0.0, True),
    ("p = 1 in training: zeros, not NaN", (4, 3), 1.0, True),
    ("p = 0.999 in training: almost all dropped, survivors times 1000", (64, 16), 0.999, True),
    ("p = 0.5, 2-D", (32, 33), 0.5, True),
    ("p = 0.1, 3-D with size-1 dims", (1, 40, 1), 0.1, True),
    ("0-d x", (), 0.3, True),
    ("eval at p = 0.5: the identity", (5, 7), 0.5, False),
    ("eval at p = 1: the identity", (2, 3), 1.0, False),
]


@check(
    "boundary regimes, every run: p = 0 and 1 in training, p = 0.999, a 0-d x, size-1 dims, eval at p = 0.5 and 1",
    zh="每次都测的边界情形：训练时 p = 0 和 1，p = 0.999，0 维的 x，大小为 1 的维，推理时 p = 0.5 和 1",
    examples=1,
    teaches=["regularization.dropout_conventions"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for i, (what, shape, p, training) in enumerate(REGIMES):
            x = ctx.randn(*shape, dtype=dtype) + 0.5
            _judge(ctx, x, p, training, 1000 + i, what=f"{what}, {str(dtype).removeprefix('torch.')}")


@check(
    "inverted scaling keeps the expectation: the mean of dropout(ones) is 1 within 5 standard errors",
    zh="inverted 缩放保持期望：dropout(ones) 的均值在 5 个标准误差内等于 1",
    examples=5,
    teaches=["regularization.dropout_conventions"],
)
def keeps_expectation(ctx):
    p = ctx.draw(st.sampled_from([0.1, 0.3, 0.5, 0.7]))
    n = 20_000
    x = torch.ones(n, dtype=torch.float64)
    out = ctx.run("run_dropout", x, p, True, ctx.draw(st.integers(0, 2**31 - 1)))
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        ctx.assert_close(out, ctx.reference(x, p, True, torch.Generator().manual_seed(0)), dtype=torch.float64)
    stderr = (p / (1 - p) / n) ** 0.5  # the standard deviation of keep / (1 - p) is sqrt(p / (1 - p))
    ctx.assert_close(float(out.mean()), 1.0, rtol=5 * stderr)


# A correct solution; each edited() wrong answer below is this text with one bug put in.
_BASE = """
import torch

def dropout(x, p, training, generator):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep / (1 - p)
"""

WRONG_ANSWERS = {
    "no scaling: the survivors are not divided by 1 - p": edited(_BASE, ("return x * keep / (1 - p)", "return x * keep")),
    "scales at eval instead (the original, non-inverted form: x * (1 - p) at test time)": edited(
        _BASE,
        (
            "    if not training or p == 0:\n        return x\n",
            "    if not training:\n        return x * (1 - p)\n    if p == 0:\n        return x\n",
        ),
        ("return x * keep / (1 - p)", "return x * keep"),
    ),
    "multiplies the survivors by 1 - p instead of dividing": edited(
        _BASE, ("return x * keep / (1 - p)", "return x * keep * (1 - p)")
    ),
    "mask `rand < p`: keeps the units that should be dropped": edited(
        _BASE, ("keep = torch.rand(x.shape, generator=generator) >= p", "keep = torch.rand(x.shape, generator=generator) < p")
    ),
    "draws from the global RNG, ignoring the generator": edited(
        _BASE, ("torch.rand(x.shape, generator=generator)", "torch.rand(x.shape)")
    ),
    "no p = 1 case: 0 / 0 gives NaN": edited(_BASE, ("    if p == 1:\n        return torch.zeros_like(x)\n", "")),
    "drops at eval too (ignores `training`)": edited(_BASE, ("if not training or p == 0:", "if p == 0:")),
    "scales x in place (the caller's x changes)": edited(_BASE, ("return x * keep / (1 - p)", "return x.mul_(keep).div_(1 - p)")),
}

ALTERNATIVES = {
    "masked_fill of the dropped units, then multiply by the precomputed scale 1 / (1 - p)": """
import torch

def dropout(x, p, training, generator):
    if not training or p == 0:
        return x.clone()
    u = torch.rand(x.shape, generator=generator)
    if p >= 1:
        return x * 0.0
    scale = 1.0 / (1.0 - p)
    return x.masked_fill(u < p, 0.0) * scale
""",
}
