"""The command palette (ctrl+p): every action of the app, by name, from any screen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from llmq.l10n import _

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


class LlmqCommands(Provider):
    """Review (all or one topic, or one kind), practise code (any exercise), browse, stats, home."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("LlmqApp", self.app)
        commands: list[tuple[str, str, Callable[[], object]]] = [
            (_("Review: all due and new cards"), _("Start the review queue"), app.action_review),
            (_("Practise code"), _("The code exercises with their solved state"), app.action_practice),
            (_("Browse questions"), _("Search every question; suspend, unsuspend, reset"), app.action_browse),
            (_("Stats"), _("Heatmap, forecast, retention, mastery"), app.action_stats),
            (_("Home screen"), _("Back to the home screen"), app.action_home),
        ]
        for name, topic in app.bank.topics.items():
            commands.append(
                (
                    _("Review topic: {title}").format(title=topic.title),
                    _("Only {name} cards").format(name=name),
                    partial(app.action_review, name),
                )
            )
        for kind in ("flashcard", "choice", "numeric", "code"):
            commands.append(
                (
                    _("Review kind: {kind}").format(kind=kind),
                    _("Only {kind} questions").format(kind=kind),
                    partial(app.action_review, "", kind),
                )
            )
        for q in app.bank.code_exercises():
            title = str(q.text("title", app.card_lang))
            commands.append((_("Practise: {id}").format(id=q.id), title, partial(app.action_practice, q.id)))
        return commands

    def _also_matched(self) -> dict[str, str]:
        """Per command text, what else a query may match: an exercise's or topic's titles in every
        language it has, its tags and its task (a Chinese query finds an English-named command)."""
        app = cast("LlmqApp", self.app)
        extra: dict[str, str] = {}
        for topic in app.bank.topics.values():
            titles = {topic.title, *topic.titles.values()}
            extra[_("Review topic: {title}").format(title=topic.title)] = " ".join(titles)
        for q in app.bank.code_exercises():
            texts = [str(q.text(field, code)) for code in q.langs for field in ("title", "task")]
            extra[_("Practise: {id}").format(id=q.id)] = " ".join([*texts, *q.tags])
        return extra

    async def discover(self) -> Hits:
        for text, help_text, command in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        extra = self._also_matched()
        words = query.lower().split()
        for text, help_text, command in self._commands():
            score = matcher.match(text)
            also = f"{help_text} {extra.get(text, '')}".lower()
            if score == 0 and words and all(word in also for word in words):
                score = 0.5  # found by a title, prompt or tag in either language: ranked below name matches
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
