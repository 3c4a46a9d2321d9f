"""The judge as the command line and the app use it: a warm worker process behind a small API.

    judge = Judge()                      # starts the worker in the background, returns at once
    verdict = judge.check(exercise, Path("solution.py"), seed=7)
    pending = judge.submit(exercise, source_text); pending.cancel()
    judge.close()

This module never imports torch (the app's process must not): the worker does, in its own process.
`exercise` is anything with `id`, `answer_path`, `function` and `timeout_s` (a bank CodeExercise
or an ExerciseRef). If the worker dies it is restarted and the checks in flight are sent again once.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import llmq
from llmq.defaults import CHECK_TIMEOUT_S
from llmq.errors import LlmqError
from llmq.judge.messages import translate
from llmq.judge.verdict import Verdict, judge_failure
from llmq.l10n import _

_PACKAGE_ROOT = str(Path(llmq.__file__).resolve().parent.parent)


class ExerciseLike(Protocol):
    """What the judge reads of an exercise (read-only: a bank record is frozen)."""

    @property
    def id(self) -> str: ...
    @property
    def answer_path(self) -> Path: ...
    @property
    def function(self) -> str: ...
    @property
    def timeout_s(self) -> float: ...


@dataclass(frozen=True)
class ExerciseRef:
    """The judge's view of a code exercise, when no bank record is at hand."""

    id: str
    answer_path: Path
    function: str
    timeout_s: float = CHECK_TIMEOUT_S
    track: str = "cpu"  # "gpu" for the GPU track (the sandbox may need the GPU, and sockets for gloo)


class Cancelled(Exception):
    """The check was cancelled before it finished."""


class JudgeUnavailable(LlmqError):
    """The worker could not be started or answered with an error."""

    title = "Judge"


class Pending:
    """A request in flight. `result()` waits for it."""

    def __init__(self, judge: Judge, rid: int, message: dict[str, Any]) -> None:
        self._judge = judge
        self.id = rid
        self.message = message
        self.attempts = 1
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[Pending], None]] = []
        self._value: Any = None
        self._error: BaseException | None = None
        # A series (submit with `seeds`) resolves to a list of verdicts, one per seed judged.
        self.series = bool(message.get("request", {}).get("seeds"))

    def _resolve(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        with self._lock:
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def add_done_callback(self, fn: Callable[[Pending], None]) -> None:
        """Call `fn(self)` once the answer is in (at once if it is): on the judge's reader
        thread, so `fn` must be quick and must not raise."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> Any:
        if not self._done.wait(timeout):
            raise TimeoutError(f"no answer from the judge within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None:
        self._judge.cancel(self)


MAX_SOURCE_BYTES = 1024 * 1024  # a solution file larger than this is refused before it is read


class SourceRefused(ValueError):
    """The solution path is not a regular file, or is too large, to be read as a solution."""


def read_source(source: str | Path) -> tuple[str, str]:
    """(text, filename): a Path is read from disk; a str is the source itself. A path that is not
    a regular file (a device such as /dev/zero, a FIFO, a folder) or is over 1 MiB is refused
    before anything is read."""
    if not isinstance(source, Path):
        return source, "solution.py"
    fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceRefused(_("{path} is not a regular file; give the path of a Python file").format(path=source))
        if info.st_size > MAX_SOURCE_BYTES:
            raise SourceRefused(
                _("{path} is {size} bytes; a solution file may be at most 1 MiB").format(path=source, size=info.st_size)
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SOURCE_BYTES:  # it grew while we read it
        raise SourceRefused(_("{path} is over 1 MiB; a solution file may be at most 1 MiB").format(path=source))
    return data.decode("utf-8"), str(source)


# What the worker's environment keeps of ours: what Python, torch, Triton, CUDA and the jail need.
# Nothing else goes in: every sandbox is forked from the worker, and a secret in its environment
# (an API token of the shell that ran llmq) would be in the memory of every submission.
_ENV_NAMES = ("PATH", "HOME", "TMPDIR", "LANG", "TZ", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES")
_ENV_PREFIXES = (
    "LC_",
    "LLMQ_",
    "TRITON_",
    "CUDA_",
    "NCCL_",
    "NVIDIA_",
    "GLOO_",
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "TORCH_",
    "PYTORCH_",
    "TORCHINDUCTOR_",
)


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the worker is started with: ours, minus everything it does not need."""
    return {k: v for k, v in environ.items() if k in _ENV_NAMES or k.startswith(_ENV_PREFIXES)}


class Judge:
    """A client of one worker process (see worker.py for the protocol)."""

    def __init__(self, jobs: int = 1, start: bool = True, python: str | None = None) -> None:
        self.jobs = jobs
        self.python = python or sys.executable
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, Pending] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._closing = False
        self.ready = threading.Event()
        self.restarts = 0
        if start:
            self.start()

    # -- the worker process

    def start(self) -> None:
        """Start the worker if it is not running. Does not wait for it to be ready."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._spawn()

    def _spawn(self) -> None:
        env = worker_environment(os.environ)
        # One thread each: checks are tiny, and idle BLAS threads make forking riskier.
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        debug = bool(os.environ.get("LLMQ_JUDGE_DEBUG"))
        self.ready.clear()
        proc = subprocess.Popen(
            [self.python, "-m", "llmq.judge.worker", "--jobs", str(self.jobs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches the client, which closes it
        )
        self._proc = proc
        threading.Thread(target=self._read, args=(proc,), name="llmq-judge-reader", daemon=True).start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("ready"):
                self.ready.set()
                continue
            with self._lock:
                pending = self._pending.pop(message.get("id"), None)
            if pending is None:
                continue
            if "verdict" in message:
                verdicts = [Verdict.from_dict(v) for v in [message["verdict"], *message.get("series", [])]]
                pending._resolve(verdicts if pending.series else verdicts[0])
            elif "describe" in message:
                pending._resolve(message["describe"])
            elif message.get("cancelled"):
                pending._resolve(error=Cancelled(_("check {id} was cancelled").format(id=pending.id)))
            elif "pong" in message:
                pending._resolve(message)
            else:
                pending._resolve(error=JudgeUnavailable(translate(str(message.get("error", message)))))
        proc.wait()
        self._worker_died(proc)

    def _worker_died(self, proc: subprocess.Popen[bytes]) -> None:
        """Restart the worker and send what was in flight again (once); give up on the rest."""
        with self._lock:
            if self._closing or proc is not self._proc:
                return
            self.restarts += 1
            retry = [p for p in self._pending.values() if p.attempts < 2]
            give_up = [p for p in self._pending.values() if p.attempts >= 2]
            for p in give_up:
                del self._pending[p.id]
            self._spawn()
            for p in retry:
                p.attempts += 1
                self._write(p.message)
        for p in give_up:
            request = p.message.get("request", {})
            exercise = request.get("exercise", "?")
            verdict = judge_failure(
                exercise,
                "crash",
                "the judge's worker died twice while checking this; it has been restarted",
                request.get("seed", 0),
            )
            p._resolve([verdict] if p.series else verdict)

    def _write(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the reader thread sees the worker die and resends

    def _send(self, message: dict[str, Any]) -> Pending:
        rid = next(self._ids)
        message = {**message, "id": rid}
        pending = Pending(self, rid, message)
        with self._lock:
            if self._closing:
                raise JudgeUnavailable(_("the judge is closed"))
            if self._proc is None or self._proc.poll() is not None and not self._pending:
                self._spawn()
            self._pending[rid] = pending
            self._write(message)
        return pending

    # -- the API

    def submit(
        self,
        exercise: ExerciseLike,
        source: str | Path = "",
        *,
        seed: int | None = None,
        timeout_s: float | None = None,
        examples: int | None = None,
        shrink: bool = True,
        stop_on_failure: bool = False,
        submission: str = "source",
        name: str = "",
        filename: str | None = None,
        seeds: Sequence[int] = (),
    ) -> Pending:
        """Queue a check; returns at once. `submission` other than "source" judges a bank answer:
        "reference", or "wrong"/"alternative" with `name` (for `llmq verify`). With `seeds`, a
        series: judged under each seed in turn in one sandbox, and the result is a list of
        verdicts in the order of `seeds`, shorter when the sandbox could not go on (it ended, or
        the submission did not load): the seeds left are the caller's to judge again."""
        text, default_name = read_source(source) if submission == "source" else ("", "solution.py")
        request = {
            "exercise": exercise.id,
            "answer_path": str(exercise.answer_path),
            "function": exercise.function,
            "source": text,
            "filename": filename or default_name,
            "seed": seeds[0] if seeds else seed if seed is not None else random.randrange(2**31),
            "timeout_s": timeout_s if timeout_s is not None else float(exercise.timeout_s or CHECK_TIMEOUT_S),
            "examples": examples,
            "shrink": shrink,
            "stop_on_failure": stop_on_failure,
            "submission": submission,
            "name": name,
            "track": getattr(exercise, "track", "cpu"),
        }
        if seeds:
            request["seeds"] = list(seeds)
        return self._send({"op": "check", "request": request})

    def check(self, exercise: ExerciseLike, source: str | Path, seed: int | None = None, **options: Any) -> Verdict:
        """Judge a submission (source text, or a Path to read) and wait for the verdict."""
        verdict = self.submit(exercise, source, seed=seed, **options).result()
        if not isinstance(verdict, Verdict):
            raise JudgeUnavailable(_("the judge's worker answered a check with {reply}").format(reply=str(verdict)[:200]))
        return verdict

    def submit_describe(self, answer_path: Path | str) -> Pending:
        """The checks, wrong answers, alternatives and problems of an answer module, queued:
        `result()` gives the dict."""
        return self._send({"op": "describe", "answer_path": str(answer_path)})

    def ping(self, timeout: float | None = 30.0) -> dict[str, Any]:
        reply = self._send({"op": "ping"}).result(timeout)
        if not isinstance(reply, dict):
            raise JudgeUnavailable(_("the judge's worker answered a ping with {reply}").format(reply=str(reply)[:200]))
        return reply

    def cancel(self, pending: Pending) -> None:
        """Stop a check: the worker kills its processes; `result()` then raises Cancelled."""
        with self._lock:
            if pending.done() or self._proc is None:
                return
            self._write({"op": "cancel", "id": pending.id})

    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop the worker and everything it runs."""
        with self._lock:
            self._closing = True
            proc, self._proc = self._proc, None
            pending = list(self._pending.values())
            self._pending.clear()
        for p in pending:
            p._resolve(error=Cancelled(_("the judge was closed")))
        if proc is None:
            return
        if not self.ready.is_set():  # still importing torch: it has no children, stop it now
            proc.kill()
            proc.wait()
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the worker sees end of file and kills its children
            proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
