"""gpu.tensor_parallel_mlp — a Megatron-style tensor-parallel MLP on 2 ranks.

tp_mlp(x, w1, b1, w2, b2): the MLP gelu(x @ w1 + b1) @ w2 + b2 with w1 split by columns and w2 by
rows: rank r owns hidden units [r*H/W, (r+1)*H/W) (those columns of w1 and b1, those rows of w2).
The other ranks' parts hold NaN on rank r, so using them shows. One all_reduce of the partial
outputs gives every rank the full result. Checked against the full MLP.
"""

import torch
import torch.distributed as dist
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, sandboxed

SANDBOX_MEMORY_BYTES = 3 * 1024**3  # two forked ranks and gloo's threads
USES_CUDA = True


def reference(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    cols = slice(rank * per, (rank + 1) * per)  # this rank's hidden units
    hidden = F.gelu(x @ w1[:, cols] + b1[cols])  # (N, H/W): GELU is elementwise, so it can run per shard
    partial = hidden @ w2[cols, :]  # (N, D): this rank's share of the output
    dist.all_reduce(partial)  # the sum over ranks is the full product
    return partial + b2  # the output bias once, after the sum


def _weights(seed, n, d, h, dtype):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    w1, b1 = torch.randn(d, h, generator=gen) / d**0.5, torch.randn(h, generator=gen)
    w2, b2 = torch.randn(h, d, generator=gen) / h**0.5, torch.randn(d, generator=gen)
    return [t.to(dtype) for t in (x, w1, b1, w2, b2)]


def _rank_body(rank, world, solution, seed, n, d, h, dtype):
    x, w1, b1, w2, b2 = (t.to(gpukit.rank_device()) for t in _weights(seed, n, d, h, dtype))
    per = h // world
    others = torch.ones(h, dtype=torch.bool, device=x.device)
    others[rank * per : (rank + 1) * per] = False
    w1[:, others] = float("nan")  # not this rank's: a real rank would not even hold them
    b1[others] = float("nan")
    w2[others, :] = float("nan")
    out = solution(x, w1, b1, w2, b2)
    return out.detach().clone() if isinstance(out, torch.Tensor) else None


@sandboxed
def tp_driver(solution, seed, n, d, h, dtype):
    return gpukit.run_ranks(
        _rank_body, solution, seed, n, d, h, dtype, world=2, timeout_s=10.0, filename=solution.__code__.co_filename
    )


def _full_mlp(seed, n, d, h):
    x, w1, b1, w2, b2 = _weights(seed, n, d, h, torch.float64)
    return F.gelu(x @ w1 + b1) @ w2 + b2


@check(
    "2 ranks, each holding its shard (the rest NaN): every rank returns the full MLP's output",
    zh="2 个 rank，各持有自己的分片（其余为 NaN）：每个 rank 都返回完整 MLP 的输出",
    examples=6,
    teaches=["distributed.megatron_mlp_split", "distributed.megatron_f_g_operators"],
)
def equals_full_mlp(ctx):
    dtype, seed, n, d, per = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            st.integers(0, 10**6),
            st.integers(1, 5),
            st.integers(1, 6),
            st.integers(1, 5),
        )
    )
    got = ctx.run("tp_driver", seed, n, d, 2 * per, dtype)
    expected = _full_mlp(seed, n, d, 2 * per)
    for rank, out in enumerate(got):
        if out is None:
            ctx.fail(f"rank {rank} returned no tensor")
        try:
            ctx.assert_close(out, expected.to(dtype), dtype=dtype)
        except Exception as exc:
            raise type(exc)(f"rank {rank}: {exc}") from None


@check(
    "where the ranks ran (a note: gloo on the CPU, or NCCL with a GPU per rank)",
    zh="各 rank 在哪里运行（只是提示：CPU 上的 gloo，或每个 rank 一块 GPU 的 NCCL）",
    examples=1,
)
def device_note(ctx):
    gpukit.ranks_note(ctx)


WRONG_ANSWERS = {
    "adds the output bias b2 on every rank before the all_reduce (b2 counted world times)": """
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per)
    out = F.gelu(x @ w1[:, c] + b1[c]) @ w2[c, :] + b2
    dist.all_reduce(out)
    return out
""",
    "no all_reduce: each rank returns only its partial output": """
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per)
    return F.gelu(x @ w1[:, c] + b1[c]) @ w2[c, :] + b2
""",
    "ignores the sharding: computes the whole MLP with weights the rank does not own": """
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    return F.gelu(x @ w1 + b1) @ w2 + b2
""",
    "gathers the full hidden activation, then multiplies by the whole w2 (other ranks' rows included)": """
import torch
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per)
    mine = F.gelu(x @ w1[:, c] + b1[c]).contiguous()
    parts = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine)
    return torch.cat(parts, dim=1) @ w2 + b2
""",
    "shards w2 by columns (output features) instead of rows (hidden units)": """
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per)
    h = F.gelu(x @ w1[:, c] + b1[c])
    out = h @ w2[: h.shape[1], :].nan_to_num()
    dist.all_reduce(out)
    return out + b2
""",
    "averages the partial outputs (divides the all_reduce by the world size, as for gradients)": """
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per)
    out = F.gelu(x @ w1[:, c] + b1[c]) @ w2[c, :]
    dist.all_reduce(out)
    return out / world + b2
""",
    "shard off by one: rank r takes hidden units r*per .. (r+1)*per inclusive (one of the next rank's)": """
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    per = w1.shape[1] // world
    c = slice(rank * per, (rank + 1) * per + 1)
    out = F.gelu(x @ w1[:, c] + b1[c]) @ w2[c, :]
    dist.all_reduce(out)
    return out + b2
""",
}

ALTERNATIVES = {
    "all_gather the partial outputs and add them up (more traffic than all_reduce, same result)": """
import torch
import torch.distributed as dist
import torch.nn.functional as F

def tp_mlp(x, w1, b1, w2, b2):
    world, rank = dist.get_world_size(), dist.get_rank()
    w1_parts = w1.chunk(world, dim=1)
    b1_parts = b1.chunk(world)
    w2_parts = w2.chunk(world, dim=0)
    partial = (F.gelu(x @ w1_parts[rank] + b1_parts[rank]) @ w2_parts[rank]).contiguous()
    gathered = [torch.empty_like(partial) for _ in range(world)]
    dist.all_gather(gathered, partial)
    return torch.stack(gathered).sum(dim=0) + b2
""",
}
