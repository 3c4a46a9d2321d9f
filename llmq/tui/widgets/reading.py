"""A scrolling pane for reading (a question, an answer, stats): j/k as well as the arrows, PgUp/PgDn
and home/end, with a scrollbar whenever there is more than fits."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll

from llmq.l10n import N_


class ReadingScroll(VerticalScroll):
    ALLOW_MAXIMIZE = True  # f11 on the code screen's results
    BINDINGS = [
        Binding("j", "scroll_down", N_("Scroll down"), show=False),
        Binding("k", "scroll_up", N_("Scroll up"), show=False),
    ]
