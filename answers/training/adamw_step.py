"""training.adamw_step — one AdamW update, in place: reference, checks, wrong answers.

adamw_step(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
weight_decay=1e-2): four lists of same-shaped tensors (one floating dtype); step is the 1-based
number of this update. For each parameter, in place:
    p  <- p * (1 - lr * weight_decay)                 decoupled decay (Loshchilov & Hutter 2019)
    m  <- beta1 * m + (1 - beta1) * g
    v  <- beta2 * v + (1 - beta2) * g^2
    p  <- p - lr * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)
returns None. Equal to torch.optim.AdamW (same defaults, maximize/amsgrad off) step after step.

Regimes where implementations diverge, each run every time by `float64_precision`,
`boundary_regimes` and `grads_untouched` beside the random draws:
- the step number: 1 (the bias corrections are largest), a resume at step 1000 (beta2^1000 is
  still 0.37), and steps 2 to 50;
- gradients of zero (v = 0: 0/0 without eps), of about eps (1e-8: where eps goes shows), and of 1e4;
- lr * weight_decay large (decay before or after the Adam step differs by lr^2 * wd * update),
  and weight_decay 0;
- parameters 0-dim, 1-D (decay on every parameter, not only matrices), 3-D, and of 5000 elements;
- float64 state computed in float64 (a float32 update leaves errors of 1e-8, far above 1e-12);
- the grads left as they were (an in-place `g.pow_(2)` changes the caller's gradients).
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import check, edited, sandboxed

FORBIDDEN = [
    "torch.optim.AdamW",
    "torch.optim.Adam",
    "torch.optim._functional",
    "torch.optim.adamw",
    "torch.optim.adam",
]


def reference(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas
    bias1 = 1 - beta1**step  # corrects m's pull toward its zero start
    bias2 = 1 - beta2**step
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p.mul_(1 - lr * weight_decay)  # decay the weights themselves, not the gradient
        m.mul_(beta1).add_(g, alpha=1 - beta1)  # first moment
        v.mul_(beta2).add_(g * g, alpha=1 - beta2)  # second moment
        denom = (v / bias2).sqrt() + eps  # eps outside the square root, as torch
        p.sub_(lr * (m / bias1) / denom)


@sandboxed
def run_steps(solution, n_params, start_step, options, *tensors):
    """tensors: params, exp_avgs, exp_avg_sqs (n_params each), then the grads of each step.
    Runs the submission on copies for consecutive steps; returns (params, exp_avgs, exp_avg_sqs)."""
    params = [t.clone() for t in tensors[:n_params]]
    exp_avgs = [t.clone() for t in tensors[n_params : 2 * n_params]]
    exp_avg_sqs = [t.clone() for t in tensors[2 * n_params : 3 * n_params]]
    rest = tensors[3 * n_params :]
    for i in range(len(rest) // n_params):
        grads = [g.clone() for g in rest[i * n_params : (i + 1) * n_params]]
        solution(params, grads, exp_avgs, exp_avg_sqs, start_step + i, **options)
    return params, exp_avgs, exp_avg_sqs


@sandboxed
def grads_after_step(solution, n_params, step, options, *tensors):
    """tensors: params, grads, exp_avgs, exp_avg_sqs (n_params each). One step on copies; returns
    the grads as the submission left them (the task says not to modify them)."""
    params, grads, exp_avgs, exp_avg_sqs = ([t.clone() for t in tensors[i * n_params : (i + 1) * n_params]] for i in range(4))
    solution(params, grads, exp_avgs, exp_avg_sqs, step, **options)
    return grads


DTYPES = [torch.float32, torch.float64]

# float64 in the checks after `float64_precision`: float32-sized errors (~1e-7) are that check's
# to report under its own title, so these hold float64 to 1e-6 (relative and absolute), still
# tighter than float32's own tolerance, which every logic bug must exceed anyway.
PROPERTY_RTOL = {torch.float64: 1e-6}
PROPERTY_ATOL = {torch.float64: 1e-6}

SHAPES = st.lists(st.sampled_from([(), (1,), (3,), (2, 5), (7, 1), (4, 3)]), min_size=1, max_size=3)
# keyword arguments: {} is every default; the others move lr, betas, eps and weight_decay away
OPTIONS = st.sampled_from(
    [
        {},
        {"lr": 0.1, "weight_decay": 0.5},
        {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.1},
        {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.2},
        {"lr": 0.3, "betas": (0.9, 0.99), "eps": 1e-6, "weight_decay": 0.0},
        {"lr": 0.01, "weight_decay": 1.0},
    ]
)


def _torch_adamw(params, grad_steps, options, start_step=1, exp_avgs=None, exp_avg_sqs=None):
    """torch's AdamW in float64, in the harness (where it is not forbidden): the function
    torch.optim.AdamW.step calls, which skips the class's seconds-long first-use imports."""
    from torch.optim.adamw import adamw as torch_adamw  # here, not at the top: the reference file keeps top-level imports

    ps = [p.detach().double().clone() for p in params]
    ms = [torch.zeros_like(p) for p in ps] if exp_avgs is None else [m.double().clone() for m in exp_avgs]
    vs = [torch.zeros_like(p) for p in ps] if exp_avg_sqs is None else [v.double().clone() for v in exp_avg_sqs]
    steps = [torch.tensor(float(start_step - 1)) for _ in ps]  # updates done so far; it adds 1 first
    full = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, **options}
    for grads in grad_steps:
        gs = [g.double().clone() for g in grads]
        try:
            torch_adamw(
                ps,
                gs,
                ms,
                vs,
                [],
                steps,
                foreach=False,
                capturable=False,
                differentiable=False,
                fused=None,
                grad_scale=None,
                found_inf=None,
                has_complex=False,
                amsgrad=False,
                beta1=full["betas"][0],
                beta2=full["betas"][1],
                lr=full["lr"],
                weight_decay=full["weight_decay"],
                eps=full["eps"],
                maximize=False,
            )
        except TypeError:  # another torch version's signature: the optimizer class (slower to start)
            return _torch_adamw_class(params, grad_steps, options, start_step, exp_avgs, exp_avg_sqs)
    return ps, ms, vs


def _torch_adamw_class(params, grad_steps, options, start_step, exp_avgs, exp_avg_sqs):
    ps = [torch.nn.Parameter(p.detach().double().clone()) for p in params]
    opt = torch.optim.AdamW(ps, **options)
    if start_step > 1:  # resume from a saved state after start_step - 1 updates
        for p, m, v in zip(ps, exp_avgs, exp_avg_sqs):
            opt.state[p] = {
                "step": torch.tensor(float(start_step - 1)),
                "exp_avg": m.double().clone(),
                "exp_avg_sq": v.double().clone(),
            }
    for grads in grad_steps:
        for p, g in zip(ps, grads):
            p.grad = g.double().clone()
        opt.step()
    return [p.detach() for p in ps], [opt.state[p]["exp_avg"] for p in ps], [opt.state[p]["exp_avg_sq"] for p in ps]


def _compare(ctx, got, expected, dtype, what, rtol=None, atol=None):
    if not isinstance(got, tuple) or len(got) != 3:
        ctx.fail("the driver got no result back")
    params_before = what["params"]
    names = ("params", "exp_avgs", "exp_avg_sqs")
    if all(torch.equal(a, b) for a, b in zip(got[0], params_before)):
        ctx.fail(
            "params are unchanged after the step: update params, exp_avgs and exp_avg_sqs in place (p.sub_(...), m.mul_(...).add_(...))"
        )
    for name, mine, want in zip(names, got, expected):
        for i, (a, e) in enumerate(zip(mine, want)):
            try:
                ctx.assert_close(a, e, dtype=dtype, rtol=rtol, atol=atol)
            except Exception as exc:
                if type(exc).__name__ != "CheckFailed":
                    raise
                raise type(exc)(
                    f"{name}[{i}] after {what['steps']} step(s) from step {what['start']} with {what['options'] or 'the defaults'}, compared with torch.optim.AdamW: {exc}"
                ) from None


def _draw(ctx, n_steps):
    dtype, shapes, options, scales = ctx.draw(
        st.tuples(
            st.sampled_from(DTYPES),
            SHAPES,
            OPTIONS,
            st.lists(st.sampled_from([0.01, 1.0, 5.0]), min_size=n_steps, max_size=n_steps),
        )
    )
    params = [ctx.randn(*s, dtype=dtype) for s in shapes]
    grad_steps = [[ctx.randn(*s, dtype=dtype, scale=scales[i]) for s in shapes] for i in range(n_steps)]
    return dtype, shapes, options, params, grad_steps


@check(
    "equals torch.optim.AdamW over 1 to 5 steps from a fresh state (float32/float64, defaults and lr, betas, eps, weight_decay away from them)",
    zh="从全新状态起 1 到 5 步都等于 torch.optim.AdamW（float32/float64，默认参数，以及 lr、betas、eps、weight_decay 取非默认值）",
    teaches=["training.adamw_decoupled", "training.adam_bias_correction", "training.adam_update"],
)
def equals_torch(ctx):
    n_steps = ctx.draw(st.integers(1, 5))
    dtype, shapes, options, params, grad_steps = _draw(ctx, n_steps)
    zeros = [torch.zeros_like(p) for p in params]
    flat = [*params, *zeros, *zeros, *(g for grads in grad_steps for g in grads)]
    got = ctx.run("run_steps", len(params), 1, options, *flat)
    expected = _torch_adamw(params, grad_steps, options)
    _compare(ctx, got, expected, dtype, {"params": params, "steps": n_steps, "start": 1, "options": options})


FLOAT64_RTOL = 1e-12  # far below float32's rounding, far above float64's error here
FLOAT64_ATOL = 1e-14  # for entries near zero after a subtraction (values are of order 1)


@check(
    "float64 state is computed in float64 (rtol 1e-12: a float32 step such as `.float()` fails)",
    zh="float64 的状态全程用 float64 计算（rtol 1e-12：有一步用 float32，例如 `.float()`，就不通过）",
    examples=2,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    n = ctx.draw(st.sampled_from([64, 300]))
    shapes = [(n,), (3, 7)]
    options = {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.1}
    params = [ctx.randn(*s, dtype=torch.float64) for s in shapes]
    exp_avgs = [ctx.randn(*s, dtype=torch.float64, scale=0.3) for s in shapes]
    exp_avg_sqs = [ctx.rand(*s, dtype=torch.float64) * 0.5 + 0.01 for s in shapes]
    grad_steps = [[ctx.randn(*s, dtype=torch.float64) for s in shapes] for _ in range(2)]
    flat = [*params, *exp_avgs, *exp_avg_sqs, *(g for grads in grad_steps for g in grads)]
    got = ctx.run("run_steps", len(params), 3, options, *flat)
    expected = _torch_adamw(params, grad_steps, options, 3, exp_avgs, exp_avg_sqs)
    what = {"params": params, "steps": 2, "start": 3, "options": options}
    _compare(ctx, got, expected, torch.float64, what, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL)


# (shapes, options, first step, number of steps, gradient scale): every regime of the docstring.
REGIMES = [
    ([(3,), ()], {}, 1, 1, 0.0),  # zero gradients on a fresh state: v = 0
    ([(4,), (2, 3)], {}, 1, 2, 1e-8),  # gradients the size of eps
    ([(4,)], {"lr": 0.01}, 1, 1, 1e4),
    ([(), (1,), (2, 3, 4)], {}, 1000, 2, 1.0),  # a resume late in training
    ([(3,), (2, 2)], {"lr": 0.5, "weight_decay": 1.0}, 1, 2, 1.0),  # lr * weight_decay large
    ([(5,)], {"lr": 0.1, "weight_decay": 0.0}, 1, 3, 1.0),
    ([(5000,), (3,)], {"lr": 0.1, "weight_decay": 0.5}, 2, 1, 1.0),  # a long parameter
]


@check(
    "boundary regimes, every run: step 1 and a resume at 1000; zero, eps-sized and 1e4 gradients; lr * weight_decay 0.5 and 0; 0-dim to 3-D and 5000-long parameters",
    zh="每次都测的边界情形：第 1 步和从第 1000 步恢复；零梯度、eps 大小和 1e4 的梯度；lr * weight_decay 为 0.5 和 0；0 维到 3-D 以及长 5000 的参数",
    examples=1,
    teaches=["training.adam_bias_correction", "training.adam_update"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for shapes, options, start, n_steps, scale in REGIMES:
            params = [ctx.randn(*s, dtype=dtype) for s in shapes]
            grad_steps = [[ctx.randn(*s, dtype=dtype, scale=scale) for s in shapes] for _ in range(n_steps)]
            if start == 1:
                exp_avgs = [torch.zeros_like(p) for p in params]
                exp_avg_sqs = [torch.zeros_like(p) for p in params]
            else:
                exp_avgs = [ctx.randn(*s, dtype=dtype, scale=0.3) for s in shapes]
                exp_avg_sqs = [ctx.rand(*s, dtype=dtype) * 0.5 + 0.01 for s in shapes]
            flat = [*params, *exp_avgs, *exp_avg_sqs, *(g for grads in grad_steps for g in grads)]
            got = ctx.run("run_steps", len(params), start, options, *flat)
            expected = _torch_adamw(params, grad_steps, options, start, exp_avgs, exp_avg_sqs)
            _compare(
                ctx,
                got,
                expected,
                dtype,
                {"params": params, "steps": n_steps, "start": start, "options": options},
                rtol=PROPERTY_RTOL.get(dtype),
                atol=PROPERTY_ATOL.get(dtype),
            )


@check(
    "the grads are left as they were (only params, exp_avgs and exp_avg_sqs change)",
    zh="梯度保持原样（只有 params、exp_avgs 和 exp_avg_sqs 会变）",
    examples=1,
)
def grads_untouched(ctx):
    shapes = [(3,), (), (2, 4)]
    params = [ctx.randn(*s) for s in shapes]
    grads = [ctx.randn(*s) for s in shapes]
    zeros = [torch.zeros_like(p) for p in params]
    after = ctx.run("grads_after_step", len(params), 1, {}, *params, *grads, *zeros, *zeros)
    for i, (a, g) in enumerate(zip(after, grads)):
        if not isinstance(a, torch.Tensor) or a.shape != g.shape or not torch.equal(a, g):
            ctx.fail(
                f"grads[{i}] was changed by the step (an in-place op on g, such as g.pow_(2) or g.mul_(...)); read the gradients, never write them"
            )


@check(
    "resumes mid-training: from a saved state at step 2 to 50, equals torch.optim.AdamW (bias corrections use the step number)",
    zh="从训练中途恢复：从第 2 到 50 步保存的状态开始，等于 torch.optim.AdamW（偏差修正用的是步数）",
    teaches=["training.adam_bias_correction"],
)
def resumes(ctx):
    start, n_steps = ctx.draw(st.tuples(st.sampled_from([2, 3, 10, 50]), st.integers(1, 2)))
    dtype, shapes, options, params, grad_steps = _draw(ctx, n_steps)
    exp_avgs = [ctx.randn(*s, dtype=dtype, scale=0.3) for s in shapes]
    exp_avg_sqs = [ctx.rand(*s, dtype=dtype) * 0.5 + 0.01 for s in shapes]  # positive, like a real state
    flat = [*params, *exp_avgs, *exp_avg_sqs, *(g for grads in grad_steps for g in grads)]
    got = ctx.run("run_steps", len(params), start, options, *flat)
    expected = _torch_adamw(params, grad_steps, options, start, exp_avgs, exp_avg_sqs)
    _compare(
        ctx,
        got,
        expected,
        dtype,
        {"params": params, "steps": n_steps, "start": start, "options": options},
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


@check(
    "weight decay is decoupled: a zero gradient on a fresh state only shrinks the weights, p * (1 - lr * weight_decay)",
    zh="权重衰减是解耦的：全新状态下梯度为零时只会缩小权重，p * (1 - lr * weight_decay)",
    teaches=["training.adamw_decoupled", "training.adamw_choice"],
)
def decoupled_decay(ctx):
    dtype, shapes, wd, lr = ctx.draw(
        st.tuples(st.sampled_from(DTYPES), SHAPES, st.sampled_from([0.1, 0.5, 1.0]), st.sampled_from([0.01, 0.1]))
    )
    params = [ctx.randn(*s, dtype=dtype) for s in shapes]
    zeros = [torch.zeros_like(p) for p in params]
    options = {"lr": lr, "weight_decay": wd}
    got = ctx.run("run_steps", len(params), 1, options, *params, *zeros, *zeros, *zeros)
    expected = ([p.double() * (1 - lr * wd) for p in params], [z.double() for z in zeros], [z.double() for z in zeros])
    _compare(
        ctx,
        got,
        expected,
        dtype,
        {"params": params, "steps": 1, "start": 1, "options": options},
        rtol=PROPERTY_RTOL.get(dtype),
        atol=PROPERTY_ATOL.get(dtype),
    )


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def adamw_step(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p.mul_(1 - lr * weight_decay)
        m.mul_(b1).add_((1 - b1) * g)
        v.mul_(b2).add_((1 - b2) * g * g)
        m_hat = m / (1 - b1 ** step)
        v_hat = v / (1 - b2 ** step)
        p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
"""


WRONG_ANSWERS = {
    "computes the update in float32 (`.float()`) for float64 state": edited(
        _PLAIN,
        ("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))", "p.sub_((lr * m_hat / (v_hat.sqrt() + eps)).float())"),
    ),
    "squares the gradient in place (g.pow_(2)): right values, but the caller's grads change": edited(
        _PLAIN,
        ("v.mul_(b2).add_((1 - b2) * g * g)", "v.mul_(b2).add_((1 - b2) * g.pow_(2))"),
    ),
    "decays the weights after the Adam step instead of before (off by lr^2 * wd * update)": edited(
        _PLAIN,
        ("        p.mul_(1 - lr * weight_decay)\n", ""),
        (
            "        p.sub_(lr * m_hat / (v_hat.sqrt() + eps))",
            "        p.sub_(lr * m_hat / (v_hat.sqrt() + eps))\n        p.mul_(1 - lr * weight_decay)",
        ),
    ),
    "no eps: m_hat / sqrt(v_hat) (0/0 on a zero gradient, invisible for gradients of order 1)": edited(
        _PLAIN,
        ("(v_hat.sqrt() + eps)", "v_hat.sqrt()"),
    ),
    "writes the parameter with p[:] = ... (fails on 0-dim parameters)": edited(
        _PLAIN,
        ("        p.sub_(lr * m_hat / (v_hat.sqrt() + eps))", "        p[:] = p - lr * m_hat / (v_hat.sqrt() + eps)"),
    ),
    "decays matrices only (p.dim() >= 2), a param-group choice, not what the task asks": edited(
        _PLAIN,
        ("        p.mul_(1 - lr * weight_decay)\n", "        if p.dim() >= 2:\n            p.mul_(1 - lr * weight_decay)\n"),
    ),
    "Adam with L2: weight decay added to the gradient (coupled), so it is rescaled by the adaptive denominator": edited(
        _PLAIN,
        ("        p.mul_(1 - lr * weight_decay)\n", "        g = g + weight_decay * p\n"),
    ),
    "no bias correction: the first steps are too small": edited(
        _PLAIN,
        ("m / (1 - b1 ** step)", "m"),
        ("v / (1 - b2 ** step)", "v"),
    ),
    "eps inside the square root: sqrt(v_hat + eps)": edited(_PLAIN, ("(v_hat.sqrt() + eps)", "torch.sqrt(v_hat + eps)")),
    "decay not scaled by the learning rate: p * (1 - weight_decay)": edited(
        _PLAIN, ("1 - lr * weight_decay", "1 - weight_decay")
    ),
    "bias correction one step ahead: 1 - beta ** (step + 1), as if step counted from 0": edited(
        _PLAIN,
        ("b1 ** step", "b1 ** (step + 1)"),
        ("b2 ** step", "b2 ** (step + 1)"),
    ),
    "rebinds the moments (m = b1 * m + ...): the saved state never changes": edited(
        _PLAIN,
        ("m.mul_(b1).add_((1 - b1) * g)", "m = b1 * m + (1 - b1) * g"),
        ("v.mul_(b2).add_((1 - b2) * g * g)", "v = b2 * v + (1 - b2) * g * g"),
    ),
}

ALTERNATIVES = {
    "torch's own arrangement: step size lr / bias1, denominator sqrt(v) / sqrt(bias2) + eps, addcdiv_, lerp_": """
import math
import torch

def adamw_step(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    step_size = lr / bias_correction1
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p.mul_(1 - lr * weight_decay)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
        p.addcdiv_(m, denom, value=-step_size)
""",
    "new values computed in float64 and copied back with copy_": """
import torch

def adamw_step(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p64, g64 = p.double(), g.double()
        m64 = b1 * m.double() + (1 - b1) * g64
        v64 = b2 * v.double() + (1 - b2) * g64 ** 2
        update = (m64 / (1 - b1 ** step)) / ((v64 / (1 - b2 ** step)).sqrt() + eps)
        p.copy_(p64 - lr * weight_decay * p64 - lr * update)
        m.copy_(m64)
        v.copy_(v64)
""",
}
