"""Typed records for the question bank: what a loaded YAML question becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Self

from llmq.defaults import CHECK_TIMEOUT_S

Kind = Literal["flashcard", "choice", "numeric", "code", "cloze"]
Track = Literal["cpu", "gpu"]
Difficulty = Literal["easy", "medium", "hard"]

KINDS: tuple[str, ...] = ("flashcard", "choice", "numeric", "code", "cloze")
TRACKS: tuple[str, ...] = ("cpu", "gpu")
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
# A question id is dotted lowercase words (attention.gqa): it names its answer module's path, so
# it can never climb out of answers/. A topic is one such word.
ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
TOPIC_RE = re.compile(r"^[a-z0-9_]+$")
# The notes the bundled bank is written from (shared/NOTES.md), by their `source:` key.
NOTE_SOURCES: tuple[str, ...] = (
    "wzzzd",
    "awesome-llm-learning",
    "notes-for-llm",
    "llm-learning-note",
    "large-model-note",
    "happy-llm",
)


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where a question was written: for error messages and `llmq list`."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


LANGS: tuple[str, ...] = ("en", "zh")  # English is the bank's canonical text; zh from `i18n:`

# One question's translations: locale -> {field: text or texts}, plus "from_en" (bank/i18n.py).
Translations = dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Question:
    """Fields every kind shares. `i18n` holds the translations; `text(field, lang)` reads one."""

    id: str
    kind: Kind
    topic: str
    title: str
    tags: tuple[str, ...] = ()
    difficulty: Difficulty = "medium"
    source: str = ""  # "note" or "note:file" (NOTES.md)
    # The heading of the note file's section that this card answers, as the notes write it: what
    # a reader of the notes searches by (browse and the command palette match it). Not translated.
    source_heading: str = ""
    refs: tuple[str, ...] = ()
    track: Track = "cpu"
    where: Location
    # Not hashed: a dict cannot be, and the id already tells questions apart.
    i18n: Translations = field(default_factory=dict, hash=False)

    @property
    def note(self) -> str:
        """The note key of `source`, without the file part."""
        return self.source.split(":", 1)[0]

    @property
    def langs(self) -> tuple[str, ...]:
        """The languages this question is written in: English, then its translations."""
        return ("en", *sorted(self.i18n))

    def text(self, name: str, lang: str = "en") -> Any:
        """Field `name` in `lang`; English where the translation lacks it (or for "en")."""
        translated = self.i18n.get(lang, {}).get(name)
        return getattr(self, name) if translated is None else translated

    def localized(self, lang: str) -> Self:
        """A copy whose text fields are in `lang` (English where untranslated): for code that
        shows a question and knows nothing of languages (`llmq show`, `llmq stub`)."""
        fields = {k: v for k, v in self.i18n.get(lang, {}).items() if k != "from_en" and hasattr(self, k)}
        return replace(self, **fields) if fields else self


@dataclass(frozen=True, kw_only=True)
class Flashcard(Question):
    """A prompt and its answer, both Markdown."""

    prompt: str
    answer: str
    # Two to four short points the answer must contain, shown beside it in review so that a
    # self-grade means the same each time; empty where the bank gives none.
    key_points: tuple[str, ...] = ()


# A gap in a cloze passage, as Anki writes it: {{c1::answer}} or {{c1::answer::hint}}.
CLOZE_GAP_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::((?:(?!\}\}).)*?))?\}\}", re.S)


@dataclass(frozen=True, kw_only=True)
class Cloze(Question):
    """A passage with gaps (`{{c1::answer}}`, `{{c1::answer::hint}}`): the front shows each gap as
    [...] (or [hint]), the back fills it in, as Anki does. `extra` is shown under the back."""

    passage: str
    extra: str = ""

    @property
    def prompt(self) -> str:
        """The front: the passage with its gaps hidden."""
        return CLOZE_GAP_RE.sub(lambda m: f"[{m.group(3) or '...'}]", self.passage)

    @property
    def answer(self) -> str:
        """The back: the passage with its gaps filled (in bold), then `extra`."""
        filled = CLOZE_GAP_RE.sub(lambda m: f"**{m.group(2).strip()}**", self.passage)
        return f"{filled}\n\n{self.extra}" if self.extra.strip() else filled

    @property
    def gaps(self) -> tuple[str, ...]:
        """The hidden answers, in order."""
        return tuple(m.group(2) for m in CLOZE_GAP_RE.finditer(self.passage))


@dataclass(frozen=True, kw_only=True)
class Choice(Question):
    """Options with one or several correct (0-based indexes), and why: `explanation` for the card,
    `rationales[i]` for option i (empty while a bank has not written them)."""

    prompt: str
    options: tuple[str, ...]
    correct: frozenset[int]
    explanation: str
    rationales: tuple[str, ...] = ()

    @property
    def multiple(self) -> bool:
        return len(self.correct) > 1


@dataclass(frozen=True, kw_only=True)
class NumericParam:
    """One template parameter: a range (float or integer) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[float | int | str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Numeric(Question):
    """A template with parameters drawn at random; the answer computed by `answer_path`."""

    prompt: str  # template with {{name}} placeholders
    params: tuple[NumericParam, ...]
    unit: str
    tolerance: float  # relative
    solution: str  # template
    answer_path: Path  # module defining answer(**params) and maybe steps(**params)


@dataclass(frozen=True, kw_only=True)
class CodeExercise(Question):
    """A task to implement `function`, judged against the answer module at `answer_path`."""

    task: str
    function: str
    stub: str
    hints: tuple[str, ...]
    answer_path: Path  # module with reference, checks, WRONG_ANSWERS, ALTERNATIVES
    timeout_s: float = CHECK_TIMEOUT_S
    # Ids of two to four cards (flashcard, choice, numeric) an interviewer asks next, shown after
    # a pass and asked by interview mode; empty where the bank gives none.
    followups: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Topic:
    """One topic: one YAML file of the bank."""

    name: str
    title: str
    file: Path
    titles: dict[str, str] = field(default_factory=dict, hash=False)  # locale -> the file's i18n title

    def title_in(self, lang: str = "en") -> str:
        """The topic's title in `lang`, English where the file gives none."""
        return self.titles.get(lang, self.title)


@dataclass(frozen=True)
class Bank:
    """Every question of every loaded bank, by id, in file order."""

    questions: dict[str, Question]
    topics: dict[str, Topic]
    roots: tuple[Path, ...] = field(default=())

    def by_kind(self, kind: str) -> list[Question]:
        return [q for q in self.questions.values() if q.kind == kind]

    def code_exercises(self, track: str | None = None) -> list[CodeExercise]:
        return [
            q for q in self.questions.values() if isinstance(q, CodeExercise) and (track in (None, "all") or q.track == track)
        ]
