"""`llmq verify`, the judge's half: every reference passes its checks, every known-wrong answer
fails them, every alternative correct answer passes them. Runs through the warm worker, several
submissions at a time; never imports torch itself.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from llmq.judge.client import ExerciseLike, Judge, Pending

VERIFY_SEED = 0  # fixed, so a verify run is reproducible (CI); `seed=` changes it


@dataclass
class ExerciseReport:
    """CONTRACTS.md `verify --json`: id, reference, wrong_answers_caught, wrong_answers_total; and more."""

    id: str
    reference: str  # "pass" | "fail"
    wrong_answers_caught: int = 0
    wrong_answers_total: int = 0
    alternatives_passed: int = 0
    alternatives_total: int = 0
    problems: list[str] = field(default_factory=list)
    run_s: float = 0.0  # the judge's time on this exercise, all its submissions together

    @property
    def ok(self) -> bool:
        return not self.problems and self.reference == "pass"


@dataclass
class VerifyReport:
    ok: bool
    exercises: list[ExerciseReport]
    bank_errors: list[str]
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _first_failure(pending: Pending) -> str:
    verdict = pending.result()
    return f"{verdict.status}: {verdict.summary}"


def verify(
    exercises: Iterable[ExerciseLike],
    judge: Judge,
    bank_errors: Iterable[str] = (),
    seed: int = VERIFY_SEED,
) -> VerifyReport:
    """Judge every bank-provided submission of every exercise; collect what does not hold."""
    started = time.monotonic()
    exercises = list(exercises)
    described = [(ex, judge.submit_describe(ex.answer_path)) for ex in exercises]  # in parallel
    plans: list[tuple[ExerciseLike, dict[str, Any]]] = [(ex, pending.result()) for ex, pending in described]
    # Queue everything first so the worker keeps all its slots busy.
    runs: list[tuple[ExerciseLike, dict[str, Any], Pending, list[tuple[str, Pending]], list[tuple[str, Pending]]]] = []
    for ex, plan in plans:
        reference = judge.submit(ex, submission="reference", seed=seed)
        wrong = [
            (name, judge.submit(ex, submission="wrong", name=name, seed=seed, shrink=False, stop_on_failure=True))
            for name in plan["wrong_answers"]
        ]
        alternatives = [(name, judge.submit(ex, submission="alternative", name=name, seed=seed)) for name in plan["alternatives"]]
        runs.append((ex, plan, reference, wrong, alternatives))

    reports = []
    for ex, plan, reference, wrong, alternatives in runs:
        report = ExerciseReport(id=ex.id, reference="fail", problems=list(plan["problems"]))
        ref_verdict = reference.result()
        report.run_s = round(sum(p.result().elapsed_s for p in [reference, *(p for _, p in wrong + alternatives)]), 2)
        report.reference = "pass" if ref_verdict.passed else "fail"
        if not ref_verdict.passed:
            report.problems.append(f"{ex.id}: the reference does not pass its own checks: {ref_verdict.status}: {ref_verdict.summary}")
        report.wrong_answers_total = len(wrong)
        for name, pending in wrong:
            if pending.result().passed:
                report.problems.append(f"{ex.id}: wrong answer {name!r} passes every check (the checks are too weak)")
            else:
                report.wrong_answers_caught += 1
        report.alternatives_total = len(alternatives)
        for name, pending in alternatives:
            if pending.result().passed:
                report.alternatives_passed += 1
            else:
                report.problems.append(f"{ex.id}: alternative {name!r} fails: {_first_failure(pending)}")
        reports.append(report)
    errors = list(bank_errors)
    return VerifyReport(
        ok=not errors and all(r.ok for r in reports),
        exercises=reports,
        bank_errors=errors,
        elapsed_s=round(time.monotonic() - started, 2),
    )


def render_text(report: VerifyReport) -> str:
    """The readable form of `llmq verify`."""
    lines = []
    for error in report.bank_errors:
        lines.append(f"bank error: {error}")
    for ex in report.exercises:
        mark = "ok  " if ex.ok else "FAIL"
        lines.append(
            f"{mark} {ex.id}: reference {ex.reference}, wrong answers caught {ex.wrong_answers_caught}/{ex.wrong_answers_total}, "
            f"alternatives passing {ex.alternatives_passed}/{ex.alternatives_total} ({ex.run_s:.1f} s)"
        )
        lines.extend(f"     {p}" for p in ex.problems)
    total = len(report.exercises)
    bad = sum(not ex.ok for ex in report.exercises)
    lines.append(
        f"{'OK' if report.ok else 'FAILED'}: {total - bad} of {total} exercises hold"
        f"{f', {len(report.bank_errors)} bank errors' if report.bank_errors else ''} ({report.elapsed_s:.1f} s)"
    )
    return "\n".join(lines)
