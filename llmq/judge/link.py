"""The harness's end of the sandbox: fork it, send it calls, read its replies and its output.

`SandboxProcess` implements kit.Link. It waits for each reply with the run's deadline, drains the
submission's stdout/stderr (keeping the first 64 KiB) while it waits, and turns every way the
sandbox can stop answering into SandboxGone with a message for people: the signal that killed
it, an exit in the middle of the checks, silence past the deadline, garbage on the channel.
"""
from __future__ import annotations

import os
import selectors
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from llmq.judge import answer as answer_mod
from llmq.judge import device as device_mod
from llmq.judge import limits as limits_mod
from llmq.judge import sandbox as sandbox_mod
from llmq.judge import wire
from llmq.judge.kit import CheckFailed, Outcome, SandboxGone, SubmissionRaised
from llmq.judge.verdict import OUTPUT_CUT_NOTE


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class CapturedOutput:
    """The first `cap` bytes the submission printed, and how many there were in all."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.total > self.cap:
            text += f"\n{OUTPUT_CUT_NOTE} ({self.total} bytes printed)"
        return text


class SandboxProcess:
    """Forks the sandbox and talks to it; implements kit.Link."""

    def __init__(self, timeout_s: float, memory_bytes: int, answer: answer_mod.AnswerModule, deadline: float, workdir: str) -> None:
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.output = CapturedOutput(limits_mod.Limits().output_bytes)
        self.reader = wire.FrameReader()
        self.dead: SandboxGone | None = None
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        self.out_r, out_w = os.pipe()
        memory = device_mod.sandbox_memory_bytes(answer.module, memory_bytes)  # GPU track: more, or none on CUDA
        limits = limits_mod.Limits(timeout_s=timeout_s, memory_bytes=memory)
        self.pid = os.fork()
        if self.pid == 0:
            sandbox_mod.serve(req_r, resp_w, out_w, workdir, limits, answer.forbidden, answer.drivers)
        for fd in (req_r, resp_w, out_w):
            os.close(fd)
        os.set_blocking(self.out_r, False)
        os.set_blocking(self.resp_r, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.resp_r, selectors.EVENT_READ)
        self.selector.register(self.out_r, selectors.EVENT_READ)

    def request(self, message: tuple) -> Any:
        """Send a frame and wait for the answer, draining output; raises SandboxGone."""
        if self.dead:
            raise self.dead
        try:
            wire.send(self.req_w, message)
        except (BrokenPipeError, OSError):
            self._gone()
        while True:
            try:
                reply = self.reader.take()
            except wire.ChannelError as exc:
                self.expire("error", f"the solution wrote into the judge's channel (a file descriptor it did not open): {exc}")
            if reply is not None:
                if reply[0] == "setup":
                    self.expire("crash", f"the sandbox could not start: {reply[1]}")
                return reply
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.expire("timeout", f"timed out: the checks took longer than {self.timeout_s:g} s (an endless loop?)")
            for key, _ in self.selector.select(timeout=left):
                if not self._read(key.fd):
                    self._gone()

    def _read(self, fd: int) -> bool:
        """Read what is there; False on end of file of the reply pipe."""
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            return True
        if fd == self.out_r:
            if chunk:
                self.output.add(chunk)
            else:
                self.selector.unregister(fd)
            return True
        if not chunk:
            return False
        self.reader.feed(chunk)
        return True

    def _gone(self) -> None:
        """The sandbox closed its end: it exited or was killed. Say how."""
        # It may also have closed the descriptor and gone on running: give it a moment to exit.
        wait_until = min(self.deadline, time.monotonic() + 1.0)
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > wait_until:
                self.expire("error", "the solution closed the judge's channel (a file descriptor it did not open)")
            time.sleep(0.01)
        self.pid = 0
        self._drain_output()
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            hint = {
                signal.SIGSEGV: " (a segmentation fault: memory accessed out of bounds)",
                signal.SIGXCPU: " (the CPU time limit)",
                signal.SIGKILL: " (killed from outside; maybe out of memory)",
                signal.SIGABRT: " (aborted)",
            }.get(sig, "")
            self.expire("crash", f"the solution's process was killed by {_signal_name(sig)}{hint}")
        code = os.WEXITSTATUS(status)
        self.expire("crash", f"the solution's process exited with status {code} before the checks ended (os._exit?)")

    def expire(self, status: str, message: str) -> None:
        """Kill the sandbox and raise SandboxGone (used for the deadline between examples too)."""
        self.kill()
        self.dead = SandboxGone(status, message)
        raise self.dead

    def _drain_output(self) -> None:
        try:
            while chunk := os.read(self.out_r, 1 << 20):
                self.output.add(chunk)
        except (BlockingIOError, OSError):
            pass

    def kill(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0
        self._drain_output()

    def close(self) -> None:
        if self.pid and not self.dead:
            try:
                wire.send(self.req_w, ("bye",))
            except OSError:
                pass
        self.kill()
        for fd in (self.req_w, self.resp_r, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- kit.Link

    def load(self, source: str, filename: str, function: str) -> tuple:
        return self.request(("load", source, filename, function))

    def call(self, target: str | None, args: tuple, kwargs: dict, names: list[str]) -> Outcome:
        before = (wire.encode(list(args), trusted=True), wire.encode(kwargs, trusted=True))
        reply = self.request(("call", target, before[0], before[1], names))
        kind = reply[0]
        if kind == "ok":
            _, result, after, aliased = reply
            return Outcome(wire.decode(result, trusted=False), _changes(before, after, names), list(aliased))
        if kind == "raised":
            raise SubmissionRaised(f"raised {reply[1]}:\n{reply[2]}")
        if kind == "forbidden":
            raise CheckFailed(f"called {reply[1]}, which this exercise forbids")
        if kind == "exit":
            raise SubmissionRaised(f"called sys.exit({reply[1]}) while being checked")
        raise wire.ChannelError(f"unexpected reply {kind!r}")


def _changes(before: tuple, after: Any, names: list[str]) -> list[tuple[str, str]]:
    """Which arguments differ after the call, compared in their encoded form (bytes, exact)."""
    args_before, kwargs_before = before
    args_after, kwargs_after = after
    changed = []
    pairs = [(names[i] if i < len(names) else f"arg{i}", b, a) for i, (b, a) in enumerate(zip(args_before[1], args_after[1]))]
    pairs += [(str(k[1]), v, dict(kwargs_after[1]).get(k)) for k, v in kwargs_before[1]]
    for name, b, a in pairs:
        if b != a:
            changed.append((name, _how_changed(b, a)))
    return changed


def _how_changed(before: Any, after: Any) -> str:
    try:
        old, new = wire.decode(before, trusted=True), wire.decode(after, trusted=False)
    except wire.ChannelError:
        return "it was replaced"
    if isinstance(old, torch.Tensor) and isinstance(new, torch.Tensor):
        if old.shape != new.shape or old.dtype != new.dtype:
            return f"was {str(old.dtype)[6:]} {tuple(old.shape)}, now {str(new.dtype)[6:]} {tuple(new.shape)}"
        diff = (old != new) & ~(old.isnan() & new.isnan()) if old.is_floating_point() else old != new
        idx = diff.nonzero()
        if len(idx):
            where = tuple(int(i) for i in idx[0])
            n = int(diff.sum())
            return f"{n} element{'s' if n != 1 else ''} changed, first at {list(where)}: was {old[where].item():.6g}, now {new[where].item():.6g}"
        return "its requires_grad or layout changed"
    return f"was {old!r:.60}, now {new!r:.60}"
