"""gpu.rms_norm_triton — RMSNorm as a Triton kernel (CONTRACTS.md, fixed interface).

rms_norm(x, weight, eps=1e-6): x (rows, D) with D up to 8192, weight (D,); the maths of
norm.rms_norm computed by a Triton kernel the file defines and launches. The reference solution is
kernels/rms_norm.py; `reference` is the float64 oracle.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws (blocks people pick: the next power of two of D, or
fixed chunks of 64 to 1024 in a loop):
- the width of the reduction: D = 1, below a block, exactly a power of two (64, 1024, 4096, 8192),
  one past it (129, 1025, 4097: a masked tail of one), not near one (1000); one row and several
  (a row addressed with the padded width shows only with several rows and D not a power of two);
  a mean over only the first block, a capped block with no loop, or a sum that keeps only the last
  chunk shows only when D spans several blocks;
- rows of 1e-6 (mean(x^2) far below eps), of 1e-3 (about eps: eps's default value shows), a row of
  zeros among others, eps away from its default;
- float64 input computed in float64 (rtol 1e-12: a kernel that accumulates in float32 fails);
  float16 with |x| ~ 300 (x^2 overflows float16 unless summed in float32); bfloat16 on CUDA.
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

FORBIDDEN = ["torch.nn.functional.rms_norm", "torch.nn.RMSNorm"]
REFERENCE_FILE = "kernels/rms_norm.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "rms_norm")  # @sandboxed drivers, run by ctx.run

# bfloat16/float16 outputs computed in float32 and rounded once or twice (see norm.rms_norm).
TOLERANCES = {
    torch.float16: (2 * 2**-11 + 1e-6, 1e-3),
    torch.bfloat16: (2 * 2**-8 + 2**-16 + 1e-6, 1e-2),
}
# Widths around the powers of two people use as blocks, and 1.
WIDTHS = [1, 3, 17, 64, 100, 127, 128, 129, 255, 257, 1000, 1025]


def reference(x, weight, eps=1e-6):
    # x (rows, D), weight (D,) -> (rows, D), float64 inside
    x64 = x.double()
    return (x64 * torch.rsqrt(x64.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.double()).to(x.dtype)


launch_driver = gpukit.kernel_driver("x", "weight", "eps")  # the reference's parameter names


def _inputs(ctx, dtype, rows, d, scale):
    x = ctx.randn(rows, d, dtype=dtype, scale=scale)
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    return x, weight


@check(
    "matches the reference (rows 1-6, D around powers of two; float32/float64/float16, bfloat16 on CUDA; small and large x; eps default and not)",
    zh="与参考实现一致（1-6 行，D 在 2 的幂附近；float32/float64/float16，CUDA 上还有 bfloat16；x 大和小；eps 默认和非默认）",
    examples=10,
    teaches=["norm.rmsnorm", "norm.rmsnorm_eps"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, rows, d, scale, eps = ctx.draw(
        st.tuples(
            st.sampled_from(dtypes),
            st.integers(1, 6),
            st.sampled_from(WIDTHS),
            st.sampled_from([1e-3, 1.0, 30.0]),
            st.sampled_from(["default", 1e-5, 0.5]),
        )
    )
    x, weight = _inputs(ctx, dtype, rows, d, scale)
    kwargs = {} if eps == "default" else {"eps": eps}
    out = gpukit.call_kernel(ctx, x, weight, **kwargs)
    ctx.assert_close(out, ctx.reference(x, weight, **kwargs), dtype=dtype)


# (rows, D, scale of x, keyword arguments, a row to zero or None): every regime of the docstring.
REGIMES = [
    (1, 1, 1.0, {}, None),
    (3, 3, 1.0, {}, None),
    (3, 64, 1.0, {}, None),
    (3, 127, 1.0, {}, None),
    (3, 128, 1.0, {}, None),
    (3, 129, 1.0, {}, 1),
    (2, 1000, 1.0, {}, None),
    (2, 1024, 1.0, {}, None),
    (2, 1025, 1.0, {"eps": 1e-5}, None),
    (2, 4096, 1.0, {}, None),
    (2, 4097, 1.0, {}, None),
    (2, 8192, 1.0, {}, None),
    (3, 100, 1e-6, {}, None),  # mean(x^2) ~ 1e-12, far below eps: out ~ x / sqrt(eps)
    (3, 100, 1e-3, {}, None),  # mean(x^2) ~ 1e-6, the default eps: eps = 1e-5 instead shows
    (3, 100, 0.1, {"eps": 1e-2}, None),
    (2, 257, 1e4, {}, None),
]


@check(
    "boundary regimes, every run: D = 1, 3, 64, 127-129, 1000, 1024-1025, 4096-4097, 8192; a zero row; "
    "rows of 1e-6, 1e-3 and 1e4; eps default and not",
    zh="每次都测的边界情形：D = 1、3、64、127-129、1000、1024-1025、4096-4097、8192；全零行；1e-6、1e-3 和 1e4 的行；eps 默认和非默认",
    examples=1,
    teaches=["norm.rmsnorm_eps", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    for rows, d, scale, kwargs, zero in REGIMES:
        x, weight = _inputs(ctx, torch.float32, rows, d, scale)
        if zero is not None:
            x[zero] = 0
        out = gpukit.call_kernel(ctx, x, weight, **kwargs)
        ctx.assert_close(out, ctx.reference(x, weight, **kwargs), dtype=torch.float32)
    for half in gpukit.half_dtypes():  # float16 (bfloat16 too on CUDA), around a block
        x, weight = _inputs(ctx, half, 3, 129, 1.0)
        ctx.assert_close(gpukit.call_kernel(ctx, x, weight), ctx.reference(x, weight), dtype=half)


FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error over a row


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 accumulator or .to(tl.float32) fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：float32 累加器或 .to(tl.float32) 会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    # Rows of mixed magnitudes, one block and several: any float32 step shows at 1e-8.
    for d in (200, 1025):
        x = ctx.randn(3, d, dtype=torch.float64) * torch.tensor([[1e-3], [1.0], [1e4]], dtype=torch.float64)
        weight = 1 + ctx.randn(d, dtype=torch.float64) * 0.5
        out = gpukit.call_kernel(ctx, x, weight)
        ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


@check(
    "float16 input with |x| ~ 300: squares summed in float32 (x^2 overflows float16)",
    zh="|x| 约 300 的 float16 输入：平方和用 float32 累加（x^2 在 float16 下会溢出）",
    examples=3,
    teaches=["norm.rmsnorm_fp32"],
)
def accumulates_in_float32(ctx):
    rows, d = ctx.draw(st.tuples(st.integers(1, 3), st.sampled_from([5, 64, 129])))
    x, weight = _inputs(ctx, torch.float16, rows, d, 300.0)
    out = gpukit.call_kernel(ctx, x, weight)
    ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.float16)


@check(
    "a row of zeros gives zeros, not NaN (eps inside the square root)",
    zh="全零行得到零，而不是 NaN（eps 在平方根里面）",
    examples=3,
    teaches=["norm.rmsnorm_eps", "norm.rmsnorm_eps_choice"],
)
def zero_rows(ctx):
    rows, d = ctx.draw(st.tuples(st.integers(2, 4), st.sampled_from([3, 100, 257])))
    x, weight = _inputs(ctx, torch.float32, rows, d, 1.0)
    x[ctx.draw(st.integers(0, rows - 1))] = 0
    out = gpukit.call_kernel(ctx, x, weight)
    ctx.assert_close(out, ctx.reference(x, weight), dtype=torch.float32)


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


_KERNEL = """
import torch
import triton
import triton.language as tl

@triton.jit
def rms_kernel(x_ptr, w_ptr, out_ptr, d, eps, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    ms = tl.sum(x * x, axis=0) / d
    y = x / tl.sqrt(ms + eps) * w
    tl.store(out_ptr + row * d + cols, y.to(out_ptr.dtype.element_ty), mask=mask)

def rms_norm(x, weight, eps=1e-6):
    rows, d = x.shape
    out = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    rms_kernel[(rows,)](x, weight, out, d, eps, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out
"""

# A correct solution that loops over fixed chunks (also the base of a wrong answer below).
ALTERNATIVE = """
import torch
import triton
import triton.language as tl

@triton.jit
def rms_kernel(x_ptr, w_ptr, out_ptr, d, eps, CHUNK: tl.constexpr, ACC: tl.constexpr):
    row_start = tl.program_id(0) * d
    total = tl.zeros([CHUNK], dtype=ACC)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + row_start + cols, mask=cols < d, other=0.0).to(ACC)
        total += x * x
    inv = 1.0 / tl.sqrt(tl.sum(total, axis=0) / d + eps)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        mask = cols < d
        x = tl.load(x_ptr + row_start + cols, mask=mask, other=0.0).to(ACC)
        w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
        tl.store(out_ptr + row_start + cols, (x * inv * w).to(out_ptr.dtype.element_ty), mask=mask)

def rms_norm(x, weight, eps=1e-6):
    rows, d = x.shape
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    rms_kernel[(rows,)](x, weight, out, d, eps, CHUNK=128, ACC=acc)
    return out
"""

WRONG_ANSWERS = {
    "divides the sum of squares by BLOCK (the padded width) instead of D": _KERNEL.replace(
        "ms = tl.sum(x * x, axis=0) / d", "ms = tl.sum(x * x, axis=0) / BLOCK"
    ),
    "no mask on the loads: the padded lanes read past the row": _KERNEL.replace(
        "x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0)", "x = tl.load(x_ptr + row * d + cols)"
    ),
    "eps added outside the square root": _KERNEL.replace("y = x / tl.sqrt(ms + eps) * w", "y = x / (tl.sqrt(ms) + eps) * w"),
    "squares summed in the input dtype (float16 overflows)": _KERNEL.replace(".to(ACC)", ""),
    "plain torch, no Triton kernel": """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()).to(x.dtype)
""",
    "weight loaded at the row's offset instead of the column": _KERNEL.replace(
        "w = tl.load(w_ptr + cols, mask=mask, other=0.0)", "w = tl.load(w_ptr + (row * d + cols) % d, mask=mask, other=0.0)"
    ).replace("(row * d + cols) % d", "(row + cols) % d"),
    # Boundary regimes only: each is right for some widths.
    "one block of next_power_of_2(D) lanes capped at 1024, no loop: wider rows lose their tail": edited(
        _KERNEL, ("BLOCK=triton.next_power_of_2(d)", "BLOCK=min(triton.next_power_of_2(d), 1024)")
    ),
    "chunked loop that keeps only the last chunk's sum of squares (total = instead of +=)": edited(
        ALTERNATIVE, ("        total += x * x\n", "        total = x * x\n")
    ),
    "rows addressed with the padded width (row * BLOCK) instead of D": edited(
        _KERNEL,
        ("x = tl.load(x_ptr + row * d + cols", "x = tl.load(x_ptr + row * BLOCK + cols"),
        ("tl.store(out_ptr + row * d + cols", "tl.store(out_ptr + row * BLOCK + cols"),
    ),
    "eps default 1e-5 in the signature instead of 1e-6": edited(
        _KERNEL, ("def rms_norm(x, weight, eps=1e-6):", "def rms_norm(x, weight, eps=1e-5):")
    ),
    "float64 input accumulated in float32 (the kernel always casts to tl.float32)": edited(
        _KERNEL, ("acc = tl.float64 if x.dtype == torch.float64 else tl.float32", "acc = tl.float32")
    ),
}

ALTERNATIVES = {"fixed 128-wide chunks in a loop: one pass for the sum of squares, one to normalise (any D)": ALTERNATIVE}
