"""How `llmq` starts the app: the store is opened and counted beforehand, but never waited on."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import llmq.cli as cli
import llmq.tui.app
from llmq.store import DB_NAME, Store


def _replace_the_app(monkeypatch: pytest.MonkeyPatch, then: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def run_app(bank: Any, *, preload: Any, **kwargs: Any) -> int:
        seen["ready_when_the_app_started"] = preload.done
        then()
        seen["progress"] = preload.wait()
        seen["home"] = preload.take_home()
        return 0

    monkeypatch.setattr(llmq.tui.app, "run_app", run_app)
    return seen


def test_the_app_is_handed_the_store_and_the_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _replace_the_app(monkeypatch, then=lambda: None)
    assert cli.main([]) == 0
    assert seen["home"] is not None and seen["home"].new_total > 0
    seen["progress"].close()


def test_a_locked_store_does_not_hold_the_app_back(monkeypatch: pytest.MonkeyPatch, _private_home: Path) -> None:
    Store.open().close()
    other = sqlite3.connect(_private_home / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    seen = _replace_the_app(monkeypatch, then=lambda: other.execute("COMMIT"))
    assert cli.main([]) == 0
    assert seen["ready_when_the_app_started"] is False  # the app came up without the store
    assert seen["progress"] is not None and seen["home"] is not None  # and got it once it was free
    seen["progress"].close()
    other.close()
