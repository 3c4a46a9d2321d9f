"""Stats: review heatmap, due forecast, retention against the target, per-topic mastery, code solved."""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual_plotext import PlotextPlot

from llmq.srs import Stats
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.widgets.heatmap import Heatmap

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


class StatsScreen(ReportsWorkerErrors, Screen[None]):
    HELP = "your progress: reviews per day, what comes due, retention, mastery by topic, code solved"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="stats.back")]

    class Loaded(Message):
        def __init__(self, stats: Stats) -> None:
            self.stats = stats
            super().__init__()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-body"):
            yield Static("loading…", id="stats-summary")
            yield Static("Reviews per day", classes="section-title")
            yield Heatmap(id="heatmap")
            with Grid(id="plots"):
                yield PlotextPlot(id="forecast")
                yield PlotextPlot(id="retention")
                yield PlotextPlot(id="mastery")
                yield PlotextPlot(id="code")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False)

    def _load(self) -> None:
        self.post_message(self.Loaded(cast("LlmqApp", self.app).progress().stats()))

    @guarded
    def on_stats_screen_loaded(self, message: Loaded) -> None:
        s = message.stats
        r = s.retention
        true = r.true_retention
        self.query_one("#stats-summary", Static).update(
            f"{s.reviews_total} reviews · {s.cards_total} cards · {s.due_now} due now · "
            f"streak {s.streak_days} days · today {s.reviews_today} reviews in {s.time_today_s:.0f} s")
        self.query_one(Heatmap).show(s.reviews_per_day)

        forecast = self.query_one("#forecast", PlotextPlot).plt
        forecast.clear_figure()
        forecast.bar([str(i) for i in range(len(s.forecast))], [d.due for d in s.forecast])
        forecast.ylim(0, max([1, *(d.due for d in s.forecast)]))
        forecast.title(f"Due in the next {len(s.forecast)} days")
        forecast.xlabel("days from today")

        retention = self.query_one("#retention", PlotextPlot).plt
        retention.clear_figure()
        target = r.desired_retention * 100
        retention.bar(["target", f"true ({r.reviews} reviews)"],
                      [target, (true or 0) * 100])
        retention.ylim(0, 100)
        retention.title(f"Retention over {r.days} days (%)"
                        + ("" if true is not None else ": no reviews yet"))

        mastery = self.query_one("#mastery", PlotextPlot).plt
        mastery.clear_figure()
        names = list(s.topics)
        mastery.bar(names or ["—"], [round(s.topics[n].mastery * 100, 1) for n in names] or [0],
                    orientation="horizontal")
        mastery.xlim(0, 100)
        mastery.title("Mastery by topic (% predicted recall)")

        code = self.query_one("#code", PlotextPlot).plt
        code.clear_figure()
        c = s.code
        code.bar(["exercises", "attempted", "solved"], [c.exercises, c.attempted, c.solved])
        code.title(f"Code: {c.solved} of {c.exercises} solved")
        for plot in self.query(PlotextPlot):
            plot.refresh()
