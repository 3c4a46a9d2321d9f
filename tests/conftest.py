"""Shared fixtures: run llmq as a user would, with a private LLMQ_HOME.

Tests write only inside an LLMQ_HOME of their own. A session-wide one is set before any test
module is imported (some load the bank at import time, and session fixtures run before a test's
own home exists), and each test then gets a fresh one on top of it.

Each pytest process (each xdist worker under `make test`'s `-n 2`) also gets a TMPDIR of its own,
so a test that looks for what a check left in TMPDIR sees its own process's files only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from llmq.l10n import set_language

REPO = Path(__file__).resolve().parent.parent
# The session's LLMQ_HOME and TMPDIR, and what the variables in _SAVED were before the run
# (restored after).
_session_home_key = pytest.StashKey[str]()
_session_tmp_key = pytest.StashKey[str]()
_saved_env_key = pytest.StashKey[dict[str, str | None]]()
_SAVED = ("LLMQ_HOME", "LLMQ_BANK", "TMPDIR", "PYTEST_DEBUG_TEMPROOT")


def pytest_configure(config: pytest.Config) -> None:
    """Runs before collection imports any test module, so the bank's cache and anything else a
    module-level load or a session fixture writes lands in this folder, never the user's."""
    config.stash[_saved_env_key] = {name: os.environ.get(name) for name in _SAVED}
    # pytest's own tmp_path folders stay where they were (kept for the last 3 runs, for a look
    # after a failure): this TMPDIR is removed at the end.
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tmp = tempfile.mkdtemp(prefix=f"llmq-test-tmp-{worker}-")
    os.chmod(tmp, 0o1777)  # like /tmp: the judge's fallback, as root, runs submissions as nobody in it
    config.stash[_session_tmp_key] = tmp
    os.environ["TMPDIR"] = tmp  # for the subprocesses the tests start
    tempfile.tempdir = None  # and for this process: gettempdir() reads TMPDIR again
    home = tempfile.mkdtemp(prefix="llmq-test-session-home-")
    config.stash[_session_home_key] = home
    os.environ["LLMQ_HOME"] = home
    os.environ.pop("LLMQ_BANK", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in config.stash.get(_saved_env_key, {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    tempfile.tempdir = None
    for key in (_session_home_key, _session_tmp_key):
        folder = config.stash.get(key, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the developer's real progress: every test gets its own LLMQ_HOME."""
    home = tmp_path_factory.mktemp("llmq_home")
    monkeypatch.setenv("LLMQ_HOME", str(home))
    monkeypatch.delenv("LLMQ_BANK", raising=False)
    # The interface language is process-wide: a test that switched to Chinese must not decide the
    # language of the next one (which test runs next differs between runs and xdist workers).
    set_language("en")
    return home


def run_llmq(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m llmq ARGS` in a subprocess, as a user would run it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "llmq", *args], cwd=cwd or REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )
