"""Start a mock interview round from inside the app (`i` on the home screen, "Mock interview…" in
the command palette): the choices of `llmq interview` (minutes, topic, track) in a small dialog.
Enter starts the round; escape keeps things as they are. What it draws, and how, is the command
line's (llmq.srs.interview_pick); a seed is always drawn at random here."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from llmq.l10n import N_, _
from llmq.srs.interview_pick import default_track, plan_round
from llmq.tui.errors import ReportsWorkerErrors
from llmq.tui.translated import TranslatedBindings

if TYPE_CHECKING:
    from llmq.srs.interview_pick import RoundPlan
    from llmq.tui.app import LlmqApp

DEFAULT_MINUTES = 30
ALL_TRACKS = "all"  # the track select's value for "every track"


class InterviewSetupScreen(TranslatedBindings, ReportsWorkerErrors, ModalScreen[None]):
    HELP = N_(
        "start a mock interview round: the minutes for the code, the topic and the track it is drawn "
        "from (as `llmq interview --minutes --topic --track`)"
    )
    BINDINGS = [
        Binding("enter", "start", N_("Start the round"), id="interview_setup.start", priority=True),
        Binding("escape", "cancel", N_("Cancel"), id="interview_setup.cancel"),
    ]
    DEFAULT_CSS = """
    InterviewSetupScreen { align: center middle; }
    #setup-box { width: 72; max-width: 95%; height: auto; padding: 1 2; border: round $accent; background: $panel; }
    #setup-title { text-style: bold; margin-bottom: 1; }
    .setup-row { height: auto; }
    .setup-label { width: 12; padding: 1 0 0 0; }
    #setup-minutes { width: 12; }
    #setup-topic, #setup-track { width: 1fr; }
    #setup-error { color: $error; height: auto; }
    #setup-keys { color: $text-muted; width: 1fr; padding: 1 0 0 0; }
    """

    def __init__(self, topic: str | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.starting = False

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def _topics(self) -> list[tuple[str, str]]:
        """The topics that have a code exercise (title in the card language, name)."""
        with_code = {e.topic for e in self.llmq.bank.code_exercises()}
        lang = self.llmq.card_lang
        return [(t.title_in(lang), name) for name, t in self.llmq.bank.topics.items() if name in with_code]

    def compose(self) -> ComposeResult:
        topics = self._topics()
        topic = self.topic if self.topic in {name for _title, name in topics} else None
        track = default_track(topic) or ALL_TRACKS
        with Vertical(id="setup-box"):
            yield Static(_("Mock interview"), id="setup-title")
            with Horizontal(classes="setup-row"):
                yield Static(_("minutes"), classes="setup-label")
                yield Input(str(DEFAULT_MINUTES), type="number", id="setup-minutes")
            with Horizontal(classes="setup-row"):
                yield Static(_("topic"), classes="setup-label")
                yield Select(topics, prompt=_("all topics"), value=topic or Select.BLANK, id="setup-topic")
            with Horizontal(classes="setup-row"):
                yield Static(_("track"), classes="setup-label")
                yield Select(
                    [(_("CPU"), "cpu"), (_("GPU"), "gpu"), (_("every track"), ALL_TRACKS)],
                    value=track,
                    allow_blank=False,
                    id="setup-track",
                )
            yield Static("", id="setup-error")
            yield Static(
                _("One exercise you have not mastered, a blank editor and a countdown, then follow-up questions and a report."),
            )
            with Horizontal(classes="setup-row"):
                yield Static(_("enter: start · escape: cancel · tab: next field"), id="setup-keys")
                yield Button(_("Start the round"), variant="primary", id="setup-start")

    def on_mount(self) -> None:
        self.query_one("#setup-minutes", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        # As on the command line: no topic draws from the CPU track, a topic from every track.
        if event.select.id == "setup-topic":
            topic = event.value if isinstance(event.value, str) else None
            self.query_one("#setup-track", Select).value = default_track(topic) or ALL_TRACKS

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            # enter on a select opens its list, or picks the option there: not the round
            focused = self.focused
            on_select = focused is not None and any(focused in s.walk_children() or focused is s for s in self.query(Select))
            return not self.starting and not on_select
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    def _error(self, text: str) -> None:
        self.query_one("#setup-error", Static).update(text)

    def action_start(self) -> None:
        raw = self.query_one("#setup-minutes", Input).value.strip()
        try:
            minutes = float(raw)
        except ValueError:
            minutes = 0.0
        if not minutes > 0:
            self._error(_("The minutes must be a number above 0 (not {value}).").format(value=repr(raw)))
            self.query_one("#setup-minutes", Input).focus()
            return
        topic_value = self.query_one("#setup-topic", Select).value
        topic = topic_value if isinstance(topic_value, str) else None
        track_value = self.query_one("#setup-track", Select).value
        track = track_value if isinstance(track_value, str) and track_value != ALL_TRACKS else None
        self.starting = True
        self._error(_("drawing an exercise…"))
        self.refresh_bindings()
        self.run_worker(lambda: self._plan(minutes, topic, track), thread=True, exit_on_error=False, group="interview-setup")

    def _plan(self, minutes: float, topic: str | None, track: str | None) -> None:
        """In a thread: the cards' states, then the draw (as `llmq interview` does)."""
        try:
            states = {card.qid: card.state for card in self.llmq.progress().store.all_cards()}
            bank = self.llmq.bank
            seed = random.randrange(2**31)
            plan = plan_round(bank.code_exercises(), states, bank.questions, minutes=minutes, seed=seed, topic=topic, track=track)
        except Exception as error:  # the store could not be read: said in a notification, the dialog stays
            self.app.call_from_thread(self._failed, error)
            return
        self.app.call_from_thread(self._planned, plan, topic, track)

    def _failed(self, error: Exception) -> None:
        self.starting = False
        self._error("")
        self.refresh_bindings()
        self.llmq.notify_error(error)

    def _planned(self, plan: RoundPlan | None, topic: str | None, track: str | None) -> None:
        self.starting = False
        self.refresh_bindings()
        if plan is None:
            if track is None:
                self._error(_("No code exercise in this topic."))
            else:
                self._error(_("No {track} code exercise in this topic: choose another track.").format(track=track.upper()))
            return
        app = self.llmq
        self.dismiss(None)
        app.start_round(plan)

    def action_cancel(self) -> None:
        self.dismiss(None)
