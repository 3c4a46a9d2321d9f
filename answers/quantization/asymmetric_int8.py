"""quantization.asymmetric_int8 — per-channel asymmetric (affine) uint8 quantisation with a zero point.

asymmetric_int8(w): w (C, K) float32/float64, one channel per row (a Linear weight's output
channels, dim 0) -> (q uint8 (C, K), scale (C, 1), zero_point uint8 (C, 1), w_hat (C, K)).
Per row: lo = min(min(w), 0), hi = max(max(w), 0) (the range holds 0, so 0 is exact),
scale = (hi - lo) / 255 (1 for an all-zero row), zero_point = round(-lo / scale) clamped to
[0, 255], q = clamp(round(w / scale) + zero_point, 0, 255), w_hat = (q - zero_point) * scale,
rounding half to even (torch.round), arithmetic in the input's dtype. (Jacob et al. 2018, sec. 2.1,
eq. 1 and sec. 2.2: real = S (q - Z), Z of the quantised type so 0 is exact.)

The reference runs in the input's dtype (float32 arithmetic for float32 input), so q is compared
exactly except where w / scale lies within 1e-4 of a rounding half, where either neighbour passes.

Regimes, each run every time by `boundary_regimes`: exact rounding ties of q and of the zero point
(a power-of-two scale), all-positive and all-negative rows (the range must reach 0), an all-zero
row, a constant row, K = 1, C = 1, a square matrix (a per-column scale shows only in values),
rows of 1e-6 beside rows of 1e3 (one scale for the tensor shows), the round trip error at most
scale / 2.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.quantize_per_channel", "torch.fake_quantize_per_channel_affine"]
NEAR_HALF = 1e-4


def reference(w):
    lo = w.amin(dim=1, keepdim=True).clamp(max=0)  # (C, 1): the range always holds 0
    hi = w.amax(dim=1, keepdim=True).clamp(min=0)
    scale = (hi - lo) / 255
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row
    zero_point = torch.round(-lo / scale).clamp(0, 255)  # (C, 1), half to even
    q = (torch.round(w / scale) + zero_point).clamp(0, 255)
    w_hat = (q - zero_point) * scale  # in float: uint8 q - zero_point would wrap around
    return q.to(torch.uint8), scale, zero_point.to(torch.uint8), w_hat


def _near_half(value):
    """Within NEAR_HALF of a rounding half but not exactly on it (exact ties must go to even)."""
    off = (value - value.floor() - 0.5).abs()
    return (off < NEAR_HALF) & (off > 0)


def _compare(ctx, w, got, what=""):
    where = f"{what}: " if what else ""
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        ctx.fail(f"{where}returned {type(got).__name__}; expected a tuple (q, scale, zero_point, w_hat)")
    q, scale, zp, w_hat = got
    q_ref, scale_ref, zp_ref, _ = reference(w)
    for name, value, want in (("q", q, q_ref), ("zero_point", zp, zp_ref)):
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.shape != want.shape:
            ctx.fail(
                f"{where}`{name}` is {getattr(value, 'dtype', type(value).__name__)} of shape "
                f"{tuple(getattr(value, 'shape', ()))}; expected uint8 of shape {tuple(want.shape)}"
            )
    wd = w.double()
    sd = scale_ref.double()
    raw_zp = -wd.amin(dim=1, keepdim=True).clamp(max=0) / sd
    loose_zp = _near_half(raw_zp)
    loose_q = _near_half(wd / sd) | loose_zp
    try:
        ctx.assert_close(scale, scale_ref, dtype=w.dtype)
        bad_zp = (zp.long() != zp_ref.long()) & ~(loose_zp & ((zp.long() - zp_ref.long()).abs() <= 1))
        if bool(bad_zp.any()):
            row = int(bad_zp.nonzero()[0, 0])
            ctx.fail(f"zero_point of row {row} is {int(zp[row, 0])}; expected {int(zp_ref[row, 0])}")
        bad_q = (q.long() != q_ref.long()) & ~(loose_q & ((q.long() - q_ref.long()).abs() <= 1))
        if bool(bad_q.any()):
            r, c = bad_q.nonzero()[0].tolist()
            ctx.fail(f"q[{r}, {c}] is {int(q[r, c])}; expected {int(q_ref[r, c])} (w = {float(w[r, c])!r})")
        expected_hat = (q.to(w.dtype) - zp.to(w.dtype)) * scale_ref  # from the submission's own q
        ctx.assert_close(w_hat, expected_hat, dtype=w.dtype)
    except CheckFailed as exc:
        raise CheckFailed(f"{where}{exc}") from None
    err = (w_hat.double() - wd).abs()
    if bool((err > sd / 2 * (1 + 1e-5) + 1e-12).any()):
        ctx.fail(f"{where}the round trip w_hat is off by up to {float(err.max()):.3g}, more than scale / 2")


DTYPES = [torch.float32, torch.float64]


@check(
    "matches the reference (random (C, K) incl. 1, float32/float64, rows centred and shifted)",
    zh="与参考实现一致（随机的 (C, K)，包括 1，float32/float64，行的中心在 0 附近和偏移的）",
    teaches=["quantization.zero_point"],
)
def matches_reference(ctx):
    dtype, c, k, shift, spread = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            st.integers(1, 9),
            st.integers(1, 40),
            st.sampled_from([0.0, 0.5, 2.0, -3.0]),
            st.sampled_from([1e-3, 1.0, 50.0]),
        )
    )
    w = (ctx.randn(c, k, dtype=torch.float64) + shift) * spread
    w = w.to(dtype)
    _compare(ctx, w, ctx.call(w))


def _regime_cases(ctx):
    step = 2.0**-4  # scale of a row whose range is 255 / 16
    ties = torch.tensor([-5.0, 10.9375] + [(k + 0.5) * step - 5.0 for k in range(0, 40, 3)], dtype=torch.float64)
    zp_tie_lo = -80.5 * step
    zp_tie = torch.tensor([zp_tie_lo, zp_tie_lo + 15.9375, 0.0, 1.0, -2.0, 3.3], dtype=torch.float64)
    mixed = ctx.randn(4, 16, dtype=torch.float64)
    mixed[0] *= 1e-6
    mixed[2] *= 1e3
    return [
        ("exact rounding ties (scale 1/16): torch.round keeps the even neighbour", ties.reshape(1, -1)),
        ("the zero point is an exact tie (-lo / scale = 80.5)", zp_tie.reshape(1, -1)),
        (
            "all-positive and all-negative rows: the range must reach 0",
            torch.stack([ctx.rand(12, dtype=torch.float64) + 1.0, -ctx.rand(12, dtype=torch.float64) - 2.0]),
        ),
        (
            "an all-zero row beside a constant row and a random one",
            torch.stack(
                [
                    torch.zeros(7, dtype=torch.float64),
                    torch.full((7,), 0.75, dtype=torch.float64),
                    ctx.randn(7, dtype=torch.float64),
                ]
            ),
        ),
        ("K = 1", ctx.randn(5, 1, dtype=torch.float64)),
        ("C = 1, K = 300", ctx.randn(1, 300, dtype=torch.float64) + 0.7),
        (
            "a square matrix with rows of different ranges",
            ctx.randn(6, 6, dtype=torch.float64) * torch.tensor([[0.1], [1.0], [5.0], [0.01], [2.0], [30.0]], dtype=torch.float64)
            + 0.3,
        ),
        ("rows of 1e-6 beside rows of 1e3", mixed),
    ]


@check(
    "boundary regimes, every run: rounding ties of q and of the zero point, one-signed rows, all-zero and constant rows, "
    "K = 1, C = 1, square, rows of 1e-6 beside 1e3 (float32/float64)",
    zh="每次都测的边界情形：q 和 zero point 恰好在 .5 上的舍入，全正和全负的行，全零和常数行，K = 1，C = 1，方阵，"
    "1e-6 的行和 1e3 的行放在一起（float32/float64）",
    examples=1,
    teaches=["quantization.zero_point"],
)
def boundary_regimes(ctx):
    ctx.draw(st.just(0))
    for what, w in _regime_cases(ctx):
        for dtype in DTYPES:
            x = w.to(dtype)
            _compare(ctx, x, ctx.call(x), f"{what} ({dtype})")


@check(
    "a value on the grid comes back exactly, and 0 is exact in every row",
    zh="落在量化网格上的值能精确还原，每一行的 0 都能精确表示",
    teaches=["quantization.zero_point"],
)
def zero_is_exact(ctx):
    dtype, c, k = ctx.draw(st.tuples(st.sampled_from(DTYPES), st.integers(1, 5), st.integers(2, 20)))
    w = ctx.randn(c, k, dtype=torch.float64).to(dtype)
    w[:, 0] = 0
    got = ctx.call(w)
    _compare(ctx, w, got)
    if bool((got[3][:, 0] != 0).any()):
        ctx.fail(f"w = 0 comes back as {got[3][:, 0].tolist()}; the zero point must make 0 exact")


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def asymmetric_int8(w):
    lo = torch.clamp(w.min(dim=1, keepdim=True).values, max=0)
    hi = torch.clamp(w.max(dim=1, keepdim=True).values, min=0)
    scale = (hi - lo) / 255
    scale[scale == 0] = 1.0
    zp = torch.clamp(torch.round(-lo / scale), 0, 255)
    q = torch.clamp(torch.round(w / scale) + zp, 0, 255)
    w_hat = (q - zp) * scale
    return q.to(torch.uint8), scale, zp.to(torch.uint8), w_hat
"""

WRONG_ANSWERS = {
    "symmetric only: scale = 2 max|w| / 255 and zero point 128": edited(
        _PLAIN,
        (
            "    scale = (hi - lo) / 255\n",
            "    scale = 2 * torch.maximum(hi, -lo) / 255\n",
        ),
        ("zp = torch.clamp(torch.round(-lo / scale), 0, 255)", "zp = torch.full_like(scale, 128.0)"),
    ),
    "one scale and zero point for the whole tensor, not per channel": edited(
        _PLAIN,
        ("lo = torch.clamp(w.min(dim=1, keepdim=True).values, max=0)", "lo = torch.clamp(w.min(), max=0).expand(w.shape[0], 1)"),
        ("hi = torch.clamp(w.max(dim=1, keepdim=True).values, min=0)", "hi = torch.clamp(w.max(), min=0).expand(w.shape[0], 1)"),
        ("scale = (hi - lo) / 255\n", "scale = ((hi - lo) / 255).clone()\n"),
    ),
    "per column (dim 0) instead of per output channel (rows)": edited(
        _PLAIN,
        ("w.min(dim=1, keepdim=True).values", "w.min(dim=0, keepdim=True).values.T[: w.shape[0]].expand(w.shape[0], 1)"),
        ("w.max(dim=1, keepdim=True).values", "w.max(dim=0, keepdim=True).values.T[: w.shape[0]].expand(w.shape[0], 1)"),
        ("scale = (hi - lo) / 255\n", "scale = ((hi - lo) / 255).clone()\n"),
    ),
    "min and max not widened to include 0 (an all-positive row has no exact 0)": edited(
        _PLAIN,
        ("lo = torch.clamp(w.min(dim=1, keepdim=True).values, max=0)", "lo = w.min(dim=1, keepdim=True).values"),
        ("hi = torch.clamp(w.max(dim=1, keepdim=True).values, min=0)", "hi = w.max(dim=1, keepdim=True).values"),
    ),
    "q clamped to the signed range [-128, 127] with the unsigned zero point": edited(
        _PLAIN,
        ("q = torch.clamp(torch.round(w / scale) + zp, 0, 255)", "q = torch.clamp(torch.round(w / scale) + zp, -128, 127)"),
    ),
    "truncation instead of rounding (w / scale cast toward zero)": edited(
        _PLAIN, ("q = torch.clamp(torch.round(w / scale) + zp, 0, 255)", "q = torch.clamp(torch.trunc(w / scale) + zp, 0, 255)")
    ),
    "rounds halves up (floor(x + 0.5)) instead of to even": edited(
        _PLAIN,
        ("torch.round(w / scale)", "torch.floor(w / scale + 0.5)"),
        ("torch.round(-lo / scale)", "torch.floor(-lo / scale + 0.5)"),
    ),
    "the zero point is not rounded: q = round(w / scale + (-lo / scale))": edited(
        _PLAIN,
        ("q = torch.clamp(torch.round(w / scale) + zp, 0, 255)", "q = torch.clamp(torch.round(w / scale - lo / scale), 0, 255)"),
    ),
    "dequantises in uint8: q - zero_point wraps around below 0": edited(
        _PLAIN,
        (
            "    w_hat = (q - zp) * scale\n    return q.to(torch.uint8), scale, zp.to(torch.uint8), w_hat",
            "    q, zp = q.to(torch.uint8), zp.to(torch.uint8)\n    w_hat = (q - zp) * scale\n    return q, scale, zp, w_hat",
        ),
    ),
    "dequantises without the zero point (q * scale)": edited(_PLAIN, ("w_hat = (q - zp) * scale", "w_hat = q * scale")),
}

ALTERNATIVES = {
    "qmin/qmax written out, a clamped minimum scale for zero rows, aminmax": """
import torch

def asymmetric_int8(w):
    qmin, qmax = 0, 255
    mn, mx = torch.aminmax(w, dim=1, keepdim=True)
    mn, mx = mn.clamp(max=0), mx.clamp(min=0)
    scale = torch.where(mx > mn, (mx - mn) / (qmax - qmin), torch.ones_like(mx))
    zero_point = (qmin - mn / scale).round().clamp(qmin, qmax)
    q = (w / scale).round().add(zero_point).clamp(qmin, qmax)
    return q.to(torch.uint8), scale, zero_point.to(torch.uint8), (q - zero_point) * scale
""",
}
