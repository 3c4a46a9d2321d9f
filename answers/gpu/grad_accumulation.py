"""gpu.grad_accumulation — gradient accumulation that equals one step on the whole batch.

accumulate_and_step(model, optimizer, x, y, n_micro): zero the gradients, run the batch as n_micro
micro-batches (x.tensor_split(n_micro): sizes may differ by one), accumulate gradients so they
equal those of the mean squared error over the whole batch, then call optimizer.step() once.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited, sandboxed


def reference(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    total = y.numel()
    for xm, ym in zip(x.tensor_split(n_micro), y.tensor_split(n_micro)):
        # Each micro-batch's squared errors over the WHOLE batch's element count: the sum over
        # micro-batches is then the mean over the batch, whatever the micro-batch sizes.
        loss = ((model(xm) - ym) ** 2).sum() / total
        loss.backward()
    optimizer.step()


def _model(seed, d_in, hidden, d_out, dtype):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, d_out)).to(dtype)


def _batch(seed, n, d_in, d_out, dtype):
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(n, d_in, generator=gen).to(dtype), torch.randn(n, d_out, generator=gen).to(dtype)


LR = 0.1


class PlainSGD:
    """torch.optim.SGD's interface for plain SGD (zero_grad, step), without torch.optim: building
    a torch optimizer imports torch._dynamo, seconds in every fresh sandbox."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        for p in self.params:
            if p.grad is not None:
                p -= self.lr * p.grad


@sandboxed
def accumulate_driver(solution, seed, n, n_micro, d_in, hidden, d_out, dtype):
    """Run the solution once, starting from stale gradients; report what a user would look at."""
    model = _model(seed, d_in, hidden, d_out, dtype)
    for p in model.parameters():  # left over from a previous step: zero_grad must clear them
        p.grad = torch.full_like(p, 0.5)
    optimizer = PlainSGD(model.parameters(), lr=LR)
    steps = []
    original_step = optimizer.step
    optimizer.step = lambda *a, **k: (steps.append(1), original_step(*a, **k))[1]
    sizes = []
    model.register_forward_pre_hook(lambda module, args: sizes.append(args[0].shape[0]))
    x, y = _batch(seed, n, d_in, d_out, dtype)
    solution(model, optimizer, x, y, n_micro)
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "steps": len(steps),
        "sizes": sizes,
    }


def _expected(seed, n, d_in, hidden, d_out):
    model = _model(seed, d_in, hidden, d_out, torch.float32).double()
    x, y = _batch(seed, n, d_in, d_out, torch.float64)
    ((model(x) - y) ** 2).mean().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    return [p.detach() - LR * g for p, g in zip(model.parameters(), grads)], grads


def _judge(ctx, dtype, seed, n, n_micro, d_in, hidden, d_out):
    got = ctx.run("accumulate_driver", seed, n, n_micro, d_in, hidden, d_out, dtype)
    if got["steps"] != 1:
        ctx.fail(f"called optimizer.step() {got['steps']} times; accumulate over all micro-batches, then step once")
    largest = max(got["sizes"], default=0)
    if largest > -(-n // n_micro):
        ctx.fail(
            f"ran {largest} rows through the model at once; with n_micro={n_micro} a forward pass sees at most {-(-n // n_micro)} rows"
        )
    params, grads = _expected(seed, n, d_in, hidden, d_out)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, g, e in zip(names, got["grads"], grads):
        if g is None:
            ctx.fail(f"parameter {name} has no .grad after the call (leave the accumulated gradients in place)")
        try:
            ctx.assert_close(g, e.to(dtype), dtype=dtype)
        except Exception as exc:
            raise type(exc)(f"accumulated gradient of {name} is not that of the whole batch: {exc}") from None
    for name, p, e in zip(names, got["params"], params):
        try:
            ctx.assert_close(p, e.to(dtype), dtype=dtype)
        except Exception as exc:
            raise type(exc)(f"parameter {name} after the step: {exc}") from None


@check(
    "equals one SGD step on the whole batch: gradients, parameters, one optimizer.step(), micro-batch forwards",
    zh="等于在整个 batch 上做一步 SGD：梯度、参数、一次 optimizer.step()、微批次的前向",
    examples=6,
    teaches=["training.grad_accum_loss_normalization"],
)
def equals_one_big_batch(ctx):
    dtype, seed, n, n_micro, (d_in, hidden, d_out) = ctx.draw(
        st.tuples(
            st.sampled_from([torch.float32, torch.float64]),
            st.integers(0, 10**6),
            st.integers(2, 11),
            st.integers(1, 4),
            st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 3)),
        )
    )
    _judge(ctx, dtype, seed, n, min(n_micro, n), d_in, hidden, d_out)


@check(
    "micro-batches of different sizes (the batch does not divide evenly)",
    zh="不同大小的微批次（batch 不能整除）",
    examples=3,
    teaches=["training.grad_accum_loss_normalization"],
)
def uneven_micro_batches(ctx):
    seed, (n, n_micro) = ctx.draw(st.tuples(st.integers(0, 10**6), st.sampled_from([(5, 2), (7, 3), (10, 4), (3, 2)])))
    _judge(ctx, torch.float64, seed, n, n_micro, 3, 4, 2)


# A correct solution (the reference's loop); each wrong answer below is it with one bug put in.
_PLAIN = """
def accumulate_and_step(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    total = y.numel()
    for xm, ym in zip(x.tensor_split(n_micro), y.tensor_split(n_micro)):
        (((model(xm) - ym) ** 2).sum() / total).backward()
    optimizer.step()
"""
_BACKWARD = "        (((model(xm) - ym) ** 2).sum() / total).backward()\n"
_ZERO_GRAD_IN_LOOP = (("    optimizer.zero_grad()\n", ""), (_BACKWARD, "        optimizer.zero_grad()\n" + _BACKWARD))

WRONG_ANSWERS = {
    "divides each micro-batch's mean loss by n_micro (wrong when the sizes differ)": edited(
        _PLAIN,
        ("    total = y.numel()\n", ""),
        (_BACKWARD, "        loss = ((model(xm) - ym) ** 2).mean() / n_micro\n        loss.backward()\n"),
    ),
    "sums the micro-batch mean losses without scaling (n_micro times the gradient)": edited(
        _PLAIN, ("    total = y.numel()\n", ""), (_BACKWARD, "        ((model(xm) - ym) ** 2).mean().backward()\n")
    ),
    "steps the optimizer after every micro-batch": edited(
        _PLAIN, *_ZERO_GRAD_IN_LOOP, ("    optimizer.step()\n", "        optimizer.step()\n")
    ),
    "zeroes the gradients inside the loop (only the last micro-batch counts)": edited(_PLAIN, *_ZERO_GRAD_IN_LOOP),
    "never zeroes the gradients (the last step's gradients leak in)": edited(_PLAIN, ("    optimizer.zero_grad()\n", "")),
    "divides the summed loss by the number of rows, not of elements (right only when d_out == 1)": edited(
        _PLAIN, ("    total = y.numel()\n", "    total = y.shape[0]\n")
    ),
}

ALTERNATIVES = {
    "each micro-batch's mean loss weighted by its share of the rows": """
def accumulate_and_step(model, optimizer, x, y, n_micro):
    for p in model.parameters():
        p.grad = None
    n = x.shape[0]
    for xm, ym in zip(x.tensor_split(n_micro), y.tensor_split(n_micro)):
        loss = ((model(xm) - ym) ** 2).mean() * (xm.shape[0] / n)
        loss.backward()
    optimizer.step()
""",
    "gradients summed by hand with torch.autograd.grad, then assigned": """
import torch

def accumulate_and_step(model, optimizer, x, y, n_micro):
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for xm, ym in zip(x.tensor_split(n_micro), y.tensor_split(n_micro)):
        loss = ((model(xm) - ym) ** 2).sum() / y.numel()
        for a, g in zip(acc, torch.autograd.grad(loss, params)):
            a += g
    for p, a in zip(params, acc):
        p.grad = a
    optimizer.step()
""",
}
