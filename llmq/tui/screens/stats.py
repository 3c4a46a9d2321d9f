"""Stats: readiness for the interview date once one is saved (`llmq plan --date`), review heatmap,
due forecast from today, retention against the target, mastery per topic (every topic on its own
labelled row), code solved. Every number on screen is a field of `llmq stats --json` (the same
Stats record), or of `llmq plan --json` for the readiness section (the same Plan record)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from llmq.l10n import N_, _
from llmq.srs import Stats
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.screens.stats_readiness import readiness_view
from llmq.tui.translated import TranslatedBindings
from llmq.tui.widgets.heatmap import Heatmap
from llmq.tui.widgets.reading import ReadingScroll

if TYPE_CHECKING:
    from llmq.srs import DayDue, Retention, TopicStats
    from llmq.srs.plan import Plan
    from llmq.tui.app import LlmqApp

_BLOCKS = " ▁▂▃▄▅▆▇█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells, filled to `fraction` (eighths of a cell)."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")).ljust(width)


def forecast_text(forecast: list[DayDue], height: int = 6) -> Text:
    """A column per day from today (two cells wide), labelled today, +7, +14, ...; then the totals."""
    text = Text()
    if not forecast:
        return Text(_("nothing scheduled"))
    top = max(d.due for d in forecast)
    if top == 0:
        return Text(_("nothing due in the next {days} days").format(days=len(forecast)))
    for level in range(height, 0, -1):
        text.append(f"{top if level == height else '':>4} ", style="dim")
        for d in forecast:
            fill = d.due / top * height if top else 0
            cell = "█" if fill >= level else (_BLOCKS[round((fill - level + 1) * 8)] if fill > level - 1 else " ")
            text.append(cell * 2 if d.due else "  ", style="cyan")
        text.append("\n")
    axis = [" "] * (len(forecast) * 2 + 8)
    for i in range(0, len(forecast), 7):
        label = _("today") if i == 0 else f"+{i}"
        at = i * 2
        for char in label:  # by cells: a Chinese character takes two, so its second slot stays empty
            width = cell_len(char)
            axis[at : at + width] = [char] + [""] * (width - 1)
            at += width
    text.append("     " + "".join(axis).rstrip() + "\n", style="dim")
    week = sum(d.due for d in forecast[:7])
    text.append(
        _("today {due} · tomorrow {tomorrow} · next 7 days {week} · next {days} days {later}").format(
            due=forecast[0].due,
            tomorrow=forecast[1].due if len(forecast) > 1 else 0,
            week=week,
            days=len(forecast),
            later=sum(d.due for d in forecast),
        )
    )
    return text


def retention_text(r: Retention) -> Text:
    text = Text()
    target = _("target {target:.0f}%").format(target=r.desired_retention * 100)
    if r.true_retention is None:
        text.append(_("no reviews of review cards in the last {days} days · {target}").format(days=r.days, target=target))
        return text
    text.append(f"{bar(r.true_retention, 30)} ", style="green" if r.true_retention >= r.desired_retention else "yellow")
    text.append(
        _("{retention:.1f}% true retention ({passed} of {reviews} reviews passed, last {days} days) · {target}").format(
            retention=r.true_retention * 100, passed=r.passed, reviews=r.reviews, days=r.days, target=target
        )
    )
    return text


def mastery_table(topics: dict[str, TopicStats], titles: dict[str, str]) -> Table:
    """One row per topic, its name beside its own bar: never a label next to another topic's bar."""
    # The topic's title gives way when the width is short (the one column Rich may narrow: its
    # cells are cut with an ellipsis, never wrapped); the counts and the bar keep their width.
    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, header_style="bold")
    table.add_column(_("topic"), max_width=28)
    for name in (N_("cards"), N_("new"), N_("learn"), N_("review"), N_("mature")):
        # the header in full (a Chinese one is two cells a character); the topic's title gives way
        table.add_column(_(name), justify="right", no_wrap=True, min_width=cell_len(_(name)))
    table.add_column(_("mastery (predicted recall)"), no_wrap=True, min_width=cell_len(_("mastery (predicted recall)")))
    for name, t in topics.items():
        table.add_row(
            Text(titles.get(name, name), no_wrap=True, overflow="ellipsis"),
            str(t.cards),
            str(t.new),
            str(t.learning),
            str(t.review),
            str(t.mature),
            f"{bar(t.mastery, 16)} {t.mastery * 100:5.1f}%",
        )
    return table


def fsrs_offer_text(set_name: str, reviews: int) -> str:
    """The suggestion to fit FSRS weights to a set's own history (`llmq optimize`)."""
    what = _("cards") if set_name == "cards" else _("code exercises")
    return _(
        "Your {what} have {reviews} reviews: enough to fit FSRS weights to your own memory. "
        "Run `llmq optimize` to compare them with the defaults, then `llmq optimize --apply` to use them."
    ).format(what=what, reviews=reviews)


class StatsScreen(TranslatedBindings, ReportsWorkerErrors, Screen[None]):
    HELP = N_("your progress: reviews per day, what comes due, retention, mastery by topic, code solved")
    BINDINGS = [Binding("escape", "app.pop_screen", N_("Back"), id="stats.back")]

    class Loaded(Message):
        def __init__(self, stats: Stats, fsrs_offer: list[tuple[str, int]], readiness: Plan | None = None) -> None:
            self.stats = stats
            self.fsrs_offer = fsrs_offer  # (set of weights, reviews) that `llmq optimize` could fit
            self.readiness = readiness  # the plan for the date `llmq plan --date` saved, if any
            super().__init__()

    def compose(self) -> ComposeResult:
        yield Header()
        with ReadingScroll(id="stats-body"):
            yield Static(_("loading…"), id="stats-summary")
            for part in (
                Static(_("Interview readiness"), id="readiness-title", classes="section-title"),
                Static("", id="readiness", classes="stats-part"),
            ):
                part.display = False  # shown once `llmq plan --date` has saved a date
                yield part
            yield Static(_("Reviews per day"), classes="section-title")
            yield Heatmap(id="heatmap")
            yield Static(_("Due from today"), classes="section-title")
            yield Static("", id="forecast", classes="stats-part")
            yield Static(_("Retention"), classes="section-title")
            yield Static("", id="retention", classes="stats-part")
            offer = Static("", id="fsrs-offer", classes="stats-part")
            offer.display = False  # shown once a set of weights has enough reviews to fit
            yield offer
            yield Static(_("Mastery by topic"), classes="section-title")
            yield Static("", id="mastery", classes="stats-part")
            yield Static(_("Code"), classes="section-title")
            yield Static("", id="code", classes="stats-part")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-body").focus()
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False)

    def _load(self) -> None:
        progress = cast("LlmqApp", self.app).progress()
        self.post_message(self.Loaded(progress.stats(), progress.optimizer_offer(), progress.readiness()))

    @guarded
    def on_stats_screen_loaded(self, message: Loaded) -> None:
        s = message.stats
        self.query_one("#stats-summary", Static).update(
            _(
                "{reviews_total} reviews · {cards_total} cards · {due_now} due now · streak {streak_days} days · today {reviews_today} reviews in {time_today_s:.0f} s"
            ).format(
                reviews_total=s.reviews_total,
                cards_total=s.cards_total,
                due_now=s.due_now,
                streak_days=s.streak_days,
                reviews_today=s.reviews_today,
                time_today_s=s.time_today_s,
            )
        )
        self.query_one(Heatmap).show(s.reviews_per_day)
        self.query_one("#forecast", Static).update(forecast_text(s.forecast))
        self.query_one("#retention", Static).update(retention_text(s.retention))
        if message.fsrs_offer:
            offer = self.query_one("#fsrs-offer", Static)
            offer.update("\n".join(fsrs_offer_text(name, reviews) for name, reviews in message.fsrs_offer))
            offer.display = True
        app = cast("LlmqApp", self.app)
        titles = {name: topic.title_in(app.card_lang) for name, topic in app.bank.topics.items()}
        if message.readiness is not None:
            self.query_one("#readiness", Static).update(readiness_view(message.readiness, titles))
            for part in ("#readiness-title", "#readiness"):
                self.query_one(part).display = True
        self.query_one("#mastery", Static).update(mastery_table(s.topics, titles))
        c = s.code
        self.query_one("#code", Static).update(
            _("{solved} of {exercises} exercises solved · {attempted} attempted").format(
                solved=c.solved, exercises=c.exercises, attempted=c.attempted
            )
        )
