"""`llmq interview --history [--json]` lists the rounds played (newest first, an abandoned one
as abandoned), and a round that cannot be picked is a usage error before the app opens."""

from __future__ import annotations

import json
from pathlib import Path

from llmq.store import Store, now_ms

from .conftest import run_llmq

# A check of attention.gqa's answer module (its zh= title is shown in Chinese).
GQA_CHECK = "causal: changing future queries, keys and values leaves earlier outputs unchanged"


def _two_rounds() -> None:
    t0 = now_ms() - 3_600_000
    with Store.open() as store:
        log = store.interviews
        first = log.start("attention.gqa", limit_s=1800, seed=4, topic=None, track="cpu", followups=["x.a", "x.b"], at_ms=t0)
        log.record_run(first.id, passed=False, failed_checks=[GQA_CHECK], started_ms=60_000, at_ms=t0 + 61_000)
        log.record_run(first.id, passed=True, failed_checks=[], started_ms=754_000, at_ms=t0 + 755_000)
        log.end_coding(first.id, outcome="passed", rating=2, coding_ms=755_000, at_ms=t0 + 755_000)
        log.record_followup(first.id, "x.a", 3, t0 + 800_000)
        log.record_followup(first.id, "x.b", 1, t0 + 820_000)
        log.finish(first.id, t0 + 830_000)
        second = log.start("position.rope", limit_s=600, seed=5, topic=None, track="cpu", followups=[], at_ms=t0 + 900_000)
        log.abandon(second.id, t0 + 960_000)


def test_history_lists_the_rounds_newest_first(_private_home: Path) -> None:
    empty = run_llmq("interview", "--history", "--lang", "en")
    assert empty.returncode == 0 and "No mock interview rounds yet" in empty.stdout
    _two_rounds()
    done = run_llmq("interview", "--history", "--lang", "en")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4  # the second round's line, then the check that failed first
    assert lines[2:] == ["    Checks that failed first:", f"      ✗ {GQA_CHECK}"]
    assert lines[0].startswith("#2 ") and "position.rope" in lines[0] and "abandoned" in lines[0]
    assert "attention.gqa" in lines[1] and "passed at 12:34" in lines[1] and "runs 2 (1 failed)" in lines[1]
    assert "follow-ups 1/2" in lines[1]
    as_json = run_llmq("interview", "--history", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rounds = json.loads(as_json.stdout)
    assert [(r["id"], r["status"], r["outcome"], r["passed"]) for r in rounds] == [
        (2, "abandoned", None, False),
        (1, "finished", "passed", True),
    ]
    assert rounds[1]["first_failed"] == [GQA_CHECK] and rounds[1]["first_pass_ms"] == 754_000
    assert rounds[1]["followups"] == [{"id": "x.a", "rating": 3}, {"id": "x.b", "rating": 1}]


def test_a_round_that_cannot_be_picked_is_a_usage_error() -> None:
    unknown = run_llmq("interview", "--topic", "atention", "--lang", "en")
    assert unknown.returncode == 2 and "did you mean attention?" in unknown.stderr
    gpu_only = run_llmq("interview", "--topic", "gpu", "--track", "cpu", "--lang", "en")
    assert gpu_only.returncode == 2 and "no cpu code exercise in topic 'gpu'" in gpu_only.stderr
    zero = run_llmq("interview", "--minutes", "0", "--lang", "en")
    assert zero.returncode == 2 and "--minutes must be more than 0" in zero.stderr


def test_interview_in_chinese_prints_no_english_sentence() -> None:
    from tests.test_cli_l10n import ZH, english_runs

    _two_rounds()
    for args in (["interview", "--help"], ["interview", "--history"]):
        result = run_llmq(*args, env=ZH)
        assert result.returncode == 0, result.stderr
        assert "模拟面试" in result.stdout or "追问" in result.stdout, result.stdout
        assert english_runs(result.stdout + result.stderr) == [], result.stdout
    assert "✗ 因果性：改变未来的 query、key 和 value，之前的输出不变" in result.stdout  # the check's zh= title
