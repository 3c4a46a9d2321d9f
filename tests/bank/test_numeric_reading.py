"""Reading what a user types as the answer to a numeric question (`llmq.bank.numeric.read_answer`
and `is_correct`): units and SI / binary prefixes, GiB against GB, percent, e-notation, full-width
characters from a CJK keyboard, junk (refused with a sentence, never a traceback), and round
trips (a value printed in any unit we read parses back to the same value).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmq.bank.model import Numeric
from llmq.bank.numeric import AnswerFormatError, is_correct, read_answer

GB, GIB = 1e9, 2**30


def reads(text: str, unit: str) -> list[float]:
    return read_answer(text, unit)


def one(text: str, unit: str) -> float:
    (value,) = read_answer(text, unit)
    return value


# --- units and prefixes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31.4 GB", 31.4),
        ("31.4GB", 31.4),
        ("31.4 G", 31.4),
        ("31400 MB", 31.4),
        ("31400000 kB", 31.4),
        ("31400000 KB", 31.4),
        ("0.0314 TB", 31.4),
        ("3.14e10 B", 31.4),
    ],
)
def test_decimal_prefixes_of_bytes(text: str, expected: float) -> None:
    assert one(text, "GB") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("2 ms", "s", 2e-3),
        ("2 us", "ms", 2e-3),
        ("2 µs", "ms", 2e-3),
        ("2 μs", "ms", 2e-3),
        ("5 ns", "s", 5e-9),
        ("312 TFLOPs", "TFLOPs", 312),
        ("312 TFLOPS", "TFLOPs", 312),
        ("0.312 PFLOPs", "TFLOPs", 312),
        ("3.12e14 FLOPs", "TFLOPs", 312),
        ("6 EFLOPs", "FLOPs", 6e18),
        ("60 ZFLOPs", "FLOPs", 6e22),
        ("1.2k tokens/s", "tokens/s", 1200),
        ("1.2 k", "tokens/s", 1200),
        ("1200 tokens/s", "tokens/s", 1200),
        ("12 days", "days", 12),
        ("3x", "x", 3),
        ("3 x", "x", 3),
    ],
)
def test_prefixes_on_other_units(text: str, unit: str, expected: float) -> None:
    assert one(text, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7M", 7),
        ("7 M", 7),
        ("7m", 7),
        ("7 million", 7),
        ("7 mn", 7),
        ("7000k", 7),
        ("0.007B", 7),
        ("0.007 bn", 7),
        ("0.007 billion", 7),
        ("7e-6 trillion", 7),
        ("7e-6 T", 7),
    ],
)
def test_a_count_in_millions(text: str, expected: float) -> None:
    """'m' after a count is a million (nobody counts parameters in thousandths)."""
    assert one(text, "M") == pytest.approx(expected, rel=1e-12)


def test_a_bare_number_is_read_in_the_unit_and_in_its_base_unit() -> None:
    assert reads("31.4", "GB") == [31.4, pytest.approx(31.4e-9)]
    assert reads("3.14e10", "GB") == [3.14e10, pytest.approx(31.4)]
    assert reads("7000000", "M") == [7e6, 7]
    assert reads("12", "days") == [12]  # no prefix: one reading


def test_a_lowercase_letter_that_is_no_si_prefix_is_refused_not_guessed() -> None:
    with pytest.raises(AnswerFormatError, match=r"unknown unit 'gb' \(the answer is in GB\)"):
        read_answer("31.4 gb", "GB")


# --- GiB and GB -------------------------------------------------------------------------------------


def test_gib_and_gb_are_different_units() -> None:
    assert one("1 GiB", "GB") == pytest.approx(GIB / GB)
    assert one("1 GB", "GiB") == pytest.approx(GB / GIB)
    assert one("29.24 GiB", "GiB") == 29.24
    assert one("1024 MiB", "GiB") == pytest.approx(1.0)
    assert one("1 TiB", "GiB") == pytest.approx(1024.0)
    assert one("1048576 KiB", "GiB") == pytest.approx(1.0)


def test_a_gb_answer_to_a_gib_question_is_wrong_when_the_difference_exceeds_the_tolerance() -> None:
    question = _question("GiB", tolerance=0.02)
    assert is_correct("29.8 GiB", question, 29.8)
    assert is_correct("32.0 GB", question, 29.8)  # 32e9 B is 29.80 GiB
    assert not is_correct("29.8 GB", question, 29.8)  # 29.8e9 B is only 27.75 GiB: 7 % off


# --- percent ----------------------------------------------------------------------------------------


def test_percent() -> None:
    assert one("12.5%", "%") == 12.5
    assert one("12.5 %", "%") == 12.5
    assert reads("12.5", "%") == [12.5]
    assert one("50%", "") == 0.5  # a plain fraction typed as a percentage
    assert one("50 %", "") == 0.5


# --- e-notation and separators ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.14e10", 3.14e10),
        ("3.14E10", 3.14e10),
        ("3.14e+10", 3.14e10),
        ("314e-2", 3.14),
        (".5e1", 5.0),
        ("1,000,000", 1e6),
        ("1_000_000", 1e6),
        ("-2.5e-3", -2.5e-3),
        ("+7", 7.0),
        ("5.", 5.0),
        (".5", 0.5),
        ("  42  ", 42.0),
        ("42\u00a0", 42.0),
    ],
)
def test_number_forms(text: str, expected: float) -> None:
    assert reads(text, "")[0] == pytest.approx(expected, rel=1e-15)


# --- full-width characters (a Chinese or Japanese input method) -------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("３１.４ GB", "GB", 31.4),
        ("３１．４ GB", "GB", 31.4),
        ("３１．４ ＧＢ", "GB", 31.4),
        ("31.4\u3000GB", "GB", 31.4),
        ("５０％", "%", 50.0),
        ("１２．５％", "", 0.125),
        ("３．１４ｅ１０", "GB", 3.14e10),
        ("１，０００", "", 1000.0),
        ("２ µs", "ms", 2e-3),
    ],
)
def test_full_width_digits_letters_and_punctuation(text: str, unit: str, expected: float) -> None:
    assert reads(text, unit)[0] == pytest.approx(expected, rel=1e-12)


# --- junk: a sentence for the person, never a traceback ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "GB",
        "abc",
        "-",
        "+",
        ".",
        "e5",
        "1e",
        "nan",
        "inf",
        "-inf",
        "NaN GB",
        "1.2.3",
        "1/2",
        "0x10",
        "31.4 GBs",
        "31.4 XB",
        "31.4 gigabytes please",
        "1e999",
        "-1e999",
        pytest.param("9" * 400, id="400 nines"),
        "\x00",
        "３１．４ 円",
        "10⁹",
        "2³²",
    ],
)
def test_junk_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(AnswerFormatError) as refused:
        read_answer(text, "GB")
    message = str(refused.value)
    assert "Traceback" not in message
    assert message.startswith(("not a number: ", "unknown unit ", "too large to read: "))


@given(st.text(max_size=40))
def test_any_text_is_read_or_refused_never_crashes(text: str) -> None:
    for unit in ("GB", "GiB", "%", "", "M", "TFLOPs", "ms", "days"):
        try:
            values = read_answer(text, unit)
        except AnswerFormatError as refused:
            assert str(refused)
        else:
            assert values and all(math.isfinite(v) for v in values)


# --- round trips ------------------------------------------------------------------------------------

# (unit of the question, how many base units one of it is), and spellings of the same quantity
BYTE_UNITS = {
    "B": 1,
    "kB": 1e3,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "PB": 1e15,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "PiB": 2**50,
}
COUNT_UNITS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "million": 1e6, "B": 1e9, "billion": 1e9, "bn": 1e9, "T": 1e12}
FLOP_UNITS = {"FLOPs": 1, "GFLOPs": 1e9, "TFLOPs": 1e12, "PFLOPs": 1e15, "EFLOPs": 1e18}
TIME_UNITS = {"s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
FAMILIES = [
    (BYTE_UNITS, ["GB", "GiB", "MB", "TB"]),
    (COUNT_UNITS, ["", "M"]),
    (FLOP_UNITS, ["FLOPs", "TFLOPs"]),
    (TIME_UNITS, ["s", "ms"]),
]
FORMATS = ["{:r}", "{:.17g}", "{:.16e}", "{:,.6f}"]


def _render(value: float, how: str) -> str:
    return repr(value) if how == "{:r}" else how.format(value)


@st.composite
def printed_values(draw: st.DrawFn) -> tuple[str, str, float]:
    """A value in the question's unit, and the same value printed in another unit of its family."""
    family, question_units = draw(st.sampled_from(FAMILIES))
    unit = draw(st.sampled_from(question_units))
    spelled = draw(st.sampled_from(sorted(family)))
    value = draw(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False))
    in_spelled = value * family[unit] / family[spelled]
    how = draw(st.sampled_from(FORMATS))
    if how == "{:,.6f}" and not 1 <= in_spelled < 1e15:
        how = "{:r}"  # six decimals keep seven digits only from 1 up; huge ones print in full
    separator = draw(st.sampled_from(["", " "])) if spelled else ""
    return f"{_render(in_spelled, how)}{separator}{spelled}", unit, value


@given(printed_values())
def test_a_value_printed_in_any_unit_reads_back(case: tuple[str, str, float]) -> None:
    text, unit, value = case
    readings = read_answer(text, unit)
    assert any(math.isclose(r, value, rel_tol=1e-6) for r in readings), (text, unit, value, readings)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_a_plain_number_reads_back_exactly(value: float) -> None:
    assert read_answer(repr(value), "")[0] == value
    assert read_answer(f"{value:e}", "")[0] == pytest.approx(value, rel=1e-6, abs=1e-300)


@given(st.floats(min_value=1e-2, max_value=1e4), st.sampled_from(["GB", "GiB", "%", "M", "TFLOPs", "days", ""]))
def test_the_printed_answer_is_correct_and_a_tenth_off_is_not(answer: float, unit: str) -> None:
    question = _question(unit, tolerance=0.01)
    shown = f"{answer!r} {unit}".strip()
    assert is_correct(shown, question, answer)
    assert not is_correct(f"{answer * 1.1!r} {unit}".strip(), question, answer)


# --- helpers ----------------------------------------------------------------------------------------


def _question(unit: str, tolerance: float) -> Numeric:
    """A numeric question record with only what `is_correct` reads set to something meaningful."""
    template = _any_numeric_question()
    return replace(template, unit=unit, tolerance=tolerance)


_TEMPLATE: list[Numeric] = []


def _any_numeric_question() -> Numeric:
    if not _TEMPLATE:
        from llmq.bank import load_bank

        _TEMPLATE.append(next(q for q in load_bank().questions.values() if isinstance(q, Numeric)))
    return _TEMPLATE[0]


def test_questions_of_the_bank_use_only_units_this_file_reads() -> None:
    """Guards the tables above: a new unit in the bank should get its own cases here."""
    from llmq.bank import load_bank

    known = set(BYTE_UNITS) | set(COUNT_UNITS) | set(FLOP_UNITS) | set(TIME_UNITS) | {"%", "x", "tokens/s", "days"}
    units = {q.unit for q in load_bank().questions.values() if isinstance(q, Numeric)}
    assert units <= known, units - known


# --- Chinese around the number (issue 14 point 7) -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("约 38.5 GB", "GB", 38.5),
        ("约38.5GB", "GB", 38.5),
        ("大约 31.4G", "GB", 31.4),
        ("大概 31.4 GB", "GB", 31.4),
        ("约为 12 GiB", "GiB", 12.0),
        ("38.5 GB 左右", "GB", 38.5),
        ("约 38.5 GB。", "GB", 38.5),
        ("约３８．５ＧＢ", "GB", 38.5),
        ("大约 ５０％", "%", 50.0),
        ("≈ 1.2 ms", "ms", 1.2),
    ],
)
def test_chinese_words_for_about_around_the_number(text: str, unit: str, expected: float) -> None:
    assert reads(text, unit)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", ["约", "大约 GB", "约 38.5 个苹果", "三十八 GB"])
def test_chinese_without_a_readable_number_is_refused(text: str) -> None:
    with pytest.raises(AnswerFormatError):
        read_answer(text, "GB")
