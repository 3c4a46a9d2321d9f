"""The layers go one way: nothing below the UI imports Textual; nothing in the UI process imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

BELOW_UI = ["llmq.bank", "llmq.srs", "llmq.store", "llmq.judge.client", "llmq.cli"]


def imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("module", BELOW_UI)
def test_logic_modules_import_neither_textual_nor_torch(module: str) -> None:
    try:
        __import__(module)
    except ModuleNotFoundError:
        pytest.skip(f"{module} does not exist yet")
    loaded = imported_after(f"import {module}")
    assert "textual" not in loaded and "torch" not in loaded


def test_the_app_process_never_imports_torch() -> None:
    loaded = imported_after("from llmq.bank import load_bank\nfrom llmq.tui.app import LlmqApp\nLlmqApp(load_bank())")
    assert "textual" in loaded
    assert "torch" not in loaded
