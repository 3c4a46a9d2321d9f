"""gpu.vector_add — the Triton warm-up: out = x + y, computed by a kernel the file defines.

x, y (n,) contiguous, same dtype; returns a new (n,) tensor. The reference solution is
kernels/vector_add.py; `reference` here is the float64 oracle the checks compare with.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws (block sizes people pick are powers of two from 64 to 4096):
- n below one block (1, 3), exactly a power of two (128, 1024, 4096: no partial block), one past
  it (129, 1025, 4097: a tail of one element), not near one (1000), and many blocks (10000): a
  missing mask, a grid rounded down, or one program of a capped block with no loop shows only
  in some of these;
- float64 added in float64 (rtol 1e-12: a kernel that adds in float32 fails); float16, and
  bfloat16 on CUDA.
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

REFERENCE_FILE = "kernels/vector_add.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "vector_add")  # @sandboxed drivers, run by ctx.run

# Block sizes people pick are powers of two up to 4096: sizes just around them catch an
# unmasked or missing last block.
EDGE_SIZES = [1, 2, 3, 127, 128, 129, 1000, 1023, 1024, 1025, 2047, 2049, 4097]


def reference(x, y):
    return x + y  # (n,), float64 here


launch_driver = gpukit.kernel_driver("x", "y")  # the reference's parameter names


@check(
    "matches x + y (sizes 1 to 5000, not multiples of the block; float32/float64/float16, bfloat16 on CUDA)",
    zh="等于 x + y（大小 1 到 5000，不是块大小的倍数；float32/float64/float16，CUDA 上还有 bfloat16）",
    examples=8,
    teaches=["gpu.triton_masking"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, n = ctx.draw(st.tuples(st.sampled_from(dtypes), st.one_of(st.sampled_from(EDGE_SIZES), st.integers(1, 5000))))
    x, y = ctx.randn(n, dtype=dtype), ctx.randn(n, dtype=dtype)
    out = gpukit.call_kernel(ctx, x, y)
    ctx.assert_close(out, ctx.reference(x, y), dtype=dtype)


@check(
    "every element, the last partial block included (x + y with distinct values)",
    zh="每个元素都算到，包括最后一个不满的块（x + y 的值各不相同）",
    examples=3,
    teaches=["gpu.triton_masking"],
)
def covers_every_element(ctx):
    n = ctx.draw(st.sampled_from([1025, 1500, 4099]))
    x = torch.arange(n, dtype=torch.float32)
    y = torch.full((n,), 0.5)
    out = gpukit.call_kernel(ctx, x, y)
    ctx.assert_close(out, ctx.reference(x, y), dtype=torch.float32)


# Sizes of every regime of the module docstring, in float32; then the 16-bit types (float16, and
# bfloat16 on CUDA) and float64 at one size each.
SIZES = [1, 3, 127, 128, 129, 1000, 1024, 1025, 4096, 4097, 10000]
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8); x + y in float64 is exact to 1 ulp


@check(
    "boundary regimes, every run: n = 1, 3, 127-129, 1000, 1024-1025, 4096-4097, 10000; float16 (bfloat16 on CUDA); "
    "float64 added in float64 (rtol 1e-12)",
    zh="每次都测的边界情形：n = 1、3、127-129、1000、1024-1025、4096-4097、10000；float16（CUDA 上 bfloat16）；float64 用 float64 相加（rtol 1e-12）",
    examples=1,
    teaches=["gpu.triton_masking"],
)
def boundary_regimes(ctx):
    cases = [(n, torch.float32) for n in SIZES] + [(1025, half) for half in gpukit.half_dtypes()] + [(1000, torch.float64)]
    for n, dtype in cases:
        x, y = ctx.randn(n, dtype=dtype), ctx.randn(n, dtype=dtype)
        out = gpukit.call_kernel(ctx, x, y)
        if dtype == torch.float64:
            ctx.assert_close(out, ctx.reference(x, y), dtype=dtype, rtol=FLOAT64_RTOL, atol=0.0)
        else:
            ctx.assert_close(out, ctx.reference(x, y), dtype=dtype)


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


# A correct solution (one masked program per block of 128); each wrong answer below that launches a
# kernel is this file with one bug put in.
_PLAIN = """
import torch
import triton
import triton.language as tl

@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)

def vector_add(x, y):
    out = torch.empty_like(x)
    n = x.numel()
    add_kernel[(triton.cdiv(n, 128),)](x, y, out, n, BLOCK=128)
    return out
"""

WRONG_ANSWERS = {
    "no mask: the last block stores past the end of the output": edited(
        _PLAIN, ("    mask = offs < n\n", ""), (", mask=mask)", ")"), ("128", "256")
    ),
    "grid rounds down (n // BLOCK programs): the tail is never computed": edited(
        _PLAIN, ("triton.cdiv(n, 128)", "max(1, n // 128)")
    ),
    "plain torch, no kernel": """
import torch

def vector_add(x, y):
    return torch.add(x, y)
""",
    "launches a kernel but returns a torch result": edited(_PLAIN, ("    return out\n", "    return x + y\n")),
    "accumulates in the output buffer without initialising it (torch.empty is not zeros)": edited(
        _PLAIN,
        (
            "    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)\n",
            "    acc = tl.load(out_ptr + offs, mask=mask)\n"
            "    acc += tl.load(x_ptr + offs, mask=mask)\n"
            "    acc += tl.load(y_ptr + offs, mask=mask)\n"
            "    tl.store(out_ptr + offs, acc, mask=mask)\n",
        ),
    ),
    "grid sized for BLOCK=256 while the kernel runs BLOCK=128: the second half of the elements is never computed": edited(
        _PLAIN, ("triton.cdiv(n, 128)", "triton.cdiv(n, 256)")
    ),
    # Boundary regimes only: right whenever n fits one block, or n is a multiple of the block.
    "one program of next_power_of_2(n) lanes capped at 1024, no loop: elements past 1024 are never written": edited(
        _PLAIN,
        (
            "add_kernel[(triton.cdiv(n, 128),)](x, y, out, n, BLOCK=128)",
            "add_kernel[(1,)](x, y, out, n, BLOCK=min(triton.next_power_of_2(n), 1024))",
        ),
    ),
    "mask offs <= n (off by one): the last block stores one element past the end": edited(
        _PLAIN, ("mask = offs < n", "mask = offs <= n")
    ),
    "adds in float32 (loads cast with .to(tl.float32)): float64 sums lose their low digits": edited(
        _PLAIN,
        (
            "tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask)",
            "tl.load(x_ptr + offs, mask=mask).to(tl.float32) + tl.load(y_ptr + offs, mask=mask).to(tl.float32)",
        ),
    ),
}

ALTERNATIVES = {
    "a fixed number of programs, each looping over blocks with a stride (grid-stride loop)": """
import torch
import triton
import triton.language as tl

@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, n_programs, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    for start in range(pid * BLOCK, n, n_programs * BLOCK):
        offs = start + tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask, other=0.0)
        y = tl.load(y_ptr + offs, mask=mask, other=0.0)
        tl.store(out_ptr + offs, x + y, mask=mask)

def vector_add(x, y):
    out = torch.empty_like(x)
    n = x.numel()
    n_programs = min(4, triton.cdiv(n, 64))
    add_kernel[(n_programs,)](x, y, out, n, n_programs, BLOCK=64)
    return out
""",
}
