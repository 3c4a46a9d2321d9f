"""`llmq stats` without --json: the stats as a short plain-text report, in the interface's language."""

from __future__ import annotations

import unicodedata

from llmq.l10n import N_, _, ngettext
from llmq.srs.stats import Stats

BARS = " ▁▂▃▄▅▆▇█"

# The topic table's columns (the topic's id, then counts); translated where shown.
COLUMNS = (N_("topic"), N_("cards"), N_("new"), N_("learn"), N_("review"), N_("mature"), N_("mastery"))


def _spark(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, -(-v * (len(BARS) - 1) // top))] for v in values)


def _pct(x: float | None) -> str:
    return _("n/a") if x is None else f"{x * 100:.1f}%"


def _width(text: str) -> int:
    """Terminal columns of `text`: a CJK character takes two (str.ljust would count one)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _left(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _right(text: str, width: int) -> str:
    return " " * max(0, width - _width(text)) + text


def format_report(s: Stats) -> str:
    st, q, r, c = s.states, s.queue, s.retention, s.code
    last14 = [d.reviews for d in s.reviews_per_day[-14:]]
    next14 = [d.due for d in s.forecast[:14]]
    cards = _("{total}: {new} new, {learning} learning, {review} review").format(
        total=s.cards_total, new=st.new, learning=st.learning, review=st.review
    )
    if st.suspended:
        cards += _(" ({count} suspended)").format(count=st.suspended)
    due = _("{due}   (a session now: {new} new, {learning} learning, {review} review)").format(
        due=s.due_now, new=q.new, learning=q.learning, review=q.review
    )
    reviews = _("{total} in all; {today} today ({minutes} min); ").format(
        total=s.reviews_total, today=s.reviews_today, minutes=f"{s.time_today_s / 60:.1f}"
    ) + ngettext("streak {count} day", "streak {count} days", s.streak_days).format(count=s.streak_days)
    retention = (
        ngettext(
            "{retention} true retention over the last {days} day",
            "{retention} true retention over the last {days} days",
            r.days,
        ).format(retention=_pct(r.true_retention), days=r.days)
        + ngettext(" ({count} review)", " ({count} reviews)", r.reviews).format(count=r.reviews)
        + _("; desired {desired}").format(desired=_pct(r.desired_retention))
    )
    code = _("{solved} of {exercises} exercises solved, {attempted} attempted").format(
        solved=c.solved, exercises=c.exercises, attempted=c.attempted
    )
    last = f"{_spark(last14)}  " + ngettext("({count} review)", "({count} reviews)", sum(last14)).format(count=sum(last14))
    ahead = f"{_spark(next14)}  " + _("({count} due)").format(count=sum(next14))
    rows = [
        (_("Cards"), cards),
        (_("Due now"), due),
        (_("Reviews"), reviews),
        (_("Retention"), retention),
        (_("Code"), code),
        (_("Last 14 days"), last),
        (_("Next 14 days"), ahead),
    ]
    label_width = max(_width(label) for label, _value in rows) + 2
    lines = [_left(label, label_width) + value for label, value in rows]
    if s.topics:
        heads = [_(name) for name in COLUMNS]
        width = max(8, _width(heads[0]), *(_width(t) for t in s.topics))
        widths = [width, *(max(5, _width(h)) for h in heads[1:])]
        lines += ["", "  ".join([_left(heads[0], width), *(_right(h, w) for h, w in zip(heads[1:], widths[1:]))])]
        for name, t in s.topics.items():
            values = [str(t.cards), str(t.new), str(t.learning), str(t.review), str(t.mature), f"{t.mastery * 100:.0f}%"]
            lines.append("  ".join([_left(name, width), *(_right(v, w) for v, w in zip(values, widths[1:]))]))
    return "\n".join(lines)
