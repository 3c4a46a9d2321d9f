"""The app's writer of one mock interview round: every write of the round (its row at the start,
each run, the end of the coding with the exercise card's rating, each follow-up, the end) runs on
one thread, in the order asked, off the event loop; each answers its screen by message.

One thread, not a worker per write: a run's record must be in the row before the end of the
coding that it caused (the row's checks refuse a pass without its time). At quit, `close` waits
for the writes asked so far, then marks a round that has not reached its report as abandoned.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from textual.dom import DOMNode
from textual.message import Message
from textual.message_pump import MessagePump

from llmq.store import HEARTBEAT_S, InterviewRound, now_ms

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp
    from llmq.tui.progress_facade import Progress


class RoundSaved(Message):
    """A write of the round is committed: the round as it now is (None: no longer running, e.g.
    another llmq marked it abandoned), and `what` was asked (the caller's tag)."""

    def __init__(self, round: InterviewRound | None, what: str, result: Any = None) -> None:
        self.round = round
        self.what = what
        self.result = result
        super().__init__()


class RoundSaveFailed(Message):
    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__()


Job = Callable[["Progress"], tuple[InterviewRound | None, Any]]


class RoundRecorder:
    """Owned by the interview app; the screens of the round ask it to write."""

    def __init__(self, progress: Callable[[], Progress]) -> None:
        self._progress = progress
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmq-interview")
        self.round_id: int | None = None
        self.ended = False  # finished or abandoned: nothing more to write
        self._stop = threading.Event()

    def submit(self, what: str, job: Job, reply_to: MessagePump) -> None:
        """Run `job` after the writes asked before it; `reply_to` gets RoundSaved or RoundSaveFailed."""

        def run() -> None:
            try:
                round_, result = job(self._progress())
                if round_ is not None:
                    self.round_id = round_.id
                    self.ended = self.ended or round_.status != "running"
                reply_to.post_message(RoundSaved(round_, what, result))
            except Exception as error:  # shown as a notification by the screen
                reply_to.post_message(RoundSaveFailed(error))

        self._pool.submit(run)

    def start_heartbeat(self, every_s: float = HEARTBEAT_S) -> None:
        """Beat on a thread of its own: the event loop stands still while $EDITOR has the terminal
        (app.suspend), and a round being written in vim is alive all the same."""

        def beat() -> None:
            while not self._stop.wait(every_s):
                self.heartbeat()

        threading.Thread(target=beat, name="llmq-interview-heartbeat", daemon=True).start()

    def heartbeat(self) -> None:
        """The round's app is alive (a killed app's round reads as abandoned once this stops)."""
        round_id = self.round_id
        if round_id is None or self.ended or self._stop.is_set():
            return

        def run() -> None:
            try:
                self._progress().store.interviews.heartbeat(round_id, now_ms())
            except Exception:  # a missed heartbeat costs nothing; the next one or the next write tells
                return

        with contextlib.suppress(RuntimeError):  # the pool closed meanwhile (quitting)
            self._pool.submit(run)

    def close(self) -> None:
        """At quit: finish the writes asked, then a round short of its report is saved as abandoned."""
        self._stop.set()
        self._pool.shutdown(wait=True)
        if self.round_id is not None and not self.ended:
            try:
                self._progress().store.interviews.abandon(self.round_id, now_ms())
            except Exception:  # the store failed at quit: the row, still marked running, reads
                return  # as abandoned once its heartbeat is stale, so nothing is lost
            self.ended = True


class OfTheRound(DOMNode):
    """Mixin for the round's screens (coding, follow-ups): the app, and the round's writer it made
    when the round started (llmq/tui/interview_app.py)."""

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    @property
    def recorder(self) -> RoundRecorder:
        recorder = self.llmq.recorder
        if recorder is None:
            raise RuntimeError("a mock interview screen without its round's writer")
        return recorder
