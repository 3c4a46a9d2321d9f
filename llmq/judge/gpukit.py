"""Helpers for the GPU track's answer modules: count Triton launches, fork gloo/NCCL ranks, time on CUDA.

Answer modules import this at load time, in the harness, before the sandbox is forked; the
`@sandboxed` drivers built from it then run inside the sandbox next to the solution (where
`import llmq` is refused, so nothing here imports llmq lazily). Two halves:

- sandbox side: the driver from `kernel_driver` runs a solution on the device while counting the
  Triton kernels it launches, with every input and allocation inside NaN-guarded buffers (a load
  or store past the end shows); `run_ranks` forks the ranks of a `torch.distributed` group (gloo
  on the CPU, NCCL when there is a GPU per rank) and brings back what each rank returned; the
  driver from `timing_driver` times a solution on CUDA against torch eager with kernels/timing.py.
- harness side: `call_kernel(ctx, ...)` turns what the launch driver saw into clear failures;
  `note_timing(ctx)` and `ranks_note(ctx)` put the speed-up, or where things ran and that only
  correctness was checked, in the verdict's notes.
"""
from __future__ import annotations

import ctypes
import datetime
import importlib.util
import inspect
import os
import pickle
import select
import signal
import sys
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
    "kernel_driver",
    "half_dtypes",
    "call_kernel",
    "run_ranks",
    "RankFailed",
    "rank_device",
    "backend_for",
    "ranks_note",
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


def _first_config_only() -> list[tuple[type, Any]]:
    """Under Triton's interpreter, @triton.autotune cannot benchmark (there is no GPU driver to time
    with): make it keep the first config, as it does when only one config is left after pruning."""
    try:
        from triton.runtime.autotuner import Autotuner
    except ImportError:
        return []
    original = Autotuner.__dict__["prune_configs"]

    def prune_configs(self: Any, kwargs: dict, _original: Any = original) -> list:
        return _original(self, kwargs)[:1]

    Autotuner.prune_configs = prune_configs  # type: ignore[method-assign]
    return [(Autotuner, original)]


def _to(value: Any, dev: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dev)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, dev) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, dev) for k, v in value.items()}
    return value


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
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if not torch.equal(a.cpu().nan_to_num(), b.nan_to_num()) or not torch.equal(a.cpu().isnan(), b.isnan()):
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
        "overrun": guards.overrun(),
        "device": dev,
    }


def kernel_driver(like: Callable[..., Any]) -> Callable[..., Any]:
    """The `@sandboxed` driver `call_kernel` runs (bind it as `launch_driver` in the answer module):
    runs the solution on the device, counting Triton launches, with guarded inputs and allocations.
    It takes the parameters of `like` (the reference), so failure messages name the inputs."""

    def launch_driver(solution: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _launch(solution, *args, **kwargs)

    params = [inspect.Parameter("solution", inspect.Parameter.POSITIONAL_ONLY)]
    launch_driver.__signature__ = inspect.signature(like).replace(  # type: ignore[attr-defined]
        parameters=params + list(inspect.signature(like).parameters.values())
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
        ctx.fail(f"launched only kernels defined outside your file ({', '.join(seen['kernels'])}); write your own @triton.jit kernel")
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


# --- distributed ranks (sandbox side) ----------------------------------------------------------


class RankFailed(Exception):
    """A rank raised, hung, or died. The message says which and how."""


RankFailed.__module__ = "builtins"  # reports read "RankFailed: rank 1 raised ...", not a module path


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


_RANK_DEVICE = "cpu"  # set in each forked rank: where its tensors belong (rank_device())


def rank_device() -> str:
    """Inside a rank body: "cuda:<rank>" under NCCL, "cpu" under gloo. Put the model and data there."""
    return _RANK_DEVICE


def backend_for(world: int) -> str:
    """NCCL when every rank can have a GPU of its own, else gloo on the CPU (NCCL refuses two ranks
    on one GPU). Asked without initialising CUDA."""
    return "nccl" if device() == "cuda" and torch.cuda.device_count() >= world else "gloo"


def ranks_note(ctx: Any, world: int = 2) -> None:
    """The verdict note of a distributed exercise: where its ranks ran, and that nothing was timed."""
    if backend_for(world) == "nccl":
        ctx.note(f"the {world} ranks ran on {world} GPUs with NCCL (correctness; not timed)")
    elif device() == "cuda":
        ctx.note(f"the {world} ranks ran on the CPU with gloo: NCCL needs a GPU per rank and this machine has fewer (correctness only)")
    else:
        ctx.note(f"{CPU_NOTE}; the {world} ranks ran on the CPU with the gloo backend")


def _rank_main(rank: int, world: int, store: str, backend: str, body: Callable[..., Any], args: tuple,
               timeout_s: float, filename: str, fd: int) -> None:
    """One rank: join the group, run `body(rank, world, *args)`, send what it returned; never returns."""
    code = 0
    try:
        _die_with_parent()
        import torch.distributed as dist

        global _RANK_DEVICE
        if backend == "nccl":
            torch.cuda.set_device(rank)
            _RANK_DEVICE = f"cuda:{rank}"
        dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
        try:
            reply: tuple = ("ok", _to(body(rank, world, *args), "cpu"))  # CPU tensors only cross back
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


# What gloo and NCCL say when the peer is gone or never came: a collective only some ranks call.
_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Timed out", "timed out", "NCCL")


def run_ranks(body: Callable[..., Any], *args: Any, world: int = 2, timeout_s: float = 8.0,
              filename: str = "") -> list[Any]:
    """Fork `world` ranks that each run `body(rank, world, *args)` in one process group; their results.

    gloo on the CPU; NCCL when there are at least `world` GPUs. Raises RankFailed naming the rank
    that raised (with its traceback, trimmed to `filename`), hung past `timeout_s`, or died.
    """
    backend = backend_for(world)
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
            hint = ""
            if any(word in reply[2] for word in _PEER_GONE):
                hint = ("\n(the other rank left the group while this one waited in a collective: every rank "
                        "must make the same collective calls, in the same order)")
            raise RankFailed(f"rank {rank} raised {reply[1]}:\n{reply[2]}{hint}")
        results.append(reply[1])
    return results


# --- timing on CUDA ----------------------------------------------------------------------------


def load_kernels_module(answer_file: str, name: str) -> ModuleType:
    """kernels/<name>.py of the bank the answer module at `answer_file` belongs to, loaded by path."""
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
    process, which would eat the check's time limit and turn a correct solution into a timeout."""
    timing = load_kernels_module(answer_file, "timing")
    eager, make_inputs, bytes_moved, _, shapes = load_kernels_module(answer_file, "baselines").SPECS[exercise]

    @sandboxed
    def time_driver(solution: Callable[..., Any]) -> dict[str, Any] | None:
        if device() != "cuda":
            return None
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
