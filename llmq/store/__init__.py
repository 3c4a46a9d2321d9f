"""The SQLite progress store: cards' state, the append-only review log, submissions, settings.

The only package that knows SQL: everything else calls Store's named methods and gets the typed
records exported here.
"""

from llmq.store.backup_queries import BACKUP_TABLES, BackupRowsRefused, ReviewRow, TableRows, new_sqlite_file
from llmq.store.cards import LEARNING, NEW, RELEARNING, REVIEW, STATE_NAMES, BankCard, CardState, StoredCard
from llmq.store.db import DB_NAME
from llmq.store.errors import StoreError
from llmq.store.history_queries import HistoryEvent
from llmq.store.interviews import HEARTBEAT_S, FollowupAnswer, InterviewLog, InterviewRound, Outcome
from llmq.store.migrations import SCHEMA_VERSION
from llmq.store.pace_queries import AnswerTimes
from llmq.store.queue_queries import DueWindow, QueueCounts, QueueFilter, QueueName, ReviewsDone
from llmq.store.reviews import LogEntry
from llmq.store.stats_queries import AnswerCounts, CardSummary, CodeProgress, ReviewBucket
from llmq.store.store import Applied, Store, now_ms
from llmq.store.submissions import CodeStatus, Submission

__all__ = [
    "BACKUP_TABLES",
    "DB_NAME",
    "HEARTBEAT_S",
    "LEARNING",
    "NEW",
    "RELEARNING",
    "REVIEW",
    "SCHEMA_VERSION",
    "STATE_NAMES",
    "AnswerCounts",
    "AnswerTimes",
    "Applied",
    "BackupRowsRefused",
    "BankCard",
    "CardState",
    "CardSummary",
    "CodeProgress",
    "CodeStatus",
    "DueWindow",
    "FollowupAnswer",
    "HistoryEvent",
    "InterviewLog",
    "InterviewRound",
    "LogEntry",
    "Outcome",
    "QueueCounts",
    "QueueFilter",
    "QueueName",
    "ReviewBucket",
    "ReviewRow",
    "ReviewsDone",
    "Store",
    "StoreError",
    "StoredCard",
    "Submission",
    "TableRows",
    "new_sqlite_file",
    "now_ms",
]
