"""gpu.cross_entropy_triton — fused cross-entropy (online logsumexp over the classes) in Triton.

cross_entropy(logits, targets, ignore_index=-100): logits (N, C), targets int64 (N,); the mean
negative log-likelihood over the rows whose target is not ignore_index, as loss.cross_entropy,
with the per-row work done by a Triton kernel. Returns a 0-dim tensor in logits' dtype.
Reference solution: kernels/cross_entropy.py.
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
    examples=10,
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


@check("stable for float32 logits up to 1e4 in magnitude", examples=4)
def large_logits(ctx):
    n, c, shift = ctx.draw(st.tuples(st.integers(1, 5), st.sampled_from([3, 100, 1025]), st.sampled_from([0.0, 9000.0, -9000.0])))
    logits = (ctx.randn(n, c, dtype=torch.float64, scale=300.0) + shift).clamp(-1e4, 1e4).float()
    targets = ctx.randint(0, c, (n,))
    out = gpukit.call_kernel(ctx, logits, targets, written=False)
    ctx.assert_close(out, ctx.reference(logits, targets), dtype=torch.float32)


@check("speed on CUDA against torch eager (a note; without CUDA, says correctness only)", examples=1)
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
    m = -float("inf")
    for start in range(0, c, CHUNK):
        cols = start + tl.arange(0, CHUNK)
        x = tl.load(base + cols, mask=cols < c, other=float("-inf")).to(ACC)
        m = tl.maximum(m, tl.max(x, axis=0))
    total = 0.0
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
}
