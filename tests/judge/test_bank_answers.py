"""Every code exercise of the bundled bank, both tracks: its reference passes its own checks, each
known-wrong answer it ships fails them, and each alternative correct answer passes them.

One test per submission, with ids like `softmax.softmax/wrong:<the wrong answer's name>`, so a
failure names the exercise and the answer. The submissions of the selected tests are all queued
on the session's warm judge at first use (the worker keeps its slots busy), and each test then
waits for its own verdict. Submissions are judged as `llmq verify` judges them (same seed, wrong
answers stop at their first failing check).
"""

from __future__ import annotations

import runpy
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from llmq.bank import load_bank
from llmq.bank.model import CodeExercise
from llmq.judge.answer import MIN_WRONG_ANSWERS, load, problems
from llmq.judge.client import Judge, Pending

SEED = 0  # the seed `llmq verify` uses, so a failure here reproduces with `llmq verify`
# How a wrong answer is caught: a check fails it, or it raises. A timeout or a crash (the judge's
# worker dying among them) says nothing about the checks, so it does not count here.
CAUGHT = ("fail", "error")


@dataclass(frozen=True)
class Case:
    """One bank-provided submission: the reference, a wrong answer or an alternative."""

    exercise: CodeExercise
    submission: str  # "reference" | "wrong" | "alternative"
    name: str = ""  # the key in WRONG_ANSWERS / ALTERNATIVES

    @property
    def id(self) -> str:
        return f"{self.exercise.id}/{self.submission}" + (f":{self.name}" if self.name else "")


def _cases() -> list[Case]:
    """Read from the answer modules themselves (their WRONG_ANSWERS and ALTERNATIVES tables)."""
    cases = []
    for exercise in load_bank().code_exercises("all"):
        module: dict[str, Any] = runpy.run_path(str(exercise.answer_path))
        cases.append(Case(exercise, "reference"))
        cases += [Case(exercise, "wrong", name) for name in module.get("WRONG_ANSWERS", {})]
        cases += [Case(exercise, "alternative", name) for name in module.get("ALTERNATIVES", {})]
    return cases


CASES = _cases()


def test_the_bank_has_code_exercises_on_both_tracks() -> None:
    """Guards the parametrisation below: an empty list would make it prove nothing."""
    tracks = {case.exercise.track for case in CASES}
    assert tracks == {"cpu", "gpu"}, tracks
    assert sum(case.submission == "wrong" for case in CASES) >= MIN_WRONG_ANSWERS * sum(
        case.submission == "reference" for case in CASES
    )


def test_every_exercise_meets_the_answer_module_rules() -> None:
    """The loader's rules (a reference, checks, at least MIN_WRONG_ANSWERS wrong answers, an
    alternative), counted per exercise of the bundled bank."""
    lacking = {ex.id: found for ex in load_bank().code_exercises("all") if (found := problems(load(ex.answer_path)))}
    assert lacking == {}
    per_exercise = Counter(case.exercise.id for case in CASES if case.submission == "wrong")
    assert min(per_exercise.values()) >= MIN_WRONG_ANSWERS


def _submit(judge: Judge, case: Case) -> Pending:
    if case.submission == "wrong":
        return judge.submit(case.exercise, submission="wrong", name=case.name, seed=SEED, shrink=False, stop_on_failure=True)
    return judge.submit(case.exercise, submission=case.submission, name=case.name, seed=SEED)


# The whole set normally takes under a minute; past this, a hung judge fails the remaining
# tests at once instead of each waiting on its own.
WAIT_FOR_ALL_S = 900.0


@dataclass
class Queued:
    """The selected cases' submissions, queued at once, and when to stop waiting for them."""

    pending: dict[str, Pending]
    deadline: float

    def verdict(self, case: Case) -> Any:
        left = self.deadline - time.monotonic()
        try:
            return self.pending[case.id].result(timeout=max(left, 0.01))
        except TimeoutError:
            pytest.fail(f"{case.id}: no verdict from the judge within {WAIT_FOR_ALL_S:.0f} s of queuing the bank's submissions")


@pytest.fixture(scope="session")
def bank_verdicts(request: pytest.FixtureRequest, judge: Judge) -> Queued:
    """Every selected case's submission, queued at once on the shared judge."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_bank_submission"
    ]
    return Queued({case.id: _submit(judge, case) for case in selected}, time.monotonic() + WAIT_FOR_ALL_S)


def _describe(verdict: Any) -> str:
    lines = [f"{verdict.status}: {verdict.summary}"]
    lines += [f"  {c.name}: {c.status}: {c.message}" for c in verdict.checks if c.status != "pass"]
    return "\n".join(lines)


@pytest.mark.slow  # about 430 submissions: 30 s on two idle cores, minutes on busy ones
# One xdist worker takes them all (`make test` runs `-n 2 --dist loadgroup`): bank_verdicts queues
# every selected case on its process's judge, so a second worker would judge the bank again. The
# group is shared with tests/test_cli.py's `llmq verify` runs: one whole-bank judging at a time.
@pytest.mark.xdist_group("whole_bank")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bank_submission(case: Case, bank_verdicts: Queued) -> None:
    verdict = bank_verdicts.verdict(case)
    if case.submission == "wrong":
        if verdict.passed:
            pytest.fail(
                f"{case.exercise.id}: the known-wrong answer {case.name!r} passes every check "
                f"(the checks are too weak): {_describe(verdict)}"
            )
        if verdict.status not in CAUGHT:
            pytest.fail(
                f"{case.exercise.id}: the known-wrong answer {case.name!r} was not judged "
                f"(a check must fail it, or it must raise): {_describe(verdict)}"
            )
    elif not verdict.passed:
        what = "the reference" if case.submission == "reference" else f"the alternative {case.name!r}"
        pytest.fail(f"{case.exercise.id}: {what} does not pass its own checks: {_describe(verdict)}")
