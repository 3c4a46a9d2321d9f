"""The validated-bank cache: a second start skips validation, and no edit is ever hidden by it."""
from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import BankError, cache, load_bank, validate
from tests.bank.sample_bank import TOPIC_YAML, write_bank


def test_an_unchanged_bank_comes_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_bank(tmp_path)
    first = load_bank(roots=[root])

    def must_not_validate(roots):  # the second load may not parse anything
        raise AssertionError("validated again although nothing changed")

    monkeypatch.setattr(validate, "load_and_validate", must_not_validate)
    again = load_bank(roots=[root])
    assert again.questions.keys() == first.questions.keys()
    assert again.questions["demo.card"].answer == "It is $x$."


def test_an_edit_is_seen_at_once(tmp_path: Path) -> None:
    root = write_bank(tmp_path)
    load_bank(roots=[root])
    write_bank(root, TOPIC_YAML.replace("It is $x$.", "It is $y$, and longer."))
    assert load_bank(roots=[root]).questions["demo.card"].answer == "It is $y$, and longer."


def test_a_broken_edit_is_reported_even_with_a_cache(tmp_path: Path) -> None:
    root = write_bank(tmp_path)
    load_bank(roots=[root])
    write_bank(root, TOPIC_YAML.replace("kind: flashcard", "kind: essay"))
    with pytest.raises(BankError):
        load_bank(roots=[root])


def test_a_changed_answer_module_invalidates_the_cache(tmp_path: Path) -> None:
    root = write_bank(tmp_path)
    load_bank(roots=[root])
    (root / "answers" / "demo" / "math.py").write_text("def answer(n):\n    return 2 / (n - 1)\n")
    with pytest.raises(BankError, match="answer\\(\\) fails for"):
        load_bank(roots=[root])


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    root = write_bank(tmp_path)
    load_bank(roots=[root])
    for f in (cache._cache_dir()).glob("bank-*.pickle"):
        f.write_bytes(b"not a pickle")
    assert "demo.card" in load_bank(roots=[root]).questions
