"""A verdict's `cpu_s` counts the submission's own processes too (what `llmq verify --json` adds up
per exercise and benchmarks/verify_speed.py ranks): the sandbox's processes end with its jail and
are collected by nobody who counts them, so they are read before the kill. Before, a solution
that burnt 3.5 s of CPU came back with cpu_s 0.17."""

from __future__ import annotations

from llmq.judge.client import Judge
from tests.judge.conftest import GOOD, GQA

BURN_S = 0.05
# Burns BURN_S of CPU in every call and prints a line for it: the output says how much it burnt.
BURNING = GOOD.replace("def grouped_query_attention(", "def _gqa(", 1) + (
    "\n\nimport time\n"
    "def grouped_query_attention(*args, **kwargs):\n"
    "    start = time.process_time()\n"
    f"    while time.process_time() - start < {BURN_S}:\n"
    "        pass\n"
    "    print('burnt')\n"
    "    return _gqa(*args, **kwargs)\n"
)


def test_the_cpu_a_submission_burns_is_in_its_verdict(judge: Judge) -> None:
    verdict = judge.check(GQA, BURNING, seed=1)
    calls = verdict.stdout.count("burnt")
    assert verdict.status == "pass" and calls >= 10
    assert verdict.cpu_s >= calls * BURN_S, (verdict.cpu_s, calls)


def test_a_series_shares_its_cpu_evenly_among_its_seeds(judge: Judge) -> None:
    series = judge.submit(GQA, BURNING, seeds=(1, 2)).result()
    calls = sum(v.stdout.count("burnt") for v in series)
    assert [v.status for v in series] == ["pass", "pass"]
    assert series[0].cpu_s == series[1].cpu_s and 2 * series[0].cpu_s >= calls * BURN_S
