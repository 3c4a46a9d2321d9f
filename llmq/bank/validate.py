"""Validate banks: YAML topic files + answer modules -> typed records, or every error.

A bank with any error is not loaded at all (never half-loaded), and the errors of every file are
reported together, each naming file:line, the field, and what is wrong. `loader.load_bank` calls
this only when the bank changed since it last validated (bank/cache.py).
"""

from __future__ import annotations

import ast
import math
import os
import random
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from llmq.bank import deck_state, i18n, numeric, numeric_runner, yaml_lines
from llmq.bank import teaches as teaches_mod
from llmq.bank.errors import BankError, BankIssue
from llmq.bank.model import (
    CLOZE_GAP_RE,
    DIFFICULTIES,
    ID_RE,
    KINDS,
    NOTE_SOURCES,
    TOPIC_RE,
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
from llmq.bank.paths import answer_path
from llmq.bank.yaml_lines import LinedDict
from llmq.datadir import data_dir
from llmq.defaults import CHECK_TIMEOUT_S

COMMON_REQUIRED = ("id", "kind", "title", "difficulty", "source", "refs")
COMMON_OPTIONAL = ("topic", "tags", "track", "i18n", "source_heading")  # i18n: translations (llmq/bank/i18n.py)
SOURCE_HEADING_MAX = 120  # characters: a heading is a short title, never a passage of the notes
KEY_POINTS_COUNT = (2, 4)  # a flashcard's key_points: fewer is the answer itself, more is a list to recite
KEY_POINT_MAX = 160  # characters: a point is a phrase to tick off, not a paragraph
FOLLOWUPS_COUNT = (2, 4)  # card ids after a code exercise: what one round of follow-up questions holds
KIND_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required, optional)
    # key_points and followups: optional for banks of one's own; the bundled bank's code exercises
    # all have followups (tests/bank/test_followups.py)
    "flashcard": (("prompt", "answer"), ("key_points",)),
    # rationales: optional for banks of one's own; the bundled bank has them all (tests/bank/test_loader.py)
    "choice": (("prompt", "options", "correct", "explanation"), ("rationales",)),
    "numeric": (("prompt", "params", "unit", "tolerance", "solution"), ()),
    "code": (("task", "function", "stub", "hints"), ("timeout_s", "followups")),
    "cloze": (("passage",), ("extra",)),
}
FILE_FIELDS = ("topic", "title", "questions", "i18n")


class _Collector:
    def __init__(self) -> None:
        self.issues: list[BankIssue] = []
        # (file, line, exercise id, followups): checked once every question of every bank is read
        self.followups: list[tuple[Path, int, str, tuple[str, ...]]] = []
        # (answer module, its checks' teaches=): checked, like followups, against the whole bank
        self.teaches: list[tuple[Path, list[teaches_mod.Teaching]]] = []

    def add(self, file: Path, line: int, field: str, message: str) -> None:
        self.issues.append(BankIssue(file, line, field, message))


def _kind_name(value: Any) -> str:
    return {str: "text", int: "a whole number", float: "a number", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


class _QuestionReader:
    """Reads one question mapping into a record, reporting every field problem."""

    def __init__(self, raw: LinedDict, file: Path, root: Path, topic: str, out: _Collector, *, cards_only: bool = False) -> None:
        self.raw, self.file, self.root, self.topic, self.out = raw, file, root, topic, out
        self.cards_only = cards_only  # a bank in the data folder: no question that runs an answer module
        self.ok = True

    def err(self, field: str, message: str, line: int | None = None) -> None:
        """Report a problem with `field`, at its own line unless `line` says where."""
        self.ok = False
        if line is None:
            line = self.raw.line_of(field) if field else self.raw.line
        self.out.add(self.file, line, field, message)

    def text(self, field: str, *, allow_empty: bool = False) -> str:
        value = self.raw.get(field)
        if not isinstance(value, str):
            self.err(field, f"must be text, not {_kind_name(value)}")
            return ""
        if not allow_empty and not value.strip():
            self.err(field, "must not be empty")
        return value

    def text_list(self, field: str, *, min_len: int = 0) -> tuple[str, ...]:
        value = self.raw.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.err(field, "must be a list of non-empty texts")
            return ()
        if len(value) < min_len:
            self.err(field, f"needs at least {min_len} entr{'y' if min_len == 1 else 'ies'}, has {len(value)}")
        return tuple(value)

    def enum(self, field: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.raw.get(field, default)
        if value not in allowed:
            self.err(field, f"must be one of {', '.join(allowed)}, not {value!r}")
            return allowed[0]
        return str(value)

    def number(self, field: str, *, positive: bool = True) -> float:
        value = self.raw.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.err(field, f"must be a number, not {_kind_name(value)}")
            return 1.0
        if positive and value <= 0:
            self.err(field, f"must be greater than 0, not {value}")
        return float(value)

    def read(self) -> Question | None:
        raw = self.raw
        kind = raw.get("kind")
        if kind not in KINDS:
            self.err("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
            return None
        if self.cards_only and kind in ("numeric", "code"):
            self.err(
                "kind",
                f"a bank inside llmq's data folder ({data_dir(create=False)}) may hold cards only: a {kind} "
                "question runs an answer module, and nothing in the data folder may run code; move the bank out",
            )
            return None
        required, optional = KIND_FIELDS[kind]
        allowed = set(COMMON_REQUIRED) | set(COMMON_OPTIONAL) | set(required) | set(optional)
        for key in raw:
            if key not in allowed:
                close = _closest(str(key), allowed)
                hint = f" (did you mean {close!r}?)" if close else ""
                self.err(str(key), f"unknown field for a {kind} question{hint}")
        for key in (*COMMON_REQUIRED, *required):
            if key not in raw:
                self.err(key, f"missing (a {kind} question needs it)", line=raw.line)
        if not self.ok:
            return None

        qid = self.text("id")
        if qid and not ID_RE.match(qid):
            self.err("id", f"{qid!r} must be dotted lowercase words, like attention.gqa")
        topic = raw.get("topic", self.topic)
        if not isinstance(topic, str) or not TOPIC_RE.match(topic):
            self.err("topic", f"must be a lowercase word, not {topic!r}")
        source = self.text("source")
        # A deck in the data folder names the user's own notes; the bundled bank names NOTES.md's.
        if source and not self.cards_only and source.split(":", 1)[0] not in NOTE_SOURCES:
            self.err("source", f"{source!r} names no note; use one of {', '.join(NOTE_SOURCES)} (optionally note:file)")
        heading = self.source_heading(source)
        common: dict[str, Any] = {
            "id": qid,
            "kind": kind,
            "topic": topic,
            "title": self.text("title"),
            "tags": self.text_list("tags"),
            "difficulty": self.enum("difficulty", DIFFICULTIES),
            "source": source,
            "source_heading": heading,
            "refs": self.text_list("refs", min_len=1),
            "track": self.enum("track", TRACKS, "cpu"),
            "where": Location(file=self.file, line=raw.line),
            "i18n": self.translations(kind),
        }
        builder: Callable[[dict[str, Any]], Question | None] = getattr(self, f"_{kind}")
        question = builder(common)
        return question if self.ok else None

    def source_heading(self, source: str) -> str:
        """`source_heading:` (optional): one short line, and only where `source` names a note file."""
        if "source_heading" not in self.raw:
            return ""
        heading = self.text("source_heading").strip()
        if not heading:
            return ""
        if ":" not in source:
            self.err("source_heading", f"names a heading, but source {source!r} names no note file; write source: note:file.md")
        elif "\n" in heading or len(heading) > SOURCE_HEADING_MAX:
            self.err(
                "source_heading",
                f"must be the heading's text on one line (at most {SOURCE_HEADING_MAX} characters), not a passage of the note",
            )
        elif heading.startswith("#"):
            self.err("source_heading", "write the heading's text without the leading #")
        return heading

    def translations(self, kind: str) -> dict[str, dict[str, Any]]:
        """The `i18n:` block: locale -> translated fields, each checked against the English."""
        if "i18n" not in self.raw:
            return {}
        raw = self.raw["i18n"]
        if not isinstance(raw, LinedDict):
            self.err(
                "i18n",
                f"must be a mapping of locale to translated fields, like {{zh: {{from_en: ..., title: ...}}}}, not {_kind_name(raw)}",
            )
            return {}
        allowed = ("from_en", *i18n.TRANSLATABLE[kind])
        result: dict[str, dict[str, Any]] = {}
        for locale, block in raw.items():
            where = f"i18n.{locale}"
            if locale not in i18n.LOCALES:
                self.err(
                    where,
                    f"{locale!r} is not a locale llmq has; use one of {', '.join(i18n.LOCALES)}",
                    line=raw.line_of(str(locale)),
                )
                continue
            if not isinstance(block, LinedDict):
                self.err(where, f"must be a mapping of translated fields, not {_kind_name(block)}", line=raw.line_of(locale))
                continue
            fields: dict[str, Any] = {}
            for key, value in block.items():
                name, line = f"{where}.{key}", block.line_of(str(key))
                if key not in allowed:
                    close = _closest(str(key), list(allowed))
                    hint = f" (did you mean {close!r}?)" if close else ""
                    self.err(
                        name,
                        f"cannot be translated in a {kind} question{hint}; translatable: {', '.join(allowed[1:])}",
                        line=line,
                    )
                    continue
                if key == "from_en":
                    if not isinstance(value, str):
                        # An all-digit hash unquoted reads as a number: say how to write it.
                        self.err(name, f'must be text in quotes (from_en: "{value}"), not {_kind_name(value)}', line=line)
                        continue
                    fields[key] = value
                    continue
                english = self.raw.get(key)
                if key in i18n.LIST_FIELDS:
                    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                        self.err(name, "must be a list of non-empty texts", line=line)
                        continue
                    if not isinstance(english, list) or len(value) != len(english):
                        count = len(english) if isinstance(english, list) else 0
                        self.err(
                            name,
                            f"has {len(value)} entries, the English {key} has {count}: translate each, in the same order",
                            line=line,
                        )
                        continue
                    value = tuple(value)
                elif not isinstance(value, str) or not value.strip():
                    self.err(name, f"must be non-empty text, not {_kind_name(value)}", line=line)
                    continue
                for problem in i18n.structure_problems(
                    kind, self.raw, str(key), list(value) if isinstance(value, tuple) else value
                ):
                    self.err(name, problem, line=line)
                fields[key] = value
            if "from_en" not in block:
                self.err(
                    where,
                    "needs from_en: the hash of the English it translates (python -m llmq.bank.i18n hashes FILE)",
                    line=block.line,
                )
            result[locale] = fields
        return result

    def _flashcard(self, common: dict[str, Any]) -> Question:
        key_points = self.short_list("key_points", KEY_POINTS_COUNT, "points the answer must contain")
        for point in key_points:
            if "\n" in point.strip() or len(point) > KEY_POINT_MAX:
                self.err("key_points", f"{_short(point)} is not a short point: one line of at most {KEY_POINT_MAX} characters")
        return Flashcard(**common, prompt=self.text("prompt"), answer=self.text("answer"), key_points=key_points)

    def short_list(self, field: str, count: tuple[int, int], what: str) -> tuple[str, ...]:
        """An optional list of `count[0]` to `count[1]` different non-empty texts (`what` they are)."""
        if field not in self.raw:
            return ()
        items = self.text_list(field)
        low, high = count
        if items and not low <= len(items) <= high:
            self.err(field, f"needs {low} to {high} {what}, has {len(items)}")
        twice = sorted({i for i in items if items.count(i) > 1})
        if twice:
            self.err(field, f"names {', '.join(map(_short, twice))} twice")
        return items

    def _cloze(self, common: dict[str, Any]) -> Question:
        passage = self.text("passage")
        if passage and not CLOZE_GAP_RE.search(passage):
            self.err("passage", "has no gap: write each hidden part as {{c1::answer}} (or {{c1::answer::hint}})")
        extra = self.text("extra", allow_empty=True) if "extra" in self.raw else ""
        return Cloze(**common, passage=passage, extra=extra)

    def _choice(self, common: dict[str, Any]) -> Question | None:
        options = self.text_list("options")
        if options and not 2 <= len(options) <= 8:
            self.err("options", f"needs 2 to 8 options, has {len(options)}")
        if len(set(options)) != len(options):
            self.err("options", "has the same option twice")
        correct = self.raw.get("correct")
        if isinstance(correct, int) and not isinstance(correct, bool):
            correct = [correct]
        indices: set[int] = set()
        if (
            not isinstance(correct, list)
            or not correct
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in correct)
        ):
            self.err("correct", "must be a non-empty list of option indices (0-based)")
        else:
            for i in correct:
                if not 0 <= i < len(options):
                    self.err("correct", f"index {i} is not an option (there are {len(options)}, counted from 0)")
            indices = set(correct)
        rationales: tuple[str, ...] = ()
        if "rationales" in self.raw:
            rationales = self.text_list("rationales")
            if rationales and options and len(rationales) != len(options):
                self.err(
                    "rationales",
                    f"has {len(rationales)} entr{'y' if len(rationales) == 1 else 'ies'}, "
                    f"options has {len(options)}: give one rationale per option, in the same order",
                )
        return Choice(
            **common,
            prompt=self.text("prompt"),
            options=options,
            correct=frozenset(indices),
            explanation=self.text("explanation"),
            rationales=rationales,
        )

    def _params(self) -> tuple[NumericParam, ...]:
        raw = self.raw.get("params")
        if not isinstance(raw, dict) or not raw:
            self.err("params", "must be a mapping of parameter names to {min, max} or {choices}")
            return ()
        params: list[NumericParam] = []
        for name, spec in raw.items():
            field = f"params.{name}"
            line = raw.line_of(name) if isinstance(raw, LinedDict) else self.raw.line_of("params")
            if not isinstance(name, str) or not name.isidentifier():
                self.err(field, "parameter names must be Python identifiers", line=line)
                continue
            if not isinstance(spec, dict):
                self.err(field, "must be {min: .., max: ..} or {choices: [..]}", line=line)
                continue
            extra = set(spec) - {"min", "max", "integer", "choices"}
            if extra:
                self.err(field, f"unknown keys {sorted(extra)}", line=line)
            if "choices" in spec:
                choices = spec["choices"]
                if not isinstance(choices, list) or not choices or set(spec) - {"choices"}:
                    self.err(field, "choices must be a non-empty list, alone", line=line)
                    continue
                if not all(isinstance(c, (int, float, str)) and not isinstance(c, bool) for c in choices):
                    self.err(field, "each choice must be a number or a text", line=line)
                    continue
                params.append(NumericParam(name=name, choices=tuple(choices)))
                continue
            low, high, integer = spec.get("min"), spec.get("max"), spec.get("integer", False)
            numbers_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high))
            if not numbers_ok:
                self.err(field, "min and max must both be numbers", line=line)
                continue
            if low > high:  # type: ignore[operator]
                self.err(field, f"min {low} is above max {high}", line=line)
                continue
            if not isinstance(integer, bool):
                self.err(field, "integer must be true or false", line=line)
                continue
            params.append(NumericParam(name=name, low=low, high=high, integer=integer))
        return tuple(params)

    def _numeric(self, common: dict[str, Any]) -> Question | None:
        params = self._params()
        unit = self.text("unit", allow_empty=True)
        tolerance = self.number("tolerance")
        if tolerance >= 0.5:
            self.err("tolerance", f"a relative tolerance of {tolerance} would accept nearly anything")
        question = Numeric(
            **common,
            prompt=self.text("prompt"),
            params=params,
            unit=unit,
            tolerance=tolerance,
            solution=self.text("solution"),
            answer_path=answer_path(self.root, common["id"]),
        )
        if self.ok:
            self._check_numeric_module(question)
        return question

    def _check_numeric_module(self, q: Numeric) -> None:
        path = q.answer_path
        if not path.is_file():
            self.err("id", f"no answer module: expected {path}")
            return
        known = {p.name for p in q.params} | {"answer"}
        rng = random.Random(0)
        trials = numeric.edge_params(q.params) + [numeric.sample_params(q.params, rng) for _ in range(5)]
        # In a child process with a time limit: a module that loops at import is reported, not run here.
        try:
            results = numeric_runner.evaluate(path, trials)
        except numeric_runner.NumericAnswerError as exc:
            self.err("params" if exc.stage == "answer" else "id", str(exc))
            return
        for values, (value, steps) in zip(trials, results, strict=True):
            if not math.isfinite(value):
                self.err("params", f"answer() gives {value} for {values}")
                return
            known |= set(steps)
        for field in ("prompt", "solution"):
            unknown = numeric.placeholders(getattr(q, field)) - known
            if unknown:
                self.err(field, f"uses {{{{{', '.join(sorted(unknown))}}}}}, which is neither a parameter, answer, nor a step")

    def _code(self, common: dict[str, Any]) -> Question | None:
        function = self.text("function")
        if function and not function.isidentifier():
            self.err("function", f"{function!r} is not a Python function name")
        stub = self.text("stub")
        timeout = self.number("timeout_s") if "timeout_s" in self.raw else CHECK_TIMEOUT_S
        question = CodeExercise(
            **common,
            task=self.text("task"),
            function=function,
            stub=stub,
            hints=self.text_list("hints", min_len=1),
            answer_path=answer_path(self.root, common["id"]),
            timeout_s=timeout,
            followups=self.followups(common["id"]),
        )
        if self.ok:
            self._check_stub(stub, function)
            self._check_code_module(question.answer_path)
        return question

    def followups(self, qid: str) -> tuple[str, ...]:
        """`followups:` (optional): card ids, checked against the whole bank once it is read."""
        ids = self.short_list("followups", FOLLOWUPS_COUNT, "card ids an interviewer asks next")
        bad = [i for i in ids if not ID_RE.match(i)]
        if bad:
            said = ", ".join(map(_short, bad))
            self.err("followups", f"{said}: a card id is dotted lowercase words, like attention.why_sqrt_dk")
        elif qid in ids:
            self.err("followups", f"names the exercise itself ({qid}); name cards that are asked after it")
        elif ids:
            self.out.followups.append((self.file, self.raw.line_of("followups"), qid, ids))
        return ids

    def _check_stub(self, stub: str, function: str) -> None:
        try:
            tree = ast.parse(stub)
        except SyntaxError as exc:
            self.err("stub", f"is not valid Python: {exc.msg} (stub line {exc.lineno})")
            return
        if function not in _defined_functions(tree):
            self.err("stub", f"does not define {function}()")

    def _check_code_module(self, path: Path) -> None:
        if not path.is_file():
            self.err("id", f"no answer module: expected {path}")
            return
        try:
            tree = ast.parse(_read_text(path), filename=str(path))
        except _Unreadable as exc:
            self.err("id", f"answer module {path} cannot be read: {exc}")
            return
        except SyntaxError as exc:
            self.err("id", f"answer module {path}:{exc.lineno} is not valid Python: {exc.msg}")
            return
        if "reference" not in _defined_functions(tree):
            self.err("id", f"answer module {path} defines no reference()")
        found, unreadable = teaches_mod.read_teaches(tree)
        for line, message in unreadable:
            self.out.add(path, line, "teaches", message)
        if found:
            self.out.teaches.append((path, found))


def _short(text: str) -> str:
    """`text` quoted for a message, cut to a readable length."""
    return repr(text if len(text) <= 50 else text[:47] + "...")


def _check_followups(out: _Collector, questions: dict[str, Question]) -> None:
    """Each exercise's followups name cards of the loaded banks (never a code exercise)."""
    for file, line, qid, ids in out.followups:
        for card_id in ids:
            card = questions.get(card_id)
            if card is None:
                close = _closest(card_id, list(questions))
                hint = f" (did you mean {close!r}?)" if close else ""
                out.add(file, line, "followups", f"{qid}: {card_id!r} is no question of the bank{hint}")
            elif card.kind == "code":
                out.add(
                    file,
                    line,
                    "followups",
                    f"{qid}: {card_id!r} is a code exercise; a follow-up is a card (flashcard, choice, numeric, cloze)",
                )


def _check_teaches(out: _Collector, questions: dict[str, Question]) -> None:
    """Each check's teaches= names cards of the loaded banks (never a code exercise)."""
    if not out.teaches:
        return
    kinds = {qid: q.kind for qid, q in questions.items()}
    for path, found in out.teaches:
        for teaching in found:
            for message in teaches_mod.id_problems(teaching, kinds):
                out.add(path, teaching.line, "teaches", message)


def _defined_functions(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _closest(word: str, options: set[str] | list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


MAX_BANK_FILE_BYTES = 16 << 20  # a topic file or an answer module; far above any real one


class _Unreadable(Exception):
    """A bank file that cannot be read as text; the message says why."""


def _read_text(path: Path) -> str:
    """A bank file's UTF-8 text. Never blocks or reads without end: a FIFO, a device or a huge
    file in a bank is an error naming it, not a hung llmq."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _Unreadable(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Unreadable("it is not a regular file")
        if st.st_size > MAX_BANK_FILE_BYTES:
            raise _Unreadable(f"it is {st.st_size >> 20} MiB; a bank file may be at most {MAX_BANK_FILE_BYTES >> 20} MiB")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_BANK_FILE_BYTES + 1)
    except OSError as exc:
        raise _Unreadable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_BANK_FILE_BYTES:
        raise _Unreadable(f"it grew past {MAX_BANK_FILE_BYTES >> 20} MiB while being read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"it is not UTF-8 text (byte {exc.start})") from None


def _inside_data_folder(root: Path) -> bool:
    """Whether `root` is in LLMQ_HOME (where a submission might write: a deck is cards only)."""
    try:
        home = data_dir(create=False)
        # As written and with links followed: a deck folder that links out of LLMQ_HOME is still a deck.
        return any(p.is_relative_to(h) for p in (root.absolute(), root.resolve()) for h in (home.absolute(), home.resolve()))
    except OSError:
        return False


def _as_imported(path: Path, root: Path, text: str) -> LinedDict | None:
    """A deck file exactly as `llmq import` wrote it, from the deck's state (bank/deck_state.py)
    rather than its YAML; None for any other file (then the YAML is read)."""
    if not (root / deck_state.STATE_FILE).is_file():
        return None
    record = deck_state.file_as_written(deck_state.read(root), path.name, text)
    if record is None:
        return None
    questions = []
    for entry, line in zip(record["questions"], record["lines"]):
        question = LinedDict(entry)
        question.line, question.key_lines = line, {}
        questions.append(question)
    data = LinedDict(topic=record["topic"], title=record["title"], questions=questions)
    data.line, data.key_lines = 1, {"topic": 2, "title": 3, "questions": 4}
    return data


def _read_topic_file(path: Path, root: Path, out: _Collector) -> tuple[Topic | None, list[Question]]:
    try:
        text = _read_text(path)
    except _Unreadable as exc:
        out.add(path, 0, "", f"cannot be read: {exc}")
        return None, []
    data = _as_imported(path, root, text)
    if data is None:
        try:
            data = yaml_lines.load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            out.add(path, yaml_lines.error_line(exc), "", f"is not valid YAML: {problem}")
            return None, []
    if not isinstance(data, LinedDict):
        out.add(path, 1, "", "must be a mapping with topic, title and questions")
        return None, []
    for key in data:
        if key not in FILE_FIELDS:
            out.add(path, data.line_of(str(key)), str(key), "unknown top-level field (expected topic, title, questions)")
    topic_name = data.get("topic")
    if not isinstance(topic_name, str) or not TOPIC_RE.match(topic_name):
        out.add(path, data.line_of("topic"), "topic", f"must be a lowercase word, not {topic_name!r}")
        topic_name = ""
    title = data.get("title", topic_name)
    if not isinstance(title, str):
        out.add(path, data.line_of("title"), "title", "must be text")
        title = topic_name
    titles = _topic_titles(data, path, out)
    items = data.get("questions")
    if not isinstance(items, list):
        out.add(path, data.line_of("questions"), "questions", "must be a list of questions")
        return None, []
    questions: list[Question] = []
    cards_only = _inside_data_folder(root)
    for item in items:
        if not isinstance(item, LinedDict):
            out.add(path, data.line_of("questions"), "questions", f"each question must be a mapping, found {_kind_name(item)}")
            continue
        question = _QuestionReader(item, path, root, topic_name, out, cards_only=cards_only).read()
        if question is not None:
            questions.append(question)
    topic = Topic(name=topic_name, title=title, file=path, titles=titles) if topic_name else None
    return topic, questions


def _topic_titles(data: LinedDict, path: Path, out: _Collector) -> dict[str, str]:
    """A topic file's `i18n: {zh: {title: ...}}`: its title by locale."""
    if "i18n" not in data:
        return {}
    raw = data["i18n"]
    if not isinstance(raw, LinedDict):
        out.add(path, data.line_of("i18n"), "i18n", "must be a mapping like {zh: {title: ...}}")
        return {}
    titles: dict[str, str] = {}
    for locale, block in raw.items():
        line = raw.line_of(str(locale))
        if locale not in i18n.LOCALES:
            out.add(path, line, f"i18n.{locale}", f"{locale!r} is not a locale llmq has; use one of {', '.join(i18n.LOCALES)}")
        elif (
            not isinstance(block, dict)
            or set(block) != {"title"}
            or not isinstance(block["title"], str)
            or not block["title"].strip()
        ):
            out.add(path, line, f"i18n.{locale}", "must be {title: TEXT} (a topic file translates its title only)")
        else:
            titles[locale] = block["title"]
    return titles


def translation_warnings(roots: list[Path] | tuple[Path, ...]) -> list[BankIssue]:
    """What `llmq verify` warns about in translations of a bank that loads: a stale one (its
    from_en is not the hash of the English now) and a departure from the bank's glossary
    (questions/_glossary.yaml of the same bank). Both at file:line; the English is canonical,
    so neither keeps the bank from loading."""
    found: list[BankIssue] = []
    for root in roots:
        qdir = root / "questions"
        glossary_file = qdir / "_glossary.yaml"
        glossary = i18n.Glossary.read(glossary_file) if glossary_file.is_file() else None
        for path in sorted(p for p in qdir.glob("*.yaml") if not p.name.startswith("_")):
            try:
                data = yaml_lines.load(_read_text(path))
            except (_Unreadable, yaml.YAMLError):
                continue  # the loader reports it
            for entry in data.get("questions") or [] if isinstance(data, dict) else []:
                if not isinstance(entry, LinedDict) or not isinstance(entry.get("i18n"), dict):
                    continue
                fields = i18n.TRANSLATABLE.get(str(entry.get("kind")), ())
                for locale, block in entry["i18n"].items():
                    if not isinstance(block, LinedDict):
                        continue
                    qid = entry.get("id")
                    want = i18n.source_hash(entry)
                    if str(block.get("from_en")) != want:
                        found.append(
                            BankIssue(
                                path,
                                block.line_of("from_en"),
                                f"i18n.{locale}.from_en",
                                f"{qid}: stale: the English changed since this translation (from_en {block.get('from_en')!r}, "
                                f"the English now hashes to {want!r}); update the translation, then from_en",
                            )
                        )
                    if glossary is None or locale != "zh":
                        continue
                    for name in fields:
                        if name not in block:
                            continue
                        english = "\n".join(i18n._as_texts(entry.get(name)))
                        translated = "\n".join(i18n._as_texts(block[name]))
                        for miss in glossary.misses(english, translated, title=name == "title"):
                            found.append(BankIssue(path, block.line_of(name), f"i18n.{locale}.{name}", f"{qid}: {miss}"))
    return found


def check_deck_questions(entries: list[dict[str, Any]], file: Path, topic: str) -> list[BankIssue]:
    """What is wrong with questions given as data (the cards `llmq import` is about to write to
    `file`, a deck's topic file), by the rules that file will be loaded by: cards only. Checked
    without a YAML round trip, so an import of thousands of cards does not parse them twice."""
    out = _Collector()
    root = file.parent.parent
    for index, entry in enumerate(entries):
        raw = LinedDict(entry)
        raw.line, raw.key_lines = index + 1, {}
        _QuestionReader(raw, file, root, topic, out, cards_only=True).read()
    return out.issues


def load_and_validate(roots: list[Path]) -> Bank:
    """Parse and check every bank; raise BankError listing every problem, or return the Bank."""
    out = _Collector()
    questions: dict[str, Question] = {}
    declared: dict[str, Topic] = {}  # topic name -> the file that declares it (its title)
    for root in roots:
        qdir = root / "questions"
        if not qdir.is_dir():
            out.add(root, 0, "", "is not a bank: it has no questions/ folder")
            continue
        # Files named _*.yaml hold bank-wide data (the glossary), not questions.
        for path in sorted(p for p in qdir.glob("*.yaml") if not p.name.startswith("_")):
            topic, found = _read_topic_file(path, root, out)
            if topic is not None and topic.name not in declared:
                declared[topic.name] = topic
            for q in found:
                if q.id in questions:
                    first = questions[q.id].where
                    out.add(q.where.file, q.where.line, "id", f"{q.id!r} is already used at {first}")
                    continue
                questions[q.id] = q
    _check_followups(out, questions)
    _check_teaches(out, questions)
    if out.issues:
        raise BankError(out.issues)
    # A topic exists when a question is in it; its title comes from the file declaring it.
    topics: dict[str, Topic] = {}
    for q in questions.values():
        if q.topic not in topics:
            topics[q.topic] = declared.get(q.topic) or Topic(
                name=q.topic, title=q.topic.replace("_", " ").title(), file=q.where.file
            )
    return Bank(questions=questions, topics=dict(sorted(topics.items())), roots=tuple(roots))
