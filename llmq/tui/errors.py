"""One place where failures become notifications: worker errors and errors from the layers below."""
from __future__ import annotations

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState


def describe(error: BaseException) -> tuple[str, str]:
    """(title, message) for a person: the store's and bank's errors already say what to do."""
    name = type(error).__name__
    title = {"StoreError": "Progress database", "BankError": "Question bank",
             "JudgeUnavailable": "Judge"}.get(name, name)
    return title, str(error) or name


class ReportsWorkerErrors(DOMNode):
    """Mixin for screens and widgets that run workers (Worker.StateChanged does not bubble, so each
    owner forwards failures to the app's single handler)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.app.call_later(self.app.notify_error, event.worker.error)  # type: ignore[attr-defined]
