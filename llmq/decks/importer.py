"""`llmq import`: notes in, a deck out, kept in step with the notes on every import.

Each card gets a stable id (ids.py). Against the deck as it stands, a card is added (new id),
updated (same id, other text: the store keys history by id, so it keeps its reviews), unchanged,
or hidden (its note or heading is gone: moved to questions/_hidden.yaml, never deleted; it comes
back if the note does). Only cards from the files this import read can be hidden, so a deck can
be built from several imports. Importing the same notes again changes nothing and writes nothing.

Nothing is half-imported: every note is read and checked first (any problem: file:line, and no
write), then the deck is written to a temporary folder beside it, checked by the bank's own
validator, and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmq.bank import deck_state
from llmq.decks import write
from llmq.decks.card import NoteCard
from llmq.decks.errors import DeckError, NoteProblem
from llmq.decks.formats import choose, tsv
from llmq.decks.formats.text import NoteUnreadable, read_note
from llmq.decks.ids import card_id, marker_parts, slug
from llmq.decks.paths import check_deck_name, decks_dir, default_deck_name
from llmq.l10n import _


@dataclass(frozen=True)
class FileRead:
    """One note file: the format it was read as and how many cards it gave."""

    path: Path
    format: str
    cards: int


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do): the counts `llmq import` prints."""

    deck: str
    folder: Path
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    hidden: int = 0
    errors: list[str] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    files: list[FileRead] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The `import --json` object (CONTRACTS.md), and what else a script may want."""
        return {
            "deck": self.deck,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "hidden": self.hidden,
            "errors": list(self.errors),
            "written": self.written,
            "dry_run": self.dry_run,
            "folder": str(self.folder),
            "files": [{"path": str(f.path), "format": f.format, "cards": f.cards} for f in self.files],
        }


def note_files(path: Path, fmt: str) -> list[Path]:
    """The notes under one PATH: the file itself, or a folder's Markdown files (and its .tsv/.txt/.csv
    ones when the format is tsv), hidden folders (.git, .obsidian) skipped, in path order."""
    if path.is_file():
        return [path]
    suffixes: tuple[str, ...]
    if fmt == "tsv":
        suffixes = choose.TSV_SUFFIXES
    elif fmt == "auto":
        suffixes = (*choose.MARKDOWN_SUFFIXES, ".tsv")
    else:
        suffixes = choose.MARKDOWN_SUFFIXES
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in files if not f.startswith(".") and f.lower().endswith(suffixes)]
    return sorted(found)


def _read_all(
    paths: list[Path], fmt: str
) -> tuple[list[tuple[Path, Path, NoteCard]], list[NoteProblem], list[FileRead], str | None]:
    """Every card of every note: (the PATH it was found under, its file, the card), the problems,
    what each file gave, and a TSV export's #deck: header."""
    cards: list[tuple[Path, Path, NoteCard]] = []
    problems: list[NoteProblem] = []
    files: list[FileRead] = []
    deck_header: str | None = None
    seen: set[Path] = set()
    for root in paths:
        for file in note_files(root, fmt):
            if file.resolve() in seen:  # named twice (a file and its folder): read once
                continue
            seen.add(file.resolve())
            try:
                text = read_note(file)
            except NoteUnreadable as exc:
                problems.append(exc.problem)
                continue
            chosen = choose.detect(text, file) if fmt == "auto" else fmt
            if chosen == "tsv" and deck_header is None:
                deck_header = tsv.deck_header(text)
            found, wrong = choose.FORMATS[chosen](text, file)
            problems += wrong
            files.append(FileRead(file, chosen, len(found)))
            cards += [(root, file, card) for card in found]
    return cards, problems, files, deck_header


def _file_parts(root: Path, file: Path) -> list[str]:
    """The id parts of a note's place: its path below the PATH it was found under, without suffix."""
    relative = file.relative_to(root) if root.is_dir() else Path(file.name)
    return [slug(part) for part in (*relative.parent.parts, relative.stem)]


def _source(root: Path, file: Path) -> str:
    return (file.relative_to(root) if root.is_dir() else Path(file.name)).as_posix()


def _assign_ids(deck: str, cards: list[tuple[Path, Path, NoteCard]], problems: list[NoteProblem]) -> list[write.Entry]:
    """The deck's entries, each with its id: a marker's, else the file and heading path (a repeat
    of the same path numbered _2, _3 in note order); two cards claiming one id is a problem."""
    entries: list[write.Entry] = []
    claimed: dict[str, NoteCard] = {}
    places: dict[tuple[Path, Path], tuple[list[str], str, str]] = {}  # per note: id parts, source, ref
    for root, file, card in cards:
        place = places.get((root, file))
        if place is None:
            place = places[(root, file)] = (_file_parts(root, file), _source(root, file), str(file.resolve()))
        if card.marker is not None:
            qid = card_id(deck, marker_parts(card.marker))
        else:
            parts = [*place[0], *(slug(k) for k in card.key)]
            qid = base = card_id(deck, parts)
            number = 2
            while qid in claimed and claimed[qid].marker is None:
                qid, number = f"{base}_{number}", number + 1
        if qid in claimed:
            first = claimed[qid]
            problems.append(
                NoteProblem(
                    file,
                    card.line,
                    _("this card has the id {id}, as has the card at {where}; give one of them another llmq:id").format(
                        id=qid, where=f"{first.file}:{first.line}"
                    ),
                )
            )
            continue
        claimed[qid] = card
        entries.append(write.entry(qid, card, place[1], place[2]))
    return entries


def _in_scope(entry: write.Entry, files: set[Path], folders: list[Path]) -> bool:
    """Whether a card of the deck came from a note this import read (or a folder it read): only such
    a card is hidden when the import no longer finds it."""
    refs = entry.get("refs") or [""]
    origin = Path(str(refs[0]))
    return origin in files or any(origin.is_relative_to(folder) for folder in folders)


def _recover(folder: Path) -> None:
    """Put back a deck an interrupted import had moved aside (between its two renames)."""
    if folder.exists():
        return
    for old in sorted(folder.parent.glob(f".old-{folder.name}-*")):
        os.rename(old, folder)
        return


def import_notes(paths: list[Path], deck: str | None = None, fmt: str = "auto", *, dry_run: bool = False) -> ImportReport:
    """Import the notes under `paths` into deck `deck` (else a name from the first PATH).

    DeckError for a call that cannot start (no such PATH, a bad deck name, a damaged deck); a
    problem in the notes is in the report's `errors`, and then nothing is written.
    """
    if fmt not in choose.FORMAT_CHOICES:
        raise DeckError(
            _("unknown format {fmt!r}; use one of {choices}").format(fmt=fmt, choices=", ".join(choose.FORMAT_CHOICES))
        )
    if not paths:
        raise DeckError(_("name at least one file or folder of notes to import"))
    for path in paths:
        if not path.exists():
            raise DeckError(_("{path} does not exist").format(path=path))
    cards, problems, files, deck_header = _read_all(paths, fmt)
    name = check_deck_name(deck) if deck is not None else check_deck_name(default_deck_name(paths[0], deck_header))
    folder = decks_dir() / name
    report = ImportReport(deck=name, folder=folder, dry_run=dry_run, files=files)
    entries = _assign_ids(name, cards, problems)
    if not files and not problems:
        problems.append(NoteProblem(paths[0], 0, _("holds no notes (.md files, or .tsv/.txt/.csv for --format tsv)")))
    elif not entries and not problems:
        problems.append(
            NoteProblem(paths[0], 0, _("gave no cards; is it in another format? (--format headings, obsidian, hashcards or tsv)"))
        )
    if problems:
        report.errors = [str(p) for p in problems]
        return report

    _recover(folder)
    old_visible, old_hidden, as_written = _old_entries(folder, f"{name}.yaml")
    new_by_id = {e["id"]: e for e in entries}
    read_files = {f.path.resolve() for f in files}
    read_folders = [p.resolve() for p in paths if p.is_dir()]
    visible: list[write.Entry] = []
    hidden_now: list[write.Entry] = []
    for old in old_visible:
        new = new_by_id.get(old["id"])
        if new is not None:
            visible.append(new)
            if new == old:
                report.unchanged += 1
            else:
                report.updated += 1
        elif _in_scope(old, read_files, read_folders):
            hidden_now.append(old)
            report.hidden += 1
        else:
            visible.append(old)  # from notes this import did not read: left as it is
    known = {e["id"] for e in old_visible}
    for entry in entries:
        if entry["id"] not in known:
            visible.append(entry)
            report.added += 1
    hidden = [e for e in old_hidden if e["id"] not in new_by_id] + hidden_now
    if visible == old_visible and hidden == old_hidden and as_written:
        return report  # the same notes again: nothing to write
    if not dry_run:
        _write_deck(name, folder, visible, hidden)
        report.written = True
    return report


def _old_entries(folder: Path, visible_file: str) -> tuple[list[write.Entry], list[write.Entry], bool]:
    """The deck's shown and hidden cards as they stand, and whether its files are exactly as the
    last import wrote them (then they come from its state, with no YAML to parse)."""
    files = deck_state.read(folder)
    found: list[list[write.Entry]] = []
    as_written = True
    for name in (visible_file, write.HIDDEN_FILE):
        path = folder / "questions" / name
        text = write.read_text(path)
        record = deck_state.file_as_written(files, name, text) if text else None
        if record is not None:
            found.append(record["questions"])
        else:
            as_written = as_written and not text and name not in files
            found.append(write.parse(path, text))
    return found[0], found[1], as_written


def _write_deck(name: str, folder: Path, visible: list[write.Entry], hidden: list[write.Entry]) -> None:
    """Check the cards by the bank's rules, write the deck beside its folder, then rename it into place."""
    from llmq.bank.validate import check_deck_questions

    visible_file = f"{name}.yaml"
    issues = check_deck_questions(visible, folder / "questions" / visible_file, name)
    if issues:  # a card the bank would refuse: a bug here, and nothing is replaced
        listed = "\n".join(f"  {issue}" for issue in issues)
        raise DeckError(_("the deck would not load, so nothing was imported:\n{issues}").format(issues=listed))
    rendered = {visible_file: (visible, write.render(name, visible))}
    if hidden:
        rendered[write.HIDDEN_FILE] = (hidden, write.render(name, hidden))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=folder.parent))
    try:
        (staging / "questions").mkdir()
        for file_name, (_entries, (text, _lines)) in rendered.items():
            (staging / "questions" / file_name).write_text(text, encoding="utf-8")
        state = {file_name: (text, name, entries, lines) for file_name, (entries, (text, lines)) in rendered.items()}
        (staging / deck_state.STATE_FILE).write_text(deck_state.text(state), encoding="utf-8")
        for path in [*(staging / "questions").iterdir(), staging / deck_state.STATE_FILE]:
            with path.open("rb") as f:
                os.fsync(f.fileno())
        if folder.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".old-{name}-", dir=folder.parent))
            aside.rmdir()
            os.rename(folder, aside)
            os.rename(staging, folder)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
