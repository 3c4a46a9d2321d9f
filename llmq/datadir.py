"""Where llmq keeps user data: LLMQ_HOME, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def data_dir(create: bool = True) -> Path:
    """The folder for the progress database, settings and submissions (CONTRACTS.md)."""
    home = os.environ.get("LLMQ_HOME")
    path = Path(home).expanduser() if home else Path(user_data_dir("llmq", appauthor=False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
