"""Daily limits in sight, as in Anki: "new today n/20" on the home screen, a topic empty only
because of the limit says so and `+` studies more (custom study), review-all takes new cards from
each topic in turn, the end screen sums the session up, and the header counts learning cards the
session will still show."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable

from llmq.srs import Rating, save_settings
from llmq.store import Store
from llmq.tui.screens.review import ReviewScreen
from tests.store.helpers import Q, open_study

from .conftest import TOPIC, screen_text, settle


def test_review_all_takes_new_cards_from_each_topic_in_turn() -> None:
    # The bank lists each topic's cards together; review-all must not drain one topic first.
    bank = [Q(f"a.q{i}", "a") for i in range(3)] + [Q(f"b.q{i}", "b") for i in range(3)] + [Q("c.q0", "c")]
    _, one_topic, _ = open_study(bank, topic="b")
    assert one_topic.next().qid == "b.q0"  # a single topic keeps its bank order
    _, study, _ = open_study(bank)
    seen = []
    while (shown := study.next()) is not None:
        seen.append(shown.qid)
        study.answer(shown, Rating.Easy)  # out of the new queue for days
    assert seen == ["a.q0", "b.q0", "c.q0", "a.q1", "b.q1", "a.q2", "b.q2"]
    _, later, _ = open_study(bank + [Q("a.q3", "a"), Q("d.q0", "d")])  # a later session, same day
    assert later.next().qid == "d.q0"  # the topic not yet met today comes first


def test_custom_study_lets_more_new_cards_through() -> None:
    bank = [Q(f"a.q{i}", "a") for i in range(5)]
    store, study, _ = open_study(bank)
    save_settings(store, new_per_day=2)
    study.reload_settings()
    for _ in range(2):
        study.answer(study.next(), Rating.Easy)
    assert study.next() is None and study.new_waiting() == 3
    study.study_more_new(2)
    assert study.counts().new == 2 and study.next() is not None
    study.reload_settings()
    assert study.counts().new == 2  # survives a settings reload


async def test_home_shows_todays_limits(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "new today 0/20 · reviews today 0/200" in screen_text(app)
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space", "4")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert "new today 1/20 · reviews today 0/200" in screen_text(app)


async def test_a_topic_empty_because_of_the_limit_offers_more(make_app: Callable[..., Any]) -> None:
    with Store.open() as store:
        save_settings(store, new_per_day=1)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert "more new cards" not in screen_text(app).lower()
        # the one new card allowed today, answered Easy: it leaves the queue for days
        assert screen.view is not None and screen.shown is not None
        screen.suggested = Rating.Easy  # rate without grading the card's own way (any kind)
        screen.action_rate(4)
        await settle(pilot)
        text = screen_text(app)
        assert "Nothing more to review for now" in text
        assert "Today's limit of 1 new cards is reached; 4 more new cards wait in tuitest." in text
        assert "This session: 1 card in" in text and "100% not Again (1 of 1)" in text
        assert "No learning card is waiting today." in text
        assert "+ More new cards" in text.splitlines()[-1]
        await pilot.press("plus")
        await settle(pilot)
        assert screen.view is not None  # a new card beyond the limit
        assert any("10 more new cards in this session" in n.message for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        # The home table's cells (what it draws once its column has widened on a later refresh).
        table = app.screen.query_one("#topics", DataTable)
        assert "0 (limit; 4 wait)" in [str(cell) for cell in table.get_row(TOPIC)]


async def test_the_header_counts_the_learning_card_on_screen(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        assert "new 1 · learning 0 · review 0" in screen_text(app)
        await pilot.press("space", "3")  # Good: a learning step of 10 minutes, shown again (learn ahead)
        await settle(pilot)
        text = screen_text(app)
        assert "Why are the scores" in text  # the same card, now learning
        assert "new 0 · learning 1 · review 0" in text
        await pilot.press("space", "4")  # Easy: graduates
        await settle(pilot)
        text = screen_text(app)
        assert "new 0 · learning 0 · review 0" in text
        assert "This session: 2 cards in" in text and "(2 of 2)" in text
