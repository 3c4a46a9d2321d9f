"""What `llmq check` and the judge's half of `llmq verify` do, so the CLI handlers stay one call.

Never imports torch: everything runs through the warm worker (llmq.judge.client), except the
answer for a file the judge would refuse before running anything (a syntax error, a forbidden
call, no function of the exercise's name): that one is found here from the source text
(`quick_verdict`), with the judge's titles and messages, without waiting for the worker.
"""

from __future__ import annotations

import ast
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TextIO

from llmq.exit_codes import EXIT_FAIL, EXIT_OK
from llmq.judge import forbidden as forbidden_mod
from llmq.judge.client import Cancelled, ExerciseLike, Judge, Pending, read_source
from llmq.judge.verdict import LOADS, NO_FORBIDDEN, CheckResult, Verdict, finish, missing_function, render_text
from llmq.judge.verify import parallelism, render_verify_report, verify
from llmq.l10n import _

WATCH_POLL_S = 0.2
CardTitle = Callable[[str], str | None]  # a bank card's title in the chosen language, for "review: ..."


def _print_verdict(
    verdict: Verdict, as_json: bool, out: TextIO, verbose: bool = False, card_title: CardTitle | None = None
) -> None:
    if as_json:
        out.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    else:
        out.write(render_text(verdict, verbose=verbose, card_title=card_title) + "\n")
    out.flush()


# --- answers without the judge -----------------------------------------------------------------

# Modules a solution may import at the top for `quick_verdict` to know that loading it cannot
# fail or define more functions (anything else is left to the judge, which runs it).
_PLAIN_MODULES = frozenset({"torch", "math", "typing", "functools", "itertools", "collections", "dataclasses"})
_BUILTIN_TYPES = frozenset({"int", "float", "bool", "str", "list", "tuple", "dict", "set", "None", "object", "bytes"})


def _static_plan(answer_path: Path) -> tuple[list[str], tuple[str, ...], dict[str, str]] | None:
    """The answer module's check titles (in file order), FORBIDDEN list and Chinese titles (the
    `zh=` of each check that has a literal one), read from its source without running it; None
    when the first two are not written as plain literals."""
    try:
        tree = ast.parse(answer_path.read_text(encoding="utf-8"), filename=str(answer_path))
    except (OSError, SyntaxError, ValueError):
        return None  # the judge says what is wrong with the module
    titles: list[str] = []
    zh: dict[str, str] = {}
    names: set[str] = set()
    forbidden: tuple[str, ...] | None = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func) in ("check", "kit.check"):
                    if node.name in names or not deco.args or not isinstance(deco.args[0], ast.Constant):
                        return None
                    if not isinstance(deco.args[0].value, str):
                        return None
                    titles.append(deco.args[0].value)
                    for kw in deco.keywords:
                        if kw.arg == "zh" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                            zh[deco.args[0].value] = kw.value.value
            names.add(node.name)
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, (ast.AnnAssign, ast.AugAssign))
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "FORBIDDEN" for t in targets):
            if forbidden is not None or not isinstance(node, ast.Assign):
                return None  # assigned twice or extended: only running the module tells
            forbidden = forbidden_mod.names_in(node.value)
            if forbidden is None:
                return None
    if not titles:
        return None
    return titles, forbidden if forbidden is not None else (), zh


def _plain_annotation(node: ast.expr | None) -> bool:
    """An annotation whose evaluation at `def` time cannot fail: builtins and plain modules' names."""
    if node is None:
        return True
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in _BUILTIN_TYPES and sub.id not in _PLAIN_MODULES:
            return False
        if isinstance(sub, (ast.Call, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return False
    return True


def _defined_functions(tree: ast.Module) -> list[str] | None:
    """The functions loading this module defines, when loading it only imports plain modules and
    defines undecorated functions (so it cannot raise, exit or define anything else); else None."""
    future_annotations = False
    defined: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future_annotations |= any(a.name == "annotations" for a in node.names)
            continue
        if isinstance(node, ast.Import) and all(a.name.split(".")[0] in _PLAIN_MODULES for a in node.names):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list:
            args = node.args
            every = [
                *args.posonlyargs,
                *args.args,
                *args.kwonlyargs,
                *([args.vararg] if args.vararg else []),
                *([args.kwarg] if args.kwarg else []),
            ]
            defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
            if not all(isinstance(d, ast.Constant) for d in defaults):
                return None
            if not future_annotations and not all(_plain_annotation(a.annotation) for a in every):
                return None
            if not future_annotations and not _plain_annotation(node.returns):
                return None
            defined.append(node.name)
            continue
        return None
    return sorted(set(defined))


def quick_verdict(exercise: ExerciseLike, source: str, filename: str, seed: int | None = None) -> Verdict | None:
    """The judge's verdict for a solution it would refuse before running any check (a syntax
    error, a forbidden call, no function named as the exercise asks), found from the source text
    alone and worded as the judge words it; None when the judge has to run it."""
    started = time.monotonic()
    plan = _static_plan(Path(exercise.answer_path))
    if plan is None:
        return None
    titles, forbidden, zh = plan
    loads = LOADS.format(function=exercise.function)
    verdict = Verdict(exercise=exercise.id, status="pass", seed=seed if seed is not None else random.randrange(2**31))
    verdict.titles = {"zh": zh}

    def refused(status: str, results: list[CheckResult]) -> Verdict:
        verdict.status = status  # type: ignore[assignment]
        verdict.checks = results
        verdict.ran = False
        done = {c.name for c in results}
        verdict.checks += [CheckResult(t, "skip", "") for t in [NO_FORBIDDEN, loads, *titles] if t not in done]
        return finish(verdict, time.monotonic() - started)

    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        message = "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
        return refused("error", [CheckResult(NO_FORBIDDEN, "skip", ""), CheckResult(loads, "fail", message)])
    except ValueError:
        return None  # e.g. a NUL byte: the judge words that
    found = forbidden_mod.scan(source, forbidden)
    if found:
        return refused("fail", [CheckResult(NO_FORBIDDEN, "fail", "\n".join(f.message() for f in found))])
    defined = _defined_functions(ast.parse(source, filename))
    if defined is not None and exercise.function not in defined:
        message = missing_function(filename, exercise.function, defined)
        return refused("error", [CheckResult(NO_FORBIDDEN, "pass", ""), CheckResult(loads, "fail", message)])
    return None


@contextmanager
def _judge(given: Judge | None) -> Iterator[Judge]:
    """The caller's judge (left running), or a new one closed afterwards."""
    if given is not None:
        yield given
        return
    with Judge() as judge:
        yield judge


def check_file(
    exercise: ExerciseLike,
    path: Path,
    as_json: bool = False,
    seed: int | None = None,
    out: TextIO | None = None,
    judge: Judge | None = None,
    verbose: bool = False,
    card_title: CardTitle | None = None,
) -> int:
    """Judge FILE once: 0 when every check passed, 1 otherwise (CONTRACTS.md exit codes). A file
    the judge would refuse unrun is answered here, without starting (or waiting for) the worker."""
    out = out or sys.stdout  # looked up now: tests and callers may have replaced it
    text, filename = read_source(path)
    verdict = quick_verdict(exercise, text, filename, seed)
    if verdict is None:
        with _judge(judge) as running:
            verdict = running.check(exercise, path, seed=seed)
    _print_verdict(verdict, as_json, out, verbose, card_title)
    return EXIT_OK if verdict.passed else EXIT_FAIL


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def watch_file(
    exercise: ExerciseLike,
    path: Path,
    as_json: bool = False,
    seed: int | None = None,
    out: TextIO | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    judge: Judge | None = None,
    verbose: bool = False,
    card_title: CardTitle | None = None,
) -> int:
    """Judge FILE now and again each time it is saved, until Ctrl-C (or `keep_going` says stop).
    A save during a check cancels it and starts over. Returns the last verdict's exit code."""
    out = out or sys.stdout
    code = EXIT_FAIL
    with _judge(judge) as judge:
        seen = _stamp(path)
        pending: Pending | None = judge.submit(exercise, path, seed=seed)
        if not as_json:
            out.write(_("watching {path} (Ctrl-C to stop)").format(path=path) + "\n")
            out.flush()
        while keep_going():
            if pending is not None and pending.done():
                try:
                    verdict = pending.result()
                    _print_verdict(verdict, as_json, out, verbose, card_title)
                    code = EXIT_OK if verdict.passed else EXIT_FAIL
                except Cancelled:
                    pass
                pending = None
            now = _stamp(path)
            if now is not None and now != seen:
                seen = now
                if pending is not None:
                    pending.cancel()
                if not as_json:
                    out.write("\n" + _("{path} changed: checking again").format(path=path) + "\n")
                    out.flush()
                pending = judge.submit(exercise, path, seed=seed)
            time.sleep(WATCH_POLL_S)
    return code


def verify_exercises(
    exercises: Iterable[ExerciseLike],
    as_json: bool = False,
    bank_errors: Iterable[str] = (),
    out: TextIO | None = None,
    jobs: int | None = None,
) -> int:
    """The judge's half of `llmq verify`: 0 when everything holds, 1 otherwise. Runs as many
    submissions at a time, on as many workers, as verify.parallelism says (one per core); `jobs`
    given: that many at a time on one worker."""
    out = out or sys.stdout
    workers, per_worker = (1, jobs) if jobs else parallelism(os.cpu_count())
    with ExitStack() as stack:
        judges = [stack.enter_context(Judge(jobs=per_worker)) for _ in range(workers)]
        report = verify(exercises, judges, bank_errors=bank_errors)
    if as_json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        out.write(render_verify_report(report) + "\n")
    return EXIT_OK if report.ok else EXIT_FAIL
