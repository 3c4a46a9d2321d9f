"""norm.batch_norm — BatchNorm, train and eval, running statistics: reference, checks, wrong answers.

batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5): x (N, C)
or (N, C, L); statistics per channel over N (and L). Training normalises with the batch mean and
the biased variance, and updates running_mean and running_var IN PLACE with PyTorch's convention
running = (1 - momentum) * running + momentum * batch, the variance term unbiased (n / (n - 1),
n = N * L). Eval normalises with the running statistics and leaves them alone. Computed in x's
dtype (float32 or float64), returned in x's dtype.

The output is compared with the reference (`ctx.reference`); the buffers after the call are read
back by the `run_batch_norm` driver (which owns them, so updating them is allowed) and compared
with `_running_after`. Regimes run every time by `boundary_regimes`: n = 2 and 3 (the biased and
unbiased variances differ by half and a third), N = 1 with L > 1, C = 1, L = 1, a channel whose
variance is about eps (1e-3 values) and a constant one, a mean of 1000 with unit spread in float32
(E[x^2] - E[x]^2 cancels), momentum 0.1, 0.01 and 1.0, eps 0.5, and eval with running statistics
far from the batch's.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = [
    "torch.nn.functional.batch_norm",
    "torch.batch_norm",
    "torch.nn.BatchNorm1d",
    "torch.native_batch_norm",
]

DTYPES = [torch.float32, torch.float64]

# float32 channels with mean 1000: the float32 mean itself is off by up to half an ulp of 1000
# (3e-5) in the best solution, which moves outputs near 0 by that much times the weight; atol
# 3e-4 allows it. The one-pass variance is off by percents there, the biased/unbiased mix-ups
# by a third or a half at n = 2 and 3, so every wrong answer stays far outside.
TOLERANCES = {torch.float32: (1e-4, 3e-4)}


def _axes(x):
    return (0,) if x.dim() == 2 else (0, 2)


def _per_channel(v, x):
    """(C,) -> broadcastable against x (N, C) or (N, C, L)."""
    return v.reshape(1, -1) if x.dim() == 2 else v.reshape(1, -1, 1)


def reference(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    # x (N, C[, L]) -> same shape; float64 inside; running stats updated in place when training
    x64 = x.double()
    axes = _axes(x)
    if training:
        n = x.numel() // x.shape[1]
        mean = x64.mean(dim=axes)  # (C,)
        var = (x64 - _per_channel(mean, x)).pow(2).mean(dim=axes)  # biased: divides by n
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean.to(running_mean.dtype))
            running_var.mul_(1 - momentum).add_(momentum * (var * n / (n - 1)).to(running_var.dtype))
    else:
        mean, var = running_mean.double(), running_var.double()
    y = (x64 - _per_channel(mean, x)) / torch.sqrt(_per_channel(var, x) + eps)
    return (y * _per_channel(weight.double(), x) + _per_channel(bias.double(), x)).to(x.dtype)


def _running_after(x, running_mean, running_var, training, momentum=0.1):
    """The buffers after the call, in float64 (harness only)."""
    rm, rv = running_mean.double(), running_var.double()
    if not training:
        return rm, rv
    x64 = x.double()
    axes = _axes(x)
    mean = x64.mean(dim=axes)
    unbiased = x64.var(dim=axes, correction=1)
    return (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * unbiased


@sandboxed
def run_batch_norm(solution, x, weight, bias, running_mean, running_var, training, kwargs):
    """The submission on buffers this driver owns; returns the output and the buffers afterwards."""
    rm, rv = running_mean.clone(), running_var.clone()
    out = solution(x, weight, bias, rm, rv, training, **kwargs)
    return out, rm, rv


def _judge(ctx, x, weight, bias, rm, rv, training, kwargs, what=""):
    dtype = x.dtype
    got = ctx.run("run_batch_norm", x, weight, bias, rm, rv, training, kwargs)
    out, rm_after, rv_after = got
    expected = ctx.reference(x, weight, bias, rm, rv, training, **kwargs)
    want_rm, want_rv = _running_after(x, rm, rv, training, kwargs.get("momentum", 0.1))
    mode = "training" if training else "eval"
    try:
        ctx.assert_close(out, expected, dtype=dtype)
        try:
            ctx.assert_close(rm_after, want_rm, dtype=dtype)
        except CheckFailed as exc:
            raise CheckFailed(f"running_mean after the call ({mode}): {exc}") from None
        try:
            ctx.assert_close(rv_after, want_rv, dtype=dtype)
        except CheckFailed as exc:
            raise CheckFailed(f"running_var after the call ({mode}): {exc}") from None
    except CheckFailed as exc:
        raise CheckFailed(f"{what}{': ' if what else ''}{exc}") from None


def _params(ctx, c, dtype):
    weight = (1 + ctx.randn(c, dtype=torch.float64) * 0.5).to(dtype)
    bias = ctx.randn(c, dtype=dtype) * 0.5
    running_mean = ctx.randn(c, dtype=dtype)
    running_var = (0.5 + ctx.rand(c, dtype=torch.float64) * 2).to(dtype)
    return weight, bias, running_mean, running_var


@check(
    "matches the reference, output and running statistics (random shapes, train and eval, float32/float64, momentum and eps default and not)",
    zh="输出和 running 统计量都与参考实现一致（随机形状，训练和推理，float32/float64，momentum 和 eps 默认和非默认）",
    teaches=["norm.bn_train_eval", "norm.bn_vs_ln_axes"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    three_d = ctx.draw(st.booleans())
    n = ctx.draw(st.sampled_from([2, 3, 5, 16]))
    c = ctx.draw(st.sampled_from([1, 3, 4, 7]))
    shape = (n, c, ctx.draw(st.sampled_from([1, 2, 5]))) if three_d else (n, c)
    x = ctx.randn(*shape, dtype=dtype, scale=ctx.draw(st.sampled_from([1.0, 3.0]))) + ctx.draw(st.sampled_from([0.0, 2.0]))
    training = ctx.draw(st.booleans())
    kwargs = ctx.draw(st.sampled_from([{}, {"momentum": 0.3}, {"eps": 1e-3}, {"momentum": 0.01, "eps": 0.1}]))
    _judge(ctx, x, *_params(ctx, c, dtype), training, kwargs)


# (what, x shape, scale, shift, training, keyword arguments)
REGIMES = [
    ("n = 2 (N = 2, C = 3): unbiased = 2 x biased", (2, 3), 1.0, 0.0, True, {}),
    ("n = 3 over N = 1, L = 3: statistics over N and L", (1, 4, 3), 1.0, 0.0, True, {}),
    ("C = 1, L = 1, N = 5", (5, 1, 1), 1.0, 0.0, True, {}),
    ("3-D x (4, 2, 6): per-channel, not per position", (4, 2, 6), 1.0, 0.5, True, {"momentum": 0.3}),
    ("values of 1e-3: variance about eps", (6, 3), 1e-3, 0.0, True, {}),
    ("eps 0.5", (4, 3, 2), 1.0, 0.0, True, {"eps": 0.5}),
    ("mean 1000, unit spread, float32", (64, 3, 8), 1.0, 1000.0, True, {}),
    ("momentum 1.0: the buffers become the batch statistics", (3, 2), 1.0, 1.0, True, {"momentum": 1.0}),
    ("momentum 0.01", (3, 2, 2), 2.0, 0.0, True, {"momentum": 0.01}),
    ("eval, batch statistics far from the running ones", (4, 3, 2), 3.0, 5.0, False, {}),
    ("eval, one sample (N = 1, L = 1)", (1, 3, 1), 1.0, 0.0, False, {"eps": 0.5}),
]


@check(
    "boundary regimes, every run: n = 2 and 3, N = 1, C = 1, L = 1, variance about eps, mean 1000, momentum 0.01 and 1.0, eps 0.5, eval",
    zh="每次都测的边界情形：n = 2 和 3，N = 1，C = 1，L = 1，方差与 eps 同量级，均值 1000，momentum 0.01 和 1.0，eps 0.5，推理模式",
    examples=1,
    teaches=["norm.bn_vs_ln_axes", "norm.bn_train_eval"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for what, shape, scale, shift, training, kwargs in REGIMES:
            x = ctx.randn(*shape, dtype=dtype, scale=scale) + shift
            _judge(ctx, x, *_params(ctx, shape[1], dtype), training, kwargs, what=f"{what}, {dtype}")


@check(
    "a constant channel gives bias, not NaN (eps inside the square root), and its running variance shrinks toward 0",
    zh="常数通道输出 bias 而不是 NaN（eps 在平方根里面），其 running 方差向 0 收缩",
    teaches=["norm.rmsnorm_eps"],
)
def constant_channel(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    n = ctx.draw(st.sampled_from([2, 4, 9]))
    x = ctx.randn(n, 3, dtype=dtype)
    x[:, ctx.draw(st.integers(0, 2))] = ctx.draw(st.sampled_from([0.0, 1.5]))
    _judge(ctx, x, *_params(ctx, 3, dtype), True, {})


@check(
    "a training step then eval: eval uses the updated running statistics, whatever the eval batch",
    zh="训练一步再推理：推理用更新后的 running 统计量，与推理 batch 无关",
    teaches=["norm.bn_train_eval"],
)
def train_then_eval(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    c = ctx.draw(st.sampled_from([1, 3]))
    x = ctx.randn(ctx.draw(st.sampled_from([2, 6])), c, 3, dtype=dtype) * 2 + 1
    weight, bias, rm, rv = _params(ctx, c, dtype)
    momentum = ctx.draw(st.sampled_from([0.1, 0.2]))
    _, rm1, rv1 = ctx.run("run_batch_norm", x, weight, bias, rm, rv, True, {"momentum": momentum})
    want_rm, want_rv = _running_after(x, rm, rv, True, momentum)
    rm1 = rm1 if isinstance(rm1, torch.Tensor) and rm1.shape == want_rm.shape else want_rm.to(dtype)
    rv1 = rv1 if isinstance(rv1, torch.Tensor) and rv1.shape == want_rv.shape else want_rv.to(dtype)
    # One sample in eval: a solution that normalises with batch statistics gets zeros (or NaN).
    single = ctx.randn(1, c, 1, dtype=dtype) * 3
    _judge(ctx, single, weight, bias, rm1.to(dtype), rv1.to(dtype), False, {}, what="eval after one training step")


# A correct solution; each edited() wrong answer below is this text with one bug put in.
_BASE = """
import torch

def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = [0] if x.dim() == 2 else [0, 2]
    shape = [1, -1] + [1] * (x.dim() - 2)
    if training:
        n = x.numel() // x.shape[1]
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))
    else:
        mean, var = running_mean, running_var
    y = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return y * weight.reshape(shape) + bias.reshape(shape)
"""

WRONG_ANSWERS = {
    "normalises with the unbiased variance (divides by n - 1)": edited(
        _BASE,
        ("var = x.var(dim=dims, unbiased=False)", "var = x.var(dim=dims, unbiased=True)"),
        ("momentum * var * n / (n - 1)", "momentum * var"),
    ),
    "running variance updated with the biased variance": edited(_BASE, ("momentum * var * n / (n - 1)", "momentum * var")),
    "momentum convention reversed (Keras: running = momentum * running + (1 - momentum) * batch)": edited(
        _BASE,
        ("running_mean.mul_(1 - momentum).add_(momentum * mean)", "running_mean.mul_(momentum).add_((1 - momentum) * mean)"),
        (
            "running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))",
            "running_var.mul_(momentum).add_((1 - momentum) * var * n / (n - 1))",
        ),
    ),
    "statistics per sample over C (and L): that is LayerNorm": """
import torch

def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    shape = [1, -1] + [1] * (x.dim() - 2)
    dims = [1] if x.dim() == 2 else [1, 2]
    if training:
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, unbiased=False, keepdim=True)
        n = x.numel() // x.shape[1]
        with torch.no_grad():
            bm = x.mean(dim=[0] + dims[1:])
            bv = x.var(dim=[0] + dims[1:], unbiased=True)
            running_mean.mul_(1 - momentum).add_(momentum * bm)
            running_var.mul_(1 - momentum).add_(momentum * bv)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    y = (x - mean) / torch.sqrt(var + eps)
    return y * weight.reshape(shape) + bias.reshape(shape)
""",
    "statistics over N only for 3-D x (one per channel and position)": edited(
        _BASE,
        ("mean = x.mean(dim=dims)", "mean = x.mean(dim=0)"),
        ("var = x.var(dim=dims, unbiased=False)", "var = x.var(dim=0, unbiased=False)"),
        (
            "running_mean.mul_(1 - momentum).add_(momentum * mean)",
            "running_mean.mul_(1 - momentum).add_(momentum * x.mean(dim=dims))",
        ),
        ("momentum * var * n / (n - 1))", "momentum * x.var(dim=dims))"),
        (
            "y = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)",
            "y = (x - mean) / torch.sqrt(var + eps) if training else (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)",
        ),
    ),
    "eval normalises with the batch statistics too": edited(
        _BASE,
        (
            "    else:\n        mean, var = running_mean, running_var\n",
            "    else:\n        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)\n",
        ),
    ),
    "running statistics replaced by the batch's (copy_ instead of a moving average)": edited(
        _BASE,
        ("running_mean.mul_(1 - momentum).add_(momentum * mean)", "running_mean.copy_(mean)"),
        ("running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))", "running_var.copy_(var * n / (n - 1))"),
    ),
    "running statistics rebound to new tensors, the caller's buffers never updated": edited(
        _BASE,
        (
            "running_mean.mul_(1 - momentum).add_(momentum * mean)",
            "running_mean = (1 - momentum) * running_mean + momentum * mean",
        ),
        (
            "running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))",
            "running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)",
        ),
    ),
    "eps added outside the square root: (x - mean) / (sqrt(var) + eps)": edited(
        _BASE, ("torch.sqrt(var.reshape(shape) + eps)", "(torch.sqrt(var.reshape(shape)) + eps)")
    ),
    "one-pass variance E[x^2] - E[x]^2 (cancels in float32 when the mean is large)": edited(
        _BASE, ("var = x.var(dim=dims, unbiased=False)", "var = (x * x).mean(dim=dims) - mean * mean")
    ),
}

ALTERNATIVES = {
    "flatten to (C, n), two-pass statistics by sums, update with lerp_, scale folded into weight": """
import torch

def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    c = x.shape[1]
    flat = x.transpose(0, 1).reshape(c, -1)          # (C, n)
    if training:
        n = flat.shape[1]
        mean = flat.sum(dim=1) / n
        centred = flat - mean[:, None]
        var = (centred * centred).sum(dim=1) / n
        with torch.no_grad():
            running_mean.lerp_(mean.detach(), momentum)
            running_var.lerp_((var * n / (n - 1)).detach(), momentum)
    else:
        mean, var = running_mean, running_var
    scale = weight / torch.sqrt(var + eps)
    view = (1, c) + (1,) * (x.dim() - 2)
    return (x - mean.reshape(view)) * scale.reshape(view) + bias.reshape(view)
""",
}
