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
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import json
import os
import platform
import resource
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmq.judge import landlock, seccomp, supervisor

FULL = "full"
LIMITS_ONLY = "limits-only"
UNLIMITED = supervisor.UNLIMITED  # memory_bytes for lock(): no memory limit (CUDA runs)
ENV_SWITCH = "LLMQ_SANDBOX"  # "limits-only" forces the fallback
HOSTNAME = "llmq-sandbox"
INNER_FOLDER = "/tmp"  # the writable folder as the body sees it in FULL
NOBODY = 65534

# CLONE_NEWUSER, NEWNS, NEWPID, NEWNET, NEWIPC, NEWUTS, NEWCGROUP
_NS_FLAGS = 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV = 1, 2, 4
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_NR = {
    "x86_64": {"pivot_root": 155, "mount_setattr": 442, "capset": 126},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442, "capset": 91},
}
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_SECUREBITS, _PR_SET_CHILD_SUBREAPER, _PR_CAP_AMBIENT = 28, 36, 47
# SECBIT_NOROOT(+LOCKED), KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE(+LOCKED): uid 0 gains nothing
# by exec, and no way back to capabilities.
_SECUREBITS = 0x01 | 0x02 | 0x20 | 0x40 | 0x80


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
        if os.getpid() == self.parent:
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


# --- the level -----------------------------------------------------------------------------------

_probed: str | None = None
_probe_problem = ""


def _arch() -> str:
    return seccomp.machine()


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


# --- what the submission sees --------------------------------------------------------------------

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_BOUND = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
_DEVICES = ("null", "zero", "full", "random", "urandom")


@dataclass(frozen=True)
class View:
    """The host paths the submission may read (the same list for both levels)."""

    binds: tuple[str, ...]  # directories bound read-only at the same path
    links: tuple[tuple[str, str], ...]  # (path, target): top-level symlinks such as /lib -> usr/lib
    hidden: tuple[str, ...]  # under a bind, but covered with an empty tmpfs (llmq, its bank)
    gpu_devices: tuple[str, ...]


_view_cache: View | None = None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _sensitive() -> tuple[list[str], list[str]]:
    """(never bind these folders themselves, nor anything in llmq's package; hide these when
    they lie under a folder that is bound)."""
    import llmq

    package = os.path.dirname(os.path.abspath(llmq.__file__))
    parent = os.path.dirname(package)
    never = [package]
    hide = [package]
    if os.path.basename(parent) not in ("site-packages", "dist-packages"):
        never.append(parent)  # an editable install or a checkout: the repository root with the bank
        hide.append(parent)
    for var in ("LLMQ_HOME",):
        if os.environ.get(var):
            never.append(os.path.abspath(os.environ[var]))
            hide.append(os.path.abspath(os.environ[var]))
    home = os.path.expanduser("~")
    if home not in ("/", ""):
        never.append(home)
        hide.append(home)
    return never, hide


def view() -> View:
    """The paths Python, torch, numpy, hypothesis and triton need (computed once per process)."""
    global _view_cache
    if _view_cache is not None:
        return _view_cache
    never, hide = _sensitive()
    # The Python install and its packages only: other sys.path entries (a checkout, a test
    # folder, PYTHONPATH) are the user's files.
    candidates = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]
    candidates += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    candidates += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    found: list[str] = []
    for raw in candidates:
        for path in {os.path.abspath(raw), os.path.realpath(raw)}:
            if path == "/" or not os.path.isdir(path) or path in never or _under(path, never[0]):
                continue
            if any(_under(path, p) for p in _SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)):
                continue
            found.append(path)
    binds: list[str] = []
    for path in sorted(set(found), key=len):
        if not any(_under(path, b) for b in binds):
            binds.append(path)
    links = []
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            links.append((d, os.readlink(d)))
        elif os.path.isdir(d):
            binds.insert(0, d)
    # Any llmq package in a bound site-packages holds a bank (llmq/_bank), imported or not: an
    # editable install leaves one there too.
    hide += [os.path.join(p, "llmq") for p in candidates if "site-packages" in p or "dist-packages" in p]
    hidden: set[str] = set()
    for h in hide:
        if not os.path.isdir(h):
            continue
        real = os.path.realpath(h)
        for b in binds:  # as the bind spells it: a bind through a symlink is another way in
            real_b = os.path.realpath(b)
            if real != real_b and _under(real, real_b):
                hidden.add(b + real[len(real_b) :])
    gpu: list[str] = []
    with contextlib.suppress(OSError):
        gpu = sorted(os.path.join("/dev", n) for n in os.listdir("/dev") if n.startswith("nvidia") or n == "dri")
    _view_cache = View(tuple(binds), tuple(links), tuple(sorted(hidden)), tuple(gpu))
    return _view_cache


# --- small wrappers over libc ---------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source and source.encode(), target.encode(), fstype and fstype.encode(), ctypes.c_ulong(flags), data and data.encode()
        ),
        f"mount {source or ''} on {target}",
    )


def _syscall(name: str, *args: Any) -> int:
    return int(_libc.syscall(_NR[_arch()][name], *args))


def _read_only(target: str) -> None:
    """Make the mount at `target` and every mount below it read-only, nosuid and nodev."""
    attr = (ctypes.c_uint64 * 4)(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    if _syscall("mount_setattr", _AT_FDCWD, target.encode(), _AT_RECURSIVE, ctypes.byref(attr), 32) == 0:
        return
    # Kernels before 5.12: remount the top mount only, keeping the flags the namespace locked.
    flags = os.statvfs(target).f_flag & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC | 1024 | 2048 | 4096)
    _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)


_LINUX = sys.platform.startswith("linux")


def _prctl(option: int, arg: int = 0) -> int:
    if not _LINUX:
        return -1
    return int(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0))


def _die_with_parent(parent: int | None) -> None:
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(0)  # the parent is already gone


def _drop_capabilities() -> None:
    """Bounding set, ambient set, securebits, then the three capability sets, all to nothing."""
    for cap in range(64):
        if _prctl(_PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    _prctl(_PR_CAP_AMBIENT, 4)  # PR_CAP_AMBIENT_CLEAR_ALL
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS)  # refused without CAP_SETPCAP: then there is nothing to keep
    header = struct.pack("<Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = bytes(24)
    rc = _syscall("capset", ctypes.c_char_p(header), ctypes.c_char_p(data)) if _arch() else 0
    if rc != 0:
        raise OSError(ctypes.get_errno(), "capset: cannot drop capabilities")


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep) + [1 << 30]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


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


# --- the body's side (S2) ----------------------------------------------------------------------

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


def _drop_bounding_only() -> None:
    for cap in range(64):
        if _prctl(_PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS)


def _drop_capabilities_if_any() -> None:
    if not _LINUX:
        return
    with open("/proc/self/status", "rb") as f:
        status = f.read()
    for line in status.split(b"\n"):
        if line.startswith((b"CapEff:", b"CapPrm:", b"CapBnd:")) and int(line.split()[1], 16):
            _drop_capabilities()
            return


def _landlock(folder: str, spec: JailSpec) -> dict[str, bool]:
    v = view()
    devices = [os.path.join("/dev", n) for n in _DEVICES]
    if spec.gpu:
        devices += list(v.gpu_devices)
    # /dev by name only (CUDA looks for its nodes there): its other files stay closed, whatever
    # their permissions would let this user do.
    return landlock.restrict(_readable(v), [folder], devices, block_tcp=not spec.network, list_only=["/dev"])


@functools.lru_cache(maxsize=4)
def _readable(v: View) -> tuple[str, ...]:
    """The paths the fallback may read (Landlock rules), worked out once in the caller."""
    read = list(v.binds) + [os.path.join(os.path.dirname(link), target) for link, target in v.links]
    hidden_parents = {b for b in v.binds for h in v.hidden if _under(h, b)}
    if hidden_parents:  # Landlock only adds: allow the siblings of what must stay hidden
        read = [p for p in read if p not in hidden_parents]
        for parent in hidden_parents:
            read += _siblings_of_hidden(parent, v.hidden)
    read += [os.path.join("/etc", n) for n in _ETC_BOUND + ("passwd", "group", "hosts", "nsswitch.conf", "host.conf")]
    # /sys read-only: gloo lists PCI devices there, torch reads the CPU topology.
    read += [os.path.realpath("/etc/localtime"), "/proc", "/sys"]
    return tuple(read)


def _siblings_of_hidden(parent: str, hidden: Sequence[str]) -> list[str]:
    """Everything under `parent` but the hidden paths, as few Landlock rules as it takes.
    Rules follow symlinks, so a link to the hidden path or above it is left out too."""
    hidden_real = [os.path.realpath(h) for h in hidden]
    out: list[str] = []
    try:
        names = os.listdir(parent)
    except OSError:
        return out
    for name in names:
        path = os.path.join(parent, name)
        real = os.path.realpath(path)
        if not any(_under(h, real) for h in hidden_real):
            out.append(path)
        elif real == path and real not in hidden_real:
            out += _siblings_of_hidden(path, hidden)
    return out


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


# --- starting ------------------------------------------------------------------------------------


def start(body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec = JailSpec()) -> Jail:
    """Fork a jail and run `body()` in it with only `keep_fds` (0, 1 and 2 are /dev/null unless
    kept), cwd = its writable folder (also HOME and TMPDIR), a clean environment."""
    global _caller_nice
    view()  # computed here, with the caller's environment, before any fork
    _caller_nice = os.getpriority(os.PRIO_PROCESS, 0)
    if isolation_level() == FULL:
        try:
            return _start_full(body, keep_fds, spec)
        except OSError as exc:
            # The probe worked, this one did not (a namespace limit reached, say): this check runs
            # limits-only, and its Jail.level says so.
            global _probe_problem
            _probe_problem = f"the last full jail could not start: {exc}"
    return _start_limits_only(body, keep_fds, spec)


_caller_nice = 0  # the body runs at the caller's priority
SUPERVISOR_NICE = -10


def _raise_priority(pid: int) -> None:
    """Give the supervisor a core before the submission's processes (where we may): on a loaded
    machine its memory poll must not wait behind forks that grow by a GiB in a tenth of a second."""
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, pid) > SUPERVISOR_NICE:
            os.setpriority(os.PRIO_PROCESS, pid, SUPERVISOR_NICE)


def _s1_common(parent: int | None) -> None:
    _die_with_parent(parent)
    # No handler the caller installed may run here on a signal from the submission. As PID 1,
    # the default means: ignored when sent from inside; in LIMITS_ONLY, Landlock or the user
    # change keeps the submission from signalling the supervisor at all.
    for signum in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError, TypeError):
            if callable(signal.getsignal(signum)):
                signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def _fork_body_and_supervise(
    body: Callable[[], None],
    keep_fds: Sequence[int],
    spec: JailSpec,
    level: str,
    status_w: int,
    folder_inside: str,
    folder_outside: str | None,
    identity: str,
    prepare: Callable[[], None] | None = None,
) -> None:
    """S1: fork S2, run `prepare` (the new root) while S2 is being scheduled, then supervise.
    pivot_root moves the root of every process of the mount namespace, S2's too."""
    budget_r, budget_w = os.pipe()
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_w)
        if os.read(ready_r, 1) != b"r":
            os._exit(70)  # the supervisor could not build the jail, and said so on the status pipe
        os.close(ready_r)
        _enter_body(body, keep_fds, budget_w, level, spec, folder_inside, identity)
    _raise_priority(0)  # after the fork: S2 keeps the caller's priority
    # The body's channel ends here: EOF for the harness when S2 dies.
    _close_all_but({status_w, budget_r, ready_w})
    if prepare is not None:
        try:
            prepare()
        except BaseException as exc:
            os.kill(child, signal.SIGKILL)
            _setup_failed(status_w, exc)
    os.write(ready_w, b"r")
    os.close(ready_w)
    _prctl(_PR_SET_DUMPABLE, 0)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    supervisor.supervise(child, spec.max_tasks, spec.disk_bytes, budget_r, status_w, level == FULL, folder_outside)


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


def _start_limits_only(body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec) -> Jail:
    identity = _identity(LIMITS_ONLY)
    if _arch():
        seccomp.build(_arch(), spec.network, False)  # cached: the body only installs it
        _readable(view())  # cached too: the body only opens them
    folder = tempfile.mkdtemp(prefix="llmq-jail-")
    if identity == "nobody":
        os.chown(folder, NOBODY, NOBODY)
    status_r, status_w = os.pipe()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            _s1_common(me)
            os.close(status_r)
            _fork_body_and_supervise(body, keep_fds, spec, LIMITS_ONLY, status_w, folder, folder, identity)
        except BaseException as exc:
            _setup_failed(status_w, exc)
        os._exit(70)
    os.close(status_w)
    return Jail(pid, LIMITS_ONLY, status_r, folder, me)


def _setup_failed(status_w: int, exc: BaseException) -> None:
    try:
        os.write(status_w, supervisor.ending("setup", error=f"{type(exc).__name__}: {exc}").encode())
    finally:
        os._exit(70)


def _start_full(body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec) -> Jail:
    v = view()
    identity = _identity(FULL)
    seccomp.build(_arch(), True)  # cached: the body only installs it
    status_r, status_w = os.pipe()
    go_r, go_w = os.pipe()  # caller -> S1: the uid/gid maps are written
    me = os.getpid()
    try:
        pid = _clone_into_namespaces()
    except OSError:
        for fd in (status_r, status_w, go_r, go_w):
            os.close(fd)
        raise
    if pid is None:
        os.close(go_r)
        os.close(go_w)
        return _start_full_via_s0(body, keep_fds, spec, v, identity, status_r, status_w)
    if pid == 0:  # S1: PID 1 of the new namespaces
        try:
            os.close(status_r)
            os.close(go_w)
            os.setsid()  # one process group for the whole submission: kill() signals it at once
            _s1_common(None)
            if os.read(go_r, 1) != b"g":
                os._exit(70)
            os.close(go_r)
            _fork_body_and_supervise(
                body, keep_fds, spec, FULL, status_w, INNER_FOLDER, None, identity, prepare=lambda: _build_root(v, spec, identity)
            )
        except BaseException as exc:
            _setup_failed(status_w, exc)
        os._exit(70)
    os.close(status_w)
    os.close(go_r)
    try:
        _write_maps(pid, identity)
        _raise_priority(pid)  # inside the namespace S1 may not; S2, forked after "go", lowers itself back
        os.write(go_w, b"g")
    except BaseException:
        os.close(status_r)
        _kill_and_reap(pid)
        raise
    finally:
        os.close(go_w)
    return Jail(pid, FULL, status_r, None, me)


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# clone() straight into new namespaces, done the way os.fork() is done (CPython's before/after
# hooks; the kernel writes the child's thread id where glibc keeps it): one fork fewer than
# fork() + unshare() + fork(), which is most of what the jail costs. Used only in a process with
# one thread and glibc, where nothing else can hold a lock at that moment.
_CLONE_CHILD_SETTID = 0x01000000
_NR_CLONE = {"x86_64": 56, "aarch64": 220}
_tid_field: int | None = None


def _glibc_tid_field() -> int | None:
    """Address of this (main) thread's tid in glibc's struct pthread, found by its value."""
    global _tid_field
    if _tid_field is None:
        _tid_field = 0
        try:
            if not os.confstr("CS_GNU_LIBC_VERSION"):
                return None
            libc = ctypes.CDLL(None)
            libc.pthread_self.restype = ctypes.c_void_p
            base = libc.pthread_self()
            tid = _libc.syscall(186 if _arch() == "x86_64" else 178)  # gettid
            if base and tid == os.getpid():
                words = (ctypes.c_int32 * 512).from_address(base)
                hits = [i for i, word in enumerate(words) if word == tid]
                if len(hits) == 1:
                    _tid_field = base + 4 * hits[0]
        except (OSError, ValueError, AttributeError):
            _tid_field = 0
    return _tid_field or None


def _threads() -> int:
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"Threads:"):
                return int(line.split()[1])
    return 0


def _clone_into_namespaces() -> int | None:
    """0 in the child, its pid in the parent; None when it cannot be done safely here."""
    arch = _arch()
    field_address = _glibc_tid_field()
    if field_address is None or _threads() != 1:
        return None
    syscall = ctypes.PyDLL(None, use_errno=True).syscall  # keeps the GIL across the call, as os.fork does
    flags = ctypes.c_ulong(_NS_FLAGS | _CLONE_CHILD_SETTID | signal.SIGCHLD)
    null, tid = ctypes.c_void_p(0), ctypes.c_void_p(field_address)
    args = (flags, null, null, tid, null) if arch == "x86_64" else (flags, null, null, null, tid)
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = int(syscall(ctypes.c_long(_NR_CLONE[arch]), *args))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone into new namespaces: {os.strerror(err)}")
    return pid


def _start_full_via_s0(
    body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec, v: View, identity: str, status_r: int, status_w: int
) -> Jail:
    """The portable way: S0 = fork + unshare, the caller writes its maps, S0 forks S1."""
    told_r, told_w = os.pipe()  # S0 -> caller: unshared (or the reason it could not)
    go_r, go_w = os.pipe()  # caller -> S0: the maps are written
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        _s0(body, keep_fds, spec, v, identity, me, status_r, status_w, told_r, told_w, go_r, go_w)
    for fd in (status_w, told_w, go_r):
        os.close(fd)
    try:
        word = os.read(told_r, 4096)
        if word != b"u":
            raise JailError(f"could not create the sandbox's namespaces: {word.decode(errors='replace') or 'its process died'}")
        _write_maps(pid, identity)
        _raise_priority(pid)  # inside the namespace S1 may not; S2, forked after "go", lowers itself back
        os.write(go_w, b"g")
    except BaseException:
        os.close(status_r)
        _kill_and_reap(pid)
        raise
    finally:
        os.close(told_r)
        os.close(go_w)
    return Jail(pid, FULL, status_r, None, me)


def _write_maps(pid: int, identity: str) -> None:
    if identity == "nobody":  # we are root: inside uid 0 is root (for the supervisor), uid 1 is nobody
        uid_map = gid_map = f"0 0 1\n1 {NOBODY} 1\n"
    else:
        with open(f"/proc/{pid}/setgroups", "w") as f:
            f.write("deny")
        uid_map, gid_map = f"0 {os.geteuid()} 1\n", f"0 {os.getegid()} 1\n"
    for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def _s0(
    body: Callable[[], None],
    keep_fds: Sequence[int],
    spec: JailSpec,
    v: View,
    identity: str,
    parent: int,
    status_r: int,
    status_w: int,
    told_r: int,
    told_w: int,
    go_r: int,
    go_w: int,
) -> None:
    """S0: new session and namespaces, wait for the maps, fork S1 (PID 1), wait for it. Never returns."""
    try:
        for fd in (status_r, told_r, go_w):
            os.close(fd)
        os.setsid()
        _die_with_parent(parent)
        try:
            _check(_libc.unshare(_NS_FLAGS), "unshare")
        except OSError as exc:
            os.write(told_w, str(exc).encode())
            os._exit(70)
        os.write(told_w, b"u")
        if os.read(go_r, 1) != b"g":
            os._exit(70)
        os.close(told_w)
        os.close(go_r)
        child = os.fork()
        if child == 0:
            try:
                _s1_common(None)  # S0 is outside this PID namespace: getppid() says 0 here
                _fork_body_and_supervise(
                    body,
                    keep_fds,
                    spec,
                    FULL,
                    status_w,
                    INNER_FOLDER,
                    None,
                    identity,
                    prepare=lambda: _build_root(v, spec, identity),
                )
            except BaseException as exc:
                _setup_failed(status_w, exc)
            os._exit(70)
        _close_all_but(set())
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    except BaseException:
        os._exit(70)


def _build_root(v: View, spec: JailSpec, identity: str) -> None:
    """In S1: the new root, hostname and loopback. Paths are the host's until the last pivot."""
    inner_id = 1 if identity == "nobody" else 0
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount propagates to the host
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0755")
    os.chdir("/tmp")
    os.mkdir("newroot")
    os.mkdir("oldroot")
    _check(_syscall("pivot_root", b".", b"oldroot"), "pivot_root")  # the host's root is now /oldroot
    os.chdir("/")
    new = "/newroot"
    _mount("tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    # The writable folder: its size is the disk quota, and it vanishes with the namespace. Mounted
    # first, so that a Python install living under /tmp (a CI virtualenv) is bound on top of it.
    os.makedirs(new + INNER_FOLDER, exist_ok=True)
    _mount(
        "tmpfs",
        new + INNER_FOLDER,
        "tmpfs",
        _MS_NOSUID | _MS_NODEV,
        f"size={spec.disk_bytes},nr_inodes={max(64, spec.disk_bytes // 16384)},mode=0700,uid={inner_id},gid={inner_id}",
    )
    for path in v.binds:
        _bind_dir("/oldroot" + path, new + path, read_only=True)
    for link, target in v.links:
        os.symlink(target, new + link)
    for path in v.hidden:
        _mount("tmpfs", new + path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, "size=4k,mode=0555")
    _make_etc(new + "/etc", inner_id)
    _make_dev(new + "/dev", new + INNER_FOLDER, spec.gpu, v)
    os.mkdir(new + "/proc")
    _mount("proc", new + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    if spec.gpu:
        _bind_dir("/oldroot/sys", new + "/sys", read_only=True)
    else:
        _bind_dir("/oldroot/sys/devices/system/cpu", new + "/sys/devices/system/cpu", read_only=True)
    os.chdir(new)
    _check(_syscall("pivot_root", b".", b"."), "pivot_root")  # stacks the old root on top of the new one
    _check(_libc.umount2(b".", _MNT_DETACH), "umount old root")
    os.chdir("/")
    _read_only_top("/")
    _read_only_top("/dev")
    os.chdir(INNER_FOLDER)
    name = HOSTNAME.encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    _loopback_up()


def _read_only_top(target: str) -> None:
    attr = (ctypes.c_uint64 * 4)(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    if _syscall("mount_setattr", _AT_FDCWD, target.encode(), 0, ctypes.byref(attr), 32) != 0:
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _bind_dir(source: str, target: str, read_only: bool) -> None:
    if not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(source, target, None, _MS_BIND | _MS_REC)
    if read_only:
        _read_only(target)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _make_etc(etc: str, inner_id: int) -> None:
    os.mkdir(etc)
    user = f"sandbox:x:{inner_id}:{inner_id}:sandbox:{INNER_FOLDER}:/bin/sh\n"
    _write(etc + "/passwd", ("root:x:0:0:root:/nonexistent:/bin/sh\n" if inner_id else "") + user)
    _write(etc + "/group", ("root:x:0:\n" if inner_id else "") + f"sandbox:x:{inner_id}:\n")
    _write(etc + "/hosts", f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost ip6-localhost\n")
    _write(etc + "/hostname", HOSTNAME + "\n")
    _write(etc + "/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n")
    _write(etc + "/resolv.conf", "")
    for name in _ETC_BOUND:
        source = "/oldroot/etc/" + name
        if os.path.islink(source):
            os.symlink(os.readlink(source), etc + "/" + name)
        elif os.path.exists(source):
            _bind_dir(source, etc + "/" + name, read_only=True)


def _make_dev(dev: str, shm_source: str, gpu: bool, v: View) -> None:
    os.mkdir(dev)
    _mount("tmpfs", dev, "tmpfs", _MS_NOSUID, "size=64k,mode=0755")
    for name in _DEVICES:
        _bind_dir("/oldroot/dev/" + name, dev + "/" + name, read_only=False)
    os.mkdir(dev + "/shm")
    _mount(shm_source, dev + "/shm", None, _MS_BIND)  # shared memory counts against the folder's quota
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, dev + "/" + name)
    if gpu:
        for path in v.gpu_devices:
            _bind_dir("/oldroot" + path, dev + path[len("/dev") :], read_only=False)


def _loopback_up() -> None:
    """The empty network namespace's loopback, up: ranks of one submission talk over it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0x1 | 0x40)  # IFF_UP | IFF_RUNNING
        fcntl.ioctl(sock.fileno(), 0x8914, request)  # SIOCSIFFLAGS
