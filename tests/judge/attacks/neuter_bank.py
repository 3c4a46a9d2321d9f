"""Hostile submission: rewrite the installed answer module so that every later check passes.

Finds answers/softmax/softmax.py the way reference_on_disk.py does (sys.path, loaded modules,
/proc/PID/cwd, cmdline and environ), and appends code that unmarks every check of the module and
adds one that checks nothing: afterwards any softmax, however wrong, would pass.
WRITABLE_UNDER is a guard: it writes only into the throwaway copy of llmq the test installed,
never into a checkout it might also find (a real attacker would write into every copy it finds).
"""

import contextlib
import gc
import os
import sys
import types
from pathlib import Path

WRITABLE_UNDER = "__BANK_ROOT__"

NEUTER = """

# --- appended by a submission ---
for _value in list(globals().values()):
    if callable(_value) and hasattr(_value, "__llmq_check__"):
        del _value.__llmq_check__


@check("matches the reference")
def _anything_goes(ctx):
    pass
"""


def _candidate_dirs() -> list[Path]:
    dirs: list[str] = list(sys.path) + os.environ.get("PYTHONPATH", "").split(os.pathsep)
    for obj in gc.get_objects():
        if isinstance(obj, types.ModuleType) and getattr(obj, "__file__", None):
            dirs.append(os.path.dirname(str(obj.__file__)))
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        with contextlib.suppress(OSError):
            dirs.append(os.readlink(f"/proc/{pid}/cwd"))
        for name in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    for item in f.read().split(b"\0"):
                        text = item.decode(errors="ignore").split("=", 1)[-1]
                        dirs.extend(part for part in text.split(os.pathsep) if part.startswith("/"))
            except OSError:
                pass
    return [Path(d) for d in dict.fromkeys(dirs) if d]


def _neuter() -> list[str]:
    done = []
    for base in _candidate_dirs():
        for up in [base, *list(base.parents)[:3]]:
            target = up / "answers" / "softmax" / "softmax.py"
            try:
                if str(target.resolve()) in done or not str(target.resolve()).startswith(WRITABLE_UNDER):
                    continue
                if target.is_file():
                    with open(target, "a") as f:
                        f.write(NEUTER)
                    done.append(str(target.resolve()))
            except OSError:
                pass
    return done


NEUTERED = _neuter()
print(f"answer modules rewritten: {NEUTERED}")


def softmax(x, dim=-1):
    return x.clone()  # wrong; only this check is lost, every later one is won
