"""quantization.absmax_int8 — per-row absmax int8 quantization and its inverse: reference, checks, wrong answers.

absmax_int8(x): x (..., D) floating -> (q, scale): scale (..., 1) = max |x| over the last dim / 127,
float32 (float64 for float64 x); q = round(x / scale) (torch.round: halves to even) as int8, in
[-127, 127]. An all-zero row gives q = 0 and a finite scale (0, or the small value it was clamped to).
dequantize_int8(q, scale) -> q * scale in scale's dtype. The error is at most scale / 2 per element,
and values on the grid (integer multiples of scale) come back exactly.
(Dettmers et al. 2022, LLM.int8(), arXiv:2208.07339, sec. 2: absmax quantization, here per row, i.e.
vector-wise, sec. 3.1.) Float64 input is computed in float64.

Regimes where implementations diverge (each run every time by `boundary_cases` and
`float64_precision`):
- exact rounding ties (x / scale = k + 1/2 with a power-of-two scale): torch.round gives the even
  neighbour; floor(q + 0.5) or rounding half away from zero do not;
- rows of 1e-7 (a scale clamped to 1e-8 "for safety" changes q) next to rows of 1e4;
- float16 near 65504 and bfloat16 near 1e38 (x * 127 in the input dtype overflows);
- D = 1; D = 4096 with the row's absmax in its last element (a max over part of a row);
- an all-zero row next to a non-zero one;
- float64 rows whose scale float32 cannot hold (a float32 computation shows at 1e-8).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed


def reference(x):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    x = x.to(work)
    scale = x.abs().amax(dim=-1, keepdim=True) / 127  # (..., 1): the row's largest magnitude maps to 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row: divide by 1, get zeros
    q = (x / safe).round().clamp(-127, 127).to(torch.int8)  # (..., D)
    # what rounding to the grid guarantees: the round trip is within half a step of x
    assert bool(((dequantize_int8(q, scale) - x).abs() <= scale / 2 + x.abs() * 1e-5).all())
    return q, scale


def dequantize_int8(q, scale):
    return q.to(scale.dtype) * scale  # (..., D)


@sandboxed
def roundtrip(solution, x):
    """absmax_int8 and the file's dequantize_int8, in the sandbox: (q, scale, dequantized)."""
    dequantize = solution.__globals__.get("dequantize_int8")
    if not callable(dequantize):
        raise NameError("the file must also define dequantize_int8(q, scale)")
    result = solution(x)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"absmax_int8 must return a tuple (q, scale), not {type(result).__name__}")
    q, scale = result
    return q, scale, dequantize(q.clone(), scale.clone())


DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]
SHAPES = st.tuples(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.sampled_from([1, 2, 3, 5, 8, 17, 64]))


def _scale_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def _named(what, compare, *args, **kwargs):
    """Run a comparison; a failure says which output it was about."""
    try:
        compare(*args, **kwargs)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}") from None


def _judge(ctx, x, got):
    """Compare (q, scale, deq) with the reference: q exactly, except where x / scale sits within
    1e-3 of a rounding boundary (there a float32 quotient may round either way)."""
    q, scale, deq = got
    want_q, want_scale = ctx.reference(x)
    sdtype = _scale_dtype(x.dtype)
    if not isinstance(q, torch.Tensor) or q.dtype != torch.int8 or q.shape != x.shape:
        ctx.fail(
            f"q must be an int8 tensor of x's shape {tuple(x.shape)}; got {q.dtype if isinstance(q, torch.Tensor) else type(q).__name__} {tuple(getattr(q, 'shape', ()))}"
        )
    nonzero = want_scale > 0  # (..., 1)
    if not isinstance(scale, torch.Tensor) or scale.shape != want_scale.shape or scale.dtype != sdtype:
        _named("scale", ctx.assert_close, scale, want_scale, dtype=sdtype)  # says what is wrong with its shape or dtype
    if not bool(torch.isfinite(scale).all()):
        ctx.fail("scale has NaN or inf entries (an all-zero row must get a finite scale)")
    # rows with a non-zero absmax: absmax / 127 (float32 rounding of the division allowed)
    _named(
        "scale (max |x| of the row / 127)",
        ctx.assert_close,
        torch.where(nonzero, scale, want_scale.to(sdtype)),
        want_scale,
        dtype=sdtype,
        rtol=1e-6,
        atol=0.0,
    )
    quotient = x.double() / torch.where(nonzero, want_scale, torch.ones_like(want_scale))
    frac = quotient.abs() - quotient.abs().floor()
    boundary = (frac - 0.5).abs() < 1e-3
    off = (q.long() - want_q.long()).abs()
    if bool((off > 1).any()) or bool(((off == 1) & ~boundary).any()):
        _named(
            "q (round(x / scale))", ctx.assert_equal, torch.where(boundary, want_q, q), want_q
        )  # names the first wrong element
        ctx.fail("q differs by more than 1 from round(x / scale)")
    # the dequantized values are q * scale, in scale's dtype
    _named(
        "dequantize_int8(q, scale) (q * scale)",
        ctx.assert_close,
        deq,
        q.to(torch.float64) * scale.to(torch.float64),
        dtype=sdtype,
    )
    return q, scale, deq


@check(
    "matches the reference: q, scale and dequantized values (rows of 1 to 64, float32/float64/bfloat16/float16)",
    zh="与参考实现一致：q、scale 和反量化后的值（1 到 64 行，float32/float64/bfloat16/float16）",
    teaches=["quantization.absmax", "quantization.granularity"],
)
def matches_reference(ctx):
    dtype, (lead, d), spread = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from([1.0, 0.01, 300.0])))
    x = ctx.randn(*lead, d, dtype=dtype, scale=spread)
    got = ctx.run("roundtrip", x)
    _judge(ctx, x, got)
    want_q, want_scale = ctx.reference(x)
    # and close to the reference's round trip: within one step of the grid
    _named(
        "dequantized",
        ctx.assert_close,
        got[2],
        dequantize_int8(want_q, want_scale),
        dtype=_scale_dtype(dtype),
        rtol=1e-2,
        atol=float(want_scale.max()) * 1.01,
    )


# The halves around 0, 1 and 2 and 126.5, each times 2**-3, with 127 * 2**-3 setting the scale to
# exactly 2**-3: every quotient is exact and round-half-to-even decides (exact in bfloat16 too).
TIES = [127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5, 3.5]
TIES_Q = [127, 0, 2, 2, 0, -2, -2, 126, -126, 4]


@check(
    "float64 input is computed in float64: the scale within 1e-14 of max |x| / 127",
    zh="float64 输入全程用 float64 计算：scale 与 max |x| / 127 的差在 1e-14 内",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    lead, d = ctx.draw(SHAPES)
    x = ctx.randn(*lead, max(d, 3), dtype=torch.float64, scale=1e3) + 0.1234567890123
    q, scale, deq = _judge(ctx, x, ctx.run("roundtrip", x))
    _named("scale", ctx.assert_close, scale, ctx.reference(x)[1], dtype=torch.float64, rtol=1e-14, atol=0.0)


@check(
    "boundary cases every run: exact rounding ties, rows of 1e-7 and 1e4, float16 near 65504, bfloat16 near 1e38, D = 1 and 4096, a zero row",
    zh="每次都测的边界情况：恰好在舍入中点的值，1e-7 和 1e4 的行，接近 65504 的 float16，接近 1e38 的 bfloat16，D = 1 和 4096，全零行",
    examples=1,
    teaches=["quantization.absmax", "quantization.number_formats"],
)
def boundary_cases(ctx):
    for dtype in DTYPES:
        x = (torch.tensor([TIES, [-t for t in TIES]], dtype=torch.float64) * 2.0**-3).to(dtype)
        q, scale, deq = _judge(ctx, x, ctx.run("roundtrip", x))
        _named(
            "q of exact halves (torch.round: halves to even)",
            ctx.assert_equal,
            q,
            torch.tensor([TIES_Q, [-t for t in TIES_Q]], dtype=torch.int8),
        )
        rows = torch.stack(
            [
                ctx.randn(16, dtype=torch.float64) * 1e-7,
                ctx.randn(16, dtype=torch.float64) * 1e4,
                torch.zeros(16, dtype=torch.float64),
            ]
        )
        cases = [rows, ctx.randn(5, 1, dtype=torch.float64)]  # tiny, large and zero rows; D = 1
        long_row = ctx.randn(2, 4096, dtype=torch.float64)
        long_row[:, -1] = torch.tensor([9.0, -9.0])  # the absmax is the last element
        cases.append(long_row)
        if dtype == torch.float16:
            cases.append(ctx.rand(2, 8, dtype=torch.float64) * 60000 + 4000)
        if dtype == torch.bfloat16:
            cases.append(ctx.randn(2, 8, dtype=torch.float64) * 1e38)
        for values in cases:
            x = values.to(dtype)
            _judge(ctx, x, ctx.run("roundtrip", x))


@check(
    "error bound: |x - dequantize(quantize(x))| <= scale / 2 for every element; rows far apart in size keep their own scale",
    zh="误差界：每个元素都满足 |x - dequantize(quantize(x))| <= scale / 2；大小相差悬殊的行各自保留自己的 scale",
    teaches=["quantization.absmax", "quantization.absmax_error_choice"],
)
def error_bound(ctx):
    dtype, (lead, d) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES))
    rows = max(1, int(torch.tensor(lead).prod()) if lead else 1)
    sizes = (
        torch.logspace(-3, 3, rows, dtype=torch.float64).reshape(*lead, 1) if lead else torch.tensor([1.0], dtype=torch.float64)
    )
    x = (ctx.randn(*lead, d, dtype=torch.float64) * sizes).to(dtype)
    q, scale, deq = _judge(ctx, x, ctx.run("roundtrip", x))
    err = (x.double() - deq.double()).abs()
    bound = scale.double() / 2 * (1 + 1e-5) + x.double().abs() * 1e-6  # float32 rounding of q * scale
    worst = err - bound
    if bool((worst > 0).any()):
        i = tuple(int(v) for v in (worst > 0).nonzero()[0])
        ctx.fail(
            f"error {float(err[i]):.6g} at {list(i)} is more than scale / 2 = {float(scale.double()[i[:-1]].item() / 2):.6g} (x = {float(x[i]):.6g}, q = {int(q[i])})"
        )


@check(
    "values on the grid (integer multiples k * scale, with some |k| = 127 in each row) come back exactly",
    zh="网格上的值（scale 的整数倍 k * scale，每行都有 |k| = 127 的值）能精确还原",
    teaches=["quantization.absmax"],
)
def on_grid(ctx):
    dtype, (lead, d), e = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, st.integers(-8, 2)))
    k = ctx.randint(-127, 128, (*lead, d))
    k[..., ctx.draw(st.integers(0, d - 1))] = 127 * (1 if ctx.draw(st.booleans()) else -1)  # sets the scale
    step = 2.0**e  # a power of two: k * step and 127 * step / 127 are exact in every dtype here
    x = (k.to(torch.float64) * step).to(dtype)
    q, scale, deq = _judge(ctx, x, ctx.run("roundtrip", x))
    ctx.assert_equal(q, k.to(torch.int8))
    ctx.assert_close(deq, x.to(torch.float64), dtype=_scale_dtype(dtype), rtol=0.0, atol=0.0)


@check(
    "all-zero rows quantize to zeros with a finite scale and dequantize to zeros (no NaN)",
    zh="全零行量化为零，scale 有限，反量化后仍为零（没有 NaN）",
)
def zero_rows(ctx):
    dtype, (lead, d) = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES))
    lead = lead or [2]
    x = ctx.randn(*lead, d, dtype=dtype)
    x.view(-1, d)[0] = 0.0  # the first row all zero, the others not
    q, scale, deq = _judge(ctx, x, ctx.run("roundtrip", x))
    if bool((q.view(-1, d)[0] != 0).any()) or bool((deq.view(-1, d)[0] != 0).any()):
        ctx.fail(f"an all-zero row came back as q = {q.view(-1, d)[0].tolist()}, dequantized {deq.view(-1, d)[0].tolist()}")


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def absmax_int8(x):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    scale = xw.abs().amax(dim=-1, keepdim=True) / 127
    q = (xw / scale.clamp(min=1e-12)).round().clamp(-127, 127).to(torch.int8)
    return q, scale

def dequantize_int8(q, scale):
    return q.to(scale.dtype) * scale
"""


WRONG_ANSWERS = {
    "divides by 128 instead of 127 (int8's range is asymmetric; absmax uses the symmetric [-127, 127])": edited(
        _PLAIN,
        ("keepdim=True) / 127", "keepdim=True) / 128"),
        ("clamp(-127, 127)", "clamp(-128, 127)"),
    ),
    "one scale for the whole tensor (per-tensor absmax) instead of one per row": edited(
        _PLAIN,
        ("scale = xw.abs().amax(dim=-1, keepdim=True) / 127", "scale = (xw.abs().amax() / 127).expand(*x.shape[:-1], 1).clone()"),
    ),
    "truncates toward zero (.to(torch.int8) without round): errors up to a whole scale": edited(_PLAIN, (".round()", "")),
    "computes the scale in the input's dtype (bfloat16 or float16 rounding), then returns it as float32": edited(
        _PLAIN,
        ("scale = xw.abs().amax(dim=-1, keepdim=True) / 127", "scale = (x.abs().amax(dim=-1, keepdim=True) / 127).to(work)"),
    ),
    "absmax over the wrong axis (per column, dim=0)": edited(
        _PLAIN,
        (
            "    scale = xw.abs().amax(dim=-1, keepdim=True) / 127\n    q = (xw / scale.clamp(min=1e-12))",
            "    col = xw.abs().reshape(-1, x.shape[-1]).amax(dim=0) / 127\n"
            "    scale = col.amax().expand(*x.shape[:-1], 1).clone()\n"
            "    q = (xw / col.clamp(min=1e-12))",
        ),
    ),
    "rounds halves away from zero (sign * floor(|q| + 0.5)) instead of to even": edited(
        _PLAIN,
        (
            "q = (xw / scale.clamp(min=1e-12)).round()",
            "r = xw / scale.clamp(min=1e-12)\n    q = (r.sign() * (r.abs() + 0.5).floor())",
        ),
    ),
    "clamps the scale to at least 1e-8 (rows of 1e-7 then lose their values)": edited(
        _PLAIN,
        (
            "scale = xw.abs().amax(dim=-1, keepdim=True) / 127",
            "scale = (xw.abs().amax(dim=-1, keepdim=True) / 127).clamp(min=1e-8)",
        ),
    ),
    "multiplies x by 127 in the input's dtype before dividing (overflows near float16's and bfloat16's maximum)": edited(
        _PLAIN,
        ("q = (xw / scale.clamp(min=1e-12))", "q = ((x * 127).to(work) / (scale * 127).clamp(min=1e-12))"),
    ),
    "computes in float32 for every input (.float()), the scale returned as float64 for float64 input": edited(
        _PLAIN,
        (
            "    xw = x.to(work)\n    scale = xw.abs().amax(dim=-1, keepdim=True) / 127\n",
            "    xw = x.float()\n    scale = (xw.abs().amax(dim=-1, keepdim=True) / 127).to(work)\n",
        ),
    ),
}

ALTERNATIVES = {
    "multiplies by 127 / absmax (an inverse scale), torch.where for zero rows, returns absmax / 127": """
import torch

def absmax_int8(x):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    absmax = xw.abs().max(dim=-1, keepdim=True).values
    inv = torch.where(absmax > 0, 127.0 / absmax, torch.zeros_like(absmax))
    q = torch.round(xw * inv).clamp(-127, 127).to(torch.int8)
    return q, absmax / 127.0

def dequantize_int8(q, scale):
    return scale * q.to(scale.dtype)
""",
    "clamps the scale to a tiny positive value for zero rows and keeps it": """
import torch

def absmax_int8(x):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xw = x.to(work)
    scale = torch.clamp(xw.abs().amax(dim=-1, keepdim=True) / 127, min=1e-30)
    q = torch.clamp(torch.round(xw / scale), -127, 127).to(torch.int8)
    return q, scale

def dequantize_int8(q, scale):
    return q.to(scale.dtype).mul(scale)
""",
}
