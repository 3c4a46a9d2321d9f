"""What can go wrong in an import: a problem in the notes (at file:line) or in how it was asked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmq.errors import LlmqError


@dataclass(frozen=True)
class NoteProblem:
    """One thing wrong in the notes, where it is: the import writes nothing while there is one."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class DeckError(LlmqError):
    """The import cannot start: a bad deck name, a path that is not there, a damaged deck."""

    title = "Import"
