"""Handing the terminal to another program ($EDITOR) with the app suspended, safely.

Textual's `App.suspend()` resumes the app only when its `with` block ends normally: an exception
inside it leaves the terminal blank for good. So every suspension goes through `run_suspended`,
which checks the command exists first, catches every error inside the block and always resumes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from typing import Protocol

from llmq.l10n import _


class Suspendable(Protocol):
    """What `run_suspended` uses of a Textual App (tests pass fakes of the same shape)."""

    def suspend(self) -> object: ...


@dataclass(frozen=True)
class Outcome:
    """How handing over the terminal went: `error` is None when the program ran and exited."""

    command: str
    error: str | None = None
    returncode: int | None = None


def editor_command() -> str:
    """The user's editor as they wrote it: $VISUAL, else $EDITOR, else vi."""
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"


def missing_program(command: str) -> str | None:
    """Why `command` cannot be run (unparsable, empty, or its program not found), or None."""
    try:
        words = shlex.split(command)
    except ValueError as err:
        return _("cannot read the command {command!r}: {err}").format(command=command, err=err)
    if not words:
        return _("the command is empty")
    if shutil.which(words[0]) is None:
        return _("{program!r} was not found (is it installed and on PATH?)").format(program=words[0])
    return None


def run_suspended(app: Suspendable, command: str, *args: str) -> Outcome:
    """Run `command args...` with the app suspended; the app always comes back."""
    problem = missing_program(command)
    if problem is not None:
        return Outcome(command, problem)  # checked first: the screen is never blanked for nothing
    argv = [*shlex.split(command), *args]
    result: Outcome | None = None
    try:
        with app.suspend():  # type: ignore[attr-defined]
            try:
                done = subprocess.run(argv, check=False)
                result = Outcome(command, None, done.returncode)
            except Exception as err:  # caught inside: leaving the block by an exception never resumes
                result = Outcome(command, _("could not run {command!r}: {err}").format(command=command, err=err))
    except Exception as err:  # no terminal to suspend (headless, Textual Web)
        return Outcome(command, _("the terminal cannot be handed over here: {err}").format(err=err))
    return result if result is not None else Outcome(command, _("the program did not run"))
