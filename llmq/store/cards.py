"""Cards: one row per bank question id, holding its scheduling state, and keeping it in step with the bank."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

# Card states. 1-3 are fsrs.State's values; 0 is Anki's "new" (never answered), which fsrs lacks.
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}


class BankCard(Protocol):
    """What the store needs of a bank question (llmq.bank.model.Question has these)."""

    @property
    def id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class CardState:
    """Everything about a card that answers and manual actions change (the log's before/after)."""

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due_ms: int = 0
    last_review_ms: int | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until_ms: int = 0
    tags: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CardState:
        data = json.loads(text)
        data["tags"] = tuple(data.get("tags", ()))
        return cls(**data)

    def with_tag(self, tag: str, present: bool) -> CardState:
        tags = tuple(t for t in self.tags if t != tag) + ((tag,) if present else ())
        return replace(self, tags=tags)


@dataclass(frozen=True, kw_only=True)
class StoredCard:
    """A card row: the bank fields it was last synced with, and its state."""

    key: int
    qid: str
    topic: str
    kind: str
    position: int
    present: bool
    state: CardState


CARD_COLUMNS = (
    "key, qid, topic, kind, position, present, state, step, stability, difficulty, due_ms, "
    "last_review_ms, reps, lapses, suspended, buried_until_ms, tags"
)


def card_from_row(row: tuple) -> StoredCard:  # type: ignore[type-arg]
    (
        key,
        qid,
        topic,
        kind,
        position,
        present,
        state,
        step,
        stability,
        difficulty,
        due_ms,
        last_review_ms,
        reps,
        lapses,
        suspended,
        buried_until_ms,
        tags,
    ) = row
    return StoredCard(
        key=key,
        qid=qid,
        topic=topic,
        kind=kind,
        position=position,
        present=bool(present),
        state=CardState(
            state=state,
            step=step,
            stability=stability,
            difficulty=difficulty,
            due_ms=due_ms,
            last_review_ms=last_review_ms,
            reps=reps,
            lapses=lapses,
            suspended=bool(suspended),
            buried_until_ms=buried_until_ms,
            tags=tuple(tags.split()) if tags else (),
        ),
    )


def read_card(conn: sqlite3.Connection, qid: str) -> StoredCard | None:
    row = conn.execute(f"SELECT {CARD_COLUMNS} FROM cards WHERE qid = ?", (qid,)).fetchone()
    return card_from_row(row) if row else None


def read_card_by_key(conn: sqlite3.Connection, key: int) -> StoredCard:
    row = conn.execute(f"SELECT {CARD_COLUMNS} FROM cards WHERE key = ?", (key,)).fetchone()
    return card_from_row(row)


def all_cards(conn: sqlite3.Connection) -> list[StoredCard]:
    return [card_from_row(r) for r in conn.execute(f"SELECT {CARD_COLUMNS} FROM cards ORDER BY key")]


def write_state(conn: sqlite3.Connection, key: int, s: CardState) -> None:
    conn.execute(
        "UPDATE cards SET state = ?, step = ?, stability = ?, difficulty = ?, due_ms = ?, "
        "last_review_ms = ?, reps = ?, lapses = ?, suspended = ?, buried_until_ms = ?, tags = ? "
        "WHERE key = ?",
        (
            s.state,
            s.step,
            s.stability,
            s.difficulty,
            s.due_ms,
            s.last_review_ms,
            s.reps,
            s.lapses,
            int(s.suspended),
            s.buried_until_ms,
            " ".join(s.tags),
            key,
        ),
    )


@dataclass(frozen=True)
class BankDiff:
    """What differs between the cards table and the bank."""

    inserts: list[tuple[str, str, str, int]]
    updates: list[tuple[str, str, int, str]]
    gone: list[tuple[str]]

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.gone)


def bank_diff(conn: sqlite3.Connection, bank: Iterable[BankCard]) -> BankDiff:
    """New ids to add, ids whose topic/kind/order changed or that came back, and ids that left."""
    wanted = {q.id: (q.topic, q.kind, pos) for pos, q in enumerate(bank)}
    have = {
        qid: (topic, kind, position, present)
        for qid, topic, kind, position, present in conn.execute("SELECT qid, topic, kind, position, present FROM cards")
    }
    return BankDiff(
        inserts=[(qid, t, k, p) for qid, (t, k, p) in wanted.items() if qid not in have],
        updates=[(t, k, p, qid) for qid, (t, k, p) in wanted.items() if qid in have and have[qid] != (t, k, p, 1)],
        gone=[(qid,) for qid, row in have.items() if qid not in wanted and row[3]],
    )


def apply_bank_diff(conn: sqlite3.Connection, diff: BankDiff) -> None:
    """Ids that left the bank are only marked absent: their history stays, hidden, until they return."""
    conn.executemany("INSERT INTO cards (qid, topic, kind, position) VALUES (?, ?, ?, ?)", diff.inserts)
    conn.executemany("UPDATE cards SET topic = ?, kind = ?, position = ?, present = 1 WHERE qid = ?", diff.updates)
    conn.executemany("UPDATE cards SET present = 0 WHERE qid = ?", diff.gone)
