"""Wrong answers that only show in one boundary regime are caught by the check that runs that
regime every time (the fixed cases of `boundary regimes, every run`), not only by a random draw
that happens to land there (issue 12 point 1).

`llmq verify` stops a wrong answer at its first failing check, so a random check that catches it
first would hide a fixed case that no longer does; here every check runs, and the fixed-case
check itself must fail, under both seeds of the GPU track.

The CPU cases below are the other side of it (issue 12 point 4): a logic bug is reported first under
the check that names its regime, not under the float64 precision check, whose inputs also contain
that regime, under every seed of the CPU track's series as `llmq verify` judges it.
"""

from __future__ import annotations

import pytest

from llmq.bank import load_bank
from llmq.judge.client import Judge

# (exercise, the start of the wrong answer's name, the check that runs its regime every time)
CASES = [
    ("gpu.vector_add", "one program of next_power_of_2(n) lanes capped at 1024", "boundary regimes, every run"),
    ("gpu.vector_add", "grid rounds down (n // BLOCK programs)", "boundary regimes, every run"),
    ("gpu.vector_add", "accumulates in the output buffer without initialising it", "boundary regimes, every run"),
    ("gpu.flash_attention_triton", "rescales the accumulator but not the running sum l", "boundary regimes, every run"),
]
SEEDS = (0, 1)  # the GPU track's seeds under `llmq verify`


@pytest.mark.slow  # a few seconds each under the Triton interpreter
@pytest.mark.parametrize(("exercise_id", "wrong", "fixed_check"), CASES, ids=[f"{c[0]}:{c[1][:30]}" for c in CASES])
def test_the_fixed_case_check_catches_the_boundary_only_wrong_answer(
    exercise_id: str, wrong: str, fixed_check: str, judge: Judge
) -> None:
    exercise = next(ex for ex in load_bank().code_exercises("gpu") if ex.id == exercise_id)
    described = judge.submit_describe(exercise.answer_path).result(timeout=120)
    names = [name for name in described["wrong_answers"] if name.startswith(wrong)]
    assert len(names) == 1, f"{exercise_id}: no single wrong answer starting {wrong!r}: {described['wrong_answers']}"
    checks = [title for title in described["checks"] if title.startswith(fixed_check)]
    assert len(checks) == 1, f"{exercise_id}: no single check starting {fixed_check!r}"
    pending = [(seed, judge.submit(exercise, submission="wrong", name=names[0], seed=seed, shrink=False)) for seed in SEEDS]
    for seed, run in pending:
        verdict = run.result(timeout=300)
        status = {check.name: check.status for check in verdict.checks}
        assert status[checks[0]] == "fail", (
            f"{exercise_id}: {names[0]!r} passes {checks[0]!r} under seed {seed}: {verdict.status}: {verdict.summary}"
        )


# (exercise, the start of the wrong answer's name, the start of the float64 precision check's
# title, the starts of the checks that may fail first: the plain comparison with the reference when
# its random draw lands in the bug's regime, else the check that runs that regime every time)
FIRST_FAILURE_CASES = [
    ("attention.sdpa", "causal mask aligned top-left", ("matches the reference", "boundary regimes, every run")),
    (
        "attention.online_softmax_attention",
        "forgets to rescale the running sum",
        ("equals plain attention", "boundary regimes, every run"),
    ),
    (
        "inference.speculative_accept",
        "counts every accepted draft token",
        ("matches the reference", "boundary cases every run"),
    ),
    (
        "inference.kv_cache_decode",
        "attends a sliding window of the last 256",
        ("matches the reference", "boundary cases every run"),
    ),
    ("softmax.softmax", "no max subtraction", ("matches the reference", "boundary regimes, every run")),
]
PRECISION = "float64 input is computed in float64"
CPU_SEEDS = (0, 1, 2, 3, 4)  # the CPU track's seeds under `llmq verify`


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "first_checks"), FIRST_FAILURE_CASES, ids=[f"{c[0]}:{c[1][:30]}" for c in FIRST_FAILURE_CASES]
)
def test_a_logic_bug_is_not_reported_first_under_the_precision_check(
    exercise_id: str, wrong: str, first_checks: tuple[str, ...], judge: Judge
) -> None:
    exercise = next(ex for ex in load_bank().code_exercises("cpu") if ex.id == exercise_id)
    described = judge.submit_describe(exercise.answer_path).result(timeout=120)
    names = [name for name in described["wrong_answers"] if name.startswith(wrong)]
    assert len(names) == 1, f"{exercise_id}: no single wrong answer starting {wrong!r}: {described['wrong_answers']}"
    assert any(title.startswith(PRECISION) for title in described["checks"]), f"{exercise_id}: no check {PRECISION!r}"
    verdicts = judge.submit(
        exercise, submission="wrong", name=names[0], seeds=CPU_SEEDS, stop_on_failure=True, shrink=False
    ).result(timeout=300)
    assert len(verdicts) == len(CPU_SEEDS), f"{exercise_id}: the series stopped after {len(verdicts)} seeds"
    for seed, verdict in zip(CPU_SEEDS, verdicts, strict=True):
        failed = [check.name for check in verdict.checks if check.status == "fail"]
        assert failed, f"{exercise_id}: {names[0]!r} passes under seed {seed}"
        assert failed[0].startswith(first_checks), (
            f"{exercise_id}: {names[0]!r} under seed {seed} first fails {failed[0]!r}, not one of {first_checks}"
        )
