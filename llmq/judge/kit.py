"""The kit answer modules are written with: `@check`, `@sandboxed`, and the `ctx` a check receives.

A check is a function taking one `ctx`; the harness runs it under hypothesis (`ctx.draw` draws,
failures shrink) and `ctx.call` runs the submission in the sandbox. See docs/answer-modules.md.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from hypothesis import strategies as st

from llmq.judge import compare

__all__ = [
    "check",
    "sandboxed",
    "edited",
    "Ctx",
    "CheckFailed",
    "SubmissionRaised",
    "AnswerModuleBug",
    "CallResult",
    "SandboxGone",
]


# --- what can go wrong while a check runs ------------------------------------------------------


class _Reported(Exception):
    """A problem a check reports: the message for the text report, and `detail` (hypothesis's
    drawn values) for `--json` and `--verbose` only."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class CheckFailed(_Reported):
    """The submission's answer is wrong (or it modified an input, or called a forbidden function)."""


class SubmissionRaised(_Reported):
    """The submission raised an exception; the message holds its traceback, trimmed to the user's file."""


class AnswerModuleBug(_Reported):
    """The answer module is wrong (a check that proves nothing, a reference that raises...).
    Not llmq.bank.BankError, which is about the question bank's files."""


class SandboxGone(BaseException):
    """The sandbox died or ran out of time. A BaseException so hypothesis neither retries nor shrinks."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status  # "timeout", "crash", or "error" (it wrote into the judge's channel)
        self.message = message


# --- decorators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSpec:
    title: str
    fn: Callable[[Ctx], None]
    examples: int | None = None  # hypothesis examples for this check; None: the judge's default
    title_zh: str = ""  # the title in Chinese; "" shows the English one
    teaches: tuple[str, ...] = ()  # ids of the bank's cards that teach what this check tests


def check(
    title: str, examples: int | None = None, *, zh: str = "", teaches: Sequence[str] = ()
) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    """Mark a function of one `ctx` as a check; `title` is what the report shows, `zh` the same
    title in Chinese (the bundled bank gives one for every check; verdicts keep the English as the
    check's name and carry the Chinese beside it). `teaches` names the bank's cards (flashcard,
    choice, numeric or cloze ids) that teach what the check tests: when it fails they become due
    now and the verdict names them (`llmq verify` proves each id is a card of the bank)."""
    if isinstance(teaches, str):  # teaches="a.b" would otherwise read as the ids "a", ".", "b"
        raise TypeError(f"check {title!r}: teaches= takes a list of card ids, e.g. teaches=[{teaches!r}]")
    ids = tuple(teaches)
    for card_id in ids:
        if not isinstance(card_id, str) or not card_id:
            raise TypeError(f"check {title!r}: teaches= holds {card_id!r}; each entry is a card id (a non-empty string)")

    def mark(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        fn.__llmq_check__ = CheckSpec(title, fn, examples, zh, ids)  # type: ignore[attr-defined]
        return fn

    return mark


def sandboxed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a driver that runs inside the sandbox: `driver(solution_function, *args, **kwargs)`."""
    fn.__llmq_sandboxed__ = True  # type: ignore[attr-defined]
    return fn


def edited(source: str, *edits: tuple[str, str]) -> str:
    """`source` with each (old, new) replacement applied: a wrong answer written as one bug put
    into a correct solution. An edit whose `old` text is not there raises (a bank bug, reported
    when the module loads), so a typo can never leave a wrong answer that is in fact correct."""
    for old, new in edits:
        if old not in source:
            raise ValueError(f"edited(): {old!r} is not in the source")
        source = source.replace(old, new)
    return source


def vjp(output: torch.Tensor, inputs: Sequence[torch.Tensor], cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The gradients of sum(output * cotangent) with respect to `inputs`: the vector-Jacobian
    product torch.autograd.grad(output, inputs, grad_outputs=cotangent) gives, without that
    call's import of torch's symbolic shapes (sympy) for a grad_outputs tensor, 0.2-0.35 s of CPU
    in every freshly forked harness. For answer modules that hold a reference to autograd."""
    return torch.autograd.grad((output * cotangent).sum(), inputs)


# --- what the harness gives a ctx --------------------------------------------------------------


@dataclass
class CallResult:
    """What one sandboxed call returned: the result and the arguments as they were afterwards."""

    result: Any
    changed: list[tuple[str, str]]  # (argument name, how it changed)
    aliased: list[str]  # arguments whose memory the returned tensor shares


class Link(Protocol):
    """The harness's side of the sandbox (see harness.py)."""

    def call(self, target: str | None, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]) -> CallResult: ...


@dataclass
class CheckStats:
    """Counted across the examples of one check: whether any comparison could tell zeros apart."""

    comparisons: int = 0
    informative: int = 0
    notes: list[str] = field(default_factory=list)  # ctx.note(): shown with a passing check


@dataclass
class RunInfo:
    """Facts about the whole run that messages mention."""

    exercise: str
    seed: int
    function: str


@functools.lru_cache(maxsize=64)
def _param_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        return []


def _to_float64(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return value.detach().clone().to(torch.complex128)
        if value.is_floating_point():
            return value.detach().clone().to(torch.float64)
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float64(v) for v in value)
    return value


@dataclass
class Ctx:
    """What a check works with. One ctx per hypothesis example."""

    data: Any  # hypothesis's st.data() object
    link: Link
    module: Any  # the answer module
    stats: CheckStats
    info: RunInfo
    drawn: list[Any] = field(default_factory=list)
    _last_call: tuple[str, tuple[Any, ...], dict[str, Any], list[str]] | None = None  # described only for a message
    _from_reference: list[Any] = field(default_factory=list)  # results of ctx.reference this example
    _input_dtype: torch.dtype | None = None  # of the first floating tensor given to the last call
    _generator: torch.Generator | None = None

    # -- inputs

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        """A value from a hypothesis strategy (shrinks on failure)."""
        value = self.data.draw(strategy)
        self.drawn.append(value)
        return value

    @property
    def generator(self) -> torch.Generator:
        """A torch generator seeded from this example's draws and the run's seed, so the same
        draws give the same tensors (shrinking and `--seed` reproduce them). Hashing the draws
        instead of drawing a seed saves hypothesis about 0.5 ms an example; a check that has drawn
        nothing yet draws a seed, or every example would get the same tensors."""
        if self._generator is None:
            if self.drawn:
                key = repr((self.info.seed, self.drawn)).encode()
                seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
            else:
                seed = self.data.draw(st.integers(0, 2**32 - 1))
            self._generator = torch.Generator().manual_seed(seed)
        return self._generator

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
        base = torch.float64 if dtype == torch.float64 else torch.float32
        t = torch.randn(shape, generator=self.generator, dtype=base)
        if scale != 1.0:
            t = t * scale
        return t if dtype == base else t.to(dtype)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        base = torch.float64 if dtype == torch.float64 else torch.float32
        return torch.rand(shape, generator=self.generator, dtype=base).to(dtype)

    def randint(self, low: int, high: int, shape: tuple[int, ...], dtype: torch.dtype = torch.int64) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=self.generator, dtype=dtype)

    # -- running things

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The submitted function on copies of the arguments, in the sandbox."""
        return self._call(None, self.info.function, args, kwargs)

    def run(self, driver: str, *args: Any, **kwargs: Any) -> Any:
        """A `@sandboxed` driver of this module, in the sandbox, given the submitted function."""
        return self._call(driver, driver, args, kwargs)

    def _call(self, target: str | None, label: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        names = _param_names(self.module.reference) if target is None else _param_names(getattr(self.module, target))
        if target is not None:
            names = names[1:]  # a driver's first parameter is the solution function
        self._last_call = (label, args, kwargs, names)
        floating = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.is_floating_point()]
        self._input_dtype = floating[0].dtype if floating else None
        try:
            outcome = self.link.call(target, args, kwargs, names)
        except (CheckFailed, SubmissionRaised) as exc:
            raise type(exc)(self._with_input(str(exc)), self.drawn_text()) from None
        except SandboxGone as exc:
            raise SandboxGone(exc.status, self._with_input(exc.message)) from None
        if outcome.changed:
            name, how = outcome.changed[0]
            self.fail(f"modified its input `{name}` in place ({how}); a solution must not change its inputs")
        if outcome.aliased:
            self.fail(f"returned its input `{outcome.aliased[0]}` (or a view of it); return a new tensor")
        return outcome.result

    def reference(self, *args: Any, **kwargs: Any) -> Any:
        """This module's reference on float64 clones of the floating inputs (result stays float64)."""
        try:
            result = self.module.reference(*_to_float64(args), **{k: _to_float64(v) for k, v in kwargs.items()})
        except Exception as exc:
            raise AnswerModuleBug(
                self._with_input(f"the reference raised {type(exc).__name__}: {exc}"), self.drawn_text()
            ) from exc
        self._from_reference.append(result)
        return result

    # -- judging

    def note(self, text: str) -> None:
        """Something the user should read even when the check passes (a speed-up, "correctness only")."""
        self.stats.notes.append(text)

    def fail(self, message: str) -> None:
        raise CheckFailed(self._with_input(message), self.drawn_text())

    def assert_close(
        self,
        actual: Any,
        expected: Any,
        dtype: torch.dtype | None = None,
        rtol: float | None = None,
        atol: float | None = None,
    ) -> None:
        """Exact shape and dtype, NaN/inf as such, values within the per-dtype tolerance.

        `dtype` is the dtype the output must have (and whose tolerance applies); by default that of
        the first floating tensor argument of the last `ctx.call`. Numbers: rtol 1e-9 by default."""
        if isinstance(expected, torch.Tensor):
            self._close_tensor(actual, expected, dtype, rtol, atol)
        elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
            self._close_number(actual, float(expected), rtol if rtol is not None else 1e-9, atol or 0.0)
        else:
            raise AnswerModuleBug(f"assert_close expects a tensor or a number, got {compare.type_name(expected)}")

    def assert_equal(self, actual: Any, expected: Any) -> None:
        """Exactly equal: ints, strings, lists and tuples (either kind of sequence), integer tensors."""
        where = _first_difference(actual, expected, "")
        if where is not None:
            self.fail(
                f"wrong result: {where}\ngot      {compare.describe_value(actual)}\nexpected {compare.describe_value(expected)}"
            )

    def _tolerance(self, dtype: torch.dtype, rtol: float | None, atol: float | None) -> tuple[float, float]:
        default_rtol, default_atol = compare.tolerance_for(dtype, getattr(self.module, "TOLERANCES", None))
        rtol = default_rtol if rtol is None else rtol
        atol = default_atol if atol is None else atol
        if rtol >= 1.0:
            raise AnswerModuleBug(f"rtol={rtol} for {dtype}: a relative tolerance of 1 or more accepts zeros")
        return rtol, atol

    def _close_tensor(
        self, actual: Any, expected: torch.Tensor, dtype: torch.dtype | None, rtol: float | None, atol: float | None
    ) -> None:
        # The output's dtype: as stated, else that of the main (first floating) input of the last
        # call, else the expected tensor's own (references return float64 for floating inputs).
        want = dtype or (self._input_dtype if expected.is_floating_point() else None) or expected.dtype
        if not isinstance(actual, torch.Tensor):
            self.fail(
                f"returned {compare.type_name(actual)}; expected a {str(want).removeprefix('torch.')} "
                f"tensor of shape {tuple(expected.shape)}"
            )
        if tuple(actual.shape) != tuple(expected.shape):
            self.fail(f"wrong shape: got {tuple(actual.shape)}, expected {tuple(expected.shape)}")
        if actual.dtype != want:
            self.fail(f"wrong dtype: got {str(actual.dtype).removeprefix('torch.')}, expected {str(want).removeprefix('torch.')}")
        rtol, atol = self._tolerance(want, rtol, atol)
        found = compare.mismatch(actual, expected, rtol, atol, want)
        if found is not None:
            self.fail(found.text())
        self._count(expected, not compare.zeros_would_pass(expected, rtol, atol))

    def _close_number(self, actual: Any, expected: float, rtol: float, atol: float) -> None:
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            self.fail(f"returned {compare.type_name(actual)}; expected a number")
        if rtol >= 1.0:
            raise AnswerModuleBug(f"rtol={rtol}: a relative tolerance of 1 or more accepts zeros")
        a = float(actual)
        same_nonfinite = (math.isnan(a) and math.isnan(expected)) or (math.isinf(expected) and a == expected)
        if not same_nonfinite and not (math.isfinite(a) and abs(a - expected) <= atol + rtol * abs(expected)):
            err = abs(a - expected)
            rel = err / abs(expected) if expected else math.inf
            words = compare.precision_words(rel, self._input_dtype) if self._input_dtype is not None else ""
            self.fail(
                f"got {compare.fmt_num(a)}, expected {compare.fmt_num(expected)} "
                f"(absolute error {compare.fmt_num(err)}, relative error {compare.fmt_num(rel)}; rtol={rtol:g}, atol={atol:g})"
                + (f"\n{words}" if words else "")
            )
        self._count(expected, not math.isfinite(expected) or abs(expected) > atol + rtol * abs(expected))

    def _count(self, expected: Any, informative: bool) -> None:
        """Count comparisons with the reference's own results (a property that compares the
        submission with itself may hold for zeros: zeros can be causal) or with plain numbers."""
        if isinstance(expected, torch.Tensor) and not any(expected is r for r in self._from_reference):
            return
        self.stats.comparisons += 1
        self.stats.informative += int(informative)

    # -- messages

    def _describe_call(self, label: str, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]) -> str:
        parts = []
        for i, value in enumerate(args):
            name = names[i] if i < len(names) else f"arg{i}"
            parts.append(f"{name}={compare.describe_value(value)}")
        parts.extend(f"{k}={compare.describe_value(v)}" for k, v in kwargs.items())
        return f"{label}({', '.join(parts)})"

    def input_text(self) -> str:
        """The last call's input, for the text report ("" before any call). The seed is said once
        for the whole run by the report, and the drawn values are in `drawn_text`."""
        return f"input: {self._describe_call(*self._last_call)}" if self._last_call is not None else ""

    def _with_input(self, message: str) -> str:
        text = self.input_text()
        return f"{message}\n{text}" if text else message

    def drawn_text(self) -> str:
        """Hypothesis's drawn values of this example, for --json and --verbose."""
        return ("drawn (shrunk example): " + ", ".join(compare.describe_value(v) for v in self.drawn)) if self.drawn else ""


def _first_difference(actual: Any, expected: Any, path: str) -> str | None:
    """Where two values differ, as text ("at [3]: ..."), or None when exactly equal."""
    at = f" at {path}" if path else ""
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return f"{at.strip() or 'result'}: got {compare.type_name(actual)}, expected a tensor"
        if tuple(actual.shape) != tuple(expected.shape) or actual.dtype != expected.dtype:
            return f"shape/dtype{at}: got {compare.describe_meta(actual)}, expected {compare.describe_meta(expected)}"
        found = compare.mismatch(actual, expected, 0.0, 0.0, expected.dtype)
        return None if found is None else f"values{at}: {found.text()}"
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            return f"type{at}: got {compare.type_name(actual)}, expected a {type(expected).__name__}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            inner = _first_difference(a, e, f"{path}[{i}]")
            if inner is not None:
                return inner
        if len(actual) != len(expected):
            return f"length{at}: got {len(actual)} items, expected {len(expected)}"
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(actual) is type(expected) and actual == expected
    elif isinstance(expected, int):
        same = isinstance(actual, int) and actual == expected
    else:
        same = type(actual) is type(expected) and actual == expected
    return None if same else f"value{at}: got {compare.describe_value(actual)}, expected {compare.describe_value(expected)}"
