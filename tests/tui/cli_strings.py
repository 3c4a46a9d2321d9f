"""Finds the text the command line prints by reading the source (an AST scan), the way
ui_strings.py does for the app: in the modules whose text reaches a person outside the app (the
CLI, the stats report, error classes, the judge's text reports), every string literal with words
in it must be a docstring or go through `_()` / `N_()` / `ngettext()`.

Modules that also build machine-read values (the verdict and verify JSON, whose values are never
translated) are scanned only in the functions and constants that render text for people.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

LLMQ = Path(__file__).resolve().parents[2] / "llmq"

# path under llmq/ -> None (the whole module is text for people) or the names of the functions
# and module-level constants in it that render text for people.
SOURCES: dict[str, tuple[str, ...] | None] = {
    "cli.py": None,
    "l10n.py": None,
    "errors.py": None,
    "bank/errors.py": None,
    "store/errors.py": None,
    "srs/report.py": None,
    "srs/plan_report.py": None,
    "tui/plain.py": None,
    "srs/optimize.py": None,
    "decks/importer.py": None,
    "decks/paths.py": None,
    "decks/formats/hashcards.py": None,
    "decks/formats/obsidian.py": None,
    "decks/formats/text.py": None,
    "export/backup.py": None,
    "export/errors.py": None,
    "judge/verdict.py": ("render_text", "isolation_text", "check_title", "ISOLATION_TEXT", "_MARKS"),
    "judge/verify.py": ("render_verify_report",),
    "judge/client.py": ("read_source",),
    "judge/commands.py": ("watch_file",),
}

_WRAPPERS = {"_", "N_", "ngettext"}
# Two words in a row: prose. One word ("json", "apkg", "cpu") is an identifier or a value.
_PROSE = re.compile(r"[A-Za-z]{2,}[ ,;:']+[A-Za-z]{2,}")
# A heading of one word ("Stub:", "Hints:") is prose too.
_HEADING = re.compile(r"^\s*[A-Z][a-z]+:\s*$")
# Kept as typed: a command line (`llmq check ID FILE`), an option (`--dry-run`).
_KEPT = re.compile(r"^\s*(llmq \w|-)")


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    text: str


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _scoped(tree: ast.Module, names: tuple[str, ...] | None) -> list[ast.AST]:
    if names is None:
        return [tree]
    nodes: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            nodes.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in names for t in targets):
                nodes.append(node)
    missing = (
        set(names)
        - {getattr(n, "name", None) for n in nodes}
        - {t.id for n in nodes if isinstance(n, (ast.Assign, ast.AnnAssign)) for t in _targets(n) if isinstance(t, ast.Name)}
    )
    assert not missing, f"the scan looks for {sorted(missing)}, which the module no longer defines"
    return nodes


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _prose(text: str) -> bool:
    return bool(_PROSE.search(text) or _HEADING.match(text)) and not _KEPT.match(text)


def scan_source(source: str, rel: str, names: tuple[str, ...] | None = None) -> tuple[list[Found], list[Found], list[Found]]:
    """(prose printed without _(), msgids wrapped in _() / N_() / ngettext(), texts built at run
    time inside _() such as _(f"...") that no msgid can match)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    bare: list[Found] = []
    wrapped: list[Found] = []
    built: list[Found] = []
    for scope in _scoped(tree, names):
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _WRAPPERS:
                texts = node.args[:2] if node.func.id == "ngettext" else node.args[:1]
                for arg in texts:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        wrapped.append(Found(rel, node.lineno, arg.value))
                    elif isinstance(arg, (ast.JoinedStr, ast.BinOp)):
                        built.append(Found(rel, node.lineno, ast.unparse(arg)))
                skip.update(id(sub) for arg in texts for sub in ast.walk(arg))
    for scope in _scoped(tree, names):
        for node in ast.walk(scope):
            if id(node) in skip:
                continue
            if isinstance(node, ast.JoinedStr):
                skip.update(id(v) for v in node.values)
                # an f-string's words around its fields: "{n} questions" is prose, "  {issue}" is not
                literal = "".join(v.value if isinstance(v, ast.Constant) else " X " for v in node.values)
                if _prose(str(literal)):
                    bare.append(Found(rel, node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _prose(node.value):
                bare.append(Found(rel, node.lineno, node.value))
    return bare, wrapped, built


def scan() -> tuple[list[Found], list[Found], list[Found]]:
    """scan_source over every module in SOURCES."""
    bare: list[Found] = []
    wrapped: list[Found] = []
    built: list[Found] = []
    for rel, names in SOURCES.items():
        b, w, x = scan_source((LLMQ / rel).read_text(encoding="utf-8"), f"llmq/{rel}", names)
        bare += b
        wrapped += w
        built += x
    return bare, wrapped, built
