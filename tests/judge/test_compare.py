"""Comparisons: exact shapes and dtypes, NaN and inf as such, messages that say where and how much."""

from __future__ import annotations

import torch

from llmq.judge.compare import mismatch, zeros_would_pass


def test_within_tolerance_is_no_mismatch() -> None:
    e = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    assert mismatch(e.float() + 1e-6, e, 1e-4, 1e-5, torch.float32) is None


def test_mismatch_reports_count_first_index_and_largest_errors() -> None:
    expected = torch.zeros(2, 3, dtype=torch.float64) + 1.0
    actual = expected.clone().float()
    actual[0, 2] = 1.5
    actual[1, 1] = 3.0
    found = mismatch(actual, expected, 1e-4, 1e-5, torch.float32)
    assert found is not None
    text = found.text()
    assert "2 of 6 elements" in text
    assert "first differing index [0, 2]: got 1.5, expected 1" in text
    assert "largest absolute error 2 at [1, 1]" in text
    assert "largest relative error 2" in text


def test_nan_matches_only_nan_and_inf_only_the_same_inf() -> None:
    expected = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0], dtype=torch.float64)
    assert mismatch(expected.clone(), expected, 0.0, 0.0, torch.float64) is None
    flipped = torch.tensor([0.0, float("inf"), float("inf"), float("nan")], dtype=torch.float64)
    found = mismatch(flipped, expected, 0.1, 0.1, torch.float64)
    assert found is not None and found.count == 3 and found.nonfinite == 3


def test_zeros_would_pass_only_when_every_element_is_within_tolerance_of_zero() -> None:
    assert zeros_would_pass(torch.tensor([1e-6, -1e-6]), 1e-4, 1e-5)
    assert not zeros_would_pass(torch.tensor([1e-6, 0.5]), 1e-4, 1e-5)
    assert not zeros_would_pass(torch.tensor([float("nan")]), 1e-4, 1e-5)


def test_a_tiny_float64_difference_is_printed_with_enough_digits_to_see_it() -> None:
    expected = torch.tensor([0.2684210526315789], dtype=torch.float64)
    actual = expected + 3e-9
    found = mismatch(actual, expected, 1e-10, 1e-12, torch.float64)
    assert found is not None
    line = next(row for row in found.text().splitlines() if row.startswith("first differing index"))
    got, expected_text = line.split("got ")[1].split(", expected ")
    assert got != expected_text and float(got) != float(expected_text)


def test_only_non_finite_mismatches_do_not_claim_a_zero_error() -> None:
    expected = torch.tensor([1.0, 2.0], dtype=torch.float64)
    actual = torch.tensor([float("inf"), 2.0], dtype=torch.float64)
    text = mismatch(actual, expected, 1e-7, 1e-9, torch.float64).text()
    assert "got inf, expected 1" in text
    assert "largest absolute error 0" not in text
    assert "1 of them are NaN or inf on one side only" in text


def test_a_float64_result_rounded_through_float32_is_named_as_float32_precision() -> None:
    expected = torch.linspace(-3.0, 3.0, 50, dtype=torch.float64).exp()
    actual = expected.float().double()  # what `.float()` on float64 input gives back
    found = mismatch(actual, expected, 1e-12, 1e-14, torch.float64)
    assert found is not None
    text = found.text()
    assert "float32" in text and "`.float()`" in text and "float32 `torch.arange`" in text


def test_a_float64_error_of_float32_size_is_named_even_when_not_exactly_float32() -> None:
    expected = torch.linspace(1.0, 2.0, 20, dtype=torch.float64)
    actual = expected * (1 + 3e-7)  # e.g. a float32 table multiplied into float64 values
    text = mismatch(actual, expected, 1e-12, 1e-14, torch.float64).text()
    assert "has the size of float32 rounding" in text


def test_a_plainly_wrong_value_is_not_called_a_precision_problem() -> None:
    expected = torch.linspace(1.0, 2.0, 20, dtype=torch.float64)
    actual = expected.clone()
    actual[3] += 0.1
    text = mismatch(actual, expected, 1e-12, 1e-14, torch.float64).text()
    assert "float32" not in text and "Usual causes" not in text
    wrong32 = expected.float() * 1.5
    text32 = mismatch(wrong32, expected, 1e-4, 1e-5, torch.float32).text()
    assert "bfloat16" not in text32 and "Usual causes" not in text32


def test_a_float32_result_rounded_through_bfloat16_is_named_as_half_precision() -> None:
    expected = torch.linspace(-3.0, 3.0, 50, dtype=torch.float64).exp()
    actual = expected.to(torch.bfloat16).float()
    text = mismatch(actual, expected, 1e-4, 1e-5, torch.float32).text()
    assert "bfloat16" in text and "Usual causes" in text
