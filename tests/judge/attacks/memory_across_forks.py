"""Hostile submission: four forks that each touch 1.5 GiB at the same time (6 GiB in all).

A per-process address-space limit lets each fork have its own 2 GiB. The submission is correct
only if all four held their memory at once; otherwise it raises MemoryError saying so.
Each fork takes the marker as its process name, so the test can add up their memory.
"""

import ctypes
import mmap
import os
import time

MARKER = "__MARKER__"
EACH = 3 * 2**29  # 1.5 GiB
FORKS = 4


def _hold_all() -> int:
    ready_r, ready_w = os.pipe()
    release_r, release_w = os.pipe()
    children = []
    for _ in range(FORKS):
        pid = os.fork()
        if pid == 0:
            try:
                os.close(release_w)
                ctypes.CDLL(None).prctl(15, MARKER.encode(), 0, 0, 0)  # PR_SET_NAME
                try:
                    block = mmap.mmap(-1, EACH)
                    if hasattr(mmap, "MADV_HUGEPAGE"):
                        block.madvise(mmap.MADV_HUGEPAGE)  # fewer page faults: the 6 GiB fit in the time limit
                    for offset in range(0, EACH, 4096):
                        block[offset] = 1  # every page written: real memory, not a reservation
                    os.write(ready_w, b"1")
                except BaseException:
                    os.write(ready_w, b"0")
                    raise
                os.read(release_r, 1)  # hold until the parent has counted (end of file when it lets go)
            finally:
                os._exit(0)  # never back into the sandbox's code
        children.append(pid)
    os.close(ready_w)
    os.close(release_r)
    held = 0
    deadline = time.monotonic() + 20
    answers = b""
    while len(answers) < FORKS and time.monotonic() < deadline:
        chunk = os.read(ready_r, FORKS)
        if not chunk:
            break  # every fork died
        answers += chunk
    held = answers.count(b"1")
    os.close(release_w)
    for pid in children:
        os.waitpid(pid, 0)
    return held


HELD = _hold_all()
print(f"{HELD} of {FORKS} forks held 1.5 GiB at the same time")
if HELD < FORKS:
    raise MemoryError(f"only {HELD} of {FORKS} forks could hold 1.5 GiB of memory at once")


def softmax(x, dim=-1):
    x64 = x.double()
    e = (x64 - x64.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
