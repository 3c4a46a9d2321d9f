"""Mock interview rounds in the app: `llmq interview` (the app opened on a round) and a round
started from the home screen or the command palette (`i`, "Mock interview…").

The app owns the round's writer (RoundRecorder): a heartbeat while the round runs, and at quit
(ctrl+q, kill, kill -INT) a round that has not reached its report is saved as abandoned before
the store closes (LlmqApp.on_unmount); a closed terminal (SIGHUP) saves it and exits at once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmq.bank import Bank
from llmq.l10n import _
from llmq.srs.interview_pick import RoundPlan
from llmq.tui.app import LlmqApp, exit_status
from llmq.tui.interview_recorder import RoundRecorder
from llmq.tui.preload import Preload

if TYPE_CHECKING:
    from textual.screen import Screen


def round_under_way(app: LlmqApp) -> bool:
    """A round's coding or follow-ups are on the screen stack (its report is not: it is over)."""
    from llmq.tui.screens.interview import InterviewScreen
    from llmq.tui.screens.interview_followups import InterviewFollowupsScreen

    stack: list[Screen[Any]] = list(app.screen_stack)
    return any(isinstance(s, (InterviewScreen, InterviewFollowupsScreen)) for s in stack)


def open_round_setup(app: LlmqApp, topic: str | None) -> None:
    """The dialog that chooses a round (minutes, topic, track), then the round."""
    from llmq.tui.screens.interview_setup import InterviewSetupScreen

    if round_under_way(app):
        app.notify(_("A mock interview round is under way: finish or leave it first."), title=_("Mock interview"))
        return
    app.push_screen(InterviewSetupScreen(topic))


def start_round(app: LlmqApp, plan: RoundPlan, clock: Callable[[], float] | None = None) -> None:
    """Start a round over the screen in front (escape from its report goes home): a writer of its
    own, its heartbeat, and quitting signals that save it as abandoned."""
    from llmq.tui.screens.interview import InterviewScreen

    if round_under_way(app):
        app.notify(_("A mock interview round is under way: finish or leave it first."), title=_("Mock interview"))
        return
    if app.recorder is not None:
        app.recorder.close()  # the last round's: over (its writes are done), so nothing waits
    app.recorder = RoundRecorder(app.progress)
    app.push_screen(InterviewScreen(plan, clock or time.monotonic))
    app.recorder.start_heartbeat()
    # kill, kill -INT and a closed terminal quit as ctrl+q does, so the round is saved as
    # abandoned at once (a SIGKILL cannot be caught: its round reads abandoned once stale).
    loop = asyncio.get_running_loop()
    for sig, handler in ((signal.SIGTERM, app.exit), (signal.SIGINT, app.exit), (signal.SIGHUP, lambda: _terminal_gone(app))):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handler)


def _terminal_gone(app: LlmqApp) -> None:
    """SIGHUP: the terminal is gone. Textual's orderly exit would write to it and wait forever
    (its output thread dies at the first failed write, then the queue to it fills), leaving the
    process behind; so save the round as abandoned, close the judge and the store, and leave."""
    try:
        if app.recorder is not None:
            app.recorder.close()
        app.stop_services()
    finally:
        os._exit(128 + signal.SIGHUP)


class InterviewApp(LlmqApp):
    """`llmq interview`: the app opened on the round the command line chose, over the home screen."""

    def __init__(self, bank: Bank, plan: RoundPlan, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(bank, **kwargs)
        self.plan = plan
        self.clock = clock

    def on_mount(self) -> None:
        # (LlmqApp's own on_mount runs too: Textual calls each class's handler.) The round goes on
        # top of the home screen, where escape from its report leads.
        self.start_round(self.plan, self.clock)


def run_interview(bank: Bank, plan: RoundPlan, preload: Preload | None = None) -> int:
    gc.freeze()  # as run_app: the bank and modules live as long as the app
    app = InterviewApp(bank, plan, preload=preload)
    code = app.run()
    return exit_status(app, code)
