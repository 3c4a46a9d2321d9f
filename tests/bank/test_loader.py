"""The loader: good banks become records; broken ones fail with every problem, each at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import BankError, Choice, CodeExercise, Flashcard, Numeric, load_bank
from tests.bank.sample_bank import TOPIC_YAML, write_bank


def load(root: Path):
    return load_bank(roots=[root])


def problems(root: Path) -> list[str]:
    with pytest.raises(BankError) as info:
        load(root)
    return [str(i) for i in info.value.issues]


def test_valid_bank_becomes_typed_records(tmp_path: Path) -> None:
    bank = load(write_bank(tmp_path))
    card, pick, math_q, code = (bank.questions[i] for i in ("demo.card", "demo.pick", "demo.math", "demo.code"))
    assert isinstance(card, Flashcard) and card.answer == "It is $x$."
    assert isinstance(pick, Choice) and pick.correct == frozenset({1}) and pick.options == ("a", "b", "c")
    assert isinstance(math_q, Numeric) and math_q.params[0].integer and math_q.unit == "GB"
    assert isinstance(code, CodeExercise) and code.function == "double"
    assert code.answer_path == tmp_path / "answers" / "demo" / "code.py"
    assert card.where.line == 4 and card.topic == "demo" and card.track == "cpu"
    assert list(bank.topics) == ["demo"]


def test_unknown_field_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("    answer: It is $x$.", "    answr: It is $x$."))
    found = problems(tmp_path)
    assert any("demo.yaml:12: answr: unknown field" in p and "did you mean 'answer'" in p for p in found), found
    assert any("answer: missing" in p for p in found), found


def test_wrong_types_are_named(tmp_path: Path) -> None:
    broken = TOPIC_YAML.replace("correct: [1]", "correct: [7]").replace("difficulty: hard", "difficulty: 3")
    write_bank(tmp_path, broken)
    found = "\n".join(problems(tmp_path))
    assert "demo.yaml:21: correct: index 7 is not an option" in found
    assert "difficulty: must be one of easy, medium, hard, not 3" in found


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write_bank(tmp_path)
    (tmp_path / "questions" / "other.yaml").write_text(
        "topic: other\nquestions:\n" + TOPIC_YAML.split("questions:\n", 1)[1].split("  - id: demo.pick")[0]
    )
    found = problems(tmp_path)
    assert any("other.yaml:3: id: 'demo.card' is already used at" in p and "demo.yaml:4" in p for p in found), found


def test_missing_answer_modules_and_bad_stub(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("def double(x):", "def triple(x):"))
    (tmp_path / "answers" / "demo" / "math.py").unlink()
    found = "\n".join(problems(tmp_path))
    assert "id: no answer module: expected" in found and "math.py" in found
    assert "stub: does not define double()" in found


def test_numeric_answer_that_fails_on_its_own_range(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("n: {min: 1, max: 10, integer: true}", "n: {min: 0, max: 10, integer: true}"))
    (tmp_path / "answers" / "demo" / "math.py").write_text("def answer(n):\n    return 2 / n\n")
    found = "\n".join(problems(tmp_path))
    assert "params: answer() fails for {'n': 0}: ZeroDivisionError" in found


def test_numeric_template_with_unknown_placeholder(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("2 x {{n}} = {{answer}}", "2 x {{m}} = {{answer}}"))
    assert any("solution: uses {{m}}" in p for p in problems(tmp_path))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("    title: A choice", "    title: [A choice"))
    found = problems(tmp_path)
    assert len(found) == 1 and "demo.yaml:" in found[0] and "is not valid YAML" in found[0]


def test_errors_of_every_file_are_reported_and_nothing_is_half_loaded(tmp_path: Path) -> None:
    write_bank(tmp_path)
    (tmp_path / "questions" / "a_bad.yaml").write_text("topic: a\nquestions:\n  - id: a.x\n    kind: essay\n")
    (tmp_path / "questions" / "z_bad.yaml").write_text("topic: z\nquestions: [\n")
    found = problems(tmp_path)
    assert any(p.startswith(str(tmp_path / "questions" / "a_bad.yaml") + ":4: kind") for p in found), found
    assert any("z_bad.yaml" in p for p in found), found


def test_bank_error_lists_every_problem_in_its_message(tmp_path: Path) -> None:
    write_bank(tmp_path, TOPIC_YAML.replace("source: wzzzd", "source: wikipedia").replace('refs: ["A paper"]', "refs: []", 1))
    with pytest.raises(BankError) as info:
        load(tmp_path)
    message = str(info.value)
    assert message.startswith("the question bank has 2 problems:")
    assert "source: 'wikipedia' names no note" in message and "refs: needs at least 1 entry" in message


def test_a_bank_inside_the_data_folder_may_hold_cards_only(_private_home: Path) -> None:
    """Nothing under LLMQ_HOME runs code: a numeric or code question there would run its answer
    module, so it is refused before any module is loaded (a deck of cards loads as usual)."""
    root = write_bank(_private_home / "decks" / "mine")
    marker = _private_home / "ran"
    (root / "answers" / "demo" / "math.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef answer(n):\n    return n\n")
    found = problems(root)
    assert sum("may hold cards only" in p for p in found) == 2, found
    assert any("demo.yaml:24: kind:" in p for p in found), found
    assert not marker.exists()
    cards = TOPIC_YAML.split("  - id: demo.math")[0]
    write_bank(root, cards)
    assert set(load(root).questions) == {"demo.card", "demo.pick"}


def test_a_fifo_a_directory_or_bad_bytes_in_a_bank_are_errors_not_hangs(tmp_path: Path) -> None:
    import os

    write_bank(tmp_path)
    os.mkfifo(tmp_path / "questions" / "pipe.yaml")  # read naively, this waits forever
    (tmp_path / "questions" / "folder.yaml").mkdir()
    (tmp_path / "answers" / "demo" / "code.py").write_bytes(b"def reference(x):\n    return '\xff'\n")
    found = "\n".join(problems(tmp_path))
    assert f"{tmp_path / 'questions' / 'pipe.yaml'}: cannot be read: it is not a regular file" in found
    assert f"{tmp_path / 'questions' / 'folder.yaml'}: cannot be read: it is not a regular file" in found
    assert "code.py cannot be read: it is not UTF-8 text" in found


# --- choice rationales (issue 13, point 11) ------------------------------------------------------

WITH_RATIONALES = TOPIC_YAML.replace(
    "    explanation: b is right.\n",
    "    explanation: b is right.\n"
    '    rationales: ["a is the first letter, not the answer.", "b is right: $x$ says so.", "c comes too late."]\n',
)


def test_rationales_load_one_per_option_and_come_back_from_the_cache(tmp_path: Path) -> None:
    root = write_bank(tmp_path, WITH_RATIONALES)
    first = load(root).questions["demo.pick"]
    assert isinstance(first, Choice)
    assert first.rationales == ("a is the first letter, not the answer.", "b is right: $x$ says so.", "c comes too late.")
    from llmq.bank import cache

    again = cache.read(cache.cache_key([root]), [root])  # the second start reads the cache
    assert again is not None and again.questions["demo.pick"] == first


def test_a_choice_without_rationales_still_loads(tmp_path: Path) -> None:
    pick = load(write_bank(tmp_path)).questions["demo.pick"]
    assert isinstance(pick, Choice) and pick.rationales == ()


def test_rationales_of_another_length_than_options_are_an_error_at_their_line(tmp_path: Path) -> None:
    write_bank(tmp_path, WITH_RATIONALES.replace('"c comes too late."', "").replace(", ]", "]"))
    found = problems(tmp_path)
    assert any("demo.yaml:23: rationales: has 2 entries, options has 3" in p for p in found), found


def test_an_empty_rationale_is_an_error(tmp_path: Path) -> None:
    write_bank(tmp_path, WITH_RATIONALES.replace('"c comes too late."', '""'))
    found = problems(tmp_path)
    assert any("demo.yaml:23: rationales: must be a list of non-empty texts" in p for p in found), found


def _bundled_choices() -> list[Choice]:
    return [q for q in load_bank().questions.values() if isinstance(q, Choice)]


def test_every_bundled_choice_card_has_a_rationale_per_option() -> None:
    """Every bundled choice card explains each option (the bank was converted in issue 13)."""
    choices = _bundled_choices()
    missing = [f"{q.where}: {q.id}" for q in choices if len(q.rationales) != len(q.options)]
    assert len(choices) >= 66 and missing == [], missing
