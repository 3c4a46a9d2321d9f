"""`followups:` on code exercises (issue 16 point 4): the cards an interviewer asks after the code.
They load and survive the cache; a wrong list is an error at the field's file:line; every bundled
exercise names two to four real cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import BankError, CodeExercise, load_bank
from llmq.bank.paths import bundled_root
from tests.bank.sample_bank import TOPIC_YAML, write_bank

CODE_ENTRY = "  - id: demo.code\n    kind: code\n"


def _with_followups(value: str) -> str:
    return TOPIC_YAML.replace(CODE_ENTRY, CODE_ENTRY + f"    followups: {value}\n")


def _line_of_followups(text: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if "followups:" in line)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(BankError) as err:
        load_bank(roots=[write_bank(tmp_path, text)], use_cache=False)
    return str(err.value)


def test_followups_load_in_order_and_come_back_from_the_cache(tmp_path: Path) -> None:
    from llmq.bank import cache

    root = write_bank(tmp_path, _with_followups("[demo.pick, demo.card, demo.math]"))
    code = load_bank(roots=[root]).questions["demo.code"]
    assert isinstance(code, CodeExercise) and code.followups == ("demo.pick", "demo.card", "demo.math")
    again = cache.read(cache.cache_key([root]), [root])
    assert again is not None and again.questions["demo.code"] == code


def test_followups_are_optional_outside_the_bundled_bank(tmp_path: Path) -> None:
    code = load_bank(roots=[write_bank(tmp_path)], use_cache=False).questions["demo.code"]
    assert isinstance(code, CodeExercise) and code.followups == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[demo.card, demo.nothing]", "demo.code: 'demo.nothing' is no question of the bank"),
        ("[demo.card, demo.pik]", "(did you mean 'demo.pick'?)"),
        ("[demo.card, demo.code]", "names the exercise itself (demo.code)"),
        ("[demo.card]", "needs 2 to 4 card ids an interviewer asks next, has 1"),
        ("[demo.card, demo.pick, demo.math, demo.card, demo.pick]", "needs 2 to 4"),
        ("[demo.card, demo.card]", "names 'demo.card' twice"),
        ("[demo.card, Demo Card]", "'Demo Card': a card id is dotted lowercase words"),
        ("demo.card", "followups: must be a list of non-empty texts"),
    ],
)
def test_a_wrong_followups_list_is_an_error_at_its_line(tmp_path: Path, value: str, expected: str) -> None:
    text = _with_followups(value)
    problems = _problems(tmp_path, text)
    assert f"demo.yaml:{_line_of_followups(text)}: followups:" in problems, problems
    assert expected in problems, problems


def test_a_followup_may_not_be_a_code_exercise(tmp_path: Path) -> None:
    second = TOPIC_YAML.split("  - id: demo.code\n", 1)[1].replace("double", "halve")
    text = _with_followups("[demo.card, demo.code2]") + "  - id: demo.code2\n" + second
    (tmp_path / "answers" / "demo").mkdir(parents=True)
    (tmp_path / "answers" / "demo" / "code2.py").write_text("def reference(x):\n    return x / 2\n")
    problems = _problems(tmp_path, text)
    assert f"demo.yaml:{_line_of_followups(text)}: followups: demo.code: 'demo.code2' is a code exercise" in problems, problems


def test_a_followup_may_name_a_card_of_another_loaded_bank(tmp_path: Path) -> None:
    """A bank of one's own may send its exercise's follow-ups to the bundled cards."""
    root = write_bank(tmp_path, _with_followups("[demo.card, attention.why_sqrt_dk]"))
    bank = load_bank(roots=[bundled_root(), root], use_cache=False)
    code = bank.questions["demo.code"]
    assert isinstance(code, CodeExercise) and code.followups == ("demo.card", "attention.why_sqrt_dk")


def test_every_bundled_code_exercise_names_two_to_four_cards_it_leads_to() -> None:
    """The bundled bank's rule (a bank of one's own may leave them out): every exercise has
    followups, and they are cards (the loader already proved they exist and are not code).
    A new exercise fails here until it has them: see /tmp/team/canon.md, "followups"."""
    bank = load_bank(roots=[bundled_root()])
    exercises = bank.code_exercises()
    missing = [f"{q.where}: {q.id}" for q in exercises if not 2 <= len(q.followups) <= 4]
    assert len(exercises) >= 54 and missing == [], "code exercises without followups:\n" + "\n".join(missing)
    for q in exercises:
        kinds = {bank.questions[i].kind for i in q.followups}
        assert "code" not in kinds, q.id


# --- llmq check: the follow-ups after a pass ----------------------------------------------------

RMS_NORM_OK = """\
import torch


def rms_norm(x, weight, eps=1e-6):
    xf = x.double() if x.dtype == torch.float64 else x.float()
    out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (out * weight.to(out.dtype)).to(x.dtype)
"""


def test_check_names_the_followups_after_a_pass_in_the_chosen_language(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_llmq

    solution = tmp_path / "rms.py"
    solution.write_text(RMS_NORM_OK)
    bank = load_bank(roots=[bundled_root()])
    exercise = bank.questions["norm.rms_norm"]
    assert isinstance(exercise, CodeExercise)
    titles = [bank.questions[i].title for i in exercise.followups]
    zh_titles = [bank.questions[i].text("title", "zh") for i in exercise.followups]

    done = run_llmq("check", "norm.rms_norm", str(solution), "--lang", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    tail = done.stdout.split("An interviewer may ask next (llmq show ID):\n", 1)[1].splitlines()
    assert tail == [f"  {t}  ({i})" for t, i in zip(titles, exercise.followups, strict=True)]

    done = run_llmq("check", "norm.rms_norm", str(solution), "--lang", "zh")
    assert all(f"  {t}  ({i})" in done.stdout for t, i in zip(zh_titles, exercise.followups, strict=True)), done.stdout

    done = run_llmq("check", "norm.rms_norm", str(solution), "--json")
    assert json.loads(done.stdout)["status"] == "pass"  # JSON stays one object, nothing after it

    solution.write_text(RMS_NORM_OK.replace("+ eps)", ") + eps"))  # eps outside the root: fails
    done = run_llmq("check", "norm.rms_norm", str(solution), "--lang", "en")
    assert done.returncode == 1 and "An interviewer may ask next" not in done.stdout
