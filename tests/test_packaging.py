"""`pip install .` into a fresh virtual environment gives a working llmq with the bundled bank."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

TORCH_SPEC = os.environ.get("LLMQ_TEST_TORCH_SPEC", "torch==2.13.0+cpu")


@pytest.mark.slow
def test_pip_install_gives_a_working_llmq_from_any_directory(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # torch first, pinned to the CPU build, so the install below never resolves CUDA wheels.
    subprocess.run([*pip, TORCH_SPEC], check=True, timeout=900)
    subprocess.run([*pip, str(REPO)], check=True, timeout=900)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "LLMQ_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    result = subprocess.run([str(env_dir / "bin" / "llmq"), "list", "--json"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert any(r["id"] == "attention.sdpa" for r in rows)

    # The bank ships inside the package, never as top-level `questions` / `answers` packages.
    probe = subprocess.run(
        [str(py), "-c", "import importlib.util, llmq.bank.paths as p; "
         "print(p.bundled_root()); print(importlib.util.find_spec('answers'), importlib.util.find_spec('questions'))"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    root_line, specs_line = probe.stdout.splitlines()
    assert root_line.endswith(os.path.join("site-packages", "llmq", "_bank"))
    assert specs_line == "None None"
    # and `python -m llmq` works the same
    module_run = subprocess.run([str(py), "-m", "llmq", "stub", "attention.sdpa"], cwd=elsewhere, env=env,
                                capture_output=True, text=True, timeout=120)
    assert module_run.returncode == 0 and "def scaled_dot_product_attention" in module_run.stdout
    assert sys.prefix != str(env_dir)
