"""Card state rebuilt from the review log alone: replay every standing event through the same
code the study session uses. For checking the store (the tests compare it with the stored state),
and for recovering the cards table."""

from __future__ import annotations

from llmq.srs.events import apply_event
from llmq.store import CardState, Store


def rebuild_states(store: Store) -> dict[str, CardState]:
    """The state of every card that has events, computed only from the log and its configs."""
    cards = {c.qid: c for c in store.all_cards()}
    configs: dict[int, str] = {}
    states: dict[str, CardState] = {}
    for qid, e in store.standing_events():
        if e.config not in configs:
            configs[e.config] = store.config_json(e.config)
        before = states.get(qid, CardState())
        card = cards[qid]
        states[qid] = apply_event(e.kind, e.rating, card.key, before, e.at_ms, configs[e.config], card.kind)
    return states
