"""autograd.cross_entropy_backward — the gradient of mean cross-entropy with respect to the logits, by
hand: reference, checks, known-wrong answers.

cross_entropy_backward(logits, targets, ignore_index=-100) -> dlogits for
L = F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1), ignore_index=ignore_index) (the
mean over the rows whose target is not ignore_index):
    dlogits[r] = (softmax(logits[r]) - onehot(targets[r])) / n_valid   for a kept row r,
    dlogits[r] = 0                                                     for an ignored row.
The reference is that closed form in float64; every check holds it to torch.autograd through
F.cross_entropy on float64 clones first.

Regimes where implementations diverge, each run every time by `boundary_regimes`:
- ignored rows in every batch (some, all but one), 3-D logits (B, T, C) with a different number of
  kept tokens per sequence (a mean per sequence, then over the batch, differs from the mean over
  all kept tokens);
- ignore_index = 0 and = -1 (an argument that is ignored shows), targets at class C - 1;
- C = 1 (the gradient is 0), C = 2, C = 1000; one row;
- logits of 1e4 (exp overflows: an unstable softmax gives NaN);
- float64 computed in float64 (`float64_precision`, rtol 1e-12).
The autograd engine is switched off for `no_autograd` (a @sandboxed driver): the forbidden-call
block blocks ATen operators, and backward() is no operator, so it cannot express this rule;
F.cross_entropy and F.nll_loss are forbidden through it.
"""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited, sandboxed

FORBIDDEN = ["torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss", "torch.nn.functional.nll_loss", "torch.nn.NLLLoss"]


def reference(logits, targets, ignore_index=-100):
    # logits (..., C), targets int64 (...) -> dlogits (..., C); float64 inside
    z = logits.double()
    p = torch.exp(z - z.amax(-1, keepdim=True))
    p = p / p.sum(-1, keepdim=True)
    keep = targets != ignore_index
    onehot = torch.zeros_like(p)
    onehot[keep] = torch.eye(z.shape[-1], dtype=torch.float64)[targets[keep]]
    d = (p - onehot) * keep.unsqueeze(-1) / keep.sum()
    return d.to(logits.dtype)


def _autograd(logits, targets, ignore_index=-100):
    """torch.autograd through F.cross_entropy on float64 clones (harness only)."""
    with torch.enable_grad():
        z = logits.detach().double().requires_grad_(True)
        loss = F.cross_entropy(z.reshape(-1, z.shape[-1]), targets.reshape(-1), ignore_index=ignore_index)
        (d,) = torch.autograd.grad(loss, z)
    return d


def _expected(ctx, *args, **kw):
    """The reference's gradient, held to float64 autograd first (a disagreement is a bank bug)."""
    want = ctx.reference(*args, **kw)
    auto = _autograd(*args, **kw)
    if not torch.allclose(want, auto, rtol=1e-9, atol=1e-14):
        raise AnswerModuleBug(f"the reference differs from float64 autograd by {float((want - auto).abs().max()):.3g}")
    return want


DTYPES = [torch.float32, torch.float64]
FLOAT64_RTOL = 1e-12  # far below float32's rounding (6e-8), far above float64's error here


def _tol(dtype, targets, ignore_index=-100):
    # entries are at most 1 / n_kept in size; the target's entry, softmax - 1, cancels when the row
    # is confident (float32 keeps about 6e-8 / n_kept of it), so atol is a fraction of 1 / n_kept
    unit = 1.0 / max(int((targets != ignore_index).sum()), 1)
    return {"rtol": 1e-4, "atol": 1e-6 * unit} if dtype == torch.float32 else {"rtol": 1e-7, "atol": 1e-13 * unit}


def _inputs(ctx, dtype, lead, c, scale=1.0, ignore_index=-100, n_ignored=None):
    """Logits and targets with some rows ignored (`n_ignored` of them, else a random number that
    leaves at least one row kept)."""
    logits = ctx.randn(*lead, c, dtype=dtype, scale=scale)
    targets = ctx.randint(0, c, tuple(lead))
    flat = targets.reshape(-1)
    rows = flat.numel()
    if n_ignored is None:
        n_ignored = int(ctx.randint(0, rows, (1,)))  # 0 to rows - 1
    order = torch.randperm(rows, generator=ctx.generator)
    flat[order[:n_ignored]] = ignore_index
    if ignore_index >= 0:  # a class id used as the ignore value: no kept row may have it
        kept = order[n_ignored:]
        flat[kept] = torch.where(flat[kept] == ignore_index, (ignore_index + 1) % c, flat[kept])
    return logits, targets


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
def with_autograd_off(solution, logits, targets, ignore_index=-100):
    """`cross_entropy_backward` run by `_without_autograd`: its result, the tensors saved for a backward, and
    whether a result requires grad."""
    return _without_autograd(solution, logits, targets, ignore_index=ignore_index)


@check(
    "computed by hand: runs with autograd's engine switched off and returns no autograd graph",
    zh="手写实现：关闭 autograd 引擎也能运行，且不返回 autograd 计算图",
    examples=3,
)
def no_autograd(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    logits, targets = _inputs(ctx, dtype, (5,), 4, n_ignored=1)
    got = ctx.run("with_autograd_off", logits, targets)
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    _, saved, graph = got
    if saved or graph:
        ctx.fail("built an autograd graph (requires_grad tensors): compute the gradient by hand")


@check(
    "matches autograd (random shapes incl. one row, 2-D and 3-D logits, ignored rows, float32/float64)",
    zh="与 autograd 一致（随机形状，含只有一行，2-D 和 3-D 的 logits，被忽略的行，float32/float64）",
    teaches=["autograd.cross_entropy_grad", "training.ignore_index_masking"],
)
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    lead = ctx.draw(st.lists(st.sampled_from([1, 2, 3, 5]), min_size=1, max_size=2))
    c = ctx.draw(st.sampled_from([2, 3, 5, 10]))
    logits, targets = _inputs(ctx, dtype, lead, c, scale=ctx.draw(st.sampled_from([0.1, 1.0, 10.0])))
    want = _expected(ctx, logits, targets)
    ctx.assert_close(ctx.call(logits, targets), want, dtype=dtype, **_tol(dtype, targets))


@check(
    "float64 input is computed in float64 (rtol 1e-12: a float32 step fails)",
    zh="float64 输入全程用 float64 计算（rtol 1e-12：有一步用 float32 就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    logits, targets = _inputs(ctx, torch.float64, (6,), 50, scale=3.0, n_ignored=2)
    want = _expected(ctx, logits, targets)
    ctx.assert_close(ctx.call(logits, targets), want, dtype=torch.float64, rtol=FLOAT64_RTOL, atol=1e-15)


# (leading dims, C, scale of the logits, ignore_index, ignored rows): every regime of the docstring.
REGIMES = [
    ((1,), 4, 1.0, -100, 0),  # one row
    ((6,), 4, 1.0, -100, 2),  # some rows ignored
    ((6,), 4, 1.0, -100, 5),  # all but one ignored
    ((5,), 1, 1.0, -100, 1),  # C = 1: the gradient is 0
    ((4,), 2, 1.0, -100, 1),
    ((3,), 1000, 1.0, -100, 1),  # many classes
    ((4,), 6, 1.0, 0, 1),  # class 0 is the ignore value
    ((4,), 6, 1.0, -1, 2),
    ((4,), 5, 1e4, -100, 1),  # exp(1e4) overflows
    ((4,), 5, 30.0, -100, 0),  # confident rows: softmax near one-hot
]


@check(
    "boundary regimes, every run: one row, some and all-but-one rows ignored, C = 1, 2, 1000, ignore_index 0 and -1, "
    "logits of 1e4, (B, T, C) with uneven kept tokens, targets at class C - 1",
    zh="每次都测的边界情形：只有一行，部分行和只剩一行未被忽略，C = 1、2、1000，ignore_index 为 0 和 -1，1e4 的 logits，保留 token 数不均的 (B, T, C)，目标为第 C - 1 类",
    examples=1,
    teaches=["autograd.cross_entropy_grad", "training.ignore_index_masking", "softmax.stable_softmax"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for lead, c, scale, ignore, n_ignored in REGIMES:
            logits, targets = _inputs(ctx, dtype, lead, c, scale, ignore, n_ignored)
            kw = {} if ignore == -100 else {"ignore_index": ignore}
            want = _expected(ctx, logits, targets, **kw)
            ctx.assert_close(ctx.call(logits, targets, **kw), want, dtype=dtype, **_tol(dtype, targets, **kw))
        # (B, T, C): 3 kept tokens in sequence 0, 1 in sequence 1; the last class as a target
        logits = ctx.randn(2, 4, 5, dtype=dtype)
        targets = torch.tensor([[4, 1, -100, 3], [-100, -100, 4, -100]])
        want = _expected(ctx, logits, targets)
        ctx.assert_close(ctx.call(logits, targets), want, dtype=dtype, **_tol(dtype, targets))


@check(
    "properties: each kept row sums to 0; adding a constant to a row of logits changes nothing",
    zh="性质：每个保留的行求和为 0；给一行 logits 加上一个常数，结果不变",
    teaches=["autograd.cross_entropy_grad"],
)
def invariances(ctx):
    lead = ctx.draw(st.lists(st.sampled_from([2, 3]), min_size=1, max_size=2))
    logits, targets = _inputs(ctx, torch.float64, lead, 4)
    got = ctx.call(logits, targets)
    ctx.assert_close(got, _expected(ctx, logits, targets), dtype=torch.float64)
    ctx.assert_close(got.sum(-1), torch.zeros(tuple(lead), dtype=torch.float64), dtype=torch.float64, rtol=0.0, atol=1e-12)
    shift = ctx.randn(*lead, 1, dtype=torch.float64, scale=5.0)
    ctx.assert_close(ctx.call(logits + shift, targets), got, dtype=torch.float64, rtol=1e-9, atol=1e-12)


_BASE = """
import torch

def cross_entropy_backward(logits, targets, ignore_index=-100):
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    z = logits.to(work)
    z = z - z.amax(dim=-1, keepdim=True)
    p = torch.exp(z)
    p = p / p.sum(dim=-1, keepdim=True)
    keep = targets != ignore_index
    safe = torch.where(keep, targets, torch.zeros_like(targets))
    onehot = torch.nn.functional.one_hot(safe, logits.shape[-1]).to(work)
    d = (p - onehot) * keep.unsqueeze(-1).to(work)
    return (d / keep.sum()).to(logits.dtype)
"""

WRONG_ANSWERS = {
    "divides by every row, ignored ones included": edited(_BASE, ("(d / keep.sum())", "(d / keep.numel())")),
    "ignored rows not zeroed (their softmax stays in the gradient)": edited(
        _BASE, ("d = (p - onehot) * keep.unsqueeze(-1).to(work)", "d = p - onehot * keep.unsqueeze(-1).to(work)")
    ),
    "ignored rows treated as class 0 (targets clamped, counted and not zeroed)": edited(
        _BASE,
        ("d = (p - onehot) * keep.unsqueeze(-1).to(work)", "d = p - onehot"),
        ("(d / keep.sum())", "(d / keep.numel())"),
    ),
    "no max subtraction: exp(1e4) overflows to inf and the gradient is NaN": edited(
        _BASE, ("z = z - z.amax(dim=-1, keepdim=True)\n    ", "")
    ),
    "the gradient of the summed loss (the mean's 1 / n_valid missing)": edited(_BASE, ("(d / keep.sum())", "d")),
    "sign error: onehot - softmax": edited(_BASE, ("d = (p - onehot)", "d = (onehot - p)")),
    "mean over each sequence's kept tokens, then over the batch": edited(
        _BASE,
        (
            "return (d / keep.sum()).to(logits.dtype)",
            "if keep.dim() > 1:\n"
            "        per_seq = keep.sum(-1, keepdim=True).clamp(min=1)\n"
            "        n_seq = (keep.sum(-1) > 0).sum()\n"
            "        return (d / per_seq.unsqueeze(-1) / n_seq).to(logits.dtype)\n"
            "    return (d / keep.sum()).to(logits.dtype)",
        ),
    ),
    "softmax over dim 0 (across rows) instead of the classes": edited(
        _BASE,
        ("z = z - z.amax(dim=-1, keepdim=True)", "z = z - z.amax(dim=0, keepdim=True)"),
        ("p = p / p.sum(dim=-1, keepdim=True)", "p = p / p.sum(dim=0, keepdim=True)"),
    ),
    "ignore_index argument not used (always -100)": edited(_BASE, ("keep = targets != ignore_index", "keep = targets != -100")),
    "subtracts the row max from the caller's logits in place": edited(
        _BASE, ("z = z - z.amax(dim=-1, keepdim=True)", "z = z.sub_(z.amax(dim=-1, keepdim=True))")
    ),
    "computes in float32 for float64 input": edited(
        _BASE, ("work = torch.float64 if logits.dtype == torch.float64 else torch.float32", "work = torch.float32")
    ),
    "a loss written with log-softmax, differentiated by torch.autograd": """
import torch

def cross_entropy_backward(logits, targets, ignore_index=-100):
    with torch.enable_grad():
        z = logits.detach().clone().requires_grad_(True)
        logp = z - torch.logsumexp(z, dim=-1, keepdim=True)
        keep = targets != ignore_index
        safe = torch.where(keep, targets, torch.zeros_like(targets))
        picked = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
        loss = -(picked * keep).sum() / keep.sum()
        (d,) = torch.autograd.grad(loss, z)
    return d
""",
}

ALTERNATIVES = {
    "flattened rows, log-sum-exp, the target column subtracted by index": """
import torch

def cross_entropy_backward(logits, targets, ignore_index=-100):
    shape, c = logits.shape, logits.shape[-1]
    w = torch.float64 if logits.dtype == torch.float64 else torch.float32
    z = logits.reshape(-1, c).to(w)
    t = targets.reshape(-1)
    m = z.max(dim=1, keepdim=True).values
    lse = m + torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))
    g = torch.exp(z - lse)
    rows = torch.nonzero(t != ignore_index).squeeze(1)
    g[rows, t[rows]] -= 1.0
    g[t == ignore_index] = 0.0
    return (g / rows.numel()).reshape(shape).to(logits.dtype)
""",
}
