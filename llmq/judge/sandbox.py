"""The sandbox: the process the submission runs in, started by the worker before any answer module.

The worker starts it first, from its clean template (torch and hypothesis imported, no answer
module ever loaded), inside the jail (jail.py: namespaces, supervisor; or, where the system
cannot isolate, a plain fork with limits only). It holds three descriptors: requests in, replies
out, and the submission's stdout/stderr. The harness, forked after it, sends a "prepare" message
first: the forbidden names, the limits, and the @sandboxed drivers as source text (never the
module that holds the reference). The sandbox runs the drivers' code, blocks the forbidden calls,
locks itself (jail.lock: rlimits, and where there is a jail, capabilities and seccomp), refuses
imports of llmq and the answers, and says "ready"; only then does it load the submission and run
the calls the harness sends. The verdict is written by the harness, on a descriptor this process
never has.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import linecache
import os
import resource
import select
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

import torch

from llmq.judge import compare, forbidden_block, warmup, wire
from llmq.judge import forbidden as forbidden_mod
from llmq.judge import sandbox_device as device_mod

BLOCKED_PREFIXES = ("llmq", "answers", "_llmq_answer_")
MEMORY_MARGIN_BYTES = 64 * 1024**2  # one process: the memory limit less this; all together: plus this
SOLUTION_MODULE = "solution"


class _BlockImports(importlib.abc.MetaPathFinder):
    """Refuses imports of llmq and of the answer key: a solution must not read the reference."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0].startswith(BLOCKED_PREFIXES):
            raise ImportError(
                f"a solution may not import {fullname!r}: the judge's code and the answer key are "
                "out of reach; write the function yourself"
            )
        return


def trimmed_traceback(exc: BaseException, filename: str) -> str:
    """The exception with only the frames of the user's file (llmq and torch internals left out)."""
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = ["Traceback (most recent call last):"] if frames else []
    lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    return "\n".join(lines)


class Sandbox:
    """The loop run in the sandbox process; see `serve`."""

    def __init__(self, req_fd: int, resp_fd: int, lock: Callable[[int, int, int], None]) -> None:
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.lock = lock  # jail.lock, or the limits-only fallback
        self.ready = False
        self.drivers: dict[str, Callable[..., Any]] = {}
        self.forbidden_seen: list[str] = []
        self.solution: Callable[..., Any] | None = None
        self.filename = "solution.py"

    def reply(self, message: tuple[Any, ...]) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        wire.send(self.resp_fd, message)

    def loop(self) -> None:
        while True:
            try:
                message = wire.recv_blocking(self.req_fd)
            except EOFError:
                os._exit(0)
            op = message[0]
            if op == "prepare" and not self.ready:
                self.reply(self.prepare(message[1]))
            elif op == "load" and self.ready:
                self.reply(self.load(*message[1:]))
            elif op == "call" and self.ready:
                self.reply(self.call(*message[1:]))
            else:
                os._exit(0)

    def prepare(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        """Define the drivers, block forbidden calls, lock the process; then nothing of llmq is
        importable and the submission may be loaded."""
        try:
            self.drivers = _run_bundle(settings["bundle"], settings["bundle_file"], settings["drivers"], settings["files"])
        except BaseException as exc:
            return ("bank", f"the answer module's @sandboxed drivers do not run on their own: {type(exc).__name__}: {exc}")
        forbidden_block.patch(tuple(settings["forbidden"]), self.forbidden_seen)
        memory = settings["memory_bytes"]
        # One process may map a little less than the whole submission may hold, so that one process
        # growing alone meets its own limit first: a MemoryError with the line that allocated,
        # rather than the supervisor's stop (they would otherwise race at the same size).
        self.lock(memory + MEMORY_MARGIN_BYTES if memory >= 0 else memory, settings["cpu_s"], settings["file_bytes"])
        if memory >= 0:
            room = _mapped_bytes() + memory - MEMORY_MARGIN_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (room, room))  # lowering is always allowed
        for name in _blocked_modules():
            del sys.modules[name]
        sys.meta_path.insert(0, _BlockImports())
        self.ready = True
        return ("ready",)

    def _raised(self, exc: BaseException) -> tuple[Any, ...]:
        """The reply for an exception the submission let out."""
        if isinstance(exc, SystemExit):
            return ("exit", repr(exc.code))
        if isinstance(exc, forbidden_mod.ForbiddenCall) or self.forbidden_seen:
            name = exc.name if isinstance(exc, forbidden_mod.ForbiddenCall) else self.forbidden_seen[0]
            return ("forbidden", name)
        try:
            text = trimmed_traceback(exc, self.filename)
        except MemoryError:
            text = f"{type(exc).__name__} (no traceback: out of memory)"
        if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
            text += "\n(the sandbox lets a solution allocate about 2 GiB)"
        return ("raised", type(exc).__name__, text)

    def load(self, source: str, filename: str, function: str) -> tuple[Any, ...]:
        self.filename = filename
        module = types.ModuleType(SOLUTION_MODULE)
        module.__file__ = filename
        sys.modules[SOLUTION_MODULE] = module
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), module.__dict__)
        except BaseException as exc:
            return self._raised(exc)
        fn = module.__dict__.get(function)
        if not callable(fn):
            defined = sorted(k for k, v in module.__dict__.items() if isinstance(v, types.FunctionType))
            return ("missing", defined)
        self.solution = fn
        return ("loaded",)

    def call(self, target: str | None, args_enc: Any, kwargs_enc: Any, names: list[str]) -> tuple[Any, ...]:
        args = wire.decode(args_enc, trusted=True)
        kwargs = wire.decode(kwargs_enc, trusted=True)
        self.forbidden_seen.clear()
        # issue 12 point 3: a plain call must also leave requires_grad, .grad and storage alone
        states = _arg_states(args, kwargs, names) if target is None else {}
        try:
            # misc: self.solution is None until "load"; a call before it fails as the submission's error
            result = (
                self.solution(*args, **kwargs)  # type: ignore[misc]
                if target is None
                else self.drivers[target](self.solution, *args, **kwargs)
            )
        except BaseException as exc:
            reply = self._raised(exc)
            del exc
            gc.collect()  # the traceback held the submission's frames (and their memory)
            return reply
        if self.forbidden_seen:  # it caught the ForbiddenCall and went on
            return ("forbidden", self.forbidden_seen[0])
        aliased = _aliased(result, args, kwargs, names)
        try:
            encoded = wire.encode(result, trusted=False)
            after = (wire.encode(list(args), trusted=False), wire.encode(kwargs, trusted=False))
        except MemoryError:
            return ("raised", "MemoryError", "MemoryError: the result is too large to send back")
        effects = [
            (name, how)
            for name, a in _named_tensors(args, kwargs, names)
            if name in states and (how := compare.state_change(states[name], compare.arg_state(a)))
        ]
        return ("ok", encoded, after, aliased, effects)


def _named_tensors(args: Any, kwargs: dict[str, Any], names: list[str]) -> list[tuple[str, torch.Tensor]]:
    named = [(names[i] if i < len(names) else f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    return [(name, a) for name, a in named if isinstance(a, torch.Tensor)]


def _arg_states(args: Any, kwargs: dict[str, Any], names: list[str]) -> dict[str, compare.ArgState]:
    return {name: compare.arg_state(a) for name, a in _named_tensors(args, kwargs, names)}


def _aliased(result: Any, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]) -> list[str]:
    """Names of tensor arguments whose memory a returned tensor shares."""
    outs = (
        [result]
        if isinstance(result, torch.Tensor)
        else [r for r in result if isinstance(r, torch.Tensor)]
        if isinstance(result, (tuple, list))
        else []
    )
    if not outs:
        return []
    named = [(names[i] if i < len(names) else f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    found = []
    for name, arg in named:
        if isinstance(arg, torch.Tensor) and arg.numel():
            ptr = arg.untyped_storage().data_ptr()
            if any(o.numel() and o.untyped_storage().data_ptr() == ptr for o in outs):
                found.append(name)
    return found


_DRIVERS_MODULE = "_sandbox_drivers"


def _mapped_bytes() -> int:
    """Virtual memory this process maps now (VmSize), as jail.lock measures it."""
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _blocked_modules() -> list[str]:
    """The loaded modules a solution may not reach (llmq's own)."""
    return [m for m in sys.modules if m.split(".")[0].startswith(BLOCKED_PREFIXES)]


def _run_bundle(source: str, filename: str, names: list[str], files: dict[str, str]) -> dict[str, Callable[..., Any]]:
    """Execute the driver bundle (answer.driver_bundle) and return its drivers by name."""
    if not names:
        return {}
    from llmq.judge.gpukit import cuda_timing  # imported before llmq is blocked; drivers use it

    cuda_timing.ship(files)
    module = types.ModuleType(_DRIVERS_MODULE)
    module.__file__ = filename
    sys.modules[_DRIVERS_MODULE] = module  # dataclasses look their module up while it runs
    exec(compile(source, filename, "exec"), module.__dict__)
    drivers = {}
    for name in names:
        fn = module.__dict__.get(name)
        if not callable(fn):
            raise NameError(f"the bundle defines no driver {name!r}")
        drivers[name] = fn
    return drivers


def _asked(req_fd: int) -> bool:
    """Whether the harness has written to the sandbox yet."""
    return bool(select.select([req_fd], [], [], 0)[0])


def serve(req_fd: int, resp_fd: int, out_fd: int, lock: Callable[[int, int, int], None]) -> None:
    """The body of the jail (jail.start): runs in the sandbox's own folder with a clean
    environment and only these descriptors; never returns. `lock` is jail.lock."""
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        os.close(devnull)
        device_mod.prepare_sandbox()  # TRITON_INTERPRET=1 without CUDA (GPU track)
        # gloo picks the interface of the hostname; in the sandbox the loopback is what there is.
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        torch.set_num_threads(1)
        sandbox = Sandbox(req_fd, resp_fd, lock)
        # Nothing asked yet (a spare): pay first-use costs now rather than during the check. The
        # common operators and the channel's encoding (warmup.tensors: its own inputs and its own
        # generator, nothing of any answer) copy the pages of the worker's they write, ~4 ms of
        # sandbox CPU off each check; the walk over sys.modules that prepare() makes writes to
        # some 700 more pages (~3 ms). The memory budget counts from what this process holds at
        # lock(), so none of this is charged to the submission.
        if not _asked(req_fd):
            warmup.tensors()
        if not _asked(req_fd):
            _blocked_modules()
    except BaseException as exc:  # the sandbox could not be set up: tell the harness, then go
        wire.send(resp_fd, ("setup", f"{type(exc).__name__}: {exc}"))
        os._exit(70)
    sandbox.loop()
    os._exit(0)
