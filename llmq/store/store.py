"""Store: the one handle on progress.db that the rest of llmq uses (cards, review log, submissions, settings)."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmq.datadir import data_dir
from llmq.store import cards, reviews, submissions
from llmq.store.cards import BankCard, CardState, StoredCard
from llmq.store.db import DB_NAME, as_store_error, connect, write
from llmq.store.errors import StoreError
from llmq.store.reviews import LogEntry
from llmq.store.submissions import Submission


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, kw_only=True)
class Applied:
    """One committed event: its log row id and the card's state before and after."""

    log_id: int
    card: StoredCard  # as it was before the event
    after: CardState

    @property
    def before(self) -> CardState:
        return self.card.state


class Store:
    """Progress in one SQLite file. Safe to share between threads; several processes may use the
    same file at once (each write is one short BEGIN IMMEDIATE transaction)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open progress.db in LLMQ_HOME (or the platform data folder), or the file at `path`."""
        path = path if path is not None else data_dir() / DB_NAME
        return cls(connect(path), path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock, write(self._conn, str(self.path)) as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several queries (WAL readers never block writers)."""
        with self._lock:
            if self._conn.in_transaction:  # nested in another read or a write: already a snapshot
                yield self._conn
                return
            try:
                self._conn.execute("BEGIN")
                try:
                    yield self._conn
                finally:
                    self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as err:  # e.g. a page damaged since the file was opened
                raise as_store_error(err, str(self.path)) from err

    # -- cards ----------------------------------------------------------------------------------
    def sync_bank(self, bank: Iterable[BankCard]) -> None:
        """Bring the cards table in line with the current bank (writes only when it differs)."""
        bank = list(bank)
        with self._lock:
            with self.reading() as conn:
                if not cards.bank_diff(conn, bank):
                    return
            with self.writing() as conn:
                cards.apply_bank_diff(conn, cards.bank_diff(conn, bank))

    def card(self, qid: str) -> StoredCard | None:
        with self.reading() as conn:
            return cards.read_card(conn, qid)

    def apply(
        self, qid: str, *, kind: str, rating: int | None, at_ms: int, duration_ms: int, config: int,
        session: str, compute: Callable[[StoredCard], CardState],
    ) -> Applied:
        """Log one event for card `qid` and store its new state, in one transaction. `compute` gets
        the card as it is inside the transaction (another process may have changed it)."""
        with self.writing() as conn:
            card = cards.read_card(conn, qid)
            if card is None:
                raise StoreError(f"No card with id {qid!r} in the progress database.",
                                 where=str(self.path), todo="sync the bank before studying it.")
            after = compute(card)
            log_id = reviews.append(
                conn, card=card.key, kind=kind, rating=rating, at_ms=at_ms, duration_ms=duration_ms,
                before=card.state, after=after, config=config, session=session,
            )
        return Applied(log_id=log_id, card=card, after=after)

    # -- the log --------------------------------------------------------------------------------
    def config_id(self, config_json: str) -> int:
        """The id of a scheduler configuration, adding it the first time it is used."""
        with self._lock:
            with self.reading() as conn:
                found = reviews.find_config(conn, config_json)
            if found is not None:  # the usual case: no write lock needed
                return found
            with self.writing() as conn:
                return reviews.find_config(conn, config_json) or reviews.add_config(conn, config_json)

    def config_json(self, id_: int) -> str:
        with self.reading() as conn:
            return reviews.config_json(conn, id_)

    def undo(self, session: str, at_ms: int | None = None) -> tuple[LogEntry, str] | None:
        """Undo the session's latest standing event; returns it and its card's qid, or None."""
        with self.writing() as conn:
            entry = reviews.last_standing(conn, session)
            if entry is None:
                return None
            try:
                reviews.undo(conn, entry, at_ms if at_ms is not None else now_ms())
            except reviews.UndoConflict:
                raise StoreError(
                    "Cannot undo: the card was changed after that answer (in another llmq window?).",
                    where=str(self.path), todo="answer the card again if the rating was wrong.",
                ) from None
            qid = cards.read_card_by_key(conn, entry.card).qid
        return entry, qid

    def standing_events(self, qid: str | None = None) -> list[tuple[str, LogEntry]]:
        """(qid, event) for every event not undone, in commit order."""
        with self.reading() as conn:
            qids = dict(conn.execute("SELECT key, qid FROM cards"))
            key = None
            if qid is not None:
                card = cards.read_card(conn, qid)
                if card is None:
                    return []
                key = card.key
            return [(qids[e.card], e) for e in reviews.standing_events(conn, key)]

    def all_cards(self) -> list[StoredCard]:
        with self.reading() as conn:
            return [cards.card_from_row(r)
                    for r in conn.execute(f"SELECT {cards.CARD_COLUMNS} FROM cards ORDER BY key")]

    # -- submissions ----------------------------------------------------------------------------
    def add_submission(self, exercise: str, code: str, verdict: dict[str, Any],
                       at_ms: int | None = None) -> int:
        with self.writing() as conn:
            return submissions.add(conn, exercise, code, verdict, at_ms if at_ms is not None else now_ms())

    def latest_submission(self, exercise: str) -> Submission | None:
        """The last code submitted for `exercise` (to put back into the editor), or None."""
        with self.reading() as conn:
            return submissions.latest(conn, exercise)

    def submissions(self, exercise: str, since_ms: int = 0) -> list[Submission]:
        with self.reading() as conn:
            return submissions.history(conn, exercise, since_ms)

    # -- settings -------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        with self.reading() as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}

    def set_settings(self, values: dict[str, Any]) -> None:
        with self.writing() as conn:
            conn.executemany(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in values.items()],
            )
