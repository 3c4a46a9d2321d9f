"""The worker's own failure paths, run in this process on a Worker object: a harness that cannot be
forked, a jail collected before kill(), a describe process forked beside a spare, a folder left by
a worker that was killed outright. Each test fails on the code before its fix."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from llmq import l10n
from llmq.judge import jail, link, messages
from llmq.judge import worker as worker_mod
from llmq.judge.worker import Job, Nonces, Worker
from tests.judge.conftest import GQA

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the worker's processes are Linux's")

REQUEST = {
    "exercise": GQA.id,
    "answer_path": str(GQA.answer_path),
    "function": GQA.function,
    "submission": "reference",
}


def _fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


def _pipe_names(fds: list[int]) -> set[str]:
    """How /proc/PID/fd shows these pipes: pipe:[inode]."""
    return {f"pipe:[{os.fstat(fd).st_ino}]" for fd in fds}


def _lines(fd: int) -> list[Any]:
    os.set_blocking(fd, False)
    try:
        data = os.read(fd, 1 << 20)
    except BlockingIOError:
        data = b""
    return [json.loads(line) for line in data.splitlines() if line.strip()]


class _ForkFails:
    """The worker's view of `os` on a machine out of processes: fork raises EAGAIN."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")


def test_a_harness_that_cannot_be_forked_fails_its_check_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    out_r, out_w = os.pipe()
    worker = Worker(out_w, jobs=1)
    worker.spares_work = False
    started: list[link.Started] = []
    real_start = link.start_sandbox

    def start_sandbox(**kwargs: Any) -> link.Started:
        started.append(real_start(**kwargs))
        return started[-1]

    monkeypatch.setattr(link, "start_sandbox", start_sandbox)
    before = _fds()
    monkeypatch.setattr(worker_mod, "os", _ForkFails())
    try:
        worker.start(Job(1, "check", {"request": REQUEST}))
    finally:
        monkeypatch.setattr(worker_mod, "os", os)
    (reply,) = _lines(out_r)
    assert reply["id"] == 1 and reply["verdict"]["status"] == "crash"
    said = "\n".join(c["message"] for c in reply["verdict"]["checks"])
    assert "the judge could not start the check's harness: [Errno 11]" in said, said
    l10n.set_language("zh")
    try:
        assert "评测器无法启动本次检查的 harness" in messages.translate(said), messages.translate(said)
    finally:
        l10n.set_language("en")
    assert not worker.running and len(worker.nonces.free) == Nonces.SLOTS
    (sandbox,) = started
    assert not os.path.exists(f"/proc/{sandbox.jail.pid}"), "the check's sandbox outlived its failed start"
    assert _fds() == before, "descriptors of the failed start are still open"
    os.close(out_r)
    os.close(out_w)


def test_kill_after_the_leader_was_collected_leaves_another_child_alone() -> None:
    started = jail.start(lambda: time.sleep(60), [])
    os.kill(started.pid, signal.SIGKILL)
    os.wait4(started.pid, 0)  # collected, as the worker's _end and its subreaper loop do
    other = os.fork()  # a later child: on a busy machine it may get the freed number
    if other == 0:
        time.sleep(3)
        os._exit(0)
    started.pid = other  # the number reused
    try:
        started.kill()
        assert os.waitpid(other, os.WNOHANG) == (0, 0), "kill() waited for (and collected) a child not its own"
    finally:
        os.kill(other, signal.SIGKILL)
        os.waitpid(other, 0)
        started.close()


def test_a_describe_process_holds_none_of_the_spare_checks_pipes(tmp_path: Path) -> None:
    seen = tmp_path / "fds.json"
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os\n"
        "held = []\n"
        "for n in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        held.append(os.readlink(f'/proc/self/fd/{n}'))\n"
        "    except OSError:\n"
        "        pass  # the listing's own descriptor\n"
        f"with open({str(seen)!r}, 'w') as f:\n"
        "    json.dump(held, f)\n"
    )
    out_r, out_w = os.pipe()
    worker = Worker(out_w, jobs=1)
    worker.keep_a_spare()
    spare = worker.spare
    assert spare is not None
    held = _pipe_names([spare.job_w, spare.verdict_r, spare.started.req_w, spare.started.resp_r, spare.started.out_r])
    try:
        worker.start(Job(2, "describe", {"answer_path": str(probe)}))
        (job,) = worker.running.values()
        while worker.running and select.select([job.fd], [], [], 30)[0]:
            worker.read_child(job)
        assert seen.exists(), f"the probe answer module did not run: {_lines(out_r)}"
        assert not held & set(json.loads(seen.read_text())), "the describe process holds the spare's pipes"
    finally:
        worker.shutdown()
        os.close(out_r)
        os.close(out_w)


def test_a_folder_left_by_a_worker_killed_outright_is_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"llmq-jail-{gone.pid}-x1"
    stale.mkdir()
    (stale / "left.txt").write_text("a submission's file")
    in_use = tmp_path / f"llmq-jail-{os.getpid()}-x2"
    in_use.mkdir()
    assert jail.sweep_stale_folders() == [str(stale)]
    assert not stale.exists() and in_use.exists()


def test_a_limits_only_folder_is_named_after_its_starter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What the sweep relies on: the folder says which process may still be using it."""
    monkeypatch.setenv(jail.ENV_SWITCH, "limits-only")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    started = jail.start(lambda: time.sleep(60), [])
    try:
        assert started.folder is not None
        assert Path(started.folder).name.startswith(f"llmq-jail-{os.getpid()}-")
        assert jail.sweep_stale_folders() == []
    finally:
        started.kill()
        started.close()
    assert not os.listdir(tmp_path)
