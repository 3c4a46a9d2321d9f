"""`key_points:` on flashcards (issue 16 point 3): two to four short points the answer must hold,
shown beside the answer so a self-grade means the same each time. A translated field: the Chinese
carries as many points, and adding key_points changes the card's from_en (only where it is given)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import BankError, Flashcard, load_bank
from llmq.bank.i18n import source_hash
from llmq.bank.paths import bundled_root
from llmq.bank.validate import translation_warnings
from tests.bank.sample_bank import TOPIC_YAML, write_bank

ANSWER = "    answer: It is $x$.\n"
POINTS = '    key_points: ["names $x$", "says why it is $x$"]\n'


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(BankError) as err:
        load_bank(roots=[write_bank(tmp_path, text)], use_cache=False)
    return str(err.value)


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_key_points_load_and_come_back_from_the_cache(tmp_path: Path) -> None:
    from llmq.bank import cache

    root = write_bank(tmp_path, TOPIC_YAML.replace(ANSWER, ANSWER + POINTS))
    card = load_bank(roots=[root]).questions["demo.card"]
    assert isinstance(card, Flashcard) and card.key_points == ("names $x$", "says why it is $x$")
    again = cache.read(cache.cache_key([root]), [root])
    assert again is not None and again.questions["demo.card"] == card


def test_a_card_without_key_points_loads_with_none(tmp_path: Path) -> None:
    card = load_bank(roots=[write_bank(tmp_path)], use_cache=False).questions["demo.card"]
    assert isinstance(card, Flashcard) and card.key_points == ()


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ('["only one"]', "needs 2 to 4 points the answer must contain, has 1"),
        ('["a", "b", "c", "d", "e"]', "needs 2 to 4 points the answer must contain, has 5"),
        ('["same", "same"]', "names 'same' twice"),
        ('["a", ""]', "must be a list of non-empty texts"),
        ('["a", "' + "long " * 40 + '"]', "is not a short point: one line of at most 160 characters"),
    ],
)
def test_wrong_key_points_are_an_error_at_their_line(tmp_path: Path, points: str, expected: str) -> None:
    text = TOPIC_YAML.replace(ANSWER, ANSWER + f"    key_points: {points}\n")
    problems = _problems(tmp_path, text)
    assert f"demo.yaml:{_line(text, 'key_points:')}: key_points:" in problems and expected in problems, problems


def test_the_chinese_carries_as_many_key_points(tmp_path: Path) -> None:
    entry = {"kind": "flashcard", "title": "A card", "prompt": "What is $x$?", "answer": "It is $x$."}
    entry["key_points"] = ["names $x$", "says why it is $x$"]
    block = f'    i18n:\n      zh:\n        from_en: "{source_hash(entry)}"\n        key_points: ["说出 $x$"]\n'
    text = TOPIC_YAML.replace(ANSWER, ANSWER + POINTS + block)
    problems = _problems(tmp_path, text)
    assert f"demo.yaml:{_line(text, '说出')}: i18n.zh.key_points: has 1 entries, the English key_points has 2" in problems


def test_a_translated_card_shows_its_chinese_key_points(tmp_path: Path) -> None:
    entry = {"kind": "flashcard", "title": "A card", "prompt": "What is $x$?", "answer": "It is $x$."}
    entry["key_points"] = ["names $x$", "says why it is $x$"]
    block = (
        f'    i18n:\n      zh:\n        from_en: "{source_hash(entry)}"\n        key_points: ["说出 $x$", "说明为什么是 $x$"]\n'
    )
    root = write_bank(tmp_path, TOPIC_YAML.replace(ANSWER, ANSWER + POINTS + block))
    card = load_bank(roots=[root], use_cache=False).questions["demo.card"]
    assert card.localized("zh").key_points == ("说出 $x$", "说明为什么是 $x$")  # type: ignore[attr-defined]
    assert card.localized("en").key_points == card.key_points  # type: ignore[attr-defined]
    assert translation_warnings([root]) == []  # from_en counts the key points: not stale


def test_key_points_change_from_en_only_where_a_card_has_them() -> None:
    """Adding the field to the translatable ones left every existing translation current."""
    entry = {"kind": "flashcard", "title": "t", "prompt": "p", "answer": "a"}
    assert source_hash(entry) == "ef378c0004"  # the hash of ["t", "p", "a"], as before key_points existed
    assert source_hash({**entry, "key_points": ["one", "two"]}) != source_hash(entry)
    assert source_hash({**entry, "key_points": ["one", "two"]}) != source_hash({**entry, "key_points": ["one", "three"]})


def test_stale_when_the_english_key_points_change(tmp_path: Path) -> None:
    entry = {"kind": "flashcard", "title": "A card", "prompt": "What is $x$?", "answer": "It is $x$."}
    block = f'    i18n:\n      zh:\n        from_en: "{source_hash(entry)}"\n        answer: 是 $x$。\n'
    root = write_bank(tmp_path, TOPIC_YAML.replace(ANSWER, ANSWER + POINTS + block))
    stale = [str(w) for w in translation_warnings([root]) if w.field == "i18n.zh.from_en"]
    assert len(stale) == 1 and "demo.card: stale" in stale[0]


def test_bundled_key_points_are_translated_point_for_point() -> None:
    bank = load_bank(roots=[bundled_root()])
    pointed = [q for q in bank.questions.values() if isinstance(q, Flashcard) and q.key_points]
    assert len(pointed) >= 40
    for q in pointed:
        if "zh" in q.i18n:
            assert len(q.i18n["zh"].get("key_points", ())) == len(q.key_points), q.id
