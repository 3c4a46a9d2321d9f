"""`llmq export FILE.apkg`: open the package's collection with sqlite3 and check what Anki would
import: one note per question with its kind's note type, GUIDs from question ids (the same in
every export), tags, math for MathJax, code escaped, the reference read from the answer module."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import genanki
import pytest

from llmq.bank import Choice, CodeExercise, Numeric, Question

from .helpers import bank_questions, llmq

FIELD_SEP = "\x1f"


def _collection(apkg: Path, tmp_path: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(apkg) as z:
        assert set(z.namelist()) == {"collection.anki2", "media"}
        target = tmp_path / f"{apkg.stem}.anki2"
        target.write_bytes(z.read("collection.anki2"))
    return sqlite3.connect(target)


def _notes(conn: sqlite3.Connection) -> dict[str, tuple[str, str, list[str], int]]:
    """{question id: (guid, tags, fields, model id)}; the id is the field named Id."""
    models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
    out = {}
    for guid, tags, flds, mid in conn.execute("SELECT guid, tags, flds, mid FROM notes"):
        names = [f["name"] for f in models[str(mid)]["flds"]]
        fields = flds.split(FIELD_SEP)
        out[fields[names.index("Id")]] = (guid, tags, fields, mid)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The bundled bank exported twice in English and once in Chinese."""
    from llmq.cli import main

    folder = tmp_path_factory.mktemp("apkg")
    paths = (folder / "first.apkg", folder / "again.apkg", folder / "zh.apkg")
    assert main(["export", str(paths[0]), "--lang", "en"]) == 0
    assert main(["export", str(paths[1]), "--lang", "en"]) == 0
    assert main(["export", str(paths[2]), "--lang", "zh"]) == 0
    return paths


def test_one_note_and_one_card_per_question_with_guids_from_ids(exported: tuple[Path, ...], tmp_path: Path) -> None:
    questions = bank_questions()
    conn = _collection(exported[0], tmp_path)
    notes = _notes(conn)
    assert set(notes) == {q.id for q in questions}
    assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == len(questions)
    for q in questions:
        guid, tags, _fields, _mid = notes[q.id]
        assert guid == genanki.guid_for("llmq", q.id)
        assert f"llmq::{q.topic}" in tags.split() and f"llmq::kind::{q.kind}" in tags.split()
    assert len({n[0] for n in notes.values()}) == len(questions)


def test_exporting_again_keeps_guids_note_types_and_decks(exported: tuple[Path, ...], tmp_path: Path) -> None:
    first, again = _collection(exported[0], tmp_path), _collection(exported[1], tmp_path)

    def ids(conn: sqlite3.Connection) -> tuple[set[str], set[str], set[str]]:
        guids = {g for (g,) in conn.execute("SELECT guid FROM notes")}
        models = set(json.loads(conn.execute("SELECT models FROM col").fetchone()[0]))
        decks = set(json.loads(conn.execute("SELECT decks FROM col").fetchone()[0]))
        return guids, models, decks

    assert ids(first) == ids(again)
    # the language changes the text, never the identity
    assert ids(_collection(exported[2], tmp_path))[0] == ids(first)[0]


def test_each_kind_has_its_note_type_and_fields(exported: tuple[Path, ...], tmp_path: Path) -> None:
    conn = _collection(exported[0], tmp_path)
    notes = _notes(conn)
    models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
    by_id: dict[str, Question] = {q.id: q for q in bank_questions()}
    kinds = {q.kind: q for q in by_id.values()}
    seen_models = {kind: models[str(notes[q.id][3])]["name"] for kind, q in kinds.items()}
    assert len(set(seen_models.values())) == len(seen_models)  # one note type per kind

    choice = next(q for q in by_id.values() if isinstance(q, Choice) and q.rationales)
    fields = notes[choice.id][2]
    text = FIELD_SEP.join(fields)
    assert all(r.split()[0] in text for r in choice.rationales)
    assert "Answer: " + ", ".join("ABCDEFGH"[i] for i in sorted(choice.correct)) in text

    numeric = next(q for q in by_id.values() if isinstance(q, Numeric))
    text = FIELD_SEP.join(notes[numeric.id][2])
    assert "{{" not in text and numeric.unit in text  # one drawn instance: every placeholder filled

    code = next(q for q in by_id.values() if isinstance(q, CodeExercise) and q.id == "alignment.dpo_loss")
    names = [f["name"] for f in models[str(notes[code.id][3])]["flds"]]
    fields = dict(zip(names, notes[code.id][2]))
    assert "<pre><code" in fields["Stub"] and "def dpo_loss" in fields["Stub"]
    assert "def reference(" in fields["Reference"] and "dpo_loss = reference" in fields["Reference"]
    assert "WRONG_ANSWERS" not in fields["Reference"] and "hypothesis" not in fields["Reference"]
    assert "<li>" in fields["Hints"]


def test_math_is_for_mathjax_and_code_is_escaped(exported: tuple[Path, ...], tmp_path: Path) -> None:
    notes = _notes(_collection(exported[0], tmp_path))
    card = notes["attention.score_matrix_memory"][2]
    assert "\\(S = QK^\\top / \\sqrt{d}\\)" in FIELD_SEP.join(card) and "$S" not in FIELD_SEP.join(card)
    everything = FIELD_SEP.join(FIELD_SEP.join(n[2]) for n in notes.values())
    assert "<script" not in everything
    assert "&lt;" in everything  # a `<` in code or math, escaped


def test_lang_chooses_the_text(exported: tuple[Path, ...], tmp_path: Path) -> None:
    en, zh = _notes(_collection(exported[0], tmp_path)), _notes(_collection(exported[2], tmp_path))
    q = next(q for q in bank_questions() if "zh" in q.i18n and q.kind == "flashcard")
    assert q.title in en[q.id][2][1]
    assert str(q.text("title", "zh")) in zh[q.id][2][1] and q.title not in zh[q.id][2][1]


def test_topic_narrows_and_a_wrong_topic_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "norm.apkg"
    code, out, err = llmq(capsys, "export", str(path), "--topic", "norm")
    assert code == 0, err
    notes = _notes(_collection(path, tmp_path))
    assert notes and all(i.startswith("norm.") for i in notes)
    code, out, err = llmq(capsys, "export", str(tmp_path / "x.apkg"), "--topic", "nrom")
    assert code == 2 and "did you mean norm" in err
    assert not (tmp_path / "x.apkg").exists()


def test_export_does_not_import_torch(tmp_path: Path) -> None:
    script = (
        "import sys; from llmq.cli import main; "
        f"code = main(['export', {str(tmp_path / 'b.apkg')!r}, '--topic', 'attention']); "
        "print(code, 'torch' in sys.modules, 'textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stderr


DECK_YAML = """\
topic: mynotes
title: mynotes
questions:
- id: mynotes.gqa.share
  kind: flashcard
  title: GQA › 共享什么
  difficulty: medium
  source: mynotes.md
  refs:
  - notes/mynotes.md
  prompt: GQA 在 $g$ 个 query 头之间共享什么？
  answer: K 和 V
- id: mynotes.mqa.cache.c1
  kind: cloze
  title: MQA › KV cache
  difficulty: medium
  source: mynotes.md
  refs:
  - notes/mynotes.md
  passage: MQA 的 KV cache 是 MHA 的 {{c1::$1/H$}}。
"""


def test_an_imported_deck_exports_alone_with_its_cloze_as_an_anki_cloze(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path
) -> None:
    questions = _private_home / "decks" / "mynotes" / "questions"
    questions.mkdir(parents=True)
    (questions / "mynotes.yaml").write_text(DECK_YAML, encoding="utf-8")
    path = tmp_path / "deck.apkg"
    code, out, err = llmq(capsys, "export", str(path), "--deck", "mynotes")
    assert code == 0, err
    conn = _collection(path, tmp_path)
    notes = _notes(conn)
    assert set(notes) == {"mynotes.gqa.share", "mynotes.mqa.cache.c1"}
    models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
    guid, tags, fields, mid = notes["mynotes.mqa.cache.c1"]
    assert models[str(mid)]["type"] == 1  # Anki's cloze type
    assert fields[0] == "<p>MQA 的 KV cache 是 MHA 的 {{c1::\\(1/H\\)}}。</p>"
    assert "llmq::deck::mynotes" in tags.split()
    assert [
        d["name"] for d in json.loads(conn.execute("SELECT decks FROM col").fetchone()[0]).values() if "llmq" in d["name"]
    ] == ["llmq::mynotes"]
    code, out, err = llmq(capsys, "export", str(tmp_path / "x.apkg"), "--deck", "mynote")
    assert code == 2 and "did you mean mynotes" in err
