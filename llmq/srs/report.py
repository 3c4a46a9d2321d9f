"""`llmq stats` without --json: the stats as a short plain-text report."""

from __future__ import annotations

from llmq.srs.stats import Stats

BARS = " ▁▂▃▄▅▆▇█"


def _spark(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, -(-v * (len(BARS) - 1) // top))] for v in values)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def format_report(s: Stats) -> str:
    st, q, r, c = s.states, s.queue, s.retention, s.code
    last14 = [d.reviews for d in s.reviews_per_day[-14:]]
    next14 = [d.due for d in s.forecast[:14]]
    retention = (
        f"{_pct(r.true_retention)} true retention over the last {r.days} days "
        f"({r.reviews} review{'s' if r.reviews != 1 else ''}); desired {_pct(r.desired_retention)}"
    )
    lines = [
        f"Cards      {s.cards_total}: {st.new} new, {st.learning} learning, {st.review} review"
        + (f" ({st.suspended} suspended)" if st.suspended else ""),
        f"Due now    {s.due_now}   (a session now: {q.new} new, {q.learning} learning, {q.review} review)",
        f"Reviews    {s.reviews_total} in all; {s.reviews_today} today ({s.time_today_s / 60:.1f} min); "
        f"streak {s.streak_days} day{'s' if s.streak_days != 1 else ''}",
        f"Retention  {retention}",
        f"Code       {c.solved} of {c.exercises} exercises solved, {c.attempted} attempted",
        f"Last 14 days  {_spark(last14)}  ({sum(last14)} reviews)",
        f"Next 14 days  {_spark(next14)}  ({sum(next14)} due)",
    ]
    if s.topics:
        width = max(8, *(len(t) for t in s.topics))
        lines += ["", f"{'topic':<{width}}  cards    new  learn  review  mature  mastery"]
        for name, t in s.topics.items():
            lines.append(
                f"{name:<{width}}  {t.cards:>5}  {t.new:>5}  {t.learning:>5}  {t.review:>6}  "
                f"{t.mature:>6}  {t.mastery * 100:>6.0f}%"
            )
    return "\n".join(lines)
