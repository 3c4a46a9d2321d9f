"""Run numeric answer modules in a child process with a time limit, never in llmq's own process.

A numeric answer module is plain Python that a bank ships; the validator and the review screen
need its answer() and steps(). Loaded in the app's or the CLI's process, a module that loops at
import (or an answer() that never returns) would hang llmq for good: no thread can be stopped.
So one warm child process (numeric_child.py) loads the modules and evaluates them; llmq waits at
most LOAD_LIMIT_S for a module to load and CALL_LIMIT_S for its calls, and on overrun kills the
child (and anything it started), raises NumericAnswerError naming the file, and starts a fresh
child for the next request. A round trip to the warm child costs well under a millisecond.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from llmq.errors import LlmqError

LOAD_LIMIT_S = 5.0  # importing one answer module
CALL_LIMIT_S = 5.0  # all the answer()/steps() calls of one request together
START_LIMIT_S = 60.0  # a fresh Python process saying it is ready (generous: a busy machine)
REPLY_CAP = 1 << 20  # bytes; a bigger reply is the module's fault, not a reason to grow llmq

_CHILD = Path(__file__).resolve().with_name("numeric_child.py")


class NumericAnswerError(LlmqError):
    """A numeric answer module could not give an answer; the message names the file and why.

    `stage` says where: "load" (import failed, or no answer()), "answer" (a call raised; `index`
    says which), "timeout" (stopped after the time limit) or "process" (the child died).
    """

    title = "Question bank"

    def __init__(self, message: str, path: Path, stage: str, index: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.stage = stage
        self.index = index


class _Overrun(Exception):
    """No complete reply before the deadline."""


class _Gone(Exception):
    """The child closed its end (it exited or was killed)."""


class _NoChild(Exception):
    """A fresh child did not say it was ready."""


class NumericRunner:
    """One child process, reused across requests, replaced after a fault. Thread-safe."""

    def __init__(self, load_limit_s: float = LOAD_LIMIT_S, call_limit_s: float = CALL_LIMIT_S) -> None:
        self.load_limit_s = load_limit_s
        self.call_limit_s = call_limit_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = bytearray()

    # -- the child

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._buf = bytearray()
        proc = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD)],  # -I: no PYTHONPATH, user site or cwd on its path
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed whole; Ctrl-C stays with llmq
        )
        self._proc = proc
        try:
            ready = self._reply(time.monotonic() + START_LIMIT_S).get("ready")
        except (_Overrun, _Gone, ValueError):
            ready = False
        if not ready:
            self._kill()
            raise _NoChild
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the child and whatever it started
        with contextlib.suppress(OSError):
            proc.kill()
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def close(self) -> None:
        """Stop the child (it also leaves by itself when llmq exits: its input closes)."""
        with self._lock:
            self._kill()

    def _reply(self, deadline: float) -> dict[str, Any]:
        """The next line from the child as JSON, or _Overrun after `deadline`, or _Gone."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Overrun
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Gone
            self._buf += chunk
            if len(self._buf) > REPLY_CAP:
                raise _Gone
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError("not an object")
        return value

    # -- the API

    def evaluate(self, path: Path, calls: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
        """(answer, steps) of the module at `path` for each dict of parameters in `calls`.

        Raises NumericAnswerError, naming the file, when the module fails to load, defines no
        answer(), raises, or overruns its time limit (the child is then killed and replaced).
        """
        with self._lock:
            return self._evaluate(path, calls)

    def _evaluate(self, path: Path, calls: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
        stage = "load"
        try:
            self._start()
            assert self._proc is not None and self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"path": str(path), "calls": calls}).encode() + b"\n")
            self._proc.stdin.flush()
            reply = self._reply(time.monotonic() + self.load_limit_s)
            if reply.get("stage") == "load":
                if reply.get("missing") == "answer":
                    raise NumericAnswerError(f"answer module {path} defines no answer(**params)", path, "load")
                raise NumericAnswerError(f"answer module {path} fails to load: {reply.get('error')}", path, "load")
            stage = "answer"
            reply = self._reply(time.monotonic() + self.call_limit_s)
            if reply.get("stage") == "answer":
                index = int(reply.get("index", 0))
                values = calls[index] if 0 <= index < len(calls) else {}
                message = f"answer() fails for {values}: {reply.get('error')} (in {path})"
                raise NumericAnswerError(message, path, "answer", index)
            results = [(float(answer), dict(steps)) for answer, steps in reply["results"]]
            if len(results) != len(calls):
                raise ValueError("one result per call")
            return results
        except _Overrun:
            self._kill()
            if stage == "load":
                message = (
                    f"answer module {path} did not finish loading within {self.load_limit_s:g} s "
                    "(an endless loop at import?); llmq stopped it"
                )
            else:
                message = (
                    f"answer module {path}: answer() did not return within {self.call_limit_s:g} s "
                    f"for {calls if len(calls) != 1 else calls[0]}; llmq stopped it"
                )
            raise NumericAnswerError(message, path, "timeout") from None
        except _NoChild:
            message = f"cannot run answer module {path}: a Python process ({sys.executable} -I {_CHILD}) did not start"
            raise NumericAnswerError(message, path, "process") from None
        except (_Gone, OSError, ValueError, KeyError, TypeError):
            # The child died (os._exit, a crash, a reply too big or malformed): the module's doing.
            self._kill()
            raise NumericAnswerError(
                f"answer module {path}: the process running it stopped without an answer "
                "(does it exit, crash, or print megabytes of steps?)",
                path,
                "process",
            ) from None


_runner = NumericRunner()
atexit.register(_runner.close)


def evaluate(path: Path, calls: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """NumericRunner.evaluate on llmq's one shared runner."""
    return _runner.evaluate(path, calls)
