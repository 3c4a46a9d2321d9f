"""autograd.mlp_backward — a two-layer MLP's backward pass by hand: reference, checks, known-wrong answers.

mlp_backward(x, w1, b1, w2, b2, dy, activation="relu") -> (dx, dw1, db1, dw2, db2) for
    h = x @ w1 + b1,   a = act(h),   y = a @ w2 + b2
with act ReLU (derivative 1 where h > 0, else 0: PyTorch's threshold_backward at h = 0) or GELU
in its tanh form (Hendrycks and Gimpel; F.gelu(approximate="tanh")). With da = dy @ w2^T and
dh = da * act'(h): dw2 = a^T dy, db2 = sum(dy), dw1 = x^T dh, db1 = sum(dh), dx = dh @ w1^T, the
sums and products running over every leading dim of x.
The reference is that closed form in float64; every check holds it to torch.autograd through
the forward on float64 clones first.

Regimes where implementations diverge, each run every time by `boundary_regimes`:
- h exactly 0 (zero rows of x with zero entries of b1: ReLU's derivative there is 0, not 1);
- H == Dout (a ReLU mask taken from the second layer's output raises elsewhere, not there),
  Din == H (a missing transpose in dx raises elsewhere); one row; x 3-D (sums over both dims);
- GELU at large |h| (derivative 0 and 1) and near 0; both activations every run;
- float64 computed in float64 (`float64_precision`, rtol 1e-12).
The autograd engine is switched off for `no_autograd` (a @sandboxed driver): the forbidden-call
block blocks ATen operators, and backward() is no operator, so it cannot express this rule.
"""

import math

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited, sandboxed, vjp

NAMES = ("dx", "dw1", "db1", "dw2", "db2")
ACTIVATIONS = ("relu", "gelu_tanh")


def _act_grad(h, activation):
    if activation == "relu":
        return (h > 0).to(h.dtype)
    c = math.sqrt(2.0 / math.pi)
    t = torch.tanh(c * (h + 0.044715 * h**3))
    return 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * c * (1 + 3 * 0.044715 * h * h)


def _act(h, activation):
    if activation == "relu":
        return h.clamp(min=0)
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * h * (1 + torch.tanh(c * (h + 0.044715 * h**3)))


def reference(x, w1, b1, w2, b2, dy, activation="relu"):
    # x (..., Din), w1 (Din, H), b1 (H,), w2 (H, Dout), b2 (Dout,), dy (..., Dout); float64 inside
    x64, w1_, b1_, w2_, dy64 = x.double(), w1.double(), b1.double(), w2.double(), dy.double()
    xf, gf = x64.reshape(-1, x.shape[-1]), dy64.reshape(-1, dy.shape[-1])
    h = xf @ w1_ + b1_
    a = _act(h, activation)
    dh = (gf @ w2_.T) * _act_grad(h, activation)
    grads = ((dh @ w1_.T).reshape(x.shape), xf.T @ dh, dh.sum(0), a.T @ gf, gf.sum(0))
    return tuple(g.to(x.dtype) for g in grads)


def _autograd(x, w1, b1, w2, b2, dy, activation="relu"):
    """torch.autograd through the forward (F.relu, F.gelu tanh) on float64 clones (harness only)."""
    with torch.enable_grad():
        leaves = [t.detach().double().requires_grad_(True) for t in (x, w1, b1, w2, b2)]
        xx, ww1, bb1, ww2, bb2 = leaves
        h = xx @ ww1 + bb1
        a = F.relu(h) if activation == "relu" else F.gelu(h, approximate="tanh")
        return vjp(a @ ww2 + bb2, leaves, dy.detach().double())


def _expected(ctx, *args, **kw):
    """The reference's gradients, held to float64 autograd first (a disagreement is a bank bug)."""
    want = ctx.reference(*args, **kw)
    for name, mine, auto in zip(NAMES, want, _autograd(*args, **kw)):
        if not torch.allclose(mine, auto, rtol=1e-8, atol=1e-10 * max(1.0, float(auto.abs().max()))):
            raise AnswerModuleBug(
                f"the reference's {name} differs from float64 autograd by {float((mine - auto).abs().max()):.3g}"
            )
    return want


DTYPES = [torch.float32, torch.float64]
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error here


def _compare(ctx, got, want, dtype, rtol=None):
    if not isinstance(got, (tuple, list)) or len(got) != 5:
        ctx.fail("return a tuple (dx, dw1, db1, dw2, db2)")
    for name, mine, exp in zip(NAMES, got, want):
        # float32: the weight gradients sum over every row, so atol follows the largest value
        if dtype == torch.float32:
            tol = {"rtol": 1e-4, "atol": 2e-5 * max(1.0, float(exp.abs().max()))}
        else:
            tol = {"rtol": rtol or 1e-7, "atol": (rtol or 1e-9) * max(1.0, float(exp.abs().max()))}
        try:
            ctx.assert_close(mine, exp, dtype=dtype, **tol)
        except Exception as exc:  # say which of the five
            if type(exc).__name__ != "CheckFailed":
                raise
            raise type(exc)(f"{name}: {exc}") from None


def _inputs(ctx, dtype, lead, din, hidden, dout, scale=1.0):
    x = ctx.randn(*lead, din, dtype=dtype, scale=scale)
    w1 = ctx.randn(din, hidden, dtype=dtype, scale=1 / math.sqrt(din))
    b1 = ctx.randn(hidden, dtype=dtype, scale=0.5)
    w2 = ctx.randn(hidden, dout, dtype=dtype, scale=1 / math.sqrt(hidden))
    b2 = ctx.randn(dout, dtype=dtype, scale=0.5)
    return x, w1, b1, w2, b2, ctx.randn(*lead, dout, dtype=dtype)


def _without_autograd(solution, *args, **kwargs):
    """The solution with autograd's engine switched off; also counts tensors saved for a backward
    (none when no input requires grad, unless the solution builds a graph of its own)."""
    import torch.autograd.graph as graph

    saved = []

    def count(t):
        saved.append(1)
        return t

    def refuse(*_args, **_kwargs):
        raise RuntimeError(
            "torch.autograd is switched off in this exercise (backward(), torch.autograd.grad, torch.func): "
            "compute the gradient by hand"
        )

    engines = (torch.autograd._engine_run_backward, graph._engine_run_backward)
    torch.autograd._engine_run_backward = graph._engine_run_backward = refuse
    try:
        with graph.saved_tensors_hooks(count, lambda t: t):
            out = solution(*args, **kwargs)
    finally:
        torch.autograd._engine_run_backward, graph._engine_run_backward = engines
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return out, len(saved), any(isinstance(t, torch.Tensor) and t.requires_grad for t in outs)


@sandboxed
def with_autograd_off(solution, x, w1, b1, w2, b2, dy, activation="relu"):
    """`mlp_backward` run by `_without_autograd`: its result, the tensors saved for a backward, and
    whether a result requires grad."""
    return _without_autograd(solution, x, w1, b1, w2, b2, dy, activation=activation)


@check(
    "computed by hand: runs with autograd's engine switched off and returns no autograd graph",
    zh="手写实现：关闭 autograd 引擎也能运行，且不返回 autograd 计算图",
    examples=3,
)
def no_autograd(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    activation = ctx.draw(st.sampled_from(ACTIVATIONS))
    args = _inputs(ctx, dtype, (4,), 3, 5, 2)
    got = ctx.run("with_autograd_off", *args, activation=activation)
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    _, saved, graph = got
    if saved or graph:
        ctx.fail("built an autograd graph (requires_grad tensors): compute the gradients by hand")


@check(
    "matches autograd (random shapes incl. one row and width 1, 2-D and 3-D x, ReLU and GELU, float32/float64)",
    zh="与 autograd 一致（随机形状，含只有一行和宽度为 1，2-D 和 3-D 的 x，ReLU 和 GELU，float32/float64）",
    teaches=["ffn.gelu"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    lead = ctx.draw(st.lists(st.sampled_from([1, 2, 3, 5]), min_size=1, max_size=2))
    din, hidden, dout = (ctx.draw(st.sampled_from([1, 3, 4, 8])) for _ in range(3))
    args = _inputs(ctx, dtype, lead, din, hidden, dout, scale=ctx.draw(st.sampled_from([0.1, 1.0, 3.0])))
    kw = ctx.draw(st.sampled_from([{}, {"activation": "relu"}, {"activation": "gelu_tanh"}]))  # {}: ReLU
    _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), dtype)


# (leading dims, Din, H, Dout, scale of x): every regime of the module docstring, both activations.
REGIMES = [
    ((1,), 3, 5, 2, 1.0),  # one row
    ((4,), 3, 6, 6, 1.0),  # H == Dout
    ((4,), 5, 5, 2, 1.0),  # Din == H
    ((4,), 4, 4, 4, 1.0),  # all equal: no transpose bug raises
    ((2, 3), 3, 5, 2, 1.0),  # 3-D x: sums over both leading dims
    ((5,), 1, 1, 1, 1.0),  # widths of 1
    ((6,), 4, 8, 3, 10.0),  # large |h|: GELU's derivative near 0 and 1
    ((6,), 4, 8, 3, 1e-3),  # h near b1
]


@check(
    "boundary regimes, every run, ReLU and GELU: h exactly 0, H == Dout, Din == H, one row, 3-D x, widths of 1, "
    "large and small |h|",
    zh="每次都测的边界情形，ReLU 和 GELU 都测：h 恰好为 0，H == Dout，Din == H，只有一行，3-D 的 x，宽度为 1，|h| 大和小",
    examples=1,
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for activation in ACTIVATIONS:
            kw = {"activation": activation}
            for lead, din, hidden, dout, scale in REGIMES:
                args = _inputs(ctx, dtype, lead, din, hidden, dout, scale)
                _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), dtype)
            # h exactly 0: zero rows of x meet zero entries of b1
            x, w1, b1, w2, b2, dy = _inputs(ctx, dtype, (4,), 3, 6, 6)
            x[1:3] = 0
            b1[::2] = 0
            args = (x, w1, b1, w2, b2, dy)
            _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), dtype)


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32 就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    args = _inputs(ctx, torch.float64, (6,), 24, 40, 16)
    kw = {"activation": ctx.draw(st.sampled_from(ACTIVATIONS))}
    _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), torch.float64, rtol=FLOAT64_RTOL)


@check(
    "property: the gradients of a batch are the sums of each row's own (dx row by row)",
    zh="性质：一个 batch 的梯度等于每一行各自梯度之和（dx 按行对应）",
)
def rows_add_up(ctx):
    activation = ctx.draw(st.sampled_from(ACTIVATIONS))
    x, w1, b1, w2, b2, dy = _inputs(ctx, torch.float64, (3,), 4, 5, 2)
    whole = ctx.call(x, w1, b1, w2, b2, dy, activation=activation)
    _compare(ctx, whole, _expected(ctx, x, w1, b1, w2, b2, dy, activation=activation), torch.float64)
    parts = [ctx.call(x[i : i + 1], w1, b1, w2, b2, dy[i : i + 1], activation=activation) for i in range(3)]
    for j, name in enumerate(NAMES):
        summed = torch.cat([p[j] for p in parts]) if j == 0 else sum(p[j] for p in parts)
        try:
            ctx.assert_close(whole[j], summed, dtype=torch.float64, rtol=1e-9, atol=1e-12)
        except Exception as exc:
            if type(exc).__name__ != "CheckFailed":
                raise
            raise type(exc)(f"{name} of the batch is not the sum over its rows: {exc}") from None


_BASE = """
import math
import torch

def mlp_backward(x, w1, b1, w2, b2, dy, activation="relu"):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xf = x.to(work).reshape(-1, x.shape[-1])
    g = dy.to(work).reshape(-1, dy.shape[-1])
    w1, b1, w2 = w1.to(work), b1.to(work), w2.to(work)
    h = xf @ w1 + b1
    if activation == "relu":
        a = torch.relu(h)
        dact = (h > 0).to(work)
    else:
        c = math.sqrt(2.0 / math.pi)
        t = torch.tanh(c * (h + 0.044715 * h**3))
        a = 0.5 * h * (1 + t)
        dact = 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * c * (1 + 3 * 0.044715 * h * h)
    dw2 = a.T @ g
    db2 = g.sum(0)
    dh = (g @ w2.T) * dact
    dw1 = xf.T @ dh
    db1 = dh.sum(0)
    dx = (dh @ w1.T).reshape(x.shape)
    return tuple(t.to(x.dtype) for t in (dx, dw1, db1, dw2, db2))
"""

WRONG_ANSWERS = {
    "ReLU's derivative taken from the second layer's output y > 0": edited(
        _BASE, ("dact = (h > 0).to(work)", "dact = ((torch.relu(h) @ w2 + b2.to(work)) > 0).to(work)")
    ),
    "ReLU's derivative is 1 at h = 0 (h >= 0)": edited(_BASE, ("dact = (h > 0).to(work)", "dact = (h >= 0).to(work)")),
    "GELU's derivative evaluated at the activation a instead of at h": edited(
        _BASE,
        (
            "dact = 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * c * (1 + 3 * 0.044715 * h * h)",
            "ta = torch.tanh(c * (a + 0.044715 * a**3))\n"
            "        dact = 0.5 * (1 + ta) + 0.5 * a * (1 - ta * ta) * c * (1 + 3 * 0.044715 * a * a)",
        ),
    ),
    "GELU's derivative without the tanh' term: 0.5 * (1 + tanh(u)) only": edited(
        _BASE, ("dact = 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * c * (1 + 3 * 0.044715 * h * h)", "dact = 0.5 * (1 + t)")
    ),
    "the exact (erf) GELU's derivative for the tanh GELU": edited(
        _BASE,
        (
            "dact = 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * c * (1 + 3 * 0.044715 * h * h)",
            "dact = 0.5 * (1 + torch.erf(h / math.sqrt(2))) + h * torch.exp(-0.5 * h * h) / math.sqrt(2 * math.pi)",
        ),
    ),
    "dx = dh @ w1 (w1 not transposed; raises only when Din != H)": edited(
        _BASE, ("dx = (dh @ w1.T).reshape(x.shape)", "dx = (dh @ w1).reshape(x.shape)")
    ),
    "dw2 = dy^T @ a (transposes swapped: the gradient of w2's transpose)": edited(
        _BASE, ("dw2 = a.T @ g", "dw2 = (g.T @ a).reshape(w2.shape)")
    ),
    "bias gradients averaged over the batch instead of summed": edited(
        _BASE, ("db2 = g.sum(0)", "db2 = g.mean(0)"), ("db1 = dh.sum(0)", "db1 = dh.mean(0)")
    ),
    "db1 from the gradient before the activation (da instead of dh)": edited(
        _BASE, ("db1 = dh.sum(0)", "db1 = (g @ w2.T).sum(0)")
    ),
    "forgets dx (returns zeros: only the weights get gradients)": edited(
        _BASE, ("dx = (dh @ w1.T).reshape(x.shape)", "dx = torch.zeros(x.shape, dtype=work)")
    ),
    "computes in float32 for float64 input": edited(
        _BASE, ("work = torch.float64 if x.dtype == torch.float64 else torch.float32", "work = torch.float32")
    ),
    "recomputes the forward with requires_grad and calls torch.autograd.grad": """
import torch
import torch.nn.functional as F

def mlp_backward(x, w1, b1, w2, b2, dy, activation="relu"):
    with torch.enable_grad():
        leaves = [t.detach().clone().requires_grad_(True) for t in (x, w1, b1, w2, b2)]
        xx, ww1, bb1, ww2, bb2 = leaves
        h = xx @ ww1 + bb1
        a = F.relu(h) if activation == "relu" else F.gelu(h, approximate="tanh")
        return torch.autograd.grad(a @ ww2 + bb2, leaves, dy)
""",
}

ALTERNATIVES = {
    "leading dims kept, einsum, GELU's derivative through sech^2": """
import math
import torch

def mlp_backward(x, w1, b1, w2, b2, dy, activation="relu"):
    dt = x.dtype
    w = torch.float64 if dt == torch.float64 else torch.float32
    x, w1, b1, w2, dy = (t.to(w) for t in (x, w1, b1, w2, dy))
    h = torch.einsum("...i,ih->...h", x, w1) + b1
    if activation == "relu":
        a = torch.where(h > 0, h, torch.zeros_like(h))
        dh = torch.where(h > 0, torch.einsum("...o,ho->...h", dy, w2), torch.zeros_like(h))
    else:
        k = math.sqrt(2.0 / math.pi)
        u = k * (h + 0.044715 * h**3)
        a = 0.5 * h * (1 + torch.tanh(u))
        sech2 = 1.0 / torch.cosh(u) ** 2
        dh = torch.einsum("...o,ho->...h", dy, w2) * (0.5 * (1 + torch.tanh(u)) + 0.5 * h * sech2 * k * (1 + 0.134145 * h * h))
    lead = "".join("abcdefg"[: x.dim() - 1])
    dw2 = torch.einsum(f"{lead}h,{lead}o->ho", a, dy)
    db2 = torch.einsum(f"{lead}o->o", dy)
    dw1 = torch.einsum(f"{lead}i,{lead}h->ih", x, dh)
    db1 = torch.einsum(f"{lead}h->h", dh)
    dx = torch.einsum("...h,ih->...i", dh, w1)
    return dx.to(dt), dw1.to(dt), db1.to(dt), dw2.to(dt), db2.to(dt)
""",
}
