"""A cache of the validated bank, so the app does not re-parse YAML and answer modules at every start.

Like Python's .pyc files: the key is every bank file's path, modification time and size, plus
llmq's version, so any edit (or a new llmq) makes the next load validate from scratch. The cache
lives in LLMQ_HOME (the only place llmq writes) and is only ever a copy: a missing, stale or
unreadable cache file is ignored and rewritten.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from llmq import __version__
from llmq.bank.model import Bank
from llmq.home import data_dir

_PREFIX = "bank-"


def _bank_files(root: Path) -> list[Path]:
    files = sorted((root / "questions").glob("*.yaml"))
    answers = root / "answers"
    if answers.is_dir():
        files += sorted(answers.rglob("*.py"))
    return files


def cache_key(roots: list[Path]) -> str:
    digest = hashlib.sha256(f"{__version__}\n".encode())
    for root in roots:
        digest.update(f"root {root}\n".encode())
        for path in _bank_files(root):
            try:
                st = path.stat()
            except OSError:
                continue
            digest.update(f"{path}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
    return digest.hexdigest()[:32]


def _cache_dir() -> Path:
    return data_dir() / "cache"


def read(key: str) -> Bank | None:
    try:
        with open(_cache_dir() / f"{_PREFIX}{key}.pickle", "rb") as f:
            bank = pickle.load(f)  # noqa: S301 - our own file in the user's data folder
    except Exception:  # noqa: BLE001 - any trouble means "no cache"
        return None
    return bank if isinstance(bank, Bank) else None


def write(key: str, bank: Bank) -> None:
    """Save atomically, and drop caches of older versions of the bank. Never fails the caller."""
    import tempfile  # only when writing: not on the start-up path

    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(bank, f, protocol=pickle.HIGHEST_PROTOCOL)
        target = folder / f"{_PREFIX}{key}.pickle"
        os.replace(tmp, target)
        for old in folder.glob(f"{_PREFIX}*.pickle"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:
        pass
