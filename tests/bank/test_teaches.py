"""`@check(..., teaches=[card ids])` (issue 17 point 2), the bank's half: the ids are read from the
answer modules' source (no torch, nothing run) and must name cards of the loaded banks; a wrong one
is a bank error at the answer module's file:line naming the check and the id. The bundled bank's
every `teaches=` names a card (fast: ast only, no judge)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from llmq.bank import BankError, load_bank
from llmq.bank.paths import bundled_root
from llmq.bank.teaches import CARD_KINDS, module_teaches, read_teaches
from tests.bank.sample_bank import write_bank


def _code_module(teaches: str) -> str:
    return (
        "from llmq.judge.kit import check\n"
        "\n"
        "\n"
        "def reference(x):\n"
        "    return 2 * x\n"
        "\n"
        "\n"
        f'@check("doubles", teaches={teaches})\n'
        "def doubles(ctx):\n"
        "    pass\n"
    )


def _problems(tmp_path: Path, teaches: str) -> str:
    root = write_bank(tmp_path)
    (root / "answers" / "demo" / "code.py").write_text(_code_module(teaches))
    with pytest.raises(BankError) as err:
        load_bank(roots=[root], use_cache=False)
    return str(err.value)


def test_teaches_naming_cards_loads(tmp_path: Path) -> None:
    root = write_bank(tmp_path)
    module = root / "answers" / "demo" / "code.py"
    module.write_text(_code_module('["demo.card", "demo.pick", "demo.math"]'))
    load_bank(roots=[root], use_cache=False)  # no error: a flashcard, a choice, a numeric
    [found] = module_teaches(module)
    assert (found.line, found.check, found.ids) == (8, "doubles", ("demo.card", "demo.pick", "demo.math"))


@pytest.mark.parametrize(
    ("teaches", "expected"),
    [
        ('["demo.card", "demo.nothing"]', "check doubles: teaches 'demo.nothing', which is no question of the bank"),
        ('["demo.crad"]', "(did you mean 'demo.card'?)"),
        ('["demo.code"]', "check doubles: teaches 'demo.code', a code exercise; name a card"),
        ("[]", "check doubles: teaches= is empty"),
        ('["demo.card", "demo.card"]', "check doubles: teaches= names a card twice"),
        ("IDS", "check doubles: teaches= must be a list of card ids written as strings"),
        ('["demo." + "card"]', "check doubles: teaches= must be a list of card ids written as strings"),
    ],
)
def test_a_wrong_teaches_is_a_bank_error_at_the_answer_module(tmp_path: Path, teaches: str, expected: str) -> None:
    problems = _problems(tmp_path, teaches)
    assert f"{tmp_path / 'answers' / 'demo' / 'code.py'}:8: teaches: " in problems, problems
    assert expected in problems, problems


def test_every_teaches_is_read_whatever_the_decorator_is_called() -> None:
    """An alias of `check` cannot hide an id from validation: every `teaches=` keyword counts."""
    tree = ast.parse('from llmq.judge.kit import check as c\n\n@c("t", teaches=["a.b"])\ndef t(ctx):\n    pass\n')
    found, problems = read_teaches(tree)
    assert [(t.check, t.ids) for t in found] == [("t", ("a.b",))] and problems == []


def test_every_teaches_of_the_bundled_bank_names_a_card() -> None:
    """What `llmq verify` and the app's start also prove (the bank loads); here without the judge,
    so an annotator sees every wrong id at once, by answer module and check."""
    bank = load_bank(roots=[bundled_root()])
    wrong = []
    for path in sorted((bundled_root() / "answers").rglob("*.py")):
        for teaching in module_teaches(path):
            for card_id in teaching.ids:
                q = bank.questions.get(card_id)
                if q is None or q.kind not in CARD_KINDS:
                    wrong.append(f"{path}:{teaching.line} check {teaching.check}: {card_id}")
    assert wrong == [], "\n".join(wrong)
