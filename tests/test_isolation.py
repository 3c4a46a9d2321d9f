"""A test run writes nothing into the user's real data folder (CONTRACTS.md: with LLMQ_HOME unset,
llmq's data lives in the platform's user data folder, and the suite must never touch it).

Runs pytest in a subprocess on test files that load the bank at import time or in session
fixtures (the writes that happen before a test's own LLMQ_HOME exists), with LLMQ_HOME unset and
HOME / XDG_DATA_HOME pointing at an empty folder, and then looks at that folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# Files that load the bank when they are imported, or in a session fixture.
PROBES = ["tests/test_bank_rendering.py", "tests/judge/test_answer_rules.py"]


def _user_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment as a user's shell has it (no LLMQ_HOME), with a fake home; and where
    platformdirs puts llmq's data folder there."""
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("LLMQ_HOME", "LLMQ_BANK", "PYTEST_ADDOPTS")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"), TMPDIR=str(tmp_path / "tmp"))
    where = subprocess.run(
        [sys.executable, "-c", "from platformdirs import user_data_dir; print(user_data_dir('llmq', appauthor=False))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return env, Path(where)


def test_a_test_run_leaves_the_real_data_folder_untouched(tmp_path: Path) -> None:
    env, data_folder = _user_env(tmp_path)
    assert data_folder.is_relative_to(tmp_path / "home")

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PROBES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not data_folder.exists(), sorted(str(p) for p in data_folder.rglob("*"))
    assert [p for p in (tmp_path / "home").rglob("*") if "llmq" in p.name] == []
    # the session's own LLMQ_HOME is removed at the end
    assert [p.name for p in (tmp_path / "tmp").glob("llmq-test-session-home-*")] == []

    # The control: the same environment without the suite's homes does write there, so the
    # checks above look at the right folder.
    subprocess.run(
        [sys.executable, "-c", "from llmq.bank import load_bank; load_bank()"], cwd=REPO, env=env, check=True, timeout=120
    )
    assert data_folder.exists()
