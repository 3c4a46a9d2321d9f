"""The `teaches=` of an answer module's checks, read from its source without running it.

`@check(..., teaches=["norm.rmsnorm_eps"])` names the bank's cards that teach what a check tests
(llmq/judge/kit.py). The bank proves every id names a card (flashcard, choice, numeric or cloze;
never a code exercise) when it loads, so a typo is a bank error at file:line, not a verdict that
points nowhere. Reading the source with `ast` keeps torch and the module's code out of the
process that validates (the app's own). Every `teaches=` keyword in the module is read, whatever
name the decorator goes by, and only a list of string literals is accepted: what cannot be read
here could not be validated.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The kinds a `teaches` id may name: a card someone studies, not an exercise.
CARD_KINDS: tuple[str, ...] = ("flashcard", "choice", "numeric", "cloze")


@dataclass(frozen=True)
class Teaching:
    """One check's `teaches=`: where it is written, the check's function, and the card ids."""

    line: int
    check: str  # the decorated function's name ("" where the call decorates nothing)
    ids: tuple[str, ...]


def read_teaches(tree: ast.Module) -> tuple[list[Teaching], list[tuple[int, str]]]:
    """Every `teaches=` of a parsed answer module, and the problems (line, message) of those that
    are not a list of card ids written as string literals."""
    decorated: dict[int, str] = {}  # id(Call node) -> the function it decorates
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                decorated[id(deco)] = node.name
    found: list[Teaching] = []
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg != "teaches":
                continue
            name = decorated.get(id(node), "")
            ids = _literal_ids(kw.value)
            if ids is None:
                problems.append(
                    (
                        kw.value.lineno,
                        f"{_check_label(name)}teaches= must be a list of card ids written as strings, "
                        f'like teaches=["norm.rmsnorm_eps"] (it is read without running the module)',
                    )
                )
            else:
                found.append(Teaching(kw.value.lineno, name, ids))
    found.sort(key=lambda t: t.line)
    problems.sort()
    return found, problems


def _literal_ids(value: ast.expr) -> tuple[str, ...] | None:
    if not isinstance(value, (ast.List, ast.Tuple)):
        return None
    ids: list[str] = []
    for element in value.elts:
        if not isinstance(element, ast.Constant) or not isinstance(element.value, str):
            return None
        ids.append(element.value)
    return tuple(ids)


def _check_label(name: str) -> str:
    return f"check {name}: " if name else ""


def id_problems(teaching: Teaching, kinds: Mapping[str, str]) -> list[str]:
    """What is wrong with one check's ids, given every question id of the bank and its kind: an id
    that is no question, a code exercise, an empty list, or an id named twice."""
    label = _check_label(teaching.check)
    out: list[str] = []
    if not teaching.ids:
        out.append(f"{label}teaches= is empty; name a card or leave teaches= out")
    for card_id in dict.fromkeys(teaching.ids):
        kind = kinds.get(card_id)
        if kind is None:
            import difflib  # only when an id is wrong

            cards = [q for q, k in kinds.items() if k in CARD_KINDS]
            close = difflib.get_close_matches(card_id, cards, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(f"{label}teaches {card_id!r}, which is no question of the bank{hint}")
        elif kind not in CARD_KINDS:
            out.append(f"{label}teaches {card_id!r}, a {kind} exercise; name a card ({', '.join(CARD_KINDS)})")
    if len(set(teaching.ids)) != len(teaching.ids):
        out.append(f"{label}teaches= names a card twice")
    return out


def module_teaches(path: Path) -> list[Teaching]:
    """The `teaches=` of the answer module at `path` (for tests and tools; the bank validates
    through `read_teaches`). Raises OSError or SyntaxError as reading and parsing do."""
    found, _problems = read_teaches(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found
