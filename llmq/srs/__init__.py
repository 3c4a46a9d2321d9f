"""Scheduling with FSRS-6 (the `fsrs` package), Anki's queues and daily limits, and progress stats.

The names below are imported on first use (PEP 562), so the app's home screen, which needs only
the queue, does not pay for fsrs, stats and reports at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "DayClock": "daytime",
    "DailyLimits": "queue",
    "QueueCounts": "queue",
    "QueueFilter": "queue",
    "Attempt": "ratings",
    "suggested_rating": "ratings",
    "rebuild_states": "rebuild",
    "format_report": "report",
    "LEECH_TAG": "scheduler",
    "AnswerOutcome": "scheduler",
    "Rating": "scheduler",
    "format_interval": "scheduler",
    "Settings": "settings",
    "load_settings": "settings",
    "save_settings": "settings",
    "DayDue": "stats",
    "DayReviews": "stats",
    "Retention": "stats",
    "StateCounts": "stats",
    "Stats": "stats",
    "TopicStats": "stats",
    "compute_stats": "stats",
    "Answered": "study",
    "Shown": "study",
    "Study": "study",
    "Undone": "study",
}
__all__ = [  # every name of _WHERE (a test keeps the two equal); listed so type checkers see them
    "AnswerOutcome",
    "Answered",
    "Attempt",
    "DailyLimits",
    "DayClock",
    "DayDue",
    "DayReviews",
    "LEECH_TAG",
    "QueueCounts",
    "QueueFilter",
    "Rating",
    "Retention",
    "Settings",
    "Shown",
    "StateCounts",
    "Stats",
    "Study",
    "TopicStats",
    "Undone",
    "compute_stats",
    "format_interval",
    "format_report",
    "load_settings",
    "rebuild_states",
    "save_settings",
    "suggested_rating",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'llmq.srs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"llmq.srs.{_WHERE[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from llmq.srs.daytime import DayClock
    from llmq.srs.queue import DailyLimits, QueueCounts, QueueFilter
    from llmq.srs.ratings import Attempt, suggested_rating
    from llmq.srs.rebuild import rebuild_states
    from llmq.srs.report import format_report
    from llmq.srs.scheduler import LEECH_TAG, AnswerOutcome, Rating, format_interval
    from llmq.srs.settings import Settings, load_settings, save_settings
    from llmq.srs.stats import DayDue, DayReviews, Retention, StateCounts, Stats, TopicStats, compute_stats
    from llmq.srs.study import Answered, Shown, Study, Undone
