"""Speed of `llmq export` and `llmq restore`: the bundled bank to an Anki package, and a backup,
a restore and the FSRS CSV of a progress database with 10,000 cards and 100,000 review-log rows
(in temporary LLMQ_HOMEs).

Prints one JSON line: {"apkg_s", "backup_s", "restore_s", "revlog_s", ...}. Targets: apkg, backup
and restore under 10 s each (issue 15).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmq.bank import load_bank  # noqa: E402
from llmq.export.apkg import export_apkg  # noqa: E402
from llmq.export.backup import restore_file, write_backup  # noqa: E402
from llmq.export.revlog import export_revlog  # noqa: E402
from llmq.store import DB_NAME, CardState, Store, TableRows  # noqa: E402

N_CARDS = 10_000
N_LOG = 100_000
DAY_MS = 86_400_000


def synthetic_tables(now: int) -> dict[str, TableRows]:
    """A year of answers spread over the cards, every tenth one undone, with state snapshots of
    the size the app writes."""
    rng = random.Random(0)
    cards = [
        (
            k + 1,
            f"topic{k % 25}.q{k:05d}",
            f"topic{k % 25}",
            "flashcard",
            k,
            1,
            2,
            None,
            12.5,
            5.1,
            now + DAY_MS,
            now,
            5,
            1,
            0,
            0,
            "",
        )
        for k in range(N_CARDS)
    ]
    log = []
    for i in range(N_LOG):
        at = now - (N_LOG - i) * 300_000
        before = CardState(
            state=2, stability=rng.uniform(1, 90), difficulty=rng.uniform(1, 10), due_ms=at, last_review_ms=at - DAY_MS, reps=3
        )
        after = CardState(
            state=2,
            stability=rng.uniform(1, 90),
            difficulty=rng.uniform(1, 10),
            due_ms=at + 9 * DAY_MS,
            last_review_ms=at,
            reps=4,
        )
        undone = at + 5000 if i % 10 == 9 else None
        rating = rng.choice((1, 2, 3, 3, 3, 4))
        log.append(
            (
                i + 1,
                rng.randrange(N_CARDS) + 1,
                "review",
                rating,
                at,
                rng.randint(2000, 20000),
                2,
                2,
                before.to_json(),
                after.to_json(),
                1,
                "s",
                undone,
            )
        )
    return {
        "configs": TableRows(("id", "json"), [(1, json.dumps({"desired_retention": 0.9}))]),
        "cards": TableRows(
            (
                "key", "qid", "topic", "kind", "position", "present", "state", "step", "stability", "difficulty",
                "due_ms", "last_review_ms", "reps", "lapses", "suspended", "buried_until_ms", "tags",
            ),
            cards,
        ),
        "review_log": TableRows(
            ("id", "card", "kind", "rating", "at_ms", "duration_ms", "state_before", "state_after", "before", "after", "config", "session", "undone_ms"),
            log,
        ),
    }  # fmt: skip


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> None:
    bank = load_bank()
    with tempfile.TemporaryDirectory() as work:
        os.environ["LLMQ_HOME"] = str(Path(work) / "home")
        apkg_s, summary = timed(lambda: export_apkg(bank, list(bank.questions.values()), Path(work) / "bank.apkg", "both"))

        home = Path(work) / "home"
        home.mkdir(exist_ok=True)
        Store.create_from_backup(home / DB_NAME, synthetic_tables(int(time.time() * 1000)))
        with Store.open(home / DB_NAME) as store:
            backup_s, backup = timed(lambda: write_backup(store, home, Path(work) / "backup.json"))
            revlog_s, reviews = timed(lambda: export_revlog(store, Path(work) / "revlog.csv"))
        fresh = Path(work) / "fresh"
        restore_s, restored = timed(lambda: restore_file(Path(work) / "backup.json", fresh))
        print(
            json.dumps(
                {
                    "apkg_s": round(apkg_s, 2),
                    "apkg_notes": sum(summary.notes.values()),
                    "backup_s": round(backup_s, 2),
                    "restore_s": round(restore_s, 2),
                    "revlog_s": round(revlog_s, 2),
                    "review_log_rows": restored.count("review_log"),
                    "undone_rows": restored.undone,
                    "revlog_reviews": reviews,
                    "backup_mb": round((Path(work) / "backup.json").stat().st_size / 1e6, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
