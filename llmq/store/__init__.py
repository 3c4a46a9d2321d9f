"""The SQLite progress store: cards' state, the append-only review log, submissions, settings."""
from llmq.store.cards import LEARNING, NEW, RELEARNING, REVIEW, STATE_NAMES, BankCard, CardState, StoredCard
from llmq.store.db import DB_NAME
from llmq.store.errors import StoreError
from llmq.store.migrations import SCHEMA_VERSION
from llmq.store.store import Applied, Store, now_ms
from llmq.store.reviews import LogEntry
from llmq.store.submissions import Submission

__all__ = [
    "DB_NAME", "LEARNING", "NEW", "RELEARNING", "REVIEW", "SCHEMA_VERSION", "STATE_NAMES", "Applied",
    "BankCard", "CardState", "LogEntry", "Store", "StoreError", "StoredCard", "Submission", "now_ms",
]
