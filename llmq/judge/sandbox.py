"""The sandbox: the process the submission runs in, forked by the harness before any torch compute.

It owns nothing worth protecting: it gets resource limits, a temporary working directory, stdout
and stderr on a pipe the harness drains and caps, no way to import llmq or the answer modules,
and forbidden calls that raise. It loads the submission and runs the calls the harness sends,
answering with results and the arguments as they were after each call. The verdict is written by
the harness, on a descriptor this process never has.
"""
from __future__ import annotations

import gc
import importlib.abc
import linecache
import os
import sys
import traceback
import types
from typing import Any, Callable

import torch

from llmq.judge import device as device_mod
from llmq.judge import forbidden as forbidden_mod
from llmq.judge import limits as limits_mod
from llmq.judge import wire

BLOCKED_PREFIXES = ("llmq", "answers", "_llmq_answer_")
SOLUTION_MODULE = "solution"


class _BlockImports(importlib.abc.MetaPathFinder):
    """Refuses imports of llmq and of the answer key: a solution must not read the reference."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0].startswith(BLOCKED_PREFIXES):
            raise ImportError(
                f"a solution may not import {fullname!r}: the judge's code and the answer key are "
                "out of reach; write the function yourself"
            )
        return None


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

    def __init__(self, req_fd: int, resp_fd: int, drivers: dict[str, Callable[..., Any]]) -> None:
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.drivers = drivers
        self.forbidden_seen: list[str] = []
        self.solution: Callable[..., Any] | None = None
        self.filename = "solution.py"

    def reply(self, message: tuple) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        wire.send(self.resp_fd, message)

    def loop(self) -> None:
        while True:
            try:
                message = wire.recv_blocking(self.req_fd)
            except EOFError:
                os._exit(0)
            op = message[0]
            if op == "load":
                self.reply(self.load(*message[1:]))
            elif op == "call":
                self.reply(self.call(*message[1:]))
            else:
                os._exit(0)

    def _raised(self, exc: BaseException) -> tuple:
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

    def load(self, source: str, filename: str, function: str) -> tuple:
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

    def call(self, target: str | None, args_enc: Any, kwargs_enc: Any, names: list[str]) -> tuple:
        args = wire.decode(args_enc, trusted=True)
        kwargs = wire.decode(kwargs_enc, trusted=True)
        self.forbidden_seen.clear()
        try:
            if target is None:
                result = self.solution(*args, **kwargs)  # type: ignore[misc]
            else:
                result = self.drivers[target](self.solution, *args, **kwargs)
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
        return ("ok", encoded, after, aliased)


def _aliased(result: Any, args: tuple, kwargs: dict, names: list[str]) -> list[str]:
    """Names of tensor arguments whose memory a returned tensor shares."""
    outs = [result] if isinstance(result, torch.Tensor) else [r for r in result if isinstance(r, torch.Tensor)] if isinstance(result, (tuple, list)) else []
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


def serve(
    req_fd: int,
    resp_fd: int,
    out_fd: int,
    workdir: str,
    limits: limits_mod.Limits,
    forbidden: tuple[str, ...],
    drivers: dict[str, Callable[..., Any]],
) -> None:
    """Entry point in the freshly forked sandbox process; never returns."""
    try:
        limits_mod.die_with_parent()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        limits_mod.close_fds_except({req_fd, resp_fd})
        os.chdir(workdir)
        os.environ.update({"HOME": workdir, "TMPDIR": workdir})
        device_mod.prepare_sandbox()  # TRITON_INTERPRET=1 without CUDA (GPU track)
        torch.set_num_threads(1)
        sandbox = Sandbox(req_fd, resp_fd, drivers)
        forbidden_mod.patch(forbidden, sandbox.forbidden_seen)
        for name in [m for m in sys.modules if m.split(".")[0].startswith(BLOCKED_PREFIXES)]:
            del sys.modules[name]
        sys.meta_path.insert(0, _BlockImports())
        limits_mod.apply(limits)
    except BaseException as exc:  # the sandbox could not be set up: tell the harness, then go
        wire.send(resp_fd, ("setup", f"{type(exc).__name__}: {exc}"))
        os._exit(70)
    sandbox.loop()
    os._exit(0)
