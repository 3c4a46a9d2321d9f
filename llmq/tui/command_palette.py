"""The command palette (ctrl+p): every action of the app, by name, from any screen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from llmq.bank.model import KINDS
from llmq.l10n import _
from llmq.tui.translated import KIND_NAMES, kind_name

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


class Command(NamedTuple):
    text: str  # what the palette shows and matches first
    help: str
    run: Callable[[], object]
    also: str = ""  # what else a query may match: ids, titles in every language, tags, the note's heading


class LlmqCommands(Provider):
    """Review (all or one topic, or one kind), practise code (any exercise), browse, stats, home."""

    def _commands(self) -> list[Command]:
        app = cast("LlmqApp", self.app)
        lang = app.card_lang
        commands = [
            Command(_("Review: all due and new cards"), _("Start the review queue"), app.action_review),
            Command(_("Practise code"), _("The code exercises with their solved state"), app.action_practice),
            Command(_("Browse questions"), _("Search every question; suspend, unsuspend, reset"), app.action_browse),
            Command(_("Stats"), _("Heatmap, forecast, retention, mastery"), app.action_stats),
            Command(_("Home screen"), _("Back to the home screen"), app.action_home),
        ]
        for name, topic in app.bank.topics.items():
            # The topic's title in the card language; its id and every title it has are searched.
            title = topic.title_in(lang)
            commands.append(
                Command(
                    _("Review topic: {title}").format(title=title),
                    _("Only the cards of “{title}”").format(title=title),
                    partial(app.action_review, name),
                    " ".join({name, topic.title, *topic.titles.values()}),
                )
            )
        for kind in KINDS:
            commands.append(
                Command(
                    _("Review kind: {kind}").format(kind=kind_name(kind)),
                    _("Only {kind} questions").format(kind=kind_name(kind)),
                    partial(app.action_review, "", kind),
                    f"{kind} {KIND_NAMES.get(kind, kind)}",  # the id and the English name
                )
            )
        for q in app.bank.code_exercises():
            texts = [str(q.text(field, code)) for code in q.langs for field in ("title", "task")]
            commands.append(
                Command(
                    _("Practise: {id}").format(id=q.id),
                    str(q.text("title", lang)),
                    partial(app.action_practice, q.id),
                    " ".join([*texts, *q.tags, q.source_heading]),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.text, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        words = query.lower().split()
        for command in self._commands():
            score = matcher.match(command.text)
            also = f"{command.help} {command.also}".lower()
            if score == 0 and words and all(word in also for word in words):
                score = 0.5  # found by an id, a title, prompt, tag or heading in either language: ranked below name matches
            if score > 0:
                yield Hit(score, matcher.highlight(command.text), command.run, text=command.text, help=command.help)
