"""Finds the user-visible strings in llmq/tui by reading its source (an AST scan): literals passed to
widgets, notifications, bindings and titles, and the messages wrapped in `_()` / `ngettext()`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "llmq" / "tui"

# Calls whose text arguments a user reads: positional arguments and these keywords.
_SHOWN_CALLS = {
    "notify": (0,),
    "Static": (0,),
    "Label": (0,),
    "Button": (0,),
    "Binding": (2,),
    "Markdown": (0,),
    "Option": (0,),
    "Hit": (),
    "DiscoveryHit": (),
    "Checkbox": (0,),
    "Switch": (),
    "Input": (),
    "Tab": (0,),
    "TabPane": (0,),
    "Collapsible": (),
    "update": (0,),
    "Text": (0,),
    "add_column": (0,),
    "LlmqError": (0, 1),
    "error_notice": (),
}
_SHOWN_KEYWORDS = {"title", "description", "label", "placeholder", "tooltip", "message", "help", "text", "sub_title"}
_SHOWN_ATTRIBUTES = {"title", "sub_title", "border_title", "border_subtitle", "TITLE", "SUB_TITLE", "tooltip"}
_WRAPPERS = {"_", "ngettext", "N_"}


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    text: str


def _is_text(node: ast.AST) -> bool:
    """A literal with letters in it (a bare key like "q" or a CSS id is not prose, but we cannot tell;
    the words are what we look for)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value) and " " in node.value.strip() or node.value[:1].isupper()
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and any(ch.isalpha() for ch in v.value) for v in node.values)
    return False


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def scan(root: Path = TUI) -> tuple[list[Found], list[Found], list[Found]]:
    """(unwrapped shown literals, wrapped msgids, wrapped texts built at run time such as _(f"..."));
    `_(name)` of a variable is allowed: it translates a msgid marked with N_() where it is defined."""
    bare: list[Found] = []
    wrapped: list[Found] = []
    bad: list[Found] = []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root.parent.parent))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in _WRAPPERS:
                    texts = node.args[:2] if name == "ngettext" else node.args[:1]
                    for arg in texts:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            wrapped.append(Found(rel, node.lineno, arg.value))
                        elif isinstance(arg, (ast.JoinedStr, ast.BinOp)):
                            # an f-string or a sum has no fixed msgid: the catalogue can never match it
                            bad.append(Found(rel, node.lineno, ast.unparse(arg)))
                    continue
                candidates: list[ast.AST] = []
                if name in _SHOWN_CALLS:
                    positions = _SHOWN_CALLS[name]
                    candidates += [a for i, a in enumerate(node.args) if i in positions]
                candidates += [k.value for k in node.keywords if k.arg in _SHOWN_KEYWORDS]
                # a column header or a status is often one lower-case word ("topic", "loading…"): any letters count there
                headers = node.args[:1] if name in ("add_column", "add_columns", "Static", "Label", "Button", "notify") else []
                bare += [Found(rel, c.lineno, ast.unparse(c)) for c in candidates if _is_text(c)]
                bare += [
                    Found(rel, c.lineno, ast.unparse(c))
                    for c in headers
                    if isinstance(c, ast.Constant)
                    and isinstance(c.value, str)
                    and any(ch.isalpha() for ch in c.value)
                    and not _is_text(c)
                ]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    attr = t.attr if isinstance(t, ast.Attribute) else t.id if isinstance(t, ast.Name) else ""
                    if attr in _SHOWN_ATTRIBUTES and node.value is not None and _is_text(node.value):
                        bare.append(Found(rel, node.lineno, ast.unparse(node.value)))
    return bare, wrapped, bad
