"""Numeric templates: draw parameters, compute the answer, render text, and read the user's answer.

Answer modules for numeric questions are plain Python (no torch). `answer(**params)` returns the
value in the question's unit. llmq never runs them in its own process: `instantiate` (and the
validator) evaluate them in a child process with a time limit (numeric_runner.py), so a module
that loops or hangs costs an error naming the file, never a hung app.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from llmq.bank import numeric_runner
from llmq.bank.model import Numeric, NumericParam
from llmq.bank.numeric_runner import NumericAnswerError as NumericAnswerError  # raised by instantiate
from llmq.l10n import _

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::([^}]*))?\}\}")


def placeholders(template: str) -> set[str]:
    return {m.group(1) for m in _PLACEHOLDER.finditer(template)}


def _format(value: Any, spec: str | None) -> str:
    if spec:
        return format(value, spec)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.4g}" if abs(value) >= 1e-3 else f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render(template: str, values: dict[str, Any]) -> str:
    """Replace {{name}} and {{name:spec}}; a name with no value is left as written."""

    def sub(m: re.Match[str]) -> str:
        name, spec = m.group(1), m.group(2)
        return _format(values[name], spec) if name in values else m.group(0)

    return _PLACEHOLDER.sub(sub, template)


def sample_params(params: tuple[NumericParam, ...], rng: random.Random) -> dict[str, Any]:
    """Fresh values for every parameter."""
    values: dict[str, Any] = {}
    for p in params:
        if p.choices:
            values[p.name] = rng.choice(p.choices)
        elif p.integer:
            values[p.name] = rng.randint(int(p.low), int(p.high))  # type: ignore[arg-type]
        else:
            values[p.name] = rng.uniform(p.low, p.high)  # type: ignore[arg-type]
    return values


def edge_params(params: tuple[NumericParam, ...]) -> list[dict[str, Any]]:
    """Every parameter at its low end, then at its high end (to validate a template's range)."""
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    for p in params:
        if p.choices:
            lows[p.name], highs[p.name] = p.choices[0], p.choices[-1]
        elif p.integer:
            lows[p.name], highs[p.name] = int(p.low), int(p.high)  # type: ignore[arg-type]
        else:
            lows[p.name], highs[p.name] = float(p.low), float(p.high)  # type: ignore[arg-type]
    return [lows, highs]


_module_cache: dict[tuple[Path, int, int], ModuleType] = {}


def load_answer_module(path: Path) -> ModuleType:
    """Load a numeric answer module by path into this process, without registering it in sys.modules.

    For tests and tools that call a module's helpers directly. llmq itself never does this (a
    module that hangs at import would hang it): it goes through numeric_runner.
    Cached per file version (modification time and size), so an edited module is loaded afresh.
    """
    path = path.resolve()
    st = path.stat()
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _module_cache:
        spec = importlib.util.spec_from_file_location(f"llmq_numeric_{abs(hash(key))}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _module_cache[key] = module
    return _module_cache[key]


@dataclass(frozen=True)
class Instance:
    """One drawn version of a numeric question, ready to show."""

    question: Numeric
    values: dict[str, Any]
    answer: float
    prompt: str
    solution: str


# Set by `same_draws`: a seed every draw without its own rng starts from.
_SHARED_SEED: contextvars.ContextVar[int | None] = contextvars.ContextVar("llmq_numeric_seed", default=None)


@contextlib.contextmanager
def same_draws(seed: int) -> Iterator[None]:
    """Within the block, every `instantiate` without an rng draws from `seed`: the Chinese and the
    English of one numeric question (`llmq show --lang both`) show the same numbers."""
    token = _SHARED_SEED.set(seed)
    try:
        yield
    finally:
        _SHARED_SEED.reset(token)


def instantiate(question: Numeric, rng: random.Random | None = None) -> Instance:
    """Draw parameters and compute the answer (in a child process, with a time limit).

    Raises NumericAnswerError, naming the answer module, when it cannot give an answer in time.
    """
    seed = _SHARED_SEED.get()
    rng = rng or (random.Random() if seed is None else random.Random(seed))
    values = sample_params(question.params, rng)
    [(answer, steps)] = numeric_runner.evaluate(question.answer_path, [values])
    context = {**values, **steps, "answer": answer}
    return Instance(
        question=question,
        values=values,
        answer=answer,
        prompt=render(question.prompt, context),
        solution=render(question.solution, context),
    )


# --- reading what the user typed -------------------------------------------------------------

_DECIMAL = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21, "Y": 1e24}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_SMALL = {"m": 1e-3, "u": 1e-6, "\u00b5": 1e-6, "\u03bc": 1e-6, "n": 1e-9}  # micro sign and Greek mu
# A CJK input method types full-width forms (U+FF01..U+FF5E, e.g. '３１．４ＧＢ', '５０％') and the
# ideographic space; they map one to one onto ASCII. (Not NFKC: it would read '10⁹' as 109.)
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x00A0: 0x20}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
# Words a Chinese answer puts around an estimate ('约 38.5 GB', '大约 31.4G', '38.5 GB 左右'): they
# say "about", which the tolerance already allows, so they are dropped, never read as a unit.
_ABOUT_BEFORE = re.compile(r"^\s*(?:大约是|大约为|大约|大概是|大概|约为|约是|约等于|约|差不多是|差不多|≈|~)\s*")
_ABOUT_AFTER = re.compile(r"\s*(?:左右|上下)?\s*[。.]?\s*$")


def _prefix_and_base(unit: str) -> tuple[float, str]:
    """'GB' -> (1e9, 'B'); 'GiB' -> (2**30, 'B'); 'ms' -> (1e-3, 's'); 'B' -> (1, 'B'); 'M' -> (1e6, '')."""
    if unit in _DECIMAL or unit in _BINARY:  # a count in thousands, millions, ...
        return (_DECIMAL | _BINARY)[unit], ""
    for table in (_BINARY, _DECIMAL, _SMALL):
        for prefix, factor in table.items():
            if unit.startswith(prefix) and len(unit) > len(prefix):
                return factor, unit[len(prefix) :]
    return 1.0, unit


def _suffix_factor(suffix: str, base: str) -> float | None:
    """How many base units one of `suffix` is: 'GB' -> 1e9 (base B); 'G' -> 1e9; '' -> None."""
    suffix = suffix.strip()
    if not suffix:
        return None
    if suffix == "%":
        return 1.0 if base == "%" else 0.01
    if base and suffix.lower() == base.lower():
        return 1.0
    # After a count (no base unit) 'm' is a million, never a thousandth: see below.
    for table in (_BINARY, _DECIMAL) if not base else (_BINARY, _DECIMAL, _SMALL):
        for prefix, factor in table.items():
            rest = suffix[len(prefix) :].strip()  # '1.2k tokens/s' as well as '1.2ktokens/s'
            if suffix.startswith(prefix) and (rest == "" or (base and rest.lower() == base.lower())):
                return factor
    if suffix.lower() in ("b", "bn", "billion"):
        return 1e9
    if suffix.lower() in ("m", "mn", "million"):
        return 1e6
    if suffix.lower() in ("t", "trillion"):
        return 1e12
    return None


class AnswerFormatError(ValueError):
    """What the user typed is not a number we can read; the message says why."""


def read_answer(text: str, unit: str) -> list[float]:
    """The values (in the question's unit) that the user's text can mean.

    "31.4 GB", "31.4G" and "3.14e10" all read as 31.4 for a question in GB: a bare number is
    taken in the question's unit, and also in its base unit (bytes for GB) when it has a prefix,
    since a bare 3.14e10 is plainly bytes. A prefix or unit that disagrees is an error.
    """
    plain = text.translate(_FULL_WIDTH)
    plain = _ABOUT_AFTER.sub("", _ABOUT_BEFORE.sub("", plain, count=1), count=1)
    m = _NUMBER.match(plain)
    if not m:
        raise AnswerFormatError(_("not a number: {text!r}").format(text=text.strip()))
    number = float(m.group(1).replace(",", "").replace("_", ""))
    if not math.isfinite(number):  # '1e999': float() gives inf, which no answer is close to
        raise AnswerFormatError(_("too large to read: {number!r}").format(number=m.group(1)))
    suffix = m.group(2)
    unit_factor, base = _prefix_and_base(unit)
    if not suffix:
        candidates = [number]
        if unit_factor != 1.0:
            candidates.append(number / unit_factor)
        return candidates
    if suffix == unit:
        return [number]
    factor = _suffix_factor(suffix, base)
    if factor is None:
        raise AnswerFormatError(
            _("unknown unit {suffix!r} (the answer is in {unit})").format(suffix=suffix, unit=unit or _("plain numbers"))
        )
    return [number * factor / unit_factor]


def is_correct(text: str, question: Numeric, answer: float) -> bool:
    """True when any reading of the user's text is within the question's relative tolerance."""
    for value in read_answer(text, question.unit):
        if math.isclose(value, answer, rel_tol=question.tolerance, abs_tol=0.0):
            return True
        if answer == 0 and abs(value) <= question.tolerance:
            return True
    return False
