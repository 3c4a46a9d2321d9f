"""Attacks on the jail itself (llmq.judge.jail), at both isolation levels.

Each test runs a small body in a jail: Python code given as text, its stdout/stderr on a pipe the
test reads. The code does what a hostile submission would; the test asserts what it got and that
nothing of it is left afterwards. The limits-only level is the fallback, forced with
LLMQ_SANDBOX=limits-only; where a guarantee there rests on Landlock, the test says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from llmq.judge import jail, landlock

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the jail's guarantees are Linux's")

MIB = 1024**2
SMALL = jail.JailSpec(disk_bytes=8 * MIB, max_tasks=16)
LANDLOCK = landlock.abi()


@dataclass
class Run:
    output: str
    status: dict[str, Any] | None
    jail: jail.Jail

    def lines(self) -> list[Any]:
        """The JSON lines the code printed with report()."""
        return [json.loads(line[7:]) for line in self.output.splitlines() if line.startswith("REPORT ")]

    def report(self) -> Any:
        found = self.lines()
        assert found, f"the body reported nothing; output:\n{self.output}\nstatus: {self.status}"
        return found[-1]


PRELUDE = """
import json, os, sys
def report(value):
    sys.stdout.write("REPORT " + json.dumps(value) + "\\n"); sys.stdout.flush()
"""


def _alive_in_group(pgid: int) -> list[int]:
    """Processes (not zombies) of process group `pgid`, from the host's /proc."""
    alive = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            alive.append(int(name))
    return alive


def _wait_gone(pgid: int, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = _alive_in_group(pgid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


@pytest.fixture(params=[jail.FULL, jail.LIMITS_ONLY])
def level(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == jail.FULL:
        monkeypatch.delenv(jail.ENV_SWITCH, raising=False)
        if jail.isolation_level() != jail.FULL:
            pytest.skip(f"no full isolation on this machine: {jail.why_limits_only()}")
    else:
        monkeypatch.setenv(jail.ENV_SWITCH, "limits-only")
    return request.param


@pytest.fixture
def run_code() -> Iterator[Any]:
    """run(code, ...) -> Run; every jail it started is killed and checked empty afterwards."""
    started: list[jail.Jail] = []
    kept_open: list[int] = []

    def run(
        code: str,
        spec: jail.JailSpec = SMALL,
        memory: int = 256 * MIB,
        timeout: float = 20.0,
        wait: bool = True,
        until_report: bool = False,
    ) -> Run:
        """Run `code`; read its output until the jail ends (or, with until_report, until it
        reports); with wait=False, return at once."""
        read, write = os.pipe()
        source = PRELUDE + textwrap.dedent(code)

        def body() -> None:
            os.dup2(write, 1)
            os.dup2(write, 2)
            # pytest's capture files are closed in the jail; the process ends with the body.
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            jail.lock(memory, 20, 4 * MIB)
            exec(compile(source, "<submission>", "exec"), {"__name__": "submission"})

        j = jail.start(body, [write], spec)
        started.append(j)
        os.close(write)
        if not wait:
            kept_open.append(read)  # its output pipe stays open (a closed one would end it early)
            return Run("", None, j)
        out = bytearray()
        deadline = time.monotonic() + timeout
        ended = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read, j.status_fd], [], [], 0.1)
            if read in ready:
                chunk = os.read(read, 65536)
                out += chunk
                if not chunk:
                    break
                if until_report and b"REPORT " in out and out.endswith(b"\n"):
                    break
            elif j.status_fd in ready:
                ended = True
                break
        if ended:  # what it printed before it was stopped
            os.set_blocking(read, False)
            with contextlib.suppress(BlockingIOError):
                out += os.read(read, 1 << 20)
        os.close(read)
        status = None if until_report else j.read_status(timeout=max(0.1, deadline - time.monotonic()))
        return Run(out.decode(errors="replace"), status, j)

    yield run
    for fd in kept_open:
        os.close(fd)
    for j in started:
        j.kill()
        j.read_status(timeout=1.0)
        j.close()
        assert _wait_gone(j.pid) == [], "processes of the submission outlived kill()"
        if j.folder:
            assert not os.path.exists(j.folder), "the folder outlived kill()"


# --- the level ----------------------------------------------------------------------------------


def test_the_switch_forces_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jail.ENV_SWITCH, "limits-only")
    assert jail.isolation_level() == jail.LIMITS_ONLY
    assert "LLMQ_SANDBOX" in jail.why_limits_only()


def test_the_fallback_claims_landlock_only_where_the_kernel_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi", lambda: 0)
    said = "\n".join(jail.guarantees(jail.LIMITS_ONLY))
    assert "no Landlock" in said and "writes only its folder" not in said
    assert "it can signal processes of its own user" in said
    monkeypatch.setattr(landlock, "abi", lambda: 6)
    said = "\n".join(jail.guarantees(jail.LIMITS_ONLY))
    assert "writes only its folder" in said and "cannot signal" in said


def test_a_clean_run_exits_zero_and_the_body_is_confined_to_its_folder(level: str, run_code: Any) -> None:
    run = run_code("""
        import tempfile
        with open("note.txt", "w") as f:
            f.write("mine")
        report({"cwd": os.getcwd(), "home": os.environ["HOME"], "tmp": tempfile.gettempdir(),
                "llmq_home": os.environ.get("LLMQ_HOME"), "read_back": open("note.txt").read()})
    """)
    got = run.report()
    assert run.status == {"end": "exit", "code": 0}
    assert got["cwd"] == got["home"] == got["tmp"]
    assert got["llmq_home"] is None and got["read_back"] == "mine"


def test_an_exception_in_the_body_is_exit_status_1(level: str, run_code: Any) -> None:
    run = run_code("raise ValueError('boom')")
    assert run.status == {"end": "exit", "code": 1}
    assert "ValueError: boom" in run.output


# --- what it can see and reach ---------------------------------------------------------------------


def test_full_sees_only_its_own_processes(level: str, run_code: Any) -> None:
    if level != jail.FULL:
        pytest.skip("limits-only has no PID namespace: it lists every process (but cannot open their fds)")
    run = run_code("""
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        report({"pids": pids, "me": os.getpid()})
    """)
    got = run.report()
    assert set(got["pids"]) <= {1, got["me"]}, got


def test_the_portable_start_builds_the_same_jail(run_code: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where clone() into namespaces is not safe (threads, not glibc), fork + unshare is used."""
    monkeypatch.delenv(jail.ENV_SWITCH, raising=False)
    if jail.isolation_level() != jail.FULL:
        pytest.skip(f"no full isolation on this machine: {jail.why_limits_only()}")
    monkeypatch.setattr(jail.starting, "_clone_into_namespaces", lambda: None)
    run = run_code("""
        import socket
        report({"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), "me": os.getpid(),
                "host": socket.gethostname(), "uid": os.getuid()})
    """)
    got = run.report()
    assert set(got["pids"]) <= {1, got["me"]} and got["host"] == jail.HOSTNAME
    assert run.status == {"end": "exit", "code": 0}


def test_a_full_jail_that_cannot_start_runs_limits_only_and_says_so(run_code: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jail.ENV_SWITCH, raising=False)
    if jail.isolation_level() != jail.FULL:
        pytest.skip(f"no full isolation on this machine: {jail.why_limits_only()}")

    def refused() -> int:
        raise OSError(28, "No space left on device (max_user_namespaces reached)")

    monkeypatch.setattr(jail.starting, "_clone_into_namespaces", refused)
    open_before = len(os.listdir("/proc/self/fd"))
    run = run_code("report('ran')")
    run.jail.close()
    assert len(os.listdir("/proc/self/fd")) == open_before, "the failed start left descriptors open"
    assert run.jail.level == jail.LIMITS_ONLY and run.report() == "ran"
    assert "max_user_namespaces" in jail.why_limits_only()


def test_cannot_open_the_callers_pipes_through_proc(level: str, run_code: Any) -> None:
    secret_r, secret_w = os.pipe()  # stands for the harness's verdict pipe
    try:
        run = run_code(f"""
            results = {{}}
            for fd in ({secret_r}, {secret_w}):
                try:
                    os.open("/proc/{os.getpid()}/fd/%d" % fd, os.O_WRONLY | os.O_NONBLOCK)
                    results[fd] = "opened"
                except OSError as exc:
                    results[fd] = type(exc).__name__
            try:
                results["environ"] = open("/proc/{os.getpid()}/environ").read()[:20]
            except OSError as exc:
                results["environ"] = type(exc).__name__
            report(results)
        """)
        got = run.report()
        assert "opened" not in got.values(), got
        assert got["environ"].endswith("Error"), got
    finally:
        os.close(secret_r)
        os.close(secret_w)


def test_cannot_read_home_or_a_file_outside(level: str, run_code: Any, tmp_path: Any) -> None:
    if level == jail.LIMITS_ONLY and not LANDLOCK:
        pytest.skip("limits-only without Landlock reads whatever its user may read")
    secret = tmp_path / "secret.txt"
    secret.write_text("the answer")
    home = os.path.expanduser("~")
    disks = [f"/dev/{n}" for n in sorted(os.listdir("/dev")) if stat.S_ISBLK(os.stat(f"/dev/{n}").st_mode)][:1]
    run = run_code(f"""
        got = {{}}
        for name, path in (("secret", {str(secret)!r}), ("home", {home!r}), ("repo", {os.getcwd()!r})):
            try:
                got[name] = open(path).read() if os.path.isfile(path) else os.listdir(path)
            except OSError as exc:
                got[name] = type(exc).__name__
        for disk in {disks!r}:  # the raw disk: every file of every user
            try:
                got["disk"] = len(open(disk, "rb").read(4096))
            except OSError as exc:
                got["disk"] = type(exc).__name__
        report(got)
    """)
    got = run.report()
    assert not isinstance(got.get("disk"), int), f"it read the raw disk {disks}"
    assert got["secret"] != "the answer" and isinstance(got["secret"], str), got
    for name, path in (("home", home), ("repo", os.getcwd())):
        if isinstance(got[name], list):  # FULL shows only the way to the Python install, if it lives there
            way = {b[len(path) :].strip("/").split("/")[0] for b in jail.view().binds if b.startswith(path + "/")}
            assert set(got[name]) <= way, f"it listed {path}: {got[name]}"


def test_an_installed_llmq_and_its_bank_are_hidden_but_its_neighbours_are_not(
    level: str, run_code: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel install puts llmq (with the bank at llmq/_bank) in the site-packages torch lives in."""
    if level == jail.LIMITS_ONLY and not LANDLOCK:
        pytest.skip("limits-only without Landlock reads whatever its user may read")
    import llmq

    site = tmp_path / "lib" / "site-packages"
    (site / "llmq" / "_bank").mkdir(parents=True)
    (site / "llmq" / "__init__.py").write_text("")
    (site / "llmq" / "_bank" / "answer.py").write_text("REFERENCE = 42")
    (site / "neighbour").mkdir()
    (site / "neighbour" / "__init__.py").write_text("VALUE = 7")
    (site / "alias").symlink_to(".")  # another way to the same folder
    monkeypatch.setattr(llmq, "__file__", str(site / "llmq" / "__init__.py"))
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    monkeypatch.setattr(jail.visible, "_view_cache", None)
    assert str(site / "llmq") in jail.view().hidden
    run = run_code(f"""
        got = {{}}
        for name in ("llmq/_bank/answer.py", "llmq/__init__.py", "neighbour/__init__.py", "alias/llmq/_bank/answer.py"):
            try:
                got[name] = open({str(site)!r} + "/" + name).read()
            except OSError as exc:
                got[name] = type(exc).__name__
        report(got)
    """)
    got = run.report()
    assert got["neighbour/__init__.py"] == "VALUE = 7"
    assert got["llmq/_bank/answer.py"] != "REFERENCE = 42" and got["llmq/__init__.py"] != ""
    assert got["alias/llmq/_bank/answer.py"] != "REFERENCE = 42"


def test_cannot_write_outside_its_folder(level: str, run_code: Any, tmp_path: Any) -> None:
    if level == jail.LIMITS_ONLY and not LANDLOCK:
        pytest.skip("limits-only without Landlock writes wherever its user may write")
    targets = [str(tmp_path / "planted.py"), os.path.expanduser("~/llmq-planted"), "/var/tmp/llmq-jail-test-planted"]
    run = run_code(f"""
        got = {{}}
        for path in {targets!r}:
            try:
                with open(path, "w") as f:
                    f.write("import os")
                got[path] = "written"
            except OSError as exc:
                got[path] = type(exc).__name__
        report(got)
    """)
    got = run.report()
    assert "written" not in got.values(), got
    for path in targets:
        assert not os.path.exists(path), f"{path} was written"


def test_cannot_reach_a_tcp_server_of_the_host(level: str, run_code: Any) -> None:
    if level == jail.LIMITS_ONLY and not LANDLOCK:
        pytest.skip("limits-only relies on seccomp refusing IP sockets (checked) and Landlock for TCP")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        run = run_code(f"""
            import socket
            try:
                s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
                s.sendall(b"forged verdict")
                report("connected")
            except OSError as exc:
                report(type(exc).__name__ + ": " + str(exc))
        """)
        assert run.report() != "connected"
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_cannot_reach_a_unix_socket_of_the_host(level: str, run_code: Any, tmp_path: Any) -> None:
    """A daemon's socket file (the worker's, a root service's): FULL does not show it; the
    fallback refuses socket(AF_UNIX), since it could otherwise connect to any socket file."""
    path = str(tmp_path / "daemon.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.setblocking(False)
    try:
        run = run_code(f"""
            import socket
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect({path!r})
                report("connected")
            except OSError as exc:
                report(type(exc).__name__)
            a, b = socket.socketpair()  # its own pairs still work
            a.sendall(b"x")
            report(b.recv(1).decode())
        """)
        assert run.lines() == [run.lines()[0], "x"] and run.lines()[0] != "connected", run.output
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_its_own_processes_talk_tcp_over_loopback(level: str, run_code: Any) -> None:
    """Two gloo ranks do this. FULL: its own loopback, always. LIMITS_ONLY: only with network=True."""
    spec = jail.JailSpec(disk_bytes=8 * MIB, max_tasks=16, network=level == jail.LIMITS_ONLY)
    run = run_code(
        """
        import socket
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        pid = os.fork()
        if pid == 0:
            socket.create_connection(("localhost", server.getsockname()[1])).sendall(b"rank 1")
            os._exit(0)
        conn, _ = server.accept()
        report({"got": conn.recv(16).decode(), "host": socket.gethostname()})
        os.waitpid(pid, 0)
    """,
        spec=spec,
    )
    got = run.report()
    assert got["got"] == "rank 1"
    if level == jail.FULL:
        assert got["host"] == jail.HOSTNAME


# --- refused kernel calls ---------------------------------------------------------------------------


def test_ptrace_unshare_and_namespaces_are_refused(level: str, run_code: Any) -> None:
    run = run_code("""
        import ctypes, errno
        libc = ctypes.CDLL(None, use_errno=True)
        def errno_of(rc):
            return errno.errorcode.get(ctypes.get_errno(), "?") if rc == -1 else "allowed"
        got = {
            "ptrace_attach_parent": errno_of(libc.ptrace(16, os.getppid(), 0, 0)),
            "unshare_user": errno_of(libc.unshare(0x10000000)),
            "unshare_net": errno_of(libc.unshare(0x40000000)),
            "mount": errno_of(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        }
        try:
            os.setsid(); got["setsid"] = "allowed"
        except OSError as exc:
            got["setsid"] = errno.errorcode[exc.errno]
        report(got)
    """)
    got = run.report()
    assert got == {
        "ptrace_attach_parent": "EPERM",
        "unshare_user": "EPERM",
        "unshare_net": "EPERM",
        "mount": "EPERM",
        "setsid": "EPERM",
    }, got


def test_killing_everything_it_can_leaves_the_caller_alive(level: str, run_code: Any) -> None:
    sentinel = subprocess.Popen(["sleep", "30"])  # another process of the same user
    try:
        run = run_code("""
            import signal
            killed = []
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) != os.getpid():
                    try:
                        os.kill(int(name), signal.SIGKILL)
                        killed.append(int(name))
                    except OSError:
                        pass
            report(killed)
        """)
        assert sentinel.poll() is None, "the submission killed a process of the user"
        killed = run.report()
        if level == jail.FULL:
            assert set(killed) <= {1}, f"it signalled processes it should not see: {killed}"
        elif LANDLOCK >= 6:
            assert killed == [], f"Landlock's signal scope let it signal {killed}"
    finally:
        sentinel.kill()
        sentinel.wait()


# --- limits over the whole submission ----------------------------------------------------------------


def test_a_double_forked_daemon_is_gone_after_the_body_ends(level: str, run_code: Any) -> None:
    run = run_code("""
        import time
        if os.fork() == 0:
            try:
                os.setsid()
            except OSError:
                pass
            if os.fork() == 0:
                os.closerange(0, 64)
                time.sleep(60)
                os._exit(0)
            os._exit(0)
        time.sleep(0.05)
        report("daemon started")
    """)
    assert run.report() == "daemon started"
    assert run.status == {"end": "exit", "code": 0}
    assert _wait_gone(run.jail.pid) == []


def test_kill_from_another_process_ends_a_running_submission(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import time
        for _ in range(3):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
        with open("big", "wb") as f:
            f.write(b"x" * 100000)
        report("running")
        time.sleep(60)
    """,
        wait=False,
    )
    j = run.jail
    deadline = time.monotonic() + 10
    while len(_alive_in_group(j.pid)) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    killer = os.fork()  # the harness: not the parent of the jail
    if killer == 0:
        try:
            j.kill()
        finally:
            os._exit(0)
    os.waitpid(killer, 0)
    assert _wait_gone(j.pid) == []
    if j.folder:
        assert not os.path.exists(j.folder)


def test_kill_works_when_the_holder_reused_the_pidfd_number(level: str, run_code: Any) -> None:
    """A forked holder (the harness) may close every descriptor it does not know, the pidfd too,
    and get that number back for a pipe: kill() must not take that pipe for the jail's end."""
    run = run_code(
        """
        import time
        report("running")
        time.sleep(60)
        """,
        until_report=True,
    )
    j = run.jail
    r, w = os.pipe()
    os.write(w, b"readable")
    os.dup2(r, j.pidfd)  # the pidfd's number now names a readable pipe
    os.close(r)
    os.close(w)
    j.kill()
    assert _wait_gone(j.pid) == []


def _supervisor_of(j: Any) -> int:
    """The supervisor's pid: j.pid itself, or on the full level's fallback path (S0 = fork +
    unshare, taken when the caller has threads) S0's one child, PID 1 of the namespace."""
    with open(f"/proc/{j.pid}/status") as f:
        nspid = next(line.split()[1:] for line in f if line.startswith("NSpid:"))
    if j.level != jail.FULL or nspid[-1] == "1":
        return int(j.pid)
    with open(f"/proc/{j.pid}/task/{j.pid}/children") as f:
        (child,) = f.read().split()
    return int(child)


@pytest.mark.parametrize("caller", ["one thread", "with a thread"])
def test_the_supervisor_holds_none_of_the_bodys_descriptors(level: str, run_code: Any, caller: str) -> None:
    """So the harness sees EOF on its pipes as soon as the submission is gone. A caller with a
    thread running takes the full level's other way in (S0), as a test run that used torch does."""
    if os.geteuid() != 0:
        pytest.skip("the supervisor is not dumpable: only root may look at its descriptors")
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    if caller == "with a thread":
        helper.start()
    read, write = os.pipe()
    try:
        run = run_code(
            """
            import time
            report(sorted(int(fd) for fd in os.listdir("/proc/self/fd")))
            time.sleep(60)
            """,
            until_report=True,
        )
        j = run.jail
        supervisor_pid = _supervisor_of(j)
        channel = {os.fstat(fd).st_ino for fd in (read, write)}
        held = []
        for name in os.listdir(f"/proc/{supervisor_pid}/fd"):
            with contextlib.suppress(OSError):
                held.append(os.stat(f"/proc/{supervisor_pid}/fd/{name}").st_ino)
        assert held, f"could not look at the supervisor's descriptors (pid {supervisor_pid}, jail {j})"
        assert not channel & set(held)
    finally:
        stop.set()
        os.close(read)
        os.close(write)


def test_threads_count_as_tasks(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import threading, time
        threading.stack_size(64 * 1024)  # small stacks: the address-space limit is not what stops them
        threads = [threading.Thread(target=time.sleep, args=(30,), daemon=True) for _ in range(40)]
        started = 0
        for t in threads:
            try:
                t.start()
                started += 1
            except RuntimeError:
                break
        report(started)
        time.sleep(0.5)  # long enough for the supervisor to look
        """,
        spec=SMALL,
    )
    if run.status is not None and run.status["end"] == "tasks":
        assert run.status["count"] > SMALL.max_tasks
    else:  # RLIMIT_NPROC refused the threads (it counts them too)
        assert run.report() < SMALL.max_tasks, (run.status, run.output[-300:])


def test_cpu_time_past_the_limit_ends_with_the_signal(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (1, 2))  # lower than lock() set: allowed, and quick
        while True:
            pass
        """,
        timeout=30,
    )
    assert run.status == {"end": "signal", "signal": signal.SIGXCPU, "name": "SIGXCPU"}, run.status
    assert "SIGXCPU" in jail.supervisor.describe(run.status)


def test_two_hundred_forks_are_stopped(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import time
        started = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        report(started)
    """,
        spec=jail.JailSpec(disk_bytes=8 * MIB, max_tasks=16),
    )
    # Either the kernel refused the forks (RLIMIT_NPROC counts only the submission's own user in
    # FULL), or the supervisor saw too many tasks and stopped it; the children die with it.
    assert run.status is not None, "the submission was not stopped"
    if run.status["end"] == "tasks":
        assert run.status["limit"] == 16 and run.status["count"] > 16
    else:
        assert run.status == {"end": "exit", "code": 0} and run.report() < 16, (run.status, run.output[-300:])


def test_memory_is_counted_across_forks(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import time
        for _ in range(4):
            if os.fork() == 0:
                block = b"\\x01" * (150 * 1024 * 1024)  # touched, well under the per-process limit
                time.sleep(30)
                os._exit(0)
        report("forked")
        time.sleep(30)
    """,
        memory=256 * MIB,
    )
    assert run.status is not None and run.status["end"] == "memory", run.status
    assert run.status["limit"] == 256 * MIB and run.status["used"] > 256 * MIB
    assert "memory" in jail.supervisor.describe(run.status)


def test_one_process_within_the_budget_is_left_alone(level: str, run_code: Any) -> None:
    run = run_code(
        """
        block = b"\\x01" * (100 * 1024 * 1024)
        import time; time.sleep(0.3)
        report(len(block))
    """,
        memory=256 * MIB,
    )
    assert run.report() == 100 * MIB
    assert run.status == {"end": "exit", "code": 0}


def test_the_disk_quota_holds_and_the_folder_goes(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import time
        written = 0
        for i in range(64):
            try:
                with open("fill%d" % i, "wb") as f:
                    f.write(b"\\x01" * (1024 * 1024))
                written += 1
            except OSError as exc:
                report({"written": written, "error": type(exc).__name__})
                break
        else:
            report({"written": written})
        time.sleep(30)
    """,
        spec=jail.JailSpec(disk_bytes=4 * MIB, max_tasks=16),
        until_report=level == jail.FULL,
    )
    if level == jail.FULL:
        # The folder is a tmpfs of 4 MiB: writes fail when it is full.
        assert run.report()["written"] <= 4 and run.report()["error"] == "OSError"
        run.jail.kill()
    else:
        # On disk, the supervisor measures the folder and stops the submission.
        assert run.status is not None and run.status["end"] == "disk", run.status
        run.jail.kill()
        assert not os.path.exists(run.jail.folder)


def test_a_flood_of_empty_files_is_stopped_too(level: str, run_code: Any) -> None:
    run = run_code(
        """
        import time
        made = 0
        try:
            for i in range(20000):
                open("e%d" % i, "w").close()
                made += 1
        except OSError as exc:
            report({"made": made, "error": type(exc).__name__})
        else:
            report({"made": made})
        time.sleep(30)
        """,
        spec=SMALL,
        until_report=level == jail.FULL,
    )
    if level == jail.FULL:  # the folder's tmpfs has a bounded number of inodes
        assert run.report()["made"] < 20000 and run.report()["error"] == "OSError"
    else:  # each file counts at least 4 KiB against the quota
        assert run.status is not None and run.status["end"] == "disk", run.status


def test_the_gpu_spec_shows_sys_read_only_and_the_device_nodes_there_are(level: str, run_code: Any) -> None:
    """On a CUDA machine /dev/nvidia* come through; here there may be none, and /sys is read-only."""
    run = run_code(
        """
        got = {"sys": os.path.isdir("/sys/class"), "devices": sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))}
        try:
            open("/sys/kernel/mm/transparent_hugepage/enabled", "w").write("never")
            got["write"] = "written"
        except OSError as exc:
            got["write"] = type(exc).__name__
        report(got)
        """,
        spec=jail.JailSpec(disk_bytes=8 * MIB, max_tasks=16, gpu=True),
    )
    got = run.report()
    assert got["sys"] and got["write"] != "written"
    host = sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))
    if level == jail.FULL:
        assert got["devices"] == host


def test_the_fallback_as_root_runs_the_submission_as_nobody_where_it_can(run_code: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where uid 65534 can read the Python install (not here: it lives in /root), root's fallback
    drops to it; here we pretend it can, with a body that needs no new imports."""
    if os.geteuid() != 0:
        pytest.skip("only a root caller changes the submission's user")
    monkeypatch.setenv(jail.ENV_SWITCH, "limits-only")
    monkeypatch.setattr(jail.levels, "_nobody_can_read", lambda v: True)
    run = run_code("""
        with open("mine.txt", "w") as f:
            f.write("x")
        got = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
        try:
            os.kill(os.getppid(), 0)
            got["signal_supervisor"] = "allowed"
        except OSError as exc:
            got["signal_supervisor"] = type(exc).__name__
        report(got)
    """)
    got = run.report()
    assert (got["uid"], got["gid"], got["groups"]) == (65534, 65534, [])
    assert got["signal_supervisor"] == "PermissionError"
    assert run.status == {"end": "exit", "code": 0}


def test_signals_to_the_supervisor_change_nothing(level: str, run_code: Any) -> None:
    """The caller's Python handlers (SIGINT's KeyboardInterrupt, a worker's SIGUSR1) must not run
    in the supervisor when the submission signals it."""

    def boom(*_: Any) -> None:
        raise RuntimeError("the caller's signal handler ran in the supervisor")

    previous = {sig: signal.signal(sig, boom) for sig in (signal.SIGUSR1, signal.SIGALRM)}
    try:
        run = run_code(f"""
            import signal, time
            supervisor = 1 if {level == jail.FULL} else os.getppid()
            sent = []
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGALRM, signal.SIGKILL):
                try:
                    os.kill(supervisor, sig)
                    sent.append(sig.name)
                except OSError:
                    pass
            time.sleep(0.1)
            report(sent)
        """)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    run.report()
    assert run.status == {"end": "exit", "code": 0}, run.status
