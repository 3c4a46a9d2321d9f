"""Starting the sandbox (the worker's side) and talking to it (the harness's side).

`start_sandbox` runs in the worker, before any answer module is loaded anywhere: it makes the
three pipes and starts the sandbox in the jail (jail.py: full isolation, or limits only where the
system cannot isolate; its supervisor reports how the sandbox ended). `SandboxProcess`, in the
harness, implements kit.Link: it prepares the sandbox (drivers as code, limits, forbidden
names), waits for each reply with the run's deadline, drains the submission's stdout/stderr
(keeping the first 64 KiB), and turns every way the sandbox can stop
answering into SandboxGone with a message for people: the signal that killed it, an exit in the
middle of the checks, a limit of the whole submission (memory, processes, disk), silence past
the deadline, garbage on the channel.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import selectors
import signal
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

import torch

from llmq.judge import limits as limits_mod
from llmq.judge import sandbox as sandbox_mod
from llmq.judge import wire
from llmq.judge.kit import AnswerModuleBug, CallResult, CheckFailed, SandboxGone, SubmissionRaised
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

    def mark(self) -> int:
        """Where the output kept so far ends: `text(since=mark)` is what came after."""
        return len(self.data)

    def text(self, since: int = 0) -> str:
        text = self.data[since:].decode("utf-8", errors="replace")
        if self.total > self.cap:
            text += f"\n{OUTPUT_CUT_NOTE} ({self.total} bytes printed)"
        return text


@dataclass
class Started:
    """A running sandbox as the worker hands it to the harness: the jail handle (jail.Jail: pid,
    level, status_fd, kill, read_status), the harness's ends of the pipes, and the isolation."""

    jail: Any
    req_w: int
    resp_r: int
    out_r: int
    # CPU seconds of the sandbox's processes under its supervisor, read at the first kill(): they
    # end with the jail and are collected by nobody who counts them (orphans of the worker).
    cpu_s: float = 0.0
    killed: bool = False

    @property
    def isolation(self) -> str:
        return str(self.jail.level)

    @property
    def fds(self) -> set[int]:
        return {self.req_w, self.resp_r, self.out_r, self.jail.status_fd}

    def kill(self) -> None:
        """Every process of the submission goes, and its folder (any holder of the handle may)."""
        if not self.killed:
            self.killed = True
            self.cpu_s = descendants_cpu_s(self.jail.pid)
        self.jail.kill()


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def descendants_cpu_s(pid: int) -> float:
    """CPU seconds of the processes under `pid` that are still there (running or not yet
    collected), each with the CPU of the children it collected itself (Linux /proc; 0 elsewhere)."""
    total, todo, seen = 0.0, [pid], {pid}
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as listed:
                    children = [int(c) for c in listed.read().split()]
            except (OSError, ValueError):
                continue
            for child in children:
                if child in seen:
                    continue
                seen.add(child)
                todo.append(child)
                try:
                    with open(f"/proc/{child}/stat") as stat:
                        # after "pid (name) ": utime, stime, cutime, cstime are fields 12-15
                        fields = stat.read().rsplit(")", 1)[1].split()
                    total += sum(int(f) for f in fields[11:15]) / _TICKS_PER_S
                except (OSError, IndexError, ValueError):
                    continue
    return total


def start_sandbox(gpu: bool = False, network: bool = False) -> Started:
    """In the worker: start a sandbox from this clean process (no answer module loaded) in the
    jail; it waits for the harness's "prepare". `gpu`: pass the GPU device nodes (CUDA machines).
    `network`: where the jail is limits-only, allow IP sockets (the gloo ranks of the GPU track);
    with full isolation the sandbox always has its own loopback and nothing else."""
    from llmq.judge import jail

    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    out_r, out_w = os.pipe()
    for fd in (req_w, resp_w):  # a call's frames fit in one write: no ping-pong of 64 KiB chunks
        _widen(fd)
    keep = [req_r, resp_w, out_w]
    try:
        handle = jail.start(
            lambda: sandbox_mod.serve(req_r, resp_w, out_w, jail.lock), keep, jail.JailSpec(gpu=gpu, network=network)
        )
    except BaseException:
        for fd in (*keep, req_w, resp_r, out_r):
            os.close(fd)
        raise
    for fd in keep:
        os.close(fd)
    return Started(handle, req_w, resp_r, out_r)


_F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Give a pipe 1 MiB of buffer where the system allows it (Linux; else it stays as it is)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)


def _ending(how: dict[str, Any], memory_bytes: int) -> tuple[str, str]:
    """(status, message) for the supervisor's line saying how the sandbox ended."""
    end = how.get("end")
    if end == "memory":  # the supervisor's limit is memory_bytes plus a small margin (sandbox.py)
        return "error", (
            f"the submission used more than {memory_bytes / limits_mod.GIB:.3g} GiB across its processes "
            "(the memory limit of the whole submission)"
        )
    if end == "tasks":
        return "error", f"the submission ran too many processes and threads at once (at most {how.get('limit', '?')})"
    if end == "disk":
        limit = int(how.get("limit") or 0)
        return "error", f"the submission wrote more than {limit >> 20} MiB into its folder (the disk quota)"
    if end == "signal":
        sig = int(how.get("signal", 0))
        hint: str = {
            signal.SIGSEGV: " (a segmentation fault: memory accessed out of bounds)",
            signal.SIGXCPU: " (the CPU time limit)",
            signal.SIGKILL: " (killed from outside; maybe out of memory)",
            signal.SIGABRT: " (aborted)",
            signal.SIGSYS: " (a system call the sandbox does not allow)",
        }.get(sig, "")  # type: ignore[call-overload]  # an int that is not a known signal: no hint
        return "crash", f"the solution's process was killed by {_signal_name(sig)}{hint}"
    if end == "exit":
        return "crash", f"the solution's process exited with status {how.get('code')} before the checks ended (os._exit?)"
    if end == "setup":
        return "crash", f"the sandbox could not start: {how.get('error', '?')}"
    return "crash", f"the sandbox ended in a way the judge does not know: {json.dumps(how)[:200]}"


class SandboxProcess:
    """The harness's end of a started sandbox; implements kit.Link."""

    def __init__(self, started: Started, timeout_s: float, deadline: float, memory_bytes: int) -> None:
        self.started = started
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.output = CapturedOutput(limits_mod.Limits().output_bytes)
        self.reader = wire.FrameReader()
        self.dead: SandboxGone | None = None
        self.alive = True
        self.req_w, self.resp_r, self.out_r = started.req_w, started.resp_r, started.out_r
        os.set_blocking(self.out_r, False)
        os.set_blocking(self.resp_r, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.resp_r, selectors.EVENT_READ)
        self.selector.register(self.out_r, selectors.EVENT_READ)

    def request(self, message: tuple[Any, ...]) -> Any:
        """Send a frame and wait for the answer, draining output; raises SandboxGone."""
        if self.dead:
            raise self.dead
        try:
            wire.send(self.req_w, message)
        except (BrokenPipeError, OSError):
            self._gone()
        while True:
            problem = None
            try:
                reply = self.reader.take()
            except wire.ChannelError as exc:
                problem = str(exc)
            if problem is not None:  # outside the handler: nothing keeps the refused frame's traceback alive
                self.forged(problem)
            if reply is not None:
                if not (isinstance(reply, tuple) and reply and isinstance(reply[0], str)):
                    self.forged(f"a reply of type {type(reply).__name__}")
                if reply[0] == "setup":
                    self.expire("crash", f"the sandbox could not start: {reply[1] if len(reply) > 1 else '?'}")
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
        """The sandbox closed its end: it exited or was killed. Say how (the supervisor knows)."""
        # It may also have closed the descriptor and gone on running: give it a moment to end.
        jail = self.started.jail
        wait = max(0.0, min(self.deadline - time.monotonic(), 1.0))
        readable, _, _ = select.select([jail.status_fd], [], [], wait)
        if not readable:
            self.expire("error", "the solution closed the judge's channel (a file descriptor it did not open)")
        how = jail.read_status(timeout=1.0)
        self.alive = False
        self._drain_output()
        if how is None:
            self.expire("crash", "the sandbox's supervisor ended without saying how the sandbox ended")
        status, message = _ending(how, self.memory_bytes)
        self.expire(status, message)

    def forged(self, what: str) -> NoReturn:
        """The channel carried something the sandbox's own code never sends: end the sandbox (a
        refused frame must not be read again and again, nor the replies after it be misread)."""
        self.expire("error", f"the solution wrote into the judge's channel (a file descriptor it did not open): {what}")

    def expire(self, status: str, message: str) -> NoReturn:
        """Kill the sandbox and raise SandboxGone (used for the deadline between examples too)."""
        self.kill()
        self.dead = SandboxGone(status, message)
        raise self.dead

    def printed(self) -> int:
        """How much output is kept so far, once what is waiting in the pipe is read: the sandbox
        flushes before each reply, so everything printed before the last reply is counted."""
        self._drain_output()
        return self.output.mark()

    def _drain_output(self) -> None:
        try:
            while chunk := os.read(self.out_r, 1 << 20):
                self.output.add(chunk)
        except (BlockingIOError, OSError):
            pass

    def kill(self) -> None:
        """Every process of the submission goes (the jail kills its whole PID namespace)."""
        self.started.kill()
        self.alive = False
        self._drain_output()

    def close(self) -> None:
        self.kill()
        for fd in (self.req_w, self.resp_r, self.out_r):
            with contextlib.suppress(OSError):
                os.close(fd)

    def prepare(self, settings: dict[str, Any]) -> None:
        """Send the drivers, limits and forbidden names; raises AnswerModuleBug if the drivers do not run."""
        reply = self.request(("prepare", settings))
        if reply[0] == "bank":
            self.kill()
            raise AnswerModuleBug(reply[1])
        if reply[0] != "ready":
            self.forged(f"the reply {reply[0][:40]!r} to prepare")

    # -- kit.Link

    def load(self, source: str, filename: str, function: str) -> tuple[Any, ...]:
        return self.request(("load", source, filename, function))  # type: ignore[no-any-return]

    def call(self, target: str | None, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]) -> CallResult:
        before = (wire.encode(list(args), trusted=True), wire.encode(kwargs, trusted=True))
        reply = self.request(("call", target, before[0], before[1], names))
        kind = reply[0]
        problem = f"the reply {kind[:40]!r} to a call"
        try:
            if kind == "ok":
                _, result, after, aliased, effects = reply
                changes = _side_effects(effects) + _changes(before, after, names)
                return CallResult(wire.decode(result, trusted=False), changes, [str(a)[:100] for a in aliased])
            if kind == "raised":
                raise SubmissionRaised(f"raised {str(reply[1])[:200]}:\n{reply[2]}")
            if kind == "forbidden":
                raise CheckFailed(f"called {str(reply[1])[:200]}, which this exercise forbids")
            if kind == "exit":
                raise SubmissionRaised(f"called sys.exit({str(reply[1])[:200]}) while being checked")
        except (CheckFailed, SubmissionRaised):
            raise
        except Exception as exc:  # not what the sandbox's code sends: a forged frame
            problem = f"{type(exc).__name__}: {exc}"
        return self.forged(problem)  # raises; outside the handler, so the partly rebuilt value is freed


def _side_effects(effects: Any) -> list[tuple[str, str]]:
    """The sandbox's (argument, how) for changes besides values (requires_grad, .grad, storage:
    compare.state_change), kept only as short strings: the reply is untrusted."""
    if not isinstance(effects, (list, tuple)):
        return []
    return [
        (e[0][:100], e[1][:300])
        for e in effects[:20]
        if isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(x, str) for x in e)
    ]


def _changes(before: tuple[Any, ...], after: Any, names: list[str]) -> list[tuple[str, str]]:
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
