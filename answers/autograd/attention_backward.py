"""autograd.attention_backward — the backward pass of softmax attention by hand: reference, checks,
known-wrong answers.

attention_backward(q, k, v, dout, causal=False, scale=None) -> (dq, dk, dv) for
    S = q @ k^T * scale,  P = softmax(S (causal: j > i set to -inf), dim=-1),  out = P @ v
with scale = 1 / sqrt(D) by default. With dP = dout @ v^T:
    dv = P^T @ dout,  dS = P * (dP - rowsum(dP * P)),  dq = dS @ k * scale,  dk = dS^T @ q * scale.
The reference is that closed form in float64; every check holds it to torch.autograd through
the forward on float64 clones first.

Regimes where implementations diverge, each run every time by `boundary_regimes`:
- Tq != Tk (a transpose swapped raises there) and Tq == Tk (it does not), T = 1, D = 1, Dv != D
  (a scale of 1/sqrt(Dv) shows), leading dims (), (2,), (2, 3);
- causal with T = 1, 5 and 9 (the first row attends to one key; a mask that also hides the
  diagonal leaves it empty); an explicit scale; scores of large magnitude (q, k of scale 4:
  near one-hot rows) and tiny ones (uniform rows);
- float64 computed in float64 (`float64_precision`, rtol 1e-12).
The autograd engine is switched off for `no_autograd` (a @sandboxed driver): the forbidden-call
block blocks ATen operators, and backward() is no operator, so it cannot express this rule.
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited, sandboxed, vjp

NAMES = ("dq", "dk", "dv")


def reference(q, k, v, dout, causal=False, scale=None):
    # q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv), dout (..., Tq, Dv) -> dq, dk, dv; float64 inside
    q64, k64, v64, do64 = q.double(), k.double(), v.double(), dout.double()
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q64 @ k64.transpose(-2, -1) * scale
    if causal:
        tq, tk = s.shape[-2], s.shape[-1]
        s = s.masked_fill(torch.ones(tq, tk, dtype=torch.bool).triu(1), float("-inf"))
    p = torch.exp(s - s.amax(-1, keepdim=True))
    p = p / p.sum(-1, keepdim=True)
    dv = p.transpose(-2, -1) @ do64
    dp = do64 @ v64.transpose(-2, -1)
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    dq = ds @ k64 * scale
    dk = ds.transpose(-2, -1) @ q64 * scale
    return dq.to(q.dtype), dk.to(q.dtype), dv.to(q.dtype)


def _autograd(q, k, v, dout, causal=False, scale=None):
    """torch.autograd through the forward on float64 clones (harness only)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    with torch.enable_grad():
        q64, k64, v64 = (t.detach().double().requires_grad_(True) for t in (q, k, v))
        s = q64 @ k64.transpose(-2, -1) * scale
        if causal:
            s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
        out = torch.softmax(s, dim=-1) @ v64
        return vjp(out, (q64, k64, v64), dout.detach().double())


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
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        ctx.fail("return a tuple (dq, dk, dv)")
    for name, mine, exp in zip(NAMES, got, want):
        # float32: dS cancels (dP - rowsum) and dk, dv sum over queries: errors of about eps32
        # times the largest term, so atol follows the largest expected value
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


def _inputs(ctx, dtype, lead, tq, tk, d, dv, scale=1.0):
    q = ctx.randn(*lead, tq, d, dtype=dtype, scale=scale)
    k = ctx.randn(*lead, tk, d, dtype=dtype, scale=scale)
    v = ctx.randn(*lead, tk, dv, dtype=dtype)
    return q, k, v, ctx.randn(*lead, tq, dv, dtype=dtype)


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
def with_autograd_off(solution, q, k, v, dout, causal=False, scale=None):
    """`attention_backward` run by `_without_autograd`: its result, the tensors saved for a backward, and
    whether a result requires grad."""
    return _without_autograd(solution, q, k, v, dout, causal=causal, scale=scale)


@check(
    "computed by hand: runs with autograd's engine switched off and returns no autograd graph",
    zh="手写实现：关闭 autograd 引擎也能运行，且不返回 autograd 计算图",
    examples=3,
)
def no_autograd(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    args = _inputs(ctx, dtype, (2,), 4, 4, 4, 4)
    got = ctx.run("with_autograd_off", *args, causal=True)
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    _, saved, graph = got
    if saved or graph:
        ctx.fail("built an autograd graph (requires_grad tensors): compute the gradients by hand")


@check(
    "matches autograd (random shapes incl. T = 1 and D = 1, Tq != Tk, causal or not, scale default or given, float32/float64)",
    zh="与 autograd 一致（随机形状，含 T = 1 和 D = 1，Tq != Tk，causal 与否，scale 取默认值或给定值，float32/float64）",
    teaches=["autograd.softmax_vjp"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    lead = ctx.draw(st.lists(st.sampled_from([1, 2, 3]), max_size=2))
    causal = ctx.draw(st.booleans())
    tq = ctx.draw(st.sampled_from([1, 2, 5, 8]))
    tk = tq if causal else ctx.draw(st.sampled_from([1, 3, 5, 8]))
    d, dv = ctx.draw(st.sampled_from([1, 4, 8])), ctx.draw(st.sampled_from([1, 3, 8]))
    args = _inputs(ctx, dtype, lead, tq, tk, d, dv, scale=ctx.draw(st.sampled_from([0.1, 1.0, 2.0])))
    kw = {"causal": True} if causal else ctx.draw(st.sampled_from([{}, {"causal": False}]))
    if ctx.draw(st.booleans()):
        kw["scale"] = ctx.draw(st.sampled_from([0.05, 0.3, 1.0]))
    _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), dtype)


# (leading dims, Tq, Tk, D, Dv, scale of q and k, keyword arguments): every regime of the docstring.
REGIMES = [
    ((), 1, 1, 1, 1, 1.0, {}),  # one query, one key: P = 1
    ((), 3, 5, 4, 2, 1.0, {}),  # Tq != Tk: swapped transposes raise
    ((2,), 4, 4, 4, 4, 1.0, {}),  # square: swapped transposes do not raise
    ((2, 3), 5, 7, 8, 3, 1.0, {}),
    ((), 1, 1, 4, 4, 1.0, {"causal": True}),
    ((2,), 5, 5, 4, 6, 1.0, {"causal": True}),  # Dv != D
    ((2, 2), 9, 9, 8, 8, 1.0, {"causal": True}),
    ((2,), 4, 6, 4, 4, 1.0, {"scale": 0.7}),  # an explicit scale
    ((2,), 5, 5, 4, 4, 1.0, {"causal": True, "scale": 0.25}),
    ((2,), 6, 6, 16, 8, 4.0, {"causal": True}),  # large scores: near one-hot rows
    ((2,), 6, 6, 16, 8, 1e-3, {}),  # tiny scores: uniform rows
]


@check(
    "boundary regimes, every run: T = 1, Tq != Tk, square, Dv != D, (2, 3) leading dims, causal T = 1/5/9, "
    "explicit scale, near one-hot and uniform rows",
    zh="每次都测的边界情形：T = 1，Tq != Tk，方阵，Dv != D，前导维度 (2, 3)，causal 且 T = 1/5/9，显式给定 scale，接近 one-hot 和均匀的行",
    examples=1,
    teaches=["autograd.softmax_vjp"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for lead, tq, tk, d, dv, scale, kw in REGIMES:
            args = _inputs(ctx, dtype, lead, tq, tk, d, dv, scale)
            _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), dtype)


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32 就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    args = _inputs(ctx, torch.float64, (2,), 16, 16, 32, 16)
    kw = {"causal": ctx.draw(st.booleans())}
    _compare(ctx, ctx.call(*args, **kw), _expected(ctx, *args, **kw), torch.float64, rtol=FLOAT64_RTOL)


@check(
    "property: under the causal mask only the last query sees the last key, so its dk and dv equal that query's alone",
    zh="性质：在因果掩码下只有最后一个 query 能看到最后一个 key，所以该 key 的 dk 和 dv 只来自这个 query",
    teaches=["attention.causal_mask_before_softmax"],
)
def properties(ctx):
    t = ctx.draw(st.sampled_from([3, 6]))
    q, k, v, dout = _inputs(ctx, torch.float64, (2,), t, t, 4, 4)
    dq, dk, dv = ctx.call(q, k, v, dout, causal=True)
    _compare(ctx, (dq, dk, dv), _expected(ctx, q, k, v, dout, causal=True), torch.float64)
    _, dk1, dv1 = ctx.call(q[:, -1:], k, v, dout[:, -1:])
    ctx.assert_close(dk[:, -1], dk1[:, -1], dtype=torch.float64, rtol=1e-9, atol=1e-12)
    ctx.assert_close(dv[:, -1], dv1[:, -1], dtype=torch.float64, rtol=1e-9, atol=1e-12)


_BASE = """
import math
import torch

def attention_backward(q, k, v, dout, causal=False, scale=None):
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    q, k, v, do = q.to(work), k.to(work), v.to(work), dout.to(work)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    s = q @ k.transpose(-2, -1) * scale
    if causal:
        mask = torch.ones(s.shape[-2], s.shape[-1], dtype=torch.bool).triu(1)
        s = s.masked_fill(mask, float("-inf"))
    p = torch.exp(s - s.amax(dim=-1, keepdim=True))
    p = p / p.sum(dim=-1, keepdim=True)
    dv = p.transpose(-2, -1) @ do
    dp = do @ v.transpose(-2, -1)
    ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True))
    dq = ds @ k * scale
    dk = ds.transpose(-2, -1) @ q * scale
    return dq.to(dout.dtype), dk.to(dout.dtype), dv.to(dout.dtype)
"""

WRONG_ANSWERS = {
    "forgets the scale in dq and dk": edited(
        _BASE, ("dq = ds @ k * scale", "dq = ds @ k"), ("dk = ds.transpose(-2, -1) @ q * scale", "dk = ds.transpose(-2, -1) @ q")
    ),
    "softmax backward without the row-sum term: dS = P * dP": edited(
        _BASE, ("ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True))", "ds = p * dp")
    ),
    "row sum over the query axis (dim=-2)": edited(
        _BASE, ("(dp * p).sum(dim=-1, keepdim=True)", "(dp * p).sum(dim=-2, keepdim=True)")
    ),
    "dk = dS @ q (the transpose of dS forgotten; raises only when Tq != Tk)": edited(
        _BASE, ("dk = ds.transpose(-2, -1) @ q * scale", "dk = ds @ q * scale")
    ),
    "dv = P @ dout (P not transposed)": edited(_BASE, ("dv = p.transpose(-2, -1) @ do", "dv = p @ do")),
    "dv from the unnormalised scores exp(S - max)": edited(
        _BASE,
        (
            "p = p / p.sum(dim=-1, keepdim=True)\n    dv = p.transpose(-2, -1) @ do",
            "dv = p.transpose(-2, -1) @ do\n    p = p / p.sum(dim=-1, keepdim=True)",
        ),
    ),
    "the backward recomputes P without the causal mask": edited(
        _BASE, ('        s = s.masked_fill(mask, float("-inf"))\n', "        pass\n")
    ),
    "the causal mask also hides the diagonal (triu(0): the first query sees no key)": edited(_BASE, (".triu(1)", ".triu(0)")),
    "scale 1 / sqrt(Dv) (v's width) instead of 1 / sqrt(D)": edited(
        _BASE, ("scale = 1.0 / math.sqrt(q.shape[-1])", "scale = 1.0 / math.sqrt(v.shape[-1])")
    ),
    "ignores the scale argument (always 1 / sqrt(D))": edited(
        _BASE, ("    if scale is None:\n        scale = 1.0", "    if True:\n        scale = 1.0")
    ),
    "computes in float32 for float64 input": edited(
        _BASE, ("work = torch.float64 if q.dtype == torch.float64 else torch.float32", "work = torch.float32")
    ),
    "recomputes the forward with requires_grad and calls torch.autograd.grad": """
import math
import torch

def attention_backward(q, k, v, dout, causal=False, scale=None):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    with torch.enable_grad():
        q, k, v = (t.detach().clone().requires_grad_(True) for t in (q, k, v))
        s = q @ k.transpose(-2, -1) * scale
        if causal:
            s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
        out = torch.softmax(s, dim=-1) @ v
        return torch.autograd.grad(out, (q, k, v), dout)
""",
}

ALTERNATIVES = {
    "FlashAttention-2's form: Delta = rowsum(dout * out), einsum, the mask as a bias": """
import math
import torch

def attention_backward(q, k, v, dout, causal=False, scale=None):
    dt = q.dtype
    w = torch.float64 if dt == torch.float64 else torch.float32
    q, k, v, do = (t.to(w) for t in (q, k, v, dout))
    c = scale if scale is not None else q.shape[-1] ** -0.5
    s = torch.einsum("...id,...jd->...ij", q, k) * c
    if causal:
        i = torch.arange(s.shape[-2]).unsqueeze(-1)
        j = torch.arange(s.shape[-1])
        s = s + torch.where(j > i, float("-inf"), 0.0).to(w)
    lse = s.amax(-1, keepdim=True)
    lse = lse + torch.log(torch.exp(s - lse).sum(-1, keepdim=True))
    p = torch.exp(s - lse)
    out = torch.einsum("...ij,...jd->...id", p, v)
    delta = (do * out).sum(-1, keepdim=True)  # = rowsum(dP * P)
    dp = torch.einsum("...id,...jd->...ij", do, v)
    ds = p * (dp - delta)
    dq = torch.einsum("...ij,...jd->...id", ds, k) * c
    dk = torch.einsum("...ij,...id->...jd", ds, q) * c
    dv = torch.einsum("...ij,...id->...jd", p, do)
    return dq.to(dt), dk.to(dt), dv.to(dt)
""",
}
