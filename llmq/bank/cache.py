"""A cache of the validated bank, so the app does not re-parse YAML and answer modules at every start.

Like Python's .pyc files: the key is every bank file's path, modification time and size, plus
llmq's version, so any edit (or a new llmq) makes the next load validate from scratch. The cache
lives in LLMQ_HOME (the only place llmq writes) and is only ever a copy: a missing, stale or
unreadable cache file is ignored and rewritten.
"""
from __future__ import annotations

import os
import pickle
import zlib
from pathlib import Path

from llmq import __version__
from llmq.bank.model import Bank
from llmq.datadir import data_dir

_PREFIX = "bank-"


def _bank_files(root: Path) -> list[Path]:
    files = sorted((root / "questions").glob("*.yaml"))
    answers = root / "answers"
    if answers.is_dir():
        files += sorted(answers.rglob("*.py"))
    return files


def cache_key(roots: list[Path]) -> str:
    """Every bank file's identity, as text; the cache file stores it and is used only on an exact
    match (so no hash is needed: hashlib alone costs start-up a few milliseconds)."""
    lines = [f"llmq {__version__}"]
    for root in roots:
        lines.append(f"root {root}")
        for path in _bank_files(root):
            try:
                st = path.stat()
            except OSError:
                continue
            lines.append(f"{path}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_size}")
    return "\n".join(lines)


def _file_name(key: str) -> str:
    # A short name for the key; two keys sharing one name only means a cache miss (the stored
    # key is compared in full).
    return f"{_PREFIX}{zlib.crc32(key.encode()):08x}.pickle"


def _cache_dir() -> Path:
    return data_dir() / "cache"


def read(key: str) -> Bank | None:
    try:
        with open(_cache_dir() / _file_name(key), "rb") as f:
            stored_key, bank = pickle.load(f)  # noqa: S301 - our own file in the user's data folder
    except Exception:  # noqa: BLE001 - any trouble means "no cache"
        return None
    return bank if stored_key == key and isinstance(bank, Bank) else None


def write(key: str, bank: Bank) -> None:
    """Save atomically, and drop caches of older versions of the bank. Never fails the caller."""
    import tempfile  # only when writing: not on the start-up path

    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump((key, bank), f, protocol=pickle.HIGHEST_PROTOCOL)
        target = folder / _file_name(key)
        os.replace(tmp, target)
        for old in folder.glob(f"{_PREFIX}*.pickle"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:
        pass
