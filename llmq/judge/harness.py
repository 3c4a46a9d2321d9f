"""The harness: one process per submission, forked by the worker. It forks the sandbox, draws the
inputs (hypothesis), computes the reference, compares, and writes the verdict to the worker on a
pipe the sandbox never holds. Whatever the submission does happens in the sandbox and shows up
here as an outcome of a call: a reply, an exception, a signal, silence past the deadline.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import errors as hyp_errors
from hypothesis import strategies as st

from llmq.judge import answer as answer_mod
from llmq.judge import forbidden as forbidden_mod
from llmq.judge import limits as limits_mod
from llmq.judge import sandbox as sandbox_mod
from llmq.judge.link import SandboxProcess
from llmq.judge import wire
from llmq.judge.kit import BankError, CheckFailed, CheckSpec, CheckStats, Ctx, RunInfo, SandboxGone, SubmissionRaised
from llmq.judge.verdict import CheckResult, Verdict, worst

DEFAULT_EXAMPLES = 10  # hypothesis examples per check unless the check says otherwise


@dataclass
class Request:
    """One check run, as the worker receives it (JSON)."""

    exercise: str
    answer_path: str
    function: str
    source: str = ""
    filename: str = "solution.py"
    seed: int = 0
    timeout_s: float = 10.0
    memory_bytes: int = limits_mod.GIB * 2
    examples: int | None = None  # per check; None: DEFAULT_EXAMPLES or the check's own
    shrink: bool = True
    stop_on_failure: bool = False
    submission: str = "source"  # source | reference | wrong | alternative
    name: str = ""  # which wrong answer or alternative

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Request:
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


# --- running the checks ------------------------------------------------------------------------


def _unwrap(exc: BaseException) -> BaseException:
    """Hypothesis may wrap failures (flaky or multiple); take the first real one."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class _ShrinkBudgetSpent(BaseException):
    """Raised between examples once shrinking has used its time: report the smallest failure so far."""


def shrink_budget_s(timeout_s: float) -> float:
    """How long a failing check may spend shrinking its example, leaving time for the others."""
    return min(2.0, timeout_s / 5)


def run_check(spec: CheckSpec, request: Request, answer: answer_mod.AnswerModule, box: SandboxProcess) -> tuple[str, CheckResult]:
    """Run one check under hypothesis. Returns (outcome status, result line). Raises SandboxGone."""
    stats = CheckStats()
    info = RunInfo(request.exercise, request.seed, request.function)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if request.shrink else [])
    failures: list[BaseException] = []  # each new one is a smaller example (the shrinker's way)
    first_failure_at = [0.0]
    budget = shrink_budget_s(request.timeout_s)

    @seed(request.seed)
    @settings(
        max_examples=request.examples or spec.examples or DEFAULT_EXAMPLES,
        database=None,
        deadline=None,
        derandomize=False,
        phases=phases,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(st.data())
    def test(data: Any) -> None:
        now = time.monotonic()
        if now > box.deadline:
            box.expire("timeout", f"timed out: the checks took longer than {request.timeout_s:g} s")
        if failures and now - first_failure_at[0] > budget:
            raise _ShrinkBudgetSpent()
        try:
            spec.fn(Ctx(data=data, link=box, module=answer.module, stats=stats, info=info))
        except (CheckFailed, SubmissionRaised, BankError) as exc:
            if not failures:
                first_failure_at[0] = time.monotonic()
            failures.append(exc)
            raise

    # With a database key set, hypothesis skips hashing this function's source (~4 ms a check);
    # there is no database (database=None), so the key is never used.
    test._hypothesis_internal_database_key = b"llmq"  # type: ignore[attr-defined]

    try:
        test()
    except SandboxGone:
        raise
    except BaseException as raw:
        exc = _unwrap(raw)
        if failures and not isinstance(exc, (CheckFailed, SubmissionRaised, BankError)):
            # Shrinking was cut short (or hypothesis complained about the cut): the last failure
            # seen is the smallest example found so far.
            exc = failures[-1]
        if isinstance(exc, SandboxGone):
            raise exc
        if isinstance(exc, CheckFailed):
            return "fail", CheckResult(spec.title, "fail", str(exc))
        if isinstance(exc, SubmissionRaised):
            return "error", CheckResult(spec.title, "fail", str(exc))
        if isinstance(exc, BankError):
            return "error", CheckResult(spec.title, "fail", f"the answer module is wrong (please report): {exc}")
        if isinstance(exc, hyp_errors.Unsatisfiable):
            return "error", CheckResult(spec.title, "fail", f"the answer module is wrong (please report): no usable input: {exc}")
        return "error", CheckResult(
            spec.title, "fail", f"the check itself raised {type(exc).__name__}: {exc} (a bug in {answer.path.name}; please report)"
        )
    if stats.comparisons and not stats.informative:
        return "error", CheckResult(
            spec.title,
            "fail",
            "the answer module is wrong (please report): every comparison in this check would also accept an all-zero output",
        )
    return "pass", CheckResult(spec.title, "pass", "\n".join(dict.fromkeys(stats.notes)))  # ctx.note()s, once each


LOADS = "solution loads and defines `{function}`"
NO_FORBIDDEN = "uses no forbidden call"


def judge(request: Request) -> Verdict:
    """The whole run for one submission. Never raises for anything the submission does."""
    started = time.monotonic()
    deadline = started + request.timeout_s
    verdict = Verdict(exercise=request.exercise, status="pass", seed=request.seed)
    try:
        answer = answer_mod.load(request.answer_path)
        source = request.source if request.submission == "source" else answer_mod.submission_source(answer, request.submission, request.name, request.function)
    except Exception as exc:
        verdict.status = "error"
        verdict.checks.append(CheckResult("answer module loads", "fail", f"{request.answer_path}: {type(exc).__name__}: {exc} (a bank bug; please report)"))
        return _finish(verdict, started)
    titles = [NO_FORBIDDEN, LOADS.format(function=request.function)] + [c.title for c in answer.checks]

    def skip_rest() -> None:
        done = len(verdict.checks)
        verdict.checks.extend(CheckResult(t, "skip", "") for t in titles[done:])

    try:
        compile(source, request.filename, "exec")
    except SyntaxError as exc:
        verdict.status = "error"
        verdict.checks.append(CheckResult(NO_FORBIDDEN, "skip", ""))
        verdict.checks.append(CheckResult(titles[1], "fail", sandbox_mod.trimmed_traceback(exc, request.filename)))
        skip_rest()
        return _finish(verdict, started)
    found = forbidden_mod.scan(source, answer.forbidden)
    if found:
        verdict.status = "fail"
        verdict.checks.append(CheckResult(NO_FORBIDDEN, "fail", "\n".join(f.message() for f in found)))
        skip_rest()
        return _finish(verdict, started)
    verdict.checks.append(CheckResult(NO_FORBIDDEN, "pass", ""))

    workdir = tempfile.mkdtemp(prefix="llmq-sandbox-")
    box = SandboxProcess(request.timeout_s, request.memory_bytes, answer, deadline, workdir)
    try:
        reply = box.load(source, request.filename, request.function)
        if reply[0] != "loaded":
            verdict.status = "error"
            verdict.checks.append(CheckResult(titles[1], "fail", _load_message(reply, request)))
            skip_rest()
            return _finish(verdict, started)
        verdict.checks.append(CheckResult(titles[1], "pass", ""))
        for spec in answer.checks:
            status, result = run_check(spec, request, answer, box)
            verdict.checks.append(result)
            verdict.status = worst(verdict.status, status)  # type: ignore[assignment]
            # After a wrong answer the other checks still say something; after an exception
            # they would mostly raise again, slowly.
            if status != "pass" and (request.stop_on_failure or status != "fail"):
                break
    except SandboxGone as gone:
        verdict.status = worst(verdict.status, gone.status)  # type: ignore[assignment]
        name = titles[len(verdict.checks)] if len(verdict.checks) < len(titles) else "judge"
        verdict.checks.append(CheckResult(name, "fail", gone.message))
    finally:
        box.close()
        verdict.stdout = box.output.text()
        shutil.rmtree(workdir, ignore_errors=True)
    skip_rest()
    return _finish(verdict, started)


def _load_message(reply: tuple, request: Request) -> str:
    kind = reply[0]
    if kind == "missing":
        defined = ", ".join(reply[1]) or "no functions"
        return f"{request.filename} defines no function named `{request.function}` (it defines: {defined})"
    if kind == "raised":
        return f"raised {reply[1]} while loading:\n{reply[2]}"
    if kind == "exit":
        return f"called sys.exit({reply[1]}) while loading"
    if kind == "forbidden":
        return f"called {reply[1]}, which this exercise forbids, while loading"
    return f"unexpected reply while loading: {kind}"


def _finish(verdict: Verdict, started: float) -> Verdict:
    verdict.elapsed_s = round(time.monotonic() - started, 4)
    bad = next((c for c in verdict.checks if c.status == "fail"), None)
    passed = sum(c.status == "pass" for c in verdict.checks)
    verdict.notes = [line for c in verdict.checks if c.status == "pass" and c.message for line in c.message.splitlines()]
    verdict.summary = f"{bad.name}: {bad.message.splitlines()[0] if bad.message else 'failed'}" if bad else f"all {passed} checks passed"
    if verdict.status == "pass" and bad:
        verdict.status = "fail"
    return verdict


def main(request: Request, verdict_fd: int) -> None:
    """Entry point in the freshly forked harness process; never returns."""
    code = 0
    try:
        os.setpgid(0, 0)  # the worker kills this group (harness and sandbox) on timeout or cancel
        limits_mod.die_with_parent()
        limits_mod.close_fds_except({verdict_fd})
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):
            os.dup2(devnull, fd)
        torch.set_num_threads(1)
        os.chdir(tempfile.gettempdir())
        verdict = judge(request)
        wire.write_all(verdict_fd, json.dumps(verdict.to_dict()).encode() + b"\n")
    except BaseException:
        code = 70  # the worker reports a harness that wrote no verdict
    os._exit(code)


def describe(answer_path: str) -> dict[str, Any]:
    """What `llmq verify` needs to know about an answer module (run in a forked child too)."""
    answer = answer_mod.load(Path(answer_path))
    return {
        "checks": [c.title for c in answer.checks],
        "wrong_answers": list(answer.wrong_answers),
        "alternatives": list(answer.alternatives),
        "forbidden": list(answer.forbidden),
        "problems": answer_mod.problems(answer),
    }
