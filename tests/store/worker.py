"""A separate llmq process for the reliability tests: answers cards and submits code in a loop,
printing each committed log id ("r ID") and submission id ("s ID") once it is committed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from llmq.srs import Study
from llmq.store import Store, StoreError
from tests.store.helpers import make_bank


def main(rounds: int) -> int:
    store = Store.open()
    study = Study(store, make_bank(500))
    go = os.environ.get("LLMQ_TEST_GO")
    if go:  # start together with the other worker
        print("ready", flush=True)
        while not Path(go).exists():
            time.sleep(0.005)
    i = 0
    try:
        while rounds < 0 or i < rounds:
            shown = study.next()
            if shown is None:
                break
            answered = study.answer(shown, 1 + i % 4, duration_ms=1000)
            print("r", answered.log_id, flush=True)
            sub = store.add_submission("memory.q002", f"# try {i}\n", {"status": "fail" if i % 3 else "pass"})
            print("s", sub, flush=True)
            i += 1
    except StoreError as err:
        print("ERROR", err, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1])))
