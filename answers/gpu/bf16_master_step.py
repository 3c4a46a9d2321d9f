"""gpu.bf16_master_step — a mixed-precision SGD step: bfloat16 model, float32 master weights.

mixed_precision_step(model, master_params, lr, loss_scale): after (loss * loss_scale).backward()
on a bfloat16 model, unscale the gradients in float32, update the float32 masters, copy them
(rounded) into the model, and clear the model's gradients. Checked over several steps with updates
smaller than bfloat16 can represent next to the weights: stepping in bfloat16 loses them.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited, sandboxed


@torch.no_grad()
def reference(model, master_params, lr, loss_scale):
    for p, master in zip(model.parameters(), master_params):
        if p.grad is None:
            continue
        grad = p.grad.float() / loss_scale  # unscale in float32: bf16 / scale could underflow
        master -= lr * grad  # the update happens in float32, where it is not rounded away
        p.copy_(master)  # the model gets the masters rounded to bfloat16
        p.grad = None  # the next backward must not add onto this step's gradients


def _model(seed, d_in, hidden):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.sign(p) * 0.5)  # weights of magnitude ~0.5-1: bf16 spacing 2^-8 to 2^-7
    return model


def _batch(seed, n, d_in):
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(n, d_in, generator=gen), torch.randn(n, 1, generator=gen)


def train(step, seed, n, d_in, hidden, steps, lr, loss_scale):
    """`steps` steps of a bf16 model with fp32 masters; the step function is `step`."""
    base = _model(seed, d_in, hidden)
    masters = [p.detach().clone().float() for p in base.parameters()]
    model = base.to(torch.bfloat16)
    x, y = _batch(seed, n, d_in)
    for _ in range(steps):
        loss = ((model(x.bfloat16()).float() - y) ** 2).mean()
        (loss * loss_scale).backward()
        step(model, masters, lr, loss_scale)
    return {
        "masters": [m.clone() for m in masters],
        "model": [p.detach().clone() for p in model.parameters()],
        "grads_left": [p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters()],
    }


@sandboxed
def train_driver(solution, seed, n, d_in, hidden, steps, lr, loss_scale):
    return train(solution, seed, n, d_in, hidden, steps, lr, loss_scale)


NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


@check(
    "after several steps: the float32 masters move by what float32 SGD gives, the model holds them rounded to bfloat16, grads cleared",
    zh="多步之后：float32 主权重的变化等于 float32 SGD 给出的结果，模型持有它们舍入到 bfloat16 的值，梯度已清空",
    examples=5,
    teaches=["training.mixed_precision_fp16", "training.bf16_vs_fp16"],
)
def matches_fp32_training(ctx):
    seed, (n, d_in, hidden), steps, loss_scale = ctx.draw(
        st.tuples(
            st.integers(0, 10**6),
            st.tuples(st.integers(2, 8), st.integers(1, 4), st.integers(1, 6)),
            st.integers(3, 6),
            st.sampled_from([1.0, 256.0, 1024.0]),
        )
    )
    lr = 1e-4  # each update is far below the bfloat16 spacing of weights near 0.5
    got = ctx.run("train_driver", seed, n, d_in, hidden, steps, lr, loss_scale)
    want = train(reference, seed, n, d_in, hidden, steps, lr, loss_scale)
    start = train(lambda *a: None, seed, n, d_in, hidden, 0, lr, loss_scale)["masters"]
    for name, m, e, s in zip(NAMES, got["masters"], want["masters"], start):
        if not isinstance(m, torch.Tensor) or m.dtype != torch.float32:
            ctx.fail(f"master weights of {name} are no longer float32 tensors (the masters must stay float32)")
        # Compare the updates, not the weights: the weights are ~0.5, the updates ~1e-4.
        ctx.assert_close(m - s, (e - s).double(), dtype=torch.float32, rtol=1e-3, atol=1e-7)
    for name, p, m in zip(NAMES, got["model"], got["masters"]):
        if p.dtype != torch.bfloat16:
            ctx.fail(f"model parameter {name} is {p.dtype}, no longer bfloat16")
        if not torch.equal(p, m.to(torch.bfloat16)):
            ctx.fail(
                f"model parameter {name} is not its float32 master rounded to bfloat16: copy the masters into the model after the update"
            )
    for name, left in zip(NAMES, got["grads_left"]):
        if left:
            ctx.fail(
                f"model parameter {name} still holds a gradient after the step: the next backward adds onto it (clear it: p.grad = None)"
            )


# A correct solution (for a model whose parameters all have gradients); each wrong answer below is
# it with one bug put in.
_PLAIN = """
import torch

@torch.no_grad()
def mixed_precision_step(model, master_params, lr, loss_scale):
    for p, master in zip(model.parameters(), master_params):
        master -= lr * p.grad.float() / loss_scale
        p.copy_(master)
        p.grad = None
"""
_MASTER_UPDATE = "        master -= lr * p.grad.float() / loss_scale\n"

WRONG_ANSWERS = {
    "steps the bfloat16 weights and copies them to the masters (updates below bf16 spacing vanish)": edited(
        _PLAIN,
        (
            _MASTER_UPDATE + "        p.copy_(master)\n",
            "        p -= lr * (p.grad / loss_scale)\n        master.copy_(p.float())\n",
        ),
    ),
    "forgets to unscale the gradients (divide by loss_scale)": edited(_PLAIN, ("p.grad.float() / loss_scale", "p.grad.float()")),
    "updates the masters but never copies them back into the model": edited(_PLAIN, ("        p.copy_(master)\n", "")),
    "leaves the gradients in place: the next step adds onto them": edited(_PLAIN, ("        p.grad = None\n", "")),
    "copies the masters into the model before updating them (the model lags one step behind)": edited(
        _PLAIN, (_MASTER_UPDATE + "        p.copy_(master)\n", "        p.copy_(master)\n" + _MASTER_UPDATE)
    ),
    "computes the update in bfloat16, then adds it to the float32 master": edited(
        _PLAIN,
        (
            _MASTER_UPDATE,
            "        update = (p.grad / loss_scale) * lr\n        master.copy_((master.bfloat16() - update).float())\n",
        ),
    ),
}

ALTERNATIVES = {
    "foreach ops over all parameters, gradients unscaled into a float32 list first": """
import torch

def mixed_precision_step(model, master_params, lr, loss_scale):
    params = [p for p in model.parameters()]
    with torch.no_grad():
        grads = [p.grad.to(torch.float32) for p in params]
        torch._foreach_mul_(grads, 1.0 / loss_scale)
        torch._foreach_add_(master_params, grads, alpha=-lr)
        for p, m in zip(params, master_params):
            p.copy_(m.to(p.dtype))
    for p in params:
        p.grad = None
""",
}
