"""Resource limits for the sandbox: what they are, and how they are applied inside it.

The address-space limit is *extra* memory: a process forked from the warm worker already maps
what torch mapped at import (about 0.6 GiB of virtual memory here, most of it never touched), so
RLIMIT_AS is set to what the sandbox maps at the moment of the fork plus `memory_bytes`. A
solution can therefore allocate about `memory_bytes` more before allocations fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
from dataclasses import dataclass

from llmq.defaults import CHECK_TIMEOUT_S

GIB = 1024**3


@dataclass(frozen=True)
class Limits:
    """Per-run limits. `timeout_s` is the wall-clock limit for all checks of one submission."""

    timeout_s: float = CHECK_TIMEOUT_S
    memory_bytes: int = 2 * GIB  # address space on top of what the fork inherits
    cpu_s: int | None = None  # CPU seconds; default: the wall-clock limit plus a little
    file_bytes: int = 16 * 1024 * 1024  # largest file the submission may write
    output_bytes: int = 64 * 1024  # stdout+stderr kept for the report

    def cpu_seconds(self) -> int:
        return self.cpu_s if self.cpu_s is not None else int(self.timeout_s) + 2


def mapped_bytes() -> int:
    """Virtual memory this process maps now (VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def apply(limits: Limits) -> None:
    """Set the rlimits of the calling process (the sandbox, once it is prepared)."""
    apply_numbers(limits.memory_bytes, limits.cpu_seconds(), limits.file_bytes)


def apply_numbers(memory_bytes: int, cpu_s: int, file_bytes: int) -> None:
    """RLIMIT_AS (what is mapped now plus `memory_bytes`), RLIMIT_CPU, RLIMIT_FSIZE, no core files."""
    address_space = mapped_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfault must not write a core file
    # Writing past the file-size limit then raises OSError(EFBIG) instead of killing silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def limit_address_space(extra_bytes: int) -> None:
    """RLIMIT_AS of the calling process: what it maps now plus `extra_bytes` (the harness's own cap,
    so that whatever the sandbox sends cannot grow it without bound)."""
    address_space = mapped_bytes() + extra_bytes
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        address_space = min(address_space, hard)
    resource.setrlimit(resource.RLIMIT_AS, (address_space, hard))


_PR_SET_DUMPABLE = 4


def make_undumpable() -> None:
    """PR_SET_DUMPABLE 0: /proc/<pid>/fd, mem and environ of this process become root's, so another
    process of the same user (a submission where there is no PID namespace) cannot open our pipes
    or read our memory. Inherited by children forked afterwards."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans left running)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the process group kill still cleans up


def close_fds_except(keep: set[int]) -> None:
    """Close every inherited descriptor except `keep` (and 0, 1, 2, handled by the caller)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
