"""A mock interview's report and `llmq interview --history` outside the round: the checks named in
the interface's language (read from the answer modules without torch), lines wrapped with a
hanging indent, and a card the round asked again not listed as "due now"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from llmq.bank import CodeExercise, load_bank
from llmq.judge.check_titles import shown_titles, zh_titles
from llmq.l10n import set_language
from llmq.srs.interview_report import cells, hanging, report_text
from llmq.store import InterviewRound, Store

T0 = 1_700_000_000_000
GQA_CHECK = "causal: changing future queries, keys and values leaves earlier outputs unchanged"
GQA_CHECK_ZH = "因果性：改变未来的 query、key 和 value，之前的输出不变"


def _round(store: Store, taught: list[str]) -> InterviewRound:
    log = store.interviews
    rid = log.start(
        "attention.gqa", limit_s=1800, seed=3, topic=None, track="cpu", followups=["attention.sqrt_dk", "a.two"], at_ms=T0
    ).id
    log.record_run(rid, passed=False, failed_checks=[GQA_CHECK, "timeout"], started_ms=30_000, at_ms=T0 + 31_000, taught=taught)
    log.record_run(rid, passed=True, failed_checks=[], started_ms=90_000, at_ms=T0 + 91_000)
    log.end_coding(rid, outcome="passed", rating=2, coding_ms=91_000, at_ms=T0 + 91_000)
    log.record_followup(rid, "attention.sqrt_dk", 3, T0 + 100_000)
    log.record_followup(rid, "a.two", 1, T0 + 110_000)
    ended = log.finish(rid, T0 + 120_000)
    assert ended is not None
    return ended


def test_every_bundled_check_has_a_chinese_title_read_without_running_the_module() -> None:
    bank = load_bank()
    exercises = [q for q in bank.questions.values() if isinstance(q, CodeExercise)]
    assert len(exercises) > 50
    for exercise in exercises:
        source = Path(exercise.answer_path).read_text(encoding="utf-8")
        written = len(re.findall(r"^@(?:kit\.)?check\(", source, flags=re.M))
        titles = zh_titles(Path(exercise.answer_path))
        assert len(titles) == written > 0, exercise.id
    assert zh_titles(Path("/nonexistent/answer.py")) == {}


def test_the_report_names_checks_in_chinese_and_wraps_with_a_hanging_indent(_private_home: Path) -> None:
    bank = load_bank()
    with Store.open() as store:
        r = _round(store, taught=["attention.sqrt_dk", "attention.causal_mask_before_softmax"])
    path = Path(bank.questions["attention.gqa"].answer_path)  # type: ignore[attr-defined]
    try:
        set_language("zh")
        titles = shown_titles(r.first_failed, path)
        text = report_text(r, lambda qid: qid, titles, width=40)
    finally:
        set_language("en")
    assert titles[GQA_CHECK] == GQA_CHECK_ZH
    lines = text.splitlines()
    assert all(cells(line) <= 40 for line in lines), text
    start = next(i for i, line in enumerate(lines) if line.startswith("  ✗ 因果性"))
    assert lines[start + 1].startswith("    ") and not lines[start + 1].startswith("     ")  # under the text
    wrapped = "".join(line.strip().removeprefix("✗ ") for line in lines[start : start + 3])
    assert GQA_CHECK_ZH.replace(" ", "") in wrapped.replace(" ", "")
    assert "  ✗ 运行超时" in lines  # a run that timed out, by the verdict's status, in Chinese too
    # the card a failed check taught was asked again as a follow-up (rated Good): not "due now"
    flat = text.replace("\n", "").replace(" ", "")
    assert "（attention.causal_mask_before_softmax）：没通过的检查考的正是它" in flat
    assert "（attention.sqrt_dk）：没通过的检查考的正是它" not in flat


def test_hanging_keeps_a_short_line_and_cuts_a_word_longer_than_the_width() -> None:
    assert hanging("  • ", "short", 80) == ["  • short"]
    assert hanging("  • ", "a b", None) == ["  • a b"]
    long = hanging("  ✗ ", "x" * 50, 20)
    assert all(cells(line) <= 20 for line in long) and "".join(line[4:] for line in long) == "x" * 50
    assert all(line.startswith("    ") for line in long[1:])


def test_history_names_the_checks_in_chinese_without_importing_torch(_private_home: Path) -> None:
    with Store.open() as store:
        _round(store, taught=[])
    script = (
        "import sys\n"
        "from llmq.cli import main\n"
        "code = main(['interview', '--history', '--lang', 'zh'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "LLMQ_HOME": str(_private_home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "最先失败的检查" in done.stdout and f"✗ {GQA_CHECK_ZH}" in done.stdout and "✗ 运行超时" in done.stdout
    assert GQA_CHECK not in done.stdout
