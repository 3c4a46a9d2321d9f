"""The jail as its caller holds it: the levels' names, what a submission gets (JailSpec), and the
started jail (Jail) with its status line and kill()."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from llmq.judge import supervisor

FULL = "full"
LIMITS_ONLY = "limits-only"
UNLIMITED = supervisor.UNLIMITED  # memory_bytes for lock(): no memory limit (CUDA runs)
ENV_SWITCH = "LLMQ_SANDBOX"  # "limits-only" forces the fallback
HOSTNAME = "llmq-sandbox"
INNER_FOLDER = "/tmp"  # the writable folder as the body sees it in FULL
NOBODY = 65534


class JailError(OSError):
    """The jail could not be started."""


@dataclass(frozen=True)
class JailSpec:
    """What the submission gets. `network`: in LIMITS_ONLY, allow IP sockets (two gloo ranks
    talk TCP over loopback; the host's network is then reachable too). FULL always gives the
    submission its own loopback and nothing else."""

    disk_bytes: int = 64 * 1024**2  # the writable folder, in all
    max_tasks: int = 64  # processes + threads of the whole submission
    gpu: bool = False  # pass /dev/nvidia*, /dev/dri through, and /sys read-only
    network: bool = False


@dataclass
class Jail:
    """A started jail, as the caller (and whoever it forks) holds it."""

    pid: int  # S1 (S0 on the fallback path): a child of the caller, leader of the jail's process group
    level: str
    status_fd: int  # read end of the status pipe: one JSON line, see supervisor.ending()
    folder: str | None = None  # LIMITS_ONLY: the folder on disk (FULL: /tmp inside, nothing outside)
    parent: int = 0  # the process that called start()
    status: dict[str, Any] | None = field(default=None, repr=False)
    pidfd: int = field(default=-1, repr=False)  # refers to `pid` itself, whatever its number becomes
    _pidfd_inode: int = field(default=0, repr=False)
    _status_buf: bytearray = field(default_factory=bytearray, repr=False)

    def __post_init__(self) -> None:
        if self.pidfd < 0 and hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self.pidfd = os.pidfd_open(self.pid)  # our child: its number cannot be reused yet
                self._pidfd_inode = os.fstat(self.pidfd).st_ino

    def _leader_reaped(self) -> bool | None:
        """True once the leader has been reaped (its number, and so its group's, may then be
        reused), False while it is alive or a zombie, None when we cannot tell (no pidfd, or a
        forked holder closed that number)."""
        if self.pidfd < 0:
            return None
        try:
            with open(f"/proc/self/fdinfo/{self.pidfd}", "rb") as f:
                info = f.read()
        except OSError:
            return None
        if f"\nPid:\t{self.pid}\n".encode() in info:
            return False
        if b"\nPid:\t-1\n" in info and f"\nino:\t{self._pidfd_inode}\n".encode() in info:
            return True  # the same pidfd (its inode, as opened), its process gone
        return None

    def kill(self) -> None:
        """Kill every process of the submission, reap what is ours, remove its folder. Any process
        that holds this object may call it (the caller's children too), any number of times."""
        # While the leader is not reaped, its number is its group's: every process of the
        # submission is in that group (seccomp keeps them there), so one killpg reaches them all.
        reaped = self._leader_reaped()
        if not reaped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                if reaped is False:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
        if os.getpid() == self.parent and reaped is not True:
            # Not when the pidfd says it was collected already (our own wait4, a subreaper's
            # loop): its number is free then, maybe another child's, and waiting on it would block
            # on that child and steal its exit status.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        if self.folder:
            _remove_folder(self.folder)

    def read_status(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait (at most `timeout` s) for the supervisor's line; None if it ended without one,
        or the time ran out. The result is kept in `self.status`."""
        if self.status is not None or self.status_fd < 0:
            return self.status
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.status_fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.status_fd, 4096)
            self._status_buf += chunk
            if not chunk or b"\n" in self._status_buf:
                break
        line = bytes(self._status_buf).split(b"\n", 1)[0]
        try:
            self.status = json.loads(line) if line else None
        except ValueError:
            self.status = {"end": "setup", "error": f"unreadable status line {line[:80]!r}"}
        return self.status

    def close(self) -> None:
        """Close the status pipe and the pidfd (after the status was read, or when it is no longer
        wanted; kill() still works afterwards, by pid)."""
        if self.status_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.status_fd)
            self.status_fd = -1  # closing twice could close a descriptor that reused the number
        if self.pidfd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = -1


def _remove_folder(folder: str) -> None:
    # A process killed a moment ago may still finish the write it was in: try until it stays gone.
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.lexists(folder):
            return
        time.sleep(0.01)
