"""`llmq verify`, the judge's half: every reference passes its checks, every known-wrong answer
fails them, every alternative correct answer passes them. Runs through warm workers, several
submissions at a time; never imports torch itself. An answer module that cannot be loaded is a
bank error naming it, never a traceback or a hang of verify.
"""

from __future__ import annotations

import itertools
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from llmq.judge.client import ExerciseLike, Judge, Pending
from llmq.judge.verdict import LOADS, Verdict, judge_failure
from llmq.l10n import N_, _, ngettext

# Each bank submission is judged under each of these seeds (fixed, so a run is reproducible): a
# wrong answer must be caught under every one, the reference and alternatives pass under every one.
VERIFY_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
GPU_VERIFY_SEEDS = 2  # the GPU track's runs are slow: its exercises use the first two seeds

# How many submissions run at once: one per core, each on a worker of its own (a worker starts and
# ends sandboxes one at a time; two workers do that work side by side). Before series, runs were
# short and much of their time was waiting for a sandbox to start or end, and two per core paid
# (336 s -> 272 s). With series, a run waits little, and a second run per core only competes for
# the core: `llmq verify --track cpu` on this 2-core machine, quiet, took 79.7-81.8 s with 2
# workers x 1, 80.8 s with 1 x 2, 88.8 s with 2 x 2 and 100.1 s with 3 x 2 (the GPU track under
# TRITON_INTERPRET: 43.5 s with 2 x 1, 45.9 s with 2 x 2). Capped: each worker holds torch in
# memory (~250 MB), and each run a sandbox.
RUNS_PER_CORE = 1
JOBS_PER_WORKER = 1
MAX_RUNS = 8


def parallelism(cores: int | None) -> tuple[int, int]:
    """(workers, jobs per worker) for `llmq verify` on a machine with `cores` cores."""
    runs = max(JOBS_PER_WORKER, min(MAX_RUNS, RUNS_PER_CORE * (cores or 1)))
    return runs // JOBS_PER_WORKER, JOBS_PER_WORKER


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
    cpu_s: float = 0.0  # CPU time of their harness and sandbox processes (what a busy machine cannot hide)

    @property
    def ok(self) -> bool:
        return not self.problems and self.reference == "pass"


@dataclass
class VerifyReport:
    ok: bool
    exercises: list[ExerciseReport]
    bank_errors: list[str]
    elapsed_s: float = 0.0
    workers: int = 1  # judge workers used
    jobs: int = 1  # submissions judged at once, all workers together

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


def _series(pending: Pending, exercise: str, seeds: tuple[int, ...]) -> dict[int, Verdict]:
    """The verdicts of a series by seed: the seeds it judged, in order (Judge.submit with
    `seeds`); at least the first, with a verdict saying why when the judge gave none."""
    try:
        value = pending.result()
    except Exception as exc:  # noqa: BLE001 - the worker gave up, was closed, or answered an error
        return {seeds[0]: judge_failure(exercise, "crash", f"no verdict from the judge: {type(exc).__name__}: {exc}")}
    values = value if isinstance(value, list) else [value]
    judged = {s: v for s, v in zip(seeds, values) if isinstance(v, Verdict)}
    if seeds[0] not in judged:
        judged[seeds[0]] = judge_failure(exercise, "crash", f"the judge answered {type(value).__name__}, not verdicts")
    return judged


def _module_fault(verdict: Verdict) -> str | None:
    """The harness's message when the answer module itself did not load, else None."""
    for check in verdict.checks:
        if check.name == MODULE_LOADS_CHECK and check.status == "fail":
            return check.message or verdict.summary or "the answer module did not load"
    return None


def _load_failure(verdict: Verdict, function: str) -> str | None:
    """The first line of the message when the submission itself did not load (a syntax error, no
    such function, raised at import), else None."""
    failed = next((c for c in verdict.checks if c.status == "fail"), None)
    if failed is None or failed.name != LOADS.format(function=function):
        return None
    return (failed.message.strip().splitlines() or ["it did not load"])[-1]


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


Runs = list[tuple[int, Verdict]]  # (seed, its verdict)


def _seeds_for(ex: ExerciseLike, seeds: tuple[int, ...]) -> tuple[int, ...]:
    return seeds[:GPU_VERIFY_SEEDS] if getattr(ex, "track", "cpu") == "gpu" else seeds


def _submissions(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of every bank submission of one exercise: the reference, its wrong answers,
    its alternatives."""
    return (
        [("reference", "")]
        + [("wrong", str(name)) for name in plan["wrong_answers"]]
        + [("alternative", str(name)) for name in plan["alternatives"]]
    )


def _queue_rank(ex: ExerciseLike, kind: str) -> int:
    """Which runs go to the worker first: the longest. A GPU-track run interprets Triton kernels
    or forks ranks (seconds to tens of seconds), and a reference or alternative runs every check,
    while a wrong answer stops at its first failing check."""
    gpu = getattr(ex, "track", "cpu") == "gpu"
    full = kind != "wrong"
    return {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[(gpu, full)]


def _dispatch(judges: list[Judge], runs: list[Callable[[Judge], Pending]]) -> list[Pending]:
    """Start every run, in order, on whichever judge has a slot free: each judge holds as many as
    it runs at once plus one waiting (so its worker never waits for us), and the next run goes
    where one finished. Runs vary from milliseconds to a minute, so handing them all out at the
    start would leave one worker busy while the other has none left. Returns the runs' pendings,
    in order, without waiting for the last ones."""
    free: queue.SimpleQueue[Judge] = queue.SimpleQueue()
    slots = {id(j): getattr(j, "jobs", 1) + 1 for j in judges}
    for turn in range(max(slots.values())):
        for j in judges:  # interleaved: the first runs go to every judge in turn
            if turn < slots[id(j)]:
                free.put(j)
    started = []
    for start in runs:
        j = free.get()
        pending = start(j)
        pending.add_done_callback(lambda _done, j=j: free.put(j))  # type: ignore[misc]
        started.append(pending)
    return started


def _seed_list(seeds: Iterable[int]) -> str:
    found = sorted(seeds)
    return f"seed{'s' if len(found) != 1 else ''} {', '.join(str(s) for s in found)}"


def verify(
    exercises: Iterable[ExerciseLike],
    judge: Judge | Sequence[Judge],
    bank_errors: Iterable[str] = (),
    seeds: tuple[int, ...] = VERIFY_SEEDS,
) -> VerifyReport:
    """Judge every bank-provided submission of every exercise under every seed (GPU track: the
    first two) on `judge` (or spread over several judges, each its own worker); collect what does
    not hold.

    Each submission's seeds are judged as one series, in one sandbox, the submission loaded
    afresh for each seed (Judge.submit with `seeds`); each seed's verdict is the one a run of its
    own would give (tests/judge/test_series.py), and `llmq check --seed N` reproduces it.

    A wrong answer caught under some seeds only is a bank error naming the exercise, the answer
    and the seeds it passes under: its checks catch it by luck. An answer module that cannot be
    loaded (it raises or hangs at import, or declares no checks) is a bank error naming it: its
    exercise is reported as failing, and verify goes on with the rest.
    """
    started = time.monotonic()
    judges = list(judge) if isinstance(judge, Sequence) else [judge]
    if not judges:
        raise ValueError("verify() needs at least one judge")
    turns = itertools.cycle(judges)  # taken in turn: every worker gets long runs first, short ones last
    errors = list(bank_errors)
    exercises = list(exercises)
    described = [(ex, next(turns).submit_describe(ex.answer_path)) for ex in exercises]  # in parallel
    reports: list[ExerciseReport] = []
    plans: list[tuple[ExerciseLike, dict[str, Any]]] = []
    for ex, pending in described:
        plan, error = _describe(ex, pending)
        if plan is None:
            errors.append(str(error))
            reports.append(ExerciseReport(id=ex.id, reference="fail", problems=[str(error)]))
        else:
            plans.append((ex, plan))
    # Queue everything first so the worker keeps all its slots busy, the longest runs first (see
    # _queue_rank): short runs then fill the last slots, and no core idles behind one long run.
    # Each submission goes as one series (all its seeds in one sandbox: one start, one prepare,
    # one kill); the seeds a series could not judge (its sandbox ended) go again one by one.
    keys = sorted(
        ((i, kind, name) for i, (ex, plan) in enumerate(plans) for kind, name in _submissions(plan)),
        key=lambda key: (_queue_rank(plans[key[0]][0], key[1]), key[0]),  # stable: bank order within a rank
    )

    def run(kind: str, name: str, ex: ExerciseLike, series: tuple[int, ...]) -> Callable[[Judge], Pending]:
        quick = kind != "reference"  # bank answers stop at their first failing check, unshrunk
        return lambda j: j.submit(ex, submission=kind, name=name, seeds=series, shrink=not quick, stop_on_failure=quick)

    own = {i: _seeds_for(ex, seeds) for i, (ex, _) in enumerate(plans)}
    queued = _dispatch(judges, [run(kind, name, plans[i][0], own[i]) for i, kind, name in keys])
    judged = {key: _series(pending, plans[key[0]][0].id, own[key[0]]) for key, pending in zip(keys, queued)}
    again = [(key, s) for key in keys for s in own[key[0]] if s not in judged[key]]
    retried = _dispatch(judges, [run(key[1], key[2], plans[key[0]][0], (s,)) for key, s in again])
    for (key, s), pending in zip(again, retried):
        judged[key][s] = _series(pending, plans[key[0]][0].id, (s,))[s]

    for i, (ex, plan) in enumerate(plans):
        reference = [(s, judged[(i, "reference", "")][s]) for s in own[i]]
        wrong = [(name, [(s, judged[(i, "wrong", name)][s]) for s in own[i]]) for name in plan["wrong_answers"]]
        alternatives = [(name, [(s, judged[(i, "alternative", name)][s]) for s in own[i]]) for name in plan["alternatives"]]
        reports.append(_judged(ex, plan, reference, wrong, alternatives, errors))
    order = {ex.id: i for i, ex in enumerate(exercises)}
    reports.sort(key=lambda r: order.get(r.id, len(order)))
    return VerifyReport(
        ok=not errors and all(r.ok for r in reports),
        exercises=reports,
        bank_errors=errors,
        elapsed_s=round(time.monotonic() - started, 2),
        workers=len(judges),
        jobs=sum(getattr(j, "jobs", 1) for j in judges),
    )


def _judged(
    ex: ExerciseLike,
    plan: dict[str, Any],
    reference: Runs,
    wrong: list[tuple[str, Runs]],
    alternatives: list[tuple[str, Runs]],
    errors: list[str],
) -> ExerciseReport:
    """One exercise's report from its verdicts (every seed of every submission); adds bank errors
    (a module that does not load, a wrong answer caught under some seeds only) to `errors`."""
    report = ExerciseReport(id=ex.id, reference="fail", problems=[str(p) for p in plan["problems"]])
    every = [v for _, v in reference] + [v for _, vs in wrong + alternatives for _, v in vs]
    report.run_s = round(sum(v.elapsed_s for v in every), 2)
    report.cpu_s = round(sum(v.cpu_s for v in every), 2)
    report.wrong_answers_total = len(wrong)
    report.alternatives_total = len(alternatives)
    fault = next((f for f in (_module_fault(v) for _, v in reference) if f is not None), None)
    if fault is not None:
        error = f"{ex.id}: {fault}"
        errors.append(error)
        report.problems.append(error)
        return report
    failed = [(s, v) for s, v in reference if not v.passed]
    report.reference = "fail" if failed else "pass"
    for s, v in failed:
        report.problems.append(f"{ex.id}: the reference does not pass its own checks under seed {s}: {v.status}: {v.summary}")
    for name, verdicts in wrong:
        unjudged = next((f for f in (_module_fault(v) for _, v in verdicts) if f is not None), None)
        passes = [s for s, v in verdicts if v.passed]
        unloadable = next((f for f in (_load_failure(v, ex.function) for _, v in verdicts) if f is not None), None)
        if unjudged is not None:
            report.problems.append(f"{ex.id}: wrong answer {name!r} was not judged: {unjudged}")
        elif unloadable is not None:
            error = (
                f"{ex.id}: wrong answer {name!r} does not load, so it fails with no check run (it tests nothing): {unloadable}"
            )
            errors.append(error)
            report.problems.append(error)
        elif len(passes) == len(verdicts):
            report.problems.append(f"{ex.id}: wrong answer {name!r} passes every check (the checks are too weak)")
        elif passes:
            caught = [s for s, _ in verdicts if s not in passes]
            error = (
                f"{ex.id}: wrong answer {name!r} is caught only by luck: it passes every check under "
                f"{_seed_list(passes)} (caught under {_seed_list(caught)}); make a check cover its regime every run"
            )
            errors.append(error)
            report.problems.append(error)
        else:
            report.wrong_answers_caught += 1
    for name, verdicts in alternatives:
        failing = [(s, v) for s, v in verdicts if not v.passed]
        if not failing:
            report.alternatives_passed += 1
        for s, v in failing:
            report.problems.append(f"{ex.id}: alternative {name!r} fails under seed {s}: {v.status}: {v.summary}")
    return report


def render_verify_report(report: VerifyReport) -> str:
    """The readable form of `llmq verify`."""
    lines = []
    for error in report.bank_errors:
        lines.append(_("bank error: {error}").format(error=error))
    reference = {"pass": N_("passes"), "fail": N_("fails")}
    for ex in report.exercises:
        mark = "ok  " if ex.ok else "FAIL"
        line = _(
            "reference {reference}, wrong answers caught {caught}/{wrong}, alternatives passing {passing}/{alternatives} ({seconds} s)"
        ).format(
            reference=_(reference.get(ex.reference, ex.reference)),
            caught=ex.wrong_answers_caught,
            wrong=ex.wrong_answers_total,
            passing=ex.alternatives_passed,
            alternatives=ex.alternatives_total,
            seconds=f"{ex.run_s:.1f}",
        )
        lines.append(f"{mark} {ex.id}: {line}")
        lines.extend(f"     {p}" for p in ex.problems)
    total = len(report.exercises)
    bad = sum(not ex.ok for ex in report.exercises)
    held = ngettext("{held} of {total} exercise holds", "{held} of {total} exercises hold", total).format(
        held=total - bad, total=total
    )
    errors = len(report.bank_errors)
    if errors:
        held += ngettext(", {count} bank error", ", {count} bank errors", errors).format(count=errors)
    timing = ngettext(
        "{seconds} s, {jobs} submissions at a time on {workers} worker",
        "{seconds} s, {jobs} submissions at a time on {workers} workers",
        report.workers,
    ).format(seconds=f"{report.elapsed_s:.1f}", jobs=report.jobs, workers=report.workers)
    lines.append(f"{'OK' if report.ok else 'FAILED'}: {held} ({timing})")
    return "\n".join(lines)
