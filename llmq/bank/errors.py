"""What is wrong with a bank: each problem at its file:line, and the error that carries them all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmq.errors import LlmqError
from llmq.l10n import N_, ngettext


@dataclass(frozen=True)
class BankIssue:
    """One thing wrong in a bank, where it is."""

    file: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


class BankError(LlmqError):
    """The bank could not be loaded; `issues` lists every problem found."""

    title = N_("Question bank")

    def __init__(self, issues: list[BankIssue]) -> None:
        self.issues = issues
        n = len(issues)
        head = ngettext("the question bank has {count} problem:", "the question bank has {count} problems:", n).format(count=n)
        super().__init__(head + "\n" + "\n".join(f"  {i}" for i in issues))
