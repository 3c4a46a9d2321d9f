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


def _cache_file(roots: list[Path]) -> Path:
    """Where the cache for these banks lives (whatever its format)."""
    return cache._cache_dir() / cache._file_name(cache.cache_key(roots))


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(tmp_path: Path) -> None:
    root = write_bank(tmp_path / "bank")
    load_bank(roots=[root])
    target = _cache_file([root])
    good = target.read_bytes()
    for damaged in (b"not json", good[: len(good) // 2], b"[]", b'{"format": 2}', good.replace(b"demo.card", b"demo/card")):
        target.write_bytes(damaged)
        assert load_bank(roots=[root]).questions["demo.card"].answer == "It is $x$."
        assert target.read_bytes() == good  # validated again and written back whole


def test_a_planted_pickle_runs_no_code(tmp_path: Path) -> None:
    """Something that wrote into LLMQ_HOME (a submission that got out) cannot get code run by llmq."""
    import pickle

    root = write_bank(tmp_path / "bank")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # what unpickling would call: here, create the marker file
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    planted = pickle.dumps((cache.cache_key([root]), Payload()))
    folder = cache._cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name in (_cache_file([root]).name, _cache_file([root]).with_suffix(".pickle").name):
        (folder / name).write_bytes(planted)
    bank = load_bank(roots=[root])
    assert not marker.exists()
    assert "demo.card" in bank.questions


def test_a_forged_cache_cannot_choose_which_code_runs(tmp_path: Path) -> None:
    """A hand-edited cache that passes for valid JSON may change texts, never paths: answer modules
    are found from the bank root and the id, and a question file must be in the root's questions/."""
    import json

    root = write_bank(tmp_path / "bank")
    evil = tmp_path / "evil.py"
    evil.write_text("def answer(n):\n    return 666\n")
    load_bank(roots=[root])
    target = _cache_file([root])
    data = json.loads(target.read_bytes())
    for row in data["bank"]["questions"]:
        row[10] = "../../evil.yaml"  # where the question was written: outside questions/
    target.write_text(json.dumps(data))
    bank = load_bank(roots=[root])  # refused, validated again
    assert bank.questions["demo.math"].answer_path == root / "answers" / "demo" / "math.py"
    assert bank.questions["demo.card"].where.file == root / "questions" / "demo.yaml"

    data = json.loads(target.read_bytes())
    for row in data["bank"]["questions"]:
        if row[1] == "demo.math":
            row[1] = "demo.math/../../../evil"  # an id that would climb out of answers/
    target.write_text(json.dumps(data))
    bank = load_bank(roots=[root])
    assert set(bank.questions) == {"demo.card", "demo.pick", "demo.math", "demo.code"}
    assert all(str(q.answer_path).startswith(str(root / "answers")) for q in bank.questions.values() if hasattr(q, "answer_path"))


def test_a_fifo_in_place_of_the_cache_does_not_block(tmp_path: Path) -> None:
    import os

    root = write_bank(tmp_path / "bank")
    target = _cache_file([root])
    target.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(target)
    code = "from pathlib import Path\nfrom llmq.bank import load_bank\n"
    code += f"print(len(load_bank(roots=[Path({str(root)!r})]).questions))"
    result = run_llmq_python(code)
    assert result.returncode == 0 and result.stdout.strip() == "4", result.stderr


def run_llmq_python(code: str):
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        cwd=Path(__file__).resolve().parents[2],
    )


def test_an_edit_of_llmqs_own_bank_code_invalidates_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key covers llmq/bank's files: an upgrade or an edit of the loader is seen at once."""
    import shutil

    code = tmp_path / "llmq_bank"  # a stand-in for llmq/bank: the real one is not ours to edit in a test
    shutil.copytree(Path(cache.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_BANK_CODE", code)
    root = write_bank(tmp_path / "bank")
    load_bank(roots=[root])
    calls: list[int] = []
    real = validate.load_and_validate
    monkeypatch.setattr(validate, "load_and_validate", lambda roots: calls.append(1) or real(roots))
    load_bank(roots=[root])
    assert calls == []  # unchanged: from the cache
    (code / "validate.py").write_text((code / "validate.py").read_text() + "\n# edited\n")
    load_bank(roots=[root])
    assert calls == [1]  # the loader changed: validated again
    monkeypatch.setattr(cache, "__version__", "99.0")
    load_bank(roots=[root])
    assert calls == [1, 1]  # a new llmq: validated again


def test_the_bundled_bank_is_cached_and_reads_back_equal() -> None:
    """The cache carries every field of every record kind (else it would silently never be used)."""
    import json

    first = load_bank()
    assert cache.decode(json.loads(json.dumps(cache.encode(first))), first.roots) == first
    assert _cache_file(list(first.roots)).is_file()
