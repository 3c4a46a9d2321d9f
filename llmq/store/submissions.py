"""Code submissions: every one kept (time, exercise id, code, the judge's verdict JSON)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Submission:
    id: int
    exercise: str
    at_ms: int
    code: str
    verdict: dict[str, Any]

    @property
    def status(self) -> str:
        """The verdict's status: "pass", "fail", "error", "timeout" or "crash" (CONTRACTS.md)."""
        return str(self.verdict.get("status", ""))

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def _submission(row: tuple) -> Submission:  # type: ignore[type-arg]
    id_, exercise, at_ms, code, verdict = row
    return Submission(id=id_, exercise=exercise, at_ms=at_ms, code=code, verdict=json.loads(verdict))


def add(conn: sqlite3.Connection, exercise: str, code: str, verdict: dict[str, Any], at_ms: int) -> int:
    cur = conn.execute(
        "INSERT INTO submissions (exercise, at_ms, code, verdict, status) VALUES (?, ?, ?, ?, ?)",
        (exercise, at_ms, code, json.dumps(verdict), str(verdict.get("status", ""))),
    )
    return int(cur.lastrowid or 0)


def latest(conn: sqlite3.Connection, exercise: str) -> Submission | None:
    row = conn.execute(
        "SELECT id, exercise, at_ms, code, verdict FROM submissions WHERE exercise = ? ORDER BY id DESC LIMIT 1",
        (exercise,),
    ).fetchone()
    return _submission(row) if row else None


@dataclass(frozen=True)
class CodeStatus:
    """Where one exercise stands: how many submissions it has, and whether one passed."""

    submissions: int
    solved: bool


def status_by_exercise(conn: sqlite3.Connection) -> dict[str, CodeStatus]:
    """Every exercise with submissions. One query over the status column: reading each
    submission's code and verdict would grow with the history."""
    rows = conn.execute("SELECT exercise, count(*), max(status = 'pass') FROM submissions GROUP BY exercise")
    return {exercise: CodeStatus(int(n), bool(passed)) for exercise, n, passed in rows}
