"""Sandbox side of the Triton exercises: run a solution counting its kernel launches, inside guards.

`kernel_driver` builds the `@sandboxed` driver; it copies every input (and every tensor the solution
allocates with torch.empty/zeros and their _like forms) into a larger buffer of NaN canaries, so an
unmasked load reads NaN and an unmasked store is reported. `call_kernel` is the harness side: it
turns what the driver saw into clear failures (no kernel launched, output not written by a kernel,
a store past the end, a modified input).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from llmq.judge.gpukit.placement import _to, device
from llmq.judge.kit import sandboxed


class _LaunchLog:
    """Every kernel launched while installed: its name, file, and the tensors it was given."""

    def __init__(self) -> None:
        self.kernels: list[tuple[str, str]] = []  # (kernel name, file it was defined in)
        self.pointers: set[int] = set()

    def record(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        code = getattr(fn, "__code__", None)
        self.kernels.append((getattr(fn, "__name__", "?"), code.co_filename if code else "?"))
        for value in (*args, *kwargs.values()):
            if isinstance(value, torch.Tensor) and value.numel():
                self.pointers.add(value.untyped_storage().data_ptr())


def _launch_classes() -> list[type]:
    """Triton's launchable kernel classes: compiled (JITFunction) and interpreted."""
    import triton.runtime.jit as jit

    classes: list[type] = [jit.JITFunction]
    try:
        from triton.runtime.interpreter import InterpretedFunction

        classes.append(InterpretedFunction)
    except ImportError:
        pass
    return classes


def _counting(log: _LaunchLog) -> list[tuple[Any, Any]]:
    """Wrap `run` of every launchable class (what `kernel[grid](...)` calls); returns what to restore."""
    saved: list[tuple[Any, Any]] = []
    for cls in _launch_classes():
        original = cls.__dict__["run"]

        def run(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if not kwargs.get("warmup", False):
                log.record(self.fn, args, kwargs)
            return _original(self, *args, **kwargs)

        saved.append((cls, original))
        patched: Any = cls  # a class of Triton's, patched for the run and restored after it
        patched.run = run
    return saved


def _first_config_only() -> list[tuple[Any, Any]]:
    """Under Triton's interpreter, @triton.autotune cannot benchmark (there is no GPU driver to time
    with): make it keep the first config, as it does when only one config is left after pruning."""
    try:
        from triton.runtime.autotuner import Autotuner
    except ImportError:
        return []
    original = Autotuner.__dict__["prune_configs"]

    def prune_configs(self: Any, kwargs: dict[str, Any], _original: Any = original) -> list[Any]:
        return list(_original(self, kwargs)[:1])

    Autotuner.prune_configs = prune_configs
    return [(Autotuner, original)]


_EMPTY = torch.empty
GUARD = 8192  # elements of canary on each side of every input and every allocation


# Integer views of each float type, and the bits of its quiet NaN; the low bits carry a payload
# that differs from buffer to buffer, so NaN loaded from one guard and stored into another (an
# unmasked x + y) still changes the second one.
_BITS = {
    torch.float64: (torch.int64, 0x7FF8000000000000),
    torch.float32: (torch.int32, 0x7FC00000),
    torch.float16: (torch.int16, 0x7E00),
    torch.bfloat16: (torch.int16, 0x7FC0),
}


def _canary(dtype: torch.dtype, index: int) -> tuple[torch.dtype, int]:
    """(the dtype the guard is viewed as, the value it holds there) for the index-th buffer."""
    if dtype in _BITS:
        view, nan = _BITS[dtype]
        return view, nan | (1 + index % 31)  # a NaN: nonzero mantissa, quiet bit set
    if dtype == torch.bool:
        return torch.uint8, 1
    return dtype, int(torch.iinfo(dtype).max) - index % 31


class _Guards:
    """Tensors placed inside larger buffers filled with a canary: reading past the end reads NaN,
    writing past the end changes the canary, which `overrun` reports afterwards."""

    def __init__(self) -> None:
        self.buffers: list[tuple[torch.Tensor, int, str, torch.dtype, int]] = []

    def place(self, shape: tuple[int, ...], dtype: torch.dtype, dev: Any, what: str) -> torch.Tensor:
        n = 1
        for size in shape:
            n *= int(size)
        view, value = _canary(dtype, len(self.buffers))
        buf = _EMPTY((n + 2 * GUARD,), dtype=dtype, device=dev)  # not the patched torch.empty
        buf.view(view).fill_(value)
        self.buffers.append((buf, n, what, view, value))
        return buf[GUARD : GUARD + n].view(shape)

    def overrun(self) -> str | None:
        for buf, n, what, view, value in self.buffers:
            bits = buf.view(view)
            for side, part in (("before the start", bits[:GUARD]), ("past the end", bits[GUARD + n :])):
                if not bool((part == value).all()):
                    return f"wrote {side} of {what}"
        return None


def _guarded_input(guards: _Guards, value: Any, dev: str, what: str) -> Any:
    if isinstance(value, torch.Tensor) and value.numel():
        t = guards.place(tuple(value.shape), value.dtype, dev, what)
        t.copy_(value)
        return t
    return _to(value, dev)


def _patched_allocators(guards: _Guards) -> list[tuple[Any, str, Any]]:
    """torch.empty/empty_like/zeros/zeros_like hand out guarded tensors while the solution runs."""
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, like: bool, fill: float | None) -> None:
        original = getattr(owner, name)

        def alloc(*args: Any, **kwargs: Any) -> Any:
            plain = original(*args, **kwargs)
            if plain.numel() == 0 or not plain.is_contiguous() or kwargs.get("out") is not None:
                return plain
            t = guards.place(tuple(plain.shape), plain.dtype, plain.device, "a tensor it allocated")
            if fill is not None:
                t.fill_(fill)
            return t

        saved.append((owner, name, original))
        setattr(owner, name, alloc)

    wrap(torch, "empty", False, None)
    wrap(torch, "empty_like", True, None)
    wrap(torch, "zeros", False, 0)
    wrap(torch, "zeros_like", True, 0)
    return saved


def _launch(solution: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run the solution on the device, counting Triton launches.

    Inputs are copied into guarded buffers on the device (and compared after the call: the judge's
    own comparison only sees the CPU originals); what the solution allocates with torch.empty and
    friends is guarded too, so a store without a mask on the last block shows up.
    """
    dev = device()
    guards = _Guards()
    dargs = [_guarded_input(guards, a, dev, f"input #{i}") for i, a in enumerate(args)]
    dkwargs = {k: _guarded_input(guards, v, dev, f"input `{k}`") for k, v in kwargs.items()}
    log = _LaunchLog()
    saved = _counting(log)
    tuned = _first_config_only() if dev == "cpu" else []
    allocators = _patched_allocators(guards)
    try:
        out = solution(*dargs, **dkwargs)
        if dev == "cuda":
            torch.cuda.synchronize()
    finally:
        for owner, name, original in allocators:
            setattr(owner, name, original)
        for cls, original in saved:
            cls.run = original
        for cls, original in tuned:
            cls.prune_configs = original
    own_file = solution.__code__.co_filename if hasattr(solution, "__code__") else ""
    modified = None
    for i, (a, b) in enumerate(zip(dargs, args)):
        if (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and (not torch.equal(a.cpu().nan_to_num(), b.nan_to_num()) or not torch.equal(a.cpu().isnan(), b.isnan()))
        ):
            modified = i
            break
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    written = [isinstance(o, torch.Tensor) and o.numel() > 0 and o.untyped_storage().data_ptr() in log.pointers for o in outs]
    aliased = any(
        isinstance(o, torch.Tensor)
        and isinstance(a, torch.Tensor)
        and o.numel()
        and a.numel()
        and o.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
        for o in outs
        for a in dargs
    )
    return {
        "out": _to(out, "cpu"),
        "launches": len(log.kernels),
        "kernels": sorted({name for name, _ in log.kernels}),
        "own": sum(f == own_file for _, f in log.kernels),
        "written": written,
        "modified": modified,
        "aliased": aliased,
        "overrun": guards.overrun(),
        "device": dev,
    }


def kernel_driver(*names: str) -> Callable[..., Any]:
    """The `@sandboxed` driver `call_kernel` runs (bind it as `launch_driver` in the answer module):
    runs the solution on the device, counting Triton launches, with guarded inputs and allocations.
    `names` are the solution's parameter names (as in the reference), so failure messages name the
    inputs; the reference itself never goes into the sandbox, so the names are given, not read."""

    def launch_driver(solution: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _launch(solution, *args, **kwargs)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("solution", inspect.Parameter.POSITIONAL_ONLY)]
    launch_driver.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params + [inspect.Parameter(name, kind) for name in names]
    )
    return sandboxed(launch_driver)


def half_dtypes() -> list[torch.dtype]:
    """The 16-bit float types a kernel is checked with: float16 everywhere, bfloat16 only on CUDA
    (Triton's CPU interpreter does not emulate bfloat16 arithmetic: x + y comes out as garbage)."""
    return [torch.float16, torch.bfloat16] if device() == "cuda" else [torch.float16]


def call_kernel(ctx: Any, *args: Any, written: bool = True, **kwargs: Any) -> Any:
    """Harness side: the solution's result, after checking it launched its own Triton kernel,
    wrote its output with one (unless `written=False`: a loss may be finished in torch), and left
    its inputs alone. Fails the check with a clear message."""
    seen = ctx.run("launch_driver", *args, **kwargs)
    if not isinstance(seen, dict):
        ctx.fail(f"the judge's driver returned {type(seen).__name__}; did the solution patch Triton?")
    if seen["launches"] == 0:
        ctx.fail(
            "launched no Triton kernel: this exercise is computed by a Triton kernel that your file "
            "defines with @triton.jit and launches as kernel[grid](...); plain torch code does not count"
        )
    if seen["own"] == 0:
        ctx.fail(
            f"launched only kernels defined outside your file ({', '.join(seen['kernels'])}); write your own @triton.jit kernel"
        )
    if seen["overrun"]:
        ctx.fail(
            f"{seen['overrun']}: a load or store ran outside the tensor; the last block needs a mask "
            "(offsets < n), and loads of masked lanes need `other=`"
        )
    if seen["modified"] is not None:
        ctx.fail(f"modified its input #{seen['modified']} in place; a solution must not change its inputs")
    if seen["aliased"]:
        ctx.fail("returned one of its inputs (or a view of it); return a new tensor")
    if written and not all(seen["written"]):
        ctx.fail(
            "returned a tensor that no Triton kernel was given: the kernel must write the output "
            "(allocate it, pass it to the kernel, return it)"
        )
    return seen["out"]
