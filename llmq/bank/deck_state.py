"""A deck's import-state.json: what `llmq import` last wrote into each of the deck's YAML files.

For each file: its SHA-256, its topic and title, its questions as data and the line each question
starts at. A file whose text still has that digest is read from here (JSON parses many times faster
than YAML: a deck of thousands of cards loads in a fraction of the time); one edited since (or a
state that is missing or damaged) is read from its YAML as any bank file is. Either way the
questions go through the same validation, so the state can change no more than the YAML could.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

STATE_FILE = "import-state.json"
FORMAT = 1

Entry = dict[str, Any]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read(deck: Path) -> dict[str, Any]:
    """The state's files by name ({} when there is no usable state)."""
    try:
        state = json.loads((deck / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = state.get("files") if isinstance(state, dict) and state.get("format") == FORMAT else None
    return files if isinstance(files, dict) else {}


def file_as_written(files: dict[str, Any], name: str, text: str) -> dict[str, Any] | None:
    """File `name`'s record ({topic, title, questions, lines}) if `text` is exactly what was written."""
    record = files.get(name)
    if not isinstance(record, dict) or record.get("sha256") != digest(text):
        return None
    questions, lines = record.get("questions"), record.get("lines")
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        return None
    if not isinstance(lines, list) or len(lines) != len(questions) or not all(type(n) is int for n in lines):
        return None
    if not isinstance(record.get("topic"), str) or not isinstance(record.get("title"), str):
        return None
    return record


def text(files: dict[str, tuple[str, str, list[Entry], list[int]]]) -> str:
    """The state for files by name: (their text, topic, questions, the line each question starts at)."""
    return json.dumps(
        {
            "format": FORMAT,
            "files": {
                name: {"sha256": digest(body), "topic": topic, "title": topic, "questions": questions, "lines": lines}
                for name, (body, topic, questions, lines) in files.items()
            },
        },
        ensure_ascii=False,
    )
