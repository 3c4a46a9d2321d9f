"""Hostile submission: 200 forked processes, each in its own session, that outlive the verdict.

Each takes the marker as its process name and sleeps (at most 30 s, so a run that is not
stopped cleans up after itself on a shared machine).
"""

import contextlib
import ctypes
import os
import time

MARKER = "__MARKER__"

forked = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            with contextlib.suppress(OSError):
                os.setsid()  # out of the sandbox's process group, where a group kill would find it
            ctypes.CDLL(None).prctl(15, MARKER.encode(), 0, 0, 0)  # PR_SET_NAME
            time.sleep(30)
        finally:
            os._exit(0)  # never back into the sandbox's code
    forked += 1
print(f"forked {forked} processes")


def softmax(x, dim=-1):
    return x.clone()
