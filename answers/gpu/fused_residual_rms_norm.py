"""gpu.fused_residual_rms_norm — h = x + residual (the new residual), then RMSNorm(h) * weight, in one Triton kernel.

fused_add_rms_norm(x, residual, weight, eps=1e-6): x, residual (rows, D) contiguous, same dtype,
D up to 8192, weight (D,) -> (out, h), both new (rows, D) tensors in x's dtype written by a
kernel the file defines: h = x + residual added in float32 (float64 for float64) and rounded once,
out = h / sqrt(mean(h^2) + eps) * weight computed in float32 (float64) from h. As vLLM's
fused_add_rms_norm and the pre-norm decoder layer, but returning h instead of writing it into
`residual`. The reference solution is kernels/fused_residual_rms_norm.py; `reference` is the
float64 oracle (it normalises the unrounded sum: the difference is within the 16-bit tolerances).

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws (blocks people pick: the next power of two of D, or
fixed chunks of 64 to 1024 in a loop):
- the width: D = 1, below a block, exactly a power of two (64, 128, 1024, 4096, 8192), one past
  it (129, 1025, 4097), not near one (1000); one row and several (rows addressed with the padded
  width show only with several rows and D not a power of two); a block capped at 1024 with no
  loop shows only past 1024;
- x = -residual in a row (h = 0: eps keeps it finite), x and residual of opposite sign and
  nearly equal (normalising x or residual alone is far off), rows of 1e-6, eps away from its
  default;
- float64 computed in float64 (rtol 1e-12); float16 with |x|, |residual| ~ 300 (h^2 overflows
  float16 unless summed in float32); bfloat16 on CUDA.
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = ["torch.nn.functional.rms_norm", "torch.nn.RMSNorm"]
REFERENCE_FILE = "kernels/fused_residual_rms_norm.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "fused_residual_rms_norm")  # @sandboxed drivers, run by ctx.run

# 16-bit outputs: h rounded once, out from the rounded h and rounded again (see gpu.rms_norm_triton).
TOLERANCES = {
    torch.float16: (3 * 2**-11 + 1e-6, 1e-3),
    torch.bfloat16: (3 * 2**-8 + 2**-16 + 1e-6, 1e-2),
}
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8)
WIDTHS = [1, 3, 17, 64, 100, 127, 128, 129, 257, 1000, 1025]


def reference(x, residual, weight, eps=1e-6):
    # x, residual (rows, D), weight (D,) -> (out, h), float64 here
    h = x + residual
    return h * torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + eps) * weight, h


launch_driver = gpukit.kernel_driver("x", "residual", "weight", "eps")  # the reference's parameter names


def _inputs(ctx, dtype, rows, d, scale):
    x = ctx.randn(rows, d, dtype=dtype, scale=scale)
    residual = ctx.randn(rows, d, dtype=dtype, scale=scale)
    weight = (1 + ctx.randn(d, dtype=torch.float64) * 0.5).to(dtype)
    return x, residual, weight


def _judge(ctx, x, residual, weight, what="", **kwargs):
    got = gpukit.call_kernel(ctx, x, residual, weight, **kwargs)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        ctx.fail(f"returned {type(got).__name__}; expected a tuple (out, new_residual)")
    want_out, want_h = ctx.reference(x, residual, weight, **kwargs)
    rtol, atol = (FLOAT64_RTOL, 0.0) if x.dtype == torch.float64 else (None, None)
    where = f"{what}: " if what else ""
    for name, value, want in (
        ("new_residual (x + residual)", got[1], want_h),
        ("out (RMSNorm of x + residual)", got[0], want_out),
    ):
        try:
            ctx.assert_close(value, want, dtype=x.dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:
            raise CheckFailed(f"{where}{name}: {exc}") from None


@check(
    "matches the reference: out and the new residual (rows 1-4, D around powers of two; float32/float64/float16, "
    "bfloat16 on CUDA; eps default and not)",
    zh="与参考实现一致：out 和新的 residual（1-4 行，D 在 2 的幂附近；float32/float64/float16，CUDA 上还有 bfloat16；eps 默认和非默认）",
    examples=8,
    teaches=["norm.rmsnorm", "norm.rmsnorm_eps"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, torch.float64, *gpukit.half_dtypes()]
    dtype, rows, d, scale, eps = ctx.draw(
        st.tuples(
            st.sampled_from(dtypes),
            st.integers(1, 4),
            st.sampled_from(WIDTHS),
            st.sampled_from([1e-2, 1.0, 20.0]),
            st.sampled_from(["default", 1e-5, 0.5]),
        )
    )
    kwargs = {} if eps == "default" else {"eps": eps}
    _judge(ctx, *_inputs(ctx, dtype, rows, d, scale), **kwargs)


# (rows, D): one row and several, D at, below and past the blocks people pick.
REGIME_SHAPES = [
    (1, 1),
    (3, 3),
    (3, 64),
    (3, 127),
    (3, 128),
    (3, 129),
    (2, 1000),
    (2, 1024),
    (2, 1025),
    (2, 4096),
    (2, 4097),
    (2, 8192),
]


@check(
    "boundary regimes, every run: D = 1, 3, 64, 127-129, 1000, 1024-1025, 4096-4097, 8192; x = -residual in a row; "
    "x and residual nearly cancelling; rows of 1e-6; eps 1e-2",
    zh="每次都测的边界情形：D = 1、3、64、127-129、1000、1024-1025、4096-4097、8192；某一行 x = -residual；"
    "x 和 residual 几乎抵消；1e-6 的行；eps 1e-2",
    examples=1,
    teaches=["norm.rmsnorm_eps", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    ctx.draw(st.just(0))
    for rows, d in REGIME_SHAPES:
        x, residual, weight = _inputs(ctx, torch.float32, rows, d, 1.0)
        _judge(ctx, x, residual, weight, f"rows={rows}, D={d}")
    x, residual, weight = _inputs(ctx, torch.float32, 3, 129, 1.0)
    residual[1] = -x[1]  # h = 0 in that row: out 0, not NaN
    _judge(ctx, x, residual, weight, "a row with x = -residual")
    x, residual, weight = _inputs(ctx, torch.float32, 3, 100, 10.0)
    residual = -x + ctx.randn(3, 100) * 0.01  # h ~ 0.01 while x ~ 10
    _judge(ctx, x, residual, weight, "x and residual nearly cancelling")
    x, residual, weight = _inputs(ctx, torch.float32, 2, 100, 1e-6)
    _judge(ctx, x, residual, weight, "rows of 1e-6 (mean(h^2) far below eps)")
    x, residual, weight = _inputs(ctx, torch.float32, 2, 100, 0.1)
    _judge(ctx, x, residual, weight, "eps = 1e-2", eps=1e-2)
    for half in gpukit.half_dtypes():
        _judge(ctx, *_inputs(ctx, half, 3, 129, 1.0), f"rows=3, D=129 ({half})")


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 accumulator or .to(tl.float32) fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：float32 累加器或 .to(tl.float32) 会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    ctx.draw(st.just(0))
    for d in (200, 1025):
        sizes = torch.tensor([[1e-3], [1.0], [1e4]], dtype=torch.float64)
        x, residual, weight = _inputs(ctx, torch.float64, 3, d, 1.0)
        _judge(ctx, x * sizes, residual * sizes, weight, f"D={d} (float64)")


@check(
    "float16 x and residual of ~300: squares summed in float32 (h^2 overflows float16)",
    zh="约 300 的 float16 x 和 residual：平方和用 float32 累加（h^2 在 float16 下会溢出）",
    examples=1,
    teaches=["norm.rmsnorm_fp32", "training.mixed_precision_fp16"],
)
def accumulates_in_float32(ctx):
    ctx.draw(st.just(0))
    for half in gpukit.half_dtypes():
        _judge(ctx, *_inputs(ctx, half, 2, 129, 300.0), f"|x| ~ 300 ({half})")


@check(
    "speed on CUDA against torch eager (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


# A correct solution (one program per row, the whole row in one block); each wrong answer below
# that launches a kernel is this file with one bug put in.
_KERNEL = """
import torch
import triton
import triton.language as tl

@triton.jit
def add_norm_kernel(x_ptr, r_ptr, w_ptr, out_ptr, h_ptr, d, eps, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < d
    x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    r = tl.load(r_ptr + row * d + cols, mask=mask, other=0.0).to(ACC)
    h = (x + r).to(h_ptr.dtype.element_ty)
    tl.store(h_ptr + row * d + cols, h, mask=mask)
    h = h.to(ACC)
    ms = tl.sum(h * h, axis=0) / d
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    y = h / tl.sqrt(ms + eps) * w
    tl.store(out_ptr + row * d + cols, y.to(out_ptr.dtype.element_ty), mask=mask)

def fused_add_rms_norm(x, residual, weight, eps=1e-6):
    rows, d = x.shape
    out = torch.empty_like(x)
    h = torch.empty_like(x)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    add_norm_kernel[(rows,)](x, residual, weight, out, h, d, eps, BLOCK=triton.next_power_of_2(d), ACC=acc)
    return out, h
"""

# Correct too: fixed chunks in a loop; pass 1 stores h and sums its squares, pass 2 recomputes h
# from the inputs (no read-back of what this program stored) and normalises it.
ALTERNATIVE = """
import torch
import triton
import triton.language as tl

@triton.jit
def add_norm_kernel(x_ptr, r_ptr, w_ptr, out_ptr, h_ptr, d, eps, CHUNK: tl.constexpr, ACC: tl.constexpr):
    base = tl.program_id(0) * d
    total = tl.zeros([CHUNK], dtype=ACC)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        mask = cols < d
        s = tl.load(x_ptr + base + cols, mask=mask, other=0.0).to(ACC) + tl.load(r_ptr + base + cols, mask=mask, other=0.0).to(ACC)
        s = s.to(h_ptr.dtype.element_ty)
        tl.store(h_ptr + base + cols, s, mask=mask)
        s = s.to(ACC)
        total += s * s
    inv = 1.0 / tl.sqrt(tl.sum(total, axis=0) / d + eps)
    for start in range(0, d, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        mask = cols < d
        s = tl.load(x_ptr + base + cols, mask=mask, other=0.0).to(ACC) + tl.load(r_ptr + base + cols, mask=mask, other=0.0).to(ACC)
        s = s.to(h_ptr.dtype.element_ty).to(ACC)
        w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
        tl.store(out_ptr + base + cols, (s * inv * w).to(out_ptr.dtype.element_ty), mask=mask)

def fused_add_rms_norm(x, residual, weight, eps=1e-6):
    rows, d = x.shape
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    h = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    acc = tl.float64 if x.dtype == torch.float64 else tl.float32
    add_norm_kernel[(rows,)](x, residual, weight, out, h, d, eps, CHUNK=256, ACC=acc)
    return out, h
"""

WRONG_ANSWERS = {
    "normalises x instead of x + residual": edited(_KERNEL, ("    h = h.to(ACC)\n", "    h = x\n")),
    "returns the input residual as the new residual (not x + residual)": edited(
        _KERNEL, ("    return out, h\n", "    return out, residual\n")
    ),
    "writes x + residual into the residual input in place (vLLM's in-place API) and returns it": edited(
        _KERNEL,
        (
            "add_norm_kernel[(rows,)](x, residual, weight, out, h, d, eps,",
            "add_norm_kernel[(rows,)](x, residual, weight, out, residual, d, eps,",
        ),
        ("    return out, h\n", "    return out, residual.clone()\n"),
    ),
    "divides the sum of squares by BLOCK (the padded width) instead of D": edited(
        _KERNEL, ("ms = tl.sum(h * h, axis=0) / d", "ms = tl.sum(h * h, axis=0) / BLOCK")
    ),
    "no mask on the loads of x and residual: the padded lanes read past the row": edited(
        _KERNEL,
        ("x = tl.load(x_ptr + row * d + cols, mask=mask, other=0.0)", "x = tl.load(x_ptr + row * d + cols)"),
        ("r = tl.load(r_ptr + row * d + cols, mask=mask, other=0.0)", "r = tl.load(r_ptr + row * d + cols)"),
    ),
    "eps added outside the square root": edited(_KERNEL, ("y = h / tl.sqrt(ms + eps) * w", "y = h / (tl.sqrt(ms) + eps) * w")),
    "squares summed in the input dtype (float16 overflows)": edited(
        _KERNEL,
        ("    h = h.to(ACC)\n    ms = tl.sum(h * h, axis=0) / d\n", "    ms = tl.sum(h * h, axis=0) / d\n    h = h.to(ACC)\n"),
    ),
    "float64 input accumulated in float32 (the kernel always casts to tl.float32)": edited(
        _KERNEL, ("acc = tl.float64 if x.dtype == torch.float64 else tl.float32", "acc = tl.float32")
    ),
    "eps default 1e-5 in the signature instead of 1e-6": edited(
        _KERNEL,
        ("def fused_add_rms_norm(x, residual, weight, eps=1e-6):", "def fused_add_rms_norm(x, residual, weight, eps=1e-5):"),
    ),
    "plain torch, no Triton kernel": """
import torch

def fused_add_rms_norm(x, residual, weight, eps=1e-6):
    h = x + residual
    hf = h.double() if h.dtype == torch.float64 else h.float()
    out = hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + eps) * weight
    return out.to(x.dtype), h
""",
    # Boundary regimes only: each is right for some widths.
    "one block of next_power_of_2(D) lanes capped at 1024, no loop: wider rows lose their tail": edited(
        _KERNEL, ("BLOCK=triton.next_power_of_2(d)", "BLOCK=min(triton.next_power_of_2(d), 1024)")
    ),
    "rows addressed with the padded width (row * BLOCK) instead of D": edited(
        _KERNEL,
        ("x = tl.load(x_ptr + row * d + cols", "x = tl.load(x_ptr + row * BLOCK + cols"),
        ("r = tl.load(r_ptr + row * d + cols", "r = tl.load(r_ptr + row * BLOCK + cols"),
        ("tl.store(h_ptr + row * d + cols", "tl.store(h_ptr + row * BLOCK + cols"),
        ("tl.store(out_ptr + row * d + cols", "tl.store(out_ptr + row * BLOCK + cols"),
    ),
    "chunked loop that keeps only the last chunk's sum of squares (total = instead of +=)": edited(
        ALTERNATIVE, ("        total += s * s\n", "        total = s * s\n")
    ),
}

ALTERNATIVES = {
    "fixed 256-wide chunks in a loop: one pass stores x + residual and sums its squares, one normalises (any D)": ALTERNATIVE
}
