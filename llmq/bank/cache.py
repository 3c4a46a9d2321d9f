"""A cache of the validated bank, so the app does not re-parse YAML and answer modules at every start.

The cache is data only: a JSON file in LLMQ_HOME/cache. Nothing in it can run code when read (no
pickle, no eval): everything under LLMQ_HOME may have been written by someone else (a submission
that got out, a hand edit), so the file is never trusted. Reading it checks every field's type and
value and gives up (the caller validates the bank afresh and rewrites the cache) at the first thing
that is not exactly what `write` produces: a damaged, truncated, hand-edited or planted cache costs
one validation, never a traceback. No path comes from the file: answer modules and question files
are found from the bank roots of this run and each question's id (dotted words), so even a forged
cache can only change the text of questions, never which code llmq or its judge runs.

Like Python's .pyc files, the key is every bank file's path, inode, modification time and size,
plus llmq's version and the same of every file of llmq/bank (the loader, the validator and this
module), so an edit of a bank or of llmq's own bank code makes the next load validate from scratch.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import stat
import zlib
from pathlib import Path
from typing import Any, TypeVar

from llmq import __version__
from llmq.bank.i18n import LIST_FIELDS, LOCALES, TRANSLATABLE
from llmq.bank.model import (
    DIFFICULTIES,
    ID_RE,
    TRACKS,
    Bank,
    Choice,
    Cloze,
    CodeExercise,
    Flashcard,
    Location,
    Numeric,
    NumericParam,
    Question,
    Topic,
)
from llmq.datadir import data_dir

# of the cache file; 1 was a pickle; 3 added choice rationales; 4 translations (i18n); 5 cloze;
# 6 flashcards' key_points and code exercises' followups
FORMAT = 6
_PREFIX = "bank-"
_SUFFIX = ".json"
_SIZE_CAP = 64 << 20  # bytes: a bigger file is not ours
_BANK_CODE = Path(__file__).resolve().parent  # llmq/bank: the code that turns a bank into records


def _identity(entry: os.DirEntry[str]) -> str:
    try:
        st = entry.stat()
    except OSError:
        return f"{entry.path}\0missing"
    return f"{entry.path}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_size}"


def _entries(folder: str, suffix: str, recursive: bool) -> list[os.DirEntry[str]]:
    """Files named *suffix in `folder` (and below it, following links to folders once each),
    sorted by path. os.scandir, not pathlib: this runs at every start."""
    found: list[os.DirEntry[str]] = []
    stack, seen = [folder], set()
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.name.endswith(suffix):
                        found.append(entry)
                    elif recursive and entry.name != "__pycache__" and entry.is_dir():
                        st = entry.stat()
                        if (st.st_dev, st.st_ino) not in seen:  # a link loop is walked once
                            seen.add((st.st_dev, st.st_ino))
                            stack.append(entry.path)
        except OSError:
            continue
    return sorted(found, key=lambda e: e.path)


def cache_key(roots: list[Path]) -> str:
    """Every bank file's identity, and llmq's own bank code's, as text; the cache file stores it
    and is used only on an exact match (so no hash is needed: hashlib alone costs start-up a few
    milliseconds)."""
    lines = [f"llmq {__version__} cache {FORMAT}"]
    lines += map(_identity, _entries(str(_BANK_CODE), ".py", recursive=False))
    for root in roots:
        lines.append(f"root {root}")
        lines += map(_identity, _entries(os.path.join(root, "questions"), ".yaml", recursive=False))
        lines += map(_identity, _entries(os.path.join(root, "answers"), ".py", recursive=True))
    return "\n".join(lines)


def _file_name(key: str) -> str:
    # A short name for the key; two keys sharing one name only means a cache miss (the stored
    # key is compared in full).
    return f"{_PREFIX}{zlib.crc32(key.encode()):08x}{_SUFFIX}"


def _cache_dir() -> Path:
    return data_dir() / "cache"


# --- records <-> JSON rows ----------------------------------------------------------------------
#
# One question is one JSON array, its fields in a fixed order (no keys to parse): the common ones,
# then its kind's. Where a question was written is [root index, file name, line]; no other path is
# stored. A parameter of a numeric template is [name, low, high, integer, [choices]].

# + root, file, line
_COMMON = ("kind", "id", "topic", "title", "tags", "difficulty", "source", "refs", "track", "source_heading")
# After the kind's fields: the translations, {locale: {field: text or [texts]}} as in the YAML.
_KIND_ROW: dict[str, tuple[type[Question], tuple[str, ...]]] = {
    "flashcard": (Flashcard, ("prompt", "answer", "key_points")),
    "choice": (Choice, ("prompt", "options", "correct", "explanation", "rationales")),
    "numeric": (Numeric, ("prompt", "params", "unit", "tolerance", "solution")),
    "code": (CodeExercise, ("task", "function", "stub", "hints", "timeout_s", "followups")),
    "cloze": (Cloze, ("passage", "extra")),
}


def _place(file: Path, roots: tuple[Path, ...]) -> list[Any]:
    """[root index, file name] of a question file: questions/NAME.yaml under one of the roots."""
    for index, root in enumerate(roots):
        if file.parent == root / "questions":
            return [index, file.name]
    raise ValueError(f"{file} is in no bank's questions/ folder")


def _encode_question(q: Question, roots: tuple[Path, ...]) -> list[Any]:
    if q.kind not in _KIND_ROW or type(q) is not _KIND_ROW[q.kind][0]:
        raise ValueError(f"no cache form for a {type(q).__name__} of kind {q.kind!r}")
    row: list[Any] = [getattr(q, name) for name in _COMMON]
    row += [*_place(q.where.file, roots), q.where.line]
    for name in _KIND_ROW[q.kind][1]:
        value = getattr(q, name)
        if name == "correct":
            value = sorted(value)
        elif name == "params":
            value = [[p.name, p.low, p.high, p.integer, list(p.choices)] for p in value]
        row.append(value)
    row.append({lang: {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()} for lang, fields in q.i18n.items()})
    return row


def encode(bank: Bank) -> dict[str, Any]:
    """The bank as JSON-ready data (raises ValueError for a record it has no form for)."""
    roots = bank.roots
    return {
        "questions": [_encode_question(q, roots) for q in bank.questions.values()],
        "topics": [[t.name, t.title, *_place(t.file, roots), dict(t.titles)] for t in bank.topics.values()],
    }


class _Invalid(Exception):
    """The cache file is not exactly what `write` makes."""


_STR = {str}
_NUMBER = {int, float}


def _texts(value: Any) -> tuple[str, ...]:
    if type(value) is not list or not set(map(type, value)) <= _STR:
        raise _Invalid
    return tuple(value)


def _number(value: Any) -> float:
    if type(value) not in _NUMBER:
        raise _Invalid
    return float(value)


_RecordT = TypeVar("_RecordT")


def _record(cls: type[_RecordT], values: dict[str, Any]) -> _RecordT:
    """An instance of a (frozen) dataclass from all its fields, already checked.

    Built as pickle builds objects, without running __init__ (which would be two thirds of the
    cost of a cache hit); `_SCHEMA_OK` makes sure the rows carry exactly the classes' fields.
    """
    record = object.__new__(cls)
    record.__dict__.update(values)
    return record


class _Decoder:
    """Rebuilds records from decoded JSON; raises _Invalid at the first thing out of place."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self.files: dict[tuple[Any, Any], Path] = {}  # shared Path objects, one per question file

    def file(self, index: Any, name: Any) -> Path:
        path = self.files.get((index, name))
        if path is None:
            # A plain file name in questions/ of one of this run's roots: nothing else.
            if type(index) is not int or not 0 <= index < len(self.roots) or type(name) is not str:
                raise _Invalid
            if not name.endswith(".yaml") or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
                raise _Invalid
            path = self.files[(index, name)] = self.roots[index] / "questions" / name
        return path

    def params(self, value: Any) -> tuple[NumericParam, ...]:
        if type(value) is not list:
            raise _Invalid
        params = []
        for raw in value:
            if type(raw) is not list or len(raw) != 5:
                raise _Invalid
            name, low, high, integer, choices = raw
            if type(name) is not str or not name.isidentifier() or type(integer) is not bool or type(choices) is not list:
                raise _Invalid
            if not set(map(type, choices)) <= {int, float, str}:
                raise _Invalid
            if choices:
                if low is not None or high is not None or integer:
                    raise _Invalid
            elif type(low) not in _NUMBER or type(high) not in _NUMBER:
                raise _Invalid
            params.append(NumericParam(name=name, low=low, high=high, integer=integer, choices=tuple(choices)))
        return tuple(params)

    def translations(self, kind: str, value: Any, english: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The i18n of one question, checked as the validator checks it: known locales, the
        kind's translatable fields, text where the English has text, lists of its length."""
        if type(value) is not dict:
            raise _Invalid
        result: dict[str, dict[str, Any]] = {}
        allowed = {"from_en", *TRANSLATABLE[kind]}
        for lang, fields in value.items():
            if (
                lang not in LOCALES
                or type(fields) is not dict
                or type(fields.get("from_en")) is not str
                or not fields.keys() <= allowed
            ):
                raise _Invalid
            checked: dict[str, Any] = {}
            for name, text in fields.items():
                if name in LIST_FIELDS:
                    texts = _texts(text)
                    if len(texts) != len(english[name]):
                        raise _Invalid
                    checked[name] = texts
                elif type(text) is not str:
                    raise _Invalid
                else:
                    checked[name] = text
            result[lang] = checked
        return result

    def question(self, row: Any) -> Question:
        if type(row) is not list or len(row) < 14:
            raise _Invalid
        kind, qid, topic, title, tags, difficulty, source, refs, track, heading, root, file, line = row[:13]
        rest, translations = row[13:-1], row[-1]
        if {type(kind), type(qid), type(topic), type(title), type(source), type(heading)} != _STR or type(line) is not int:
            raise _Invalid
        if kind not in _KIND_ROW or difficulty not in DIFFICULTIES or track not in TRACKS or not ID_RE.fullmatch(qid):
            raise _Invalid
        cls, names = _KIND_ROW[kind]
        if len(rest) != len(names):
            raise _Invalid
        where = _record(Location, {"file": self.file(root, file), "line": line})
        values: dict[str, Any] = {
            "id": qid,
            "kind": kind,
            "topic": topic,
            "title": title,
            "tags": _texts(tags),
            "difficulty": difficulty,
            "source": source,
            "source_heading": heading,
            "refs": _texts(refs),
            "track": track,
            "where": where,
        }
        if kind == "flashcard":
            prompt, answer, key_points = rest
            if {type(prompt), type(answer)} != _STR:
                raise _Invalid
            values["prompt"], values["answer"], values["key_points"] = prompt, answer, _texts(key_points)
        elif kind == "choice":
            prompt, options, correct, explanation, rationales = rest
            if {type(prompt), type(explanation)} != _STR or type(correct) is not list or not set(map(type, correct)) <= {int}:
                raise _Invalid
            values |= {
                "prompt": prompt,
                "options": _texts(options),
                "correct": frozenset(correct),
                "explanation": explanation,
                "rationales": _texts(rationales),
            }
            if values["rationales"] and len(values["rationales"]) != len(values["options"]):
                raise _Invalid
        elif kind == "cloze":
            passage, extra = rest
            if {type(passage), type(extra)} != _STR:
                raise _Invalid
            values["passage"], values["extra"] = passage, extra
        elif kind == "numeric":
            prompt, params, unit, tolerance, solution = rest
            if {type(prompt), type(unit), type(solution)} != _STR:
                raise _Invalid
            values |= {
                "prompt": prompt,
                "params": self.params(params),
                "unit": unit,
                "tolerance": _number(tolerance),
                "solution": solution,
            }
        else:
            task, function, stub, hints, timeout_s, followups = rest
            if {type(task), type(function), type(stub)} != _STR:
                raise _Invalid
            values |= {
                "task": task,
                "function": function,
                "stub": stub,
                "hints": _texts(hints),
                "timeout_s": _number(timeout_s),
                "followups": _texts(followups),
            }
            # An id names questions only: a forged cache must not smuggle anything else through.
            if not all(ID_RE.fullmatch(i) for i in values["followups"]):
                raise _Invalid
        values["i18n"] = self.translations(kind, translations, values)
        if kind in ("numeric", "code"):
            # The answer module is found from this run's bank root and the id, never from the file.
            values["answer_path"] = self.roots[root] / "answers" / Path(*qid.split(".")).with_suffix(".py")
        return _record(cls, values)

    def bank(self, data: Any) -> Bank:
        if type(data) is not dict:
            raise _Invalid
        rows, raw_topics = data.get("questions"), data.get("topics")
        if type(rows) is not list or type(raw_topics) is not list:
            raise _Invalid
        questions: dict[str, Question] = {}
        for row in rows:
            q = self.question(row)
            if q.id in questions:
                raise _Invalid
            questions[q.id] = q
        topics: dict[str, Topic] = {}
        for raw in raw_topics:
            if type(raw) is not list or len(raw) != 5:
                raise _Invalid
            name, title, index, file, titles = raw
            if {type(name), type(title)} != _STR or type(titles) is not dict:
                raise _Invalid
            if not titles.keys() <= set(LOCALES) or not set(map(type, titles.values())) <= _STR:
                raise _Invalid
            topics[name] = Topic(name=name, title=title, file=self.file(index, file), titles=titles)
        if {q.topic for q in questions.values()} != topics.keys():
            raise _Invalid
        return Bank(questions=questions, topics=topics, roots=self.roots)


def _schema_ok() -> bool:
    """The rows carry exactly each record class's fields (else no cache is read: a new field
    added to model.py without a place in the rows must not give records that lack it)."""
    common = {*_COMMON, "where", "i18n"}
    for cls, names in _KIND_ROW.values():
        own = {*common, *names} | ({"answer_path"} if cls in (Numeric, CodeExercise) else set())
        if own != {f.name for f in dataclasses.fields(cls)}:
            return False
    return {f.name for f in dataclasses.fields(Location)} == {"file", "line"} and {f.name for f in dataclasses.fields(Topic)} == {
        "name",
        "title",
        "file",
        "titles",
    }


_SCHEMA_OK = _schema_ok()


def decode(data: Any, roots: tuple[Path, ...]) -> Bank | None:
    """The Bank in `data` (as `encode` made it) for these roots, or None if anything is off."""
    if not _SCHEMA_OK:
        return None
    try:
        return _Decoder(roots).bank(data)
    except (_Invalid, KeyError, TypeError, ValueError, AttributeError):
        return None


# --- the file ---------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file of sane size; never blocks (a FIFO planted here)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _SIZE_CAP:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(_SIZE_CAP + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def read(key: str, roots: list[Path]) -> Bank | None:
    """The cached bank for `key`, or None: missing, stale, or anything short of exactly right."""
    raw = _read_bytes(_cache_dir() / _file_name(key))
    if raw is None:
        return None
    # Thousands of new objects and no garbage: the collector's passes would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        data = json.loads(raw)
        if type(data) is not dict or data.get("format") != FORMAT or data.get("key") != key:
            return None
        return decode(data.get("bank"), tuple(roots))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    finally:
        if collecting:
            gc.enable()


def write(key: str, bank: Bank) -> None:
    """Save atomically, and drop older caches (a pickle of llmq before 0.2 too). Never fails the caller.

    Only a bank that reads back equal is written: a record this module cannot carry yet (a new
    field) means no cache, never a wrong one.
    """
    import tempfile  # only when writing: not on the start-up path

    try:
        data = encode(bank)
    except ValueError:
        return
    if decode(json.loads(json.dumps(data)), bank.roots) != bank:
        return
    # ASCII only: the parser reads pure-ASCII text about a third faster than text with a few Chinese characters.
    text = json.dumps({"format": FORMAT, "key": key, "bank": data}, ensure_ascii=True, separators=(",", ":"))
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("ascii"))
            target = folder / _file_name(key)
            os.replace(tmp, target)
        except OSError:
            os.unlink(tmp)
            raise
        for old in [*folder.glob(f"{_PREFIX}*{_SUFFIX}"), *folder.glob(f"{_PREFIX}*.pickle")]:
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:
        pass
