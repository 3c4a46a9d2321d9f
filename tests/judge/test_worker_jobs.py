"""The worker with several checks at once (`llmq verify` runs min(4, cores) of them): every verdict
is the right one and the worker that gave them is still the one serving."""

from __future__ import annotations

import pytest

from llmq.judge.client import Judge
from tests.judge.conftest import GOOD, GQA

SIG = "def grouped_query_attention(q, k, v, causal=True):\n"
WRONG = GOOD.replace("/ math.sqrt(d)", "")
HANGS = SIG + "    while True:\n        pass\n"


@pytest.mark.slow  # starts a worker of its own and runs a dozen checks
def test_four_jobs_at_once_give_every_verdict_and_the_worker_survives() -> None:
    # Passing, failing and timing-out submissions interleaved, so checks end in every order while
    # others run and the worker's spare is made and taken between them.
    plan = [(GOOD, "pass"), (WRONG, "fail"), (HANGS, "timeout")] * 4
    with Judge(jobs=4) as judge:
        pid = judge.ping()["pid"]
        pending = [
            judge.submit(GQA, source, seed=i, timeout_s=3.0 if want == "timeout" else None)
            for i, (source, want) in enumerate(plan)
        ]
        got = [p.result(timeout=300).status for p in pending]
        assert got == [want for _, want in plan]
        assert judge.ping()["pid"] == pid
        assert judge.restarts == 0
