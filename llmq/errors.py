"""LlmqError: the one base class for errors a person can act on, whichever layer raises them.

The app shows any of them the same way (a notification titled with `title`, the message as its
body) and the command line prints the message; neither has to know where the error came from.
"""

from __future__ import annotations


class LlmqError(Exception):
    """An error for people: `str(err)` says what went wrong, where, and what to do.

    `title` names the part of llmq it concerns ("Progress database", "Question bank", "Judge"); a
    subclass sets it once for all its errors, marked with N_() so that whoever shows it can
    translate it with _(title).
    """

    title: str = "llmq"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self)
