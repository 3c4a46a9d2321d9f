"""Loading an answer module by path (never as a package named `answers`), and what it declares.

Answer modules must not compute tensors at import time: the harness loads them before it forks
the sandbox, and a process forked after threaded torch work can hang.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from llmq.judge.kit import CheckSpec
from llmq.judge.reference_file import reference_solution

MODULE_PREFIX = "_llmq_answer_"
MIN_WRONG_ANSWERS = 3


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
        found.append(f"{where}: WRONG_ANSWERS has {count} {'entry' if count == 1 else 'entries'}; at least {MIN_WRONG_ANSWERS} are required")
    if not answer.alternatives:
        found.append(f"{where}: ALTERNATIVES is empty; at least one correct answer written differently is required")
    return found


def submission_source(answer: AnswerModule, kind: str, name: str, function: str) -> str:
    """The source of a bank-provided submission: the reference, a wrong answer or an alternative."""
    if kind == "reference":
        return reference_solution(answer.path, function)  # or the file REFERENCE_FILE names (GPU track)
    table = answer.wrong_answers if kind == "wrong" else answer.alternatives
    if name not in table:
        raise KeyError(f"{answer.path}: no {'WRONG_ANSWERS' if kind == 'wrong' else 'ALTERNATIVES'} entry {name!r}")
    return table[name]
