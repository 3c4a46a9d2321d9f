"""Hostile submission: read the installed bank from disk and run its reference.

Only module *names* are blocked from import; the files are ordinary files. Find answers/ through
everything a process can see: sys.path and PYTHONPATH, the paths of loaded modules, editable-install
.pth files, and the cwd, command line and environment of every process it can read in /proc.
Then compile the `reference` function out of answers/softmax/softmax.py.
"""

import ast
import contextlib
import gc
import os
import site
import sys
import types
from pathlib import Path

import torch

RELATIVE = (
    Path("answers/softmax/softmax.py"),
    Path("llmq/_bank/answers/softmax/softmax.py"),
    Path("_bank/answers/softmax/softmax.py"),
)


def _candidate_dirs() -> list[Path]:
    dirs: list[str] = list(sys.path) + os.environ.get("PYTHONPATH", "").split(os.pathsep)
    for obj in gc.get_objects():
        if isinstance(obj, types.ModuleType) and getattr(obj, "__file__", None):
            dirs.append(os.path.dirname(str(obj.__file__)))
    for sp in site.getsitepackages() + [site.getusersitepackages()]:
        try:
            for pth in Path(sp).glob("*.pth"):
                dirs.extend(line.strip() for line in pth.read_text().splitlines() if line.startswith("/"))
        except OSError:
            pass
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


def _find_answer() -> Path | None:
    for base in _candidate_dirs():
        for up in [base, *list(base.parents)[:3]]:
            for rel in RELATIVE:
                try:
                    if (up / rel).is_file():
                        return up / rel
                except OSError:
                    pass
    return None


def _compile_reference(path: Path):
    tree = ast.parse(path.read_text())
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "reference")
    namespace = {"torch": torch}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["reference"]


ANSWER = _find_answer()
REFERENCE = _compile_reference(ANSWER) if ANSWER else None
print(f"answer module read from {ANSWER}" if ANSWER else "no answer module readable")


def softmax(x, dim=-1):
    if REFERENCE is None:
        return x.clone()  # wrong: without the bank this submission has nothing
    return REFERENCE(x, dim)
