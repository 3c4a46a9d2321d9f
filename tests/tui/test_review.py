"""The review queue as a user drives it: flashcard, choice, numeric; ratings saved in the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.store import Store
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.widgets.numeric import NumericView

from .conftest import TOPIC, screen_text, settle


def saved_reviews(qid: str) -> list[int]:
    """The ratings the store has for a card (read as `llmq` would on its next start)."""
    with Store.open() as store:
        return [e.rating for _, e in store.standing_events(qid) if e.kind == "review"]


async def open_review(pilot: Any, **kwargs: Any) -> ReviewScreen:
    pilot.app.push_screen(ReviewScreen(TOPIC, **kwargs))
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewScreen)
    return pilot.app.screen


async def test_flashcard_shown_rated_and_saved(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="flashcard")
        text = screen_text(app)
        assert "Why are the scores QK^⊤ divided by √(d_k)?" in text
        assert "$" not in text
        assert "The dot product" not in text  # the answer waits for space
        assert "space Show answer" in text.replace("␣", "space")

        await pilot.press("space")
        await settle(pilot)
        text = screen_text(app)
        assert "The dot product q · k = ∑_(i=1)^(d_k) q_i k_i has variance d_k" in text
        assert "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)" in text  # the fenced code
        assert "$" not in text
        for label in ("1 Again ·", "2 Hard ·", "3 Good ·", "4 Easy ·"):
            assert label in text  # each button carries its interval preview

        await pilot.press("3")
        await settle(pilot)
        # Good on a new card: a learning step (10m), shown again within the learn-ahead limit,
        # with the answer hidden once more.
        text = screen_text(app)
        assert "Why are the scores" in text and "space or enter: show the answer" in text
        assert "The dot product" not in text
    assert saved_reviews("tuitest.sqrt_dk") == [3]


async def test_rating_again_then_undo(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="flashcard")
        await pilot.press("enter", "1")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert "Why are the scores" in screen_text(app)  # the undone card is back
    assert saved_reviews("tuitest.sqrt_dk") == []


async def test_single_choice_graded_at_once(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="choice")
        assert "One key head and one value head" in screen_text(app)
        await pilot.press("b")  # wrong
        await settle(pilot)
        text = screen_text(app)
        assert "✗ Not quite: the answer is a." in text
        assert "the KV cache shrinks by a factor H" in text  # explanation, math as text
        assert "1 Again ·" in text
        await pilot.press("enter")  # accepts the suggested rating: Again
        await settle(pilot)
        assert "Which are true of grouped-query attention with 1 < G < H?" in screen_text(app)
    assert saved_reviews("tuitest.one_choice") == [1]


async def test_multi_choice_toggle_then_submit(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, kind="choice")
        await pilot.press("3")  # right answer on the first card (by number)
        await settle(pilot)
        await pilot.press("3")  # Good
        await settle(pilot)
        assert "toggle with 1-8, a-h or ↑↓ and space, then enter" in screen_text(app)
        await pilot.press("a", "2")  # toggle two options: nothing graded yet
        await settle(pilot)
        assert screen.suggested is None
        text = screen_text(app)
        assert "[x] a. The KV cache" in text and "[x] b. Each group" in text and "[ ] c. It needs" in text
        await pilot.press("enter")
        await settle(pilot)
        assert "✓ Right." in screen_text(app)
        await pilot.press("4")
        await settle(pilot)
    assert saved_reviews("tuitest.one_choice") == [3]
    assert saved_reviews("tuitest.many_choice") == [4]


async def test_numeric_answer_with_units(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, kind="numeric")
        view = screen.view
        assert isinstance(view, NumericView)
        text = screen_text(app)
        assert "How many GB (10^9 bytes)" in text and "{{" not in text and "$" not in text
        answer = view.instance.answer
        await pilot.click("#numeric-answer")
        await pilot.press(*f"{answer * 1e9:.4e}")  # bytes, in e-notation: read as bytes
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "✓ Right:" in text and " GB" in text
        assert "Per token:" in text and "bytes" in text  # the worked solution
        await pilot.press("enter")
        await settle(pilot)
    assert saved_reviews("tuitest.kv_bytes") == [3]


async def test_numeric_fresh_parameters_and_wrong_answer(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, kind="numeric")
        view = screen.view
        assert isinstance(view, NumericView)
        wrong = view.instance.answer * 2
        await pilot.click("#numeric-answer")
        await pilot.press(*f"{wrong:.3f}G", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "✗ You said" in text and "the answer is" in text
        await pilot.press("enter")  # Again: a learning card, shown again with fresh parameters
        await settle(pilot)
    assert saved_reviews("tuitest.kv_bytes") == [1]


async def test_unreadable_numeric_answer_is_a_warning(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, kind="numeric")
        await pilot.click("#numeric-answer")
        await pilot.press(*"lots", "enter")
        await settle(pilot)
        assert screen.suggested is None  # not graded: the user can try again
        assert any("Could not read that" in (n.title or "") for n in app._notifications)


async def test_study_opens_straight_into_the_queue(make_app: Callable[..., Any]) -> None:
    app = make_app(study=True, topic=TOPIC, kind="flashcard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "Why are the scores" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "TUI test bank" in screen_text(app)  # back home


async def test_study_an_unknown_topic_says_so(make_app: Callable[..., Any]) -> None:
    app = make_app(study=True, topic="atention")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Nothing more to review" in screen_text(app)
        assert any(n.title == "Unknown topic" and "tuitest" in n.message for n in app._notifications)
