"""StoreError: what went wrong with the progress database, said for the person using llmq."""

from __future__ import annotations

from llmq.errors import LlmqError
from llmq.l10n import N_, _


class StoreError(LlmqError):
    """A problem with progress.db that the user can act on.

    `str(err)` is the whole message (what happened, where, what to do); the CLI prints it as is.
    """

    title = N_("Progress database")

    def __init__(self, what: str, *, where: str = "", todo: str = "") -> None:
        self.what = what
        self.where = where
        self.todo = todo
        parts = [what]
        if where:
            parts.append(_("Where: {where}").format(where=where))
        if todo:
            parts.append(_("What to do: {todo}").format(todo=todo))
        super().__init__("\n".join(parts))
