"""A footer that is rebuilt only when the keys it shows change.

Textual's Footer rebuilds all its key widgets every time a screen's bindings may have changed
(each focus change, each `refresh_bindings`): in the review queue that was several rebuilds per
card change, about half the time of a change. Here a rebuild happens only when the keys on show,
their labels or their enabled state differ from what is drawn; and not while the screen says it is
between two states (`busy`, as the review screen is while a card changes: its keys are refused
then anyway, and it refreshes its bindings once the next card is drawn).
"""

from __future__ import annotations

from textual.widgets import Footer

# What the footer shows: each key with its label and tooltip, whether it works, and the style.
Shown = tuple[tuple[tuple[str, str, bool, str], ...], bool]


class SteadyFooter(Footer):
    _drawn: Shown | None = None

    def _showing(self) -> Shown:
        keys = tuple(
            (binding.key, binding.description, enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        return keys, self.compact

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        if self._drawn is not None and getattr(self.screen, "busy", False):
            return  # mid-change: the screen refreshes its bindings once it is settled
        showing = self._showing()
        if showing == self._drawn:
            return
        self._drawn = showing
        await super().recompose()
