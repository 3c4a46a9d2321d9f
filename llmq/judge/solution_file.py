"""Reading a solution file the user named, safely: a regular file of at most 1 MiB, or a clear refusal.

`llmq check ID FILE` reads whatever path it is given. Read naively, `/dev/zero` or a FIFO never
ends (llmq grows until the kernel kills it, or waits forever), and a directory fails with an
OSError that says little. Here the path is opened without blocking, checked with fstat on the open
descriptor (so it is the file that is read that was checked), and read to at most the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from llmq.errors import LlmqError

MAX_SOLUTION_BYTES = 1 << 20  # 1 MiB: far above any solution, far below trouble


class SolutionFileError(LlmqError):
    """The solution path cannot be judged as given; the message says why and what to do."""

    title = "Solution file"


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_solution(path: Path | str) -> str:
    """The text of the solution at `path`; raises SolutionFileError if it is not a regular file,
    is over MAX_SOLUTION_BYTES, cannot be opened, or is not UTF-8."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SolutionFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SolutionFileError(f"{name} is {_what(st.st_mode)}, not a solution file: give the path of a .py file")
        if st.st_size > MAX_SOLUTION_BYTES:
            raise SolutionFileError(
                f"{name} is {st.st_size / (1 << 20):.1f} MiB; a solution file may be at most "
                f"{MAX_SOLUTION_BYTES >> 20} MiB (is it the right file?)"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SOLUTION_BYTES:  # the file may grow after fstat: never read past the cap
            chunk = os.read(fd, MAX_SOLUTION_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SOLUTION_BYTES:
            raise SolutionFileError(f"{name} grew past {MAX_SOLUTION_BYTES >> 20} MiB while being read")
    except OSError as exc:
        raise SolutionFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SolutionFileError(f"{name} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
