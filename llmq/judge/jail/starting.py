"""Starting a jail: S1 cloned into new namespaces (or S0 = fork + unshare first), the uid/gid
maps, the fallback's plain fork; S1 forks the body (S2) and becomes the supervisor."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Sequence

from llmq.judge import seccomp, supervisor
from llmq.judge.jail import inside, levels
from llmq.judge.jail.handle import FULL, INNER_FOLDER, LIMITS_ONLY, NOBODY, Jail, JailError, JailSpec
from llmq.judge.jail.inside import _enter_body
from llmq.judge.jail.levels import _identity, isolation_level
from llmq.judge.jail.libc import (
    _NS_FLAGS,
    _PR_SET_CHILD_SUBREAPER,
    _PR_SET_DUMPABLE,
    _arch,
    _check,
    _close_all_but,
    _die_with_parent,
    _libc,
    _prctl,
)
from llmq.judge.jail.root import _build_root
from llmq.judge.jail.visible import View, _readable, view


def start(body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec | None = None) -> Jail:
    """Fork a jail and run `body()` in it with only `keep_fds` (0, 1 and 2 are /dev/null unless
    kept), cwd = its writable folder (also HOME and TMPDIR), a clean environment."""
    view()  # computed here, with the caller's environment, before any fork
    inside._caller_nice = os.getpriority(os.PRIO_PROCESS, 0)
    spec = spec or JailSpec()
    if isolation_level() == FULL:
        try:
            return _start_full(body, keep_fds, spec)
        except OSError as exc:
            # The probe worked, this one did not (a namespace limit reached, say): this check runs
            # limits-only, and its Jail.level says so.
            levels._probe_problem = f"the last full jail could not start: {exc}"
    return _start_limits_only(body, keep_fds, spec)


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


def _start_limits_only(body: Callable[[], None], keep_fds: Sequence[int], spec: JailSpec) -> Jail:
    identity = _identity(LIMITS_ONLY)
    if _arch():
        seccomp.build(_arch(), spec.network, False)  # cached: the body only installs it
        _readable(view())  # cached too: the body only opens them
    me = os.getpid()
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{me}-")
    fds: list[int] = []
    try:
        if identity == "nobody":
            os.chown(folder, NOBODY, NOBODY)
        fds += os.pipe()
        status_r, status_w = fds
        pid = os.fork()
    except BaseException:  # out of descriptors or processes: nothing of this jail stays
        for fd in fds:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        raise
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


FOLDER_PREFIX = "llmq-jail-"  # then the pid of the process that started the jail, "-", random


def sweep_stale_folders() -> list[str]:
    """Remove the limits-only folders in the temporary folder whose starter is gone (a worker
    killed outright cannot remove its idle spare's folder); returns the paths removed. A folder
    whose starter still runs, or that belongs to another user, is left alone."""
    removed: list[str] = []
    parent = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(parent) if n.startswith(FOLDER_PREFIX)]
    except OSError:
        return removed
    for name in names:
        starter = name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        if not starter.isdigit() or _alive(int(starter)):
            continue  # an older llmq's folder (no pid in its name), or one in use
        path = os.path.join(parent, name)
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid != os.geteuid() and os.geteuid() != 0:
                continue
            shutil.rmtree(path)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's: it exists
    return True


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
