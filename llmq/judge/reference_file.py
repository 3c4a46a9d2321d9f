"""The reference of an answer module as a solution file, read with `ast` (never imported).

Torch-free, so the app can show the reference too. The file holds the module's imports (minus
llmq and hypothesis), `reference` and the top-level functions and constants it uses, directly
or through each other, then `<function> = reference`.
"""

from __future__ import annotations

import ast
from pathlib import Path

_KIT_PACKAGES = ("llmq", "hypothesis")


def _is_kit_import(node: ast.stmt) -> bool:
    """An import only the checks need."""
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in _KIT_PACKAGES
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] in _KIT_PACKAGES for a in node.names)
    return False


def _binds(node: ast.stmt) -> set[str]:
    """Top-level names a statement defines."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _named_reference_file(tree: ast.Module, path: Path | str) -> Path | None:
    """GPU track: `REFERENCE_FILE = "kernels/x.py"` (relative to the bank root, the folder holding
    answers/) names a complete solution file; there `reference` is only the float64 oracle."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "REFERENCE_FILE" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            root = next((p.parent for p in Path(path).resolve().parents if p.name == "answers"), None)
            if root is not None:
                return root / node.value.value
    return None


def reference_solution(path: Path | str, function: str) -> str:
    """The solution file; raises ValueError when the module defines no `reference` function."""
    source = Path(path).read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    named = _named_reference_file(tree, path)
    if named is not None:
        return named.read_text(encoding="utf-8")
    statements = {name: node for node in tree.body for name in _binds(node)}
    if not isinstance(statements.get("reference"), ast.FunctionDef):
        raise ValueError(f"{path} defines no `reference` function")
    needed: set[str] = set()
    todo = ["reference"]
    while todo:  # reference, then whatever it names, transitively
        name = todo.pop()
        if name in needed or name not in statements:
            continue
        needed.add(name)
        todo.extend(n.id for n in ast.walk(statements[name]) if isinstance(n, ast.Name))
    lines = source.splitlines()

    def text(node: ast.stmt) -> str:  # by line numbers: get_source_segment re-splits every call
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return "\n".join(lines[start - 1 : node.end_lineno])

    imports = [text(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and not _is_kit_import(n)]
    body = [text(n) for n in tree.body if _binds(n) & needed]
    header = f'"""The reference of {Path(path).name}, as a solution file."""'
    tail = [] if function == "reference" else [f"{function} = reference"]
    return "\n\n".join([header, "\n".join(imports), *body, *tail]) + "\n"
