"""Screens that show progress reload it when the user comes back to them, and only then."""

from __future__ import annotations

from textual.screen import Screen


class ReloadsOnReturn(Screen[None]):
    """Loads once when opened (the subclass's on_mount calls `_reload`), then again each time the
    user returns from another screen, where progress may have changed.

    Textual also sends ScreenResume when a screen is first shown; reloading on that too ran the
    same queries twice, side by side, at start-up.
    """

    _away = False

    def on_screen_suspend(self) -> None:
        self._away = True

    def on_screen_resume(self) -> None:
        if self._away:
            self._away = False
            self._reload()

    def _reload(self) -> None:
        raise NotImplementedError
