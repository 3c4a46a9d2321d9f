"""Anki's "Notes in Plain Text" export: one note a row, with the `#` headers Anki writes first.

Headers read: `#separator:` (Tab, Comma, Semicolon, Space, Pipe, Colon or the character itself),
`#html:` (true: fields are HTML, turned into Markdown), `#tags:` (tags for every note),
`#columns:`, `#notetype:`, `#deck:` (the deck name when --deck is not given), and the columns
that are not fields: `#guid column:`, `#notetype column:`, `#deck column:`, `#tags column:`.
A note's first field is the front, the second the back; a Cloze note (its note type, or
`{{c1::...}}` in its first field) gives one card per cloze number. Its id comes from its GUID
column when there is one, else from its front.
"""

from __future__ import annotations

import csv
import html
import re
from functools import partial
from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.errors import NoteProblem
from llmq.decks.formats.text import find_marker, plain_title
from llmq.decks.ids import MARKER_RE
from llmq.l10n import _

SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|", "colon": ":"}
_HEADER = re.compile(r"^#([a-z ]+):(.*)$")
_KNOWN = {"separator", "html", "tags", "columns", "notetype", "deck"}
_COLUMN_HEADERS = {"guid column": "guid", "notetype column": "notetype", "deck column": "deck", "tags column": "tags"}
_ANKI_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</?div>|</p>|<p>", re.I)
_BOLD = re.compile(r"</?(?:b|strong)>", re.I)
_ITALIC = re.compile(r"</?(?:i|em)>", re.I)
_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)[^>]*>", re.I)


def deck_header(text: str) -> str | None:
    """The `#deck:` header's value, if the file has one (the deck name when --deck is not given)."""
    for line in text.split("\n"):
        if not line.startswith("#"):
            break
        if line.lower().startswith("#deck:"):
            return line.split(":", 1)[1].strip() or None
    return None


def _from_html(field: str) -> str:
    """An HTML field as Markdown: breaks as new lines, bold and italic kept, images named, tags dropped."""
    field = _IMG.sub(lambda m: f"\n[image: {m.group(1)}]\n", field)
    field = _BREAK.sub("\n", field)
    field = _BOLD.sub("**", field)
    field = _ITALIC.sub("*", field)
    text = html.unescape(_TAG.sub("", field))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def parse(text: str, file: Path) -> tuple[list[NoteCard], list[NoteProblem]]:
    """Every card of one export, and every problem in it (file:line)."""
    lines = text.split("\n")
    problems: list[NoteProblem] = []
    separator, is_html, all_tags, notetype = "\t", False, (), ""
    special: dict[str, int] = {}  # special column -> 0-based index
    first = 0
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if not match:
            break
        first = index + 1
        name, value = match.group(1).strip().lower(), match.group(2).strip()
        if name == "separator":
            chosen = SEPARATORS.get(value.lower(), value if len(value) == 1 else None)
            if chosen is None:
                problems.append(
                    NoteProblem(
                        file,
                        index + 1,
                        _("unknown separator {value!r}: use Tab, Comma, Semicolon, Space, Pipe, Colon or one character").format(
                            value=value
                        ),
                    )
                )
                return [], problems
            separator = chosen
        elif name == "html":
            if value.lower() not in ("true", "false"):
                problems.append(
                    NoteProblem(file, index + 1, _("#html: must be true or false, not {value!r}").format(value=value))
                )
                return [], problems
            is_html = value.lower() == "true"
        elif name == "tags":
            all_tags = tuple(value.split())
        elif name == "notetype":
            notetype = value
        elif name in _COLUMN_HEADERS:
            if not value.isdigit() or int(value) < 1:
                problems.append(
                    NoteProblem(
                        file,
                        index + 1,
                        _("#{name}: must be a column number from 1, not {value!r}").format(name=name, value=value),
                    )
                )
                return [], problems
            special[_COLUMN_HEADERS[name]] = int(value) - 1
        elif name not in _KNOWN:
            problems.append(
                NoteProblem(
                    file,
                    index + 1,
                    _(
                        "unknown header #{name}: (Anki writes separator, html, tags, columns, notetype, deck and the column headers)"
                    ).format(name=name),
                )
            )
            return [], problems
    cards: list[NoteCard] = []
    reader = csv.reader([text_line + "\n" for text_line in lines[first:]], delimiter=separator, quotechar='"', strict=True)
    row_line = first + 1
    try:
        for row in reader:
            row_at = row_line
            row_line = first + reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            marker = find_marker(separator.join(row), file, row_at, problems)
            fields = [MARKER_RE.sub("", cell) for i, cell in enumerate(row) if i not in special.values()]
            fields = [_from_html(f) if is_html else f.strip() for f in fields]
            if len(fields) < 1 or not fields[0]:
                problems.append(NoteProblem(file, row_at, _("this note's first field (the front) is empty")))
                continue
            kind_name = row[special["notetype"]] if "notetype" in special and special["notetype"] < len(row) else notetype
            tags = all_tags + (tuple(row[special["tags"]].split()) if "tags" in special and special["tags"] < len(row) else ())
            guid = row[special["guid"]].strip() if "guid" in special and special["guid"] < len(row) else ""
            key = ("guid", guid) if guid else ("front", fields[0])
            if "cloze" in kind_name.lower() or _ANKI_CLOZE.search(fields[0]):
                numbers = sorted({int(m.group(1)) for m in _ANKI_CLOZE.finditer(fields[0])})
                if not numbers:
                    problems.append(NoteProblem(file, row_at, _("this Cloze note has no {{c1::...}} in its first field")))
                    continue
                extra = "\n\n".join(f for f in fields[1:] if f)
                for number in numbers:
                    passage = _ANKI_CLOZE.sub(partial(_one_gap, number=number), fields[0])
                    front = _ANKI_CLOZE.sub(lambda m: f"[{m.group(3) or '...'}]", passage)
                    cards.append(
                        NoteCard(
                            kind="cloze",
                            key=(*key, f"c{number}"),
                            title=plain_title(front),
                            passage=passage,
                            extra=extra,
                            file=file,
                            line=row_at,
                            tags=tags,
                            marker=None if marker is None else f"{marker}.c{number}",
                        )
                    )
                continue
            if len(fields) < 2 or not fields[1]:
                sep_name = next((k for k, v in SEPARATORS.items() if v == separator), separator)
                problems.append(
                    NoteProblem(
                        file,
                        row_at,
                        _("this note has no back: a note needs a front and a back separated by {sep}").format(sep=sep_name),
                    )
                )
                continue
            cards.append(
                NoteCard(
                    kind="flashcard",
                    key=key,
                    title=plain_title(fields[0]),
                    prompt=fields[0],
                    answer=fields[1],
                    file=file,
                    line=row_at,
                    tags=tags,
                    marker=marker,
                )
            )
    except csv.Error as exc:
        problems.append(
            NoteProblem(
                file,
                first + reader.line_num,
                _("cannot be read as {sep}-separated text: {why}").format(sep=repr(separator), why=exc),
            )
        )
    return cards, problems


def _one_gap(match: re.Match[str], number: int) -> str:
    """Cloze `number` stays a gap (renumbered c1); the other numbers show their text."""
    if int(match.group(1)) != number:
        return match.group(2)
    hint = f"::{match.group(3)}" if match.group(3) else ""
    return "{{c1::" + match.group(2) + hint + "}}"
