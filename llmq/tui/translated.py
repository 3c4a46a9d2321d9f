"""Key descriptions in the interface's language. Bindings are declared at class level with N_()
(in English, before a language is chosen); screens that mix this in show them translated in the
footer and the help overlay, which both read `Screen.active_bindings`."""

from __future__ import annotations

import re
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
    # the code editor's (TextArea), the search fields', the selects' and the palette's own keys
    N_("Copy"),
    N_("Cursor down select"),
    N_("Cursor left select"),
    N_("Cursor left word select"),
    N_("Cursor line end"),
    N_("Cursor line end select"),
    N_("Cursor line start"),
    N_("Cursor line start select"),
    N_("Cursor page down"),
    N_("Cursor page up"),
    N_("Cursor right select"),
    N_("Cursor right word select"),
    N_("Cursor up select"),
    N_("Cursor word left"),
    N_("Cursor word right"),
    N_("Cut"),
    N_("Delete all to the left"),
    N_("Delete left to start of word"),
    N_("Delete line"),
    N_("Delete right to start of word"),
    N_("Delete to line end"),
    N_("Delete to line start"),
    N_("Dismiss menu"),
    N_("Exit the command palette"),
    N_("Go to bottom"),
    N_("Go to top"),
    N_("Move cursor left a word and select"),
    N_("Move cursor left and select"),
    N_("Move cursor right a word"),
    N_("Move cursor right a word and select"),
    N_("Move cursor right and select"),
    N_("Move cursor right or accept the completion suggestion"),
    N_("Next command"),
    N_("Next page"),
    N_("Paste"),
    N_("Press button"),
    N_("Previous command"),
    N_("Previous page"),
    N_("Redo"),
    N_("Select line"),
    N_("Show menu"),
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


# The bank's kinds of question by id, as the interface names them (the id stays for search).
KIND_NAMES = {
    "flashcard": N_("flashcard"),
    "choice": N_("multiple choice"),
    "numeric": N_("numeric"),
    "code": N_("code"),
    "cloze": N_("cloze"),
}
DIFFICULTY_NAMES = {"easy": N_("easy"), "medium": N_("medium"), "hard": N_("hard")}
# A card's state in browse (the store's words).
STATE_NAMES = {
    "new": N_("new"),
    "learning": N_("learning"),
    "review": N_("review"),
    "relearning": N_("relearning"),
    "suspended": N_("suspended"),
}

# What `u` (review) or `z` (browse) took back, one whole sentence per kind of event: a kind's
# name alone ("the bury") would not read in Chinese, where the verb goes elsewhere.
_UNDID = {
    "review": N_("Undid the answer to “{title}”"),
    "bury": N_("Undid the bury of “{title}”"),
    "unbury": N_("Undid the unbury of “{title}”"),
    "suspend": N_("Undid the suspension of “{title}”"),
    "unsuspend": N_("Undid the unsuspension of “{title}”"),
    "reset": N_("Undid the reset of “{title}”"),
}


def kind_name(kind: str) -> str:
    """A question kind's name in the interface's language (an unknown id as it is)."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def difficulty_name(difficulty: str) -> str:
    return _(DIFFICULTY_NAMES[difficulty]) if difficulty in DIFFICULTY_NAMES else difficulty


def state_name(state: str) -> str:
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


def undid_message(event_kind: str, title: str) -> str:
    """The notice after an undo: which action on which card was taken back."""
    if event_kind in _UNDID:
        return _(_UNDID[event_kind]).format(title=title)
    return _("Undid the last action on “{title}”").format(title=title)


# The scheduler labels intervals as Anki's buttons do (45s, 10m, 1.5h, 4d, 2.3mo, 1.1y); the
# units are words in Chinese (10分钟, 4天), so the interface writes them from these.
_INTERVAL_UNITS = {
    "s": N_("{n}s"),
    "m": N_("{n}m"),
    "h": N_("{n}h"),
    "d": N_("{n}d"),
    "mo": N_("{n}mo"),
    "y": N_("{n}y"),
}
_INTERVAL_RE = re.compile(r"^(\d+(?:\.\d+)?)(mo|s|m|h|d|y)$")


def interval_name(label: str) -> str:
    """A scheduler's interval label ("10m") in the interface's language ("10分钟"); anything else as it is."""
    m = _INTERVAL_RE.match(label)
    return _(_INTERVAL_UNITS[m.group(2)]).format(n=m.group(1)) if m else label
