"""What each logged event does to a card's state. The live study session and the rebuild from the
log both go through `apply_event`, so replaying the log gives back the live state."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from llmq.srs.daytime import DayClock
from llmq.srs.scheduler import AnswerOutcome, Rating, Scheduler
from llmq.srs.settings import Settings
from llmq.store import CardState


@lru_cache(maxsize=32)
def scheduler_for(config_json: str) -> Scheduler:
    return Scheduler(Settings.from_config(config_json))


def apply_manual(kind: str, state: CardState, at_ms: int, settings: Settings) -> CardState:
    """Anki's manual actions: bury until the next day starts, suspend, and forget ("reset"); and
    "due": a failed check teaches this card, so it is to be studied now (`make_due` in study.py)."""
    match kind:
        case "bury":
            return replace(state, buried_until_ms=DayClock(settings.day_starts_at).next_day_start_ms(at_ms))
        case "unbury":
            return replace(state, buried_until_ms=0)
        case "suspend":
            return replace(state, suspended=True)
        case "unsuspend":
            return replace(state, suspended=False)
        case "reset":  # back to new; the flags and tags are the user's and stay
            return CardState(suspended=state.suspended, buried_until_ms=state.buried_until_ms, tags=state.tags)
        case "due":
            # A studied card is due now (its memory state stays: FSRS takes the early review as it
            # comes). A new card stays new, with no memory state made up, and its due time set marks
            # it asked for: it comes first among today's new cards (queue_queries). A buried card
            # comes back today; a suspended one stays suspended (the user's choice).
            due = at_ms if state.due_ms == 0 else min(state.due_ms, at_ms)
            return replace(state, due_ms=due, buried_until_ms=0)
    raise ValueError(f"unknown action {kind!r}")


def apply_event(
    kind: str, rating: int | None, card_key: int, state: CardState, at_ms: int, config_json: str, card_kind: str = ""
) -> CardState:
    """The state after one logged event, computed with the configuration it was logged with."""
    if kind == "review":
        assert rating is not None
        return review_outcome(Rating(rating), card_key, state, at_ms, config_json, card_kind).after
    return apply_manual(kind, state, at_ms, scheduler_for(config_json).settings)


def review_outcome(
    rating: Rating, card_key: int, state: CardState, at_ms: int, config_json: str, card_kind: str = ""
) -> AnswerOutcome:
    return scheduler_for(config_json).outcomes(card_key, state, at_ms, card_kind)[rating]
