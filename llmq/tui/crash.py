"""What happens when the app meets an error nothing else handled: the traceback is saved in
LLMQ_HOME/logs/crash-YYYYMMDD-HHMMSS.log, and `llmq` exits non-zero with a message naming the file
(never status 0, as if the user had quit)."""

from __future__ import annotations

import platform
import sys
import traceback
from datetime import datetime
from pathlib import Path

from llmq.datadir import data_dir
from llmq.l10n import _

CRASH_EXIT = 1  # CONTRACTS.md: 1 is failure


def save_crash_log(error: BaseException, when: datetime | None = None) -> Path | None:
    """Write the traceback and the versions to a new log file; None if it cannot be written (the
    message on exit still names the error)."""
    import textual

    from llmq import __version__

    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    try:
        folder = data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{stamp}.log"
        n = 1
        while path.exists():  # two crashes in one second keep both logs
            n += 1
            path = folder / f"crash-{stamp}-{n}.log"
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        path.write_text(
            f"llmq {__version__} · textual {textual.__version__} · Python "
            f"{platform.python_version()} · {platform.platform()}\n\n{text}",
            encoding="utf-8",
        )
        return path
    except OSError:
        return None


def crash_message(error: BaseException, log: Path | None) -> str:
    """The lines printed on stderr after the app has closed."""
    where = _("The details are in {log}").format(log=log) if log is not None else _("The log could not be saved")
    return _(
        "llmq stopped because of an unexpected error: {kind}: {error}\n{where}; please attach it to a bug report. Your answers up to this point are saved."
    ).format(kind=type(error).__name__, error=error, where=where)


def report_crash(error: BaseException, log: Path | None) -> int:
    print(crash_message(error, log), file=sys.stderr)
    return CRASH_EXIT
