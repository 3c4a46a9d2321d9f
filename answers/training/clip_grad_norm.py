"""training.clip_grad_norm — global-norm gradient clipping, in place: reference, checks, wrong answers.

clip_grad_norm(grads, max_norm): grads a list of tensors of one floating dtype (any shapes), the
gradients of all parameters. total = the L2 norm of all their elements together (sqrt of the sum
of every tensor's squared norm); every tensor is multiplied in place by
min(1, max_norm / (total + 1e-6)); returns total (before clipping) as a 0-dim tensor in the
grads' dtype. Equal to torch.nn.utils.clip_grad_norm_(params, max_norm) (norm_type 2), whose
1e-6 keeps the division finite and leaves the clipped norm just below max_norm.

Regimes where implementations diverge, each run every time by `float64_precision` and
`boundary_regimes` beside the random draws:
- the total against max_norm: far below, exactly equal (0.75, 1.0 with max_norm 1.25: torch still
  scales by 1 - 8e-7, a test `total > max_norm` does not), inside the 1e-6 band, and far above;
- all gradients zero (total 0: 0/0 without the 1e-6), and one zero tensor among others;
- one tensor, a 0-dim tensor, many tensors of mixed ranks (torch.cat of the raw tensors breaks),
  and a long tensor (a sum over only the first block shows);
- float64 gradients computed in float64 (a float32 total leaves errors of 1e-8, below float64's
  default tolerance but far above rtol 1e-12).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited, sandboxed

FORBIDDEN = [
    "torch.nn.utils.clip_grad_norm_",
    "torch.nn.utils.clip_grad_norm",
    "torch.nn.utils.clip_grads_with_norm_",
    "torch.nn.utils.clip_grad.clip_grad_norm_",
    "torch.nn.utils.clip_grad.clip_grads_with_norm_",
]


def reference(grads, max_norm):
    norms = torch.stack([g.norm(2) for g in grads])  # (n_tensors,): each tensor's L2 norm
    total = norms.norm(2)  # () : the norm of everything together
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)  # shrink only, never grow
    for g in grads:
        g.mul_(scale)  # in place, like torch
    return total


@sandboxed
def clip_copies(solution, max_norm, *grads):
    """Run the submission on copies and send back what it returned and what it left in the grads.
    (The tensors as separate arguments, so a failure message lists each one's dtype and shape.)"""
    mine = [g.clone() for g in grads]
    total = solution(mine, max_norm)
    return total, mine


DTYPES = [torch.float32, torch.float64]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-8) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance; but the tie regime needs float64's default (1e-7).
PROPERTY_TOL = {torch.float64: {"rtol": 1e-6, "atol": 1e-6}}
SHAPES = st.lists(st.sampled_from([(), (1,), (3,), (2, 5), (7, 1), (1, 1), (4, 3, 2), (9,)]), min_size=1, max_size=4)
MAX_NORMS = st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0])


def _grads(ctx, dtype, shapes, scales=None):
    return [ctx.randn(*s, dtype=dtype, scale=scales[i] if scales else 1.0) for i, s in enumerate(shapes)]


def _expected(grads, max_norm):
    """The reference on float64 copies: (total, clipped grads)."""
    mine = [g.double().clone() for g in grads]
    total = reference(mine, max_norm)
    return total, mine


def _compare(ctx, got, grads, max_norm, dtype, rtol=None, atol=None):
    if not isinstance(got, tuple) or len(got) != 2:
        ctx.fail("the driver got no result back")
    total, clipped = got
    want_total, want = _expected(grads, max_norm)
    if isinstance(total, torch.Tensor) and total.dim() == 1 and total.numel() == 1:
        ctx.fail(f"returned a tensor of shape {tuple(total.shape)}; return the total norm as a 0-dim tensor")
    ctx.assert_close(total, want_total, dtype=dtype, rtol=rtol, atol=atol)
    clipping = float(want_total) > max_norm
    if clipping and all(torch.equal(a, b) for a, b in zip(clipped, grads)):
        ctx.fail(
            f"the gradients were not changed although their norm {float(want_total):.6g} is above max_norm={max_norm}: "
            "clip them in place (g.mul_(scale)); the caller's optimizer reads those tensors"
        )
    for i, (a, e) in enumerate(zip(clipped, want)):
        if not isinstance(a, torch.Tensor) or a.shape != e.shape:
            ctx.fail(f"grads[{i}] came back as {type(a).__name__}; clip the given tensors in place")
        try:
            ctx.assert_close(a, e, dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:  # say which tensor of the list
            raise CheckFailed(
                f"grads[{i}] after clipping (total norm {float(want_total):.6g}, max_norm {max_norm}): {exc}"
            ) from None


@check(
    "matches the reference: returned norm and clipped grads (1 to 4 tensors, 0-dim to 3-dim, float32/float64, norms below and above max_norm)",
    zh="与参考实现一致：返回的范数和裁剪后的梯度（1 到 4 个张量，0 维到 3 维，float32/float64，范数低于和高于 max_norm）",
    teaches=["training.grad_clipping"],
)
def matches_reference(ctx):
    dtype, shapes, max_norm, level = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), SHAPES, MAX_NORMS, st.sampled_from([0.05, 0.5, 1.0, 3.0]))
    )
    grads = _grads(ctx, dtype, shapes, [level] * len(shapes))
    _compare(ctx, ctx.run("clip_copies", max_norm, *grads), grads, max_norm, dtype)


FLOAT64_RTOL = 1e-12  # far below float32's rounding, far above float64's error here


@check(
    "float64 gradients are computed in float64 (rtol 1e-12: a float32 step such as `.float()` fails)",
    zh="float64 的梯度全程用 float64 计算（rtol 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    n = ctx.draw(st.sampled_from([300, 1000]))
    # Mixed magnitudes over several tensors: a float32 norm or scale is off by ~1e-8 relative.
    grads = [ctx.randn(n, dtype=torch.float64, scale=s) for s in (1e-3, 1.0, 30.0)]
    max_norm = 0.25 * float(torch.cat(grads).norm())  # clipped
    _compare(ctx, ctx.run("clip_copies", max_norm, *grads), grads, max_norm, torch.float64, rtol=FLOAT64_RTOL, atol=0.0)


def _regime_cases(ctx, dtype):
    """(grads, max_norm, held to float64's default tolerance) for every regime of the module docstring."""

    def t(*v):
        return torch.tensor(v, dtype=dtype)

    mixed = [ctx.randn(*shape, dtype=dtype) for shape in [(), (3,), (2, 5), (4, 3, 2), (1,), (7, 1)] * 3]
    long = [ctx.randn(5000, dtype=dtype), ctx.randn(3, dtype=dtype)]
    return [
        ([t(0.75, 1.0)], 1.25, True),  # total exactly max_norm: torch scales by 1.25 / (1.25 + 1e-6)
        ([t(0.75), t(1.0)], 1.25 + 5e-7, True),  # inside the 1e-6 band: still scaled, a hair
        ([t(0.0, 0.0), torch.zeros((), dtype=dtype)], 1.0, False),  # total 0
        ([t(0.0, 0.0), t(3.0, 4.0)], 1.0, False),  # one zero tensor among others, clipped to 1
        ([torch.tensor(-7.0, dtype=dtype)], 2.0, False),  # one 0-dim tensor
        ([t(0.1, -0.2)], 5.0, False),  # far below: unchanged
        (mixed, 1.0, False),  # many tensors of every rank
        (mixed, 1e3, False),
        (long, 3.0, False),  # a long tensor: every block of it counts
    ]


@check(
    "boundary regimes, every run: total equal to max_norm, inside the 1e-6 band, zero; one 0-dim tensor; 18 tensors of mixed ranks; a tensor of 5000",
    zh="每次都测的边界情形：总范数等于 max_norm、在 1e-6 的区间内、为零；一个 0 维张量；18 个不同维数的张量；一个长 5000 的张量",
    examples=1,
    teaches=["training.grad_clipping"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for grads, max_norm, exact in _regime_cases(ctx, dtype):
            # The tie's effect (8e-7 relative) is only visible in float64 at its default tolerance.
            tol = {} if exact else PROPERTY_TOL.get(dtype, {})
            _compare(ctx, ctx.run("clip_copies", max_norm, *grads), grads, max_norm, dtype, **tol)


@check(
    "the norm is global: one large and one small tensor are scaled by the same factor",
    zh="范数是全局的：一个大张量和一个小张量按同一个因子缩放",
    examples=8,
    teaches=["training.grad_clipping"],
)
def global_norm(ctx):
    dtype, shapes, max_norm = ctx.draw(st.tuples(st.sampled_from(DTYPES), SHAPES, MAX_NORMS))
    shapes = [(3,), *shapes]
    scales = [20.0] + [0.01] * (len(shapes) - 1)  # the first dominates the total; the rest are tiny
    grads = _grads(ctx, dtype, shapes, scales)
    _compare(ctx, ctx.run("clip_copies", max_norm, *grads), grads, max_norm, dtype, **PROPERTY_TOL.get(dtype, {}))


@check(
    "equals torch.nn.utils.clip_grad_norm_ on the same gradients, including its 1e-6 (float64, total norm 2)",
    zh="在相同梯度上等于 torch.nn.utils.clip_grad_norm_，包括它的 1e-6（float64，总范数 2）",
    teaches=["training.grad_clipping"],
)
def equals_torch(ctx):
    shapes, ratio = ctx.draw(st.tuples(SHAPES, st.sampled_from([1.5, 2.0, 4.0, 0.5])))
    grads = _grads(ctx, torch.float64, shapes)
    total = float(torch.stack([g.norm() for g in grads]).norm())
    # totals of order 1 so the 1e-6 is ~1e-6 relative: far above float64 rounding
    scale = 2.0 / max(total, 1e-3)
    grads = [g * scale for g in grads]
    max_norm = 2.0 / ratio
    got = ctx.run("clip_copies", max_norm, *grads)
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch_total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    if not isinstance(got, tuple) or len(got) != 2:
        ctx.fail("the driver got no result back")
    # float64's default tolerance (rtol 1e-7) is below the 1e-6 / total ~ 5e-7 a missing 1e-6 makes
    ctx.assert_close(got[0], torch_total, dtype=torch.float64)
    for p, a in zip(params, got[1]):
        ctx.assert_close(a, p.grad, dtype=torch.float64)
    _compare(ctx, got, grads, max_norm, torch.float64)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def clip_grad_norm(grads, max_norm):
    total = torch.stack([g.norm() for g in grads]).norm()
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return total
"""


WRONG_ANSWERS = {
    "computes the total in float32 for float64 gradients (`g.float().norm()`)": edited(
        _PLAIN,
        ("torch.stack([g.norm() for g in grads]).norm()", "torch.stack([g.float().norm() for g in grads]).norm()"),
        ("    return total", "    return total.to(grads[0].dtype)"),
    ),
    "clips only when total > max_norm (torch scales by max_norm / (total + 1e-6) at the tie too)": edited(
        _PLAIN,
        (
            "    for g in grads:\n        g.mul_(scale)",
            "    if total > max_norm:\n        for g in grads:\n            g.mul_(scale)",
        ),
    ),
    "norm of torch.cat(grads) (breaks on 0-dim and on gradients of different ranks)": edited(
        _PLAIN,
        ("torch.stack([g.norm() for g in grads]).norm()", "torch.cat(grads).norm()"),
    ),
    "sum of squares without the square root": edited(
        _PLAIN,
        ("torch.stack([g.norm() for g in grads]).norm()", "sum((g * g).sum() for g in grads)"),
    ),
    "clips each tensor by its own norm instead of the global norm": edited(
        _PLAIN,
        ("        g.mul_(scale)", "        g.mul_(torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0))"),
    ),
    "scales up as well: multiplies by max_norm / total even when the norm is already below max_norm": edited(
        _PLAIN,
        ("torch.clamp(max_norm / (total + 1e-6), max=1.0)", "max_norm / (total + 1e-6)"),
    ),
    "sums the per-tensor norms instead of taking the norm of all elements": edited(
        _PLAIN,
        ("torch.stack([g.norm() for g in grads]).norm()", "torch.stack([g.norm() for g in grads]).sum()"),
    ),
    "returns the norm after clipping instead of before": edited(
        _PLAIN,
        ("    return total", "    return torch.stack([g.norm() for g in grads]).norm()"),
    ),
    "rebinds the loop variable (g = g * scale): the caller's gradients are never clipped": edited(
        _PLAIN,
        ("g.mul_(scale)", "g = g * scale"),
    ),
    "divides by the bare norm (no 1e-6): clipped norms land exactly on max_norm, not where torch puts them": edited(
        _PLAIN,
        ("max_norm / (total + 1e-6)", "max_norm / total"),
    ),
}

ALTERNATIVES = {
    "sum of squares over flattened grads, Python-level min, in-place copy_": """
import math
import torch

def clip_grad_norm(grads, max_norm):
    squares = sum(float((g.double() ** 2).sum()) for g in grads)
    total = math.sqrt(squares)
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g.copy_(g * coef)
    return torch.tensor(total, dtype=grads[0].dtype)
""",
    "torch.linalg.vector_norm over one concatenated vector, skipping the multiply when nothing is clipped": """
import torch

def clip_grad_norm(grads, max_norm):
    flat = torch.cat([g.reshape(-1) for g in grads])
    total = torch.linalg.vector_norm(flat, 2)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        torch._foreach_mul_(grads, coef)
    return total
""",
}
