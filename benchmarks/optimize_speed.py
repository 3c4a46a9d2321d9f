"""Speed of `llmq optimize` on 10,000 and 100,000 reviews drawn from known FSRS-6 weights (in a
temporary progress database): reading the history, fitting with fsrs-rs, and scoring the default
and fitted weights on the held-out fifth.

Prints one JSON line per size: {"reviews", "read_s", "fit_s", "total_s", ...}.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmq.srs.daytime import DayClock  # noqa: E402
from llmq.srs.optimize import SET_NAMES, fit, held_out_from, optimize, sequences  # noqa: E402
from llmq.store import Store  # noqa: E402
from tests.srs.synthetic_history import simulate, write_history  # noqa: E402


def measure(n_reviews: int) -> dict[str, float | int]:
    history = simulate(n_reviews, seed=0)
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "progress.db") as store:
        write_history(store, history)
        t = time.perf_counter()
        seqs = sequences(store.optimizer_history(), DayClock(4, UTC))["cards"]
        read_s = time.perf_counter() - t
        cut = held_out_from(seqs)
        t = time.perf_counter()
        fit(seqs, cut, relearning_steps=1)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        results = optimize(store, tz=UTC)  # everything the command does: read, fit, score both weights
        total_s = time.perf_counter() - t
    cards = results[SET_NAMES.index("cards")]
    assert cards.default is not None and cards.fitted is not None
    return {
        "reviews": n_reviews,
        "read_s": round(read_s, 3),
        "fit_s": round(fit_s, 3),
        "total_s": round(total_s, 3),
        "held_out": cards.held_out,
        "default_log_loss": round(cards.default.log_loss, 4),
        "fitted_log_loss": round(cards.fitted.log_loss, 4),
    }


def main() -> None:
    for n in (10_000, 100_000):
        print(json.dumps(measure(n)), flush=True)


if __name__ == "__main__":
    main()
