"""Sandbox side of the distributed exercises: fork the ranks of one torch.distributed group.

gloo on the CPU, NCCL when every rank can have a GPU; a rank that raises, hangs or dies is reported
by rank, with its traceback trimmed to the user's file. `ranks_note` says in the verdict where the
ranks ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from llmq.judge.device import CPU_NOTE
from llmq.judge.gpukit.placement import _to, device


class RankFailed(Exception):
    """A rank raised, hung, or died. The message says which and how."""


RankFailed.__module__ = "builtins"  # reports read "RankFailed: rank 1 raised ...", not a module path


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


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
        ctx.note(
            f"the {world} ranks ran on the CPU with gloo: NCCL needs a GPU per rank and this machine has fewer (correctness only)"
        )
    else:
        ctx.note(f"{CPU_NOTE}; the {world} ranks ran on the CPU with the gloo backend")


def _rank_main(
    rank: int,
    world: int,
    store: str,
    backend: str,
    body: Callable[..., Any],
    args: tuple[Any, ...],
    timeout_s: float,
    filename: str,
    fd: int,
) -> None:
    """One rank: join the group, run `body(rank, world, *args)`, send what it returned; never returns."""
    code = 0
    try:
        _die_with_parent()
        import torch.distributed as dist

        global _RANK_DEVICE
        if backend == "nccl":
            torch.cuda.set_device(rank)
            _RANK_DEVICE = f"cuda:{rank}"
        dist.init_process_group(
            backend, init_method=f"file://{store}", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=timeout_s)
        )
        try:
            reply: tuple[Any, ...] = ("ok", _to(body(rank, world, *args), "cpu"))  # CPU tensors only cross back
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
        view = view[os.write(fd, view[: 1 << 20]) :]
    os._exit(code)


# What gloo and NCCL say when the peer is gone or never came: a collective only some ranks call.
_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Timed out", "timed out", "NCCL")


def run_ranks(body: Callable[..., Any], *args: Any, world: int = 2, timeout_s: float = 8.0, filename: str = "") -> list[Any]:
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
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(store)
    results = []
    for rank, fd in enumerate(fds):
        if not chunks[fd]:
            raise RankFailed(f"rank {rank} died without a result (killed, or os._exit)")
        reply = pickle.loads(bytes(chunks[fd]))
        if reply[0] == "raised":
            hint = ""
            if any(word in reply[2] for word in _PEER_GONE):
                hint = (
                    "\n(the other rank left the group while this one waited in a collective: every rank "
                    "must make the same collective calls, in the same order)"
                )
            raise RankFailed(f"rank {rank} raised {reply[1]}:\n{reply[2]}{hint}")
        results.append(reply[1])
    return results
