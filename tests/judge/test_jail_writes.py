"""Where a check writes (CONTRACTS.md: with LLMQ_HOME set, nothing is ever written elsewhere).

`llmq check` runs as a user runs it, with LLMQ_HOME, HOME, TMPDIR and the working directory each a
private folder of this test; after the verdict, every folder but LLMQ_HOME must hold exactly what it
held before (hypothesis, which the judge runs, would otherwise leave its caches in TMPDIR or in the
working directory). At both isolation levels: the fallback makes the submission's folder on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORRECT = """import torch


def softmax(x, dim=-1):
    x64 = x.double()
    e = (x64 - x64.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
"""


def listing(folder: Path) -> dict[str, int]:
    """Every path under `folder` (relative) with its size; folders as -1."""
    found = {}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = -1 if path.is_dir() else path.stat().st_size
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="the judge's sandbox levels are Linux's")
@pytest.mark.parametrize("level", ["default", "limits-only"])
def test_a_check_writes_nothing_outside_llmq_home(level: str, tmp_path: Path) -> None:
    folders = {name: tmp_path / name for name in ("llmq_home", "home", "tmpdir", "cwd")}
    for folder in folders.values():
        folder.mkdir()
    (folders["home"] / "notes.txt").write_text("the user's own file\n")
    solution = folders["cwd"] / "solution.py"
    solution.write_text(CORRECT)
    env = {
        **os.environ,
        "LLMQ_HOME": str(folders["llmq_home"]),
        "HOME": str(folders["home"]),
        "TMPDIR": str(folders["tmpdir"]),
        "PYTHONPATH": str(REPO),
    }
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    if level == "limits-only":
        env["LLMQ_SANDBOX"] = "limits-only"
    before = {name: listing(folder) for name, folder in folders.items() if name != "llmq_home"}

    proc = subprocess.run(
        [sys.executable, "-m", "llmq", "check", "softmax.softmax", str(solution), "--json", "--seed", "3"],
        cwd=folders["cwd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    verdict = json.loads(proc.stdout)
    assert verdict["status"] == "pass", proc.stdout[:1500] + proc.stderr[-1500:]
    if level == "limits-only":
        assert verdict["isolation"] == "limits-only"
    after = {name: listing(folder) for name, folder in folders.items() if name != "llmq_home"}
    for name in before:
        assert after[name] == before[name], f"the check wrote into {name}: {sorted(set(after[name]) ^ set(before[name]))}"
