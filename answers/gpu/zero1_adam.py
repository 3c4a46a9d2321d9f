"""gpu.zero1_adam — a ZeRO-1 sharded Adam step: each rank keeps optimizer state for its shard only.

zero1_adam_step(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8): param and grad are flat
(N,) tensors, identical on every rank (grad already averaged); rank r owns elements
[r*S, min((r+1)*S, N)) with S = ceil(N / world). Each rank updates its shard with Adam, keeping
exp_avg and exp_avg_sq for that shard only (in `state`, a dict it keeps between calls), then the
ranks all-gather so that every rank's param holds the whole updated vector. Checked with 2 ranks
against unsharded Adam over several steps.
"""

import torch
import torch.distributed as dist
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited, sandboxed

SANDBOX_MEMORY_BYTES = 3 * 1024**3  # two forked ranks and gloo's threads
USES_CUDA = True


@torch.no_grad()
def reference(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    world, rank = dist.get_world_size(), dist.get_rank()
    n = param.numel()
    shard = -(-n // world)  # ceil: the last rank's shard may be shorter, or empty
    lo, hi = min(rank * shard, n), min((rank + 1) * shard, n)
    if not state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros(hi - lo, dtype=param.dtype, device=param.device)
        state["exp_avg_sq"] = torch.zeros(hi - lo, dtype=param.dtype, device=param.device)
    state["step"] += 1
    t, (b1, b2) = state["step"], betas
    g, m, v = grad[lo:hi], state["exp_avg"], state["exp_avg_sq"]
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    update = (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps)
    mine = torch.zeros(shard, dtype=param.dtype, device=param.device)  # padded: all_gather wants equal sizes
    mine[: hi - lo] = param[lo:hi] - lr * update
    parts = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine)
    param.copy_(torch.cat(parts)[:n])


def _data(seed, n, steps, dtype):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=gen).to(dtype), [torch.randn(n, generator=gen).to(dtype) for _ in range(steps)]


def _state_numel(value):
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, dict):
        return sum(_state_numel(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_state_numel(v) for v in value)
    return 0


def _rank_body(rank, world, solution, seed, n, steps, lr, dtype):
    dev = gpukit.rank_device()
    param, grads = _data(seed, n, steps, dtype)
    param, grads = param.to(dev), [g.to(dev) for g in grads]
    state = {}
    for grad in grads:
        solution(param, grad.clone(), state, lr)
    return {"param": param.clone(), "state_numel": _state_numel(state)}


@sandboxed
def zero_driver(solution, seed, n, steps, lr, dtype):
    return gpukit.run_ranks(
        _rank_body, solution, seed, n, steps, lr, dtype, world=2, timeout_s=10.0, filename=solution.__code__.co_filename
    )


def _unsharded_adam(seed, n, steps, lr, betas=(0.9, 0.999), eps=1e-8):
    param, grads = _data(seed, n, steps, torch.float32)
    param = param.double()
    m, v = torch.zeros_like(param), torch.zeros_like(param)
    for t, g in enumerate(grads, start=1):
        g = g.double()
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        param = param - lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
    return param


def _judge(ctx, seed, n, steps, lr, dtype):
    got = ctx.run("zero_driver", seed, n, steps, lr, dtype)
    expected = _unsharded_adam(seed, n, steps, lr)
    shard = -(-n // 2)
    for rank, result in enumerate(got):
        try:
            ctx.assert_close(result["param"], expected.to(dtype), dtype=dtype)
        except Exception as exc:
            raise type(exc)(f"rank {rank}, the parameters after {steps} steps differ from unsharded Adam: {exc}") from None
        if result["state_numel"] > 2 * shard + 8:
            ctx.fail(
                f"rank {rank} keeps {result['state_numel']} numbers of optimizer state for N={n}: ZeRO-1 keeps "
                f"Adam's two moments for its own shard only ({2 * shard} numbers with 2 ranks)"
            )


@check(
    "2 ranks, several steps: every rank's parameters equal unsharded Adam's; each rank keeps state for its shard only",
    zh="2 个 rank，多步：每个 rank 的参数等于不分片的 Adam 的结果；每个 rank 只保存自己分片的状态",
    examples=5,
    teaches=["distributed.zero1_os", "training.adam_update"],
)
def equals_unsharded_adam(ctx):
    dtype, seed, n, steps, lr = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            st.integers(0, 10**6),
            st.integers(20, 61),
            st.integers(1, 4),
            st.sampled_from([1e-2, 1e-1]),
        )
    )
    _judge(ctx, seed, n, steps, lr, dtype)


@check("an odd number of elements (the shards differ in size)", zh="元素个数为奇数（各分片大小不同）", examples=2)
def odd_sizes(ctx):
    seed, n = ctx.draw(st.tuples(st.integers(0, 10**6), st.sampled_from([21, 33, 47])))
    _judge(ctx, seed, n, 2, 1e-2, torch.float32)


@check(
    "where the ranks ran (a note: gloo on the CPU, or NCCL with a GPU per rank)",
    zh="各 rank 在哪里运行（只是提示：CPU 上的 gloo，或每个 rank 一块 GPU 的 NCCL）",
    examples=1,
)
def device_note(ctx):
    gpukit.ranks_note(ctx)


# The last step of a correct solution: gather every rank's updated shard into the whole vector
# (shards padded to `shard` elements, as all_gather wants equal sizes).
_ALL_GATHER = """    mine = torch.zeros(shard, dtype=param.dtype, device=param.device)
    mine[: hi - lo] = param[lo:hi] - lr * update
    parts = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine)
    param.copy_(torch.cat(parts)[:n])
"""

# A correct solution; each wrong answer below but one is it with one bug put in.
_BASE = (
    """
import torch
import torch.distributed as dist

@torch.no_grad()
def zero1_adam_step(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    world, rank = dist.get_world_size(), dist.get_rank()
    n = param.numel()
    shard = -(-n // world)
    lo, hi = min(rank * shard, n), min((rank + 1) * shard, n)
    if not state:
        state["t"] = 0
        state["m"] = torch.zeros(hi - lo, dtype=param.dtype, device=param.device)
        state["v"] = torch.zeros(hi - lo, dtype=param.dtype, device=param.device)
    state["t"] += 1
    t, (b1, b2) = state["t"], betas
    g = grad[lo:hi]
    state["m"] = b1 * state["m"] + (1 - b1) * g
    state["v"] = b2 * state["v"] + (1 - b2) * g * g
    update = (state["m"] / (1 - b1 ** t)) / ((state["v"] / (1 - b2 ** t)).sqrt() + eps)
"""
    + _ALL_GATHER
)

WRONG_ANSWERS = {
    "shard size N // world (rounded down): the last elements belong to no rank and never move": edited(
        _BASE,
        ("shard = -(-n // world)", "shard = n // world"),
        ("param.copy_(torch.cat(parts)[:n])", "param[: shard * world].copy_(torch.cat(parts))"),
    ),
    "no all_gather: each rank updates only its own shard of the parameters": edited(
        _BASE, (_ALL_GATHER, "    param[lo:hi] -= lr * update\n")
    ),
    "keeps Adam state for the whole vector on every rank (plain data-parallel Adam)": """
import torch

@torch.no_grad()
def zero1_adam_step(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    if not state:
        state["t"], state["m"], state["v"] = 0, torch.zeros_like(param), torch.zeros_like(param)
    state["t"] += 1
    t, (b1, b2) = state["t"], betas
    state["m"] = b1 * state["m"] + (1 - b1) * grad
    state["v"] = b2 * state["v"] + (1 - b2) * grad * grad
    param -= lr * (state["m"] / (1 - b1 ** t)) / ((state["v"] / (1 - b2 ** t)).sqrt() + eps)
""",
    "all_reduce (sum) of the parameters after each rank updated its shard: the other shard counts twice": edited(
        _BASE, (_ALL_GATHER, "    param[lo:hi] -= lr * update\n    dist.all_reduce(param)\n")
    ),
    "no bias correction of the moments": edited(
        _BASE,
        (
            'update = (state["m"] / (1 - b1 ** t)) / ((state["v"] / (1 - b2 ** t)).sqrt() + eps)',
            'update = state["m"] / (state["v"].sqrt() + eps)',
        ),
    ),
    "the last rank's shard end not clamped to N (hi = (rank + 1) * shard): breaks when N is odd": edited(
        _BASE, ("lo, hi = min(rank * shard, n), min((rank + 1) * shard, n)", "lo, hi = min(rank * shard, n), (rank + 1) * shard")
    ),
    "bias correction with the step count before it is incremented (t = 0 on the first step)": edited(
        _BASE,
        (
            '    state["t"] += 1\n    t, (b1, b2) = state["t"], betas\n',
            '    t, (b1, b2) = state["t"], betas\n    state["t"] += 1\n',
        ),
    ),
}

ALTERNATIVES = {
    "every rank broadcasts its own updated shard straight into param (no padding)": """
import torch
import torch.distributed as dist

@torch.no_grad()
def zero1_adam_step(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    world, rank = dist.get_world_size(), dist.get_rank()
    n = param.numel()
    size = (n + world - 1) // world
    bounds = [(min(r * size, n), min(r * size + size, n)) for r in range(world)]
    lo, hi = bounds[rank]
    step = state.get("step", 0) + 1
    state["step"] = step
    m = state.setdefault("m", torch.zeros(hi - lo, dtype=param.dtype, device=param.device))
    v = state.setdefault("v", torch.zeros(hi - lo, dtype=param.dtype, device=param.device))
    g = grad[lo:hi]
    m.lerp_(g, 1 - betas[0])
    v.mul_(betas[1]).add_((1 - betas[1]) * g * g)
    denom = (v / (1 - betas[1] ** step)).sqrt_().add_(eps)
    param[lo:hi].addcdiv_(m, denom, value=-lr / (1 - betas[0] ** step))
    for r, (a, b) in enumerate(bounds):
        if b > a:
            piece = param[a:b].clone()
            dist.broadcast(piece, src=r)
            param[a:b] = piece
""",
}
