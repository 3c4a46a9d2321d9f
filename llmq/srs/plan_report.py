"""`llmq plan` without --json, and the stats screen's readiness section: the plan as short plain
text in the interface's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmq.l10n import N_, _, ngettext
from llmq.srs.report import _left, _right, _width

if TYPE_CHECKING:  # the stats screen imports this module: fsrs (behind the plan) loads when a plan is made
    from llmq.srs.pace import Pace, Rate
    from llmq.srs.plan import Plan, PlanDay, PlanWarning, TopicReadiness

DAYS_SHOWN = 14  # the text lists the first two weeks; --json lists every day

TOPIC_COLUMNS = (N_("topic"), N_("cards"), N_("studied"), N_("schedule"), N_("with plan"), N_("new in plan"))
DAY_COLUMNS = (N_("day"), N_("new"), N_("reviews"), N_("exercises"), N_("minutes"))


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def headline(plan: Plan) -> str:
    """The date, the days left and the minutes a day."""
    left = (
        _("today")
        if plan.days == 0
        else ngettext("{count} day from today", "{count} days from today", plan.days).format(count=plan.days)
    )
    return _("Interview on {date} ({left}), {minutes} minutes a day").format(
        date=plan.date, left=left, minutes=f"{plan.minutes_per_day:g}"
    )


def readiness(plan: Plan) -> str:
    """Overall: keeping to the schedule, and with the plan."""
    cards = sum(t.cards for t in plan.topics)
    return _(
        "Expected recall on the day: {schedule} of {cards} cards if you keep to the schedule; {planned} with the plan"
    ).format(schedule=pct(plan.overall), cards=cards, planned=pct(plan.overall_with_plan))


def what_it_means() -> str:
    return _("(FSRS's predicted recall on that day; cards never studied count as not recalled)")


def ordered_topics(plan: Plan) -> list[TopicReadiness]:
    """Where the plan helps most first, then the topics that stand lowest."""
    return sorted(plan.topics, key=lambda t: (-(t.with_plan - t.expected_recall), t.with_plan, t.topic))


def day_text(day: PlanDay) -> str:
    """One day of the plan in words: "8 new cards, 10 reviews, 1 exercise (attention.gqa), about 24 min"."""
    new = ngettext("{count} new card", "{count} new cards", day.new).format(count=day.new)
    reviews = ngettext("{count} review", "{count} reviews", day.reviews).format(count=day.reviews)
    minutes = f"{day.minutes:.0f}"
    if not day.exercises:
        return _("{new}, {reviews}, about {minutes} min").format(new=new, reviews=reviews, minutes=minutes)
    exercises = ngettext("{count} exercise", "{count} exercises", day.exercises).format(count=day.exercises)
    redo = ", ".join(x for x in day.exercise_ids if x not in day.new_exercise_ids)
    first = ", ".join(day.new_exercise_ids)
    if redo and first:
        which = _("redo {redo}; new {new}").format(redo=redo, new=first)
    else:
        which = _("redo {ids}").format(ids=redo) if redo else _("new {ids}").format(ids=first)
    return _("{new}, {reviews}, {exercises} ({which}), about {minutes} min").format(
        new=new, reviews=reviews, exercises=exercises, which=which, minutes=minutes
    )


def today_text(plan: Plan) -> str:
    if not plan.daily:
        return _("Today: nothing to plan, the interview is today.")
    return _("Today: {plan}").format(plan=day_text(plan.daily[0]))


def warning_text(w: PlanWarning, plan: Plan) -> str:
    if w.kind == "too_close":
        text = ngettext(
            "{count} card or exercise will still be new on {date}: at {minutes} minutes a day there is not time to start it.",
            "{count} cards and exercises will still be new on {date}: at {minutes} minutes a day there is not time to start them all.",
            w.count,
        ).format(count=w.count, date=plan.date, minutes=f"{plan.minutes_per_day:g}")
        if w.minutes > plan.minutes_per_day:
            text += _(" About {minutes} minutes a day would.").format(minutes=f"{w.minutes:.0f}")
        return text
    if w.kind == "over_budget":
        return ngettext(
            "On {count} day the reviews due alone take more than {minutes} minutes.",
            "On {count} days the reviews due alone take more than {minutes} minutes.",
            w.count,
        ).format(count=w.count, minutes=f"{plan.minutes_per_day:g}")
    if w.kind == "new_limit":
        return _(
            "The plan starts up to {count} new cards a day; your daily limit lets {limit} through "
            "(raise it in the settings, or study more new cards in a session)."
        ).format(count=w.count, limit=w.limit)
    return _("The date is today: there are no days left to plan.")


def _rate(rate: Rate, unit_minutes: bool) -> str:
    amount = _("{n} min").format(n=f"{rate.minutes:.1f}") if unit_minutes else _("{n} s").format(n=f"{rate.seconds:.0f}")
    if rate.measured_from:
        how = ngettext("measured from {count} answer", "measured from {count} answers", rate.measured_from).format(
            count=rate.measured_from
        )
    else:
        how = _("default")
    return f"{amount} ({how})"


def pace_text(pace: Pace) -> str:
    return _("Time per answer: new card {new}; review {review}; new exercise {code_new}; exercise redone {code_review}").format(
        new=_rate(pace.new, False),
        review=_rate(pace.review, False),
        code_new=_rate(pace.code_new, True),
        code_review=_rate(pace.code_review, True),
    )


def _table(heads: list[str], rows: list[list[str]], first_width: int) -> list[str]:
    widths = [first_width, *(max(_width(h), *(_width(r[i]) for r in rows)) for i, h in enumerate(heads) if i)]
    lines = ["  ".join([_left(heads[0], widths[0]), *(_right(h, w) for h, w in zip(heads[1:], widths[1:]))])]
    for row in rows:
        lines.append("  ".join([_left(row[0], widths[0]), *(_right(v, w) for v, w in zip(row[1:], widths[1:]))]))
    return lines


def format_plan(plan: Plan, titles: dict[str, str] | None = None) -> str:
    """The whole plan as text; `titles`: topic id -> title in the interface's language."""
    titles = titles or {}
    lines = [headline(plan), readiness(plan), what_it_means(), ""]
    topic_heads = [_(h) for h in TOPIC_COLUMNS]
    topics = ordered_topics(plan)
    names = [titles.get(t.topic, t.topic) for t in topics]
    width = max(_width(topic_heads[0]), *(_width(n) for n in names)) if names else _width(topic_heads[0])
    rows = [
        [name, str(t.cards), str(t.studied), pct(t.expected_recall), pct(t.with_plan), str(t.new_planned)]
        for name, t in zip(names, topics)
    ]
    lines += _table(topic_heads, rows, width)
    lines += ["", today_text(plan)]
    if plan.daily:
        shown = plan.daily[:DAYS_SHOWN]
        day_rows = [[d.date, str(d.new), str(d.reviews), str(d.exercises), f"{d.minutes:.0f}"] for d in shown]
        lines += ["", *_table([_(h) for h in DAY_COLUMNS], day_rows, 10)]
        if len(plan.daily) > DAYS_SHOWN:
            lines.append(
                _("(the first {shown} of {days} days; --json lists every day)").format(shown=DAYS_SHOWN, days=len(plan.daily))
            )
    if plan.redo:
        lines += ["", _("Exercises to redo before the date, as they come due: {ids}").format(ids=", ".join(plan.redo))]
    lines += ["", pace_text(plan.pace)]
    if plan.warnings:
        lines.append("")
        lines += [_("Warning: {text}").format(text=warning_text(w, plan)) for w in plan.warnings]
    return "\n".join(lines)
