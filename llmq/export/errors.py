"""ExportError: an export or a restore that cannot be done, said for the person running it."""

from __future__ import annotations

from llmq.l10n import N_
from llmq.store import StoreError


class ExportError(StoreError):
    """What went wrong, where (a file, a table), and what to do; `str(err)` is the whole message.

    It says things the way StoreError does (what, "Where:", "What to do:"), under its own title:
    most of what goes wrong here concerns the progress database or a copy of it.
    """

    title = N_("Export and backup")
