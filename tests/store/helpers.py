"""Shared by the store and srs tests: a small bank, a settable clock, a store in LLMQ_HOME."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llmq.srs import Study, rebuild_states
from llmq.store import CardState, LogEntry, Store

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Q:
    """What the store needs of a bank question."""

    id: str
    topic: str
    kind: str = "flashcard"


def make_bank(n: int = 30, topics: tuple[str, ...] = ("attention", "norm", "memory")) -> list[Q]:
    kinds = ("flashcard", "choice", "numeric", "code")
    return [Q(f"{topics[i % len(topics)]}.q{i:03d}", topics[i % len(topics)], kinds[i % 4]) for i in range(n)]


def local_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Epoch ms of a local wall-clock time (the study day follows local time)."""
    return int(datetime(year, month, day, hour, minute).timestamp() * 1000)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, ms: int | None = None) -> None:
        self.ms = ms if ms is not None else local_ms(2026, 3, 10, 12)

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


def open_study(bank: list[Q] | None = None, clock: Clock | None = None, **kw: object) -> tuple[Store, Study, Clock]:
    store = Store.open()
    clock = clock or Clock()
    return store, Study(store, bank if bank is not None else make_bank(), clock=clock, **kw), clock


def differences(store: Store) -> dict[str, tuple[CardState, CardState]]:
    """Cards whose stored state differs from the state rebuilt from the log: {qid: (stored, rebuilt)}."""
    rebuilt = rebuild_states(store)
    return {
        card.qid: (card.state, rebuilt.get(card.qid, CardState()))
        for card in store.all_cards()
        if card.state != rebuilt.get(card.qid, CardState())
    }


def history(store: Store, qid: str) -> list[LogEntry]:
    """The card's events that stand (not undone), oldest first."""
    return [e for _, e in store.standing_events(qid)]
