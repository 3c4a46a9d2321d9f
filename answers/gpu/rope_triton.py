"""gpu.rope_triton — rotary position embedding as a fused Triton kernel.

apply_rope(x, positions, theta=10000.0): x (B, H, T, D) contiguous, D even, positions int64 (T,);
rotate-half pairing (dim i with i + D/2), frequency theta ** (-2i/D), as position.rope. Computed in
float32 (float64 for float64 input), returned in x's dtype. Reference solution: kernels/rope.py.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws (a program per row usually spans HALF =
next_power_of_2(D/2) lanes, masked):
- D/2 = 1, a power of two (2, 4, 32, 128) and not one (3, 9, 33, 65, 129): the padded HALF used
  as D/2 (in an address or in the frequency), or a missing mask, shows only when D/2 is not a
  power of two;
- T = 1 and several tokens, B * H = 1 and several (positions read per row instead of per token
  show only with several rows); positions unsorted with an offset (a KV cache), not 0..T-1;
- theta at its default, 500 and 1e6 (a hard-coded theta shows);
- float64 input computed in float64 with positions up to 5000 (rtol 1e-10: angles or a frequency
  table in float32 are off by ~1e-4 there); float16, and bfloat16 on CUDA.
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

REFERENCE_FILE = "kernels/rope.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "rope")  # @sandboxed drivers, run by ctx.run

# Angles up to ~200 rad: float32 rounds an angle of 200 by ~1e-5 rad.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}


def reference(x, positions, theta=10000.0):
    # x (B, H, T, D), positions (T,) -> (B, H, T, D), float64 inside
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)  # (D/2,)
    angles = positions.double()[:, None] * inv_freq[None, :]  # (T, D/2)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x.double()[..., : d // 2], x.double()[..., d // 2 :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


launch_driver = gpukit.kernel_driver("x", "positions", "theta")  # the reference's parameter names


@check(
    "matches the reference (B, H, T small, D even from 2 to 130; positions unsorted, not 0..T-1; theta default and not)",
    zh="与参考实现一致（B、H、T 较小，D 为 2 到 130 的偶数；位置无序，不是 0..T-1；theta 默认和非默认）",
    examples=10,
    teaches=["position.rope_general", "position.rope_layouts"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, (b, h, t), d, theta = ctx.draw(
        st.tuples(
            st.sampled_from(dtypes),
            st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7)),
            st.sampled_from([2, 4, 6, 8, 18, 64, 130]),
            st.sampled_from(["default", 500.0, 1e6]),
        )
    )
    x = ctx.randn(b, h, t, d, dtype=dtype)
    positions = ctx.randint(0, 200, (t,))
    kwargs = {} if theta == "default" else {"theta": theta}
    out = gpukit.call_kernel(ctx, x, positions, **kwargs)
    ctx.assert_close(out, ctx.reference(x, positions, **kwargs), dtype=dtype)


# ((B, H, T, D), theta or None for the default): every regime of the module docstring.
REGIMES = [
    ((1, 1, 1, 2), None),
    ((1, 2, 3, 4), None),
    ((2, 1, 3, 6), None),
    ((1, 2, 5, 8), 500.0),
    ((2, 2, 3, 18), None),
    ((1, 3, 2, 64), 1e6),
    ((2, 1, 3, 66), None),
    ((1, 2, 2, 130), None),
    ((1, 1, 3, 256), None),
    ((1, 2, 2, 258), 500.0),
]


@check(
    "boundary regimes, every run: D/2 = 1, 2, 3, 4, 9, 32, 33, 65, 128, 129; T = 1 and more; B*H = 1 and more; "
    "positions with an offset; theta default, 500, 1e6; float16 (bfloat16 on CUDA)",
    zh="每次都测的边界情形：D/2 = 1、2、3、4、9、32、33、65、128、129；T = 1 及更多；B*H = 1 及更多；带偏移的位置；theta 为默认、500、1e6；float16（CUDA 上 bfloat16）",
    examples=1,
    teaches=["position.rope_general", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    for (b, h, t, d), theta in REGIMES:
        x = ctx.randn(b, h, t, d, dtype=torch.float32)
        positions = 100 + ctx.randint(0, 90, (t,))  # unsorted, offset (a KV cache), angles < 200 rad
        kwargs = {} if theta is None else {"theta": theta}
        out = gpukit.call_kernel(ctx, x, positions, **kwargs)
        ctx.assert_close(out, ctx.reference(x, positions, **kwargs), dtype=torch.float32)
    for half in gpukit.half_dtypes():
        x = ctx.randn(2, 2, 3, 18, dtype=half)
        positions = ctx.randint(0, 200, (3,))
        ctx.assert_close(gpukit.call_kernel(ctx, x, positions), ctx.reference(x, positions), dtype=half)


# float32 rounds an angle of 5000 rad by ~3e-4; float64 computes it to ~1e-12 (the kernel's
# exp(-2i/D * log(theta)) and the oracle's theta ** (-2i/D) differ by a few ulps of the exponent).
FLOAT64_TOL = 1e-10


@check(
    "float64 input is computed in float64 (positions up to 5000, tolerance 1e-10: float32 angles or a float32 frequency table fail)",
    zh="float64 输入全程用 float64 计算（位置最大 5000，容差 1e-10：float32 的角度或 float32 的频率表会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    for b, h, t, d in ((1, 2, 4, 18), (2, 1, 3, 64)):
        x = ctx.randn(b, h, t, d, dtype=torch.float64)
        positions = 4000 + ctx.randint(0, 1000, (t,))
        out = gpukit.call_kernel(ctx, x, positions)
        ctx.assert_close(out, ctx.reference(x, positions), dtype=torch.float64, rtol=FLOAT64_TOL, atol=FLOAT64_TOL)


@check(
    "position 0 leaves x unchanged; shifting every position by the same amount keeps q.k (relative position only)",
    zh="位置 0 时 x 不变；所有位置平移同样的量，q.k 不变（只依赖相对位置）",
    examples=4,
    teaches=["position.rope_2d"],
)
def relative_position(ctx):
    t, d, shift = ctx.draw(st.tuples(st.integers(2, 6), st.sampled_from([4, 8, 18]), st.integers(1, 50)))
    q = ctx.randn(1, 1, t, d, dtype=torch.float64)
    k = ctx.randn(1, 1, t, d, dtype=torch.float64)
    zero = torch.zeros(t, dtype=torch.int64)
    ctx.assert_close(gpukit.call_kernel(ctx, q, zero), q.clone(), dtype=torch.float64)
    positions = ctx.randint(0, 100, (t,))
    scores = gpukit.call_kernel(ctx, q, positions) @ gpukit.call_kernel(ctx, k, positions).transpose(-1, -2)
    shifted = gpukit.call_kernel(ctx, q, positions + shift) @ gpukit.call_kernel(ctx, k, positions + shift).transpose(-1, -2)
    expected = ctx.reference(q, positions) @ ctx.reference(k, positions).transpose(-1, -2)
    ctx.assert_close(scores, expected, dtype=torch.float64)
    ctx.assert_close(shifted, expected, dtype=torch.float64, rtol=1e-6, atol=1e-6)


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


_KERNEL = """
import math
import torch
import triton
import triton.language as tl

@triton.jit
def rope_kernel(x_ptr, pos_ptr, out_ptr, t_len, d, log_theta, HALF: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    half = d // 2
    i = tl.arange(0, HALF)
    mask = i < half
    pos = tl.load(pos_ptr + row % t_len).to(ACC)
    inv_freq = tl.exp(-(2.0 * i.to(ACC) / d) * log_theta)
    angle = pos * inv_freq
    c = tl.cos(angle)
    s = tl.sin(angle)
    x1 = tl.load(x_ptr + row * d + i, mask=mask, other=0.0).to(ACC)
    x2 = tl.load(x_ptr + row * d + half + i, mask=mask, other=0.0).to(ACC)
    tl.store(out_ptr + row * d + i, (x1 * c - x2 * s).to(out_ptr.dtype.element_ty), mask=mask)
    tl.store(out_ptr + row * d + half + i, (x2 * c + x1 * s).to(out_ptr.dtype.element_ty), mask=mask)

def apply_rope(x, positions, theta=10000.0):
    t_len, d = x.shape[-2], x.shape[-1]
    out = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    rope_kernel[(x.numel() // d,)](x, positions, out, t_len, d, math.log(theta), HALF=triton.next_power_of_2(max(d // 2, 1)), ACC=acc)
    return out
"""

WRONG_ANSWERS = {
    "frequency theta ** (-i/D) instead of theta ** (-2i/D)": _KERNEL.replace("-(2.0 * i.to(ACC) / d)", "-(i.to(ACC) / d)"),
    "uses the row's index t instead of positions[t]": _KERNEL.replace(
        "pos = tl.load(pos_ptr + row % t_len).to(ACC)", "pos = (row % t_len).to(ACC)"
    ),
    "rotates the wrong way (sin terms with swapped signs)": _KERNEL.replace("(x1 * c - x2 * s)", "(x1 * c + x2 * s)").replace(
        "(x2 * c + x1 * s)", "(x2 * c - x1 * s)"
    ),
    "GPT-J interleaved pairs (2i, 2i+1) instead of rotate-half (i, i + D/2)": _KERNEL.replace(
        "x_ptr + row * d + i,", "x_ptr + row * d + 2 * i,"
    )
    .replace("x_ptr + row * d + half + i,", "x_ptr + row * d + 2 * i + 1,")
    .replace("out_ptr + row * d + i,", "out_ptr + row * d + 2 * i,")
    .replace("out_ptr + row * d + half + i,", "out_ptr + row * d + 2 * i + 1,"),
    "plain torch with a cos/sin table, no Triton kernel": """
import torch

def apply_rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    inv = theta ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    ang = positions.double()[:, None] * inv[None, :]
    x1, x2 = x.double()[..., : d // 2], x.double()[..., d // 2 :]
    return torch.cat([x1 * ang.cos() - x2 * ang.sin(), x2 * ang.cos() + x1 * ang.sin()], -1).to(x.dtype)
""",
    "second half addressed at the padded width HALF instead of D/2 (right only when D/2 is a power of two)": edited(
        _KERNEL,
        ("x_ptr + row * d + half + i,", "x_ptr + row * d + HALF + i,"),
        ("out_ptr + row * d + half + i,", "out_ptr + row * d + HALF + i,"),
    ),
    # Boundary regimes only: right whenever D/2 is a power of two, or B * H = 1, or theta = 10000.
    "frequency theta ** (-i/HALF) with the padded HALF instead of D/2": edited(
        _KERNEL, ("inv_freq = tl.exp(-(2.0 * i.to(ACC) / d) * log_theta)", "inv_freq = tl.exp(-(i.to(ACC) / HALF) * log_theta)")
    ),
    "no mask: the padded lanes of the last row store past the end (D/2 not a power of two)": edited(
        _KERNEL,
        (
            "tl.store(out_ptr + row * d + i, (x1 * c - x2 * s).to(out_ptr.dtype.element_ty), mask=mask)",
            "tl.store(out_ptr + row * d + i, (x1 * c - x2 * s).to(out_ptr.dtype.element_ty))",
        ),
        (
            "tl.store(out_ptr + row * d + half + i, (x2 * c + x1 * s).to(out_ptr.dtype.element_ty), mask=mask)",
            "tl.store(out_ptr + row * d + half + i, (x2 * c + x1 * s).to(out_ptr.dtype.element_ty))",
        ),
    ),
    "positions read per row (pos_ptr + row) instead of per token (row % T): wrong past the first (b, h)": edited(
        _KERNEL, ("pos = tl.load(pos_ptr + row % t_len).to(ACC)", "pos = tl.load(pos_ptr + row).to(ACC)")
    ),
    "theta hard-coded to 10000 (the argument ignored)": edited(_KERNEL, ("math.log(theta)", "math.log(10000.0)")),
    "frequency table in float32 (i.to(tl.float32)): float64 angles off by ~1e-4 at position 5000": edited(
        _KERNEL,
        ("inv_freq = tl.exp(-(2.0 * i.to(ACC) / d) * log_theta)", "inv_freq = tl.exp(-(2.0 * i.to(tl.float32) / d) * log_theta)"),
    ),
}

ALTERNATIVES = {
    "cos/sin table built in torch (float64), the rotation in a kernel over a 2-D grid (row, half-dim chunk)": """
import torch
import triton
import triton.language as tl

@triton.jit
def rotate_kernel(x_ptr, cos_ptr, sin_ptr, out_ptr, t_len, half, CHUNK: tl.constexpr):
    row = tl.program_id(0)
    i = tl.program_id(1) * CHUNK + tl.arange(0, CHUNK)
    mask = i < half
    t = row % t_len
    c = tl.load(cos_ptr + t * half + i, mask=mask, other=0.0)
    s = tl.load(sin_ptr + t * half + i, mask=mask, other=0.0)
    x1 = tl.load(x_ptr + row * 2 * half + i, mask=mask, other=0.0).to(c.dtype)
    x2 = tl.load(x_ptr + row * 2 * half + half + i, mask=mask, other=0.0).to(c.dtype)
    tl.store(out_ptr + row * 2 * half + i, (x1 * c - x2 * s).to(out_ptr.dtype.element_ty), mask=mask)
    tl.store(out_ptr + row * 2 * half + half + i, (x2 * c + x1 * s).to(out_ptr.dtype.element_ty), mask=mask)

def apply_rope(x, positions, theta=10000.0):
    t_len, d = x.shape[-2], x.shape[-1]
    half = d // 2
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    inv = theta ** (-torch.arange(0, half, dtype=torch.float64, device=x.device) * 2 / d)
    ang = positions.to(torch.float64)[:, None] * inv[None, :]
    cos, sin = ang.cos().to(work).contiguous(), ang.sin().to(work).contiguous()
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    chunk = 16
    rotate_kernel[(x.numel() // d, triton.cdiv(half, chunk))](x.contiguous(), cos, sin, out, t_len, half, CHUNK=chunk)
    return out
""",
}
