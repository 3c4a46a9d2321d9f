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


# --- the command line: `llmq check` names the cards, `llmq verify` reports a wrong id ------------

TEACHING_MODULE = """\
from llmq.judge.kit import check


def reference(x):
    return 2 * x


@check("doubles a number", zh="把数翻倍", teaches=["demo.card"])
def doubles(ctx):
    ctx.assert_equal(ctx.call(3), 6)
"""


def test_check_names_the_taught_card_in_text_and_json_and_keeps_no_progress(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_llmq

    root = write_bank(tmp_path / "mine")
    (root / "answers" / "demo" / "code.py").write_text(TEACHING_MODULE)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def double(x):\n    return 3 * x\n")
    home = tmp_path / "home"
    env = {"LLMQ_HOME": str(home)}
    bank = ["--bank", str(root)]

    done = run_llmq("check", "demo.code", str(wrong), "--lang", "en", *bank, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "        review: A card (demo.card)" in done.stdout.splitlines(), done.stdout

    done = run_llmq("check", "demo.code", str(wrong), "--json", *bank, env=env)
    failed = [c for c in json.loads(done.stdout)["checks"] if c["status"] == "fail"]
    assert [(c["name"], c["teaches"]) for c in failed] == [("doubles a number", ["demo.card"])]

    done = run_llmq("check", "demo.code", str(wrong), "--lang", "zh", *bank, env=env)
    assert "复习：A card (demo.card)" in done.stdout, done.stdout  # the card has no Chinese title: English
    assert not (home / "progress.db").exists()  # `llmq check` names the card; it keeps no progress

    wrong.write_text("def double(x):\n    return 2 * x\n")
    done = run_llmq("check", "demo.code", str(wrong), "--lang", "en", *bank, env=env)
    assert done.returncode == 0 and "review:" not in done.stdout, done.stdout


def test_verify_reports_a_wrong_teaches_as_a_bank_error_naming_where(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_llmq

    root = write_bank(tmp_path / "mine")
    module = root / "answers" / "demo" / "code.py"
    module.write_text(TEACHING_MODULE.replace('teaches=["demo.card"]', 'teaches=["demo.crad"]'))
    done = run_llmq("verify", "--json", "--bank", str(root), env={"LLMQ_HOME": str(tmp_path / "home")})
    assert done.returncode == 1
    errors = json.loads(done.stdout)["bank_errors"]
    assert any(e.startswith(f"{module}:8: teaches: check doubles: teaches 'demo.crad', which is no question") for e in errors), (
        errors
    )
