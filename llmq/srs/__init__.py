"""Scheduling with FSRS-6 (the `fsrs` package), Anki's queues and daily limits, and progress stats."""
from llmq.srs.daytime import DayClock
from llmq.srs.queue import QueueCounts, QueueFilter
from llmq.srs.ratings import Attempt, attempt_from_submissions, suggested_rating
from llmq.srs.rebuild import differences, rebuild_states
from llmq.srs.report import format_report
from llmq.srs.scheduler import LEECH_TAG, Outcome, Rating, format_interval
from llmq.srs.settings import Settings, load_settings, save_settings
from llmq.srs.stats import Stats, TopicStats, compute_stats
from llmq.srs.study import Answered, Shown, Study, Undone

__all__ = [
    "LEECH_TAG", "Answered", "Attempt", "DayClock", "Outcome", "QueueCounts", "QueueFilter", "Rating",
    "Settings", "Shown", "Stats", "Study", "TopicStats", "Undone", "attempt_from_submissions",
    "compute_stats", "differences", "format_interval", "format_report", "load_settings", "rebuild_states",
    "save_settings", "suggested_rating",
]
