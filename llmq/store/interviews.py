"""Mock interview rounds (`llmq interview`): one row per round, written when the round starts and
updated as it goes (each check run, the end of the coding, each follow-up), so that a round cut
short by closing the app, ctrl+c or a kill is kept as abandoned, never lost.

Append-only habits, as the review log: a round is never deleted, and once it has ended (finished
or abandoned) its row no longer changes; while it runs, its counts only grow and a first pass,
once written, stays (triggers in schema.py V3 refuse anything else).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

RoundStatus = Literal["running", "finished", "abandoned"]
# How the coding part ended: the checks passed, the time ran out, or the user gave up.
Outcome = Literal["passed", "timed_out", "gave_up"]

# A running round's app writes a heartbeat every HEARTBEAT_S seconds; a round whose heartbeat is
# older than STALE_MS was cut off without a word (the process was killed): it reads as abandoned.
HEARTBEAT_S = 15
STALE_MS = 120_000

_COLUMNS = (
    "id, exercise, started_ms, limit_s, seed, topic, track, status, outcome, first_pass_ms, coding_ms, runs, "
    "failed_runs, unjudged_runs, first_failed, exercise_rating, followups, heartbeat_ms, ended_ms, taught"
)


@dataclass(frozen=True, kw_only=True)
class FollowupAnswer:
    """One follow-up question of a round and its rating (None: not answered, the round ended first)."""

    qid: str
    rating: int | None = None


@dataclass(frozen=True, kw_only=True)
class InterviewRound:
    id: int
    exercise: str
    started_ms: int
    limit_s: int
    seed: int | None
    topic: str | None
    track: str | None
    status: RoundStatus
    outcome: Outcome | None  # None while coding (or abandoned while coding)
    first_pass_ms: int | None  # since started_ms: when the run that first passed was started
    coding_ms: int | None  # since started_ms: when the coding ended (passed, time out, gave up)
    runs: int  # check runs that gave a verdict or could not run
    failed_runs: int  # runs whose verdict was not a pass
    unjudged_runs: int  # runs the judge could not run at all (not the code's fault; not failed)
    first_failed: tuple[str, ...]  # the checks that failed in the first failed run, by name
    exercise_rating: int | None
    followups: tuple[FollowupAnswer, ...]
    heartbeat_ms: int
    ended_ms: int | None
    taught: tuple[str, ...] = ()  # cards the failed checks' `teaches=` named (made due now), first met first

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "exercise": self.exercise,
            "started_ms": self.started_ms,
            "limit_s": self.limit_s,
            "seed": self.seed,
            "topic": self.topic,
            "track": self.track,
            "status": self.status,
            "outcome": self.outcome,
            "passed": self.passed,
            "first_pass_ms": self.first_pass_ms,
            "coding_ms": self.coding_ms,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "unjudged_runs": self.unjudged_runs,
            "first_failed": list(self.first_failed),
            "exercise_rating": self.exercise_rating,
            "followups": [{"id": f.qid, "rating": f.rating} for f in self.followups],
            "ended_ms": self.ended_ms,
            "taught": list(self.taught),
        }


def _round(row: tuple[Any, ...], now_ms: int | None = None) -> InterviewRound:
    (
        id_,
        exercise,
        started_ms,
        limit_s,
        seed,
        topic,
        track,
        status,
        outcome,
        first_pass_ms,
        coding_ms,
        runs,
        failed_runs,
        unjudged_runs,
        first_failed,
        exercise_rating,
        followups,
        heartbeat_ms,
        ended_ms,
        taught,
    ) = row
    if status == "running" and now_ms is not None and now_ms - heartbeat_ms > STALE_MS:
        status, ended_ms = "abandoned", heartbeat_ms  # its app stopped without a word
    return InterviewRound(
        id=id_,
        exercise=exercise,
        started_ms=started_ms,
        limit_s=limit_s,
        seed=seed,
        topic=topic,
        track=track,
        status=status,
        outcome=outcome,
        first_pass_ms=first_pass_ms,
        coding_ms=coding_ms,
        runs=runs,
        failed_runs=failed_runs,
        unjudged_runs=unjudged_runs,
        first_failed=tuple(json.loads(first_failed)),
        exercise_rating=exercise_rating,
        followups=tuple(FollowupAnswer(qid=q, rating=r) for q, r in json.loads(followups)),
        heartbeat_ms=heartbeat_ms,
        ended_ms=ended_ms,
        taught=tuple(json.loads(taught)),
    )


Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class InterviewLog:
    """The store's interview rounds. Each method is one transaction; those that change a round
    return it as it now is, or None when it is no longer running (another llmq window marked it
    abandoned after its heartbeat went stale): nothing is then written."""

    def __init__(self, writing: Transaction, reading: Transaction) -> None:
        self._writing = writing
        self._reading = reading

    def start(
        self,
        exercise: str,
        *,
        limit_s: int,
        seed: int | None,
        topic: str | None,
        track: str | None,
        followups: Sequence[str],
        at_ms: int,
    ) -> InterviewRound:
        """Write the round's row as it begins (and settle rounds whose app died as abandoned)."""
        with self._writing() as conn:
            _settle_stale(conn, at_ms)
            cur = conn.execute(
                "INSERT INTO interviews (exercise, started_ms, limit_s, seed, topic, track, followups, heartbeat_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (exercise, at_ms, limit_s, seed, topic, track, json.dumps([[q, None] for q in followups]), at_ms),
            )
            return _read(conn, int(cur.lastrowid or 0))

    def heartbeat(self, round_id: int, at_ms: int) -> InterviewRound | None:
        return self._update(round_id, "heartbeat_ms = max(heartbeat_ms, ?)", (at_ms,))

    def record_run(
        self,
        round_id: int,
        *,
        passed: bool | None,
        failed_checks: Sequence[str],
        started_ms: int,
        at_ms: int,
        taught: Sequence[str] = (),
    ) -> InterviewRound | None:
        """One check run: `passed` None when the judge could not run it; `started_ms` when it was
        started, since the round began; `failed_checks` the names of its checks that failed;
        `taught` the cards those checks teach (added to the round's, once each)."""
        failed = passed is False
        with self._writing() as conn:
            row = conn.execute("SELECT taught FROM interviews WHERE id = ? AND status = 'running'", (round_id,)).fetchone()
            if row is None:
                return None
            cards = json.dumps(list(dict.fromkeys([*json.loads(row[0]), *taught])))
            conn.execute(
                "UPDATE interviews SET runs = runs + 1, failed_runs = failed_runs + ?, unjudged_runs = unjudged_runs + ?, "
                "first_pass_ms = CASE WHEN ? AND first_pass_ms IS NULL THEN ? ELSE first_pass_ms END, "
                "first_failed = CASE WHEN ? AND first_failed = '[]' THEN ? ELSE first_failed END, "
                "taught = ?, heartbeat_ms = max(heartbeat_ms, ?) WHERE id = ?",
                (
                    int(failed),
                    int(passed is None),
                    int(bool(passed)),
                    started_ms,
                    int(failed),
                    json.dumps(list(failed_checks)),
                    cards,
                    at_ms,
                    round_id,
                ),
            )
            return _read(conn, round_id)

    def end_coding(self, round_id: int, *, outcome: Outcome, rating: int, coding_ms: int, at_ms: int) -> InterviewRound | None:
        """The coding part is over: how it ended, when (since the start), and the exercise card's rating."""
        return self._update(
            round_id,
            "outcome = ?, exercise_rating = ?, coding_ms = ?, heartbeat_ms = max(heartbeat_ms, ?)",
            (outcome, rating, coding_ms, at_ms),
        )

    def record_followup(self, round_id: int, qid: str, rating: int, at_ms: int) -> InterviewRound | None:
        with self._writing() as conn:
            row = conn.execute("SELECT followups FROM interviews WHERE id = ? AND status = 'running'", (round_id,)).fetchone()
            if row is None:
                return None
            answers = [[q, rating if q == qid and r is None else r] for q, r in json.loads(row[0])]
            if not any(q == qid for q, _ in answers):
                answers.append([qid, rating])
            conn.execute(
                "UPDATE interviews SET followups = ?, heartbeat_ms = max(heartbeat_ms, ?) WHERE id = ?",
                (json.dumps(answers), at_ms, round_id),
            )
            return _read(conn, round_id)

    def finish(self, round_id: int, at_ms: int) -> InterviewRound | None:
        """The report is shown: the round is complete and its row is final."""
        return self._update(round_id, "status = 'finished', ended_ms = ?", (at_ms,))

    def abandon(self, round_id: int, at_ms: int) -> InterviewRound | None:
        """The round was left before its report (the app closed, the user left): final as it stands."""
        return self._update(round_id, "status = 'abandoned', ended_ms = ?", (at_ms,))

    def get(self, round_id: int, now_ms: int | None = None) -> InterviewRound | None:
        with self._reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM interviews WHERE id = ?", (round_id,)).fetchone()
            return _round(row, now_ms) if row else None

    def rounds(self, now_ms: int) -> list[InterviewRound]:
        """Every round, newest first; one still marked running whose heartbeat is stale reads as abandoned."""
        with self._reading() as conn:
            return [_round(r, now_ms) for r in conn.execute(f"SELECT {_COLUMNS} FROM interviews ORDER BY id DESC")]

    def _update(self, round_id: int, assignments: str, values: tuple[Any, ...]) -> InterviewRound | None:
        with self._writing() as conn:
            cur = conn.execute(f"UPDATE interviews SET {assignments} WHERE id = ? AND status = 'running'", (*values, round_id))
            return _read(conn, round_id) if cur.rowcount else None


def _read(conn: sqlite3.Connection, round_id: int) -> InterviewRound:
    return _round(conn.execute(f"SELECT {_COLUMNS} FROM interviews WHERE id = ?", (round_id,)).fetchone())


def _settle_stale(conn: sqlite3.Connection, now_ms: int) -> None:
    """Rounds whose app was killed mid-round become abandoned in the file too (ended at their last heartbeat)."""
    conn.execute(
        "UPDATE interviews SET status = 'abandoned', ended_ms = heartbeat_ms WHERE status = 'running' AND heartbeat_ms < ?",
        (now_ms - STALE_MS,),
    )
