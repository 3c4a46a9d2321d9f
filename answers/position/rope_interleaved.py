"""position.rope_interleaved — rotary embedding in Meta's interleaved (complex-pair) layout.

apply_rope_interleaved(x, positions, theta=10000.0): x (..., T, D), D even; positions int64 (T,).
Dims 2i and 2i + 1 form a pair (the real and imaginary parts of one complex number, as in
meta-llama/llama model.py `apply_rotary_emb` with `torch.view_as_complex`) and turn by the angle
positions[t] * theta ** (-2i / D):
out_{2i} = x_{2i} cos - x_{2i+1} sin, out_{2i+1} = x_{2i+1} cos + x_{2i} sin.
float64 input is computed in float64 (angles included).

It is the rotate-half layout (position.rope) up to a permutation of the head dim: with
perm = [0, 2, 4, ..., 1, 3, 5, ...], rope_interleaved(x)[..., perm] = rope_half(x[..., perm]),
so permuting the columns of W_q and W_k turns one checkpoint layout into the other with the same
attention scores (`same_scores_as_rotate_half`). Regimes run every time by `boundary_regimes`
and `float64_precision`: D = 2 (the two layouts agree: the pairing is hidden), D = 4, 6 and 10,
one token, position 0 (the identity), unsorted positions not starting at 0, theta 100 and 5e5,
and float64 at positions near 100000 (an angle computed in float32 is off by ~1e-2 radians).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []

# float32: an angle p * freq rounded to float32 is off by ~p * 1e-7 radians (Meta computes it
# that way); with positions below 64 and |x| of a few units that moves outputs by up to ~1e-4.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}


def _angles(positions, d, theta):
    """(T, D/2) float64: positions[t] * theta ** (-2i / D)."""
    inv_freq = theta ** (-2.0 * torch.arange(d // 2, dtype=torch.float64) / d)
    return positions.double()[:, None] * inv_freq[None, :]


def reference(x, positions, theta=10000.0):
    # x (..., T, D), positions (T,) -> (..., T, D); float64 inside
    angles = _angles(positions, x.shape[-1], theta)
    cos, sin = angles.cos(), angles.sin()
    x64 = x.double()
    even, odd = x64[..., 0::2], x64[..., 1::2]  # dim 2i pairs with dim 2i + 1
    out = torch.stack([even * cos - odd * sin, odd * cos + even * sin], dim=-1)  # (..., T, D/2, 2)
    return out.flatten(-2).to(x.dtype)


def _rope_half(x, positions, theta):
    """Rotate-half RoPE in float64 (dim i pairs with dim i + D/2), harness only."""
    d = x.shape[-1]
    angles = _angles(positions, d, theta)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


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
    teaches=["position.rope_layouts", "position.rope_general"],
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
    ("two pairs (D = 4), positions 1, 2", (2, 4), [1, 2], None, torch.float32),
    ("one token at position 0 (the identity)", (2, 1, 8), [0], None, torch.float32),
    ("D = 6, positions 3..8, theta 100", (6, 6), [3, 4, 5, 6, 7, 8], 100.0, torch.float32),
    ("D = 10, unsorted positions 7, 3, 0, 12, theta 500000", (2, 2, 4, 10), [7, 3, 0, 12], 500000.0, torch.float64),
    ("one token at position 99999, float64", (3, 1, 64), [99999], None, torch.float64),
    ("bfloat16, D = 16", (2, 3, 16), [1, 2, 40], None, torch.bfloat16),
]


@check(
    "boundary regimes, every run: D = 2, 4, 6, 10, one token, position 0 and 99999, unsorted positions, theta 100 and 5e5",
    zh="每次都测的边界情形：D = 2、4、6、10，一个 token，位置 0 和 99999，无序的位置，theta 为 100 和 5e5",
    examples=1,
    teaches=["position.rope_layouts"],
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
    "the rotate-half layout up to a permutation: q.k scores equal rotate-half RoPE's on columns permuted [0, 2, 4, ..., 1, 3, 5, ...]",
    zh="与 rotate-half 布局只差一个置换：把列按 [0, 2, 4, ..., 1, 3, 5, ...] 重排后，q.k 分数与 rotate-half RoPE 的相同",
    teaches=["position.rope_layouts", "position.rope_layout_fix_choice"],
)
def same_scores_as_rotate_half(ctx):
    d = ctx.draw(st.sampled_from([4, 6, 10, 16]))
    t = ctx.draw(st.integers(1, 6))
    theta = ctx.draw(st.sampled_from([10000.0, 100.0]))
    q = ctx.randn(2, t, d, dtype=torch.float64)
    k = ctx.randn(2, t, d, dtype=torch.float64)
    positions = _positions(ctx, t, 64)
    q_rot, k_rot = ctx.call(q, positions, theta=theta), ctx.call(k, positions, theta=theta)
    for v, r in ((q, q_rot), (k, k_rot)):
        if not isinstance(r, torch.Tensor) or r.shape != v.shape or r.dtype != v.dtype:
            ctx.assert_close(r, ctx.reference(v, positions, theta=theta), dtype=torch.float64)  # says what is wrong
    perm = torch.cat([torch.arange(0, d, 2), torch.arange(1, d, 2)])
    scores = q_rot @ k_rot.transpose(-1, -2)  # (2, T, T)
    half_q = _rope_half(q[..., perm], positions, theta)
    half_k = _rope_half(k[..., perm], positions, theta)
    expected = half_q @ half_k.transpose(-1, -2)
    scale = float(q.norm(dim=-1).max() * k.norm(dim=-1).max())
    ctx.assert_close(scores, expected, dtype=torch.float64, rtol=1e-6, atol=1e-9 * scale)


# A correct interleaved solution (float64 inside). The wrong answers written as
# edited(_INTERLEAVED, ...) are this text with one bug put in.
_INTERLEAVED = """
import torch

def apply_rope_interleaved(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.double()[:, None] * inv_freq
    cos = angles.cos().repeat_interleave(2, dim=-1)
    sin = angles.sin().repeat_interleave(2, dim=-1)
    xf = x.double()
    rotated = torch.stack([-xf[..., 1::2], xf[..., 0::2]], dim=-1).flatten(-2)
    return (xf * cos + rotated * sin).to(x.dtype)
"""

WRONG_ANSWERS = {
    "rotate-half pairing (dim i with dim i + D/2) instead of interleaved pairs": """
import torch

def apply_rope_interleaved(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.double()[:, None] * inv_freq
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    xf = x.double()
    rotated = torch.cat([-xf[..., d // 2:], xf[..., : d // 2]], dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)
""",
    "cos/sin laid out as cat([f, f]) (the rotate-half layout) while pairing adjacent dims": edited(
        _INTERLEAVED,
        ("cos = angles.cos().repeat_interleave(2, dim=-1)", "cos = torch.cat([angles.cos()] * 2, -1)"),
        ("sin = angles.sin().repeat_interleave(2, dim=-1)", "sin = torch.cat([angles.sin()] * 2, -1)"),
    ),
    "frequency theta ** (-i / D) instead of theta ** (-2i / D)": edited(
        _INTERLEAVED, ("torch.arange(0, d, 2, dtype", "torch.arange(d // 2, dtype")
    ),
    "uses 0..T-1 instead of the given positions": edited(
        _INTERLEAVED,
        ("d = x.shape[-1]", "d, t = x.shape[-1], x.shape[-2]"),
        ("positions.double()", "torch.arange(t, dtype=torch.float64)"),
    ),
    "sin with the wrong sign (turns by minus the angle)": edited(
        _INTERLEAVED, ("torch.stack([-xf[..., 1::2], xf[..., 0::2]]", "torch.stack([xf[..., 1::2], -xf[..., 0::2]]")
    ),
    "angles computed in float32 even for float64 input (Meta's precompute_freqs_cis as is)": """
import torch

def apply_rope_interleaved(x, positions, theta=10000.0):
    d = x.shape[-1]
    freqs = 1.0 / (theta ** (torch.arange(0, d, 2)[: d // 2].float() / d))
    angles = positions.float()[:, None] * freqs
    freqs_cis = torch.polar(torch.ones_like(angles), angles)
    work = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    xc = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2).contiguous()).to(work)
    return torch.view_as_real(xc * freqs_cis.to(work)).flatten(-2).to(x.dtype)
""",
    "ignores the theta argument (always 10000)": edited(_INTERLEAVED, ("inv_freq = theta **", "inv_freq = 10000.0 **")),
}

ALTERNATIVES = {
    "Meta's form: view_as_complex over (D/2, 2) pairs times e^{i angle} from torch.polar": """
import torch

def apply_rope_interleaved(x, positions, theta=10000.0):
    d = x.shape[-1]
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    freqs = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=work) / d))
    angles = torch.outer(positions.to(work), freqs)               # (T, D/2)
    freqs_cis = torch.polar(torch.ones_like(angles), angles)       # e^{i angle}
    xc = torch.view_as_complex(x.to(work).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    out = torch.view_as_real(xc * freqs_cis).flatten(-2)
    return out.to(x.dtype)
""",
}
