"""The reference solution of a code exercise, read from its answer module's source with `ast`.

The UI process never imports an answer module (it imports torch and runs the checks' code); it
only reads the file: the imports, the plain helper functions and constants the reference uses,
and `reference` itself, then `<function> = reference` so the text is a working solution file.
"""
from __future__ import annotations

import ast
from pathlib import Path

# Names an answer module uses for the judge, not for the solution.
_JUDGE_NAMES = {"FORBIDDEN", "TOLERANCES", "WRONG_ANSWERS", "ALTERNATIVES"}


def _is_kit_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith(("llmq", "hypothesis"))
    if isinstance(node, ast.Import):
        return any(a.name.startswith(("llmq", "hypothesis")) for a in node.names)
    return False


def _assigns_judge_name(node: ast.stmt) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return any(isinstance(t, ast.Name) and t.id in _JUDGE_NAMES for t in targets)


def reference_source(answer_path: Path, function: str) -> str:
    """A solution file built from the answer module's reference (raises OSError/SyntaxError)."""
    source = answer_path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(answer_path))
    parts: list[str] = []
    found = False
    for node in tree.body:
        keep = False
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep = not _is_kit_import(node)
        elif isinstance(node, ast.FunctionDef):
            # decorated functions are the checks and sandbox drivers
            keep = not node.decorator_list
            found = found or node.name == "reference"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            keep = not _assigns_judge_name(node)
        if keep:
            parts.append(ast.get_source_segment(source, node) or ast.unparse(node))
    if not found:
        raise ValueError(f"{answer_path} defines no `reference` function")
    if function != "reference":
        parts.append(f"{function} = reference")
    return "\n\n\n".join(parts) + "\n"
