"""The body's side (S2): shed descriptors, environment and privileges, confine, run body();
`lock()` fixes the limits right before untrusted code runs."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from llmq.judge import landlock, seccomp
from llmq.judge.jail.handle import FULL, LIMITS_ONLY, NOBODY, UNLIMITED, JailSpec
from llmq.judge.jail.libc import (
    _LINUX,
    _PR_SET_DUMPABLE,
    _arch,
    _close_all_but,
    _die_with_parent,
    _drop_bounding_only,
    _drop_capabilities_if_any,
    _prctl,
)
from llmq.judge.jail.visible import _DEVICES, _readable, view

_caller_nice = 0  # the body runs at the caller's priority (start() sets it before forking)


def _clean_environment(folder: str) -> None:
    keep_prefixes = (
        "TRITON_",
        "CUDA_",
        "NCCL_",
        "NVIDIA_",
        "OMP_",
        "MKL_",
        "OPENBLAS_",
        "TORCH_",
        "PYTORCH_",
        "LANG",
        "LC_",
        "TZ",
    )
    kept = {k: v for k, v in os.environ.items() if k.startswith(keep_prefixes) or k == "LD_LIBRARY_PATH"}
    os.environ.clear()
    os.environ.update(kept)
    os.environ.update(
        {"HOME": folder, "TMPDIR": folder, "PATH": "/usr/local/bin:/usr/bin:/bin", "USER": "sandbox", "LOGNAME": "sandbox"}
    )
    tempfile.tempdir = None  # the worker may have cached the host's /tmp


_body_state: dict[str, Any] = {}


def _enter_body(
    body: Callable[[], None], keep_fds: Sequence[int], budget_w: int, level: str, spec: JailSpec, folder: str, identity: str
) -> None:
    """S2: shed everything, confine, run body(), exit. Never returns."""
    try:
        _die_with_parent(None)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, _caller_nice)  # raising the nice value is always allowed
        keep = set(keep_fds) | {budget_w}
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            if fd not in keep:
                os.dup2(devnull, fd)
        keep |= {0, 1, 2}
        _close_all_but(keep)
        os.chdir(folder)
        _clean_environment(folder)
        if identity == "nobody":  # root outside: become a user who owns nothing
            os.setgroups([])
            inner = 1 if level == FULL else NOBODY
            _drop_bounding_only()
            os.setresgid(inner, inner, inner)
            os.setresuid(inner, inner, inner)
            if level == FULL:
                # The uid change made us non-dumpable; the supervisor (root of the namespace) may
                # read our /proc only if we are dumpable, since our memory map predates the namespace.
                _prctl(_PR_SET_DUMPABLE, 1)
        _drop_capabilities_if_any()
        if _arch():
            # Without a network namespace, a unix socket could connect to any listening socket
            # file on the machine (a root-owned daemon's, as root-without-capabilities).
            seccomp.install(inet=level == FULL or spec.network, unix=level == FULL)
        holds: dict[str, bool] = {}
        if level == LIMITS_ONLY and _arch() and landlock.abi() >= 1:
            holds = _landlock(folder, spec)  # a kernel that has Landlock and refuses it: no body
        _body_state.update(budget_fd=budget_w, level=level, identity=identity, spec=spec, landlock=holds)
    except BaseException as exc:
        try:
            os.write(budget_w, f"setup:{type(exc).__name__}: {exc}".encode()[:4000])
        finally:
            os._exit(71)
    code = 0
    try:
        body()
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 1
        try:
            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:
            pass
    os._exit(code)


def _landlock(folder: str, spec: JailSpec) -> dict[str, bool]:
    v = view()
    devices = [os.path.join("/dev", n) for n in _DEVICES]
    if spec.gpu:
        devices += list(v.gpu_devices)
    # /dev by name only (CUDA looks for its nodes there): its other files stay closed, whatever
    # their permissions would let this user do.
    return landlock.restrict(_readable(v), [folder], devices, block_tcp=not spec.network, list_only=["/dev"])


def lock(memory_bytes: int, cpu_s: int, file_bytes: int) -> None:
    """Called once by the body, right before it runs untrusted code: sends the supervisor the
    memory budget of the whole submission (bytes over what it uses now; UNLIMITED for none) on a
    pipe it then closes, and sets this process's rlimits. Nothing can raise them afterwards."""
    fd = _body_state.get("budget_fd")
    if fd is None:
        raise RuntimeError("jail.lock() is for the body of jail.start(), once")
    level, identity, spec = _body_state["level"], _body_state["identity"], _body_state["spec"]
    unlimited = memory_bytes is None or memory_bytes == UNLIMITED or memory_bytes < 0
    if not unlimited:
        room = _mapped_bytes() + memory_bytes
        _setrlimit(resource.RLIMIT_AS, room, room)
    _setrlimit(resource.RLIMIT_CPU, cpu_s, cpu_s + 1)
    _setrlimit(resource.RLIMIT_FSIZE, file_bytes, file_bytes)
    _setrlimit(resource.RLIMIT_CORE, 0, 0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    files = min(1024, hard) if hard != resource.RLIM_INFINITY else 1024
    _setrlimit(resource.RLIMIT_NOFILE, min(soft, files), files)
    nproc = _nproc_limit(level, identity, spec)
    if nproc:
        _setrlimit(resource.RLIMIT_NPROC, nproc, nproc)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past file_bytes fails with EFBIG instead
    if level == LIMITS_ONLY and identity != "user":
        # Other processes of our uid lose /proc access to us; the supervisor, real root, keeps it.
        # (In FULL nothing outside can address us, and the supervisor needs us dumpable.)
        _prctl(_PR_SET_DUMPABLE, 0)
    try:
        os.write(fd, str(UNLIMITED if unlimited else int(memory_bytes)).encode())
    finally:
        os.close(fd)
        _body_state["budget_fd"] = None


def _setrlimit(which: int, soft: int, hard: int) -> None:
    """Set a limit, never above the hard limit already there (only lowering is allowed)."""
    try:
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        if _LINUX:
            raise  # elsewhere (macOS refuses some limits) the limits that hold are what there is


def _nproc_limit(level: str, identity: str, spec: JailSpec) -> int:
    """RLIMIT_NPROC where it counts only the submission's tasks (0: leave it)."""
    if level == FULL:
        # The namespace's own id: its task count is only ours (plus S0 and S1 when they share it).
        return spec.max_tasks if identity == "nobody" else spec.max_tasks + 2
    if identity == "nobody":
        return spec.max_tasks * 4  # uid 65534 is shared with other jails: a backstop, the watchdog decides
    return 0


def _mapped_bytes() -> int:
    if not _LINUX:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS; a floor, not the map
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
