"""Open the progress store and count the home screen's cards before the app is drawn.

`llmq` starts this thread before it imports Textual, so the home screen usually has its counts
when it is first drawn: one settled frame instead of a frame of placeholders and a second one.
On a thread so that a slow store (locked by another process) never holds the app back.
Nothing here imports Textual (or torch); a failure is kept and reported where the store is used.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from llmq.bank import Bank

if TYPE_CHECKING:
    from llmq.tui.progress_facade import HomeData, Progress


class Preload:
    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.progress: Progress | None = None
        self.error: BaseException | None = None
        self._home: HomeData | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmq-preload", daemon=True)

    @classmethod
    def start(cls, bank: Bank) -> Preload:
        preload = cls(bank)
        preload._thread.start()
        return preload

    def _run(self) -> None:
        try:
            from llmq.tui.progress_facade import Progress

            self.progress = Progress.open(self.bank)
            self._home = self.progress.home()
        except BaseException as err:  # kept: the app's first use of the store reports it
            self.error = err
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> Progress | None:
        """The opened store once the thread is done; None if opening failed (see `error`) or if it
        is not done within `timeout_s`."""
        self._done.wait(timeout_s)
        return self.progress

    def take_home(self) -> HomeData | None:
        """The home screen's data if it is ready now, once: later visits must count afresh."""
        if not self.done:
            return None
        home, self._home = self._home, None
        return home
