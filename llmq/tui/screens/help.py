"""The help overlay (`?` or `f1` on any screen): what the screen below is for and every key that
works on it right now, with the keys that work elsewhere on it listed apart."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from llmq.l10n import N_, _
from llmq.tui.translated import TranslatedBindings
from llmq.tui.widgets.reading import ReadingScroll

# Keys every screen shares, beyond the screen's own bindings.
_GENERAL = [("ctrl+p", N_("every command, by name")), ("? / f1", N_("this help")), ("ctrl+q", N_("quit llmq"))]


# Textual's own keys that every screen has; not what a person opens help for.
_GENERIC_ACTIONS = {
    "app.focus_next",
    "app.focus_previous",
    "screen.copy_text",
    "focus_next",
    "focus_previous",
    "quit",
    "help",
    "command_palette",
}  # the last three: listed once, below


def screen_help(screen: Screen[object]) -> Table:
    """The overlay's body for `screen`: its keys that work now, the keys of one action together
    (space / ⏎ Show answer), then the keys every screen shares."""
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    keys: dict[str, list[str]] = {}  # description -> its keys, in binding order
    app = screen.app
    for active in screen.active_bindings.values():
        b = active.binding
        if not b.description or not active.enabled or b.system or b.action in _GENERIC_ACTIONS:
            continue
        key = b.key_display or app.get_key_display(b)
        shown = keys.setdefault(b.description, [])
        if key not in shown:
            shown.append(key)
    for description, shown in keys.items():
        table.add_row(" / ".join(shown), description)
    for key, what in _GENERAL:
        table.add_row(key, _(what))
    return table


class HelpScreen(TranslatedBindings, ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", N_("Close help"), id="help.close")]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        about = _(getattr(self.below, "HELP", "") or "")
        with ReadingScroll(id="help-box"):
            yield Static(_("Help · {about}").format(about=about) if about else _("Help"), id="help-title")
            yield Static(screen_help(self.below), id="help-keys")
            yield Static(_("escape, ? or f1 closes this"), id="help-close")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
