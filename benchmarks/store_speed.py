"""Speed of the progress store: answer a card and fetch the next one, and compute the stats, on a
store with 10,000 cards and 100,000 review-log rows (in a temporary LLMQ_HOME).

Prints one JSON line: {"answer_next_p50_ms", "stats_ms", ...}. Targets: 10 ms and 200 ms.
"bare_commit_p50_ms" is what one fsync'd commit costs on this disk: most of an answer's time.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmq.srs import Rating, Study, compute_stats, save_settings  # noqa: E402
from llmq.srs.events import review_outcome  # noqa: E402
from llmq.store import (  # noqa: E402
    CardState,  # noqa: E402
    Store,
    reviews,
)

N_CARDS = 10_000
N_LOG = 100_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Q:
    id: str
    topic: str
    kind: str


def bank() -> list[Q]:
    kinds = ("flashcard", "flashcard", "choice", "numeric", "code")
    return [Q(f"topic{i % 25}.q{i:05d}", f"topic{i % 25}", kinds[i % len(kinds)]) for i in range(N_CARDS)]


def build(store: Store, questions: list[Q], now: int) -> None:
    """A year of history: cards reviewed when due, with Anki-like ratings, until 100,000 rows."""
    rng = random.Random(0)
    study = Study(store, questions, clock=lambda: now)
    config_json = study.settings.scheduler_config()
    config = store.config_id(config_json)
    session = uuid.uuid4().hex
    keys = {c.qid: c.key for c in store.all_cards()}
    states = {q.id: (CardState(), now - rng.randint(40, 700) * DAY_MS) for q in questions}
    written = 0
    with store._writing() as conn:  # private: a bulk build of synthetic history, faster than answering 100,000 cards
        while written < N_LOG:
            for q in questions:
                state, at = states[q.id]
                if at > now - DAY_MS or written >= N_LOG:
                    continue
                rating = rng.choices(list(Rating), weights=(10, 10, 70, 10))[0]
                after = review_outcome(rating, keys[q.id], state, at, config_json).after
                reviews.append(
                    conn,
                    card=keys[q.id],
                    kind="review",
                    rating=int(rating),
                    at_ms=at,
                    duration_ms=rng.randint(2000, 20000),
                    before=state,
                    after=after,
                    config=config,
                    session=session,
                )
                written += 1
                states[q.id] = (after, max(after.due_ms, at + 60_000))
            if all(at > now - DAY_MS for _, at in states.values()):
                break
        for i, q in enumerate(questions[:2000]):
            reviews_ok = {"status": "pass" if i % 3 else "fail", "checks": []}
            conn.execute(
                "INSERT INTO submissions (exercise, at_ms, code, verdict, status) VALUES (?, ?, ?, ?, ?)",
                (q.id, now - i * 1000, "def f():\n    return 1\n" * 20, json.dumps(reviews_ok), reviews_ok["status"]),
            )


def bare_commit_ms(folder: str) -> float:
    """The disk's part: one tiny WAL commit with synchronous=FULL (an fsync), in a scratch file."""
    conn = sqlite3.connect(Path(folder) / "scratch.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (x INTEGER) STRICT")
    times = []
    for i in range(100):
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?)", (i,))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["LLMQ_HOME"] = home
        questions = bank()
        now = int(time.time() * 1000)
        store = Store.open()
        save_settings(store, new_per_day=10_000, reviews_per_day=10_000)
        t = time.perf_counter()
        build(store, questions, now)
        build_s = time.perf_counter() - t
        rows = store._conn.execute("SELECT count(*) FROM review_log").fetchone()[0]
        store.close()

        store = Store.open()  # as the app would: a fresh process-level open
        t = time.perf_counter()
        study = Study(store, questions)
        open_ms = (time.perf_counter() - t) * 1000
        times = []
        shown = study.next()
        rng = random.Random(1)
        for _ in range(300):
            t = time.perf_counter()
            study.answer(shown, rng.choice(list(Rating)), duration_ms=5000)
            shown = study.next()
            times.append((time.perf_counter() - t) * 1000)
            assert shown is not None
        stats_times = []
        for _ in range(5):
            t = time.perf_counter()
            stats = compute_stats(store, questions)
            stats_times.append((time.perf_counter() - t) * 1000)
        print(
            json.dumps(
                {
                    "answer_next_p50_ms": round(statistics.median(times), 2),
                    "stats_ms": round(statistics.median(stats_times), 1),
                    "answer_next_p95_ms": round(sorted(times)[int(0.95 * len(times))], 2),
                    "bare_commit_p50_ms": round(bare_commit_ms(home), 2),
                    "study_open_ms": round(open_ms, 1),
                    "cards": N_CARDS,
                    "review_log_rows": rows,
                    "reviews_total": stats.reviews_total,
                    "build_s": round(build_s, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
