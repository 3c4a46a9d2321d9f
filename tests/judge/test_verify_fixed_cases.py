"""Wrong answers that only show in one boundary regime are caught by the check that runs that
regime every time (the fixed cases of `boundary regimes, every run`), not only by a random draw
that happens to land there (issue 12 point 1).

`llmq verify` stops a wrong answer at its first failing check, so a random check that catches it
first would hide a fixed case that no longer does; here every check runs, and the fixed-case
check itself must fail, under both seeds of the GPU track.
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
