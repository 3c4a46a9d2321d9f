"""Shared fixtures: run llmq as a user would, with a private LLMQ_HOME."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the developer's real progress: every test gets its own LLMQ_HOME."""
    home = tmp_path_factory.mktemp("llmq_home")
    monkeypatch.setenv("LLMQ_HOME", str(home))
    monkeypatch.delenv("LLMQ_BANK", raising=False)
    return home


def run_llmq(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m llmq ARGS` in a subprocess, as a user would run it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "llmq", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
