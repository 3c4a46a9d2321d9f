"""The harness: one process per submission, forked by the worker after the sandbox. It loads the
answer module (under its own time limit: a module that hangs is the bank's fault), prepares the
sandbox with the drivers' code only, draws the inputs (hypothesis), computes the reference,
compares, and writes the verdict with the job's nonce to the worker on a pipe the sandbox never
holds. Whatever the submission does happens in the sandbox and shows up here as an outcome of a
call: a reply, an exception, how the supervisor saw it end, silence past the deadline.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import struct
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from hypothesis import HealthCheck, Phase, Verbosity, configuration, given, seed, settings
from hypothesis import errors as hyp_errors
from hypothesis import strategies as st

from llmq.defaults import CHECK_TIMEOUT_S
from llmq.judge import answer as answer_mod
from llmq.judge import forbidden as forbidden_mod
from llmq.judge import limits as limits_mod
from llmq.judge import sandbox as sandbox_mod
from llmq.judge import sandbox_device as device_mod
from llmq.judge import warmup, wire
from llmq.judge.kit import AnswerModuleBug, CheckFailed, CheckSpec, CheckStats, Ctx, RunInfo, SandboxGone, SubmissionRaised
from llmq.judge.link import SandboxProcess, Started, start_sandbox
from llmq.judge.verdict import LOADS, NO_FORBIDDEN, CheckResult, Isolation, Verdict, finish, missing_function, worst

# Hypothesis keeps files in ./.hypothesis of the working directory it was imported in (the user's
# folder, for `llmq check`): an example database (we use none: database=None) and caches it writes
# on a best-effort basis (each module's constants, Unicode tables). llmq writes nothing outside
# LLMQ_HOME, and these caches are not worth keeping there: a home below /dev/null can never be
# created, so hypothesis computes what it would have cached and writes nothing anywhere.
HYPOTHESIS_HOME = Path(os.devnull) / "llmq-hypothesis"
configuration.set_hypothesis_home_dir(HYPOTHESIS_HOME)

DEFAULT_EXAMPLES = 10  # hypothesis examples per check unless the check says otherwise
ANSWER_LOAD_S = 10.0  # an answer module that takes longer to import is a bank bug
PRELOAD_S = 2.0  # a spare harness's guess that takes longer is given up (the check loads it)
# The harness's own address space on top of what it maps at the fork: references, inputs, and at
# most one reply frame (wire.MAX_FRAME) decoded; a forged frame cannot grow it past this.
HARNESS_MEMORY_BYTES = 3 * limits_mod.GIB


class _AnswerLoadTimeout(Exception):
    """The answer module did not finish importing within ANSWER_LOAD_S."""


def load_answer(path: str, limit_s: float = ANSWER_LOAD_S) -> answer_mod.AnswerModule:
    """Load the answer module, stopping it after `limit_s` seconds (SIGALRM in this process)."""

    def stop(signum: int, frame: Any) -> None:
        raise _AnswerLoadTimeout()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        return answer_mod.load(path)
    except _AnswerLoadTimeout:
        raise TimeoutError(f"the answer module {path} did not load within {limit_s:g} s (a bank bug; please report)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Request:
    """One check run, as the worker receives it (JSON)."""

    exercise: str
    answer_path: str
    function: str
    source: str = ""
    filename: str = "solution.py"
    seed: int = 0
    timeout_s: float = CHECK_TIMEOUT_S
    memory_bytes: int = limits_mod.GIB * 2
    examples: int | None = None  # per check; None: DEFAULT_EXAMPLES or the check's own
    shrink: bool = True
    stop_on_failure: bool = False
    submission: str = "source"  # source | reference | wrong | alternative
    name: str = ""  # which wrong answer or alternative
    track: str = "cpu"  # "gpu": the sandbox may need the GPU and, without full isolation, sockets (gloo)
    # `llmq verify`: judge under each of these seeds in turn, in one sandbox (one start, one
    # prepare, one kill instead of one each); the submission is loaded afresh for every seed, and
    # each seed has the whole `timeout_s`. Empty: `seed` only.
    seeds: list[int] = field(default_factory=list)

    @property
    def series(self) -> list[int]:
        """The seeds to judge under, in order."""
        return list(self.seeds) or [self.seed]

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
        except (CheckFailed, SubmissionRaised, AnswerModuleBug) as exc:
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
        if box.dead is not None:
            # The sandbox ended (or the deadline passed between examples) while hypothesis ran:
            # that is the outcome, whatever hypothesis made of it (an example that stops before
            # its first draw reads to it as FlakyStrategyDefinition).
            raise box.dead from None
        exc = _unwrap(raw)
        if failures and not isinstance(exc, (CheckFailed, SubmissionRaised, AnswerModuleBug)):
            # Shrinking was cut short (or hypothesis complained about the cut): the last failure
            # seen is the smallest example found so far.
            exc = failures[-1]
        if isinstance(exc, SandboxGone):
            raise exc from None
        # A wrong answer or an exception of the submission's: the cards that teach what this check
        # tests go with it (not for a fault of the answer module's, or the judge's).
        if isinstance(exc, CheckFailed):
            return "fail", CheckResult(spec.title, "fail", str(exc), exc.detail, teaches=list(spec.teaches))
        if isinstance(exc, SubmissionRaised):
            return "error", CheckResult(spec.title, "fail", str(exc), exc.detail, teaches=list(spec.teaches))
        if isinstance(exc, AnswerModuleBug):
            return "error", CheckResult(spec.title, "fail", f"the answer module is wrong (please report): {exc}", exc.detail)
        if isinstance(exc, hyp_errors.Unsatisfiable):
            return "error", CheckResult(spec.title, "fail", f"the answer module is wrong (please report): no usable input: {exc}")
        return "error", CheckResult(
            spec.title,
            "fail",
            f"the check itself raised {type(exc).__name__}: {exc} (a bug in {answer.path.name}; please report)",
        )
    if stats.comparisons and not stats.informative:
        return "error", CheckResult(
            spec.title,
            "fail",
            "the answer module is wrong (please report): every comparison in this check would also accept an all-zero output",
        )
    return "pass", CheckResult(spec.title, "pass", "\n".join(dict.fromkeys(stats.notes)))  # ctx.note()s, once each


@dataclass
class Preloaded:
    """An answer module a spare harness loaded while it waited, on the guess that the next check
    is of the same exercise as the last (`llmq check --watch`, the app's editor, `llmq verify`
    running an exercise's reference, wrong answers and alternatives in a row); with what a check
    of it derives from the file: the reference as a solution file, the driver bundle."""

    path: str
    text: bytes  # the file as it was loaded: a check uses this only while the file still reads so
    answer: answer_mod.AnswerModule
    function: str
    reference: str
    bundle: answer_mod.DriverBundle

    def serves(self, request: Request) -> bool:
        if request.answer_path != self.path:
            return False
        try:
            return Path(self.path).read_bytes() == self.text
        except OSError:
            return False


def preload(path: str, function: str) -> Preloaded | None:
    """Load an answer module ahead of its check; None if anything goes wrong (the check then loads
    it itself and reports what went wrong, as always)."""
    try:
        text = Path(path).read_bytes()
        answer = load_answer(path, PRELOAD_S)  # a slow one is left to its check (and its limit)
        if Path(path).read_bytes() != text:
            return None
        reference = answer_mod.submission_source(answer, "reference", "", function)
        bundle = answer_mod.driver_bundle(answer, ship_timing_files=device_mod.cuda_usable())
    except Exception:
        return None
    return Preloaded(path, text, answer, function, reference, bundle)


def judge(request: Request, started: Started, preloaded: Preloaded | None = None) -> list[Verdict]:
    """The whole run for one submission, in the sandbox `started` (waiting for "prepare"): one
    verdict per seed of `request.series`, in order, and fewer when the sandbox could not go on
    (it ended: a timeout, a crash, the memory limit) or the submission could not be loaded; the
    caller judges the seeds left in sandboxes of their own. Never raises for anything the
    submission does. Kills the sandbox before it returns."""
    try:
        return _judge(request, started, preloaded if preloaded and preloaded.serves(request) else None)
    finally:
        started.kill()


def _bank_error(verdict: Verdict, title: str, message: str, started_at: float) -> list[Verdict]:
    verdict.status = "error"
    verdict.checks.append(CheckResult(title, "fail", message))
    return [_finish(verdict, started_at)]


def _judge(request: Request, started: Started, preloaded: Preloaded | None) -> list[Verdict]:
    started_at = time.monotonic()
    isolation: Isolation = "full" if started.isolation == "full" else "limits-only"
    seeds = request.series
    verdict = Verdict(exercise=request.exercise, status="pass", seed=seeds[0], isolation=isolation)
    try:
        answer = preloaded.answer if preloaded else load_answer(request.answer_path)
    except TimeoutError as exc:
        return _bank_error(verdict, "answer module loads", str(exc), started_at)
    except Exception as exc:
        message = f"{request.answer_path}: {type(exc).__name__}: {exc} (a bank bug; please report)"
        return _bank_error(verdict, "answer module loads", message, started_at)
    try:
        if request.submission == "source":
            source = request.source
        elif request.submission == "reference" and preloaded and preloaded.function == request.function:
            source = preloaded.reference
        else:
            source = answer_mod.submission_source(answer, request.submission, request.name, request.function)
        bundle = preloaded.bundle if preloaded else answer_mod.driver_bundle(answer, ship_timing_files=device_mod.cuda_usable())
    except Exception as exc:
        return _bank_error(verdict, "answer module loads", f"{type(exc).__name__}: {exc} (a bank bug; please report)", started_at)
    memory = device_mod.sandbox_memory_bytes(answer.module, request.memory_bytes)  # GPU track: more, or none on CUDA
    if memory < device_mod.UNLIMITED:  # on CUDA the harness may map the driver's reservations too
        limits_mod.limit_address_space(HARNESS_MEMORY_BYTES + memory)
    titles = [NO_FORBIDDEN, LOADS.format(function=request.function)] + [c.title for c in answer.checks]
    verdict.titles = {"zh": {c.title: c.title_zh for c in answer.checks if c.title_zh}}
    deadline = time.monotonic() + request.timeout_s  # the submission's time starts here

    def skip_rest(verdict: Verdict) -> None:
        done = len(verdict.checks)
        verdict.checks.extend(CheckResult(t, "skip", "") for t in titles[done:])

    # Whatever fails before the sandbox runs anything fails alike under every seed (nothing drawn
    # or called): the same verdict for each.
    try:
        compile(source, request.filename, "exec")
    except SyntaxError as exc:
        verdict.status = "error"
        verdict.checks.append(CheckResult(NO_FORBIDDEN, "skip", ""))
        verdict.checks.append(CheckResult(titles[1], "fail", sandbox_mod.trimmed_traceback(exc, request.filename)))
        skip_rest(verdict)
        return _every_seed(_finish(verdict, started_at), seeds)
    found = forbidden_mod.scan(source, answer.forbidden)
    if found:
        verdict.status = "fail"
        verdict.checks.append(CheckResult(NO_FORBIDDEN, "fail", "\n".join(f.message() for f in found)))
        skip_rest(verdict)
        return _every_seed(_finish(verdict, started_at), seeds)

    # The sandbox's CPU limit covers every seed of the series; each seed has its own deadline.
    limits = limits_mod.Limits(timeout_s=request.timeout_s * len(seeds), memory_bytes=memory)
    box = SandboxProcess(started, request.timeout_s, deadline, memory)
    verdicts: list[Verdict] = []
    try:
        box.prepare(
            {
                "bundle": bundle.source,
                "bundle_file": bundle.filename,
                "drivers": list(bundle.names),
                "files": bundle.files,
                "forbidden": list(answer.forbidden),
                "cpu_s": limits.cpu_seconds(),
                "memory_bytes": memory if memory < device_mod.UNLIMITED else -1,  # -1: jail.UNLIMITED (CUDA)
                "file_bytes": limits.file_bytes,
            }
        )
        for index, current in enumerate(seeds):
            if index:
                verdict = Verdict(exercise=request.exercise, status="pass", seed=current, isolation=isolation)
                verdict.titles = verdicts[0].titles
                started_at = time.monotonic()
                box.deadline = started_at + request.timeout_s
            verdicts.append(verdict)
            verdict.checks.append(CheckResult(NO_FORBIDDEN, "pass", ""))
            printed = box.printed()  # what this seed prints is its own
            going_on = _run_seed(replace(request, seed=current, seeds=[]), answer, box, verdict, titles[1], source)
            box.printed()
            verdict.stdout = box.output.text(since=printed)
            skip_rest(verdict)
            _finish(verdict, started_at)
            if not going_on:
                break
    except (AnswerModuleBug, SandboxGone) as exc:  # while being prepared: nothing was judged
        box.close()
        verdict.checks.append(CheckResult(NO_FORBIDDEN, "pass", ""))
        if isinstance(exc, AnswerModuleBug):  # its drivers do not run
            verdict.status = "error"
            verdict.checks.append(CheckResult(titles[1], "fail", f"the answer module is wrong (please report): {exc}"))
        else:
            verdict.status = worst(verdict.status, exc.status)  # type: ignore[assignment]
            verdict.checks.append(CheckResult(titles[1], "fail", exc.message))
        verdict.stdout = box.output.text()
        skip_rest(verdict)
        verdicts = [_finish(verdict, started_at)]
    finally:
        box.close()
    return verdicts


def _every_seed(verdict: Verdict, seeds: list[int]) -> list[Verdict]:
    """A verdict reached before the solution ran (nothing drawn or called), for each seed."""
    verdict.ran = False
    return [replace(verdict, seed=s) for s in seeds]


def _run_seed(
    request: Request, answer: answer_mod.AnswerModule, box: SandboxProcess, verdict: Verdict, loads: str, source: str
) -> bool:
    """Load the submission (afresh: its module's globals start over) and run the checks under
    `request.seed`, filling `verdict`. Whether the sandbox can judge another seed: not after it
    ended, nor when the submission does not load."""
    titles = [NO_FORBIDDEN, loads] + [c.title for c in answer.checks]
    try:
        reply = box.load(source, request.filename, request.function)
        if reply[0] != "loaded":
            verdict.status = "error"
            verdict.checks.append(CheckResult(loads, "fail", _load_message(reply, request)))
            return False
        verdict.checks.append(CheckResult(loads, "pass", ""))
        for spec in answer.checks:
            status, result = run_check(spec, request, answer, box)
            verdict.checks.append(result)
            verdict.status = worst(verdict.status, status)  # type: ignore[assignment]
            # After a wrong answer the other checks still say something; after an exception
            # they would mostly raise again, slowly.
            if status != "pass" and (request.stop_on_failure or status != "fail"):
                break
    except AnswerModuleBug as exc:
        verdict.status = "error"
        verdict.checks.append(CheckResult(loads, "fail", f"the answer module is wrong (please report): {exc}"))
        return False
    except SandboxGone as gone:
        verdict.status = worst(verdict.status, gone.status)  # type: ignore[assignment]
        name = titles[len(verdict.checks)] if len(verdict.checks) < len(titles) else "judge"
        verdict.checks.append(CheckResult(name, "fail", gone.message))
        return False
    return True


def _load_message(reply: tuple[Any, ...], request: Request) -> str:
    kind = reply[0]
    if kind == "missing":
        return missing_function(request.filename, request.function, list(reply[1]))
    if kind == "raised":
        return f"raised {reply[1]} while loading:\n{reply[2]}"
    if kind == "exit":
        return f"called sys.exit({reply[1]}) while loading"
    if kind == "forbidden":
        return f"called {reply[1]}, which this exercise forbids, while loading"
    return f"unexpected reply while loading: {kind}"


def _finish(verdict: Verdict, started: float) -> Verdict:
    return finish(verdict, time.monotonic() - started)


def _enter(keep: set[int]) -> None:
    """The harness process's own setup, however it was started."""
    limits_mod.make_undumpable()
    os.setpgid(0, 0)  # the worker kills this group on timeout or cancel
    limits_mod.die_with_parent()
    limits_mod.close_fds_except(keep)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    torch.set_num_threads(1)
    # Nothing relative lands in the user's folder; "/" rather than the temporary folder, whose
    # first look-up writes a probe file there (left behind if a spare is ended at that moment).
    os.chdir("/")


def _judge_and_reply(request: Request, started: Started, nonce: str, verdict_fd: int, preloaded: Preloaded | None = None) -> None:
    first, *more = judge(request, started, preloaded)
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the worker acts on the line before we exit
    # Ours, and the sandbox's processes as judge() read them when it killed them.
    line = {"nonce": nonce, "verdict": first.to_dict(), "cpu_s": usage.ru_utime + usage.ru_stime + started.cpu_s}
    if more:  # a series (Request.seeds): the verdicts of the seeds after the first
        line["series"] = [v.to_dict() for v in more]
    wire.write_all(verdict_fd, json.dumps(line).encode() + b"\n")


def main(request: Request, started: Started, nonce_fd: int, verdict_fd: int) -> None:
    """Entry point in the freshly forked harness process; never returns. The job's nonce arrives
    on `nonce_fd` (the worker keeps it where no forked process finds it); the verdict goes to the
    worker as one JSON line carrying it, on `verdict_fd`, which the sandbox never had."""
    code = 0
    try:
        nonce = wire.read_exact(nonce_fd, 16).hex()
        os.close(nonce_fd)
        _enter({verdict_fd} | started.fds)
        _judge_and_reply(request, started, nonce, verdict_fd)
    except BaseException:
        traceback.print_exc()  # reaches a terminal only with LLMQ_JUDGE_DEBUG set (client.py)
        code = 70  # the worker reports a harness that wrote no verdict
    finally:
        started.kill()
    os._exit(code)


def wait_for_job(started: Started, job_fd: int, verdict_fd: int, guess: tuple[str, str] | None = None) -> None:
    """Entry point of a spare harness, forked by the worker with its spare sandbox while no check
    waits; never returns. It gets ready (its setup; the answer module of `guess`, the (answer
    path, function) of the worker's last check; warmup's first-use costs; each unless the job has
    come), then reads its one job on `job_fd`: the nonce (16 bytes), then the request as JSON in
    a frame (8-byte length first: other children of the worker may hold the pipe's other end, so
    no end of file marks the end). From there on it is `main`. End of file before a job: the
    spare was not needed."""
    code = 0
    try:
        _enter({verdict_fd, job_fd} | started.fds)

        def job_waiting() -> bool:
            return bool(select.select([job_fd], [], [], 0)[0])

        preloaded = preload(*guess) if guess and not job_waiting() else None
        if not job_waiting():  # each warm-up runs whole (hypothesis's runs cannot be cut short)
            warmup.hypothesis_engine()
        if not job_waiting():
            warmup.tensors()
        nonce = wire.read_exact(job_fd, 16).hex()
        (size,) = struct.unpack("<Q", wire.read_exact(job_fd, 8))
        request = Request.from_dict(json.loads(wire.read_exact(job_fd, size)))
        os.close(job_fd)
        _judge_and_reply(request, started, nonce, verdict_fd, preloaded)
    except EOFError:
        pass  # no job came: the worker let this spare go
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        started.kill()
    os._exit(code)


def judge_here(request: Request) -> Verdict:
    """Judge in this process (a fresh one: the benchmark's naive way): start a sandbox from here
    before the answer module loads, then run the checks as the harness does."""
    started = start_sandbox(network=request.track == "gpu")
    try:
        return judge(request, started)[0]
    finally:
        started.kill()  # this process started it: also collects it
        started.jail.close()


def describe(answer_path: str) -> dict[str, Any]:
    """What `llmq verify` needs to know about an answer module (run in a forked child too)."""
    answer = load_answer(str(Path(answer_path)))
    return {
        "checks": [c.title for c in answer.checks],
        "teaches": {c.title: list(c.teaches) for c in answer.checks if c.teaches},  # check title -> card ids
        "wrong_answers": list(answer.wrong_answers),
        "alternatives": list(answer.alternatives),
        "forbidden": list(answer.forbidden),
        "problems": answer_mod.problems(answer),
    }
