"""`llmq interview`: the study app opened on a mock interview round. The app owns the round's
writer: a heartbeat while the round runs, and at quit (ctrl+q, the terminal closing) a round that
has not reached its report is saved as abandoned before the store closes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Callable
from typing import Any

from llmq.bank import Bank
from llmq.srs.interview_pick import RoundPlan
from llmq.tui.app import LlmqApp, exit_status
from llmq.tui.interview_recorder import RoundRecorder
from llmq.tui.preload import Preload


class InterviewApp(LlmqApp):
    def __init__(self, bank: Bank, plan: RoundPlan, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(bank, **kwargs)
        self.plan = plan
        self.clock = clock
        self.recorder = RoundRecorder(self.progress)

    def on_mount(self) -> None:
        # (LlmqApp's own on_mount runs too: Textual calls each class's handler.) The round goes on
        # top of the home screen, where escape from its report leads.
        from llmq.tui.screens.interview import InterviewScreen

        self.push_screen(InterviewScreen(self.plan, self.clock))
        self.recorder.start_heartbeat()
        # kill, kill -INT and a closed terminal quit as ctrl+q does, so the round is saved as
        # abandoned at once (a SIGKILL cannot be caught: its round reads abandoned once stale).
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.exit)

    def on_unmount(self) -> None:
        # Runs before LlmqApp's, which closes the store.
        self.recorder.close()


def run_interview(bank: Bank, plan: RoundPlan, preload: Preload | None = None) -> int:
    gc.freeze()  # as run_app: the bank and modules live as long as the app
    app = InterviewApp(bank, plan, preload=preload)
    code = app.run()
    return exit_status(app, code)
