"""A footer that is rebuilt only when the keys it shows change, and not while a card changes.

Textual's Footer rebuilds all its key widgets (a dozen, each styled and laid out) every time the
screen's bindings may have changed: each focus change, each `refresh_bindings`. In the review
queue that was several rebuilds per card change, more than half of the change's CPU time
(benchmarks/startup.py). Here a rebuild happens only when the keys on show, their labels or their
enabled state differ from what is drawn; and not while the screen says it is changing cards
(`changing`: its keys are refused then anyway, and it refreshes its bindings once the next card
is drawn, or after a moment if the change is slow, so a slow change still shows the keys that work).
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class SteadyFooter(Footer):
    _drawn: Hashable | None = None

    def _showing(self) -> Hashable:
        """What the footer would draw now: each key as Footer.compose draws it, and the style."""
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip, binding.group)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        return keys, self.compact, self.show_command_palette

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        if self._drawn is not None and getattr(self.screen, "changing", False):
            return  # mid-change: the screen refreshes its bindings once it has settled
        showing = self._showing()
        if showing == self._drawn:
            return
        self._drawn = showing
        await super().recompose()
