"""Open the progress store and count the home screen's cards before the app is drawn (or, for
`llmq study`, draw the first card of the queue).

`llmq` starts this thread before it imports Textual, so the home screen usually has its counts
when it is first drawn: one settled frame instead of a frame of placeholders and a second one.
`llmq study` likewise finds its first card (the study session, the card with its interval
previews, the queue's counts) ready, and shows it in its first frame.
On a thread so that a slow store (locked by another process) never holds the app back.
Nothing here imports Textual (or torch); a failure is kept and reported where the store is used.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmq.bank import Bank

if TYPE_CHECKING:
    from llmq.srs import QueueCounts, Shown, Study
    from llmq.tui.progress_facade import HomeData, Progress

Scope = tuple[str | None, str | None]  # (topic, kind) of `llmq study`


@dataclass(frozen=True)
class FirstCard:
    """`llmq study`'s session and its first card, as the review queue's worker would find them."""

    scope: Scope
    study: Study
    shown: Shown | None  # None: nothing to study now (the queue says why, from its worker)
    counts: QueueCounts | None


class Preload:
    def __init__(self, bank: Bank, study: Scope | None = None) -> None:
        self.bank = bank
        self.study_scope = study
        self.progress: Progress | None = None
        self.error: BaseException | None = None
        self._home: HomeData | None = None
        self._first: FirstCard | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmq-preload", daemon=True)

    @classmethod
    def start(cls, bank: Bank, study: Scope | None = None) -> Preload:
        """`study`: the (topic, kind) of `llmq study`, whose first card is then prepared instead
        of the home screen's counts (which that command does not show first)."""
        preload = cls(bank, study)
        preload._thread.start()
        return preload

    def _run(self) -> None:
        try:
            from llmq.tui.progress_facade import Progress

            self.progress = Progress.open(self.bank)
            if self.study_scope is None:
                self._home = self.progress.home()
            else:
                study = self.progress.study(*self.study_scope)
                shown = study.next()
                counts = study.counts(learn_ahead=True) if shown is not None else None
                self._first = FirstCard(self.study_scope, study, shown, counts)
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

    def take_first_card(self, scope: Scope, wait: bool = False) -> FirstCard | None:
        """`llmq study`'s prepared session for `scope`, once (a later queue starts its own);
        None if it is not ready now (`wait`: once the thread is done), failed, or was for home."""
        if wait:
            self._done.wait()
        if not self.done or self._first is None or self._first.scope != scope:
            return None
        first, self._first = self._first, None
        return first
