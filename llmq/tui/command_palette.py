"""The command palette (ctrl+p): every action of the app, by name, from any screen; and Textual's
own palette commands and texts in the interface's language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from rich.align import Align
from rich.text import Text
from textual.app import App, SystemCommand
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.widgets.option_list import Option

from llmq.bank.model import KINDS
from llmq.l10n import N_, _
from llmq.tui.translated import KIND_NAMES, kind_name

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp

# Textual's system commands (App.get_system_commands), title and help, so the catalogue has them.
TEXTUAL_COMMANDS = (
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit"),
    N_("Quit the application as soon as possible"),
    N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
    N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)


def system_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    """Textual's system commands with their title and help translated (the callbacks are Textual's)."""
    for command in App.get_system_commands(app, screen):
        yield command._replace(title=_(command.title), help=_(command.help))


def open_palette(app: App[Any]) -> None:
    """Textual's action_command_palette, opening the translated palette."""
    if app.use_command_palette and not CommandPalette.is_open(app):
        app.push_screen(LlmqCommandPalette())


class LlmqCommandPalette(CommandPalette):
    """Textual's palette with its placeholder and its "no matches" line translated."""

    def __init__(self) -> None:
        super().__init__(placeholder=_("Search for commands…"), id="--command-palette")

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own, but for the text: after a moment without hits, say there are none.
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(_("No matches found"), style="not bold")), disabled=True, id=self._NO_MATCHES)
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


def _home_topic(app: LlmqApp) -> str:
    """The topic highlighted on the home screen when the palette was opened over it, else ""."""
    from llmq.tui.screens.home import HomeScreen

    below = [s for s in app.screen_stack if not isinstance(s, CommandPalette)]
    home = below[-1] if below else None
    return (home.highlighted_topic() or "") if isinstance(home, HomeScreen) else ""


class Command(NamedTuple):
    text: str  # what the palette shows and matches first
    help: str
    run: Callable[[], object]
    also: str = ""  # what else a query may match: ids, titles in every language, tags, the note's heading


class LlmqCommands(Provider):
    """Review (all or one topic, or one kind), practise code (any exercise), browse, stats, home."""

    def _commands(self) -> list[Command]:
        app = cast("LlmqApp", self.app)
        lang = app.card_lang
        commands = [
            Command(_("Review: all due and new cards"), _("Start the review queue"), app.action_review),
            Command(_("Practise code"), _("The code exercises with their solved state"), app.action_practice),
            Command(
                _("Mock interview…"),
                _("A timed round: one exercise, follow-up questions, a report (choose minutes, topic, track)"),
                partial(app.action_interview, _home_topic(app)),
                "mock interview llmq interview",  # found by the English words in any language
            ),
            Command(_("Browse questions"), _("Search every question; suspend, unsuspend, reset"), app.action_browse),
            Command(_("Stats"), _("Heatmap, forecast, retention, mastery"), app.action_stats),
            Command(_("Home screen"), _("Back to the home screen"), app.action_home),
        ]
        for name, topic in app.bank.topics.items():
            # The topic's title in the card language; its id and every title it has are searched.
            title = topic.title_in(lang)
            commands.append(
                Command(
                    _("Review topic: {title}").format(title=title),
                    _("Only the cards of “{title}”").format(title=title),
                    partial(app.action_review, name),
                    " ".join({name, topic.title, *topic.titles.values()}),
                )
            )
        for kind in KINDS:
            commands.append(
                Command(
                    _("Review kind: {kind}").format(kind=kind_name(kind)),
                    _("Only {kind} questions").format(kind=kind_name(kind)),
                    partial(app.action_review, "", kind),
                    f"{kind} {KIND_NAMES.get(kind, kind)}",  # the id and the English name
                )
            )
        for q in app.bank.code_exercises():
            texts = [str(q.text(field, code)) for code in q.langs for field in ("title", "task")]
            commands.append(
                Command(
                    _("Practise: {id}").format(id=q.id),
                    str(q.text("title", lang)),
                    partial(app.action_practice, q.id),
                    " ".join([*texts, *q.tags, q.source_heading]),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.text, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        words = query.lower().split()
        for command in self._commands():
            score = matcher.match(command.text)
            also = f"{command.help} {command.also}".lower()
            if score == 0 and words and all(word in also for word in words):
                score = 0.5  # found by an id, a title, prompt, tag or heading in either language: ranked below name matches
            if score > 0:
                yield Hit(score, matcher.highlight(command.text), command.run, text=command.text, help=command.help)
