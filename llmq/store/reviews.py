"""The append-only review log: each answer or manual action is one row written in the same
transaction as the card's new state; undo marks rows undone and puts the state before back."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from llmq.store.cards import CardState, read_card_by_key, write_state

LOG_COLUMNS = "id, card, kind, rating, at_ms, duration_ms, before, after, config, session, undone_ms"


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    id: int
    card: int  # cards.key
    kind: str  # one of schema.EVENT_KINDS
    rating: int | None
    at_ms: int
    duration_ms: int
    before: CardState
    after: CardState
    config: int  # configs.id the event was computed with
    session: str
    undone_ms: int | None


def _entry(row: tuple) -> LogEntry:  # type: ignore[type-arg]
    id_, card, kind, rating, at_ms, duration_ms, before, after, config, session, undone_ms = row
    return LogEntry(
        id=id_,
        card=card,
        kind=kind,
        rating=rating,
        at_ms=at_ms,
        duration_ms=duration_ms,
        before=CardState.from_json(before),
        after=CardState.from_json(after),
        config=config,
        session=session,
        undone_ms=undone_ms,
    )


def find_config(conn: sqlite3.Connection, config_json: str) -> int | None:
    row = conn.execute("SELECT id FROM configs WHERE json = ?", (config_json,)).fetchone()
    return int(row[0]) if row else None


def add_config(conn: sqlite3.Connection, config_json: str) -> int:
    return int(conn.execute("INSERT INTO configs (json) VALUES (?)", (config_json,)).lastrowid or 0)


def config_json(conn: sqlite3.Connection, id_: int) -> str:
    return str(conn.execute("SELECT json FROM configs WHERE id = ?", (id_,)).fetchone()[0])


def append(
    conn: sqlite3.Connection,
    *,
    card: int,
    kind: str,
    rating: int | None,
    at_ms: int,
    duration_ms: int,
    before: CardState,
    after: CardState,
    config: int,
    session: str,
) -> int:
    """Log one event and store the card's new state. The caller holds the write transaction."""
    cur = conn.execute(
        "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, "
        "before, after, config, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            card,
            kind,
            rating,
            at_ms,
            max(0, duration_ms),
            before.state,
            after.state,
            before.to_json(),
            after.to_json(),
            config,
            session,
        ),
    )
    write_state(conn, card, after)
    return int(cur.lastrowid or 0)


def last_standing(conn: sqlite3.Connection, session: str) -> LogEntry | None:
    """The session's most recent event that has not been undone."""
    row = conn.execute(
        f"SELECT {LOG_COLUMNS} FROM review_log WHERE session = ? AND undone_ms IS NULL ORDER BY id DESC LIMIT 1",
        (session,),
    ).fetchone()
    return _entry(row) if row else None


class UndoConflict(Exception):
    """The card changed after the event (another window answered it), so undo would lose that."""


def undo(conn: sqlite3.Connection, entry: LogEntry, now_ms: int) -> None:
    """Mark `entry` undone and restore the card's state before it. Caller holds the transaction."""
    latest = conn.execute("SELECT max(id) FROM review_log WHERE card = ? AND undone_ms IS NULL", (entry.card,)).fetchone()[0]
    current = read_card_by_key(conn, entry.card).state
    if latest != entry.id or current != entry.after:
        raise UndoConflict(entry.id)
    conn.execute("UPDATE review_log SET undone_ms = ? WHERE id = ?", (now_ms, entry.id))
    write_state(conn, entry.card, entry.before)


def standing_events(conn: sqlite3.Connection, card: int | None = None) -> list[LogEntry]:
    """Events not undone, in the order they were committed (one card, or all)."""
    where, args = ("AND card = ?", (card,)) if card is not None else ("", ())
    rows = conn.execute(f"SELECT {LOG_COLUMNS} FROM review_log WHERE undone_ms IS NULL {where} ORDER BY id", args)
    return [_entry(r) for r in rows]
