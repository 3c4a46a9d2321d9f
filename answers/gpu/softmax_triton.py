"""gpu.softmax_triton — fused row softmax as a Triton kernel.

softmax(x): x (rows, D) contiguous, D up to 8192; softmax over the last dim, computed in float32
(float64 for float64 input), returned in x's dtype; exact for |x| up to 1e4. The reference
solution is kernels/softmax.py; `reference` is the float64 oracle.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws (blocks people pick: the next power of two of D, or
fixed chunks of 64 to 1024 in a loop):
- the width of the row: D = 1, 2, below a block, exactly a power of two (64, 1024, 4096, 8192),
  one past it (129, 1025, 4097: a masked tail of one), not near one (1000), with several rows
  (a row addressed with the padded width shows only then); a max or a sum over only one chunk,
  a capped block with no loop, or a running sum that is not rescaled shows only when D spans
  several chunks;
- the row's max in the last chunk, 300 above the rest (a max taken from the first chunk only
  overflows exp); rows shifted to -9000 and +9000 (`large_inputs`);
- float64 input computed in float64 (rtol 1e-12: a float32 accumulator fails); float16, and
  bfloat16 on CUDA.
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

FORBIDDEN = [
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.special.softmax",
]
REFERENCE_FILE = "kernels/softmax.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "softmax")  # @sandboxed drivers, run by ctx.run

WIDTHS = [1, 2, 5, 17, 64, 100, 127, 128, 129, 257, 1000, 1025]


def reference(x):
    # x (rows, D) -> (rows, D), float64 inside
    x64 = x.double()
    e = (x64 - x64.amax(dim=-1, keepdim=True)).exp()
    return (e / e.sum(dim=-1, keepdim=True)).to(x.dtype)


launch_driver = gpukit.kernel_driver("x")  # the reference's parameter names


@check(
    "matches the reference (rows 1-6, D around powers of two; float32/float64/float16, bfloat16 on CUDA; scales 0.1 to 10)",
    zh="与参考实现一致（1-6 行，D 在 2 的幂附近；float32/float64/float16，CUDA 上还有 bfloat16；缩放 0.1 到 10）",
    examples=10,
    teaches=["softmax.stable_softmax"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, rows, d, scale = ctx.draw(
        st.tuples(st.sampled_from(dtypes), st.integers(1, 6), st.sampled_from(WIDTHS), st.sampled_from([0.1, 1.0, 10.0]))
    )
    x = ctx.randn(rows, d, dtype=dtype, scale=scale)
    out = gpukit.call_kernel(ctx, x)
    ctx.assert_close(out, ctx.reference(x), dtype=dtype)


# (rows, D, the row's max moved to its last column 300 above the rest): every regime of the docstring.
REGIMES = [
    (3, 1, False),
    (3, 2, False),
    (3, 64, False),
    (3, 127, False),
    (3, 128, False),
    (3, 129, False),
    (2, 1000, False),
    (2, 1024, False),
    (2, 1025, False),
    (2, 4096, False),
    (2, 4097, False),
    (2, 8192, False),
    (2, 129, True),
    (2, 1000, True),
]


@check(
    "boundary regimes, every run: D = 1, 2, 64, 127-129, 1000, 1024-1025, 4096-4097, 8192; the row max in the "
    "last chunk, 300 above the rest; float16 (bfloat16 on CUDA)",
    zh="每次都测的边界情形：D = 1、2、64、127-129、1000、1024-1025、4096-4097、8192；行最大值在最后一个 chunk，比其余大 300；float16（CUDA 上 bfloat16）",
    examples=1,
    teaches=["attention.flash_online_softmax", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    for rows, d, max_last in REGIMES:
        x = ctx.randn(rows, d, dtype=torch.float32, scale=3.0)
        if max_last:
            x[:, -1] = 300.0
        out = gpukit.call_kernel(ctx, x)
        ctx.assert_close(out, ctx.reference(x), dtype=torch.float32)
    for half in gpukit.half_dtypes():
        x = ctx.randn(3, 129, dtype=half, scale=3.0)
        ctx.assert_close(gpukit.call_kernel(ctx, x), ctx.reference(x), dtype=half)


FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error over a row


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 accumulator or .to(tl.float32) fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：float32 累加器或 .to(tl.float32) 会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    for d in (100, 1025):  # one block, several chunks
        x = ctx.randn(3, d, dtype=torch.float64, scale=10.0)
        out = gpukit.call_kernel(ctx, x)
        ctx.assert_close(out, ctx.reference(x), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


@check(
    "stable for float32 inputs up to 1e4 in magnitude (subtract the row max), all-negative rows included",
    zh="float32 输入绝对值大到 1e4 时数值稳定（减去行最大值），包括全为负数的行",
    examples=4,
    teaches=["attention.flash_online_softmax"],
)
def large_inputs(ctx):
    rows, d, shift = ctx.draw(
        st.tuples(st.integers(1, 4), st.sampled_from([3, 100, 129]), st.sampled_from([0.0, -9000.0, 9000.0]))
    )
    x = (ctx.randn(rows, d, dtype=torch.float64, scale=500.0) + shift).clamp(-1e4, 1e4).float()
    out = gpukit.call_kernel(ctx, x)
    ctx.assert_close(out, ctx.reference(x), dtype=torch.float32)


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
def softmax_kernel(x_ptr, out_ptr, d, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=float("-inf")).to(ACC)
    z = x - tl.max(x, axis=0)
    e = tl.exp(z)
    y = e / tl.sum(e, axis=0)
    tl.store(out_ptr + row * d + cols, y.to(out_ptr.dtype.element_ty), mask=mask)

def softmax(x):
    rows, d = x.shape
    out = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    softmax_kernel[(rows,)](x, out, d, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out
"""

# A correct solution in one pass over 64-wide chunks (also the base of wrong answers below).
_ONLINE = """
import torch
import triton
import triton.language as tl

@triton.jit
def softmax_kernel(x_ptr, out_ptr, d, CHUNK: tl.constexpr, ACC: tl.constexpr):
    base = tl.program_id(0) * d
    m = tl.full([CHUNK], float("-inf"), ACC)   # per-lane running max
    s = tl.zeros([CHUNK], ACC)                  # per-lane running sum of exp(x - m)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(ACC)
        new_m = tl.maximum(m, x)
        # lanes that have seen only padding keep m = -inf: guard the rescale against -inf - -inf
        scale = tl.where(new_m == float("-inf"), 0.0, tl.exp(m - new_m))
        s = s * scale + tl.where(new_m == float("-inf"), 0.0, tl.exp(x - new_m))
        m = new_m
    row_max = tl.max(m, axis=0)
    total = tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), axis=0)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=0.0).to(ACC)
        tl.store(out_ptr + base + cols, (tl.exp(x - row_max) / total).to(out_ptr.dtype.element_ty), mask=cols < d)

def softmax(x):
    rows, d = x.shape
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    softmax_kernel[(rows,)](x.contiguous(), out, d, CHUNK=64, ACC=acc)
    return out
"""

WRONG_ANSWERS = {
    "no max subtraction: exp overflows for large inputs": _KERNEL.replace("z = x - tl.max(x, axis=0)", "z = x"),
    "padding lanes load 0.0 instead of -inf: they add exp(-max) to the denominator": _KERNEL.replace(
        'other=float("-inf")', "other=0.0"
    ),
    "rows addressed with the padded width (row * BLOCK) instead of D": _KERNEL.replace("row * d + cols", "row * BLOCK + cols"),
    "plain torch (exp and sum), no Triton kernel": """
import torch

def softmax(x):
    xf = x.float()
    e = (xf - xf.amax(-1, keepdim=True)).exp()
    return (e / e.sum(-1, keepdim=True)).to(x.dtype)
""",
    "normalises by the sum of the first BLOCK-wide chunk only (loops over chunks but keeps the last sum)": """
import torch
import triton
import triton.language as tl

@triton.jit
def softmax_kernel(x_ptr, out_ptr, d, CHUNK: tl.constexpr):
    base = tl.program_id(0) * d
    m = float("-inf")
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(tl.float32)
        m = tl.maximum(m, tl.max(x, axis=0))
    s = 0.0
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(tl.float32)
        s = tl.sum(tl.exp(x - m), axis=0)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(tl.float32)
        tl.store(out_ptr + base + cols, (tl.exp(x - m) / s).to(out_ptr.dtype.element_ty), mask=cols < d)

def softmax(x):
    rows, d = x.shape
    out = torch.empty_like(x)
    softmax_kernel[(rows,)](x, out, d, CHUNK=64)
    return out
""",
    "one block per row capped at 4096 lanes, no loop: rows wider than 4096 lose their tail": edited(
        _KERNEL, ("BLOCK=triton.next_power_of_2(d)", "BLOCK=min(triton.next_power_of_2(d), 4096)")
    ),
    "float64 input computed in float32 (the kernel always casts to tl.float32)": edited(
        _KERNEL, ("acc = tl.float64 if x.dtype == torch.float64 else tl.float32", "acc = tl.float32")
    ),
    # Boundary regimes only: right while the row fits one chunk, or its max is near the rest.
    "chunked: the max taken over the first chunk only (exp overflows when a later chunk holds a much larger value)": edited(
        _ONLINE,
        (
            """    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(ACC)
        new_m""",
            """    for start in range(0, CHUNK, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(ACC)
        new_m""",
        ),
        (
            """        m = new_m
    row_max""",
            """        m = new_m
    for start in range(CHUNK, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(x_ptr + base + cols, mask=cols < d, other=float("-inf")).to(ACC)
        s += tl.where(m == float("-inf"), 0.0, tl.exp(x - m))
    row_max""",
        ),
    ),
    "online softmax that does not rescale the running sum when the running max grows": edited(
        _ONLINE, ("s = s * scale + tl.where", "s = s + tl.where")
    ),
}

ALTERNATIVES = {"online softmax over 64-wide chunks: running max and rescaled running sum, then a write pass": _ONLINE}
