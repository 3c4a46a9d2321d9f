"""Translations in the bank: which fields a question's `i18n:` block may translate, and `from_en`.

English is the canonical text. A translation records `from_en`, a short hash of the English
fields it was written from, so that an edit of the English shows which translations went stale.

    python -m llmq.bank.i18n hashes questions/norm.yaml   # prints "ID HASH" for every question
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOCALES = ("zh",)

# The fields a translation may carry, by kind, in the order they are hashed.
TRANSLATABLE: dict[str, tuple[str, ...]] = {
    "flashcard": ("title", "prompt", "answer"),
    "choice": ("title", "prompt", "options", "rationales", "explanation"),
    "numeric": ("title", "prompt", "solution"),
    "code": ("title", "task", "hints"),
    "cloze": ("title", "prompt", "answer"),
}
HASH_LENGTH = 10


def source_hash(entry: Mapping[str, Any]) -> str:
    """The `from_en` of a translation of `entry` (a question as written in YAML)."""
    fields = TRANSLATABLE.get(str(entry.get("kind", "")), ())
    text = json.dumps([entry.get(name) for name in fields], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def _hashes(path: Path) -> list[str]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [f"{q.get('id')} {source_hash(q)}" for q in data.get("questions", [])]


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "hashes":
        print("usage: python -m llmq.bank.i18n hashes FILE.yaml...", file=sys.stderr)
        return 2
    for name in argv[1:]:
        print("\n".join(_hashes(Path(name))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
