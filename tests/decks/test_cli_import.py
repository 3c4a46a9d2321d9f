"""`llmq import` and `llmq list --deck` end to end, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_llmq

TOPICS = Path(__file__).parent / "notes" / "topics"


def test_import_then_list_and_show_the_deck(tmp_path: Path) -> None:
    (tmp_path / "cloze.md").write_text("C: RoPE rotates [pairs of dimensions] by an angle.\n", encoding="utf-8")
    first = run_llmq("import", str(TOPICS), "--deck", "topics", "--lang", "en")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Deck topics in ") and first.stdout.rstrip().endswith(
        "8 added, 0 updated, 0 unchanged, 0 hidden"
    )
    again = run_llmq("import", str(TOPICS), "--deck", "topics", "--json")
    assert again.returncode == 0
    result = json.loads(again.stdout)
    assert {k: result[k] for k in ("deck", "added", "updated", "unchanged", "hidden", "errors")} == {
        "deck": "topics",
        "added": 0,
        "updated": 0,
        "unchanged": 8,
        "hidden": 0,
        "errors": [],
    }
    assert run_llmq("import", str(tmp_path / "cloze.md"), "--deck", "mine").returncode == 0

    listed = run_llmq("list", "--deck", "topics", "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == 8 and {r["kind"] for r in rows} == {"flashcard"}
    assert "Attention › MQA › Advantages" in {r["title"] for r in rows}
    cloze = json.loads(run_llmq("list", "--deck", "mine", "--json").stdout)
    assert [r["kind"] for r in cloze] == ["cloze"]
    everything = json.loads(run_llmq("list", "--json").stdout)
    assert len(everything) > 9 and {r["id"] for r in rows} <= {r["id"] for r in everything}  # loaded with the bundled bank

    shown = run_llmq("show", cloze[0]["id"], "--lang", "en")
    assert "RoPE rotates [...] by an angle." in shown.stdout and "pairs of dimensions" not in shown.stdout


def test_import_reports_bad_input_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("Q: a question with no answer\n", encoding="utf-8")
    result = run_llmq("import", str(tmp_path / "bad.md"), "--deck", "bad", "--lang", "en")
    assert result.returncode == 1
    assert f"{tmp_path / 'bad.md'}:1: this question (Q:) has no answer (A:) after it" in result.stderr
    assert "Nothing imported" in result.stderr
    as_json = json.loads(run_llmq("import", str(tmp_path / "bad.md"), "--deck", "bad", "--json").stdout)
    assert as_json["errors"] == [f"{tmp_path / 'bad.md'}:1: this question (Q:) has no answer (A:) after it"]
    assert run_llmq("list", "--deck", "bad").returncode == 2  # no such deck: nothing was written


def test_import_usage_errors_exit_2(tmp_path: Path) -> None:
    bad_name = run_llmq("import", str(TOPICS), "--deck", "../escape", "--lang", "en")
    assert bad_name.returncode == 2 and "cannot be a deck name" in bad_name.stderr
    missing = run_llmq("import", str(tmp_path / "nope.md"), "--lang", "en")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_dry_run_prints_the_counts_and_writes_nothing() -> None:
    result = run_llmq("import", str(TOPICS), "--deck", "topics", "--dry-run", "--lang", "en")
    assert result.returncode == 0
    assert result.stdout.strip() == "Deck topics (dry run, nothing written): 8 added, 0 updated, 0 unchanged, 0 hidden"
    assert run_llmq("list", "--deck", "topics").returncode == 2


def test_messages_in_chinese() -> None:
    result = run_llmq("import", str(TOPICS), "--deck", "topics", "--dry-run", "--lang", "zh")
    assert result.returncode == 0
    assert result.stdout.strip() == "卡组 topics（试运行，未写入任何文件）：新增 8 张，更新 0 张，未变 0 张，隐藏 0 张"
