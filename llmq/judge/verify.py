"""`llmq verify`, the judge's half: every reference passes its checks, every known-wrong answer
fails them, every alternative correct answer passes them. Runs through the warm worker, several
submissions at a time; never imports torch itself. An answer module that cannot be loaded is a
bank error naming it, never a traceback or a hang of verify.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from llmq.judge.client import ExerciseLike, Judge, Pending
from llmq.judge.verdict import Verdict, judge_failure

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


# The harness's check for "the answer module could be loaded" (harness.judge). When it fails, the
# fault is the bank's (an answer module that raises or hangs at import), not the submission's: every
# wrong answer would "fail" too, and counting them as caught would say more than holds.
MODULE_LOADS_CHECK = "answer module loads"
# How long verify waits for the description of one answer module before calling it a bank error.
# A safety net only: the worker stops a describe that overruns its own limit, well before this.
DESCRIBE_WAIT_S = 180.0

_PLAN_KEYS = ("checks", "wrong_answers", "alternatives", "problems")


def _verdict(pending: Pending, exercise: str) -> Verdict:
    """The verdict, or one saying why there is none: verify never stops at one exercise's trouble."""
    try:
        value = pending.result()
    except Exception as exc:  # noqa: BLE001 - the worker gave up, was closed, or answered an error
        return judge_failure(exercise, "crash", f"no verdict from the judge: {type(exc).__name__}: {exc}")
    if isinstance(value, Verdict):
        return value
    return judge_failure(exercise, "crash", f"the judge answered {type(value).__name__}, not a verdict")


def _module_fault(verdict: Verdict) -> str | None:
    """The harness's message when the answer module itself did not load, else None."""
    for check in verdict.checks:
        if check.name == MODULE_LOADS_CHECK and check.status == "fail":
            return check.message or verdict.summary or "the answer module did not load"
    return None


def _describe(ex: ExerciseLike, pending: Pending) -> tuple[dict[str, Any] | None, str | None]:
    """(the module's plan, None), or (None, a bank error naming the module)."""
    where = f"{ex.id}: answer module {ex.answer_path}"
    try:
        plan = pending.result(timeout=DESCRIBE_WAIT_S)
    except TimeoutError:
        pending.cancel()
        return None, f"{where} was not loaded within {DESCRIBE_WAIT_S:g} s (does it hang at import?)"
    except Exception as exc:  # noqa: BLE001 - e.g. the worker stopped a describe that overran its limit
        return None, f"{where} could not be loaded: {exc}"
    if isinstance(plan, Verdict):  # the worker died twice on it
        return None, f"{where} could not be loaded: {plan.summary}"
    if not isinstance(plan, dict) or not all(isinstance(plan.get(k), list) for k in _PLAN_KEYS):
        return None, f"{where} could not be loaded: the judge's description of it is malformed"
    if not plan["checks"]:  # nothing to judge with: it failed to load, or declares no checks
        problems = "; ".join(str(p) for p in plan["problems"]) or "it declares no checks"
        return None, f"{ex.id}: {problems}"
    return plan, None


def verify(
    exercises: Iterable[ExerciseLike],
    judge: Judge,
    bank_errors: Iterable[str] = (),
    seed: int = VERIFY_SEED,
) -> VerifyReport:
    """Judge every bank-provided submission of every exercise; collect what does not hold.

    An answer module that cannot be loaded (it raises or hangs at import, or declares no checks)
    is a bank error naming it: its exercise is reported as failing, and verify goes on with the rest.
    """
    started = time.monotonic()
    errors = list(bank_errors)
    exercises = list(exercises)
    described = [(ex, judge.submit_describe(ex.answer_path)) for ex in exercises]  # in parallel
    reports: list[ExerciseReport] = []
    plans: list[tuple[ExerciseLike, dict[str, Any]]] = []
    for ex, pending in described:
        plan, error = _describe(ex, pending)
        if plan is None:
            errors.append(str(error))
            reports.append(ExerciseReport(id=ex.id, reference="fail", problems=[str(error)]))
        else:
            plans.append((ex, plan))
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

    for ex, plan, reference, wrong, alternatives in runs:
        report = ExerciseReport(id=ex.id, reference="fail", problems=[str(p) for p in plan["problems"]])
        ref_verdict = _verdict(reference, ex.id)
        wrong_verdicts = [(name, _verdict(p, ex.id)) for name, p in wrong]
        alt_verdicts = [(name, _verdict(p, ex.id)) for name, p in alternatives]
        report.run_s = round(sum(v.elapsed_s for v in [ref_verdict, *(v for _, v in wrong_verdicts + alt_verdicts)]), 2)
        report.wrong_answers_total = len(wrong)
        report.alternatives_total = len(alternatives)
        fault = _module_fault(ref_verdict)
        if fault is not None:
            error = f"{ex.id}: {fault}"
            errors.append(error)
            report.problems.append(error)
            reports.append(report)
            continue
        report.reference = "pass" if ref_verdict.passed else "fail"
        if not ref_verdict.passed:
            why = f"{ref_verdict.status}: {ref_verdict.summary}"
            report.problems.append(f"{ex.id}: the reference does not pass its own checks: {why}")
        for name, verdict in wrong_verdicts:
            if verdict.passed:
                report.problems.append(f"{ex.id}: wrong answer {name!r} passes every check (the checks are too weak)")
            elif _module_fault(verdict) is not None:
                report.problems.append(f"{ex.id}: wrong answer {name!r} was not judged: {_module_fault(verdict)}")
            else:
                report.wrong_answers_caught += 1
        for name, verdict in alt_verdicts:
            if verdict.passed:
                report.alternatives_passed += 1
            else:
                report.problems.append(f"{ex.id}: alternative {name!r} fails: {verdict.status}: {verdict.summary}")
        reports.append(report)
    order = {ex.id: i for i, ex in enumerate(exercises)}
    reports.sort(key=lambda r: order.get(r.id, len(order)))
    return VerifyReport(
        ok=not errors and all(r.ok for r in reports),
        exercises=reports,
        bank_errors=errors,
        elapsed_s=round(time.monotonic() - started, 2),
    )


def render_verify_report(report: VerifyReport) -> str:
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
