"""Key descriptions in the interface's language. Bindings are declared at class level with N_()
(in English, before a language is chosen); screens that mix this in show them translated in the
footer and the help overlay, which both read `Screen.active_bindings`."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import ActiveBinding
from textual.screen import Screen

from llmq.l10n import N_, _

# Textual's own widgets' key descriptions that our screens show (DataTable, Input, TextArea,
# OptionList, scrolling containers, the command palette), so the catalogue translates them too.
TEXTUAL_KEYS = (
    N_("Cursor up"),
    N_("Cursor down"),
    N_("Cursor left"),
    N_("Cursor right"),
    N_("Cursor Up"),
    N_("Cursor Down"),
    N_("Home"),
    N_("End"),
    N_("Page Up"),
    N_("Page Down"),
    N_("Page Left"),
    N_("Page Right"),
    N_("Scroll Up"),
    N_("Scroll Down"),
    N_("Scroll Left"),
    N_("Scroll Right"),
    N_("Scroll Home"),
    N_("Scroll End"),
    N_("Select"),
    N_("Submit"),
    N_("First"),
    N_("Last"),
    N_("Go to start"),
    N_("Go to end"),
    N_("Copy selected text"),
    N_("Cut selected text"),
    N_("Paste text from the clipboard"),
    N_("Delete character left"),
    N_("Delete character right"),
    N_("Delete all to the right"),
    N_("Move cursor left"),
    N_("Move cursor left a word"),
    N_("Select line start"),
    N_("Select line end"),
    N_("Focus Next"),
    N_("Focus Previous"),
    N_("palette"),
)


class TranslatedBindings(Screen):  # type: ignore[type-arg]
    """Mixin for every llmq screen: its active bindings' descriptions and tooltips go through `_()`."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        shown = super().active_bindings
        return {
            key: ActiveBinding(
                active.node,
                replace(
                    active.binding,
                    description=_(active.binding.description) if active.binding.description else "",
                    tooltip=_(active.binding.tooltip) if active.binding.tooltip else "",
                ),
                active.enabled,
                _(active.tooltip) if active.tooltip else active.tooltip,
            )
            for key, active in shown.items()
        }
