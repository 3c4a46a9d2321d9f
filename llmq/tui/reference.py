"""The reference solution of a code exercise, read from its answer module's source with `ast`.

The UI process never imports an answer module (it imports torch and holds the checks); it only
reads the file: the imports, `reference`, and the top-level functions and constants `reference`
uses (transitively), then `<function> = reference` so the text is a working solution file.
"""
from __future__ import annotations

import ast
from pathlib import Path


def _is_kit_import(node: ast.stmt) -> bool:
    """Imports only the checks need (the judge's kit, hypothesis)."""
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in ("llmq", "hypothesis")
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] in ("llmq", "hypothesis") for a in node.names)
    return False


def _defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def reference_source(answer_path: Path, function: str) -> str:
    """A solution file built from the answer module's reference (raises OSError, SyntaxError,
    ValueError when there is no `reference`)."""
    source = answer_path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(answer_path))
    by_name = {name: node for node in tree.body for name in _defined(node)}
    if not isinstance(by_name.get("reference"), ast.FunctionDef):
        raise ValueError(f"{answer_path} defines no `reference` function")
    needed: set[str] = set()
    todo = ["reference"]
    while todo:
        name = todo.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        todo.extend(_used(by_name[name]))
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and not _is_kit_import(n)]
    body = [n for n in tree.body if _defined(n) & needed]
    text = "\n".join(ast.get_source_segment(source, n) or ast.unparse(n) for n in imports)
    text += "\n\n\n" + "\n\n\n".join(ast.get_source_segment(source, n) or ast.unparse(n) for n in body)
    if function != "reference":
        text += f"\n\n\n{function} = reference"
    return text.lstrip("\n") + "\n"
