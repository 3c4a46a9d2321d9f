"""Helpers for the GPU track's answer modules: count Triton launches, fork gloo/NCCL ranks, time on CUDA.

Answer modules import this at load time, in the harness, before the sandbox is forked; the
`@sandboxed` drivers built from it then run inside the sandbox next to the solution (where
`import llmq` is refused, so nothing here imports llmq lazily). Two halves:

- sandbox side: `launch_driver` runs a solution while counting the Triton kernels it launches and
  noting whether the returned tensor was one of their arguments; `run_ranks` forks ranks of a
  `torch.distributed` group (gloo on the CPU, NCCL when there is a GPU per rank) and brings back
  what each rank returned; `timing_driver` times a solution on CUDA against torch eager and
  torch.compile with the harness in kernels/timing.py.
- harness side: `call_kernel(ctx, ...)` turns what `launch_driver` saw into clear failures;
  `note_timing(ctx, ...)` records the speed-up (or that nothing could be timed) on the verdict.
"""
from __future__ import annotations

import ctypes
import datetime
import importlib.util
import os
import pickle
import select
import signal
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

from llmq.judge.device import CPU_NOTE
from llmq.judge.kit import sandboxed

__all__ = [
    "device",
    "launch_driver",
    "call_kernel",
    "run_ranks",
    "RankFailed",
    "load_kernels_module",
    "timing_driver",
    "note_timing",
]


def device() -> str:
    """'cuda' when this process may use a GPU, else 'cpu' (checked without initialising CUDA)."""
    if torch.version.cuda is None:
        return "cpu"
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return "cuda" if torch.cuda.is_available() else "cpu"


# --- counting Triton launches (sandbox side) ---------------------------------------------------


class _LaunchLog:
    """Every kernel launched while installed: its name, file, and the tensors it was given."""

    def __init__(self) -> None:
        self.kernels: list[tuple[str, str]] = []  # (kernel name, file it was defined in)
        self.pointers: set[int] = set()

    def record(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
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


def _counting(log: _LaunchLog) -> list[tuple[type, Any]]:
    """Wrap `run` of every launchable class (what `kernel[grid](...)` calls); returns what to restore."""
    saved = []
    for cls in _launch_classes():
        original = cls.__dict__["run"]

        def run(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if not kwargs.get("warmup", False):
                log.record(self.fn, args, kwargs)
            return _original(self, *args, **kwargs)

        saved.append((cls, original))
        cls.run = run  # type: ignore[method-assign]
    return saved


def _to(value: Any, dev: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dev)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, dev) for v in value)
    return value


@sandboxed
def launch_driver(solution: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run the solution on the device, counting Triton launches. Inputs are cloned for the device
    and compared after the call (the judge's own comparison sees only the CPU originals)."""
    dev = device()
    dargs = [_to(a, dev) for a in args]
    dkwargs = {k: _to(v, dev) for k, v in kwargs.items()}
    before = [a.clone() if isinstance(a, torch.Tensor) else None for a in dargs]
    log = _LaunchLog()
    saved = _counting(log)
    try:
        out = solution(*dargs, **dkwargs)
        if dev == "cuda":
            torch.cuda.synchronize()
    finally:
        for cls, original in saved:
            cls.run = original
    own_file = solution.__code__.co_filename if hasattr(solution, "__code__") else ""
    modified = None
    for i, (a, b) in enumerate(zip(dargs, before)):
        if b is not None and not torch.equal(a.cpu(), b.cpu()) and not (a.isnan().any() and b.isnan().any()):
            modified = i
            break
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    written = [
        isinstance(o, torch.Tensor) and o.numel() > 0 and o.untyped_storage().data_ptr() in log.pointers for o in outs
    ]
    aliased = any(
        isinstance(o, torch.Tensor) and isinstance(a, torch.Tensor) and o.numel() and a.numel()
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
        "device": dev,
    }


def call_kernel(ctx: Any, *args: Any, **kwargs: Any) -> Any:
    """Harness side: the solution's result, after checking it launched its own Triton kernel,
    wrote its output with one, and left its inputs alone. Fails the check with a clear message."""
    seen = ctx.run("launch_driver", *args, **kwargs)
    if not isinstance(seen, dict):
        ctx.fail(f"the judge's driver returned {type(seen).__name__}; did the solution patch Triton?")
    if seen["launches"] == 0:
        ctx.fail(
            "launched no Triton kernel: this exercise is computed by a Triton kernel that your file "
            "defines with @triton.jit and launches as kernel[grid](...); plain torch code does not count"
        )
    if seen["own"] == 0:
        ctx.fail(f"launched only kernels defined outside your file ({', '.join(seen['kernels'])}); write your own @triton.jit kernel")
    if seen["modified"] is not None:
        ctx.fail(f"modified its input #{seen['modified']} in place; a solution must not change its inputs")
    if seen["aliased"]:
        ctx.fail("returned one of its inputs (or a view of it); return a new tensor")
    if not all(seen["written"]):
        ctx.fail(
            "returned a tensor that no Triton kernel was given: the kernel must write the output "
            "(allocate it, pass it to the kernel, return it)"
        )
    return seen["out"]


# --- distributed ranks (sandbox side) ----------------------------------------------------------


class RankFailed(Exception):
    """A rank raised, hung, or died. The message says which and how."""


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _user_traceback(exc: BaseException, filename: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [line.rstrip("\n") for line in traceback.format_list(frames)]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    return "\n".join(lines)


def _rank_main(rank: int, world: int, store: str, backend: str, body: Callable[..., Any], args: tuple,
               timeout_s: float, filename: str, fd: int) -> None:
    """One rank: join the group, run `body(rank, world, *args)`, send what it returned; never returns."""
    code = 0
    try:
        _die_with_parent()
        import torch.distributed as dist

        if backend == "nccl":
            torch.cuda.set_device(rank)
        dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
        try:
            reply: tuple = ("ok", body(rank, world, *args))
        finally:
            dist.destroy_process_group()
    except BaseException as exc:  # noqa: BLE001 - whatever the solution did, report it
        reply = ("raised", type(exc).__name__, _user_traceback(exc, filename))
        code = 1
    try:
        data = pickle.dumps(reply)
    except Exception as exc:  # noqa: BLE001
        data = pickle.dumps(("raised", type(exc).__name__, f"a rank's result could not be sent back: {exc}"))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[: 1 << 20]):]
    os._exit(code)


def run_ranks(body: Callable[..., Any], *args: Any, world: int = 2, timeout_s: float = 8.0,
              filename: str = "") -> list[Any]:
    """Fork `world` ranks that each run `body(rank, world, *args)` in one process group; their results.

    gloo on the CPU; NCCL when there are at least `world` GPUs. Raises RankFailed naming the rank
    that raised (with its traceback, trimmed to `filename`), hung past `timeout_s`, or died.
    """
    backend = "nccl" if device() == "cuda" and torch.cuda.device_count() >= world else "gloo"
    store = os.path.join(os.getcwd(), f"llmq-store-{os.getpid()}-{time.monotonic_ns()}")
    pids, fds = [], []
    for rank in range(world):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _rank_main(rank, world, store, backend, body, args, timeout_s, filename, w)
        os.close(w)
        pids.append(pid)
        fds.append(r)
    chunks: dict[int, bytearray] = {fd: bytearray() for fd in fds}
    open_fds = set(fds)
    deadline = time.monotonic() + timeout_s
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                hung = [fds.index(fd) for fd in sorted(open_fds)]
                raise RankFailed(
                    f"rank{'s' if len(hung) > 1 else ''} {', '.join(map(str, hung))} did not finish within "
                    f"{timeout_s:g} s: a collective that not every rank calls (or calls in a different "
                    f"order) waits forever"
                )
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                data = os.read(fd, 1 << 20)
                if data:
                    chunks[fd] += data
                else:
                    open_fds.discard(fd)
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for fd in fds:
            os.close(fd)
        try:
            os.unlink(store)
        except OSError:
            pass
    results = []
    for rank, fd in enumerate(fds):
        if not chunks[fd]:
            raise RankFailed(f"rank {rank} died without a result (killed, or os._exit)")
        reply = pickle.loads(bytes(chunks[fd]))
        if reply[0] == "raised":
            raise RankFailed(f"rank {rank} raised {reply[1]}:\n{reply[2]}")
        results.append(reply[1])
    return results


# --- timing on CUDA ----------------------------------------------------------------------------


def load_kernels_module(answer_file: str, name: str) -> ModuleType:
    """kernels/<name>.py of the bank the answer module at `answer_file` belongs to, loaded by path."""
    path = Path(answer_file).resolve().parents[2] / "kernels" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_llmq_kernels_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timing_driver(timing: ModuleType, eager: Callable[..., Any], make_inputs: Callable[..., tuple],
                  bytes_moved: Callable[..., int]) -> Callable[..., Any]:
    """A `@sandboxed` driver timing the solution against `eager` and torch.compile(eager) on CUDA.

    `make_inputs(*shape, device=..., generator=...)` builds fresh inputs; `bytes_moved(*shape)` is
    the least memory traffic of one call, for the bandwidth plausibility check. Returns None
    without CUDA, else the harness's report as a dict.
    """

    @sandboxed
    def time_driver(solution: Callable[..., Any], *shape: int) -> dict[str, Any] | None:
        if device() != "cuda":
            return None
        report = timing.compare(
            {"solution": solution, "torch eager": eager, "torch.compile": timing.compiled(eager)},
            lambda gen: make_inputs(*shape, device="cuda", generator=gen),
            bytes_moved=bytes_moved(*shape),
            budget_s=4.0,
        )
        return report.to_dict()

    return time_driver


def note_timing(ctx: Any, *shape: int) -> None:
    """Harness side of the timing check: a note with the speed-ups, or that nothing was timed."""
    report = ctx.run("time_driver", *shape)
    if report is None:
        ctx.note(f"{CPU_NOTE}; the Triton kernel ran under TRITON_INTERPRET=1 (Triton's CPU interpreter)")
        return
    ctx.note(report["summary"])
