"""Comparing a submission's output with the expected one: tolerances, mismatch reports, describing values.

Shapes and dtypes are compared exactly (never broadcast); NaN matches only NaN and inf only the
same inf; finite values pass when |actual - expected| <= atol + rtol * |expected|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

# (rtol, atol) per dtype; an answer module's TOLERANCES overrides entries.
DEFAULT_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (2e-2, 2e-2),
}


def tolerance_for(dtype: torch.dtype, overrides: dict[torch.dtype, tuple[float, float]] | None = None) -> tuple[float, float]:
    if overrides and dtype in overrides:
        rtol, atol = overrides[dtype]
        return float(rtol), float(atol)
    return DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))  # integer and bool outputs: exact


def fmt_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def fmt_num(x: float) -> str:
    return f"{x:.6g}"


def fmt_pair(actual: float, expected: float) -> tuple[str, str]:
    """Two numbers with just enough digits to tell them apart (6 at least): a float64 answer off
    by 1e-9 must not read "got 0.268421, expected 0.268421"."""
    for digits in range(6, 18):
        a, e = f"{actual:.{digits}g}", f"{expected:.{digits}g}"
        if a != e or actual == expected:
            break
    return a, e


def describe_value(value: Any) -> str:
    """A short description of a value for messages: tensors by dtype and shape (values if tiny)."""
    if isinstance(value, torch.Tensor):
        text = f"{str(value.dtype).removeprefix('torch.')} {tuple(value.shape)}"
        if value.numel() <= 8:
            values = [fmt_num(v) if isinstance(v, float) else str(v) for v in value.detach().flatten().tolist()]
            text += " = [" + ", ".join(values) + "]"
        return text
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def type_name(value: Any) -> str:
    from llmq.judge.wire import Opaque  # what the sandbox could not send back as a value

    if isinstance(value, Opaque):
        return f"an object of type {value.type_name} ({value.text})"
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if value is None:
        return "None"
    return f"a {type(value).__name__} ({describe_value(value)})"


@dataclass(frozen=True)
class Mismatch:
    """Where two same-shaped tensors differ, for the failure message."""

    count: int
    total: int
    first_index: tuple[int, ...]
    first_actual: float
    first_expected: float
    max_abs: float
    max_abs_index: tuple[int, ...] | None
    max_rel: float
    nonfinite: int  # elements where NaN/inf do not match
    rtol: float
    atol: float
    dtype: torch.dtype
    precision: str = ""  # precision_words(): the error looks like a lower precision's rounding

    def text(self) -> str:
        pct = 100.0 * self.count / max(self.total, 1)
        lines = [
            f"values differ at {self.count} of {self.total} elements ({pct:.3g}%), "
            f"tolerance rtol={self.rtol:g}, atol={self.atol:g} for {str(self.dtype).removeprefix('torch.')}",
            "first differing index {}: got {}, expected {}".format(
                fmt_index(self.first_index), *fmt_pair(self.first_actual, self.first_expected)
            ),
        ]
        # When only NaN/inf differ, the finite errors are all 0: saying so would read as "no error".
        if self.max_abs_index is not None and self.count > self.nonfinite:
            lines.append(
                f"largest absolute error {fmt_num(self.max_abs)} at {fmt_index(self.max_abs_index)}; "
                f"largest relative error {fmt_num(self.max_rel)}"
            )
        if self.nonfinite:
            lines.append(f"{self.nonfinite} of them are NaN or inf on one side only")
        if self.precision:
            lines.append(self.precision)
        return "\n".join(lines)


# A result of dtype D whose error is of the size of rounding to a lower precision L: L's name, its
# machine epsilon, the band of errors (relative to the expected values' scale) that read as its
# rounding, and what usually puts L into the computation. The bands run from a fraction of L's
# epsilon to many of them (a long reduction accumulates roundings); a plain wrong formula is off
# by far more, and a result computed in D by far less.
_LOWER_PRECISION: dict[torch.dtype, tuple[str, float, float, float, str]] = {
    torch.float64: (
        "float32",
        2.0**-23,
        1e-9,
        1e-4,
        "a `.float()` on the input, a float32 `torch.arange`, or a table (positions, frequencies, "
        "a mask) built in float32, torch's default",
    ),
    torch.float32: (
        "bfloat16 or float16",
        2.0**-7,
        1e-4,
        3e-2,
        "a `.half()`/`.bfloat16()`, an autocast region, or a table built in half precision",
    ),
}


def precision_words(relative_error: float, dtype: torch.dtype, exact_in_lower: bool = False) -> str:
    """A sentence for a failure whose error (relative to the expected values' scale) has the
    size of a lower precision's rounding, naming the usual causes; "" when it does not.
    `exact_in_lower`: every value of the result is a number of the lower precision."""
    lower = _LOWER_PRECISION.get(dtype)
    if lower is None or not math.isfinite(relative_error):
        return ""
    name, eps, low, high, causes = lower
    own = str(dtype).removeprefix("torch.")
    rule = f"{own} input must be computed in {own}"
    if exact_in_lower and relative_error <= high:
        return (
            f"every value of the result is exactly a {name} number: it went through {name}, but {rule}. Usual causes: {causes}."
        )
    if not low <= relative_error <= high:
        return ""
    return (
        f"the error ({fmt_num(relative_error)} of the largest expected value) has the size of {name} "
        f"rounding (epsilon {eps:.2g}): part of the computation probably ran in {name}, but {rule}. "
        f"Usual causes: {causes}."
    )


def _exact_in(values: torch.Tensor, dtype: torch.dtype) -> bool:
    """Every finite value survives a round trip through `dtype` (and not all are integers,
    which every format holds exactly)."""
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0 or bool((finite == finite.round()).all()):
        return False
    return bool((finite.to(dtype).to(values.dtype) == finite).all())


def _unravel(flat_index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def mismatch(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, dtype: torch.dtype) -> Mismatch | None:
    """None when every element is within tolerance; shapes must already be equal."""
    a = actual.detach().to(torch.float64).flatten()
    e = expected.detach().to(torch.float64).flatten()
    # isclose has the same rule (NaN matches NaN with equal_nan, inf only the same inf): one
    # fused op for the usual case where everything matches.
    if bool(torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True).all()):
        return None
    finite = torch.isfinite(a) & torch.isfinite(e)
    diff = (a - e).abs()
    close = torch.where(finite, diff <= atol + rtol * e.abs(), (a == e) | (a.isnan() & e.isnan()))
    bad = ~close
    count = int(bad.sum())
    if count == 0:
        return None
    shape = tuple(expected.shape)
    first = int(bad.nonzero()[0, 0])
    finite_diff = torch.where(finite, diff, torch.zeros_like(diff))
    max_abs_index = None
    max_abs = max_rel = 0.0
    if bool(finite.any()):
        flat_max = int(finite_diff.argmax())
        max_abs = float(finite_diff[flat_max])
        max_abs_index = _unravel(flat_max, shape)
        rel = torch.where(finite & (e != 0), finite_diff / e.abs(), torch.zeros_like(diff))
        max_rel = float(rel.max())
    precision = ""
    if dtype in _LOWER_PRECISION and bool(finite.any()) and int((bad & ~finite).sum()) == 0:
        # Relative to the expected values' scale: one element near zero must not hide it.
        scale = float(e[finite].abs().max())
        if scale > 0:
            lower = torch.float32 if dtype == torch.float64 else torch.bfloat16
            precision = precision_words(max_abs / scale, dtype, _exact_in(a, lower))
    return Mismatch(
        count=count,
        total=e.numel(),
        first_index=_unravel(first, shape),
        first_actual=float(a[first]),
        first_expected=float(e[first]),
        max_abs=max_abs,
        max_abs_index=max_abs_index,
        max_rel=max_rel,
        nonfinite=int((bad & ~finite).sum()),
        rtol=rtol,
        atol=atol,
        dtype=dtype,
        precision=precision,
    )


def zeros_would_pass(expected: torch.Tensor, rtol: float, atol: float) -> bool:
    """True when an all-zero output would be accepted: the comparison proves nothing."""
    if expected.numel() == 0:
        return False
    # NaN/inf expected: zeros fail (a NaN compares False, an inf exceeds any bound).
    return bool((expected.detach().to(torch.float64).abs() * (1.0 - rtol) <= atol).all())


def describe_meta(t: torch.Tensor) -> str:
    return f"{str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}"


# --- what a call did to its arguments besides their values ---------------------------------------


@dataclass(frozen=True)
class ArgState:
    """What of a tensor argument a solution must leave alone besides its values (those are
    compared separately): whether it requires grad, its .grad, and its storage."""

    requires_grad: bool
    grad: tuple[str, tuple[int, ...], int] | None  # dtype, shape, version counter; None: no .grad
    storage: tuple[int, int]  # address and size in bytes


def arg_state(t: torch.Tensor) -> ArgState:
    grad = t.grad if t.is_leaf else None  # .grad of a non-leaf is always None (and warns)
    return ArgState(
        requires_grad=bool(t.requires_grad),
        grad=None if grad is None else (str(grad.dtype).removeprefix("torch."), tuple(grad.shape), int(grad._version)),
        storage=(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()),
    )


def state_change(before: ArgState, after: ArgState) -> str | None:
    """How an argument changed besides its values, in words (with the usual cause), or None."""
    found = []
    if before.requires_grad != after.requires_grad:
        found.append(f"requires_grad was {before.requires_grad}, now {after.requires_grad}: a `requires_grad_()` on an input")
    if before.grad != after.grad:
        if before.grad is None and after.grad is not None:
            found.append(
                f"its .grad was None, now a {after.grad[0]} tensor of shape {after.grad[1]}: a backward() reached the input, "
                "or the solution set its .grad"
            )
        elif after.grad is None:
            found.append("its .grad was cleared")
        else:
            found.append("its .grad changed: a backward() accumulated into it, or the solution wrote to it")
    if before.storage != after.storage:
        if before.storage[0] != after.storage[0]:
            found.append("its storage was replaced: a `.set_()` or `.data = ...` on an input")
        else:
            found.append(
                f"its storage was resized from {before.storage[1]} to {after.storage[1]} bytes: a `.resize_()` on an input"
            )
    return "; ".join(found) or None
