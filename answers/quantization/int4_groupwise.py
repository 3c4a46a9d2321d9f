"""quantization.int4_groupwise — group-wise symmetric int4 weight quantisation, two codes a byte, and a dequantise-matmul.

quantize_int4(w, group_size=128): w (out, in) float32/float64, `in` a multiple of the even
group_size. Each row is cut into groups of group_size consecutive input columns; per group
scale = max |w| / 7 (0 for an all-zero group), q = clamp(round(w / scale), -7, 7) with torch.round
(halves to even), stored as the unsigned code u = q + 8 in [1, 15] (offset 8, as ONNX Runtime's
MatMulNBits with its default zero point 8). Two codes a byte, low nibble first:
packed[r, j] = u[r, 2j] | u[r, 2j + 1] << 4 (ONNX Runtime int4.h, Int4x2Base). Returns
(packed uint8 (out, in // 2), scales (out, in // group_size) in w's dtype); arithmetic in w's dtype.
int4_matmul(x, packed, scales, group_size=128): x (..., in) in scales' dtype ->
x @ w_hat.T (..., out), w_hat[r, c] = (u[r, c] - 8) * scales[r, c // group_size]; every code 0..15
is valid there (0 means -8).

The packed bytes are judged: unpacked in the stated order, the codes must equal the reference's
(computed in w's dtype like the submission), except where w / scale lies within 1e-4 of (not on) a
half, where either neighbour passes. int4_matmul is judged on its own inputs (random bytes, every
code, random scales) against a float64 oracle, and the two together by a round trip.

Regimes, each run every time by the `*_regimes` checks:
- one group per row (in == group_size: a per-row scale, or groups taken as strided columns, are
  right there and wrong with several groups), several groups of very different sizes in one row,
  group_size 2 and in == 2 (one byte a row: nibbles concatenated instead of interleaved are right
  there), the default group_size 128 with 1 and 2 groups;
- exact rounding ties (scale 1 and 1/2: torch.round keeps the even neighbour), a group whose
  largest magnitude is negative (max(w) instead of max |w|), an all-zero group beside others;
- in int4_matmul: every code 0..15 (0 is -8; a subtraction in uint8 wraps around), one group
  and several (scales tiled with repeat instead of repeat_interleave), x with one row and with two
  leading dims, float64 computed in float64 (rtol 1e-10).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

NEAR_HALF = 1e-4
FLOAT64_RTOL = 1e-10  # far below float32's rounding (6e-8)
# int4_matmul sums up to a few hundred products of O(1): float32 rounding reaches ~1e-5 absolute.
TOLERANCES = {torch.float32: (1e-4, 2e-4)}


def reference(w, group_size=128):
    rows, cols = w.shape
    groups = w.reshape(rows, cols // group_size, group_size)  # consecutive input columns
    scales = groups.abs().amax(dim=2) / 7  # (out, in // group_size)
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))  # an all-zero group: codes 8
    q = torch.round(groups / safe[..., None]).clamp(-7, 7).reshape(rows, cols)
    codes = (q + 8).to(torch.uint8)  # offset 8: q = -7..7 -> 1..15
    packed = codes[:, 0::2] | (codes[:, 1::2] << 4)  # even column in the low nibble
    # the round trip through int4_matmul (x = I gives w_hat.T) stays within half a step of w
    w_hat = int4_matmul(torch.eye(cols, dtype=w.dtype), packed, scales, group_size).T
    step = scales.repeat_interleave(group_size, dim=1)
    assert bool(((w_hat - w).abs() <= step / 2 * (1 + 1e-5) + 1e-30).all())
    return packed, scales


def int4_matmul(x, packed, scales, group_size=128):
    codes = torch.stack([packed & 0xF, packed >> 4], dim=-1).flatten(1)  # (out, in), low nibble first
    w_hat = (codes.to(scales.dtype) - 8) * scales.repeat_interleave(group_size, dim=1)
    return x @ w_hat.T


def _unpack(packed):
    return torch.stack([packed & 0xF, packed >> 4], dim=-1).flatten(1)


@sandboxed
def quantize_and_matmul(solution, w, group_size=None):
    """quantize_int4, then the file's int4_matmul with x = I: (packed, scales, int4_matmul(I, ...).T)."""
    matmul = solution.__globals__.get("int4_matmul")
    if not callable(matmul):
        raise NameError("the file must also define int4_matmul(x, packed, scales, group_size=128)")
    result = solution(w) if group_size is None else solution(w, group_size)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"quantize_int4 must return a tuple (packed, scales), not {type(result).__name__}")
    packed, scales = result
    eye = torch.eye(w.shape[1], dtype=w.dtype)
    args = (eye, packed.clone(), scales.clone()) if group_size is None else (eye, packed.clone(), scales.clone(), group_size)
    return packed, scales, matmul(*args).T


@sandboxed
def matmul_only(solution, x, packed, scales, group_size=None):
    """The file's int4_matmul on given codes and scales."""
    matmul = solution.__globals__.get("int4_matmul")
    if not callable(matmul):
        raise NameError("the file must also define int4_matmul(x, packed, scales, group_size=128)")
    return matmul(x, packed, scales) if group_size is None else matmul(x, packed, scales, group_size)


def _named(what, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}") from None


def _judge_quantized(ctx, w, group_size, got, what=""):
    """packed (codes in the stated order), scales and the round trip against the reference."""
    where = f"{what}: " if what else ""
    packed, scales, w_hat = got
    g = 128 if group_size is None else group_size
    want_packed, want_scales = reference(w, g)
    if not isinstance(packed, torch.Tensor) or packed.dtype != torch.uint8 or packed.shape != want_packed.shape:
        ctx.fail(
            f"{where}packed is {getattr(packed, 'dtype', type(packed).__name__)} of shape "
            f"{tuple(getattr(packed, 'shape', ()))}; expected uint8 of shape {tuple(want_packed.shape)} (two codes a byte)"
        )
    if not isinstance(scales, torch.Tensor) or scales.shape != want_scales.shape or scales.dtype != w.dtype:
        _named(f"{where}scales", ctx.assert_close, scales, want_scales, dtype=w.dtype)  # names the shape or dtype
    zero_group = want_scales == 0
    tiny = torch.isfinite(scales) & (scales.abs() <= 1e-8)
    scales_seen = torch.where(zero_group & tiny, torch.zeros_like(scales), scales)  # a scale clamped to 1e-8 is fine there
    rtol = FLOAT64_RTOL if w.dtype == torch.float64 else 1e-5  # float32: a rounding or two of absmax / 7
    _named(
        f"{where}scales (max |w| of the group / 7)",
        ctx.assert_close,
        scales_seen,
        want_scales,
        dtype=w.dtype,
        rtol=rtol,
        atol=0.0,
    )
    codes, want = _unpack(packed).long(), _unpack(want_packed).long()
    quotient = w.double() / torch.where(zero_group, torch.ones_like(want_scales), want_scales).double().repeat_interleave(
        g, dim=1
    )
    off = (quotient - quotient.floor() - 0.5).abs()
    loose = (off < NEAR_HALF) & (off > 0)
    bad = (codes != want) & ~(loose & ((codes - want).abs() <= 1))
    if bool(bad.any()):
        r, c = bad.nonzero()[0].tolist()
        byte = int(packed[r, c // 2])
        ctx.fail(
            f"{where}the code of w[{r}, {c}] = {float(w[r, c])!r} is {int(codes[r, c])}, expected {int(want[r, c])} "
            f"(q = {int(want[r, c]) - 8} stored as q + 8; read from byte packed[{r}, {c // 2}] = 0x{byte:02x}, "
            f"{'low' if c % 2 == 0 else 'high'} nibble: column 2j in the low nibble, 2j + 1 in the high one)"
        )
    # int4_matmul(I, packed, scales) is the dequantised weight from the submission's own codes
    expected_hat = (codes.to(w.dtype) - 8) * want_scales.repeat_interleave(g, dim=1)
    _named(
        f"{where}int4_matmul(I, *quantize_int4(w)) (the dequantised weight (u - 8) * scale)",
        ctx.assert_close,
        w_hat,
        expected_hat,
        dtype=w.dtype,
    )
    step = want_scales.double().repeat_interleave(g, dim=1)
    err = (w_hat.double() - w.double()).abs()
    if bool((err > step / 2 * (1 + 1e-4) + 1e-12).any()):
        r, c = (err > step / 2 * (1 + 1e-4) + 1e-12).nonzero()[0].tolist()
        ctx.fail(
            f"{where}the round trip of w[{r}, {c}] is off by {float(err[r, c]):.4g}, more than scale / 2 = {float(step[r, c]) / 2:.4g}"
        )


DTYPES = [torch.float32, torch.float64]
GROUPS = [2, 4, 8, 16, 32, None]  # None: the default 128


def _draw_shape(ctx):
    dtype, rows, g, n_groups, spread = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 6),
            st.sampled_from(GROUPS),
            st.integers(1, 4),
            st.sampled_from([1e-3, 1.0, 40.0]),
        )
    )
    cols = (128 if g is None else g) * (n_groups if g is not None else min(n_groups, 2))
    return dtype, rows, cols, g, spread


@check(
    "quantize_int4 matches the reference: the codes unpacked low nibble first, scales, round trip "
    "(random (out, in), group_size 2-32 and the default 128, 1-4 groups, float32/float64)",
    zh="quantize_int4 与参考实现一致：按低半字节在前解包的码、scales、往返误差（随机的 (out, in)，group_size 2-32 和默认的 128，1-4 个组，float32/float64）",
    teaches=["quantization.granularity", "quantization.absmax"],
)
def quantize_matches_reference(ctx):
    dtype, rows, cols, g, spread = _draw_shape(ctx)
    w = ctx.randn(rows, cols, dtype=dtype, scale=spread)
    _judge_quantized(ctx, w, g, ctx.run("quantize_and_matmul", w, g))


def _quantize_cases(ctx):
    ties = torch.tensor([7.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 6.5, -6.5, 3.5, -3.0, 0.0], dtype=torch.float64)
    half_ties = ties / 2  # absmax 3.5: scale 1/2, the same quotients
    mixed = ctx.randn(3, 16, dtype=torch.float64)
    mixed[:, :4] *= 1e-3  # four groups of 4 in each row, sizes 1e-3, 1, 1e3, 1
    mixed[:, 8:12] *= 1e3
    negative = ctx.rand(2, 8, dtype=torch.float64) * 2 - 1
    negative[0, 3] = -5.0  # the largest magnitude of the first group is negative
    negative[1, 6] = -3.0
    zero_group = ctx.randn(3, 12, dtype=torch.float64)
    zero_group[1, 4:8] = 0.0
    return [
        ("exact rounding ties (scale 1): torch.round keeps the even neighbour", ties.reshape(1, -1), 12),
        ("exact rounding ties (scale 1/2), groups of 4", half_ties.reshape(1, -1), 4),
        ("one group per row (in == group_size == 8)", ctx.randn(4, 8, dtype=torch.float64), 8),
        ("in == group_size == 2: one byte a row", ctx.randn(3, 2, dtype=torch.float64), 2),
        ("group_size 2, several groups", ctx.randn(2, 10, dtype=torch.float64), 2),
        ("groups of 1e-3, 1 and 1e3 in one row", mixed, 4),
        ("a group whose largest magnitude is negative", negative, 4),
        ("an all-zero group beside others", zero_group, 4),
        ("default group_size 128, one group", ctx.randn(2, 128, dtype=torch.float64), None),
        ("default group_size 128, two groups", ctx.randn(1, 256, dtype=torch.float64), None),
    ]


@check(
    "quantize_int4 boundary regimes, every run: exact ties, one group per row, in == 2, groups of 1e-3/1/1e3 in one row, "
    "a negative absmax, an all-zero group, the default group_size (float32/float64)",
    zh="quantize_int4 每次都测的边界情形：恰好在 .5 上的舍入，每行只有一个组，in == 2，同一行里 1e-3/1/1e3 的组，"
    "绝对值最大的是负数，全零的组，默认 group_size（float32/float64）",
    examples=1,
    teaches=["quantization.granularity"],
)
def quantize_regimes(ctx):
    ctx.draw(st.just(0))
    for what, w64, g in _quantize_cases(ctx):
        for dtype in DTYPES:
            w = w64.to(dtype)
            _judge_quantized(ctx, w, g, ctx.run("quantize_and_matmul", w, g), f"{what} ({str(dtype).removeprefix('torch.')})")


def _matmul_expected(x, packed, scales, g):
    return int4_matmul(x.double(), packed, scales.double(), 128 if g is None else g)


@check(
    "int4_matmul matches x @ w_hat.T on random bytes (every code 0-15) and scales "
    "(x of 1-3 dims, group_size 2-32 and 128, float32/float64)",
    zh="int4_matmul 在随机字节（0-15 每个码都有）和随机 scales 上等于 x @ w_hat.T（x 为 1-3 维，group_size 2-32 和 128，float32/float64）",
    teaches=["quantization.weight_only_vs_w8a8"],
)
def matmul_matches_reference(ctx):
    dtype, rows, cols, g, _ = _draw_shape(ctx)
    lead = ctx.draw(st.sampled_from([(), (1,), (3,), (2, 3)]))
    x = ctx.randn(*lead, cols, dtype=dtype)
    packed = ctx.randint(0, 256, (rows, cols // 2), dtype=torch.uint8)
    scales = (ctx.rand(rows, cols // (128 if g is None else g), dtype=torch.float64) + 0.05).to(dtype)
    out = ctx.run("matmul_only", x, packed, scales, g)
    ctx.assert_close(out, _matmul_expected(x, packed, scales, g), dtype=dtype)


@check(
    "int4_matmul boundary regimes, every run: all 256 bytes, one group and several with different scales, in == 2, "
    "x of one row, float64 computed in float64 (rtol 1e-10)",
    zh="int4_matmul 每次都测的边界情形：全部 256 种字节，一个组和多个不同 scale 的组，in == 2，只有一行的 x，"
    "float64 全程用 float64 计算（rtol 1e-10）",
    examples=1,
    teaches=["quantization.granularity"],
)
def matmul_regimes(ctx):
    ctx.draw(st.just(0))
    every_byte = torch.arange(256, dtype=torch.int64).to(torch.uint8).reshape(4, 64)  # (out 4, in 128)
    cases = [
        (every_byte, 128, None),
        (every_byte, 16, None),
        (every_byte[:, :8], 4, None),
        (ctx.randint(0, 256, (3, 1), dtype=torch.uint8), 2, None),
        (ctx.randint(0, 256, (5, 6), dtype=torch.uint8), 4, None),
    ]
    for packed, g, _ in cases:
        rows, cols = packed.shape[0], packed.shape[1] * 2
        scales64 = ctx.rand(rows, cols // g, dtype=torch.float64) * torch.logspace(-2, 1, cols // g, dtype=torch.float64) + 0.01
        for dtype, lead in ((torch.float32, (1,)), (torch.float32, (2, 3)), (torch.float64, (3,))):
            x = ctx.randn(*lead, cols, dtype=dtype)
            scales = scales64.to(dtype)
            out = ctx.run("matmul_only", x, packed, scales, None if g == 128 else g)
            expected = _matmul_expected(x, packed, scales, g)
            if dtype == torch.float64:
                ctx.assert_close(out, expected, dtype=dtype, rtol=FLOAT64_RTOL, atol=0.0)
            else:
                ctx.assert_close(out, expected, dtype=dtype)


@check(
    "values on the grid (k * scale, with |k| = 7 in each group) come back exactly through int4_matmul(I, ...)",
    zh="网格上的值（k * scale，每组都有 |k| = 7）经 int4_matmul(I, ...) 能精确还原",
    teaches=["quantization.granularity"],
)
def on_grid(ctx):
    dtype, rows, cols, g, _ = _draw_shape(ctx)
    size = 128 if g is None else g
    k = ctx.randint(-7, 8, (rows, cols))
    k[:, ::size] = 7 * (1 - 2 * ctx.randint(0, 2, (rows, cols // size)))  # sets each group's scale to the step
    step = 2.0 ** ctx.draw(st.integers(-6, 3))  # a power of two: k * step and 7 * step / 7 are exact
    w = (k.to(torch.float64) * step).to(dtype)
    packed, scales, w_hat = ctx.run("quantize_and_matmul", w, g)
    _judge_quantized(ctx, w, g, (packed, scales, w_hat))
    ctx.assert_close(w_hat, w.double(), dtype=dtype, rtol=0.0, atol=0.0)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def quantize_int4(w, group_size=128):
    out_f, in_f = w.shape
    g = w.view(out_f, in_f // group_size, group_size)
    scales = g.abs().amax(dim=-1) / 7
    q = torch.round(g / scales.clamp(min=1e-12).unsqueeze(-1))
    q = q.clamp(-7, 7).view(out_f, in_f)
    u = (q + 8).to(torch.uint8)
    lo, hi = u[:, 0::2], u[:, 1::2]
    packed = lo | (hi << 4)
    return packed, scales

def int4_matmul(x, packed, scales, group_size=128):
    lo = (packed & 0x0F).to(scales.dtype) - 8
    hi = (packed >> 4).to(scales.dtype) - 8
    q = torch.stack([lo, hi], dim=-1).reshape(packed.shape[0], -1)
    w = q * scales.repeat_interleave(group_size, dim=1)
    return x @ w.t()
"""

WRONG_ANSWERS = {
    "nibble order swapped: column 2j in the high nibble (the same in both functions)": edited(
        _PLAIN,
        ("packed = lo | (hi << 4)", "packed = (lo << 4) | hi"),
        ("q = torch.stack([lo, hi], dim=-1)", "q = torch.stack([hi, lo], dim=-1)"),
    ),
    "two's complement nibbles (q & 0xF) instead of the offset q + 8 (the same in both functions)": edited(
        _PLAIN,
        ("u = (q + 8).to(torch.uint8)", "u = (q.to(torch.int8) & 0x0F).to(torch.uint8)"),
        ("lo = (packed & 0x0F).to(scales.dtype) - 8", "lo = (((packed & 0x0F).to(torch.int8) ^ 8) - 8).to(scales.dtype)"),
        ("hi = (packed >> 4).to(scales.dtype) - 8", "hi = (((packed >> 4).to(torch.int8) ^ 8) - 8).to(scales.dtype)"),
    ),
    "one scale per row (max |w| over the whole row), repeated for every group": edited(
        _PLAIN,
        (
            "scales = g.abs().amax(dim=-1) / 7",
            "scales = (w.abs().amax(dim=1, keepdim=True) / 7).expand(out_f, in_f // group_size).contiguous()",
        ),
    ),
    "groups as strided columns (view(out, group_size, -1)) instead of consecutive ones": edited(
        _PLAIN,
        (
            "g = w.view(out_f, in_f // group_size, group_size)",
            "g = w.view(out_f, group_size, in_f // group_size).transpose(1, 2)",
        ),
        ("q = q.clamp(-7, 7).view(out_f, in_f)", "q = q.clamp(-7, 7).transpose(1, 2).reshape(out_f, in_f)"),
    ),
    "rounds by floor": edited(_PLAIN, ("q = torch.round(g / scales", "q = torch.floor(g / scales")),
    "rounds halves up (floor(x + 0.5)) instead of to even": edited(
        _PLAIN,
        (
            "q = torch.round(g / scales.clamp(min=1e-12).unsqueeze(-1))",
            "q = torch.floor(g / scales.clamp(min=1e-12).unsqueeze(-1) + 0.5)",
        ),
    ),
    "scale = max |w| / 8 with codes in [-8, 7] (the asymmetric signed range)": edited(
        _PLAIN, ("scales = g.abs().amax(dim=-1) / 7", "scales = g.abs().amax(dim=-1) / 8"), ("q.clamp(-7, 7)", "q.clamp(-8, 7)")
    ),
    "scale from max(w), not max |w| (a negative extreme is clamped)": edited(
        _PLAIN, ("scales = g.abs().amax(dim=-1) / 7", "scales = g.amax(dim=-1).clamp(min=0) / 7")
    ),
    "int4_matmul tiles the scales with repeat instead of repeat_interleave": edited(
        _PLAIN, ("scales.repeat_interleave(group_size, dim=1)", "scales.repeat(1, group_size)")
    ),
    "int4_matmul puts all low nibbles before all high nibbles (torch.cat) instead of interleaving them": edited(
        _PLAIN, ("q = torch.stack([lo, hi], dim=-1).reshape(packed.shape[0], -1)", "q = torch.cat([lo, hi], dim=1)")
    ),
    "int4_matmul subtracts 8 in uint8 (codes below 8 wrap around to 248-255)": edited(
        _PLAIN,
        ("lo = (packed & 0x0F).to(scales.dtype) - 8", "lo = ((packed & 0x0F) - 8).to(scales.dtype)"),
        ("hi = (packed >> 4).to(scales.dtype) - 8", "hi = ((packed >> 4) - 8).to(scales.dtype)"),
    ),
    "int4_matmul dequantises in float32 (.float()) and casts back: float64 loses its low digits": edited(
        _PLAIN, ("    return x @ w.t()\n", "    return (x.float() @ w.float().t()).to(x.dtype)\n")
    ),
}

ALTERNATIVES = {
    "bit arithmetic by multiplication, codes built by a lookup of 16 levels, scales by index": """
import torch

def quantize_int4(w, group_size=128):
    rows, cols = w.shape
    absmax = w.reshape(rows, -1, group_size).abs().max(dim=2).values
    scales = absmax / 7.0
    group_of = torch.arange(cols) // group_size
    per_col = scales[:, group_of]
    q = torch.where(per_col > 0, w / torch.where(per_col > 0, per_col, 1.0), 0.0).round().clamp(-7, 7)
    u = (q + 8).to(torch.int64).reshape(rows, cols // 2, 2)
    return (u[..., 0] + 16 * u[..., 1]).to(torch.uint8), scales

def int4_matmul(x, packed, scales, group_size=128):
    levels = torch.arange(-8, 8, dtype=scales.dtype)
    p = packed.to(torch.int64)
    codes = torch.empty(p.shape[0], 2 * p.shape[1], dtype=torch.int64)
    codes[:, 0::2] = p % 16
    codes[:, 1::2] = p // 16
    group_of = torch.arange(codes.shape[1]) // group_size
    w_hat = levels[codes] * scales[:, group_of]
    return torch.matmul(x, w_hat.transpose(0, 1))
""",
}
