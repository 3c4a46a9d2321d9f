"""The app's handle on the judge (llmq.judge.client): start the warm worker, check, cancel, close.

All methods but `cancel` block, so the app calls them from thread workers. The judge's client is
imported lazily and never imports torch in this process (its worker process does).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

from llmq.bank import CodeExercise


class JudgeUnavailable(RuntimeError):
    """The judge could not be started: the message says why and what to do."""


class JudgeClient(Protocol):
    """What the app uses of llmq.judge.client's client (tests pass fakes with the same shape)."""

    def check(self, exercise: Any, source: str, seed: int | None = None) -> Any: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


def default_client() -> JudgeClient:
    try:
        from llmq.judge import client as module
    except ImportError as err:
        raise JudgeUnavailable(f"The judge is not available ({err}); code exercises cannot be checked.") from err
    for name in ("JudgeClient", "Judge", "Client"):
        cls = getattr(module, name, None)
        if cls is not None:
            return cls()
    raise JudgeUnavailable("llmq.judge.client has no client class; code exercises cannot be checked.")


def verdict_dict(verdict: Any) -> dict[str, Any]:
    """The judge's verdict as the plain dict of `llmq check --json` (what the store keeps)."""
    if isinstance(verdict, dict):
        return verdict
    if hasattr(verdict, "to_dict"):
        return dict(verdict.to_dict())
    raise TypeError(f"the judge returned {type(verdict).__name__}, not a verdict")


class Judge:
    """One judge per app: the client is made on first use (or by `start` at launch, in the
    background, so the first check is warm); `cancel` may be called from any thread."""

    def __init__(self, factory: Callable[[], JudgeClient] = default_client) -> None:
        self._factory = factory
        self._client: JudgeClient | None = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._closed = False

    def start(self) -> JudgeClient:
        with self._lock:
            if self._closed:
                raise JudgeUnavailable("The judge has been stopped.")
            if self._client is None:
                self._client = self._factory()
            return self._client

    def check(self, exercise: CodeExercise, source: str) -> dict[str, Any] | None:
        """The verdict as a dict, or None when the check was cancelled."""
        client = self.start()
        self._cancelled.clear()
        verdict = verdict_dict(client.check(exercise, source))
        return None if self._cancelled.is_set() else verdict

    def cancel(self) -> None:
        """Stop the running check (the judge kills its child)."""
        self._cancelled.set()
        client = self._client
        if client is not None:
            client.cancel()

    def close(self) -> None:
        """Stop the judge's worker process (at quit)."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close()
