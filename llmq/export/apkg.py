"""`llmq export FILE.apkg`: questions as an Anki package, one note type per kind, stable GUIDs.

Each question becomes one note in the deck `llmq::<topic title>` (`llmq::<deck>` for a deck
imported with `llmq import`), tagged `llmq::<topic>` and `llmq::kind::<kind>`. A numeric question is one
drawn instance with its worked solution (the numbers drawn from a seed made of the question id, so
exporting again gives the same numbers); a code exercise has its task and stub on the front, the
reference solution (read from the answer module's text, never imported) and hints on the back.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import genanki

from llmq.bank import Bank, Choice, CodeExercise, Numeric, Question
from llmq.bank.numeric import instantiate
from llmq.export.anki_models import MODELS, note_guid, stable_id
from llmq.export.anki_render import both_languages, code_html, inline_html, markdown_html
from llmq.export.errors import ExportError
from llmq.export.scope import question_deck
from llmq.judge.reference_file import reference_solution
from llmq.l10n import _
from llmq.store import new_sqlite_file

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class ApkgSummary:
    """What was written: notes per kind and the Anki decks they went into."""

    path: Path
    notes: dict[str, int]
    decks: int


class _Fields:
    """A question's text fields in the chosen language(s), rendered for Anki."""

    def __init__(self, question: Question, lang: str) -> None:
        self.question = question
        self.langs = ("zh", "en") if lang == "both" else (lang,)

    def each(self, render: Callable[[Question, str], str]) -> str:
        """`render(question in one language, lang)` for each chosen language, joined."""
        parts = [render(self.question.localized(lang), lang) for lang in self.langs]
        return both_languages(parts[0], parts[1]) if len(parts) == 2 else parts[0]

    def markdown(self, name: str) -> str:
        return self.each(lambda q, lang: markdown_html(str(q.text(name, "en"))))

    def inline(self, name: str) -> str:
        return self.each(lambda q, lang: inline_html(str(q.text(name, "en"))))


def _source(q: Question) -> str:
    return "<br>".join(html.escape(ref) for ref in q.refs) or html.escape(q.source)


def _flashcard(q: Question, f: _Fields) -> list[str]:
    return [q.id, f.inline("title"), f.markdown("prompt"), f.markdown("answer"), _source(q)]


def _choice(q: Choice, f: _Fields) -> list[str]:
    def options(c: Question, lang: str) -> str:
        assert isinstance(c, Choice)
        items = "".join(f"<li>{inline_html(o)}</li>" for o in c.options)
        return f'<ol type="A">{items}</ol>'

    def rationales(c: Question, lang: str) -> str:
        assert isinstance(c, Choice)
        rows = []
        for i, option in enumerate(c.options):
            ok = i in c.correct
            why = c.rationales[i] if i < len(c.rationales) else ""
            mark = "✓" if ok else "✗"
            rows.append(
                f'<li class="{"llmq-correct" if ok else "llmq-wrong"}">{mark} {LETTERS[i]}. {inline_html(option)}'
                + (f"<br>{markdown_html(why)}" if why else "")
                + "</li>"
            )
        return f'<ul style="list-style: none; padding-left: 0">{"".join(rows)}</ul>'

    letters = ", ".join(LETTERS[i] for i in sorted(q.correct))
    correct = _("Answer: {letters}").format(letters=letters)
    return [
        q.id,
        f.inline("title"),
        f.markdown("prompt"),
        f.each(options),
        correct,
        f.each(rationales),
        f.markdown("explanation"),
        _source(q),
    ]


def _numeric(q: Numeric, f: _Fields) -> list[str]:
    seed = random.Random(f"llmq-export:{q.id}").randrange(2**32)  # the same numbers in every export
    drawn: dict[str, Any] = {}

    def instance(n: Question, lang: str) -> Any:
        if lang not in drawn:
            assert isinstance(n, Numeric)
            drawn[lang] = instantiate(n, random.Random(seed))
        return drawn[lang]

    prompt = f.each(lambda n, lang: markdown_html(instance(n, lang).prompt))
    solution = f.each(lambda n, lang: markdown_html(instance(n, lang).solution))
    value = next(iter(drawn.values())).answer
    answer = _("Answer: {value} {unit} (within {tolerance:g}%)").format(
        value=format(value, ",.4g"), unit=html.escape(q.unit), tolerance=q.tolerance * 100
    )
    return [q.id, f.inline("title"), prompt, answer, solution, _source(q)]


def _code(q: CodeExercise, f: _Fields) -> list[str]:
    try:
        reference = reference_solution(q.answer_path, q.function)
    except (OSError, SyntaxError, ValueError) as err:
        raise ExportError(
            _("Cannot read the reference solution of {id}: {error}").format(id=q.id, error=err),
            where=str(q.answer_path),
            todo=_("fix the answer module (`llmq verify` checks it), or export without it (--topic)."),
        ) from err
    hints = f.each(
        lambda c, lang: (
            "<ol>" + "".join(f"<li>{markdown_html(h)}</li>" for h in getattr(c, "hints", ())) + "</ol>"
            if getattr(c, "hints", ())
            else ""
        )
    )
    return [
        q.id,
        f.inline("title"),
        f.markdown("task"),
        code_html(q.stub),
        f"<p><b>{html.escape(_('Reference solution'))}</b></p>{code_html(reference)}",
        f"<p><b>{html.escape(_('Hints'))}</b></p>{hints}" if hints else "",
        _source(q),
    ]


def _cloze(q: Question, f: _Fields) -> list[str]:
    return [f.markdown("passage"), f.markdown("extra"), q.id, f.inline("title"), _source(q)]


def note_fields(question: Question, lang: str) -> list[str]:
    """The fields of the note for `question`, in its note type's order."""
    f = _Fields(question, lang)
    if isinstance(question, Choice):
        return _choice(question, f)
    if isinstance(question, Numeric):
        return _numeric(question, f)
    if isinstance(question, CodeExercise):
        return _code(question, f)
    if question.kind == "cloze":
        return _cloze(question, f)
    return _flashcard(question, f)


def note_tags(question: Question, deck: str | None) -> list[str]:
    """Anki tags (no spaces allowed): the topic, the kind, the deck, and the question's own tags."""
    tags = [f"llmq::{question.topic}", f"llmq::kind::{question.kind}"]
    if deck is not None:
        tags.append(f"llmq::deck::{deck}")
    tags += [f"llmq::tag::{'_'.join(t.split())}" for t in question.tags if t.strip()]
    return tags


def build_decks(bank: Bank, questions: Iterable[Question], lang: str) -> tuple[list[genanki.Deck], dict[str, int]]:
    """One Anki deck per (deck, topic), in bank order, and the count of notes per kind."""
    decks: dict[tuple[str | None, str], genanki.Deck] = {}
    counts: dict[str, int] = {}
    title_lang = "zh" if lang == "both" else lang
    for q in questions:
        deck = question_deck(q)
        key = (deck, q.topic)
        if key not in decks:
            topic = bank.topics.get(q.topic)
            title = topic.title_in(title_lang) if topic is not None else q.topic
            # An imported deck is one topic named after the deck: its Anki deck is llmq::<deck>.
            parts = [deck] if deck and q.topic == deck else [*([deck] if deck else []), title.replace("::", ":")]
            name = "::".join(["llmq", *parts])
            decks[key] = genanki.Deck(stable_id(f"deck:{deck or ''}:{q.topic}"), name)
        model = MODELS.get(q.kind, MODELS["flashcard"])
        decks[key].add_note(genanki.Note(model=model, fields=note_fields(q, lang), tags=note_tags(q, deck), guid=note_guid(q.id)))
        counts[q.kind] = counts.get(q.kind, 0) + 1
    return list(decks.values()), counts


def write_package(decks: list[genanki.Deck], path: Path) -> None:
    """The .apkg (a zip holding collection.anki2 and an empty media list), written beside `path`
    and moved into place, so a failed export leaves no half-written file."""
    path = path.resolve()
    with tempfile.TemporaryDirectory(prefix=".llmq-export-", dir=path.parent) as work:
        db = Path(work) / "collection.anki2"
        with new_sqlite_file(db) as cursor:
            timestamp = time.time()
            genanki.Package(decks).write_to_db(cursor, timestamp, itertools.count(int(timestamp * 1000)))
        staged = Path(work) / "package.apkg"
        with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as out:
            out.write(db, "collection.anki2")
            out.writestr("media", json.dumps({}))
        os.replace(staged, path)


def export_apkg(bank: Bank, questions: list[Question], path: Path, lang: str) -> ApkgSummary:
    decks, counts = build_decks(bank, questions, lang)
    write_package(decks, path)
    return ApkgSummary(path=path, notes=counts, decks=len(decks))
