"""The app's handle on the judge (llmq.judge.client.Judge): start its warm worker, check, cancel, close.

`check` blocks, so the app calls it from a thread worker; `cancel` may come from any thread.
llmq.judge.client never imports torch (its worker process does), so importing it here is light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from llmq.bank import CodeExercise
from llmq.errors import LlmqError
from llmq.judge.verdict import Verdict
from llmq.l10n import N_, _


class JudgeStartFailed(LlmqError):
    """The judge could not be started (or was already stopped): the message says why and what to do."""

    title = N_("Judge")


class CheckFailed(LlmqError):
    """A check was sent but the judge gave no verdict for it (its worker failed or was closed)."""

    title = N_("Judge")


class PendingCheck(Protocol):
    def result(self, timeout: float | None = None) -> Verdict: ...
    def cancel(self) -> None: ...


class JudgeClient(Protocol):
    """What the app uses of llmq.judge.client.Judge (tests pass fakes of the same shape)."""

    def submit(self, exercise: Any, source: str) -> PendingCheck: ...
    def close(self) -> None: ...


def default_client() -> JudgeClient:
    """The real judge; its worker process starts now, in the background."""
    try:
        from llmq.judge.client import Judge
    except ImportError as err:
        raise JudgeStartFailed(
            _("The judge is not available ({err}); code exercises cannot be checked.").format(err=err)
        ) from err
    return Judge()


class CheckRunner:
    """Runs the app's code checks on one judge client, made by `start` (at launch, in the
    background, so the first check is warm) or on first use."""

    def __init__(self, factory: Callable[[], JudgeClient] = default_client) -> None:
        self._factory = factory
        self._client: JudgeClient | None = None
        self._lock = threading.Lock()  # guards the client
        self._pending: PendingCheck | None = None
        self._pending_lock = threading.Lock()
        self._closed = False

    def start(self) -> JudgeClient:
        with self._lock:
            if self._closed:
                raise JudgeStartFailed(_("The judge has been stopped."))
            if self._client is None:
                self._client = self._factory()
            return self._client

    def check(self, exercise: CodeExercise, source: str) -> Verdict | None:
        """The judge's verdict, or None when the check was cancelled."""
        client = self.start()
        # Imported only now: the client module is loaded by then (the factory made the client).
        from llmq.judge.client import Cancelled, JudgeUnavailable

        try:
            pending = client.submit(exercise, source)
        except JudgeUnavailable as err:
            raise CheckFailed(str(err)) from err
        with self._pending_lock:
            self._pending = pending
        try:
            verdict = pending.result()
        except Cancelled:
            return None
        except JudgeUnavailable as err:
            raise CheckFailed(str(err)) from err
        finally:
            with self._pending_lock:  # a later check may already have replaced it
                if self._pending is pending:
                    self._pending = None
        if not isinstance(verdict, Verdict):
            raise TypeError(f"the judge returned {type(verdict).__name__}, not a Verdict")
        return verdict

    def cancel(self) -> None:
        """Stop the running check: the judge kills the child running it."""
        with self._pending_lock:
            pending = self._pending
        if pending is not None:
            pending.cancel()

    def close(self) -> None:
        """Stop the judge's worker process (at quit)."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close()
