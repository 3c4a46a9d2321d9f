"""Progress is never lost: a killed process keeps every committed answer, and two processes
answering and submitting at once neither fail with "database is locked" nor lose a row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from llmq.srs import save_settings
from llmq.store import Store
from tests.store.helpers import differences

REPO = Path(__file__).resolve().parents[2]


def _worker(rounds: int, go: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, **({"LLMQ_TEST_GO": str(go)} if go else {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.worker", str(rounds)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _no_limits() -> None:
    with Store.open() as store:
        save_settings(store, new_per_day=100_000, reviews_per_day=100_000)


def test_sigkill_mid_run_loses_no_committed_answer() -> None:
    _no_limits()
    proc = _worker(-1)
    assert proc.stdout is not None
    committed: dict[str, list[int]] = {"r": [], "s": []}
    while len(committed["r"]) < 40:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "worker ended early"
        kind, ident = line.split()
        committed[kind].append(int(ident))
    proc.send_signal(signal.SIGKILL)  # while it keeps answering
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with Store.open() as store:
        conn = store._conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        logged = {r for (r,) in conn.execute("SELECT id FROM review_log")}
        subs = {s for (s,) in conn.execute("SELECT id FROM submissions")}
        assert set(committed["r"]) <= logged
        assert set(committed["s"]) <= subs
        # and each card's state still agrees with its log
        assert differences(store) == {}


def test_two_processes_answering_and_submitting_at_once(tmp_path: Path) -> None:
    _no_limits()
    rounds = 150
    go = tmp_path / "go"
    procs = [_worker(rounds, go), _worker(rounds, go)]
    for p in procs:  # both have opened the database and loaded the bank
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "locked" not in err
    with Store.open() as store:
        conn = store._conn
        assert conn.execute("SELECT count(*) FROM review_log WHERE undone_ms IS NULL").fetchone()[0] == 2 * rounds
        assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 2 * rounds
        assert conn.execute("SELECT count(DISTINCT session) FROM review_log").fetchone()[0] == 2
        assert differences(store) == {}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
