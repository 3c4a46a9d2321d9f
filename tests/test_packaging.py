"""The wheel of this checkout, installed into a fresh virtual environment, gives a working llmq
with the bundled bank, from any directory. Needs no network: the wheel is built with the
development environment's hatchling (no build isolation, no index), and the fresh environment
borrows the development environment's installed dependencies (torch among them) through a path
file instead of downloading them again.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

OFFLINE = ["--no-index", "--disable-pip-version-check", "--quiet"]


def _build_wheel(out: Path) -> Path:
    pytest.importorskip("hatchling", reason="the wheel is built with hatchling from the dev extra (make setup)")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *OFFLINE, "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(REPO)],
        check=True,
        timeout=600,
    )
    (wheel,) = out.glob("llmq-*.whl")
    return wheel


def _fresh_env(env_dir: Path) -> Path:
    """A new virtual environment whose own site-packages comes first and which reads the
    dependencies from this interpreter's site-packages (a plain path, so the .pth files there,
    such as the editable install of this checkout, are not run)."""
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    Path(purelib, "llmq_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return py


def test_the_wheel_installs_offline_and_works_from_any_directory(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    py = _fresh_env(tmp_path / "venv")
    subprocess.run([str(py), "-m", "pip", "install", *OFFLINE, "--no-deps", str(wheel)], check=True, timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "LLMQ_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    result = subprocess.run(
        [str(py.parent / "llmq"), "list", "--json"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert any(r["id"] == "attention.sdpa" for r in rows)

    # The installed copy runs (not this checkout), and the bank ships inside the package, never
    # as top-level `questions` / `answers` packages.
    probe = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.util, llmq, llmq.bank.paths as p; print(llmq.__file__); "
            "print(p.bundled_root()); print(importlib.util.find_spec('answers'), importlib.util.find_spec('questions'))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    package_line, root_line, specs_line = probe.stdout.splitlines()
    installed = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    assert Path(package_line) == installed / "llmq" / "__init__.py"
    assert Path(root_line) == installed / "llmq" / "_bank"
    assert specs_line == "None None"
    # and `python -m llmq` works the same
    module_run = subprocess.run(
        [str(py), "-m", "llmq", "stub", "attention.sdpa"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert module_run.returncode == 0, module_run.stderr
    assert "def scaled_dot_product_attention" in module_run.stdout
