"""`source_heading:`: the heading of the note file a card answers (issue 14 point 6). It is loaded,
kept by the cache, searched, checked (one short line, and only where `source` names a file), and it
leaves translations' `from_en` as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import BankError, load_bank
from llmq.bank.i18n import source_hash
from tests.bank.sample_bank import TOPIC_YAML, write_bank

HEADING = "Transformer 中 Self Attention 计算为什么要除以特征维度数量的平方根"
WITH_FILE = 'source: "wzzzd:model-module/attention.md"'


def _bank(source: str, heading_line: str) -> str:
    return TOPIC_YAML.replace("    source: wzzzd\n", f"    {source}\n{heading_line}", 1)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(BankError) as err:
        load_bank(roots=[write_bank(tmp_path, text)], use_cache=False)
    return str(err.value)


def test_a_heading_is_loaded_and_kept_by_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmq.bank import cache

    monkeypatch.setenv("LLMQ_HOME", str(tmp_path / "home"))
    root = write_bank(tmp_path / "bank", _bank(WITH_FILE, f'    source_heading: "{HEADING}"\n'))
    fresh = load_bank(roots=[root])
    assert fresh.questions["demo.card"].source_heading == HEADING
    assert fresh.questions["demo.pick"].source_heading == ""  # optional
    cached = cache.read(cache.cache_key([root]), [root])
    assert cached is not None and cached.questions["demo.card"].source_heading == HEADING


@pytest.mark.parametrize(
    ("source", "heading", "expected"),
    [
        ("source: wzzzd", f'"{HEADING}"', "names a heading, but source 'wzzzd' names no note file"),
        (WITH_FILE, '"' + "长" * 121 + '"', "must be the heading's text on one line"),
        (WITH_FILE, '"第一行\\n第二行"', "must be the heading's text on one line"),
        (WITH_FILE, '"#### LoRA"', "without the leading #"),
        (WITH_FILE, "[LoRA]", "source_heading: must be text"),
    ],
)
def test_a_wrong_heading_is_an_error_at_its_line(tmp_path: Path, source: str, heading: str, expected: str) -> None:
    text = _bank(source, f"    source_heading: {heading}\n")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "source_heading:" in t)
    problems = _problems(tmp_path, text)
    assert expected in problems and f"demo.yaml:{line}: source_heading" in problems


def test_a_heading_is_no_translated_field_so_from_en_does_not_change() -> None:
    entry = {"kind": "flashcard", "title": "t", "prompt": "p", "answer": "a"}
    assert source_hash(entry) == source_hash({**entry, "source_heading": HEADING})


def test_the_bundled_headings_are_short_titles_of_the_awesome_llm_learning_notes() -> None:
    from llmq.bank.paths import bundled_root

    bank = load_bank(roots=[bundled_root()])
    headed = [q for q in bank.questions.values() if q.source_heading]
    assert len(headed) >= 50
    for q in headed:
        assert q.source.startswith("awesome-llm-learning:"), q.id
        assert "\n" not in q.source_heading and len(q.source_heading) <= 120, q.id
