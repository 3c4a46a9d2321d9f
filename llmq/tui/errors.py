"""One place where failures become notifications: worker errors and errors from the layers below."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from llmq.errors import LlmqError
from llmq.l10n import _


def error_notice(error: BaseException) -> tuple[str, str]:
    """(title, message) of the notification for `error`. Errors for people (LlmqError) carry
    their title and already say what to do; anything else is titled with its type's name."""
    name = type(error).__name__
    # Titles are a few fixed words (msgids); messages from the layers below are translated where
    # the catalogue has them and shown as they are otherwise.
    title = _(error.title) if isinstance(error, LlmqError) else name
    return title, _(str(error)) if str(error) else name


class ReportsWorkerErrors(DOMNode):
    """Mixin for screens and widgets that run workers (Worker.StateChanged does not bubble, so each
    owner forwards failures to the app's single handler)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.app.call_later(self.app.notify_error, event.worker.error)  # type: ignore[attr-defined]


F = TypeVar("F", bound=Callable[..., Any])


def guarded(handler: F) -> F:
    """For handlers that work on data (a verdict, stats, a drawn card): an exception becomes a
    notification and the screen stays usable (Textual would otherwise stop the app)."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def run_async(self: DOMNode, *args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(self, *args, **kwargs)
            except Exception as error:
                self.app.notify_error(error)  # type: ignore[attr-defined]
                return None

        return cast(F, run_async)

    @functools.wraps(handler)
    def run(self: DOMNode, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:
            self.app.notify_error(error)  # type: ignore[attr-defined]
            return None

    return cast(F, run)
