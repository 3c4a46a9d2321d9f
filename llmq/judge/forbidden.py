"""Forbidden calls: find them in the source (AST, import aliases resolved) and block them at run time.

`FORBIDDEN` in an answer module lists dotted names such as "torch.nn.functional.softmax" or
"torch.Tensor.softmax" (a tensor method: any `x.softmax` on something that is not a module).
The scan runs in the harness before the submission is loaded; the patch runs in the sandbox,
so names reached in ways the scan cannot see (getattr with a computed string) still raise.
"""
from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from typing import Any, Callable

TENSOR_PREFIX = "torch.Tensor."


class ForbiddenCall(Exception):
    """Raised inside the sandbox when the submission calls a forbidden function."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is forbidden in this exercise")
        self.name = name


@dataclass(frozen=True)
class Finding:
    name: str  # the forbidden dotted name
    line: int
    written: str  # how the source spelled it

    def message(self) -> str:
        spelled = "" if self.written == self.name else f" (written `{self.written}`)"
        return f"line {self.line}: uses {self.name}{spelled}, which this exercise forbids"


def _spelling(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


class _Resolver:
    """Maps local names to the dotted module paths they were imported as."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.nodes = list(ast.walk(tree))  # walked once, used by the scan too
        assigns = []
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name == "*":
                        self.star_modules.append(node.module)
                    else:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
        # `F = torch.nn.functional` and the like: simple name-to-name assignments, twice so
        # that chains of two resolve.
        for _ in range(2):
            for node in assigns:
                target = self.resolve(node.value)
                if target:
                    self.aliases.setdefault(node.targets[0].id, target)  # type: ignore[union-attr]

    def resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if (  # getattr(F, "softmax")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self.resolve(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None


def scan(source: str, forbidden: list[str] | tuple[str, ...]) -> list[Finding]:
    """Every use of a forbidden name in `source` (which must parse), in line order."""
    if not forbidden:
        return []
    tree = ast.parse(source)
    resolver = _Resolver(tree)
    plain = [f for f in forbidden if not f.startswith(TENSOR_PREFIX)]
    methods = {f[len(TENSOR_PREFIX) :]: f for f in forbidden if f.startswith(TENSOR_PREFIX)}
    found: dict[tuple[str, int], Finding] = {}

    def hit(name: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        found.setdefault((name, line), Finding(name, line, _spelling(node)))

    for node in resolver.nodes:
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            dotted = resolver.resolve(node)
            if dotted:
                for name in forbidden:
                    if dotted == name or dotted.startswith(name + "."):
                        hit(name, node)
            if isinstance(node, ast.Name) and dotted is None:
                for module in resolver.star_modules:  # from torch.nn.functional import *
                    if f"{module}.{node.id}" in plain:
                        hit(f"{module}.{node.id}", node)
        if isinstance(node, ast.Attribute) and node.attr in methods:
            base = resolver.resolve(node.value)
            if base is None or base == "torch.Tensor":  # x.softmax(...), not torch.softmax
                hit(methods[node.attr], node)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:  # `from torch.nn.functional import softmax` alone counts
                dotted = f"{node.module}.{a.name}"
                if dotted in plain:
                    hit(dotted, node)
    return sorted(found.values(), key=lambda f: (f.line, f.name))


def _raiser(name: str, seen: list[str]) -> Callable[..., Any]:
    def forbidden_call(*args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        raise ForbiddenCall(name)

    forbidden_call.__name__ = name.rsplit(".", 1)[-1]
    return forbidden_call


def patch(forbidden: list[str] | tuple[str, ...], seen: list[str]) -> list[str]:
    """Replace each forbidden name by a function that records and raises. Returns names not found."""
    missing = []
    for name in forbidden:
        parts = name.split(".")
        parent: Any = None
        for cut in range(len(parts) - 1, 0, -1):
            try:
                parent = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:-1]:
                    parent = getattr(parent, attr)
            except AttributeError:
                parent = None
            break
        if parent is None or not hasattr(parent, parts[-1]):
            missing.append(name)
            continue
        setattr(parent, parts[-1], _raiser(name, seen))
    return missing
