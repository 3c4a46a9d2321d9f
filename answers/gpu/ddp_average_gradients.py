"""gpu.ddp_average_gradients — data parallelism by hand: average every gradient across ranks
(CONTRACTS.md, fixed interface).

average_gradients(model) is called on every rank right after loss.backward() in an initialised
torch.distributed group; afterwards every parameter's .grad is the mean over ranks (parameters
whose .grad is None, e.g. frozen ones, are left alone). Checked with 2 ranks (gloo on the CPU;
NCCL with a GPU per rank) against one process computing the loss on the whole batch.
"""

import torch
import torch.distributed as dist
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, sandboxed

SANDBOX_MEMORY_BYTES = 3 * 1024**3  # two forked ranks and gloo's threads
USES_CUDA = True


def reference(model):
    world = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:  # frozen or unused parameters have no gradient
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)  # ReduceOp.AVG exists on NCCL only
            p.grad /= world


# --- the model and data both sides build from the same seed -----------------------------------


def _model(seed, d_in, hidden, d_out, dtype):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, d_out))
    model[2].bias.requires_grad_(False)  # a frozen parameter: its .grad stays None
    return model.to(dtype)


def _batch(seed, n, d_in, d_out, dtype):
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(n, d_in, generator=gen).to(dtype), torch.randn(n, d_out, generator=gen).to(dtype)


def _grads(model):
    return [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]


def _rank_body(rank, world, solution, seed, n, d_in, hidden, d_out, dtype):
    dev = gpukit.rank_device()  # cuda:<rank> under NCCL, else cpu
    model = _model(seed, d_in, hidden, d_out, dtype).to(dev)
    x, y = (t.to(dev) for t in _batch(seed, n, d_in, d_out, dtype))
    share = n // world  # rank r trains on rows [r * share, (r + 1) * share)
    part = slice(rank * share, (rank + 1) * share)
    loss = ((model(x[part]) - y[part]) ** 2).mean()
    loss.backward()
    solution(model)
    return _grads(model)


@sandboxed
def ddp_driver(solution, seed, n, d_in, hidden, d_out, dtype):
    """Two ranks, each a half of the batch; what every rank's gradients are afterwards."""
    return gpukit.run_ranks(
        _rank_body, solution, seed, n, d_in, hidden, d_out, dtype, world=2, timeout_s=10.0, filename=solution.__code__.co_filename
    )


def _whole_batch_grads(seed, n, d_in, hidden, d_out):
    model = _model(seed, d_in, hidden, d_out, torch.float32).double()  # same initial values
    x, y = _batch(seed, n, d_in, d_out, torch.float64)
    ((model(x) - y) ** 2).mean().backward()
    return _grads(model)


def _compare(ctx, got_by_rank, expected, dtype):
    names = ["0.weight", "0.bias", "2.weight", "2.bias (frozen)"]
    for rank, got in enumerate(got_by_rank):
        if not isinstance(got, list) or len(got) != len(expected):
            ctx.fail(f"rank {rank}: the driver got {type(got).__name__} back (did the solution replace the model's parameters?)")
        for name, g, e in zip(names, got, expected):
            if e is None:
                if g is not None:
                    ctx.fail(
                        f"rank {rank}: parameter {name} has requires_grad=False and .grad None; the solution gave it a gradient"
                    )
                continue
            if g is None:
                ctx.fail(f"rank {rank}: parameter {name} has no .grad after the call")
            if not bool(e.abs().max() > 0):
                continue
            try:
                ctx.assert_close(g, e.to(dtype), dtype=dtype)
            except Exception as exc:
                raise type(exc)(f"rank {rank}, gradient of {name}: {exc}") from None


@check(
    "2 ranks, each with half the batch: every rank's gradients equal those of one process on the whole batch",
    zh="2 个 rank，各取一半 batch：每个 rank 的梯度等于单进程在整个 batch 上的梯度",
    examples=5,
    teaches=["distributed.dp_vs_ddp"],
)
def equals_whole_batch(ctx):
    dtype, seed, (n, d_in, hidden, d_out) = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            st.integers(0, 10**6),
            st.tuples(st.sampled_from([2, 4, 6]), st.integers(1, 5), st.integers(1, 7), st.integers(1, 3)),
        )
    )
    got = ctx.run("ddp_driver", seed, n, d_in, hidden, d_out, dtype)
    _compare(ctx, got, _whole_batch_grads(seed, n, d_in, hidden, d_out), dtype)


@check(
    "where the ranks ran (a note: gloo on the CPU, or NCCL with a GPU per rank)",
    zh="各 rank 在哪里运行（只是提示：CPU 上的 gloo，或每个 rank 一块 GPU 的 NCCL）",
    examples=1,
)
def device_note(ctx):
    gpukit.ranks_note(ctx)


WRONG_ANSWERS = {
    "all_reduce without dividing by the world size (the sum, not the mean)": """
import torch.distributed as dist

def average_gradients(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
""",
    "divides by the world size on rank 0 only": """
import torch.distributed as dist

def average_gradients(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            if dist.get_rank() == 0:
                p.grad /= dist.get_world_size()
""",
    "reduce to rank 0 instead of all_reduce: the other ranks keep their own gradients": """
import torch.distributed as dist

def average_gradients(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.reduce(p.grad, dst=0)
            if dist.get_rank() == 0:
                p.grad /= dist.get_world_size()
""",
    "averages the parameters instead of the gradients": """
import torch
import torch.distributed as dist

def average_gradients(model):
    with torch.no_grad():
        for p in model.parameters():
            dist.all_reduce(p.data)
            p.data /= dist.get_world_size()
""",
    "all_reduces a temporary (p.grad / world): p.grad itself is never changed": """
import torch.distributed as dist

def average_gradients(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad / dist.get_world_size())
""",
    "assumes every parameter has a gradient (a frozen one has .grad None)": """
import torch.distributed as dist

def average_gradients(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()
""",
}

ALTERNATIVES = {
    "one bucket: flatten every gradient, a single all_reduce, copy back (what DDP's buckets do)": """
import torch
import torch.distributed as dist

def average_gradients(model):
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
""",
    "all_gather every gradient and take the mean of the stack": """
import torch
import torch.distributed as dist

def average_gradients(model):
    world = dist.get_world_size()
    for p in model.parameters():
        if p.grad is None:
            continue
        parts = [torch.empty_like(p.grad) for _ in range(world)]
        dist.all_gather(parts, p.grad.contiguous())
        p.grad.copy_(torch.stack(parts).mean(dim=0))
""",
}
