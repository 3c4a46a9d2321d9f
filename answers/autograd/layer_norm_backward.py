"""autograd.layer_norm_backward — LayerNorm's backward pass by hand: reference, checks, known-wrong answers.

layer_norm_backward(x, weight, dy, eps=1e-5) -> (dx, dweight, dbias) for y = LayerNorm(x) * weight +
bias over the last dim (biased variance, eps inside the square root). With xhat = (x - mean) * rstd,
rstd = 1 / sqrt(var + eps) and g = dy * weight:
    dx      = rstd * (g - mean(g) - xhat * mean(g * xhat))     (means over the last dim)
    dweight = sum of dy * xhat over every leading dim
    dbias   = sum of dy over every leading dim
The reference is that closed form in float64; every check holds it to torch.autograd through
F.layer_norm on float64 clones first.

Regimes where implementations diverge, each run every time by `boundary_regimes`:
- D = 1 (xhat = 0: dx = 0, dweight = 0), D = 2, D = 1000; x 1-D (dweight not summed), 2-D and 3-D
  (dweight and dbias summed over both leading dims);
- rows of 1e-3 (var ~ 1e-6, near eps: eps outside the square root shows), a constant row (var = 0),
  rows of mean 100 and spread 1 (float32), eps = 0.1;
- float64 computed in float64 (`float64_precision`, rtol 1e-12).
The autograd engine is switched off for `no_autograd` (a @sandboxed driver): the forbidden-call
block blocks ATen operators, and backward() is no operator, so it cannot express this rule.
"""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited, sandboxed, vjp

NAMES = ("dx", "dweight", "dbias")


def reference(x, weight, dy, eps=1e-5):
    # x, dy (..., D), weight (D,) -> dx (..., D), dweight (D,), dbias (D,); float64 inside
    x64, w64, dy64 = x.double(), weight.double(), dy.double()
    mean = x64.mean(-1, keepdim=True)
    rstd = torch.rsqrt((x64 - mean).pow(2).mean(-1, keepdim=True) + eps)
    xhat = (x64 - mean) * rstd
    g = dy64 * w64
    dx = rstd * (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True))
    lead = tuple(range(x.dim() - 1))
    dweight = (dy64 * xhat).sum(lead) if lead else dy64 * xhat
    dbias = dy64.sum(lead) if lead else dy64.clone()
    return dx.to(x.dtype), dweight.to(x.dtype), dbias.to(x.dtype)


def _autograd(x, weight, dy, eps=1e-5):
    """torch.autograd through F.layer_norm on float64 clones (harness only)."""
    with torch.enable_grad():
        x64 = x.detach().double().requires_grad_(True)
        w64 = weight.detach().double().requires_grad_(True)
        b64 = torch.zeros_like(w64, requires_grad=True)
        y = F.layer_norm(x64, (x.shape[-1],), w64, b64, eps)
        return vjp(y, (x64, w64, b64), dy.detach().double())


def _expected(ctx, x, weight, dy, **kw):
    """The reference's gradients, held to float64 autograd first (a disagreement is a bank bug)."""
    want = ctx.reference(x, weight, dy, **kw)
    for name, mine, auto in zip(NAMES, want, _autograd(x, weight, dy, **kw)):
        if not torch.allclose(mine, auto, rtol=1e-8, atol=1e-10 * max(1.0, float(auto.abs().max()))):
            raise AnswerModuleBug(
                f"the reference's {name} differs from float64 autograd by {float((mine - auto).abs().max()):.3g}"
            )
    return want


DTYPES = [torch.float32, torch.float64]
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error over a row


def _compare(ctx, got, want, dtype, rtol=None):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        ctx.fail("return a tuple (dx, dweight, dbias)")
    for name, mine, exp in zip(NAMES, got, want):
        # float32: dx cancels (g - mean(g) - ...) and dweight sums N rows: errors of about
        # eps32 times the largest term, so atol follows the largest expected value
        if dtype == torch.float32:
            tol = {"rtol": 1e-4, "atol": 2e-5 * max(1.0, float(exp.abs().max()))}
        else:
            tol = {"rtol": rtol or 1e-7, "atol": (rtol or 1e-9) * max(1.0, float(exp.abs().max()))}
        try:
            ctx.assert_close(mine, exp, dtype=dtype, **tol)
        except Exception as exc:  # say which of the three
            if type(exc).__name__ != "CheckFailed":
                raise
            raise type(exc)(f"{name}: {exc}") from None


def _inputs(ctx, dtype, shape, scale=1.0, offset=0.0):
    x = (ctx.randn(*shape, dtype=torch.float64, scale=scale) + offset).to(dtype)
    weight = (1 + ctx.randn(shape[-1], dtype=torch.float64) * 0.5).to(dtype)
    return x, weight, ctx.randn(*shape, dtype=dtype)


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
def with_autograd_off(solution, x, weight, dy, eps=1e-5):
    """`layer_norm_backward` run by `_without_autograd`: its result, the tensors saved for a backward, and
    whether a result requires grad."""
    return _without_autograd(solution, x, weight, dy, eps=eps)


@check(
    "computed by hand: runs with autograd's engine switched off and returns no autograd graph",
    zh="手写实现：关闭 autograd 引擎也能运行，且不返回 autograd 计算图",
    examples=3,
)
def no_autograd(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    x, weight, dy = _inputs(ctx, dtype, (3, 5))
    got = ctx.run("with_autograd_off", x, weight, dy)
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    _, saved, graph = got
    if saved or graph:
        ctx.fail("built an autograd graph (requires_grad tensors): compute the gradients by hand")


@check(
    "matches autograd (random shapes incl. size 1, float32/float64, small and large rows, eps default and not)",
    zh="与 autograd 一致（随机形状，含大小为 1 的维度，float32/float64，行值小和大，eps 默认和非默认）",
    teaches=["autograd.layer_norm_backward_formula"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    lead = ctx.draw(st.lists(st.sampled_from([1, 2, 3, 5]), max_size=2))
    d = ctx.draw(st.sampled_from([1, 2, 3, 5, 8, 17]))
    x, weight, dy = _inputs(ctx, dtype, (*lead, d), scale=ctx.draw(st.sampled_from([0.01, 1.0, 30.0])))
    kw = ctx.draw(st.sampled_from([{}, {"eps": 1e-6}, {"eps": 0.1}]))  # {}: eps at its default
    _compare(ctx, ctx.call(x, weight, dy, **kw), _expected(ctx, x, weight, dy, **kw), dtype)


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32 就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    x, weight, dy = _inputs(ctx, torch.float64, (3, ctx.draw(st.sampled_from([33, 200]))), scale=2.0)
    _compare(ctx, ctx.call(x, weight, dy), _expected(ctx, x, weight, dy), torch.float64, rtol=FLOAT64_RTOL)


# (shape, scale of x, offset of x, keyword arguments): every regime of the module docstring.
REGIMES = [
    ((4, 1), 1.0, 0.0, {}),  # D = 1: xhat = 0
    ((3, 2), 1.0, 0.0, {}),
    ((7,), 1.0, 0.0, {}),  # 1-D: dweight = dy * xhat, not summed
    ((2, 3, 5), 1.0, 0.0, {}),  # 3-D: sums over both leading dims
    ((1, 1, 6), 1.0, 0.0, {}),
    ((2, 1000), 1.0, 0.0, {}),  # a long row
    ((4, 16), 1e-3, 0.0, {}),  # var ~ 1e-6, near eps
    ((3, 8), 1.0, 100.0, {}),  # mean 100, spread 1
    ((3, 8), 1.0, 0.0, {"eps": 0.1}),
]


@check(
    "boundary regimes, every run: D = 1, 2, 1000; 1-D, 2-D, 3-D x; rows of 1e-3, a constant row, rows of mean 100; eps 0.1",
    zh="每次都测的边界情形：D = 1、2、1000；1-D、2-D、3-D 的 x；1e-3 的行，常数行，均值为 100 的行；eps 0.1",
    examples=1,
    teaches=["autograd.layer_norm_backward_formula"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for shape, scale, offset, kw in REGIMES:
            x, weight, dy = _inputs(ctx, dtype, shape, scale, offset)
            _compare(ctx, ctx.call(x, weight, dy, **kw), _expected(ctx, x, weight, dy, **kw), dtype)
        x, weight, dy = _inputs(ctx, dtype, (3, 6))
        x[1] = 2.5  # a constant row: var = 0, rstd = 1 / sqrt(eps)
        _compare(ctx, ctx.call(x, weight, dy), _expected(ctx, x, weight, dy), dtype)


@check(
    "properties: each row of dx sums to 0; dbias is the sum of dy over the leading dims",
    zh="性质：dx 的每一行求和为 0；dbias 是 dy 在前导维度上的和",
    teaches=["autograd.layer_norm_backward_formula"],
)
def properties(ctx):
    lead = ctx.draw(st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=2))
    x, weight, dy = _inputs(ctx, torch.float64, (*lead, ctx.draw(st.sampled_from([3, 8]))))
    got = ctx.call(x, weight, dy)
    _compare(ctx, got, _expected(ctx, x, weight, dy), torch.float64)
    dx = got[0]
    ctx.assert_close(dx.sum(-1), torch.zeros(lead, dtype=torch.float64), dtype=torch.float64, rtol=0.0, atol=1e-10)
    ctx.assert_close(got[2], dy.reshape(-1, dy.shape[-1]).sum(0), dtype=torch.float64, rtol=1e-12, atol=1e-12)


_BASE = """
import torch

def layer_norm_backward(x, weight, dy, eps=1e-5):
    xf, w, g0 = (x.float(), weight.float(), dy.float()) if x.dtype != torch.float64 else (x, weight, dy)
    mean = xf.mean(-1, keepdim=True)
    var = ((xf - mean) ** 2).mean(-1, keepdim=True)
    rstd = 1.0 / torch.sqrt(var + eps)
    xhat = (xf - mean) * rstd
    g = g0 * w
    dx = rstd * (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True))
    d = x.shape[-1]
    dweight = (g0 * xhat).reshape(-1, d).sum(0)
    dbias = g0.reshape(-1, d).sum(0)
    return dx.to(x.dtype), dweight.to(x.dtype), dbias.to(x.dtype)
"""

WRONG_ANSWERS = {
    "mean and variance treated as constants: dx = dy * weight * rstd": edited(
        _BASE,
        (
            "dx = rstd * (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True))",
            "dx = rstd * g",
        ),
    ),
    "variance treated as a constant (only the mean's path): dx = rstd * (g - mean(g))": edited(
        _BASE, (" - xhat * (g * xhat).mean(-1, keepdim=True))", ")")
    ),
    "unbiased variance (divides by D - 1)": edited(
        _BASE, ("var = ((xf - mean) ** 2).mean(-1, keepdim=True)", "var = xf.var(-1, keepdim=True)")
    ),
    "eps outside the square root: 1 / (std + eps)": edited(
        _BASE, ("rstd = 1.0 / torch.sqrt(var + eps)", "rstd = 1.0 / (torch.sqrt(var) + eps)")
    ),
    "dweight summed over dim 0 only (right for 2-D x only)": edited(
        _BASE, ("dweight = (g0 * xhat).reshape(-1, d).sum(0)", "dweight = (g0 * xhat).sum(dim=0)")
    ),
    "sums over dim=tuple(range(x.dim() - 1)) (for 1-D x that is dim=(), which sums everything)": edited(
        _BASE,
        ("dweight = (g0 * xhat).reshape(-1, d).sum(0)", "dweight = (g0 * xhat).sum(dim=tuple(range(x.dim() - 1)))"),
        ("dbias = g0.reshape(-1, d).sum(0)", "dbias = g0.sum(dim=tuple(range(x.dim() - 1)))"),
    ),
    "dbias summed over the last dim instead of the leading ones": edited(
        _BASE, ("dbias = g0.reshape(-1, d).sum(0)", "dbias = g0.sum(dim=-1)")
    ),
    "sums instead of means in dx (the 1/D factors missing)": edited(
        _BASE,
        (
            "g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True)",
            "g - g.sum(-1, keepdim=True) - xhat * (g * xhat).sum(-1, keepdim=True)",
        ),
    ),
    "dx from dy, forgetting the weight (g = dy)": edited(_BASE, ("g = g0 * w", "g = g0")),
    "dweight from dy * weight * xhat (the weight counted twice)": edited(
        _BASE, ("dweight = (g0 * xhat)", "dweight = (g * xhat)")
    ),
    "computes in float32 for float64 input": edited(
        _BASE,
        (
            "(x.float(), weight.float(), dy.float()) if x.dtype != torch.float64 else (x, weight, dy)",
            "(x.float(), weight.float(), dy.float())",
        ),
    ),
    "centres x in place": edited(
        _BASE,
        (
            "xhat = (xf - mean) * rstd",
            "xf.sub_(mean)\n    xhat = xf * rstd",
        ),
    ),
    "recomputes the forward with requires_grad and calls torch.autograd.grad": """
import torch
import torch.nn.functional as F

def layer_norm_backward(x, weight, dy, eps=1e-5):
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)
        wg = weight.detach().clone().requires_grad_(True)
        bg = torch.zeros_like(wg, requires_grad=True)
        y = F.layer_norm(xg, (x.shape[-1],), wg, bg, eps)
        dx, dw, db = torch.autograd.grad(y, (xg, wg, bg), dy)
    return dx, dw, db
""",
}

ALTERNATIVES = {
    "step by step through the graph (Karpathy's backprop-ninja order: dxhat, dvar, dmean)": """
import torch

def layer_norm_backward(x, weight, dy, eps=1e-5):
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    x, w, dy_w = x.to(work), weight.to(work), dy.to(work)
    n = x.shape[-1]
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    var = (xc * xc).sum(-1, keepdim=True) / n
    inv = (var + eps) ** -0.5
    xhat = xc * inv
    dxhat = dy_w * w
    dvar = (dxhat * xc).sum(-1, keepdim=True) * -0.5 * inv**3
    dmu = -(dxhat * inv).sum(-1, keepdim=True) + dvar * (-2.0 * xc).sum(-1, keepdim=True) / n
    dx = dxhat * inv + dvar * 2.0 * xc / n + dmu / n
    flat = dy_w.reshape(-1, n)
    dweight = (flat * xhat.reshape(-1, n)).sum(0)
    dbias = flat.sum(0)
    return dx.to(weight.dtype), dweight.to(weight.dtype), dbias.to(weight.dtype)
""",
}
