"""The jail the judge runs a submission in: operating-system isolation and whole-submission limits.

`start(body, keep_fds, spec)` forks a jail and runs `body()` in its innermost process; `lock()`,
called by the body right before it runs untrusted code, fixes the limits for good. Two levels:

FULL (Linux with unprivileged user namespaces; see `isolation_level()`):
  S1  cloned by start() straight into new user, mount, PID, network, IPC, UTS and cgroup
      namespaces (the caller writes its uid/gid maps); PID 1 there, leader of a new session (so
      one group kill reaches every process below), the supervisor (supervisor.py). It forks S2,
      and meanwhile builds a new root (a tmpfs; pivot_root; the old root detached) that shows
      read-only only what Python and the libraries need, a synthetic /etc, a minimal /dev, its own
      /proc, and one writable tmpfs of `disk_bytes` at /tmp (the folder; /dev/shm is the same
      tmpfs); brings up the loopback of its empty network namespace; then only supervises.
      Where that clone is not safe (threads, not glibc), S0 = fork + unshare comes first and
      forks S1: the same jail, one fork slower.
  S2  the body: as uid 1 of the namespace (nobody outside) when the caller is root, else as the
      namespace's uid 0 with every capability dropped; seccomp filter installed.
LIMITS_ONLY (no user namespaces, other systems, or LLMQ_SANDBOX=limits-only):
  S1  forked by start(): a new session, the subreaper supervisor with the memory, task and disk
      watchdogs; the folder is a fresh directory on disk that kill() removes.
  S2  the body: seccomp; Landlock where the kernel has it (read-only view like FULL's, the folder
      writable, no TCP, signals and abstract sockets only inside); as root, uid 65534 when that
      user can read the Python install, else uid 0 without capabilities.

Nothing here imports torch. The body runs inside the new root in FULL: whatever it needs from
llmq must be imported before start() (the source tree is not visible there).

The package, one idea a module: `handle` (the levels' names, JailSpec, the started Jail),
`levels` (which level this process gets and what each guarantees), `visible` (what the
submission sees of the host), `starting` (S0/S1/S2: clone, fork, maps), `root` (FULL's new
root), `inside` (the body's side and lock()), `libc` (the system-call wrappers).
"""

from __future__ import annotations

from llmq.judge import supervisor
from llmq.judge.jail.handle import (
    ENV_SWITCH,
    FULL,
    HOSTNAME,
    INNER_FOLDER,
    LIMITS_ONLY,
    NOBODY,
    UNLIMITED,
    Jail,
    JailError,
    JailSpec,
)
from llmq.judge.jail.inside import lock
from llmq.judge.jail.levels import guarantees, isolation_level, why_limits_only
from llmq.judge.jail.starting import start, sweep_stale_folders
from llmq.judge.jail.visible import View, view

__all__ = [
    "ENV_SWITCH",
    "FULL",
    "HOSTNAME",
    "INNER_FOLDER",
    "LIMITS_ONLY",
    "NOBODY",
    "UNLIMITED",
    "Jail",
    "JailError",
    "JailSpec",
    "View",
    "guarantees",
    "isolation_level",
    "lock",
    "start",
    "supervisor",
    "sweep_stale_folders",
    "view",
    "why_limits_only",
]
