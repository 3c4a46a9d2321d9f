"""Store: the one handle on progress.db that the rest of llmq uses (cards, review log, submissions,
settings). Other packages call its named methods and get typed records; no connection or SQL
leaves llmq.store."""

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
from llmq.store import backup_queries, cards, history_queries, pace_queries, queue_queries, reviews, stats_queries, submissions
from llmq.store.backup_queries import ReviewRow, TableRows
from llmq.store.cards import BankCard, CardState, StoredCard
from llmq.store.db import DB_NAME, as_store_error, connect, write
from llmq.store.errors import StoreError
from llmq.store.history_queries import HistoryEvent
from llmq.store.interviews import InterviewLog
from llmq.store.pace_queries import AnswerTimes
from llmq.store.queue_queries import DueWindow, QueueFilter, QueueName, ReviewsDone
from llmq.store.reviews import LogEntry
from llmq.store.stats_queries import AnswerCounts, CardSummary, CodeProgress, ReviewBucket
from llmq.store.submissions import CodeStatus, Submission


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
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock, write(self._conn, str(self.path)) as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """The store's reads inside the block see one state of the database, as if no other
        window or process wrote meanwhile (other threads of this process wait)."""
        with self._reading():
            yield

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
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
            with self._reading() as conn:
                if not cards.bank_diff(conn, bank):
                    return
            with self._writing() as conn:
                cards.apply_bank_diff(conn, cards.bank_diff(conn, bank))

    def card(self, qid: str) -> StoredCard | None:
        with self._reading() as conn:
            return cards.read_card(conn, qid)

    def apply(
        self,
        qid: str,
        *,
        kind: str,
        rating: int | None,
        at_ms: int,
        duration_ms: int,
        config: int,
        session: str,
        compute: Callable[[StoredCard], CardState],
    ) -> Applied:
        """Log one event for card `qid` and store its new state, in one transaction. `compute` gets
        the card as it is inside the transaction (another process may have changed it)."""
        with self._writing() as conn:
            card = cards.read_card(conn, qid)
            if card is None:
                raise StoreError(
                    f"No card with id {qid!r} in the progress database.",
                    where=str(self.path),
                    todo="sync the bank before studying it.",
                )
            after = compute(card)
            log_id = reviews.append(
                conn,
                card=card.key,
                kind=kind,
                rating=rating,
                at_ms=at_ms,
                duration_ms=duration_ms,
                before=card.state,
                after=after,
                config=config,
                session=session,
            )
        return Applied(log_id=log_id, card=card, after=after)

    # -- the log --------------------------------------------------------------------------------
    def config_id(self, config_json: str) -> int:
        """The id of a scheduler configuration, adding it the first time it is used."""
        with self._lock:
            with self._reading() as conn:
                found = reviews.find_config(conn, config_json)
            if found is not None:  # the usual case: no write lock needed
                return found
            with self._writing() as conn:
                return reviews.find_config(conn, config_json) or reviews.add_config(conn, config_json)

    def config_json(self, id_: int) -> str:
        with self._reading() as conn:
            return reviews.config_json(conn, id_)

    def undo(self, session: str, at_ms: int | None = None) -> tuple[LogEntry, str] | None:
        """Undo the session's latest standing event; returns it and its card's qid, or None."""
        with self._writing() as conn:
            entry = reviews.last_standing(conn, session)
            if entry is None:
                return None
            try:
                reviews.undo(conn, entry, at_ms if at_ms is not None else now_ms())
            except reviews.UndoConflict:
                raise StoreError(
                    "Cannot undo: the card was changed after that answer (in another llmq window?).",
                    where=str(self.path),
                    todo="answer the card again if the rating was wrong.",
                ) from None
            qid = cards.read_card_by_key(conn, entry.card).qid
        return entry, qid

    def reviews_done_since(self, since_ms: int) -> ReviewsDone:
        """Answers not undone since `since_ms` (today's, for the daily limits)."""
        with self._reading() as conn:
            return queue_queries.reviews_done_since(conn, since_ms)

    def standing_events(self, qid: str | None = None) -> list[tuple[str, LogEntry]]:
        """(qid, event) for every event not undone, in commit order."""
        with self._reading() as conn:
            qids = dict(conn.execute("SELECT key, qid FROM cards"))
            key = None
            if qid is not None:
                card = cards.read_card(conn, qid)
                if card is None:
                    return []
                key = card.key
            return [(qids[e.card], e) for e in reviews.standing_events(conn, key)]

    def optimizer_history(self) -> list[HistoryEvent]:
        """Standing reviews and resets, by card then time, with each card's kind (what `llmq optimize` fits)."""
        with self._reading() as conn:
            return history_queries.optimizer_history(conn)

    def review_counts_by_kind(self) -> dict[str, int]:
        """Standing reviews per kind of card (whether `llmq optimize` has enough to fit)."""
        with self._reading() as conn:
            return history_queries.review_counts_by_kind(conn)

    def all_cards(self) -> list[StoredCard]:
        with self._reading() as conn:
            return cards.all_cards(conn)

    # -- the study queue ------------------------------------------------------------------------
    def queue_head(self, queue: QueueName, flt: QueueFilter, window: DueWindow) -> StoredCard | None:
        """The card a queue shows first (learning and ahead: soonest due; review: due, then bank
        order; new: bank order), or None when it is empty."""
        with self._reading() as conn:
            return queue_queries.first_card(conn, queue, flt, window)

    def queue_size(self, queue: QueueName, flt: QueueFilter, window: DueWindow, limit: int | None = None) -> int:
        """Cards in a queue, counted up to `limit` (None: all)."""
        with self._reading() as conn:
            return queue_queries.count_cards(conn, queue, flt, window, limit)

    def next_learning_due_ms(self, flt: QueueFilter, now_ms: int) -> int | None:
        """When the soonest learning card is due (for "come back in 12 minutes"), or None."""
        with self._reading() as conn:
            return queue_queries.next_learning_due_ms(conn, flt, now_ms)

    # -- progress figures -----------------------------------------------------------------------
    def reviews_by_bucket(self, bucket_ms: int) -> list[ReviewBucket]:
        with self._reading() as conn:
            return stats_queries.reviews_by_bucket(conn, bucket_ms)

    def review_answers_since(self, since_ms: int) -> AnswerCounts:
        with self._reading() as conn:
            return stats_queries.review_answers_since(conn, since_ms)

    def card_summaries(self) -> list[CardSummary]:
        """Every card in the bank, in brief."""
        with self._reading() as conn:
            return stats_queries.card_summaries(conn)

    def code_progress(self) -> CodeProgress:
        with self._reading() as conn:
            return stats_queries.code_progress(conn)

    def answer_times(self, cap_ms: int, code_cap_ms: int) -> list[AnswerTimes]:
        """Standing answers with a duration, and their capped total time, by code exercise or card
        and by first answer or later (what `llmq plan` measures minutes per card from)."""
        with self._reading() as conn:
            return pace_queries.answer_times(conn, cap_ms, code_cap_ms)

    def code_status(self) -> dict[str, CodeStatus]:
        """Each exercise that has submissions: how many, and whether one passed."""
        with self._reading() as conn:
            return submissions.status_by_exercise(conn)

    # -- mock interviews ------------------------------------------------------------------------
    @property
    def interviews(self) -> InterviewLog:
        """The mock interview rounds (`llmq interview`): start one, record it as it goes, list them."""
        return InterviewLog(self._writing, self._reading)

    # -- submissions ----------------------------------------------------------------------------
    def add_submission(self, exercise: str, code: str, verdict: dict[str, Any], at_ms: int | None = None) -> int:
        with self._writing() as conn:
            return submissions.add(conn, exercise, code, verdict, at_ms if at_ms is not None else now_ms())

    def latest_submission(self, exercise: str) -> Submission | None:
        """The last code submitted for `exercise` (to put back into the editor), or None."""
        with self._reading() as conn:
            return submissions.latest(conn, exercise)

    # -- backup and restore ---------------------------------------------------------------------
    def backup_rows(self) -> dict[str, TableRows]:
        """Every row of every table a backup holds, read in one snapshot."""
        with self._reading() as conn:
            return backup_queries.dump(conn)

    def review_history(self) -> list[ReviewRow]:
        """Standing reviews since each card's last reset, in the order answered (the FSRS CSV)."""
        with self._reading() as conn:
            return backup_queries.review_history(conn)

    def holds_progress(self) -> bool:
        """Whether anything here was made by a person (answers, actions, submissions, settings)."""
        with self._reading() as conn:
            return backup_queries.holds_progress(conn)

    @classmethod
    def create_from_backup(cls, path: Path, tables: dict[str, TableRows]) -> None:
        """Create a new progress database at `path` (which must not exist) holding `tables`, in one
        transaction. Raises backup_queries.BackupRowsRefused when the rows do not fit the schema."""
        if path.exists():
            raise FileExistsError(path)
        conn = connect(path)
        try:
            with write(conn, str(path)):
                backup_queries.load(conn, tables)
        finally:
            conn.close()  # the last connection: SQLite folds the WAL back into the file

    # -- settings -------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        with self._reading() as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}

    def settings_error(self, problem: str) -> StoreError:
        """The error for saved settings that are not valid (`problem` says which and why)."""
        return StoreError(
            f"The saved study settings are not valid: {problem}.",
            where=f"{self.path} (settings table)",
            todo="fix them in the settings screen, or delete the bad row: "
            "sqlite3 progress.db \"DELETE FROM settings WHERE key = '...'\"",
        )

    def set_settings(self, values: dict[str, Any]) -> None:
        with self._writing() as conn:
            conn.executemany(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in values.items()],
            )
