"""Loading an answer module by path (never as a package named `answers`), what it declares, and
the driver bundle: the only part of it that ever enters the sandbox.

Answer modules are loaded in the harness only. The sandbox is forked before, from the worker,
and gets the module's `@sandboxed` drivers as source text (`driver_bundle`): the file's imports
and the top-level definitions the drivers use, transitively, and nothing else — never
`reference`, a check, WRONG_ANSWERS or ALTERNATIVES, or a string that holds solution code.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from llmq.judge.kit import CheckSpec
from llmq.judge.reference_file import reference_solution

MODULE_PREFIX = "_llmq_answer_"
MIN_WRONG_ANSWERS = 6  # issue 12: the bugs people write, two of them in one boundary regime only


@dataclass
class AnswerModule:
    path: Path
    module: ModuleType
    checks: list[CheckSpec]
    drivers: dict[str, Callable[..., Any]]
    forbidden: tuple[str, ...]
    wrong_answers: dict[str, str]
    alternatives: dict[str, str]

    @property
    def reference(self) -> Callable[..., Any] | None:
        return getattr(self.module, "reference", None)


def module_name(path: Path) -> str:
    return MODULE_PREFIX + hashlib.sha1(str(path).encode()).hexdigest()[:12]


def load(path: Path | str) -> AnswerModule:
    """Execute the module at `path` under a private name and collect what it declares."""
    path = Path(path)
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # In sys.modules only while it runs (dataclasses look their module up): left there,
    # hypothesis would re-scan it for constants on every run.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    checks = [v.__llmq_check__ for v in vars(module).values() if callable(v) and hasattr(v, "__llmq_check__")]
    drivers = {k: v for k, v in vars(module).items() if callable(v) and getattr(v, "__llmq_sandboxed__", False)}
    return AnswerModule(
        path=path,
        module=module,
        checks=checks,
        drivers=drivers,
        forbidden=tuple(getattr(module, "FORBIDDEN", ())),
        wrong_answers=dict(getattr(module, "WRONG_ANSWERS", {})),
        alternatives=dict(getattr(module, "ALTERNATIVES", {})),
    )


def problems(answer: AnswerModule) -> list[str]:
    """What an answer module lacks (docs/answer-modules.md), each as a sentence naming the file."""
    where = str(answer.path)
    found = []
    if answer.reference is None:
        found.append(f"{where}: defines no `reference` function")
    if not answer.checks:
        found.append(f"{where}: has no @check functions")
    if len(answer.wrong_answers) < MIN_WRONG_ANSWERS:
        count = len(answer.wrong_answers)
        found.append(
            f"{where}: WRONG_ANSWERS has {count} {'entry' if count == 1 else 'entries'}; at least {MIN_WRONG_ANSWERS} are required"
        )
    if not answer.alternatives:
        found.append(f"{where}: ALTERNATIVES is empty; at least one correct answer written differently is required")
    # A wrong answer that does not compile "fails" without a check ever running: it tests nothing.
    for table, entries in (("WRONG_ANSWERS", answer.wrong_answers), ("ALTERNATIVES", answer.alternatives)):
        for name, source in entries.items():
            try:
                compile(source, "solution.py", "exec")
            except SyntaxError as exc:
                found.append(f"{where}: {table} entry {name!r} is not valid Python (line {exc.lineno}: {exc.msg})")
    return found


def submission_source(answer: AnswerModule, kind: str, name: str, function: str) -> str:
    """The source of a bank-provided submission: the reference, a wrong answer or an alternative."""
    if kind == "reference":
        return reference_solution(answer.path, function)  # or the file REFERENCE_FILE names (GPU track)
    table = answer.wrong_answers if kind == "wrong" else answer.alternatives
    if name not in table:
        raise KeyError(f"{answer.path}: no {'WRONG_ANSWERS' if kind == 'wrong' else 'ALTERNATIVES'} entry {name!r}")
    return table[name]


# --- the driver bundle -------------------------------------------------------------------------

# Names a driver may never take into the sandbox: the answer key.
SECRET_NAMES = ("reference", "WRONG_ANSWERS", "ALTERNATIVES", "REFERENCE_FILE")
# gpukit calls whose drivers need bank files beside them (shipped as text, only where used).
_TIMING_CALL = "timing_driver"


class BundleError(Exception):
    """A driver needs something the bundle may not or cannot carry (a bank bug)."""


@dataclass(frozen=True)
class DriverBundle:
    """What the sandbox executes to get the drivers: source text (line numbers as in the answer
    file, every other line blank), the driver names, and bank files the drivers read (by name)."""

    source: str = ""
    filename: str = ""
    names: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)


def _top_level_binds(node: ast.stmt) -> set[str]:
    """Names a top-level statement defines."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _free_names(node: ast.stmt) -> set[str]:
    """Names a statement reads that it does not bind itself (parameters, locals): an
    over-approximation that is safe, since a name in doubt is shipped or refused, never lost."""
    loads: set[str] = set()
    local: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (loads if isinstance(n.ctx, ast.Load) else local).add(n.id)
        elif isinstance(n, ast.arg):
            local.add(n.arg)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        local = set()  # a top-level assignment's targets are what it defines, not locals
    return loads - local


def _holds_code(value: Any) -> bool:
    """A string that is a solution file's text (a wrong answer's base, a kernel)."""
    if not isinstance(value, str):
        return False
    text = value.lstrip()
    return "\ndef " in value or text.startswith(("def ", "import ", "from ")) or "@triton.jit" in value


def driver_bundle(answer: AnswerModule, ship_timing_files: bool = False) -> DriverBundle:
    """The source the sandbox runs to define `answer.drivers`; raises BundleError naming what a
    driver needs that it may not have. `ship_timing_files`: the bank's kernels/timing.py and
    kernels/baselines.py go along for a gpukit timing driver (only where it can time: CUDA)."""
    if not answer.drivers:
        return DriverBundle(filename=str(answer.path))
    source = answer.path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(answer.path))
    secret = set(SECRET_NAMES) | {
        name for name, value in vars(answer.module).items() if hasattr(value, "__llmq_check__") or _holds_code(value)
    }
    where: dict[str, ast.stmt] = {}
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _top_level_binds(node):
                where[name] = node
    chosen: list[ast.stmt] = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    seen: set[str] = set()
    todo = [(name, name) for name in answer.drivers]
    while todo:  # each driver, then whatever it names, transitively
        name, driver = todo.pop()
        if name in seen or name not in where:
            continue
        if name in secret:
            raise BundleError(
                f"{answer.path}: the @sandboxed driver `{driver}` uses `{name}`, which holds the answer "
                "(the reference, a check or solution text) and never enters the sandbox; give the driver "
                "what it needs as arguments or as its own code"
            )
        seen.add(name)
        node = where[name]
        if node not in chosen:
            chosen.append(node)
        todo.extend((free, driver) for free in _free_names(node))
    lines = source.splitlines()
    keep = [""] * len(lines)
    for node in chosen:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        keep[start - 1 : node.end_lineno] = lines[start - 1 : node.end_lineno]
    text = "\n".join(keep) + "\n"
    files: dict[str, str] = {}
    if ship_timing_files and _TIMING_CALL in text:
        root = next((p.parent for p in answer.path.resolve().parents if p.name == "answers"), None)
        if root is None:
            raise BundleError(
                f"{answer.path}: a timing driver needs the bank's kernels/ folder, and this file is not in answers/"
            )
        for name in ("timing", "baselines"):
            files[name] = (root / "kernels" / f"{name}.py").read_text(encoding="utf-8")
    return DriverBundle(source=text, filename=str(answer.path), names=tuple(answer.drivers), files=files)
