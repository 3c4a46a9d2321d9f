"""Every code submission is kept; the latest one for an exercise comes back into the editor."""

from __future__ import annotations

from llmq.store import CodeStatus, Store


def test_every_submission_is_kept_and_the_latest_comes_back() -> None:
    store = Store.open()
    assert store.latest_submission("attention.gqa") is None
    verdicts = [
        {"status": "fail", "checks": [{"name": "shape", "status": "fail", "message": "(2, 3) != (2, 4)"}]},
        {"status": "pass", "checks": []},
    ]
    store.add_submission("attention.gqa", "def f(): pass\n", verdicts[0], at_ms=1000)
    store.add_submission("attention.sdpa", "other", {"status": "pass"}, at_ms=1500)
    store.add_submission("attention.gqa", "def f(): return 1\n", verdicts[1], at_ms=2000)
    store.close()
    store = Store.open()  # still there after reopening
    latest = store.latest_submission("attention.gqa")
    assert latest.code == "def f(): return 1\n" and latest.passed and latest.at_ms == 2000
    assert latest.verdict == verdicts[1]
    assert store.code_status() == {
        "attention.gqa": CodeStatus(submissions=2, solved=True),
        "attention.sdpa": CodeStatus(submissions=1, solved=True),
    }
    store.add_submission("memory.zero", "x", verdicts[0])
    assert store.latest_submission("memory.zero").verdict["checks"][0]["message"] == "(2, 3) != (2, 4)"
    assert store.code_status()["memory.zero"] == CodeStatus(submissions=1, solved=False)
