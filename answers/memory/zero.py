"""memory.zero — bytes of model states per GPU under ZeRO-DP: reference, checks, known-wrong answers.

zero_memory_bytes(n_params, n_gpus, stage, k=12): mixed-precision Adam keeps 2 bytes of fp16
weights, 2 of fp16 gradients and k of optimizer states (fp32 master weights, momentum, variance:
k = 12) per parameter (Rajbhandari et al. 2019, arXiv:1910.02054, sec. 5 and Table 1). Stage 1
shards the optimizer states over the N data-parallel GPUs, stage 2 also the gradients, stage 3
also the weights: stage 0 (4+k)Ψ; 1: 4Ψ + kΨ/N; 2: 2Ψ + (2+k)Ψ/N; 3: (4+k)Ψ/N.

Regimes where implementations diverge (each run every time by `boundary_cases`):
- N = 1 (every stage equals stage 0) against N > 1, for each of the four stages;
- N that does not divide the sharded bytes (floor division `//` is exact only when it does);
- k away from 12, fractional k (6.5), and k = 0;
- Ψ as an int and as a float, tiny (1) and huge (1e13).
"""

from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited

RTOL = 1e-9  # CONTRACTS.md: a number, compared with relative tolerance 1e-9


def reference(n_params, n_gpus, stage, k=12):
    psi, n = n_params, n_gpus
    if stage == 0:
        return (4 + k) * psi  # weights 2Ψ + gradients 2Ψ + optimizer kΨ, all replicated
    if stage == 1:
        return 4 * psi + k * psi / n  # optimizer states sharded
    if stage == 2:
        return 2 * psi + (2 + k) * psi / n  # ... and the gradients
    return (4 + k) * psi / n  # stage 3: ... and the weights


# Table 1 of the paper, Ψ = 7.5B, K = 12, in GB (1e9 bytes) as printed: N_d -> (P_os, P_os+g, P_os+g+p).
# Plain data parallelism (stage 0) needs 16Ψ = 120 GB at every N_d.
TABLE_1 = {
    1: ("120", "120", "120"),
    4: ("52.5", "41.3", "30"),
    16: ("35.6", "21.6", "7.5"),
    64: ("31.4", "16.6", "1.88"),
    1024: ("30.1", "15.1", "0.12"),
}


def _printed(value_gb, printed):
    """Does value_gb round (half up) to the number as printed in the table?"""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value_gb - float(printed)) <= 0.5 * 10**-decimals + 1e-12


@check(
    "matches the formulas for random Ψ, N and stage, with k at its default and away from 12",
    zh="随机的 Ψ、N 和 stage 下与公式一致，k 取默认值和非 12 的值",
    teaches=["distributed.zero_16_bytes_mixed_precision", "distributed.zero_stage_shards_choice", "memory.zero_stage_gb"],
)
def matches_reference(ctx):
    psi, n, stage, k = ctx.draw(
        st.tuples(
            st.one_of(st.integers(1, 10**13), st.sampled_from([7e9, 1.5e9, 175e9, 6.738e9])),  # Ψ, int or float
            st.one_of(st.integers(1, 4096), st.sampled_from([1, 2, 3, 8, 1000])),  # N
            st.integers(0, 3),
            st.sampled_from(["default", 4, 8, 16, 20, 6.5]),  # k
        )
    )
    kwargs = {} if k == "default" else {"k": k}
    ctx.assert_close(ctx.call(psi, n, stage, **kwargs), ctx.reference(psi, n, stage, **kwargs), rtol=RTOL)


@check(
    "reproduces Table 1 of the ZeRO paper: Ψ = 7.5B at N_d = 1, 4, 16, 64, 1024, stages 0-3, default k",
    zh="复现 ZeRO 论文的 Table 1：Ψ = 7.5B，N_d = 1、4、16、64、1024，stage 0-3，默认 k",
    examples=1,
    teaches=["memory.zero_stage_gb", "distributed.zero_16_bytes_mixed_precision"],
)
def paper_table_1(ctx):
    psi = 7_500_000_000
    for n_d, printed_row in TABLE_1.items():
        for stage, printed in zip((0, 1, 2, 3), ("120",) + printed_row):
            expected = reference(psi, n_d, stage)
            if not _printed(expected / 1e9, printed):  # guards the reference against the paper
                raise AnswerModuleBug(
                    f"reference gives {expected / 1e9} GB for N_d={n_d}, stage {stage}; Table 1 prints {printed}"
                )
            got = ctx.call(psi, n_d, stage)
            number = isinstance(got, (int, float)) and not isinstance(got, bool)
            if not (number and abs(got - expected) <= RTOL * expected):
                ctx.fail(f"N_d = {n_d}, stage {stage}: expected {expected:,.0f} bytes (Table 1 prints {printed} GB), got {got!r}")
            ctx.assert_close(got, expected, rtol=RTOL)


# (n_params, n_gpus, stage, keyword arguments, why this case)
BOUNDARY_CASES = [
    *[(10, 1, stage, {}, f"one GPU, stage {stage} (nothing to shard)") for stage in range(4)],
    *[(10, 3, stage, {}, f"Ψ = 10 on 3 GPUs, stage {stage} (3 does not divide the sharded bytes)") for stage in range(4)],
    *[(1, 7, stage, {"k": 6.5}, f"Ψ = 1, 7 GPUs, k = 6.5, stage {stage}") for stage in range(4)],
    (1e13, 1000, 2, {"k": 0}, "Ψ = 1e13 (a float), stage 2, k = 0"),
    (7_000_000_001, 64, 3, {"k": 16}, "odd Ψ, stage 3, k = 16"),
]


@check(
    "boundary cases every run: one GPU at every stage, N not dividing Ψ, fractional k and k = 0, float Ψ",
    zh="每次都测的边界情况：每个 stage 下只有一块 GPU，N 不整除 Ψ，k 为小数和 k = 0，Ψ 为 float",
    examples=1,
    teaches=["distributed.zero_stage_shards_choice"],
)
def boundary_cases(ctx):
    for psi, n, stage, kwargs, why in BOUNDARY_CASES:
        got = ctx.call(psi, n, stage, **kwargs)
        expected = ctx.reference(psi, n, stage, **kwargs)
        number = isinstance(got, (int, float)) and not isinstance(got, bool)
        if not (number and abs(got - expected) <= RTOL * expected):
            ctx.fail(f"{why}: expected {expected!r} bytes, got {got!r}")
        ctx.assert_close(got, expected, rtol=RTOL)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
def zero_memory_bytes(n_params, n_gpus, stage, k=12):
    weights, grads, optim = 2 * n_params, 2 * n_params, k * n_params
    if stage >= 1:
        optim = optim / n_gpus
    if stage >= 2:
        grads = grads / n_gpus
    if stage >= 3:
        weights = weights / n_gpus
    return weights + grads + optim
"""

WRONG_ANSWERS = {
    "stage 2 leaves the gradients unsharded (same as stage 1)": edited(_PLAIN, ("if stage >= 2:", "if stage >= 3:")),
    "stage 1 also shards the fp16 weights": edited(_PLAIN, ("if stage >= 3:", "if stage >= 1:")),
    "k defaults to 16 (the '16 bytes per parameter' total taken as the optimizer's share)": edited(_PLAIN, ("k=12", "k=16")),
    "ignores k: the optimizer always takes 12 bytes per parameter": edited(_PLAIN, ("k * n_params", "12 * n_params")),
    "returns GB instead of bytes": edited(_PLAIN, ("return weights + grads + optim", "return (weights + grads + optim) / 1e9")),
    "floor division // (wrong when N does not divide the sharded bytes)": edited(
        _PLAIN,
        ("optim / n_gpus", "optim // n_gpus"),
        ("grads / n_gpus", "grads // n_gpus"),
        ("weights / n_gpus", "weights // n_gpus"),
    ),
    "stage 3 forgets to shard the fp16 weights (same as stage 2)": edited(_PLAIN, ("if stage >= 3:", "if stage >= 4:")),
    "optimizer bytes per parameter truncated to an int (k = 6.5 taken as 6)": edited(
        _PLAIN, ("k * n_params", "int(k) * n_params")
    ),
}

ALTERNATIVES = {
    "a table of (bytes per parameter, first stage that shards it), summed": """
def zero_memory_bytes(n_params, n_gpus, stage, k=12):
    parts = [(2, 3), (2, 2), (k, 1)]  # fp16 weights, fp16 gradients, optimizer states
    return sum(b * n_params / (n_gpus if stage >= first else 1) for b, first in parts)
""",
}
