"""`llmq export FILE.csv --format revlog`: the review log as the FSRS optimizer's CSV.

The columns are those of the open-spaced-repetition optimizers' review-log schema (fsrs-optimizer,
fsrs-rs, srs-benchmark): `card_id` (llmq's card key, an integer), `review_time` (when, in
milliseconds since the Unix epoch), `review_rating` (1 Again, 2 Hard, 3 Good, 4 Easy),
`review_state` (the card's state when it was answered: 0 new, 1 learning, 2 review,
3 relearning) and `review_duration` (milliseconds). Only answers count: undone answers, bury,
suspend and reset rows are left out, and so are a card's answers from before its last reset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Container
from pathlib import Path

from llmq.export.backup import write_atomically
from llmq.store import ReviewRow, Store

COLUMNS = ("card_id", "review_time", "review_rating", "review_state", "review_duration")


def revlog_csv(rows: list[ReviewRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((r.card, r.at_ms, r.rating, r.state_before, r.duration_ms) for r in rows)
    return out.getvalue()


def export_revlog(store: Store, path: Path, qids: Container[str] | None = None) -> int:
    """Write the CSV (only the cards in `qids`, when given); returns the number of reviews."""
    rows = [r for r in store.review_history() if qids is None or r.qid in qids]
    write_atomically(path, revlog_csv(rows).encode("utf-8"))
    return len(rows)
