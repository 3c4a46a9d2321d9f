"""The sandbox's supervisor: the process between the jail's starter and the submission (S1).

It forks nothing itself (jail.py forks the body, S2, and then calls `supervise`). From then on it
only watches: it reaps every process of the submission (it is a subreaper, and in the full level
PID 1 of the submission's PID namespace, so double-forked daemons stay under it); every ~10 ms it
sums the memory and counts the tasks (processes and threads) of the whole submission and kills all
of it when the memory passes the budget `jail.lock()` sent or the tasks pass the limit; in the
limits-only level it also measures the writable folder against the disk quota. When the body
ends, or it killed it, it kills every remaining process of the submission, writes ONE status line
(JSON, see `ending`) on the status pipe, and exits.

Memory is counted as the proportional set size of anonymous and shared-memory pages (Pss_Anon +
Pss_Shmem from /proc/PID/smaps_rollup) summed over the submission's processes, minus what they
counted when the budget arrived (the pages a fork shares with the warm worker). Reading
smaps_rollup costs about 1 ms for a torch process, so each round first sums RssAnon + RssShmem from
/proc/PID/status, an upper bound that is cheap, and reads the exact figure only when that bound
passes the budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from typing import Any

POLL_S = 0.01
MAX_POLL_S = 0.05
DISK_POLL_S = 0.05
UNLIMITED = -1


def ending(end: str, **fields: Any) -> str:
    """The status line: {"end": "exit"|"signal"|"memory"|"tasks"|"disk"|"setup", ...}."""
    return json.dumps({"end": end, **fields}, separators=(",", ":")) + "\n"


def _mib(n: Any) -> str:
    return f"{int(n) / 1024**2:.0f} MiB"


def describe(status: dict[str, Any] | None) -> str:
    """The status line in words, for a person reading a verdict."""
    if not status:
        return "the sandbox ended without saying how (its supervisor was killed)"
    end = status.get("end")
    if end == "exit":
        return f"exited with status {status.get('code')}"
    if end == "signal":
        return f"killed by {status.get('name') or 'signal ' + str(status.get('signal'))}"
    if end == "memory":
        return f"stopped: its processes used {_mib(status['used'])} of memory together, over the {_mib(status['limit'])} allowed"
    if end == "tasks":
        return f"stopped: it ran {status['count']} processes and threads at once, over the {status['limit']} allowed"
    if end == "disk":
        return f"stopped: its folder grew to {_mib(status['used'])}, over the {_mib(status['limit'])} allowed"
    if end == "setup":
        return f"the sandbox could not be set up: {status.get('error')}"
    return f"ended: {status}"


# --- reading /proc -------------------------------------------------------------------------------


def _children_of(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def descendants(root: int) -> list[int]:
    """Processes below `root`, following /proc/PID/task/TID/children."""
    found: list[int] = []
    todo = _children_of(root)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(_children_of(pid))
    return found


def namespace_pids() -> list[int]:
    """Every process of this PID namespace but its init (our own /proc shows only those)."""
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and n != "1"]


def _status_numbers(pid: int) -> tuple[int, int]:
    """(threads, RssAnon + RssShmem in bytes) of a process; (0, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            data = f.read()
    except OSError:
        return 0, 0
    threads = 1
    rss = 0
    for line in data.split(b"\n"):
        if line.startswith(b"Threads:"):
            threads = int(line.split()[1])
        elif line.startswith((b"RssAnon:", b"RssShmem:")):
            rss += int(line.split()[1]) * 1024
    return threads, rss


def _pss(pid: int) -> int | None:
    """Pss_Anon + Pss_Shmem of a process in bytes (Pss on kernels without the split); None when
    it cannot be read (the process is gone, or we may not look at it)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            data = f.read()
    except OSError:
        return None
    total = 0
    plain = 0
    split = False
    for line in data.split(b"\n"):
        if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
            total += int(line.split()[1]) * 1024
            split = True
        elif line.startswith(b"Pss:"):
            plain = int(line.split()[1]) * 1024
    return total if split else plain


def folder_bytes(path: str) -> int:
    """Space the files under `path` take on disk, each at least 4 KiB (so that a million empty
    files count too)."""
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += max(st.st_blocks * 512, 4096)  # an empty file still costs an inode and a block
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


# --- the watch -----------------------------------------------------------------------------------


class Supervisor:
    """Watches the body `child` (a child of this process) and everything it starts."""

    def __init__(self, child: int, max_tasks: int, disk_bytes: int, budget_fd: int, full: bool, folder: str | None) -> None:
        self.child = child
        self.max_tasks = max_tasks
        self.disk_bytes = disk_bytes
        self.budget_fd = budget_fd
        self.full = full
        self.folder = folder
        self.budget: int | None = None  # bytes over the baseline; None until lock(); UNLIMITED
        self.baseline = 0
        self.child_status: int | None = None
        self.setup_error: str | None = None
        self.last_exact: int | None = None  # Pss total of the last exact round, and the bound then
        self.last_upper = 0
        self.last_upper_seen = 0  # the upper bound of the latest round

    def pids(self) -> list[int]:
        return namespace_pids() if self.full else descendants(os.getpid())

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.child_status = status

    def read_budget(self) -> None:
        try:
            data = os.read(self.budget_fd, 4096)
        except OSError:
            data = b""
        os.close(self.budget_fd)
        self.budget_fd = -1
        if data.startswith(b"setup:"):  # the body's own preparation failed before lock()
            self.setup_error = data[6:].decode(errors="replace").strip()
            return
        try:
            self.budget = int(data.strip() or b"-1")
        except ValueError:
            self.budget = UNLIMITED
        self.baseline = self.exact(self.pids())

    def exact(self, pids: list[int]) -> int:
        """The submission's memory: Pss where we may read it, else the upper bound."""
        total = 0
        for pid in pids:
            pss = _pss(pid)
            total += pss if pss is not None else _status_numbers(pid)[1]
        return total

    def check(self) -> str | None:
        """One round of the watchdogs; the status line when the submission must be stopped."""
        pids = self.pids()
        tasks = 0
        upper = 0
        for pid in pids:
            threads, rss = _status_numbers(pid)
            tasks += threads
            upper += rss
        self.last_upper_seen = upper
        if tasks > self.max_tasks:
            return ending("tasks", count=tasks, limit=self.max_tasks)
        budget = self.budget
        if budget is None or budget == UNLIMITED or upper - self.baseline <= budget:
            return None
        # The bound says "maybe over". The exact figure of the last round plus what the bound grew
        # since then is still a bound (processes that exited take their Pss with them).
        if self.last_exact is not None and self.last_exact + (upper - self.last_upper) - self.baseline <= budget:
            return None
        self.last_exact, self.last_upper = self.exact(pids), upper
        used = self.last_exact - self.baseline
        return ending("memory", used=used, limit=budget) if used > budget else None

    def near_budget(self) -> bool:
        """Whether the last round's upper bound was past half the budget."""
        budget = self.budget
        if budget is None or budget == UNLIMITED:
            return False
        return self.last_upper_seen - self.baseline > budget // 2

    def check_disk(self) -> str | None:
        if self.folder is None:
            return None
        used = folder_bytes(self.folder)
        return ending("disk", used=used, limit=self.disk_bytes) if used > self.disk_bytes else None

    def run(self) -> str:
        """Watch until the body ends or must be stopped; returns the status line."""
        try:
            pidfd: int | None = os.pidfd_open(self.child)
        except (OSError, AttributeError):
            pidfd = None
        interval = POLL_S
        next_disk = 0.0
        while True:
            self.reap()
            if self.child_status is not None:
                return _exit_line(self.child_status)
            if self.budget is None and self.budget_fd >= 0 and pidfd is not None:
                # Before lock() the body runs only the judge's own code (a spare sandbox may wait
                # minutes for its check): nothing to measure, so no rounds, just wait for the
                # budget or the body's end. Each round costs a read of /proc per process.
                with contextlib.suppress(InterruptedError):
                    if self.budget_fd in select.select([pidfd, self.budget_fd], [], [])[0]:
                        self.read_budget()
                        if self.setup_error is not None:
                            return ending("setup", error=self.setup_error)
                continue
            started = time.monotonic()
            spent = time.thread_time()
            line = self.check()
            if line is None and started >= next_disk:
                line = self.check_disk()
                next_disk = started + DISK_POLL_S
            if line is not None:
                return line
            # The round's CPU time, not its wall time: on a loaded machine a round waits for a core,
            # and backing off then would let a fast-growing submission run longest when it is most
            # dangerous. Near the budget, every POLL_S whatever the cost.
            cost = time.thread_time() - spent
            interval = POLL_S if self.near_budget() else min(MAX_POLL_S, max(POLL_S, 3 * cost))
            waits = [fd for fd in (pidfd, self.budget_fd) if fd is not None and fd >= 0]
            try:
                ready, _, _ = select.select(waits, [], [], interval)
            except InterruptedError:
                ready = []
            if self.budget_fd >= 0 and self.budget_fd in ready:
                self.read_budget()
                if self.setup_error is not None:
                    return ending("setup", error=self.setup_error)

    def kill_all(self) -> None:
        """SIGKILL every process of the submission and reap until none is left."""
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if self.full:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)  # from PID 1: every other process of the namespace
            else:
                for pid in descendants(os.getpid()):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return
            if pid == self.child and self.child_status is None:
                self.child_status = status


def _exit_line(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return ending("signal", signal=signum, name=name)
    return ending("exit", code=os.WEXITSTATUS(status))


def supervise(
    child: int, max_tasks: int, disk_bytes: int, budget_fd: int, status_fd: int, full: bool, folder: str | None
) -> None:
    """The rest of S1's life: watch `child`, kill everything at its end, report, exit. Never returns."""
    code = 0
    try:
        watch = Supervisor(child, max_tasks, disk_bytes, budget_fd, full, folder)
        line = watch.run()
        watch.kill_all()
        with contextlib.suppress(OSError):
            os.write(status_fd, line.encode())
        if not full and not os.path.isdir("/proc/self/task"):
            os.killpg(0, signal.SIGKILL)  # no /proc to find them: the process group, this process too
    except BaseException as exc:  # a bug here must still end the submission
        code = 70
        with contextlib.suppress(OSError):
            os.write(status_fd, ending("setup", error=f"supervisor failed: {type(exc).__name__}: {exc}").encode())
        if full:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(0, signal.SIGKILL)  # the whole group, this process too
    os._exit(code)
