"""Settings with Anki's defaults, validated and saved; the rating a code result suggests."""

from __future__ import annotations

import pytest

from llmq.srs import Attempt, Rating, Settings, load_settings, save_settings, suggested_rating
from llmq.store import Store


def test_defaults_are_ankis() -> None:
    s = load_settings(Store.open())
    assert (s.desired_retention, s.new_per_day, s.reviews_per_day, s.day_starts_at, s.leech_threshold) == (0.9, 20, 200, 4, 8)
    assert s.learning_steps == ("1m", "10m") and s.relearning_steps == ("10m",)


def test_default_weights_are_the_fsrs_packages() -> None:
    # llmq writes FSRS-6's default weights out (reading settings must not import fsrs); they
    # must stay the package's own, or a new card would be scheduled with stale weights.
    from fsrs.scheduler import DEFAULT_PARAMETERS

    assert Settings().parameters == tuple(DEFAULT_PARAMETERS)


def test_settings_are_saved_in_the_database() -> None:
    save_settings(Store.open(), desired_retention=0.85, learning_steps=("2m", "15m"))
    s = load_settings(Store.open())
    assert s.desired_retention == 0.85 and s.learning_steps == ("2m", "15m")


def test_bad_settings_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="desired_retention must be between"):
        save_settings(Store.open(), desired_retention=1.5)
    with pytest.raises(ValueError, match="like 10m"):
        Settings(learning_steps=("ten minutes",))
    assert load_settings(Store.open()).desired_retention == 0.9


@pytest.mark.parametrize(
    "attempt, rating",
    [
        (Attempt(passed=True), Rating.Good),
        (Attempt(passed=True, failed_submissions=2), Rating.Hard),
        (Attempt(passed=True, hints_used=1), Rating.Hard),
        (Attempt(passed=True, revealed_reference=True), Rating.Again),
        (Attempt(passed=False, gave_up=True), Rating.Again),
        (Attempt(passed=False), Rating.Again),
    ],
)
def test_a_code_result_suggests_a_rating(attempt: Attempt, rating: Rating) -> None:
    assert suggested_rating(attempt) == rating


def test_a_bad_saved_setting_is_reported_not_crashed_on() -> None:
    from llmq.store import StoreError

    store = Store.open()
    store.set_settings({"desired_retention": 3})
    with pytest.raises(StoreError, match="desired_retention must be between") as info:
        load_settings(store)
    assert "settings table" in str(info.value)
