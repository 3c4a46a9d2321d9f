"""Timing a Triton solution on CUDA against torch eager, with the bank's kernels/timing.py.

Without CUDA the driver returns None and the note says that only correctness was checked. In the
sandbox the bank is out of reach: the harness ships kernels/timing.py and kernels/baselines.py as
text with the driver bundle (`ship`), and `load_kernels_module` takes them from there.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from llmq.judge.device import CPU_NOTE
from llmq.judge.gpukit.placement import device
from llmq.judge.kit import sandboxed

_SHIPPED: dict[str, str] = {}  # kernels/<name>.py texts the harness sent into the sandbox


def ship(files: dict[str, str]) -> None:
    """In the sandbox: the kernels/ files of the bank, as text, for `load_kernels_module`."""
    _SHIPPED.clear()
    _SHIPPED.update(files)


def load_kernels_module(answer_file: str, name: str) -> ModuleType:
    """kernels/<name>.py of the bank the answer module at `answer_file` belongs to, loaded by path
    (or from the text shipped into the sandbox)."""
    if name in _SHIPPED:
        key = f"_llmq_kernels_{name}_shipped"
        if key not in sys.modules:
            module = ModuleType(key)
            module.__file__ = f"kernels/{name}.py"
            sys.modules[key] = module  # dataclasses look their module up while it runs
            exec(compile(_SHIPPED[name], module.__file__, "exec"), module.__dict__)
        return sys.modules[key]
    root = next((p.parent for p in Path(answer_file).resolve().parents if p.name == "answers"), None)
    if root is None:
        raise ImportError(f"{answer_file} is not inside a bank's answers/ folder")
    path = root / "kernels" / f"{name}.py"
    key = f"_llmq_kernels_{name}_{abs(hash(str(path))):x}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[key]
        raise
    return module


def timing_driver(answer_file: str, exercise: str) -> Callable[..., Any]:
    """A `@sandboxed` driver (name it `time_driver` in the answer module) that times the solution on
    CUDA against torch eager, with kernels/timing.py on the first shape of kernels/baselines.py's
    SPECS[exercise]. It returns None without CUDA, else {"summary": text}.

    torch.compile is left to kernels/bench.py: compiling takes seconds to tens of seconds in a fresh
    process, which would eat the check's time limit and turn a correct solution into a timeout.

    The kernels/ files are loaded when the driver first times something (on CUDA only), so a
    sandbox without CUDA never holds them."""

    @sandboxed
    def time_driver(solution: Callable[..., Any]) -> dict[str, Any] | None:
        if device() != "cuda":
            return None
        timing = load_kernels_module(answer_file, "timing")
        eager, make_inputs, bytes_moved, _, shapes = load_kernels_module(answer_file, "baselines").SPECS[exercise]
        shape = shapes[0]
        report = timing.compare(
            {"solution": solution, "torch eager": eager},
            lambda gen: make_inputs(*shape, device="cuda", generator=gen),
            bytes_moved=bytes_moved(*shape),
            budget_s=3.0,
        )
        return {"summary": f"{report.summary} (shape {shape})"}

    return time_driver


def note_timing(ctx: Any) -> None:
    """Harness side of the timing check: a note with the speed-ups, or that nothing was timed."""
    report = ctx.run("time_driver")
    if report is None:
        ctx.note(f"{CPU_NOTE}; the Triton kernel ran under TRITON_INTERPRET=1 (Triton's CPU interpreter)")
        return
    ctx.note(report["summary"])
