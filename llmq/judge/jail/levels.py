"""The isolation level of this process (probed once with a real jail), why it is not FULL, and
what each level guarantees on this machine, in words for reports and the README."""

from __future__ import annotations

import os
import platform
import stat

from llmq.judge import landlock, supervisor
from llmq.judge.jail.handle import ENV_SWITCH, FULL, LIMITS_ONLY, JailSpec
from llmq.judge.jail.libc import _arch
from llmq.judge.jail.visible import View, view

_probed: str | None = None
_probe_problem = ""


def isolation_level() -> str:
    """FULL when this process can build the full jail (probed once, with a real jail), else
    LIMITS_ONLY. LLMQ_SANDBOX=limits-only in the environment forces LIMITS_ONLY."""
    global _probed, _probe_problem
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("limits-only", "limits_only"):
        return LIMITS_ONLY
    if not _arch():
        _probe_problem = f"no namespaces on {platform.system()} {platform.machine()}"
        return LIMITS_ONLY
    if _probed is None:
        _probed, _probe_problem = _probe()
    return _probed


def why_limits_only() -> str:
    """Why this process runs jails limits-only, in words: the switch, the probe's failure, or the
    last full jail that could not start ('' when nothing went wrong)."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("limits-only", "limits_only"):
        return f"{ENV_SWITCH}=limits-only is set"
    return _probe_problem


def guarantees(level: str | None = None) -> list[str]:
    """What the sandbox holds at `level` (default: this machine's) on this machine, one claim a
    line, for reports and the README. Nothing here says more than the code and kernel give."""
    level = level or isolation_level()
    mib = JailSpec().disk_bytes // 1024**2
    common = [
        "memory is counted over all of the submission's processes together, tasks (processes and threads) too;"
        " over the limit, all of it is stopped",
        "every process of the submission is gone when the check ends",
        "a seccomp filter refuses ptrace, reading other processes' memory, mount and namespace calls, kernel"
        " keys, BPF, perf, io_uring and kill(-1)",
        "no capabilities; no_new_privs (setuid programs gain nothing)",
    ]
    if level == FULL:
        return [
            "its own user, PID, mount, network, IPC and UTS namespaces: it sees only its own processes",
            "network: only its own loopback; nothing outside is reachable, not even the machine's 127.0.0.1",
            "files: read-only the Python install, its packages and /usr, a made-up /etc; no home folder, no"
            " LLMQ_HOME, no llmq source or question bank",
            f"writes: one private folder in memory of {mib} MiB (also /dev/shm), gone with the check",
            "it runs as uid 65534 (nobody) outside" if os.geteuid() == 0 else "it runs as your user outside",
            *common,
        ]
    version = landlock.abi() if _arch() else 0
    if not _arch():
        return [
            f"no operating-system isolation on {platform.system()}: per-process limits (memory, CPU, file size),"
            " a fresh folder removed afterwards, and the process group killed at the end",
            "it can read and write whatever your user can, reach the network, and signal your processes",
        ]
    out = [
        "no namespaces: it can list the machine's processes and their command lines",
        f"its folder on disk is measured every 50 ms: past {mib} MiB the submission is stopped; removed afterwards",
        "seccomp refuses IP and unix-domain sockets (unless the GPU track's ranks need TCP)",
        *common,
    ]
    if version >= 1:
        out.append(
            "Landlock: reads only the Python install, its packages, /usr, a few /etc files, /proc and /sys;"
            " writes only its folder"
        )
    else:
        out.append("no Landlock in this kernel: it can read and write whatever its user can")
    if version >= 6:
        out.append("Landlock: it cannot signal or open the /proc files of processes outside the sandbox")
    else:
        out.append("it can signal processes of its own user (the harness, the app)")
    identity = _identity(LIMITS_ONLY)
    if identity == "nobody":
        out.append("it runs as uid 65534 (nobody), not as you")
    elif identity == "root-no-caps":
        out.append(
            "it runs as root without capabilities (nobody could not read the Python install here):"
            " root's files are kept from it by Landlock alone"
        )
    return out


def _probe() -> tuple[str, str]:
    from llmq.judge.jail.starting import _start_full  # starting asks this module for the level

    try:
        jail = _start_full(lambda: None, (), JailSpec(disk_bytes=1024**2, max_tasks=4))
    except Exception as exc:  # whatever stops the probe stops the jail: the fallback, and why
        return LIMITS_ONLY, f"{type(exc).__name__}: {exc}"
    try:
        status = jail.read_status(timeout=10.0)
    finally:
        jail.kill()
        jail.close()
    if status == {"end": "exit", "code": 0}:
        return FULL, ""
    return LIMITS_ONLY, f"the namespace jail did not start: {supervisor.describe(status)}"


def _identity(level: str) -> str:
    if os.geteuid() != 0:
        return "user"
    if level == FULL or _nobody_can_read(view()):
        return "nobody"
    return "root-no-caps"


def _nobody_can_read(v: View) -> bool:
    """Whether uid 65534 can reach every directory of the view (each ancestor searchable)."""
    for path in v.binds:
        probe = path
        while probe not in ("/", ""):
            try:
                if not os.stat(probe).st_mode & stat.S_IXOTH:
                    return False
            except OSError:
                return False
            probe = os.path.dirname(probe)
    return True
