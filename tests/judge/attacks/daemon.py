"""Hostile submission: a double-forked daemon that outlives the verdict.

The grandchild leaves the session and process group, takes the marker as its process name, and
writes a heartbeat every 100 ms into HEARTBEAT (a path the test names) and into its folder, for
at most 30 s (so a run that is not stopped cleans up after itself on a shared machine).
"""

import contextlib
import ctypes
import os
import time

MARKER = "__MARKER__"
HEARTBEAT = "__OUTSIDE__"


def _daemon() -> None:
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        with contextlib.suppress(OSError):
            os.setsid()  # out of the sandbox's session and process group
        if os.fork():
            os._exit(0)
        ctypes.CDLL(None).prctl(15, MARKER.encode(), 0, 0, 0)  # PR_SET_NAME
        beats = 0
        end = time.monotonic() + 30
        while time.monotonic() < end:
            beats += 1
            for path in (HEARTBEAT, "heartbeat"):
                try:
                    with open(path, "w") as f:
                        f.write(f"{beats}\n")
                except OSError:
                    pass
            time.sleep(0.1)
    finally:
        os._exit(0)  # never back into the sandbox's code


_daemon()
print("daemon started")


def softmax(x, dim=-1):
    return x.clone()
