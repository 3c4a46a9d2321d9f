"""Numeric answer modules run in a child process with a time limit: a module that loops, exits or
prints never hangs or breaks llmq, and the error names the file."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from llmq.bank import BankError, Numeric, load_bank, numeric_runner
from llmq.bank.numeric import NumericAnswerError, instantiate
from llmq.bank.numeric_runner import NumericRunner
from tests.bank.sample_bank import write_bank

LOOP = "while True:\n    pass\n"


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> NumericRunner:
    """llmq's shared runner, with a 1 s limit so that the tests of endless loops stay short."""
    runner = NumericRunner(load_limit_s=1.0, call_limit_s=1.0)
    monkeypatch.setattr(numeric_runner, "_runner", runner)
    yield runner
    runner.close()


def _module(tmp_path: Path, text: str, name: str = "m.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie is gone too (its parent, the runner's child, was killed and reaped)
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] == "Z"


def test_answers_and_steps_come_back_from_the_child(tmp_path: Path, quick: NumericRunner) -> None:
    path = _module(
        tmp_path,
        "print('noise on stdout')\ndef answer(n):\n    return 2 * n\ndef steps(n):\n    return {'half': n / 2, 'name': 'x'}\n",
    )
    assert quick.evaluate(path, [{"n": 3}, {"n": 5}]) == [(6.0, {"half": 1.5, "name": "x"}), (10.0, {"half": 2.5, "name": "x"})]


def test_a_module_that_loops_at_import_is_stopped_and_named(tmp_path: Path, quick: NumericRunner) -> None:
    path = _module(tmp_path, LOOP)
    with pytest.raises(NumericAnswerError) as info:
        quick.evaluate(path, [{}])
    assert str(path) in str(info.value) and "did not finish loading within 1 s" in str(info.value)
    assert info.value.stage == "timeout"
    good = _module(tmp_path, "def answer():\n    return 1\n", "good.py")
    assert quick.evaluate(good, [{}]) == [(1.0, {})]  # the next module is served by a fresh child


def test_an_answer_that_never_returns_is_stopped_with_its_child_and_grandchild(tmp_path: Path, quick: NumericRunner) -> None:
    pids = tmp_path / "pids"
    path = _module(
        tmp_path,
        "import os\n"
        "def answer(n):\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "        while True: pass\n"
        f"    open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "    while True: pass\n",
    )
    with pytest.raises(NumericAnswerError, match=r"answer\(\) did not return within 1 s") as info:
        quick.evaluate(path, [{"n": 1}])
    assert str(path) in str(info.value)
    found = [int(line) for line in pids.read_text().split()]
    assert len(found) == 2
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in found) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in found)  # nothing of the module is left running


def test_a_module_that_exits_or_raises_is_an_error_naming_it(tmp_path: Path, quick: NumericRunner) -> None:
    exits = _module(tmp_path, "import os\nos._exit(3)\n", "exits.py")
    with pytest.raises(NumericAnswerError, match="stopped without an answer") as info:
        quick.evaluate(exits, [{}])
    assert str(exits) in str(info.value)
    raises = _module(tmp_path, "raise RuntimeError('broken on purpose')\n", "raises.py")
    with pytest.raises(NumericAnswerError, match="fails to load: RuntimeError: broken on purpose"):
        quick.evaluate(raises, [{}])
    bye = _module(tmp_path, "import sys\nsys.exit(0)\n", "bye.py")
    with pytest.raises(NumericAnswerError, match="fails to load: SystemExit"):
        quick.evaluate(bye, [{}])


def test_loading_a_bank_whose_numeric_module_loops_reports_the_file(tmp_path: Path, quick: NumericRunner) -> None:
    root = write_bank(tmp_path)
    module = root / "answers" / "demo" / "math.py"
    module.write_text(LOOP)
    with pytest.raises(BankError) as info:
        load_bank(roots=[root])
    (issue,) = info.value.issues
    assert str(module) in str(issue) and "did not finish loading" in str(issue)
    assert issue.file == root / "questions" / "demo.yaml"


def test_a_card_whose_module_starts_looping_after_it_was_cached_is_an_error_not_a_hang(
    tmp_path: Path, quick: NumericRunner
) -> None:
    root = write_bank(tmp_path)
    question = load_bank(roots=[root]).questions["demo.math"]
    assert isinstance(question, Numeric)
    assert instantiate(question, random.Random(1)).answer in {2.0 * n for n in range(1, 11)}
    (root / "answers" / "demo" / "math.py").write_text("def answer(n):\n" + "    while True:\n        pass\n")
    with pytest.raises(NumericAnswerError, match="did not return within"):
        instantiate(question, random.Random(1))
