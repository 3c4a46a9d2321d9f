"""gpu.activation_checkpointing — recompute activations in the backward pass instead of storing them.

checkpointed_forward(blocks, x): the residual stack `for block in blocks: x = x + block(x)`, with
every block checkpointed. Checked: the output and every gradient equal those of the plain forward,
and the tensors kept for the backward pass (measured with saved-tensor hooks: CPU-only machines
have no allocator statistics) are at most half of what the plain forward keeps.
"""

import torch
from hypothesis import strategies as st
from torch.utils.checkpoint import checkpoint

from llmq.judge.kit import check, sandboxed


def reference(blocks, x):
    for block in blocks:
        # use_reentrant=False: parameter gradients flow even when x does not require grad.
        x = x + checkpoint(block, x, use_reentrant=False)
    return x


def _blocks(seed, n_blocks, d, dtype):
    torch.manual_seed(seed)
    return torch.nn.ModuleList(
        torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d)) for _ in range(n_blocks)
    ).to(dtype)


def _plain(blocks, x):
    for block in blocks:
        x = x + block(x)
    return x


def _inputs(seed, b, d, dtype, x_grad):
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(b, d, generator=gen).to(dtype).requires_grad_(x_grad)
    weights = torch.randn(b, d, generator=gen).to(dtype)  # loss = (out * weights).sum()
    return x, weights


def _saved_bytes(fn, blocks, x):
    """Bytes of the tensors autograd keeps for backward while `fn` runs (parameters excluded)."""
    params = {p.untyped_storage().data_ptr() for p in blocks.parameters()}
    kept = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            kept[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(blocks, x)
    return out, sum(kept.values())


@sandboxed
def checkpoint_driver(solution, seed, n_blocks, b, d, dtype, x_grad):
    blocks = _blocks(seed, n_blocks, d, dtype)
    x, weights = _inputs(seed, b, d, dtype, x_grad)
    _, plain_bytes = _saved_bytes(_plain, blocks, x.detach().requires_grad_(x_grad))
    out, kept_bytes = _saved_bytes(solution, blocks, x)
    report = {
        "out": out.detach().clone() if isinstance(out, torch.Tensor) else None,
        "requires_grad": isinstance(out, torch.Tensor) and out.requires_grad,
        "kept": kept_bytes,
        "plain": plain_bytes,
        "grads": None,
        "x_grad": None,
    }
    if report["requires_grad"]:
        (out * weights).sum().backward()
        report["grads"] = [None if p.grad is None else p.grad.clone() for p in blocks.parameters()]
        report["x_grad"] = None if x.grad is None else x.grad.clone()
    return report


def _expected(seed, n_blocks, b, d, x_grad):
    blocks = _blocks(seed, n_blocks, d, torch.float32).double()
    x, weights = _inputs(seed, b, d, torch.float64, True)
    out = _plain(blocks, x)
    (out * weights).sum().backward()
    return out.detach(), [p.grad for p in blocks.parameters()], x.grad


@check(
    "same output and gradients as the plain forward (parameters, and x when it requires grad); at most half the saved activations",
    zh="输出和梯度与普通前向相同（参数的梯度，x 需要梯度时也包括 x）；保存的激活值最多一半",
    examples=5,
    teaches=["distributed.activation_checkpointing"],
)
def equal_gradients_less_memory(ctx):
    dtype, seed, n_blocks, b, d, x_grad = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            st.integers(0, 10**6),
            st.integers(1, 3),
            st.integers(1, 5),
            st.sampled_from([2, 3, 8]),
            st.booleans(),
        )
    )
    got = ctx.run("checkpoint_driver", seed, n_blocks, b, d, dtype, x_grad)
    out, grads, x_grad_expected = _expected(seed, n_blocks, b, d, x_grad)
    ctx.assert_close(got["out"], out, dtype=dtype)
    if not got["requires_grad"]:
        ctx.fail(
            "the output does not require grad, so no gradient reaches the parameters: a forward under "
            "torch.no_grad, or use_reentrant=True checkpointing of an input that does not require grad"
        )
    for i, (g, e) in enumerate(zip(got["grads"], grads)):
        if g is None:
            ctx.fail(
                f"parameter {i} of the blocks got no gradient (reentrant checkpointing of an input "
                f"that does not require grad drops them; use use_reentrant=False)"
            )
        ctx.assert_close(g, e, dtype=dtype)
    if x_grad:
        if got["x_grad"] is None:
            ctx.fail("x requires grad but got no gradient")
        ctx.assert_close(got["x_grad"], x_grad_expected, dtype=dtype)
    if got["kept"] > got["plain"] / 2:
        ctx.fail(
            f"kept {got['kept']} bytes of activations for the backward pass; the plain forward keeps "
            f"{got['plain']}: checkpointing should keep at most half (only each block's input)"
        )


WRONG_ANSWERS = {
    "no checkpointing: the plain forward keeps every activation": """
def checkpointed_forward(blocks, x):
    for block in blocks:
        x = x + block(x)
    return x
""",
    "runs the forward under torch.no_grad to save memory (nothing to backpropagate through)": """
import torch

def checkpointed_forward(blocks, x):
    with torch.no_grad():
        for block in blocks:
            x = x + block(x)
    return x
""",
    "use_reentrant=True while x does not require grad: parameter gradients are silently dropped": """
from torch.utils.checkpoint import checkpoint

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = x + checkpoint(block, x, use_reentrant=True)
    return x
""",
    "return indented into the loop: only the first block runs (right only with one block)": """
from torch.utils.checkpoint import checkpoint

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = x + checkpoint(block, x, use_reentrant=False)
        return x
""",
    "drops the residual: x = checkpoint(block, x) instead of x + checkpoint(block, x)": """
from torch.utils.checkpoint import checkpoint

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = checkpoint(block, x, use_reentrant=False)
    return x
""",
    "checkpoints each block on a detached input: no gradient flows back through the blocks": """
from torch.utils.checkpoint import checkpoint

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = x + checkpoint(block, x.detach(), use_reentrant=False)
    return x
""",
}

ALTERNATIVES = {
    "a hand-written autograd.Function: forward without a graph, recompute and backpropagate in backward": """
import torch

class Recompute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, block, *params):
        ctx.block = block
        ctx.save_for_backward(x)
        with torch.no_grad():
            return block(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        x = x.detach().requires_grad_(True)
        params = list(ctx.block.parameters())
        with torch.enable_grad():
            out = ctx.block(x)
        grads = torch.autograd.grad(out, [x] + params, grad_out, allow_unused=True)
        return (grads[0], None) + tuple(grads[1:])

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = x + Recompute.apply(x, block, *block.parameters())
    return x
""",
    "checkpoints the whole residual step (x + block(x)) as one function": """
import torch.utils.checkpoint as ckpt

def checkpointed_forward(blocks, x):
    for block in blocks:
        x = ckpt.checkpoint(lambda t, b=block: t + b(t), x, use_reentrant=False)
    return x
""",
}
