"""Mock interview rounds in the store: written at the start, kept as abandoned when the app goes
away (closed, or killed without a word), final once ended, never deleted; and their report never
rounds a failure into a pass."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llmq.srs.interview_rating import exercise_rating
from llmq.srs.interview_report import clock_text, history_line, report_text
from llmq.srs.scheduler import Rating
from llmq.store import Store
from llmq.store.interviews import STALE_MS

T0 = 1_700_000_000_000


def _start(store: Store, at_ms: int = T0) -> int:
    log = store.interviews
    return log.start("attention.gqa", limit_s=1800, seed=3, topic=None, track="cpu", followups=["a.one", "a.two"], at_ms=at_ms).id


def test_a_round_left_mid_way_is_kept_as_abandoned_with_what_it_had() -> None:
    with Store.open() as store:
        log = store.interviews
        rid = _start(store)
        log.record_run(rid, passed=False, failed_checks=["causal mask"], started_ms=30_000, at_ms=T0 + 31_000)
        abandoned = log.abandon(rid, T0 + 40_000)
        assert abandoned is not None
        assert (abandoned.status, abandoned.outcome, abandoned.runs, abandoned.failed_runs) == ("abandoned", None, 1, 1)
        assert abandoned.first_failed == ("causal mask",)
        # final: nothing more is written to it, by the app or by hand
        assert log.record_run(rid, passed=True, failed_checks=[], started_ms=50_000, at_ms=T0 + 50_000) is None
        with pytest.raises(sqlite3.DatabaseError, match="final once ended"):
            store._conn.execute("UPDATE interviews SET status = 'finished' WHERE id = ?", (rid,))
        with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
            store._conn.execute("DELETE FROM interviews")
        assert [r.status for r in log.rounds(T0 + 60_000)] == ["abandoned"]


def test_a_killed_app_leaves_its_round_abandoned_not_lost(_private_home: Path) -> None:
    """The process is killed (SIGKILL: no handler runs) after a failed run: the round reads as
    abandoned once its heartbeat is stale, and the next round settles it so in the file."""
    script = (
        "import os, signal\n"
        "from llmq.store import Store\n"
        "store = Store.open()\n"
        f"rid = store.interviews.start('attention.gqa', limit_s=1800, seed=1, topic=None, track='cpu', followups=[], at_ms={T0})\n"
        f"store.interviews.record_run(rid.id, passed=False, failed_checks=['shape'], started_ms=5000, at_ms={T0 + 6000})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "LLMQ_HOME": str(_private_home)}, timeout=60)
    assert done.returncode == -9
    with Store.open() as store:
        log = store.interviews
        (soon,) = log.rounds(T0 + 7000)
        assert soon.status == "running"  # within the heartbeat's grace it may still be alive
        (later,) = log.rounds(T0 + 6000 + STALE_MS + 1)
        assert (later.status, later.runs, later.failed_runs, later.first_failed) == ("abandoned", 1, 1, ("shape",))
        _start(store, at_ms=T0 + 6000 + STALE_MS + 1)  # a new round settles the old one in the file
        stored = store._conn.execute("SELECT status FROM interviews ORDER BY id").fetchall()
        assert stored == [("abandoned",), ("running",)]


def test_a_pass_needs_its_time_and_stays() -> None:
    with Store.open() as store:
        rid = _start(store)
        with pytest.raises(sqlite3.IntegrityError):  # "passed" without the time of a passing run
            store._conn.execute("UPDATE interviews SET outcome = 'passed' WHERE id = ?", (rid,))
        log = store.interviews
        log.record_run(rid, passed=True, failed_checks=[], started_ms=1_799_999, at_ms=T0 + 1_800_500)
        with pytest.raises(sqlite3.DatabaseError, match="only grows"):
            store._conn.execute("UPDATE interviews SET first_pass_ms = NULL WHERE id = ?", (rid,))


def test_the_report_never_rounds_a_failure_into_a_pass() -> None:
    with Store.open() as store:
        log = store.interviews
        late = _start(store)
        log.record_run(late, passed=True, failed_checks=[], started_ms=1_799_999, at_ms=T0 + 1_800_100)
        passed = log.end_coding(late, outcome="passed", rating=3, coding_ms=1_800_100, at_ms=T0 + 1_800_100)
        failed = _start(store)
        log.record_run(failed, passed=False, failed_checks=["gradient"], started_ms=100_000, at_ms=T0 + 101_000)
        timed_out = log.end_coding(failed, outcome="timed_out", rating=1, coding_ms=1_800_000, at_ms=T0 + 1_800_000)
        log.record_followup(failed, "a.one", 1, T0 + 1_900_000)
        log.record_followup(failed, "a.two", 2, T0 + 1_910_000)
        ended = log.finish(failed, T0 + 1_920_000)
    assert passed is not None and timed_out is not None and ended is not None
    assert clock_text(1_799_999) == "29:59"  # cut, never rounded up to the limit
    text = report_text(passed, str)
    assert "started at 29:59 of 30:00" in text and "Time to the first pass: 29:59" in text
    text = report_text(ended, str)
    assert "not passed: the time ran out (30:00)" in text
    assert "Time to the first pass: none" in text and "Check runs: 1, 1 failed" in text
    assert "Follow-up questions: 1 of 2 recalled" in text  # Again is not recalled; Hard is
    assert "a.one (a.one): rated Again" in text.replace("\n", " ")
    assert "time ran out" in history_line(ended) and "follow-ups 1/2" in history_line(ended)


def test_the_exercise_rating_rule() -> None:
    assert exercise_rating(False, None, 1800, 0) == Rating.Again
    assert exercise_rating(True, 900_000, 1800, 0) == Rating.Easy  # first run, within half the time
    assert exercise_rating(True, 900_001, 1800, 0) == Rating.Good
    assert exercise_rating(True, 60_000, 1800, 1) == Rating.Hard  # after a failed run


def test_rounds_go_through_a_backup_and_a_home_with_one_is_not_overwritten(_private_home: Path, tmp_path: Path) -> None:
    from llmq.export.backup import restore_file, write_backup
    from llmq.export.errors import ExportError

    with Store.open() as store:
        rid = _start(store)
        store.interviews.record_run(rid, passed=False, failed_checks=["shape"], started_ms=1000, at_ms=T0 + 1000)
        store.interviews.abandon(rid, T0 + 2000)
        write_backup(store, _private_home, tmp_path / "backup.json")
    with pytest.raises(ExportError, match="already holds progress"):  # a round alone is progress
        restore_file(tmp_path / "backup.json", _private_home)
    elsewhere = tmp_path / "other-home"
    restore_file(tmp_path / "backup.json", elsewhere)
    with Store.open(elsewhere / "progress.db") as store:
        (back,) = store.interviews.rounds(T0)
    assert (back.exercise, back.status, back.failed_runs, back.first_failed) == ("attention.gqa", "abandoned", 1, ("shape",))
