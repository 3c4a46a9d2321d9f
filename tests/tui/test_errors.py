"""Failures become notifications titled by the error's type (LlmqError and its title), never by
matching class names; the judge handle turns the judge client's failures into errors for people."""

from __future__ import annotations

from typing import Any

import pytest

from llmq.errors import LlmqError
from llmq.judge.client import Cancelled, JudgeUnavailable
from llmq.judge.verdict import Verdict
from llmq.store import StoreError
from llmq.tui.errors import error_notice
from llmq.tui.judging import CheckFailed, CheckRunner, JudgeStartFailed


def test_errors_for_people_bring_their_title() -> None:
    err = StoreError("The disk is full.", where="/x/progress.db", todo="free some space.")
    assert error_notice(err) == ("Progress database", str(err))
    assert "What to do: free some space." in error_notice(err)[1]


def test_a_foreign_error_with_the_same_name_is_not_taken_for_ours() -> None:
    class StoreError(Exception):  # noqa: N818 - the point is the name
        pass

    assert error_notice(StoreError("boom")) == ("StoreError", "boom")
    assert error_notice(ValueError()) == ("ValueError", "ValueError")


class FakePending:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def result(self, timeout: float | None = None) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def cancel(self) -> None:
        pass


class FakeClient:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.closed = False

    def submit(self, exercise: Any, source: str) -> FakePending:
        return FakePending(self.outcome)

    def close(self) -> None:
        self.closed = True


def test_a_check_returns_the_judges_verdict() -> None:
    verdict = Verdict(exercise="x.y", status="pass")
    assert CheckRunner(lambda: FakeClient(verdict)).check(None, "") is verdict  # type: ignore[arg-type]


def test_a_cancelled_check_has_no_verdict() -> None:
    assert CheckRunner(lambda: FakeClient(Cancelled("stop"))).check(None, "") is None  # type: ignore[arg-type]


def test_a_judge_that_fails_is_an_error_titled_judge() -> None:
    runner = CheckRunner(lambda: FakeClient(JudgeUnavailable("the worker answered with an error")))
    with pytest.raises(CheckFailed, match="the worker answered with an error") as info:
        runner.check(None, "")  # type: ignore[arg-type]
    assert isinstance(info.value, LlmqError) and error_notice(info.value)[0] == "Judge"


def test_a_stopped_judge_does_not_start_again() -> None:
    client = FakeClient(Verdict(exercise="x.y", status="pass"))
    runner = CheckRunner(lambda: client)
    runner.start()
    runner.close()
    assert client.closed
    with pytest.raises(JudgeStartFailed, match="stopped"):
        runner.check(None, "")  # type: ignore[arg-type]
