"""Speed of `llmq plan` on the whole bundled bank after a year of study (a synthetic user, in a
temporary progress database): the plan itself (compute_plan: reading the cards and the pace,
the FSRS forecast of every card, the daily plan) for dates 30, 90 and 365 days ahead, and the
whole command (`llmq plan --json` in a subprocess: start-up, loading the bank, the plan).

Prints one JSON line per date: {"days", "cards", "reviews", "plan_wall_s", "plan_cpu_s"} (the
best of 5 runs); the same again once 100,000 more rows are in the review log (reviews of cards
that have left the bank: only the minutes per answer read the log, so its size should barely
count); then one for the command: {"command_wall_s"} (the best of 3). The target is under 1 s
for the plan. On a loaded machine, CPU time is the figure to compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmq.bank import load_bank  # noqa: E402
from llmq.srs.plan import compute_plan  # noqa: E402
from llmq.store import Store  # noqa: E402
from tests.srs.synthetic_history import simulate, write_history  # noqa: E402
from tests.srs.synthetic_user import study  # noqa: E402


def main() -> None:
    bank = list(load_bank(()).questions.values())
    with tempfile.TemporaryDirectory() as home:
        with Store.open(Path(home) / "progress.db") as store:
            # a year of daily study ending yesterday: two new cards a day, every card started
            study(store, bank, first_day=date.today() - timedelta(days=366), days=365, new_per_day=2, seed=0)
            for more in (False, True):
                if more:
                    write_history(store, simulate(100_000, seed=1), prefix="gone")
                    store.sync_bank(bank)  # those cards leave the bank; their reviews stay in the log
                reviews = len(store.standing_events())
                for days in (30, 90, 365):
                    target = date.today() + timedelta(days=days)
                    walls, cpus = [], []
                    for _ in range(5):
                        wall, cpu = time.perf_counter(), time.process_time()
                        compute_plan(store, target, 30)
                        walls.append(time.perf_counter() - wall)
                        cpus.append(time.process_time() - cpu)
                    row = {"days": days, "cards": len(bank), "reviews": reviews}
                    print(json.dumps(row | {"plan_wall_s": round(min(walls), 3), "plan_cpu_s": round(min(cpus), 3)}))
        env = {**os.environ, "LLMQ_HOME": home, "LLMQ_LANG": "en"}
        command = [sys.executable, "-m", "llmq", "plan", "--date", (date.today() + timedelta(days=90)).isoformat(), "--json"]
        walls = []
        for _ in range(3):
            wall = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - wall)
        print(json.dumps({"command_wall_s": round(min(walls), 3), "days": 90}))


if __name__ == "__main__":
    main()
