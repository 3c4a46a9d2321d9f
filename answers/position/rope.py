"""position.rope — rotary position embedding, rotate-half layout: reference, checks, wrong answers.

apply_rope(x, positions, theta=10000.0): x (..., T, D), D even; positions int64 (T,). Dim i pairs
with dim i + D/2 and turns by the angle positions[t] * theta ** (-2i / D):
out_i = x_i cos - x_{i+D/2} sin, out_{i+D/2} = x_{i+D/2} cos + x_i sin (GPT-NeoX, Hugging Face Llama).
float64 input is computed in float64 (angles included).

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` (the other checks draw at random): one pair (D = 2: the pairing layout is
hidden), non-power-of-two D (6, 10), one token, position 0 (the identity), unsorted positions
not starting at 0, theta away from its default, and float64 at positions near 100000, where an
angle computed in float32 (a float32 arange, positions.float()) is off by ~1e-2 radians:
compared at rtol 1e-9.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []

# float32: an angle p * freq rounded to float32 is off by ~p * 1e-7 radians (Hugging Face computes
# it that way); with positions below 64 and |x| of a few units that moves outputs by up to ~1e-4.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}


def reference(x, positions, theta=10000.0):
    # x (..., T, D), positions (T,) -> (..., T, D); float64 inside
    d = x.shape[-1]
    half = d // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / d)  # (D/2,)
    angles = positions.double()[:, None] * inv_freq[None, :]  # (T, D/2)
    cos, sin = angles.cos(), angles.sin()
    x64 = x.double()
    x1, x2 = x64[..., :half], x64[..., half:]  # dim i pairs with dim i + D/2
    out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return out.to(x.dtype)


DTYPES = [torch.float32, torch.float64, torch.bfloat16]


def _x(ctx, dtype, t=None, d=None):
    """x (..., T, D): 0 to 2 leading dims, D even."""
    lead = ctx.draw(st.lists(st.integers(1, 3), max_size=2))
    t = t or ctx.draw(st.integers(1, 7))
    d = d or ctx.draw(st.sampled_from([2, 4, 6, 10, 16, 64]))
    return ctx.randn(*lead, t, d, dtype=dtype)


def _positions(ctx, t, high):
    """Distinct, unsorted-or-sorted positions below `high` (a KV-cache step starts anywhere)."""
    start = ctx.draw(st.integers(0, high - t))
    pos = torch.arange(start, start + t)
    if ctx.draw(st.booleans()):
        pos = pos[torch.randperm(t, generator=ctx.generator)]
    return pos


@check(
    "matches the reference (random shapes, positions not starting at 0, theta default and not, float32/float64/bfloat16)",
    zh="与参考实现一致（随机形状，位置不从 0 开始，theta 默认和非默认，float32/float64/bfloat16）",
    teaches=["position.rope_general", "position.rope_layouts"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x = _x(ctx, dtype)
    positions = _positions(ctx, x.shape[-2], 64)
    kw = ctx.draw(st.sampled_from([{}, {"theta": 100.0}, {"theta": 500000.0}]))  # {}: theta at its default
    ctx.assert_close(ctx.call(x, positions, **kw), ctx.reference(x, positions, **kw), dtype=dtype)


# (what, x shape, positions, theta or None for the default, dtype)
REGIMES = [
    ("one pair (D = 2), positions 5, 0, 17", (2, 3, 2), [5, 0, 17], None, torch.float32),
    ("one token at position 0 (the identity)", (2, 1, 8), [0], None, torch.float32),
    ("D = 6, positions 3..8, theta 100", (6, 6), [3, 4, 5, 6, 7, 8], 100.0, torch.float32),
    ("D = 10, unsorted positions 7, 3, 0, 12, theta 500000", (2, 2, 4, 10), [7, 3, 0, 12], 500000.0, torch.float32),
    ("one token at position 99999, float64", (3, 1, 64), [99999], None, torch.float64),
    ("bfloat16, D = 16", (2, 3, 16), [1, 2, 40], None, torch.bfloat16),
]


@check(
    "float64 input is computed in float64, angles included (rtol 1e-9 at positions near 100000)",
    zh="float64 输入全程用 float64 计算，包括角度（位置在 100000 附近时 rtol 1e-9）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    theta = ctx.draw(st.sampled_from([10000.0, 1e6]))
    x = ctx.randn(2, 8, 64, dtype=torch.float64)
    positions = torch.tensor([99999, 0, 65536, 99000, 1, 77777, 12345, 99998])
    out = ctx.call(x, positions, theta=theta)
    ctx.assert_close(out, ctx.reference(x, positions, theta=theta), dtype=torch.float64, rtol=1e-9, atol=1e-9)


@check(
    "boundary regimes, every run: D = 2, 6, 10, one token, position 0 and 99999, unsorted positions, theta 100 and 5e5",
    zh="每次都测的边界情形：D = 2、6、10，一个 token，位置 0 和 99999，无序的位置，theta 为 100 和 5e5",
    examples=1,
    teaches=["position.rope_general"],
)
def boundary_regimes(ctx):
    for what, shape, positions, theta, dtype in REGIMES:
        x = ctx.randn(*shape, dtype=dtype)
        pos = torch.tensor(positions, dtype=torch.int64)
        kw = {} if theta is None else {"theta": theta}
        out = ctx.call(x, pos, **kw)
        try:
            ctx.assert_close(out, ctx.reference(x, pos, **kw), dtype=dtype)
        except CheckFailed as exc:
            raise CheckFailed(f"{what}: {exc}") from None


@check(
    "float64 at large positions (up to 100000): angles computed in float64",
    zh="位置很大时（最大 100000）的 float64：角度用 float64 计算",
    examples=10,
)
def large_positions(ctx):
    x = _x(ctx, torch.float64)
    positions = _positions(ctx, x.shape[-2], 100_000)
    ctx.assert_close(ctx.call(x, positions), ctx.reference(x, positions), dtype=torch.float64)


def _norms_match(ctx, x, out):
    if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype:
        return False
    # Loose enough for cos/sin computed in float32 (float64 precision has checks of its own):
    # this property is about rotating, not rounding.
    rtol = 1e-5 if x.dtype == torch.float32 else 1e-6
    ctx.assert_close(out.double().norm(dim=-1), x.double().norm(dim=-1), dtype=torch.float64, rtol=rtol, atol=0.0)
    return True


@check(
    "preserves the norm of every vector (a rotation)",
    zh="保持每个向量的范数（是一个旋转）",
    teaches=["position.rope_2d", "position.rope_general"],
)
def preserves_norm(ctx):
    dtype = ctx.draw(st.sampled_from([torch.float32, torch.float64]))
    x = _x(ctx, dtype)
    positions = _positions(ctx, x.shape[-2], 64)
    out = ctx.call(x, positions)
    if not _norms_match(ctx, x, out):
        ctx.assert_close(out, ctx.reference(x, positions), dtype=dtype)  # says what is wrong


@check(
    "q.k after RoPE depends only on the offset: shifting both positions by s changes nothing",
    zh="RoPE 之后的 q.k 只依赖于相对偏移：两个位置同时平移 s，结果不变",
    teaches=["position.rope_2d", "position.rope_choice_properties"],
)
def relative_position(ctx):
    d = ctx.draw(st.sampled_from([2, 4, 6, 10, 16]))
    q = ctx.randn(1, d, dtype=torch.float64)
    k = ctx.randn(1, d, dtype=torch.float64)
    m, n = ctx.draw(st.integers(0, 40)), ctx.draw(st.integers(0, 40))
    s = ctx.draw(st.integers(1, 1000))
    theta = ctx.draw(st.sampled_from([10000.0, 100.0]))
    rotated = [ctx.call(v, torch.tensor([p]), theta=theta) for v, p in ((q, m), (k, n), (q, m + s), (k, n + s))]
    for v, r in zip((q, k, q, k), rotated):
        if not _norms_match(ctx, v, r):
            ctx.assert_close(r, ctx.reference(v, torch.tensor([0]), theta=theta), dtype=torch.float64)
    before = (rotated[0] * rotated[1]).sum()
    after = (rotated[2] * rotated[3]).sum()
    scale = float(q.norm() * k.norm())  # a dot product near 0 still carries rounding of this size
    ctx.assert_close(after, before.double(), dtype=torch.float64, rtol=1e-6, atol=1e-6 * scale)


# A correct rotate-half solution (cos/sin repeated over both halves, float64 inside). The wrong
# answers written as edited(_ROTATE_HALF, ...) are this text with one bug put in; the interleaved
# layout and the float32 one (Hugging Face's code) are other code and are written out in full.
_ROTATE_HALF = """
import torch

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.double()[:, None] * inv_freq
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    xf = x.double()
    rotated = torch.cat([-xf[..., d // 2:], xf[..., : d // 2]], dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)
"""


WRONG_ANSWERS = {
    "frequencies from an integer arange divided by D (a float32 tensor): float64 angles lose precision": edited(
        _ROTATE_HALF,
        (
            "inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)",
            "inv_freq = theta ** (-torch.arange(0, d, 2) / d)",
        ),
    ),
    "rotates in place on x.double(), which for float64 input is x itself: the caller's x changes": edited(
        _ROTATE_HALF,
        ("return (xf * cos + rotated * sin).to(x.dtype)", "return xf.mul_(cos).add_(rotated * sin).to(x.dtype)"),
    ),
    "interleaved pairs (2i, 2i+1), Meta's original layout, instead of rotate-half": """
import torch

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.double()[:, None] * inv_freq
    cos, sin = angles.cos(), angles.sin()
    xf = x.double()
    x_even, x_odd = xf[..., 0::2], xf[..., 1::2]
    out = torch.stack([x_even * cos - x_odd * sin, x_odd * cos + x_even * sin], dim=-1)
    return out.flatten(-2).to(x.dtype)
""",
    "frequency theta ** (-i / D) instead of theta ** (-2i / D)": edited(
        _ROTATE_HALF,
        ("torch.arange(0, d, 2, dtype", "torch.arange(d // 2, dtype"),
    ),
    "rotate_half with the sign on the wrong half (turns by minus the angle)": edited(
        _ROTATE_HALF,
        ("torch.cat([-xf[..., d // 2:], xf[..., : d // 2]]", "torch.cat([xf[..., d // 2:], -xf[..., : d // 2]]"),
    ),
    "uses 0..T-1 instead of the given positions": edited(
        _ROTATE_HALF,
        ("d = x.shape[-1]", "d, t = x.shape[-1], x.shape[-2]"),
        ("positions.double()", "torch.arange(t, dtype=torch.float64)"),
    ),
    "ignores the theta argument (always 10000)": edited(_ROTATE_HALF, ("inv_freq = theta **", "inv_freq = 10000.0 **")),
    "angles computed in float32 even for float64 input": """
import torch

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2).float() / d))
    angles = positions.float()[:, None] * inv_freq
    emb = torch.cat([angles, angles], dim=-1)
    cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
    rotated = torch.cat([-x[..., d // 2:], x[..., : d // 2]], dim=-1)
    return x * cos + rotated * sin
""",
}

ALTERNATIVES = {
    "Hugging Face style: cos/sin of the angles repeated twice and rotate_half, angles in float64 only for float64": """
import torch

def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).to(work) / d))
    freqs = positions.to(work)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
    return x * cos + rotate_half(x) * sin
""",
    "complex multiplication: the halves as real and imaginary parts": """
import torch

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    half = d // 2
    exponents = torch.arange(half, dtype=torch.float64) * 2 / d
    angles = torch.outer(positions.to(torch.float64), theta ** -exponents)
    rot = torch.polar(torch.ones_like(angles), angles)          # e^{i angle}, (T, D/2)
    z = torch.complex(x[..., :half].double(), x[..., half:].double())
    z = z * rot
    return torch.cat([z.real, z.imag], dim=-1).to(x.dtype)
""",
}
