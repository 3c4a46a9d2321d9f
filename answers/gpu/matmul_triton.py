"""gpu.matmul_triton — C = A @ B by a tiled Triton kernel with masks and a K loop.

matmul(a, b): a (M, K), b (K, N) contiguous, same dtype (float32, float64, float16; bfloat16 on
CUDA) -> (M, N) in that dtype, written by a kernel the file defines; tiles accumulated in float32
(float64 for float64), float32 tiles multiplied in IEEE float32. The reference solution is
kernels/matmul.py; `reference` is the float64 oracle.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws (tiles people pick: 16 to 128 on each side, BLOCK_K 16 to 64):
- K smaller than, equal to and larger than BLOCK_K, a multiple of it and not (1, 7, 16, 32, 64,
  65, 129, 300): no K loop (only the first K tile), a K mask missing or not moved with the tile,
  pointers advanced by the wrong stride show in some of these only;
- M and N of 1, below a tile, exactly a tile, one past it (16, 17, 64, 65, 130): a missing M/N
  mask, or a grid rounded down, shows only off the multiples;
- M != K != N (a transposed operand or a wrong stride cannot hide);
- float64 multiplied in float64 (rtol 1e-10); float16 with one large first K tile and 4080 small
  products after it (a float16 accumulator drops them all).
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import CheckFailed, check, edited

REFERENCE_FILE = "kernels/matmul.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "matmul")  # @sandboxed drivers, run by ctx.run

FLOAT64_RTOL = 1e-10  # far below float32's rounding (6e-8)


def reference(a, b):
    # a (M, K), b (K, N) -> (M, N), float64 here
    return a @ b


launch_driver = gpukit.kernel_driver("a", "b")  # the reference's parameter names

# Sizes around the tiles people pick.
SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100]


def _judge(ctx, a, b, what=""):
    out = gpukit.call_kernel(ctx, a, b)
    try:
        if a.dtype == torch.float64:
            ctx.assert_close(out, ctx.reference(a, b), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)
        else:
            ctx.assert_close(out, ctx.reference(a, b), dtype=a.dtype)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" if what else str(exc)) from None


@check(
    "matches a @ b (M, N, K from 1 to 100, around 16/32/64; float32/float64/float16, bfloat16 on CUDA)",
    zh="等于 a @ b（M、N、K 取 1 到 100，在 16/32/64 附近；float32/float64/float16，CUDA 上还有 bfloat16）",
    examples=6,
    teaches=["gpu.triton_masking"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, m, n, k = ctx.draw(
        st.tuples(st.sampled_from(dtypes), st.sampled_from(SIZES), st.sampled_from(SIZES), st.sampled_from(SIZES))
    )
    _judge(ctx, ctx.randn(m, k, dtype=dtype), ctx.randn(k, n, dtype=dtype))


# (M, N, K): K below, at and above the usual BLOCK_K, multiples and not; M and N at and off the tiles.
SHAPES = [
    (1, 1, 1),
    (1, 5, 3),
    (17, 19, 7),
    (16, 16, 16),
    (32, 32, 32),
    (64, 64, 64),
    (65, 33, 17),
    (33, 65, 65),
    (20, 24, 129),
    (3, 130, 300),
    (130, 3, 48),
]


@check(
    "boundary regimes, every run: K = 1, 3, 7, 16, 17, 32, 48, 64, 65, 129, 300 (below, at and above BLOCK_K); "
    "M and N of 1, 3, 16, 17, 32, 33, 64, 65, 130; float16 at one shape (bfloat16 on CUDA)",
    zh="每次都测的边界情形：K = 1、3、7、16、17、32、48、64、65、129、300（小于、等于、大于 BLOCK_K）；"
    "M 和 N 取 1、3、16、17、32、33、64、65、130；float16 测一个形状（CUDA 上还有 bfloat16）",
    examples=1,
    teaches=["gpu.triton_masking"],
)
def boundary_regimes(ctx):
    ctx.draw(st.just(0))
    for m, n, k in SHAPES:
        _judge(ctx, ctx.randn(m, k), ctx.randn(k, n), f"M={m}, N={n}, K={k} (float32)")
    for half in gpukit.half_dtypes():
        _judge(ctx, ctx.randn(33, 65, dtype=half), ctx.randn(65, 17, dtype=half), f"M=33, N=17, K=65 ({half})")


@check(
    "float64 input is multiplied in float64 (rtol 1e-10: float32 tiles or a float32 accumulator fail)",
    zh="float64 输入用 float64 相乘（rtol 1e-10：float32 的 tile 或 float32 累加器会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    ctx.draw(st.just(0))
    a = ctx.randn(20, 70, dtype=torch.float64) + 0.1234567890123
    b = ctx.randn(70, 18, dtype=torch.float64)
    _judge(ctx, a, b, "M=20, N=18, K=70 (float64)")


@check(
    "float16 tiles are accumulated in float32: a first K tile of 1024 and 4080 small products after it",
    zh="float16 的 tile 用 float32 累加：第一个 K tile 贡献 1024，后面还有 4080 个小乘积",
    examples=1,
    teaches=["training.mixed_precision_fp16"],
)
def accumulates_in_float32(ctx):
    ctx.draw(st.just(0))
    k = 4096
    for half in gpukit.half_dtypes():
        a = torch.ones(16, k, dtype=torch.float64)
        a[:, :16] = 8.0
        b = torch.full((k, 16), 0.0015, dtype=torch.float64)
        b[:16] = 8.0  # the first 16 products give 1024; each later one 0.0015, below float16's step there
        b = b + ctx.rand(k, 16, dtype=torch.float64) * 1e-4
        _judge(ctx, a.to(half), b.to(half), f"M=16, N=16, K={k} ({half})")


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


# A correct solution (32 x 32 tiles, BLOCK_K 16, pointers advanced each K step); each wrong answer
# below that launches a kernel is this file with one bug put in.
_PLAIN = """
import torch
import triton
import triton.language as tl

@triton.jit
def mm_kernel(a_ptr, b_ptr, c_ptr, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, ACC: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, BK)
    a_ptrs = a_ptr + offs_m[:, None] * K + offs_k[None, :]
    b_ptrs = b_ptr + offs_k[:, None] * N + offs_n[None, :]
    acc = tl.zeros((BM, BN), dtype=ACC)
    for k0 in range(0, K, BK):
        a = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & (k0 + offs_k[None, :] < K), other=0.0)
        b = tl.load(b_ptrs, mask=(k0 + offs_k[:, None] < K) & (offs_n[None, :] < N), other=0.0)
        acc += tl.dot(a, b, input_precision="ieee")
        a_ptrs += BK
        b_ptrs += BK * N
    c_ptrs = c_ptr + offs_m[:, None] * N + offs_n[None, :]
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))

def matmul(a, b):
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    acc = tl.float64 if a.dtype == torch.float64 else tl.float32
    grid = (triton.cdiv(M, 32), triton.cdiv(N, 32))
    mm_kernel[grid](a, b, c, M, N, K, BM=32, BN=32, BK=16, ACC=acc)
    return c
"""

WRONG_ANSWERS = {
    # Boundary regimes only: each is right for some shapes.
    "no K loop: only the first BLOCK_K columns of a (rows of b) are multiplied": edited(
        _PLAIN,
        ("    for k0 in range(0, K, BK):\n", "    for k0 in range(0, 1):\n"),
        (
            "mm_kernel[grid](a, b, c, M, N, K, BM=32, BN=32, BK=16, ACC=acc)",
            "mm_kernel[grid](a, b, c, M, N, K, BM=32, BN=32, BK=32, ACC=acc)",
        ),
    ),
    "no mask on K: the last partial K step reads past the row (into the next row, or past the end)": edited(
        _PLAIN,
        ("mask=(offs_m[:, None] < M) & (k0 + offs_k[None, :] < K), other=0.0", "mask=offs_m[:, None] < M, other=0.0"),
        ("mask=(k0 + offs_k[:, None] < K) & (offs_n[None, :] < N), other=0.0", "mask=offs_n[None, :] < N, other=0.0"),
    ),
    "K mask not moved with the tile (offs_k < K instead of k0 + offs_k < K)": edited(
        _PLAIN,
        ("(k0 + offs_k[None, :] < K)", "(offs_k[None, :] < K)"),
        ("(k0 + offs_k[:, None] < K)", "(offs_k[:, None] < K)"),
    ),
    "no mask on the M and N edges: loads and the store run past the last row and column": edited(
        _PLAIN,
        ("mask=(offs_m[:, None] < M) & (k0 + offs_k[None, :] < K)", "mask=k0 + offs_k[None, :] < K"),
        ("mask=(k0 + offs_k[:, None] < K) & (offs_n[None, :] < N)", "mask=k0 + offs_k[:, None] < K"),
        (
            "acc.to(c_ptr.dtype.element_ty), mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))",
            "acc.to(c_ptr.dtype.element_ty))",
        ),
    ),
    "grid rounds down (M // BM, N // BN programs, at least 1): the edge tiles are never computed": edited(
        _PLAIN, ("grid = (triton.cdiv(M, 32), triton.cdiv(N, 32))", "grid = (max(1, M // 32), max(1, N // 32))")
    ),
    "a's pointers advanced by BK * K (a row stride) instead of BK each K step": edited(
        _PLAIN, ("        a_ptrs += BK\n", "        a_ptrs += BK * K\n")
    ),
    # Every run.
    "b read as if stored (N, K) (transposed B: offs_k + offs_n * K)": edited(
        _PLAIN,
        ("b_ptrs = b_ptr + offs_k[:, None] * N + offs_n[None, :]", "b_ptrs = b_ptr + offs_k[:, None] + offs_n[None, :] * K"),
        ("        b_ptrs += BK * N\n", "        b_ptrs += BK\n"),
    ),
    "accumulates in the input dtype (acc = tl.zeros(..., c's dtype); float16 sums lose the small products)": edited(
        _PLAIN,
        ("acc = tl.zeros((BM, BN), dtype=ACC)", "acc = tl.zeros((BM, BN), dtype=c_ptr.dtype.element_ty)"),
        ('acc += tl.dot(a, b, input_precision="ieee")', 'acc += tl.dot(a, b, input_precision="ieee").to(c_ptr.dtype.element_ty)'),
    ),
    "float64 multiplied in float32 (tiles cast with .to(tl.float32) before tl.dot)": edited(
        _PLAIN,
        (
            'acc += tl.dot(a, b, input_precision="ieee")',
            'acc += tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")',
        ),
        ("acc = tl.float64 if a.dtype == torch.float64 else tl.float32", "acc = tl.float32"),
    ),
    "returns a float32 tensor for float16 input (the accumulator's dtype, not a's)": edited(
        _PLAIN,
        (
            "c = torch.empty((M, N), dtype=a.dtype, device=a.device)",
            "c = torch.empty((M, N), dtype=torch.float64 if a.dtype == torch.float64 else torch.float32, device=a.device)",
        ),
    ),
    "plain torch, no Triton kernel": """
import torch

def matmul(a, b):
    return torch.mm(a, b)
""",
}

ALTERNATIVES = {
    "grouped tile order (L2 swizzle) on a 1-D grid, 64 x 32 tiles, BLOCK_K 32, strides passed, K left counted down": """
import torch
import triton
import triton.language as tl

@triton.jit
def tiled(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbk, sbn, scm, scn,
          BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, GROUP: tl.constexpr, ACC: tl.constexpr):
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BM)
    tiles_n = tl.cdiv(N, BN)
    per_group = GROUP * tiles_n
    first_m = (pid // per_group) * GROUP
    rows_in_group = tl.minimum(tiles_m - first_m, GROUP)
    pid_m = first_m + (pid % per_group) % rows_in_group
    pid_n = (pid % per_group) // rows_in_group
    rm = pid_m * BM + tl.arange(0, BM)
    rn = pid_n * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    pa = a_ptr + rm[:, None] * sam + rk[None, :] * sak
    pb = b_ptr + rk[:, None] * sbk + rn[None, :] * sbn
    acc = tl.zeros((BM, BN), dtype=ACC)
    left = K
    while left > 0:
        ta = tl.load(pa, mask=(rm[:, None] < M) & (rk[None, :] < left), other=0.0)
        tb = tl.load(pb, mask=(rk[:, None] < left) & (rn[None, :] < N), other=0.0)
        acc = tl.dot(ta, tb, acc, input_precision="ieee")
        pa += BK * sak
        pb += BK * sbk
        left -= BK
    pc = c_ptr + rm[:, None] * scm + rn[None, :] * scn
    tl.store(pc, acc.to(c_ptr.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))

def matmul(a, b):
    M, K = a.shape
    _, N = b.shape
    c = torch.empty(M, N, dtype=a.dtype, device=a.device)
    acc = tl.float64 if a.dtype == torch.float64 else tl.float32
    grid = (triton.cdiv(M, 64) * triton.cdiv(N, 32),)
    tiled[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                BM=64, BN=32, BK=32, GROUP=4, ACC=acc)
    return c
""",
}
