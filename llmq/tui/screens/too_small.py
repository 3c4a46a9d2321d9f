"""Shown over everything while the terminal is smaller than the app's layout needs (80x24): a
plain sentence instead of buttons and panes cut in half. It goes away by itself when the
terminal is made larger."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from llmq.l10n import _
from llmq.tui.translated import TranslatedBindings

MIN_WIDTH = 80
MIN_HEIGHT = 24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(TranslatedBindings, ModalScreen[None]):
    """Only ctrl+q works here (the app's binding); every other key waits for a larger terminal."""

    BINDINGS = [Binding("escape", "nothing", show=False)]  # escape must not pop it

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small")

    def show_size(self, width: int, height: int) -> None:
        self.query_one("#too-small", Static).update(
            _(
                "The terminal is too small: {width}x{height}.\nllmq needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n\nMake the window larger (or the font smaller).\nctrl+q quits."
            ).format(width=width, height=height, MIN_WIDTH=MIN_WIDTH, MIN_HEIGHT=MIN_HEIGHT)
        )

    def action_nothing(self) -> None:
        pass
