"""gpu.reduction — the sum or the max of a 1-D tensor across many blocks, by Triton kernels the file defines.

reduce_1d(x, op="sum"): x (n,) contiguous, n >= 1, float32/float64/float16 (bfloat16 on CUDA);
op "sum" or "max"; returns a 0-dim tensor in the accumulation dtype (float32, float64 for float64
x) written by a kernel: per-block partials and a second pass, or atomics into an initialised
output, or one program looping over the blocks. The reference solution is kernels/reduction.py;
`reference` is the float64 oracle. Sums are compared within 1e-5 * sum |x| (float32 accumulation
over up to 1e5 elements in any order; 1e-12 * sum |x| for float64); a max is exact.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws (blocks people pick are powers of two from 64 to 1024, second passes of 128 to 1024
partials):
- n = 1, below a block, exactly one block (128, 1024), one past it, several blocks, and many
  (20000: more partials than one chunk of 128; 140001: more than 1024 blocks of 128): a reduction
  over only the first block, a grid rounded down, or a second pass that reads only its first
  chunk of partials shows in some of these only. Sums of small integers are exact in float32 in
  any order, so a dropped or doubled element shows exactly;
- max of an all-negative input whose size is not a multiple of the block (padding read as 0, or
  an atomic max into an output of 0, wins there), with the maximum in the first and in the last
  element;
- float64 summed in float64 (1e-12 * sum |x|: float32 accumulation fails); float16 values of ~60
  summed past float16's 65504, and integers past 2048 (float16 accumulation loses them).
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import CheckFailed, check, edited

REFERENCE_FILE = "kernels/reduction.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "reduction")  # @sandboxed drivers, run by ctx.run

SUM_TOL = {torch.float64: 1e-12}  # times sum |x|; every other dtype accumulates in float32: 1e-5


def reference(x, op="sum"):
    # x (n,) -> 0-dim, float64 here
    return x.sum() if op == "sum" else x.max()


launch_driver = gpukit.kernel_driver("x", "op")  # the reference's parameter names


def _work(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def _judge(ctx, x, op, what=""):
    kwargs = {} if op == "default" else {"op": op}
    out = gpukit.call_kernel(ctx, x, **kwargs)
    want = ctx.reference(x, **kwargs)
    work = _work(x.dtype)
    try:
        if op == "max":
            ctx.assert_close(out, want, dtype=work, rtol=0.0, atol=0.0)  # a max is one of the inputs: exact
        else:
            atol = SUM_TOL.get(work, 1e-5) * float(x.double().abs().sum())
            ctx.assert_close(out, want, dtype=work, rtol=0.0, atol=atol)
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" if what else str(exc)) from None


# Sizes around the blocks people pick (powers of two up to 1024).
EDGE_SIZES = [1, 2, 3, 63, 64, 65, 127, 128, 129, 1000, 1023, 1024, 1025, 2049, 4097]


@check(
    "matches the reference: sum and max, op default and given (n 1 to 6000, float32/float64/float16, bfloat16 on CUDA)",
    zh="与参考实现一致：sum 和 max，op 默认和显式给出（n 为 1 到 6000，float32/float64/float16，CUDA 上还有 bfloat16）",
    examples=8,
    teaches=["gpu.triton_masking"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, n, op, shift = ctx.draw(
        st.tuples(
            st.sampled_from(dtypes),
            st.one_of(st.sampled_from(EDGE_SIZES), st.integers(1, 6000)),
            st.sampled_from(["default", "sum", "max"]),
            st.sampled_from([0.0, -3.0, 2.0]),
        )
    )
    x = (ctx.randn(n, dtype=torch.float64) + shift).to(dtype)
    _judge(ctx, x, op)


# One block, several, many: every size below, for a sum of small integers and a max of negatives.
SIZES = [1, 3, 127, 128, 129, 1000, 1023, 1024, 1025, 2048, 4097, 20000, 140001]


@check(
    "boundary regimes, every run: n = 1, 3, 127-129, 1000, 1023-1025, 2048, 4097, 20000, 140001; sums of small integers "
    "(exact); max of all-negative values, the maximum first and last (n up to 4097)",
    zh="每次都测的边界情形：n = 1、3、127-129、1000、1023-1025、2048、4097、20000、140001；小整数求和（结果精确）；"
    "全为负数时的 max，最大值在第一个和最后一个元素（n 最大到 4097）",
    examples=1,
    teaches=["gpu.triton_masking"],
)
def boundary_regimes(ctx):
    ctx.draw(st.just(0))
    for n in SIZES:
        ints = ctx.randint(1, 8, (n,)).to(torch.float32)  # sums below 2**24: exact in float32 in any order
        _judge(ctx, ints, "sum", f"sum of {n} integers in 1..7")
        if n > 5000:
            continue  # the masks and the first block's max show at every size below; the interpreter is slow
        negative = -ctx.rand(n) - 1.0  # in (-2, -1]: 0 is never the answer
        negative[-1] = -0.5
        _judge(ctx, negative, "max", f"max of {n} negative values, the largest last")
        if n > 1:
            negative[-1] = -1.5
            negative[0] = -0.25
            _judge(ctx, negative, "max", f"max of {n} negative values, the largest first")


@check(
    "float64 input is summed in float64 (within 1e-12 * sum |x|: a float32 accumulator fails)",
    zh="float64 输入用 float64 求和（误差在 1e-12 * sum |x| 以内：float32 累加器会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    ctx.draw(st.just(0))
    for n in (1000, 5000):
        x = ctx.randn(n, dtype=torch.float64) + 0.1234567890123
        _judge(ctx, x, "sum", f"float64 sum of {n} values")


@check(
    "float16 input is accumulated in float32: values of ~60 summed past 65504, integers past 2048",
    zh="float16 输入用 float32 累加：约 60 的值加起来超过 65504，整数加起来超过 2048",
    examples=1,
    teaches=["training.mixed_precision_fp16"],
)
def accumulates_in_float32(ctx):
    ctx.draw(st.just(0))
    for half in gpukit.half_dtypes():
        large = (60 + ctx.rand(3000)).to(half)
        _judge(ctx, large, "sum", f"sum of 3000 {str(half).removeprefix('torch.')} values of about 60")
        ints = ctx.randint(1, 8, (5000,)).to(half)
        _judge(ctx, ints, "sum", f"sum of 5000 {str(half).removeprefix('torch.')} integers in 1..7")


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


# A correct solution (per-block partials, then one program that loops over them); each wrong
# answer below that launches a kernel is this file with one bug put in.
_PLAIN = """
import torch
import triton
import triton.language as tl

@triton.jit
def partials_kernel(x_ptr, part_ptr, n, IS_MAX: tl.constexpr, BLOCK: tl.constexpr, ACC: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if IS_MAX:
        x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
        tl.store(part_ptr + tl.program_id(0), tl.max(x, axis=0))
    else:
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
        tl.store(part_ptr + tl.program_id(0), tl.sum(x, axis=0))

@triton.jit
def finish_kernel(part_ptr, out_ptr, m, IS_MAX: tl.constexpr, CHUNK: tl.constexpr):
    offs = tl.arange(0, CHUNK)
    if IS_MAX:
        acc = tl.load(part_ptr + offs, mask=offs < m, other=float("-inf"))
        for start in range(CHUNK, m, CHUNK):
            acc = tl.maximum(acc, tl.load(part_ptr + start + offs, mask=start + offs < m, other=float("-inf")))
        tl.store(out_ptr, tl.max(acc, axis=0))
    else:
        acc = tl.load(part_ptr + offs, mask=offs < m, other=0.0)
        for start in range(CHUNK, m, CHUNK):
            acc += tl.load(part_ptr + start + offs, mask=start + offs < m, other=0.0)
        tl.store(out_ptr, tl.sum(acc, axis=0))

def reduce_1d(x, op="sum"):
    n = x.numel()
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    blocks = triton.cdiv(n, 128)
    partials = torch.empty(blocks, dtype=work, device=x.device)
    out = torch.empty((), dtype=work, device=x.device)
    partials_kernel[(blocks,)](x, partials, n, IS_MAX=op == "max", BLOCK=128, ACC=acc)
    finish_kernel[(1,)](partials, out, blocks, IS_MAX=op == "max", CHUNK=128)
    return out
"""

# One pass, each program adding its block's result into the output with an atomic.
_ATOMIC = """
import torch
import triton
import triton.language as tl

@triton.jit
def reduce_kernel(x_ptr, out_ptr, n, IS_MAX: tl.constexpr, BLOCK: tl.constexpr, ACC: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if IS_MAX:
        x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
        tl.atomic_max(out_ptr, tl.max(x, axis=0))
    else:
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
        tl.atomic_add(out_ptr, tl.sum(x, axis=0))

def reduce_1d(x, op="sum"):
    n = x.numel()
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    if op == "max":
        out = torch.full((), float("-inf"), dtype=work, device=x.device)
    else:
        out = torch.zeros((), dtype=work, device=x.device)
    reduce_kernel[(triton.cdiv(n, 256),)](x, out, n, IS_MAX=op == "max", BLOCK=256, ACC=acc)
    return out
"""

# One program that strides over the whole input in chunks.
_LOOP = """
import torch
import triton
import triton.language as tl

@triton.jit
def loop_kernel(x_ptr, out_ptr, n, IS_MAX: tl.constexpr, CHUNK: tl.constexpr, ACC: tl.constexpr):
    offs = tl.arange(0, CHUNK)
    if IS_MAX:
        best = tl.full([CHUNK], float("-inf"), ACC)
        for start in range(0, n, CHUNK):
            v = tl.load(x_ptr + start + offs, mask=start + offs < n, other=float("-inf")).to(ACC)
            best = tl.maximum(best, v)
        tl.store(out_ptr, tl.max(best, axis=0))
    else:
        total = tl.zeros([CHUNK], ACC)
        for start in range(0, n, CHUNK):
            total += tl.load(x_ptr + start + offs, mask=start + offs < n, other=0.0).to(ACC)
        tl.store(out_ptr, tl.sum(total, axis=0))

def reduce_1d(x, op="sum"):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    out = torch.empty((), dtype=work, device=x.device)
    acc = tl.float64 if work == torch.float64 else tl.float32
    loop_kernel[(1,)](x, out, x.numel(), IS_MAX=op == "max", CHUNK=512, ACC=acc)
    return out
"""

WRONG_ANSWERS = {
    # Boundary regimes only: each is right for some sizes.
    "one program of next_power_of_2(n) lanes capped at 1024, no loop: only the first block is reduced": """
import torch
import triton
import triton.language as tl

@triton.jit
def reduce_kernel(x_ptr, out_ptr, n, IS_MAX: tl.constexpr, BLOCK: tl.constexpr, ACC: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    if IS_MAX:
        x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
        tl.store(out_ptr, tl.max(x, axis=0))
    else:
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
        tl.store(out_ptr, tl.sum(x, axis=0))

def reduce_1d(x, op="sum"):
    n = x.numel()
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    out = torch.empty((), dtype=work, device=x.device)
    reduce_kernel[(1,)](x, out, n, IS_MAX=op == "max", BLOCK=min(triton.next_power_of_2(n), 1024), ACC=acc)
    return out
""",
    "second pass reads one chunk of 128 partials, no loop: blocks past the 128th are dropped": edited(
        _PLAIN,
        (
            "        for start in range(CHUNK, m, CHUNK):\n"
            '            acc = tl.maximum(acc, tl.load(part_ptr + start + offs, mask=start + offs < m, other=float("-inf")))\n',
            "",
        ),
        (
            "        for start in range(CHUNK, m, CHUNK):\n            acc += tl.load(part_ptr + start + offs, mask=start + offs < m, other=0.0)\n",
            "",
        ),
    ),
    "grid rounds down (n // BLOCK programs, at least 1): the partial last block is dropped": edited(
        _PLAIN, ("blocks = triton.cdiv(n, 128)", "blocks = max(1, n // 128)")
    ),
    "max: masked lanes read as 0.0 instead of -inf (an all-negative input gives 0)": edited(
        _PLAIN,
        (
            'x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)',
            "x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)",
        ),
    ),
    "atomic max into an output initialised to 0 (an all-negative input gives 0)": edited(
        _ATOMIC,
        (
            'out = torch.full((), float("-inf"), dtype=work, device=x.device)',
            "out = torch.zeros((), dtype=work, device=x.device)",
        ),
    ),
    "mask offs <= n (off by one): the last block reads one element past the end": edited(
        _PLAIN, ("mask = offs < n", "mask = offs <= n")
    ),
    # Every run.
    "accumulates in the input dtype (no .to(ACC), partials in x's dtype)": edited(
        _PLAIN,
        (
            "partials = torch.empty(blocks, dtype=work, device=x.device)",
            "partials = torch.empty(blocks, dtype=x.dtype, device=x.device)",
        ),
        (
            ").to(ACC)\n        tl.store(part_ptr + tl.program_id(0), tl.sum",
            ")\n        tl.store(part_ptr + tl.program_id(0), tl.sum",
        ),
    ),
    "float64 summed in float32 (the accumulator is always tl.float32)": edited(
        _PLAIN, ("acc = tl.float64 if x.dtype == torch.float64 else tl.float32", "acc = tl.float32")
    ),
    "atomic adds into torch.empty (uninitialised) instead of torch.zeros": edited(
        _ATOMIC, ("out = torch.zeros((), dtype=work, device=x.device)", "out = torch.empty((), dtype=work, device=x.device)")
    ),
    "partials by a kernel, the final sum and max in torch (the result is no kernel's output)": edited(
        _PLAIN,
        (
            '    finish_kernel[(1,)](partials, out, blocks, IS_MAX=op == "max", CHUNK=128)\n    return out\n',
            '    return partials.amax() if op == "max" else partials.sum()\n',
        ),
    ),
    "plain torch, no Triton kernel": """
import torch

def reduce_1d(x, op="sum"):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    return x.to(work).sum() if op == "sum" else x.to(work).max()
""",
}

ALTERNATIVES = {
    "one pass with atomics: tl.atomic_add into zeros, tl.atomic_max into -inf": _ATOMIC,
    "one program looping over the whole input in chunks of 512": _LOOP,
}
