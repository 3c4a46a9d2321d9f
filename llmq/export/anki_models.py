"""The Anki note types llmq exports, one per kind of question, and the ids that keep them stable.

Anki recognises a note type by its id and a note by its GUID. Both are derived from names that
never change (the kind, the question id), so exporting again and importing the file into Anki
updates the notes already there instead of adding copies. Changing a note type's fields would
make Anki treat it as a different type: add a new type (a new name) rather than edit one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import genanki

# Anki's ids are 64-bit; genanki's examples and Anki's own use values in [2^30, 2^31).
_ID_LOW, _ID_SPAN = 1 << 30, 1 << 30


def stable_id(name: str) -> int:
    """A model or deck id that is the same for `name` in every export, on every machine."""
    digest = hashlib.sha256(f"llmq:{name}".encode()).digest()
    return _ID_LOW + int.from_bytes(digest[:8], "big") % _ID_SPAN


def note_guid(question_id: str) -> str:
    """The note's GUID: from the question id alone, so language and content may change."""
    return str(genanki.guid_for("llmq", question_id))


CSS = """\
.card { font-family: -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", sans-serif;
        font-size: 18px; text-align: left; color: #222; background: #fff; line-height: 1.5; }
.nightMode .card, .card.nightMode { color: #ddd; background: #222; }
.llmq-title { font-weight: bold; font-size: 1.1em; margin-bottom: 0.6em; }
.llmq-en { color: #777; border-top: 1px dashed #aaa; margin-top: 0.8em; padding-top: 0.4em; }
.llmq-meta { color: #888; font-size: 0.75em; margin-top: 1em; }
.llmq-correct { color: #2e7d32; }
.llmq-wrong { color: #a33; }
pre { background: #f4f4f4; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
.nightMode pre { background: #333; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; }
table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: 0.2em 0.5em; }
"""

_TITLE = '<div class="llmq-title">{{Title}}</div>'
_META = '<div class="llmq-meta">{{Id}}{{#Source}} · {{Source}}{{/Source}}</div>'


def _model(kind: str, name: str, fields: list[str], front: str, back: str, **extra: Any) -> genanki.Model:
    return genanki.Model(
        stable_id(f"model:{kind}:v1"),
        name,
        fields=[{"name": f} for f in fields],
        templates=[{"name": "Card 1", "qfmt": front, "afmt": back}],
        css=CSS,
        **extra,
    )


FLASHCARD = _model(
    "flashcard",
    "llmq flashcard",
    ["Id", "Title", "Prompt", "Answer", "Source"],
    _TITLE + "{{Prompt}}",
    '{{FrontSide}}<hr id="answer">{{Answer}}' + _META,
)

CHOICE = _model(
    "choice",
    "llmq choice",
    ["Id", "Title", "Prompt", "Options", "Correct", "Rationales", "Explanation", "Source"],
    _TITLE + "{{Prompt}}{{Options}}",
    '{{FrontSide}}<hr id="answer"><p><b>{{Correct}}</b></p>{{Rationales}}{{Explanation}}' + _META,
)

NUMERIC = _model(
    "numeric",
    "llmq numeric",
    ["Id", "Title", "Prompt", "Answer", "Solution", "Source"],
    _TITLE + "{{Prompt}}",
    '{{FrontSide}}<hr id="answer"><p><b>{{Answer}}</b></p>{{Solution}}' + _META,
)

CODE = _model(
    "code",
    "llmq code exercise",
    ["Id", "Title", "Task", "Stub", "Reference", "Hints", "Source"],
    _TITLE + "{{Task}}{{Stub}}",
    '{{FrontSide}}<hr id="answer">{{Reference}}{{#Hints}}{{Hints}}{{/Hints}}' + _META,
)

# Anki's own cloze type: {{c1::...}} deletions in Text, one card per deletion number.
CLOZE = _model(
    "cloze",
    "llmq cloze",
    ["Text", "Extra", "Id", "Title", "Source"],
    '{{#Title}}<div class="llmq-title">{{Title}}</div>{{/Title}}{{cloze:Text}}',
    '{{#Title}}<div class="llmq-title">{{Title}}</div>{{/Title}}{{cloze:Text}}{{#Extra}}<hr>{{Extra}}{{/Extra}}' + _META,
    model_type=genanki.Model.CLOZE,
)

MODELS: dict[str, genanki.Model] = {
    "flashcard": FLASHCARD,
    "choice": CHOICE,
    "numeric": NUMERIC,
    "code": CODE,
    "cloze": CLOZE,
}
