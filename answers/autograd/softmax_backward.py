"""autograd.softmax_backward — the gradient of softmax by hand: reference, checks, known-wrong answers.

softmax_backward(y, dy, dim=-1): y = softmax(x, dim) and dy = dL/dy, both of the same shape; returns
dx = dL/dx = y * (dy - sum(dy * y, dim, keepdim=True)) in y's dtype. The reference is that closed form
in float64; every check holds it to torch.autograd on float64 clones first (softmax(log y) is y
again, so autograd differentiates the same softmax).

Regimes where implementations diverge, each run every time by `boundary_regimes`:
- 1-D y (N = 1: dx is 0; N = 7), 2-D with dim = -1, 0 and 1, a square (4, 4) y (a sum without
  keepdim broadcasts along the wrong axis there instead of raising), 3-D with dim = 1;
- saturated rows (one-hot y, logits of scale 30), y with exact zeros, dy of 1e4 and 1e-4;
- float64 computed in float64 (`float64_precision`, rtol 1e-12).
The autograd engine is switched off for `no_autograd` (a @sandboxed driver): the forbidden-call
block blocks ATen operators, and backward() is no operator, so it cannot express this rule.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited, sandboxed, vjp


def reference(y, dy, dim=-1):
    # y, dy (...) -> dx (...), computed in float64, returned in y's dtype
    y64, dy64 = y.double(), dy.double()
    dx = y64 * (dy64 - (dy64 * y64).sum(dim=dim, keepdim=True))
    return dx.to(y.dtype)


def _autograd(y, dy, dim=-1):
    """torch.autograd on float64 clones (harness only): softmax(log y) is y again, rows summing to 1."""
    with torch.enable_grad():
        x = torch.log(y.detach().double()).requires_grad_(True)
        (dx,) = vjp(torch.softmax(x, dim=dim), (x,), dy.detach().double())
    return dx


def _expected(ctx, y, dy, **kw):
    """The reference's dx, held to float64 autograd first (a disagreement is a bank bug)."""
    want = ctx.reference(y, dy, **kw)
    auto = _autograd(y, dy, **kw)
    # float32 rows sum to 1 only within ~1e-7, and autograd differentiates y / sum(y): allow that
    off = float((y.double().sum(kw.get("dim", -1)) - 1).abs().max()) if y.numel() else 0.0
    if not torch.allclose(want, auto, rtol=1e-9, atol=(1e-12 + 4 * off) * max(1.0, float(dy.abs().max()))):
        raise AnswerModuleBug(f"the reference differs from float64 autograd by {float((want - auto).abs().max()):.3g}")
    return want


DTYPES = [torch.float32, torch.float64]
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error over a row


def _softmax(logits, dim):
    # the y a caller has: softmax of logits, rounded once to the dtype
    return torch.softmax(logits.double(), dim=dim).to(logits.dtype)


def _inputs(ctx, dtype, shape, dim, scale=1.0, dy_scale=1.0):
    y = _softmax(ctx.randn(*shape, dtype=dtype, scale=scale), dim)
    return y, ctx.randn(*shape, dtype=dtype, scale=dy_scale)


def _tol(dtype, dy):
    # float32: dx = y * (dy - s) cancels when dy_i is near s; the error is about eps * |dy|
    if dtype == torch.float32:
        return {"rtol": 1e-4, "atol": 1e-5 * max(1.0, float(dy.abs().max()))}
    return {"rtol": 1e-6, "atol": 1e-9 * max(1.0, float(dy.abs().max()))}


SHAPES = st.lists(st.sampled_from([1, 2, 3, 5, 8]), min_size=1, max_size=3)


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
def with_autograd_off(solution, y, dy, dim=-1):
    """`softmax_backward` run by `_without_autograd`: its result, the tensors saved for a backward, and
    whether a result requires grad."""
    return _without_autograd(solution, y, dy, dim=dim)


@check(
    "computed by hand: runs with autograd's engine switched off and returns no autograd graph",
    zh="手写实现：关闭 autograd 引擎也能运行，且不返回计算图",
    examples=3,
)
def no_autograd(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    y, dy = _inputs(ctx, dtype, (3, 5), -1)
    got = ctx.run("with_autograd_off", y, dy)
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    _, saved, graph = got
    if saved or graph:
        ctx.fail("built an autograd graph (requires_grad tensors): compute dx by hand from y and dy")


@check(
    "matches autograd (random shapes incl. size 1, any dim, float32/float64, flat and peaked softmax)",
    zh="与 autograd 一致（随机形状，含大小为 1 的维度，任意 dim，float32/float64，平坦和尖峰的 softmax）",
    teaches=["autograd.softmax_vjp"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    shape = ctx.draw(SHAPES)
    dim = ctx.draw(st.integers(-len(shape), len(shape) - 1))
    scale = ctx.draw(st.sampled_from([0.1, 1.0, 5.0]))
    y, dy = _inputs(ctx, dtype, shape, dim, scale)
    kw = {} if dim == -1 and ctx.draw(st.booleans()) else {"dim": dim}  # {}: dim at its default
    ctx.assert_close(ctx.call(y, dy, **kw), _expected(ctx, y, dy, **kw), dtype=dtype, **_tol(dtype, dy))


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32 就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    y, dy = _inputs(ctx, torch.float64, (3, ctx.draw(st.sampled_from([33, 200]))), -1, 2.0)
    ctx.assert_close(ctx.call(y, dy), _expected(ctx, y, dy), dtype=torch.float64, rtol=FLOAT64_RTOL, atol=1e-15)


# (shape, dim, logit scale, dy scale): every regime of the module docstring.
REGIMES = [
    ((1,), -1, 1.0, 1.0),  # N = 1: y = 1 and dx = 0
    ((7,), -1, 1.0, 1.0),
    ((7,), 0, 1.0, 1.0),
    ((3, 5), -1, 1.0, 1.0),
    ((3, 5), 0, 1.0, 1.0),  # a sum over the last dim shows
    ((3, 5), 1, 1.0, 1.0),  # dim given as a positive number
    ((4, 4), -1, 1.0, 1.0),  # square: a sum without keepdim broadcasts silently
    ((4, 4), 0, 1.0, 1.0),
    ((2, 3, 5), 1, 1.0, 1.0),  # a middle dim
    ((2, 6), -1, 30.0, 1.0),  # saturated: y near one-hot
    ((3, 5), -1, 1.0, 1e4),  # large upstream gradients
    ((3, 5), -1, 1.0, 1e-4),
]


@check(
    "boundary regimes, every run: N = 1, 1-D, 2-D over dim 0/1/-1, a square y, a middle dim, saturated rows, "
    "y with exact zeros, dy of 1e4 and 1e-4",
    zh="每次都测的边界情形：N = 1，1-D，2-D 在 dim 0/1/-1 上，方阵 y，中间的 dim，饱和的行，含精确零的 y，dy 为 1e4 和 1e-4",
    examples=1,
    teaches=["autograd.softmax_vjp"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for shape, dim, scale, dy_scale in REGIMES:
            y, dy = _inputs(ctx, dtype, shape, dim, scale, dy_scale)
            ctx.assert_close(ctx.call(y, dy, dim=dim), _expected(ctx, y, dy, dim=dim), dtype=dtype, **_tol(dtype, dy))
        # exact zeros in y (a masked position): its gradient is exactly 0
        y = _softmax(torch.tensor([[0.0, -torch.inf, 1.0, 2.0], [-torch.inf, 0.5, -torch.inf, 0.0]], dtype=dtype), -1)
        dy = ctx.randn(2, 4, dtype=dtype)
        ctx.assert_close(ctx.call(y, dy), _expected(ctx, y, dy), dtype=dtype, **_tol(dtype, dy))


@check(
    "properties: dx sums to 0 along dim; adding a constant to dy along dim changes nothing",
    zh="性质：dx 沿 dim 求和为 0；dy 沿 dim 加上一个常数，结果不变",
    teaches=["autograd.softmax_vjp"],
)
def invariances(ctx):
    dtype = torch.float64
    shape = ctx.draw(st.lists(st.sampled_from([2, 3, 5]), min_size=1, max_size=3))
    dim = ctx.draw(st.integers(-len(shape), len(shape) - 1))
    y, dy = _inputs(ctx, dtype, shape, dim)
    dx = ctx.call(y, dy, dim=dim)
    ctx.assert_close(dx, _expected(ctx, y, dy, dim=dim), dtype=dtype)
    ctx.assert_close(dx.sum(dim), torch.zeros_like(dx.sum(dim)), dtype=dtype, rtol=0.0, atol=1e-12)
    shift = ctx.randn(*[1 if i == dim % len(shape) else n for i, n in enumerate(shape)], dtype=dtype, scale=3.0)
    ctx.assert_close(ctx.call(y, dy + shift, dim=dim), dx, dtype=dtype, rtol=1e-9, atol=1e-9)


_BASE = """
import torch

def softmax_backward(y, dy, dim=-1):
    s = (dy * y).sum(dim=dim, keepdim=True)
    return y * (dy - s)
"""

WRONG_ANSWERS = {
    "dy * y only (the -y * sum(dy * y) term of the Jacobian is missing)": edited(_BASE, ("return y * (dy - s)", "return y * dy")),
    "sum of dy instead of sum of dy * y": edited(_BASE, ("s = (dy * y).sum", "s = dy.sum")),
    "sign error: y * (sum - dy)": edited(_BASE, ("return y * (dy - s)", "return y * (s - dy)")),
    "sums over the last dim whatever `dim` is": edited(_BASE, ("sum(dim=dim, keepdim=True)", "sum(dim=-1, keepdim=True)")),
    "sums over dim 0 whatever `dim` is": edited(_BASE, ("sum(dim=dim, keepdim=True)", "sum(dim=0, keepdim=True)")),
    "sum without keepdim (broadcasts along the wrong axis, or raises)": edited(
        _BASE, ("sum(dim=dim, keepdim=True)", "sum(dim=dim)")
    ),
    "the full Jacobian diag(y) - y y^T of the flattened tensor (right for 1-D only)": """
import torch

def softmax_backward(y, dy, dim=-1):
    yf, gf = y.reshape(-1), dy.reshape(-1)
    jac = torch.diag(yf) - torch.outer(yf, yf)
    return (jac @ gf).reshape(y.shape)
""",
    "computes in float32 for float64 input": """
import torch

def softmax_backward(y, dy, dim=-1):
    yf, gf = y.float(), dy.float()
    return (yf * (gf - (gf * yf).sum(dim=dim, keepdim=True))).to(y.dtype)
""",
    "upcasts to float64 and forgets to cast back": edited(
        _BASE, ("s = (dy * y).sum", "y, dy = y.double(), dy.double()\n    s = (dy * y).sum")
    ),
    "subtracts in place from the caller's dy": edited(_BASE, ("return y * (dy - s)", "return y * dy.sub_(s)")),
    "recomputes softmax(log y) and asks torch.autograd for the gradient": """
import torch

def softmax_backward(y, dy, dim=-1):
    with torch.enable_grad():
        x = torch.log(y).detach().requires_grad_(True)
        (dx,) = torch.autograd.grad(torch.softmax(x, dim=dim), x, dy)
    return dx
""",
}

ALTERNATIVES = {
    "the Jacobian diag(y) - y y^T of each row, dim moved last": """
import torch

def softmax_backward(y, dy, dim=-1):
    yl, gl = y.movedim(dim, -1), dy.movedim(dim, -1)
    jac = torch.diag_embed(yl) - yl.unsqueeze(-1) * yl.unsqueeze(-2)  # (..., N, N), symmetric
    dx = (jac @ gl.unsqueeze(-1)).squeeze(-1)
    return dx.movedim(-1, dim)
""",
    "y * dy minus y times its own sum": """
import torch

def softmax_backward(y, dy, dim=-1):
    g = y * dy
    return g - y * g.sum(dim, keepdim=True)
""",
}
