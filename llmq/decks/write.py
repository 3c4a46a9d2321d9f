"""A deck's YAML: cards as the bundled bank writes questions, read back and written out.

A deck folder holds questions/DECK.yaml (the cards that are shown) and questions/_hidden.yaml
(cards whose notes are gone: kept, never loaded, so their review history stays theirs and they
come back if the note does). Multi-line text is written as YAML block text so the files read
like the bank's own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from llmq.decks.card import NoteCard
from llmq.decks.errors import DeckError
from llmq.l10n import _

Entry = dict[str, Any]
HIDDEN_FILE = "_hidden.yaml"

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# What a `|` block can hold as is: no control character but tab and newline, no line ending in a
# space, nothing YAML would read differently (a leading space or newline, a trailing newline).
_YAML_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_BLOCK_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[ \t]\n|[ \t]$")


def _scalar(value: str, indent: str) -> str:
    """One text as YAML: multi-line text as a `|-` block (the bank's style), the rest as a
    double-quoted string (JSON's escapes are YAML's)."""
    if "\n" in value and not value.startswith((" ", "\n", "\t")) and not value.endswith("\n") and not _BLOCK_UNSAFE.search(value):
        return "|-\n" + "\n".join(f"{indent}{line}" if line else "" for line in value.split("\n"))
    # JSON leaves these as they are; YAML refuses them (or reads them as line breaks) unescaped.
    return _YAML_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def render(deck: str, entries: list[Entry]) -> tuple[str, list[int]]:
    """The text of one deck file, and the line each entry starts at (the entries hold texts and
    lists of texts only)."""
    starts: list[int] = []
    out = [
        "# Written by `llmq import`: edit the notes and import again rather than this file.",
        f"topic: {deck}",
        f"title: {deck}",
        "questions:" if entries else "questions: []",
    ]
    for item in entries:
        starts.append(len(out) + 1)
        first = True
        for key, value in item.items():
            lead = "  - " if first else "    "
            first = False
            if isinstance(value, list):
                out.append(f"{lead}{key}:" if value else f"{lead}{key}: []")
                out += [f"      - {_scalar(v, '        ')}" for v in value]
            else:
                out.append(f"{lead}{key}: {_scalar(value, '      ')}")
    return "\n".join(out) + "\n", starts


def entry(card_id: str, card: NoteCard, source: str, ref: str) -> Entry:
    """One card as a question of the deck's YAML, fields in the bank's order."""
    fields: Entry = {
        "id": card_id,
        "kind": card.kind,
        "title": card.title,
        "difficulty": "medium",
        "source": source,
        "refs": [ref],
    }
    if card.tags:
        fields["tags"] = list(card.tags)
    if card.kind == "cloze":
        fields["passage"] = card.passage
        if card.extra:
            fields["extra"] = card.extra
    else:
        fields["prompt"] = card.prompt
        fields["answer"] = card.answer
    return fields


def read_text(path: Path) -> str:
    """A deck file's text ("" when there is none); DeckError if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise DeckError(
            _("{path} cannot be read ({why}); remove the deck folder and import again").format(path=path, why=exc)
        ) from None


def parse(path: Path, text: str) -> list[Entry]:
    """The questions of a deck file's text (none when it is empty); DeckError if it is damaged."""
    if not text:
        return []
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DeckError(
            _("{path}{line} is not valid YAML (edited by hand?); fix it, or remove the deck folder and import again").format(
                path=path, line=line
            )
        ) from None
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not all(isinstance(q, dict) and isinstance(q.get("id"), str) for q in questions):
        raise DeckError(
            _("{path} is not a deck file (no list of questions with ids); remove the deck folder and import again").format(
                path=path
            )
        )
    return questions
