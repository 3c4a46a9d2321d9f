"""gpu.cross_entropy_triton — fused cross-entropy (online logsumexp over the classes) in Triton.

cross_entropy(logits, targets, ignore_index=-100): logits (N, C), targets int64 (N,); the mean
negative log-likelihood over the rows whose target is not ignore_index, as loss.cross_entropy,
with the per-row work done by a Triton kernel. Returns a 0-dim tensor in logits' dtype.
Reference solution: kernels/cross_entropy.py.

Regimes where implementations diverge, each run every time by `boundary_regimes` and
`float64_precision` beside the random draws (blocks people pick: the next power of two of C, or
fixed chunks of 64 to 1024 in a loop):
- the number of classes: C = 1, 2, below a chunk, exactly a power of two (64, 1024), one past it
  (65, 1025, 32769: a masked tail of one), not near one (1000, 4097), and a whole vocabulary
  (32769, more than 32k): a one-block kernel whose block is capped, a max or sum over one chunk only, or
  a running sum that is not rescaled shows only when C spans several chunks;
- the target in the first class and in the last (the tail of the last chunk); the row's max in
  the last chunk, 300 above the rest (a max from the first chunk only overflows exp);
- N = 1; every row but one ignored; ignore_index equal to a class (7), with rows targeting it;
- float64 input computed in float64 (rtol 1e-12: a float32 accumulator fails); float16 (the
  interpreter does not emulate bfloat16).
"""

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

FORBIDDEN = [
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.logsumexp",
    "torch.Tensor.logsumexp",
]
REFERENCE_FILE = "kernels/cross_entropy.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "cross_entropy")  # @sandboxed drivers, run by ctx.run

CLASSES = [1, 2, 7, 64, 100, 257, 1000, 1500]


def reference(logits, targets, ignore_index=-100):
    # logits (N, C), targets (N,) -> 0-dim, float64 inside
    x = logits.double()
    valid = targets != ignore_index
    lse = x.amax(-1) + (x - x.amax(-1, keepdim=True)).exp().sum(-1).log()  # (N,)
    picked = x.gather(1, targets.masked_fill(~valid, 0)[:, None])[:, 0]  # ignore_index need not be a column
    return ((lse - picked)[valid].sum() / valid.sum()).to(logits.dtype)


launch_driver = gpukit.kernel_driver("logits", "targets", "ignore_index")  # the reference's parameter names


def _inputs(ctx, dtype, n, c, scale, ignore_index):
    logits = ctx.randn(n, c, dtype=dtype, scale=scale)
    targets = ctx.randint(0, c, (n,))
    # A class equal to ignore_index (7 with C > 7) is ignored too, so rows meant to count avoid it.
    targets = torch.where(targets == ignore_index, (targets + 1) % c, targets)
    ignored = ctx.rand(n) < 0.3
    ignored[ctx.draw(st.integers(0, n - 1))] = False  # never every row ignored
    return logits, targets.masked_fill(ignored, ignore_index)


@check(
    "matches the reference (N 1-8 with ignored rows, C from 1 to 1500; float32/float64/float16; ignore_index default and not)",
    zh="与参考实现一致（N 1-8，含被忽略的行，C 从 1 到 1500；float32/float64/float16；ignore_index 默认和非默认）",
    examples=10,
    teaches=["training.ignore_index_masking"],
)
def matches_reference(ctx):
    dtype, n, c, scale, ignore = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64, torch.float16]),
            st.integers(1, 8),
            st.sampled_from(CLASSES),
            st.sampled_from([0.5, 3.0]),
            st.sampled_from(["default", -1, 7]),
        )
    )
    ignore_index = -100 if ignore == "default" else ignore
    logits, targets = _inputs(ctx, dtype, n, c, scale, ignore_index)
    kwargs = {} if ignore == "default" else {"ignore_index": ignore_index}
    out = gpukit.call_kernel(ctx, logits, targets, written=False, **kwargs)
    ctx.assert_close(out, ctx.reference(logits, targets, **kwargs), dtype=dtype)


# (N, C, ignore_index or None for the default, what the rows are): every regime of the docstring.
# "spread": targets 0, random..., C - 1; "max last": the last class 300 above the rest;
# "one counts": every row but the first ignored; "column 7": ignore_index 7, some rows target it.
REGIMES = [
    (2, 1, None, "spread"),
    (3, 2, None, "spread"),
    (1, 50, None, "spread"),
    (4, 100, None, "one counts"),
    (6, 20, 7, "column 7"),
    (3, 63, None, "spread"),
    (3, 64, None, "spread"),
    (3, 65, None, "spread"),
    (2, 1000, None, "max last"),
    (2, 1000, None, "spread"),
    (2, 1024, None, "spread"),
    (2, 1025, None, "spread"),
    (2, 4097, None, "spread"),
    (1, 32769, None, "spread"),  # one row: the interpreter takes ~2 ms per 64-wide chunk
]


def _regime(ctx, n, c, ignore_index, kind, dtype=torch.float32):
    logits = ctx.randn(n, c, dtype=dtype, scale=2.0)
    targets = ctx.randint(0, c, (n,))
    targets[0] = 0
    targets[-1] = c - 1
    if kind == "max last":
        logits[:, -1] = 300.0
    elif kind == "one counts":
        targets[1:] = -100
    elif kind == "column 7":
        targets = torch.tensor([7, 3, 7, 0, 19, 7])[:n]
    return logits, targets


@check(
    "boundary regimes, every run: C = 1, 2, 63-65, 1000, 1024-1025, 4097, 32769; targets in the first and "
    "last class; the max in the last chunk, 300 above the rest; N = 1; all rows but one ignored; ignore_index 7",
    zh="每次都测的边界情形：C = 1、2、63-65、1000、1024-1025、4097、32769；目标在第一类和最后一类；最大值在最后一个 chunk，比其余大 300；N = 1；只有一行未被忽略；ignore_index 7",
    examples=1,
    teaches=["attention.flash_online_softmax", "training.ignore_index_masking", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    for n, c, ignore_index, kind in REGIMES:
        logits, targets = _regime(ctx, n, c, ignore_index, kind)
        kwargs = {} if ignore_index is None else {"ignore_index": ignore_index}
        out = gpukit.call_kernel(ctx, logits, targets, written=False, **kwargs)
        ctx.assert_close(out, ctx.reference(logits, targets, **kwargs), dtype=torch.float32)
    logits, targets = _regime(ctx, 3, 129, None, "spread", torch.float16)
    ctx.assert_close(gpukit.call_kernel(ctx, logits, targets, written=False), ctx.reference(logits, targets), dtype=torch.float16)


FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error over a row


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 accumulator or .to(tl.float32) fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：float32 累加器或 .to(tl.float32) 会不通过）",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    for c in (100, 1025):  # one chunk, several
        logits = ctx.randn(3, c, dtype=torch.float64, scale=30.0)
        targets = ctx.randint(0, c, (3,))
        out = gpukit.call_kernel(ctx, logits, targets, written=False)
        ctx.assert_close(out, ctx.reference(logits, targets), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


@check(
    "stable for float32 logits up to 1e4 in magnitude",
    zh="float32 logits 绝对值大到 1e4 时数值稳定",
    examples=4,
    teaches=["attention.flash_online_softmax", "softmax.stable_softmax"],
)
def large_logits(ctx):
    n, c, shift = ctx.draw(st.tuples(st.integers(1, 5), st.sampled_from([3, 100, 1025]), st.sampled_from([0.0, 9000.0, -9000.0])))
    logits = (ctx.randn(n, c, dtype=torch.float64, scale=300.0) + shift).clamp(-1e4, 1e4).float()
    targets = ctx.randint(0, c, (n,))
    out = gpukit.call_kernel(ctx, logits, targets, written=False)
    ctx.assert_close(out, ctx.reference(logits, targets), dtype=torch.float32)


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
def ce_kernel(logits_ptr, targets_ptr, losses_ptr, c, ignore_index, CHUNK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row * c
    target = tl.load(targets_ptr + row)
    m = tl.full([], float("-inf"), ACC)
    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        m = tl.maximum(m, tl.max(x, axis=0))
    total = tl.zeros([], ACC)
    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        total += tl.sum(tl.exp(x - m), axis=0)
    valid = target != ignore_index
    picked = tl.load(base + tl.where(valid, target, 0)).to(ACC)
    tl.store(losses_ptr + row, tl.where(valid, m + tl.log(total) - picked, 0.0))

def cross_entropy(logits, targets, ignore_index=-100):
    n, c = logits.shape
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    losses = torch.empty(n, dtype=work, device=logits.device)
    acc = tl.float64 if work == torch.float64 else tl.float32
    ce_kernel[(n,)](logits, targets, losses, c, ignore_index, CHUNK=64, ACC=acc)
    return (losses.sum() / (targets != ignore_index).sum()).to(logits.dtype)
"""

# A correct one-pass solution: running max and rescaled running sum over 128-wide chunks, the
# target's logit picked up on the way (also the base of wrong answers below).
_ONLINE = """
import torch
import triton
import triton.language as tl

@triton.jit
def ce_kernel(logits_ptr, targets_ptr, losses_ptr, c, ignore_index, CHUNK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row * c
    target = tl.load(targets_ptr + row)
    m = tl.full([], float("-inf"), ACC)
    total = tl.zeros([], ACC)
    picked = tl.zeros([], ACC)
    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        m_new = tl.maximum(m, tl.max(x, axis=0))
        total = total * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)
        picked += tl.sum(tl.where(cols == target, x, 0.0), axis=0)
        m = m_new
    valid = target != ignore_index
    tl.store(losses_ptr + row, tl.where(valid, m + tl.log(total) - picked, 0.0))

def cross_entropy(logits, targets, ignore_index=-100):
    n, c = logits.shape
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    losses = torch.empty(n, dtype=work, device=logits.device)
    acc = tl.float64 if work == torch.float64 else tl.float32
    ce_kernel[(n,)](logits, targets, losses, c, ignore_index, CHUNK=128, ACC=acc)
    return (losses.sum() / (targets != ignore_index).sum()).to(logits.dtype)
"""

WRONG_ANSWERS = {
    "divides by N (every row) instead of the number of rows that are not ignored": _KERNEL.replace(
        "(losses.sum() / (targets != ignore_index).sum())", "(losses.sum() / n)"
    ),
    "ignored rows not zeroed: their loss reads logits[row, -100] (not a column) and is summed": _KERNEL.replace(
        "tl.where(valid, m + tl.log(total) - picked, 0.0)", "m + tl.log(total) - picked"
    ).replace("tl.load(base + tl.where(valid, target, 0))", "tl.load(base + target)"),
    "no max subtraction: exp overflows for large logits": _KERNEL.replace("tl.exp(x - m)", "tl.exp(x)").replace(
        "m + tl.log(total) - picked", "tl.log(total) - picked"
    ),
    "padding lanes of the last chunk load 0.0: they add exp(-max) to the sum": _KERNEL.replace(
        """        total += tl.sum(tl.exp(x - m), axis=0)""",
        """        x = tl.where(cols < c, x, 0.0)
        total += tl.sum(tl.exp(x - m), axis=0)""",
    ),
    "counts chunks as c // CHUNK, not cdiv: the last partial chunk of classes is skipped": edited(
        _KERNEL, ("    for start in range(0, c, CHUNK):\n", "    for start in range(0, c // CHUNK * CHUNK, CHUNK):\n")
    ),
    "float64 input computed in float32 (the kernel always casts to tl.float32)": edited(
        _KERNEL, ("acc = tl.float64 if work == torch.float64 else tl.float32", "acc = tl.float32")
    ),
    # Boundary regimes only: each is right while C fits one chunk (or a 4096-lane block), or the
    # row's max is near the rest, or the target lies in the last chunk.
    "two passes, but the max taken over the first chunk only (exp overflows when a later chunk holds a much larger logit)": edited(
        _KERNEL,
        (
            """    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        m = tl.maximum""",
            """    for start in range(0, CHUNK, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        m = tl.maximum""",
        ),
    ),
    "online logsumexp that does not rescale the running sum when the running max grows": edited(
        _ONLINE, ("total = total * tl.exp(m - m_new) + tl.sum", "total = total + tl.sum")
    ),
    "target's logit picked with = inside the chunk loop: only a target in the last chunk counts": edited(
        _ONLINE, ("picked += tl.sum(", "picked = tl.sum(")
    ),
    "one block of next_power_of_2(C) lanes capped at 4096, no loop: classes past 4096 are left out": """
import torch
import triton
import triton.language as tl

@triton.jit
def ce_kernel(logits_ptr, targets_ptr, losses_ptr, c, ignore_index, BLOCK: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(logits_ptr + row * c + cols, mask=cols < c, other=float("-inf")).to(ACC)
    m = tl.max(x, axis=0)
    lse = m + tl.log(tl.sum(tl.exp(x - m), axis=0))
    target = tl.load(targets_ptr + row)
    valid = target != ignore_index
    picked = tl.load(logits_ptr + row * c + tl.where(valid, target, 0)).to(ACC)
    tl.store(losses_ptr + row, tl.where(valid, lse - picked, 0.0))

def cross_entropy(logits, targets, ignore_index=-100):
    n, c = logits.shape
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    losses = torch.empty(n, dtype=work, device=logits.device)
    acc = tl.float64 if work == torch.float64 else tl.float32
    ce_kernel[(n,)](logits, targets, losses, c, ignore_index, BLOCK=min(triton.next_power_of_2(c), 4096), ACC=acc)
    return (losses.sum() / (targets != ignore_index).sum()).to(logits.dtype)
""",
    "plain torch (logsumexp by hand), no Triton kernel": """
import torch

def cross_entropy(logits, targets, ignore_index=-100):
    x = logits.float()
    m = x.amax(-1, keepdim=True)
    lse = (m + (x - m).exp().sum(-1, keepdim=True).log())[:, 0]
    valid = targets != ignore_index
    picked = x.gather(1, targets.masked_fill(~valid, 0)[:, None])[:, 0]  # ignore_index need not be a column
    return ((lse - picked)[valid].sum() / valid.sum()).to(logits.dtype)
""",
}

ALTERNATIVES = {
    "two passes per row (exact max, then the sum), scalar accumulators, chunk 64": _KERNEL,
    "one pass per row: running max, rescaled running sum and the target's logit picked up on the way, chunk 128": _ONLINE,
}
