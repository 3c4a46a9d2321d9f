"""ExportError: an export or a restore that cannot be done, said for the person running it."""

from __future__ import annotations

from llmq.errors import LlmqError
from llmq.l10n import N_, _


class ExportError(LlmqError):
    """What went wrong, where (a file, a table), and what to do; `str(err)` is the whole message."""

    title = N_("Export and backup")

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
