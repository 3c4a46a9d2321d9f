"""Hostile submission: a forged reply frame that announces 255 MiB and sends 250 MiB of it.

The reply channel is the descriptor the submission's process can write to that is not its stdout
or stderr: a pipe or socket open for writing. Write a frame header (8-byte length, little-endian)
and then the bytes, and wait, so the judge holds whatever it buffered. The process takes the
marker as its name, so the test can tell its memory from the judge's.
"""

import ctypes
import fcntl
import os
import struct
import time

MARKER = "__MARKER__"
ANNOUNCED = 255 * 2**20
SENT = 250 * 2**20

ctypes.CDLL(None).prctl(15, MARKER.encode(), 0, 0, 0)  # PR_SET_NAME


def _reply_channels() -> list[int]:
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < 3:
            continue
        try:
            kind = os.readlink(f"/proc/self/fd/{fd}")
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            continue
        if (kind.startswith("pipe:") and mode == os.O_WRONLY) or (kind.startswith("socket:") and mode == os.O_RDWR):
            found.append(fd)
    return found


def softmax(x, dim=-1):
    chunk = b"\x00" * 2**20
    for fd in _reply_channels():
        try:
            os.write(fd, struct.pack("<Q", ANNOUNCED))
            for _ in range(SENT // len(chunk)):
                os.write(fd, chunk)
        except OSError:
            pass
    time.sleep(3)  # keep the judge holding what it read
    return x.clone()
