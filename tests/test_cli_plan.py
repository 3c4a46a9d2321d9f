"""`llmq plan --date YYYY-MM-DD [--minutes-per-day N] [--json]` as a user runs it: the JSON shape of
CONTRACTS.md, the text in English and Chinese, the date saved for the stats screen, and bad input
refused with exit 2 and nothing saved."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from llmq.bank import load_bank
from llmq.cli import main
from llmq.srs.daytime import DayClock
from llmq.srs.plan_date import saved_plan
from llmq.store import Store, now_ms
from tests.conftest import run_llmq
from tests.srs.synthetic_user import study

# The study day, as llmq counts it (it starts at 4 AM): between midnight and 4 it is yesterday's date.
TODAY = DayClock().day_of(now_ms())


@pytest.fixture
def synthetic_user() -> None:
    """Two months of study of the bundled bank, two new cards a day, ending yesterday."""
    bank = list(load_bank(()).questions.values())
    with Store.open() as store:
        study(store, bank, first_day=TODAY - timedelta(days=61), days=60, new_per_day=2, seed=5)


def _in(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def test_json_has_the_contracts_shape_and_the_date_is_saved(synthetic_user: None) -> None:
    out = run_llmq("plan", "--date", _in(21), "--minutes-per-day", "25", "--json")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["date"] == _in(21) and isinstance(plan["overall"], float) and 0 < plan["overall"] < 1
    assert plan["topics"] and all({"topic", "expected_recall", "with_plan"} <= set(t) for t in plan["topics"])
    for t in plan["topics"]:
        assert 0 <= t["expected_recall"] <= t["with_plan"] <= 1
    assert [d["date"] for d in plan["daily"]] == [_in(i) for i in range(21)]
    for d in plan["daily"]:
        assert {"date", "new", "reviews", "exercises", "minutes"} <= set(d)
        assert all(isinstance(d[k], int) for k in ("new", "reviews", "exercises")) and isinstance(d["minutes"], float)
    # 120 cards studied of the bank: the plan starts new ones and raises the share recalled
    assert sum(d["new"] for d in plan["daily"]) > 0 and plan["overall_with_plan"] > plan["overall"]
    with Store.open() as store:
        saved = saved_plan(store)
    assert saved is not None and saved.date.isoformat() == _in(21) and saved.minutes_per_day == 25


def test_text_in_english_and_chinese(synthetic_user: None) -> None:
    out = run_llmq("plan", "--date", _in(10), "--minutes-per-day", "20", env={"LLMQ_LANG": "en"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"Interview on {_in(10)} (10 days from today), 20 minutes a day" in text
    assert "Expected recall on the day:" in text and "with the plan" in text
    assert "Today: " in text and "new cards" in text and "Attention" in text  # topics by title
    assert "Warning: " in text and "will still be new on" in text  # 10 days are too few for the bank
    zh = run_llmq("plan", "--lang", "zh")  # the saved date and minutes
    assert zh.returncode == 0, zh.stderr
    assert f"面试日期 {_in(10)}（距今天 10 天），每天 20 分钟" in zh.stdout
    assert "当天的预期回忆率" in zh.stdout and "今天：" in zh.stdout and "注意：" in zh.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--date", _in(-1)], "is in the past"),
        (["--date", "2027-13-01"], "is not a date: write it as YYYY-MM-DD"),
        (["--date", "next friday"], "is not a date"),
        (
            ["--date", _in(30), "--minutes-per-day", "0"],
            "--minutes-per-day must be a number of minutes above 0 and at most 1440, not 0",
        ),
        (["--date", _in(30), "--minutes-per-day", "-15"], "not -15"),
        (["--date", _in(30), "--minutes-per-day", "2000"], "at most 1440, not 2000"),
        (["--date", _in(30), "--minutes-per-day", "nan"], "not nan"),
        (["--date", _in(4 * 365)], "days away; plan for a date within three years"),
        (["--date", _in(30), "--minutes-per-day", "half"], "invalid float value"),
        ([], "give the interview's date"),
    ],
)
def test_bad_input_exits_2_and_saves_nothing(args: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["plan", "--lang", "en", *args])
    except SystemExit as exc:  # argparse's own errors (a --minutes-per-day that is not a number)
        code = exc.code
    assert code == 2
    assert says in capsys.readouterr().err
    with Store.open() as store:
        assert saved_plan(store) is None


def test_today_is_a_date_with_no_days_left() -> None:
    out = run_llmq("plan", "--date", _in(0), "--json")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["daily"] == [] and plan["overall"] == 0.0  # nothing studied yet
    assert [w["kind"] for w in plan["warnings"]] == ["no_days"]
