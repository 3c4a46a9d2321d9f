"""Key descriptions in the interface's language. Bindings are declared at class level with N_()
(in English, before a language is chosen); screens that mix this in show them translated in the
footer and the help overlay, which both read `Screen.active_bindings`."""

from __future__ import annotations

from dataclasses import replace

from textual.screen import ActiveBinding, Screen

from llmq.l10n import _


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
