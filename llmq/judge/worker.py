"""The warm worker: `python -m llmq.judge.worker [--jobs N]`.

It imports torch, numpy and hypothesis once, then serves JSON lines on stdin/stdout:
  {"op": "check", "id": 1, "request": {...harness.Request...}}  -> {"id": 1, "verdict": {...}}
      a request with "seeds" (a series, `llmq verify`)          -> {"id": 1, "verdict": {...}, "series": [...]}
  {"op": "describe", "id": 2, "answer_path": "..."}             -> {"id": 2, "describe": {...}}
  {"op": "cancel", "id": 1}                                     -> {"id": 1, "cancelled": true}
  {"op": "ping", "id": 3}                                       -> {"id": 3, "pong": true}
It computes with tensors only at its start, on one thread and on inputs of its own (warmup.py; a
child forked after threaded torch work can hang, so torch never gets a thread pool here), and it
never loads an answer module: it is the clean template sandboxes are started from. For a check it starts
the sandbox first (link.start_sandbox: in the jail, or limits only), then draws a nonce the sandbox
never sees, then forks the harness with the other pipe ends, the jail handle and the nonce. The
harness's verdict comes back on a pipe only the harness holds, and one without the nonce is
refused. At most `jobs` checks run at a time. It is single-threaded, so forking is safe. Children
that overrun their time are killed, the harness with its process group, the sandbox with its jail.
It exits when its client goes (end of file on stdin, or its parent process gone).

Speed: while no check waits, it keeps a spare ready: a CPU-track sandbox (its jail built, waiting
for "prepare") and its harness (forked, set up, waiting for its job on a pipe), both warmed up
(warmup.py) while the user reads or types; the harness also loads the answer module of the last
check, on the guess that the next is of the same exercise (harness.preload; the sandbox was forked
before, and a changed file is loaded afresh). A check takes the spare, writes the nonce (drawn only
now) and the request into the harness's pipe, and the next spare is made once it is done. A spare
serves exactly one check; it is started from this clean process like any other. The verdict line
is acted on when it arrives: the sandbox is ended (every process of it gone), the verdict sent,
and only then is the finished harness collected.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import mmap
import os
import secrets
import select
import selectors
import signal
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmq.judge.link import Started


@dataclass
class Spare:
    """A check's processes made ahead: its sandbox, and its harness waiting for the job."""

    started: Started
    harness: int  # pid; leader of its own process group
    job_w: int  # the worker writes the nonce and the request here, then closes it
    verdict_r: int  # the harness's verdict line comes back here


GRACE_S = 5.0  # the harness enforces timeout_s itself; the worker kills it this much later
PARENT_POLL_S = 1.0  # how often the worker looks whether its client is still there
FORGED = "the verdict channel carried something that is not the harness's verdict"


@dataclass
class Job:
    id: Any
    op: str
    payload: dict[str, Any]
    pid: int = 0
    fd: int = -1
    buf: bytearray = field(default_factory=bytearray)
    deadline: float = 0.0
    cpu_s: float = 0.0
    nonce: int = -1  # the job's slot in Nonces
    sandbox: Started | None = None  # a check's sandbox, from its start until it is ended


def warm() -> None:
    """Import everything a child needs, run hypothesis once and torch's common operators once on
    one thread (warmup.py), so children start hot."""
    import numpy  # noqa: F401
    import torch

    import llmq.judge.gpukit  # noqa: F401  (driver bundles of the GPU track import it in the sandbox)
    import llmq.judge.harness  # noqa: F401
    import llmq.judge.kit  # noqa: F401
    from llmq.judge import warmup

    warmup.hypothesis_engine()
    # One thread: torch starts no pool for it, and a process with one thread forks safely.
    torch.set_num_threads(1)
    warmup.tensors()
    from llmq.judge import jail

    jail.sweep_stale_folders()  # limits-only folders left by a worker that was killed outright
    jail.isolation_level()  # the probe jail, and the read-only view, once, before the first check
    jail.view()
    warmup.hypothesis_constants()  # last: every module a harness inherits is imported by now
    gc.collect()
    gc.freeze()  # keep the heap's pages shared with forked children (no refcount copy-on-write storms)


class Nonces:
    """Each running check's nonce, kept where no process forked from the worker can find it.

    The worker forks every sandbox, so anything in its memory is in theirs: a nonce held as a
    Python string while another check's sandbox is forked would be that submission's to read. So
    the nonces live in a page marked MADV_DONTFORK (absent from every child), are read into it
    straight from /dev/urandom and written from it straight into the pipe the harness reads, and
    are zeroed when the check ends. Without MADV_DONTFORK (not Linux) the page is ordinary memory.
    """

    SIZE = 16  # bytes of a nonce
    SLOTS = 256

    def __init__(self) -> None:
        self.page = mmap.mmap(-1, self.SIZE * self.SLOTS)
        advice = getattr(mmap, "MADV_DONTFORK", None)
        if advice is not None:
            self.page.madvise(advice)
        self.urandom = os.open("/dev/urandom", os.O_RDONLY | os.O_CLOEXEC)
        self.free = list(range(self.SLOTS))

    def _view(self, slot: int) -> memoryview:
        return memoryview(self.page)[slot * self.SIZE : (slot + 1) * self.SIZE]

    def new(self) -> int:
        """A fresh nonce in a free slot; returns the slot."""
        slot = self.free.pop()
        with self._view(slot) as view:
            os.readv(self.urandom, [view])
        return slot

    def send(self, slot: int, fd: int) -> None:
        with self._view(slot) as view:
            os.write(fd, view)

    def matches(self, slot: int, text: object) -> bool:
        """Whether `text` (the harness's hex) is the slot's nonce."""
        if not isinstance(text, str) or slot < 0:
            return False
        try:
            given = bytes.fromhex(text)
        except ValueError:
            return False
        return secrets.compare_digest(given, self.page[slot * self.SIZE : (slot + 1) * self.SIZE])

    def release(self, slot: int) -> None:
        with self._view(slot) as view:
            view[:] = bytes(self.SIZE)
        self.free.append(slot)


class Worker:
    def __init__(self, out_fd: int, jobs: int) -> None:
        self.out_fd = out_fd
        self.max_jobs = max(1, jobs)
        self.queue: deque[Job] = deque()
        self.running: dict[int, Job] = {}  # by verdict fd
        self.selector = selectors.DefaultSelector()
        self.inbuf = bytearray()
        self.nonces = Nonces()
        self.spare: Spare | None = None  # a CPU-track check's processes made ahead, for the next check
        self.spares_work = True  # False once one could not start: each check then starts its own
        self.last_cpu_check: tuple[str, str] | None = None  # (answer path, function): the spare's guess

    def send(self, message: dict[str, Any]) -> None:
        from llmq.judge.wire import write_all

        write_all(self.out_fd, json.dumps(message).encode() + b"\n")

    # -- requests

    def handle(self, message: dict[str, Any]) -> None:
        op, rid = message.get("op"), message.get("id")
        if op == "ping":
            self.send({"id": rid, "pong": True, "pid": os.getpid()})
        elif op in ("check", "describe"):
            self.queue.append(Job(rid, op, message))
        elif op == "cancel":
            self.cancel(rid)
        else:
            self.send({"id": rid, "error": f"unknown op {op!r}"})

    def cancel(self, rid: Any) -> None:
        for job in list(self.queue):
            if job.id == rid:
                self.queue.remove(job)
        for job in list(self.running.values()):
            if job.id == rid:
                self.reap(job, kill=True)
        self.send({"id": rid, "cancelled": True})

    # -- children

    def start(self, job: Job) -> None:
        from llmq.judge import harness, link

        if job.op == "check":
            request = harness.Request.from_dict(job.payload.get("request", {}))
            job.deadline = time.monotonic() + harness.ANSWER_LOAD_S + request.timeout_s * len(request.series) + GRACE_S
            # The sandbox first, from this clean process; the nonce after, so it never has it.
            gpu_track = job.payload.get("request", {}).get("track") == "gpu"
            if not gpu_track:
                self.last_cpu_check = (request.answer_path, request.function)
            if not gpu_track and self.start_on_spare(job, request):
                return
            try:
                job.sandbox = link.start_sandbox(gpu=gpu_track and _has_cuda(), network=gpu_track)
            except Exception as exc:
                self.fail(job, "crash", f"the judge could not start a sandbox: {exc}")
                return
            job.nonce = self.nonces.new()
            sandbox = job.sandbox
            nonce_r = -1

            def body(w: int) -> None:
                harness.main(request, sandbox, nonce_r, w)

        else:
            job.deadline = time.monotonic() + 60.0

            def body(w: int) -> None:
                _describe_child(job.payload.get("answer_path", ""), w)

        opened: list[int] = []
        try:
            if job.sandbox is not None:
                nonce_r, nonce_w = os.pipe()
                opened += (nonce_r, nonce_w)
                self.nonces.send(job.nonce, nonce_w)  # straight from the unforked page into the pipe
                os.close(opened.pop())
            r, w = os.pipe()
            opened += (r, w)
            pid = os.fork()
        except OSError as exc:  # out of descriptors or processes: this job fails, the worker goes on
            for fd in opened:
                os.close(fd)
            self.abandon(job, exc)
            return
        if pid == 0:
            try:
                os.close(r)
                body(w)
            finally:
                os._exit(70)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also done in the child: whichever runs first wins the race
        os.close(w)
        if job.sandbox is not None:  # the harness holds these now
            _hand_over(job.sandbox)
            os.close(nonce_r)
        os.set_blocking(r, False)
        job.pid, job.fd = pid, r
        self.running[r] = job
        self.selector.register(r, selectors.EVENT_READ, job)

    def abandon(self, job: Job, exc: OSError) -> None:
        """A job whose harness (or describe process) could not be started: its sandbox ended, its
        descriptors closed, its nonce forgotten, and a verdict (or error) that says why."""
        isolation = job.sandbox.isolation if job.sandbox is not None else "limits-only"
        if job.sandbox is not None:
            started = job.sandbox
            self.end_sandbox(job)
            for fd in (started.req_w, started.resp_r, started.out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.forget_nonce(job)
        what = "the check's harness" if job.op == "check" else "the describe process"
        self.fail(job, "crash", f"the judge could not start {what}: {exc} (out of processes or open files?)", isolation)

    def reap(self, job: Job, kill: bool) -> int:
        """Finish a child: kill its group if asked (and always its leftovers and its sandbox), wait."""
        self.selector.unregister(job.fd)
        os.close(job.fd)
        del self.running[job.fd]
        if kill:
            _killpg(job.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(job.pid, signal.SIGKILL)
        try:
            _, status, usage = os.wait4(job.pid, 0)
            job.cpu_s = usage.ru_utime + usage.ru_stime  # the harness
        except ChildProcessError:
            status = 0
        _killpg(job.pid)
        if job.sandbox is not None:
            self.end_sandbox(job)
        self.forget_nonce(job)
        return status

    def forget_nonce(self, job: Job) -> None:
        if job.nonce >= 0:
            self.nonces.release(job.nonce)
            job.nonce = -1

    def end_sandbox(self, job: Job, counted: bool = False) -> None:
        """Kill the sandbox (its whole jail), collect it, remove its folder. `counted`: the
        harness's verdict line already counts the CPU of the sandbox's processes."""
        assert job.sandbox is not None
        job.cpu_s += _end(job.sandbox, counted)
        job.sandbox = None

    # -- the spare sandbox

    def keep_a_spare(self) -> None:
        """Make the next check's sandbox and harness now, while nothing waits: the jail is then
        built (clone, new root, confinement) and both warmed up while the user reads a verdict
        or types, not while they wait."""
        if self.spare is not None or not self.spares_work or self.queue or len(self.running) >= self.max_jobs:
            return
        from llmq.judge import harness, link

        try:
            started = link.start_sandbox()
        except Exception:
            self.spares_work = False  # the check that needs one starts its own and says why it cannot
            return
        fds: list[int] = []
        try:
            fds += os.pipe()
            fds += os.pipe()
            pid = os.fork()
        except OSError:  # out of processes or descriptors: no spares; each check tries on its own
            self.spares_work = False
            _end(started)
            for fd in (*fds, started.req_w, started.resp_r, started.out_r):
                os.close(fd)
            return
        job_r, job_w, verdict_r, verdict_w = fds
        if pid == 0:
            try:
                os.close(job_w)
                os.close(verdict_r)
                harness.wait_for_job(started, job_r, verdict_w, self.last_cpu_check)
            finally:
                os._exit(70)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also done in the child: whichever runs first wins the race
        os.close(job_r)
        os.close(verdict_w)
        self.spare = Spare(started, pid, job_w, verdict_r)

    def start_on_spare(self, job: Job, request: Any) -> bool:
        """Start a CPU-track check on the spare, if there is one still waiting untouched (its
        supervisor has reported no end, its sandbox and its harness have said nothing)."""
        spare, self.spare = self.spare, None
        if spare is None:
            return False
        started = spare.started
        if select.select([started.jail.status_fd, started.resp_r, spare.verdict_r], [], [], 0)[0]:
            self.let_go(spare)
            return False
        from llmq.judge.wire import write_all

        job.nonce = self.nonces.new()  # drawn now: no process forked before holds it
        try:
            self.nonces.send(job.nonce, spare.job_w)  # straight from the unforked page into the pipe
            data = json.dumps(dataclasses.asdict(request)).encode()
            write_all(spare.job_w, struct.pack("<Q", len(data)) + data)
        except OSError:  # the harness went after we looked: this check starts afresh
            self.forget_nonce(job)
            self.let_go(spare)
            return False
        os.close(spare.job_w)
        _hand_over(started)  # the harness holds these
        job.sandbox = started
        os.set_blocking(spare.verdict_r, False)
        job.pid, job.fd = spare.harness, spare.verdict_r
        self.running[job.fd] = job
        self.selector.register(job.fd, selectors.EVENT_READ, job)
        return True

    def let_go(self, spare: Spare) -> None:
        """End a spare that will not be used: its harness, its sandbox, the worker's descriptors."""
        _killpg(spare.harness)  # not collected yet: the group is still the harness's own
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare.harness, signal.SIGKILL)
        _end(spare.started)
        for fd in (spare.job_w, spare.verdict_r, spare.started.req_w, spare.started.resp_r, spare.started.out_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(spare.harness, os.WNOHANG)  # else reap_orphans collects it

    def finished(self, job: Job) -> None:
        isolation = job.sandbox.isolation if job.sandbox is not None else "limits-only"
        try:
            result = json.loads(bytes(job.buf).split(b"\n", 1)[0])
        except ValueError:
            result = None
        genuine = isinstance(result, dict) and self.nonces.matches(job.nonce, result.get("nonce"))
        if job.op == "check" and genuine and isinstance(result, dict) and isinstance(result.get("verdict"), dict):
            self.deliver(job, result)
            return
        status = self.reap(job, kill=False)  # the nonce is forgotten here
        if job.op == "check":
            if not job.buf:
                how = _how_ended(status)
                self.fail(
                    job,
                    "crash",
                    f"the judge's harness stopped without a verdict ({how}): the solution may have "
                    "killed it, or this is a bug in llmq",
                    isolation,
                )
                return
            if not genuine or not isinstance(result, dict) or not isinstance(result.get("verdict"), dict):
                self.fail(job, "crash", FORGED, isolation)
                return
            verdict = result["verdict"]
            verdict["cpu_s"] = round(job.cpu_s, 4)
            self.send({"id": job.id, "verdict": verdict})
            return
        if result is not None:
            self.send({"id": job.id, "describe": result})
            return
        how = _how_ended(status)
        self.fail(job, "crash", f"the judge's describe process stopped without an answer ({how})")

    def deliver(self, job: Job, result: dict[str, Any]) -> None:
        """The harness's genuine verdict line: end the sandbox, send the verdict, then let the
        harness (done, exiting) go; it is collected as it ends, off the client's path."""
        self.selector.unregister(job.fd)
        os.close(job.fd)
        del self.running[job.fd]
        if job.sandbox is not None:
            self.end_sandbox(job, counted=True)  # every process of the submission is gone before the verdict
        self.forget_nonce(job)
        harness_cpu = result.get("cpu_s")
        if isinstance(harness_cpu, (int, float)):
            job.cpu_s += float(harness_cpu)
        verdict = result["verdict"]
        series = [v for v in result.get("series", []) if isinstance(v, dict)]
        for each in [verdict, *series]:  # a series shares one sandbox: its CPU time, evenly
            each["cpu_s"] = round(job.cpu_s / (1 + len(series)), 4)
        self.send({"id": job.id, "verdict": verdict, **({"series": series} if series else {})})
        _killpg(job.pid)  # not collected yet, so the group is still the harness's own
        with contextlib.suppress(ChildProcessError):
            os.waitpid(job.pid, os.WNOHANG)  # else reap_orphans collects it

    def fail(self, job: Job, status: str, message: str, isolation: str = "limits-only") -> None:
        if job.op == "check":
            from llmq.judge.verdict import judge_failure

            request = job.payload.get("request", {})
            verdict = judge_failure(request.get("exercise", "?"), status, message, request.get("seed", 0), isolation)  # type: ignore[arg-type]
            self.send({"id": job.id, "verdict": verdict.to_dict()})
        else:
            self.send({"id": job.id, "error": message})

    # -- the loop

    def serve(self) -> None:
        os.set_blocking(0, False)
        self.selector.register(0, selectors.EVENT_READ, None)
        parent = os.getppid()
        while True:
            if os.getppid() != parent:
                return  # the client died (and something else holds our stdin open): go too
            self.reap_orphans()
            while self.queue and len(self.running) < self.max_jobs:
                self.start(self.queue.popleft())
            self.keep_a_spare()
            now = time.monotonic()
            for job in [j for j in self.running.values() if j.deadline <= now]:
                isolation = job.sandbox.isolation if job.sandbox is not None else "limits-only"
                self.reap(job, kill=True)
                self.fail(job, "timeout", "timed out: the judge stopped the run (it overran its time limit)", isolation)
            waits = [j.deadline - now for j in self.running.values()] + [PARENT_POLL_S]
            timeout = max(0.0, min(waits))
            for key, _ in self.selector.select(timeout=timeout):
                if key.data is None:
                    if not self.read_stdin():
                        return
                else:
                    self.read_child(key.data)

    def reap_orphans(self) -> None:
        """Collect processes of ours that nothing else waits for (orphans come to us: we are their
        subreaper); harnesses and sandbox supervisors of running jobs are collected by `reap`."""
        own = {job.pid for job in self.running.values()} | {
            job.sandbox.jail.pid for job in self.running.values() if job.sandbox is not None
        }
        if self.spare is not None:
            own |= {self.spare.started.jail.pid, self.spare.harness}
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid in own:
                return  # nothing to collect, or a harness of ours, which `reap` collects
            try:
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                return

    def read_stdin(self) -> bool:
        try:
            chunk = os.read(0, 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.inbuf += chunk
        while b"\n" in self.inbuf:
            line, _, rest = bytes(self.inbuf).partition(b"\n")
            self.inbuf = bytearray(rest)
            if line.strip():
                try:
                    self.handle(json.loads(line))
                except ValueError as exc:
                    self.send({"id": None, "error": f"bad request: {exc}"})
        return True

    def read_child(self, job: Job) -> None:
        try:
            chunk = os.read(job.fd, 1 << 16)
        except BlockingIOError:
            return
        if chunk:
            job.buf += chunk
            if job.op == "check" and b"\n" in job.buf:  # the harness's one line: act on it now
                self.finished(job)
        else:
            self.finished(job)

    def shutdown(self) -> None:
        for job in list(self.running.values()):
            self.reap(job, kill=True)
        if self.spare is not None:
            self.let_go(self.spare)
            self.spare = None


def _end(started: Started, counted: bool = False) -> float:
    """Kill a sandbox (its whole jail), collect it, remove its folder; the CPU seconds its
    processes used: its supervisor's and what that collected (wait4), and, unless `counted`
    elsewhere (the harness that killed them says in its verdict line), the processes still
    under the supervisor, read before the kill (Started.kill)."""
    jail = started.jail
    started.kill()  # reads what is still under the supervisor (processes killed by the harness may linger)
    cpu_s = 0.0 if counted else started.cpu_s
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(jail.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(jail.pid, signal.SIGKILL)  # one ended just after its start may not lead its group yet
    try:
        _, _, usage = os.wait4(jail.pid, 0)
        cpu_s += usage.ru_utime + usage.ru_stime
    except ChildProcessError:
        pass
    jail.kill()  # the rest: its folder (limits only); idempotent
    jail.close()  # its status pipe and the pidfd kill() opened: one leaked per job otherwise
    return cpu_s


def _hand_over(started: Started) -> None:
    """Close the worker's copies of the descriptors its harness now holds, and mark the jail's
    status descriptor closed. Without the mark, jail.close() at the job's end closed that number a
    second time: with 3+ jobs it was by then another running check's verdict pipe (or sandbox
    pipe), so that check lost its verdict and the worker died on the reused number (a job's fd
    'already registered' / 'not registered'); "the judge's worker died twice while checking this"."""
    for fd in started.fds:
        os.close(fd)
    started.jail.status_fd = -1


def _how_ended(status: int) -> str:
    """A wait status in words."""
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _has_cuda() -> bool:
    """Whether sandboxes get the GPU device nodes (a CUDA machine); asked once, without torch CUDA."""
    from llmq.judge.device import describe_device

    return describe_device().has_cuda


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Orphaned sandboxes (their harness killed on timeout or cancel) become our children, so we
    can reap them instead of leaving zombies to a PID 1 that may not."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _describe_child(answer_path: str, fd: int) -> None:
    from llmq.judge import harness
    from llmq.judge.limits import close_fds_except
    from llmq.judge.wire import write_all

    os.setpgid(0, 0)
    # Forked from the worker, it holds every descriptor the worker holds: the spare's job and
    # verdict pipes, the running checks' sandbox channels. The answer module it loads needs none.
    close_fds_except({fd})
    try:
        result = harness.describe(answer_path)
    except BaseException as exc:
        result = {
            "checks": [],
            "wrong_answers": [],
            "alternatives": [],
            "forbidden": [],
            "problems": [f"{answer_path}: cannot be loaded: {type(exc).__name__}: {exc}"],
        }
    write_all(fd, json.dumps(result).encode() + b"\n")
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmq.judge.worker")
    parser.add_argument("--jobs", type=int, default=1, help="checks run at the same time")
    args = parser.parse_args(argv)
    # The protocol gets its own descriptor; fd 1 goes to stderr so a stray print cannot corrupt it.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from llmq.judge.limits import make_undumpable

    make_undumpable()  # no process of the same user opens our pipes through /proc/<pid>/fd
    warm()
    _become_subreaper()
    worker = Worker(out_fd, args.jobs)
    worker.send({"id": None, "ready": True, "pid": os.getpid()})
    try:
        worker.serve()
    finally:
        worker.shutdown()
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # no interpreter teardown (seconds with torch loaded): a dead client's worker goes now
