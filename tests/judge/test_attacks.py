"""The attack suite (issue 10): hostile submissions written the way an attacker would write them.

Each submission is a file in tests/judge/attacks/ and is judged as a user's would be: `python -m
llmq check softmax.softmax FILE --json` run from a throwaway copy of llmq and its bank (so an
attack that writes into the bank writes into the copy), with a private LLMQ_HOME that has a
progress database and a bank cache, a private HOME holding a secret, and a private TMPDIR. A few
go through the Judge client instead, where the worker that judged them must go on working.

For every attack: the verdict is not `pass`; the command line (or client) that asked survives and
prints exactly one verdict; nothing is left behind (no process of the submission, no file outside
its folder, nothing in TMPDIR, progress.db and the bank byte-identical); and the next check of a
correct solution is judged normally. Attacks only full isolation can stop (reading HOME, TCP,
writing files, killing the asker, reading the bank from disk) are skipped where a verdict says
`"isolation": "limits-only"`; the others run at both levels (`LLMQ_SANDBOX=limits-only`).

Attacks that reach other processes carry a guard (the marker in the environment of this test's
processes, dropped only where the attack finds itself in a PID namespace with its own /proc)
because this machine is shared; a real attacker would not stop there. Attacks that write into
the bank write only into the throwaway copy. Leftovers of an attack are bounded (30 s at most)
and killed at teardown, so a failing run does not load the machine.

Against f62acaa (before the sandbox was rebuilt) every test here fails, each because its attack
works: that is what they were written to show.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from llmq.judge.client import ExerciseRef, Judge

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the attacks walk Linux's /proc")

REPO = Path(__file__).resolve().parents[2]
ATTACKS = Path(__file__).resolve().parent / "attacks"
EXERCISE = "softmax.softmax"
LEVELS = ["default", "limits-only"]
MIB = 2**20

GOOD = """import torch


def softmax(x, dim=-1):
    x64 = x.double()
    e = (x64 - x64.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
"""
WRONG = "def softmax(x, dim=-1):\n    return x.clone()\n"


# --- processes of a submission ------------------------------------------------------------------


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: [state, ppid, ...]."""
    raw = _read(f"/proc/{pid}/stat").decode(errors="replace")
    return raw.rsplit(")", 1)[1].split() if ")" in raw else []


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def marked_processes(marker: str) -> list[str]:
    """Live processes (zombies aside) named after the marker, or carrying it in their
    environment: after the command line has exited, every one of them is left behind."""
    tag = f"LLMQ_ATTACK_TAG={marker}".encode()
    found = []
    for pid in _pids():
        fields = _stat(pid)
        if not fields or fields[0] in ("Z", "X") or pid == os.getpid():
            continue
        comm = _read(f"/proc/{pid}/comm").decode(errors="replace").strip()
        if comm == marker[:15] or tag in _read(f"/proc/{pid}/environ"):
            cmd = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")[:120]
            found.append(f"pid {pid} ({comm}): {cmd}")
    return found


def pss_bytes(pid: int) -> int:
    """A process's share of the memory it uses: pages shared with others (a forked template's)
    count once across all of them, so a sum over processes is the memory really held."""
    for line in _read(f"/proc/{pid}/smaps_rollup").decode(errors="replace").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return rss_bytes(pid)


def rss_bytes(pid: int) -> int:
    return rss_and_peak(pid)[0]


def rss_and_peak(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM): resident memory now, and the most the process ever had resident (the
    kernel keeps it, so a peak between two samples is seen too)."""
    found = {"VmRSS": 0, "VmHWM": 0}
    for line in _read(f"/proc/{pid}/status").decode(errors="replace").splitlines():
        key = line.split(":", 1)[0]
        if key in found:
            found[key] = int(line.split()[1]) * 1024
    return found["VmRSS"], found["VmHWM"]


def _kill_marked(marker: str) -> None:
    """Teardown: end the processes this test's attack started (found by its marker), by pid."""
    for line in marked_processes(marker):
        pid = int(line.split()[1])
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll `condition` for up to `seconds`; whether it came true (cleanup may take a moment)."""
    end = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.1)


class Sampler:
    """Samples memory while an attack runs: the marked processes' total, and how far any other
    process below `root` grew past its size when first seen (from its resident size in each
    sample, and from its high-water mark once that rises past where it stood when first seen, so
    a peak shorter than the sampling interval counts too)."""

    def __init__(self, marker: str, root: int | None = None) -> None:
        self.marker = marker[:15]
        self.root = root
        self.peak_marked = 0
        self.growth: dict[int, tuple[int, int]] = {}  # pid -> (first rss, peak rss)
        self.first_hwm: dict[int, int] = {}  # pid -> high-water mark when first seen
        self.names: dict[int, str] = {}  # pid -> command line, to say who grew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _below_root(self, parents: dict[int, int]) -> set[int]:
        if self.root is None:
            return set()
        below, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in parents.items():
                if ppid == parent and pid not in below:
                    below.add(pid)
                    frontier.append(pid)
        return below

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            parents, marked_total = {}, 0
            for pid in _pids():
                fields = _stat(pid)
                if not fields:
                    continue
                parents[pid] = int(fields[1])
                if _read(f"/proc/{pid}/comm").decode(errors="replace").strip() == self.marker:
                    marked_total += pss_bytes(pid)
                    parents[pid] = -1  # the submission's memory is its own affair
            self.peak_marked = max(self.peak_marked, marked_total)
            for pid in self._below_root(parents):
                rss, hwm = rss_and_peak(pid)
                if not rss:
                    continue  # gone, or a zombie
                first, peak = self.growth.get(pid, (rss, rss))
                first_hwm = self.first_hwm.setdefault(pid, hwm)
                # A mark that rose after the first sample was the resident size at some moment since.
                self.growth[pid] = (first, max(peak, rss, hwm if hwm > first_hwm else 0))
                if pid not in self.names:
                    self.names[pid] = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")[:100]

    def largest_growth(self) -> int:
        """Bytes by which any of the judge's processes grew past its size when first seen."""
        return max((peak - first for first, peak in self.growth.values()), default=0)

    def who_grew(self) -> str:
        pid = max(self.growth, key=lambda p: self.growth[p][1] - self.growth[p][0], default=0)
        role = "the worker itself" if pid == self.root else "a process the worker started"
        return f"pid {pid}, {role}: {self.names.get(pid, '?')}"


# --- the scene: an installed llmq, a used data folder, a user's home ----------------------------


def _copy_install(target: Path) -> None:
    for name in ("llmq", "answers", "questions", "kernels"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


BankFiles = dict[Path, tuple[bytes, int, int]]  # path -> (content, atime_ns, mtime_ns)


INSTALLED_PARTS = ("answers", "questions", "llmq")  # the bank, and llmq's own code


def _bank_files(root: Path) -> BankFiles:
    """Every file of the installed copy but Python's caches (which llmq writes as it runs)."""
    files = [p for name in INSTALLED_PARTS for p in (root / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += list(root.glob("*.py"))  # sitecustomize.py and the like: imported at every start
    return {p: (p.read_bytes(), p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in files}


def _restore_bank(root: Path, saved: BankFiles) -> None:
    """Undo an attack that got into the installed bank, in place (same inodes, same times), so
    the bank cache of the other tests stays valid."""
    for path in set(_bank_files(root)) - set(saved):
        path.unlink()
    for path, (content, atime, mtime) in saved.items():
        if not path.exists() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            os.utime(path, ns=(atime, mtime))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway copy of llmq and its bank, run as the installed llmq."""
    root = tmp_path_factory.mktemp("installed")
    _copy_install(root)
    yield root


def _hash_tree(paths: list[Path]) -> dict[str, str]:
    digests = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@dataclass
class Scene:
    installed: Path
    home: Path  # LLMQ_HOME
    user_home: Path  # HOME, with a secret in it
    tmpdir: Path  # TMPDIR: where the judge puts the submission's folder
    outside: Path  # a path outside every folder the submission may write
    marker: str
    secret: str
    solutions: Path
    env: dict[str, str] = field(default_factory=dict)

    def source(self, attack: str, **tokens: str) -> str:
        text = (ATTACKS / f"{attack}.py").read_text()
        tokens = {
            "MARKER": self.marker,
            "OUTSIDE": str(self.outside),
            "BANK_ROOT": str(self.installed),
            "HOST_PIDNS": os.readlink("/proc/self/ns/pid"),
            **tokens,
        }
        for key, value in tokens.items():
            text = text.replace(f"__{key}__", value)
        return text

    def llmq(self, *args: str, level: str = "default", timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env}
        if level == "limits-only":
            env["LLMQ_SANDBOX"] = "limits-only"
        return subprocess.run(
            [sys.executable, "-m", "llmq", *args], cwd=self.installed, env=env, capture_output=True, text=True, timeout=timeout
        )

    def check(self, source: str, level: str = "default", name: str = "solution.py") -> subprocess.CompletedProcess[str]:
        path = self.solutions / name
        path.write_text(source)
        return self.llmq("check", EXERCISE, str(path), "--json", "--seed", "1", level=level)

    def left_in_tmpdir(self) -> list[str]:
        """What is in TMPDIR after a check (llmq itself writes nothing there: test_jail_writes)."""
        return sorted(p.name for p in self.tmpdir.iterdir())

    def machine_paths(self) -> list[Path]:
        """Where write_outside.py tries the machine's shared folders (named after the marker)."""
        return [Path("/tmp") / self.marker, Path("/dev/shm") / self.marker]

    def guarded(self) -> dict[str, str]:
        """What must stay byte-identical: the progress database, the installed bank and llmq's code."""
        return _hash_tree(
            [self.home / "progress.db", *(self.installed / part for part in INSTALLED_PARTS), *self.installed.glob("*.py")]
        )


@pytest.fixture(scope="module")
def used_home(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An LLMQ_HOME as after some use of the installed llmq: a progress database, a bank cache."""
    home = tmp_path_factory.mktemp("used_home")
    env = {**os.environ, "LLMQ_HOME": str(home), "PYTHONPATH": str(installed)}
    for args in (["stats", "--json"], ["list", "--json"]):
        subprocess.run(
            [sys.executable, "-m", "llmq", *args], cwd=installed, env=env, capture_output=True, check=True, timeout=120
        )
    assert (home / "progress.db").is_file()
    return home


@pytest.fixture
def scene(installed: Path, used_home: Path, _private_home: Path, tmp_path: Path) -> Iterator[Scene]:
    shutil.rmtree(_private_home)
    shutil.copytree(used_home, _private_home)
    user_home, tmpdir, solutions = tmp_path / "user_home", tmp_path / "tmpdir", tmp_path / "solutions"
    for folder in (user_home, tmpdir, solutions):
        folder.mkdir()
    secret = f"secret-{secrets.token_hex(8)}"
    (user_home / "api_token.txt").write_text(secret + "\n")
    marker = f"llmqatk{secrets.token_hex(4)}"  # 15 characters: a whole process name
    s = Scene(
        installed, _private_home, user_home, tmpdir, tmp_path / "outside" / "written-by-a-submission", marker, secret, solutions
    )
    s.outside.parent.mkdir()
    s.env = {
        "LLMQ_HOME": str(_private_home),
        "HOME": str(user_home),
        "TMPDIR": str(tmpdir),
        "PYTHONPATH": str(installed),
        "LLMQ_ATTACK_TAG": marker,
        "API_TOKEN": secret,  # a credential in the environment of the program that asks
    }
    saved = _bank_files(installed)
    yield s
    _kill_marked(marker)
    _restore_bank(installed, saved)
    for left in s.machine_paths():
        left.unlink(missing_ok=True)


# --- what every attack must leave true ----------------------------------------------------------


def one_verdict(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The command line survived and printed exactly one JSON verdict (a tool reads it whole)."""
    assert proc.returncode in (0, 1), f"the command line did not survive: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    try:
        verdict = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON verdict (something else wrote into it):\n{proc.stdout[:1500]}")
    assert isinstance(verdict, dict) and "status" in verdict, proc.stdout[:500]
    return verdict


def text_of(verdict: dict[str, Any]) -> str:
    return "\n".join([verdict.get("summary", "")] + [c.get("message", "") for c in verdict.get("checks", [])])


def require_full(verdict: dict[str, Any], why: str) -> None:
    """Skip where the verdict says only the process limits held (today's verdicts say nothing:
    then the attack must be stopped like everywhere else, and `isolation` is asserted later)."""
    if verdict.get("isolation") == "limits-only":
        pytest.skip(f"isolation is limits-only here; {why}")


def assert_contained(s: Scene, verdict: dict[str, Any], before: dict[str, str], level: str = "default") -> None:
    assert verdict["status"] != "pass", f"the attack passed: {text_of(verdict)[:800]}\noutput: {verdict.get('stdout', '')[:800]}"
    assert wait_until(lambda: not marked_processes(s.marker), 5.0), f"left running: {marked_processes(s.marker)}"
    if verdict.get("isolation") != "limits-only":
        assert not s.outside.exists(), f"the submission wrote {s.outside}"
    assert wait_until(lambda: not s.left_in_tmpdir(), 3.0), f"left in TMPDIR: {s.left_in_tmpdir()}"
    assert s.guarded() == before, "progress.db or the installed bank changed"
    assert verdict.get("isolation") in ("full", "limits-only"), f"the verdict does not say its isolation: {sorted(verdict)}"
    if level == "limits-only":
        assert verdict["isolation"] == "limits-only"


def assert_next_check_is_normal(s: Scene, level: str = "default", also_wrong: bool = False) -> None:
    """A correct solution passes after the attack (and, where the attack aimed at the checks, a
    wrong one still fails)."""
    good = one_verdict(s.check(GOOD, level, name="good.py"))
    assert good["status"] == "pass", text_of(good)
    if also_wrong:
        wrong = one_verdict(s.check(WRONG, level, name="wrong.py"))
        assert wrong["status"] == "fail", text_of(wrong)


def run_attack(s: Scene, attack: str, level: str = "default", **tokens: str) -> tuple[dict[str, Any], dict[str, str]]:
    before = s.guarded()
    verdict = one_verdict(s.check(s.source(attack, **tokens), level))
    return verdict, before


def assert_attack_ran(verdict: dict[str, Any], says: str) -> None:
    """The attack got to its last line (it prints `says` there): a verdict that is not `pass`
    only because the hostile file never ran would prove nothing."""
    assert verdict["status"] != "pass", f"the attack passed: {text_of(verdict)[:800]}\noutput: {verdict.get('stdout', '')[:800]}"
    assert says in verdict.get("stdout", ""), f"the attack did not run to its end ({verdict['status']}): {text_of(verdict)[:600]}"


# --- forge the verdict --------------------------------------------------------------------------


def test_forging_a_verdict_through_proc_pipes_and_memory(scene: Scene) -> None:
    """Every pipe of every process of the check, the command line's stdout included, and a nonce
    looked for in the judge's memory: only isolation keeps these out of reach."""
    verdict, before = run_attack(scene, "forge_verdict", TARGET="all")
    require_full(verdict, "same-user /proc lets a submission open the pipes and memory of the user's processes")
    assert_attack_ran(verdict, "forged verdicts written into")
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


@pytest.mark.parametrize("level", LEVELS)
def test_a_forged_reply_without_the_nonce_is_refused(scene: Scene, level: str) -> None:
    """Forged replies written into the judge's own pipes (not the asker's): refused at both levels,
    since the sandbox never sees the nonce."""
    verdict, before = run_attack(scene, "forge_verdict", level, TARGET="judge")
    assert_attack_ran(verdict, "forged verdicts written into")
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


@pytest.mark.parametrize("level", LEVELS)
def test_a_sandbox_never_holds_another_checks_nonce(level: str) -> None:
    """Two checks at once (the app's judge runs two): the second sandbox is started while the
    first check is running, and must not find the first one's nonce in its memory."""
    marker = f"llmqatk{secrets.token_hex(4)}"
    slow = f"import ctypes\nimport time\n\nctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\ntime.sleep(4)\n\n" + WRONG
    with start_judge(level, jobs=2) as judge:
        judge.ping()
        first = judge.submit(SOFTMAX_REF, slow, seed=1, timeout_s=30.0)
        # Once the first submission runs, its check has its sandbox, its harness and its nonce.
        assert wait_until(lambda: bool(marked_processes(marker)), 30.0), "the first check never started"
        verdict = judge.check(SOFTMAX_REF, (ATTACKS / "nonce_hunt.py").read_text(), seed=2, timeout_s=30.0)
        assert_attack_ran(verdict.to_dict(), "nonces: ")
        assert "nonces: []" in verdict.stdout, f"the sandbox found nonces in its memory: {verdict.stdout[:300]}"
        assert first.result(60).status == "fail"
        assert judge.check(SOFTMAX_REF, GOOD, seed=3).status == "pass"


# --- use the reference --------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_the_reference_is_nowhere_in_the_sandboxs_memory(scene: Scene, level: str) -> None:
    verdict, before = run_attack(scene, "reference_in_memory", level)
    assert_attack_ran(verdict, " in memory")
    assert "reference found in memory" not in verdict.get("stdout", "")
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


def test_the_installed_bank_cannot_be_read(scene: Scene) -> None:
    verdict, before = run_attack(scene, "reference_on_disk")
    require_full(verdict, "without a mount namespace the bank is an ordinary readable file")
    assert "answer module read from" not in verdict.get("stdout", "")
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


def test_the_installed_bank_cannot_be_rewritten(scene: Scene) -> None:
    verdict, before = run_attack(scene, "neuter_bank")
    require_full(verdict, "without a mount namespace the bank is writable by its user")
    assert_attack_ran(verdict, "answer modules rewritten")
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene, also_wrong=True)  # the checks are intact


def test_llmqs_installation_cannot_be_rewritten(scene: Scene) -> None:
    ran = scene.outside.parent / "code-ran-outside-the-sandbox"
    verdict, before = run_attack(scene, "plant_in_installation", RAN=str(ran))
    require_full(verdict, "without a mount namespace llmq's files are writable by their user")
    assert_attack_ran(verdict, "planted: ")
    listing = scene.llmq("list", "--json")
    assert not ran.exists(), "code planted in llmq's installation ran in the next `llmq list`"
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


# --- forbidden op under another name ------------------------------------------------------------


def _aliases() -> dict[str, Any]:
    return runpy.run_path(str(ATTACKS / "forbidden_aliases.py"))


SOFTMAX_REF = ExerciseRef(EXERCISE, REPO / "answers" / "softmax" / "softmax.py", "softmax", timeout_s=10.0)
SDPA_REF = ExerciseRef(
    "attention.sdpa", REPO / "answers" / "attention" / "sdpa.py", "scaled_dot_product_attention", timeout_s=10.0
)
SOFTMAX_NAMES = tuple(runpy.run_path(str(SOFTMAX_REF.answer_path))["FORBIDDEN"])  # what the task lists
SDPA_NAMES = tuple(runpy.run_path(str(SDPA_REF.answer_path))["FORBIDDEN"])
ALIASES = [(SOFTMAX_REF, name, SOFTMAX_NAMES) for name in _aliases()["SOFTMAX"]] + [
    (SDPA_REF, name, SDPA_NAMES) for name in _aliases()["SDPA"]
]


def start_judge(level: str, jobs: int = 1) -> Judge:
    """A judge whose worker runs at `level` (it inherits LLMQ_SANDBOX when it starts)."""
    saved = os.environ.get("LLMQ_SANDBOX")
    if level == "limits-only":
        os.environ["LLMQ_SANDBOX"] = "limits-only"
    try:
        return Judge(jobs=jobs)
    finally:
        if saved is None:
            os.environ.pop("LLMQ_SANDBOX", None)
        else:
            os.environ["LLMQ_SANDBOX"] = saved


@pytest.fixture(scope="module", params=LEVELS)
def level_judge(request: pytest.FixtureRequest) -> Iterator[tuple[str, Judge]]:
    """A warm judge per isolation level."""
    judge = start_judge(request.param)
    yield request.param, judge
    judge.close()


def _isolation(verdict: Any) -> str | None:
    return verdict.to_dict().get("isolation")


@pytest.mark.parametrize("exercise, alias, listed", ALIASES, ids=[f"{e.id}:{a}" for e, a, _ in ALIASES])
def test_a_forbidden_kernel_under_another_name_is_caught(
    level_judge: tuple[str, Judge], exercise: ExerciseRef, alias: str, listed: tuple[str, ...]
) -> None:
    level, judge = level_judge
    source = _aliases()["SOFTMAX" if exercise is SOFTMAX_REF else "SDPA"][alias]
    verdict = judge.check(exercise, source, seed=1, timeout_s=30.0)
    text = "\n".join(c.message for c in verdict.checks)
    assert verdict.status == "fail", f"{verdict.status}: {verdict.summary}"
    assert "forbid" in text and any(name in text for name in listed), text
    good = judge.check(SOFTMAX_REF, GOOD, seed=2)
    assert good.status == "pass", good.summary
    assert _isolation(verdict) in ("full", "limits-only")
    if level == "limits-only":
        assert _isolation(verdict) == "limits-only"


# --- escape into llmq ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_the_data_folder_cannot_carry_code_into_the_next_llmq(scene: Scene, level: str) -> None:
    ran = scene.outside.parent / "code-ran-in-llmq"
    cache_before = _hash_tree([scene.home / "cache"]) if (scene.home / "cache").exists() else {}
    verdict, before = run_attack(scene, "plant_in_data_folder", level, RAN=str(ran))
    assert_attack_ran(verdict, "planted:")
    listing = scene.llmq("list", "--json", level=level)
    assert not ran.exists(), "a file planted in LLMQ_HOME ran code in the next `llmq list`"
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert isinstance(json.loads(listing.stdout), list)
    if verdict.get("isolation") != "limits-only":
        assert "planted: []" in verdict.get("stdout", ""), f"it reached LLMQ_HOME: {verdict.get('stdout', '')[:500]}"
        assert not cache_before or _hash_tree([scene.home / "cache"]) == cache_before
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


# --- damage the user's data and machine ---------------------------------------------------------


def test_progress_db_is_out_of_reach(scene: Scene) -> None:
    verdict, before = run_attack(scene, "tamper_progress_db")
    require_full(verdict, "without a mount namespace the user's files are the submission's too")
    assert_attack_ran(verdict, "tampered with:")
    assert "tampered with: []" in verdict.get("stdout", ""), verdict.get("stdout", "")[:500]
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


def test_the_users_home_cannot_be_read(scene: Scene) -> None:
    proc = scene.check(scene.source("read_home"))
    verdict = one_verdict(proc)
    require_full(verdict, "without a mount namespace the user's files are readable")
    assert scene.secret not in proc.stdout + proc.stderr, "a file from HOME came out in the report"
    assert_contained(scene, verdict, scene.guarded())
    assert_next_check_is_normal(scene)


def test_the_askers_environment_cannot_be_read(scene: Scene) -> None:
    """API_TOKEN is in the environment of the command line that asks (and of the judge it starts)."""
    proc = scene.check(scene.source("read_environment"))
    verdict = one_verdict(proc)
    require_full(verdict, "without a PID namespace the environments of the user's processes are readable")
    assert_attack_ran(verdict, "credentials:")
    assert scene.secret not in proc.stdout + proc.stderr, (
        f"a credential came out in the report: {verdict.get('stdout', '')[:300]}"
    )
    assert_contained(scene, verdict, scene.guarded())
    assert_next_check_is_normal(scene)


def test_nothing_is_written_outside_the_folder(scene: Scene) -> None:
    verdict, before = run_attack(scene, "write_outside")
    require_full(verdict, "without a mount namespace the submission writes wherever its user may")
    assert_attack_ran(verdict, str(scene.outside))
    assert not [p for p in scene.machine_paths() if p.exists()], "the submission wrote into the machine's /tmp or /dev/shm"
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


def test_no_network_not_even_loopback(scene: Scene) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        verdict, before = run_attack(scene, "tcp_connect", PORT=str(server.getsockname()[1]))
        server.settimeout(0.0)
        try:
            conn, _ = server.accept()  # a connection the kernel completed while we were not looking
            conn.close()
            connected = True
        except OSError:
            connected = False
    require_full(verdict, "without a network namespace loopback is reachable")
    assert not connected, "the submission connected to 127.0.0.1"
    assert "connected\n" not in verdict.get("stdout", "")
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


def test_killing_its_parents_leaves_the_asker_standing(scene: Scene) -> None:
    verdict, before = run_attack(scene, "kill_parents")  # one_verdict: the command line survived
    require_full(verdict, "without a PID namespace the user's processes are the submission's to signal")
    assert_contained(scene, verdict, before)
    assert_next_check_is_normal(scene)


# --- outlive and outgrow ------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_a_double_forked_daemon_dies_with_the_verdict(scene: Scene, level: str) -> None:
    verdict, before = run_attack(scene, "daemon", level)
    assert wait_until(lambda: not marked_processes(scene.marker), 5.0), f"the daemon lives on: {marked_processes(scene.marker)}"
    if scene.outside.exists():  # limits-only: it may write there, but it must have stopped
        beat = scene.outside.read_text()
        time.sleep(0.5)
        assert scene.outside.read_text() == beat, "the heartbeat goes on after the verdict"
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


@pytest.mark.slow  # 200 processes
@pytest.mark.parametrize("level", LEVELS)
def test_two_hundred_forks_die_with_the_verdict(scene: Scene, level: str) -> None:
    verdict, before = run_attack(scene, "fork_tree", level)
    if "process" not in text_of(verdict).lower():  # unless a process cap stopped it, it ran to its end
        assert_attack_ran(verdict, "forked ")
    assert wait_until(lambda: not marked_processes(scene.marker), 5.0), f"{len(marked_processes(scene.marker))} forks live on"
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


@pytest.mark.xdist_group("gigabytes")  # one at a time under xdist: each fills memory or disk against a time limit
@pytest.mark.slow  # gigabytes of memory
@pytest.mark.parametrize("level", LEVELS)
def test_memory_is_limited_across_forks(scene: Scene, level: str) -> None:
    with Sampler(scene.marker) as sampler:
        verdict, before = run_attack(scene, "memory_across_forks", level)
    held = f"the submission's processes held {sampler.peak_marked / 2**30:.1f} GiB at once"
    # What the README says: 2 GiB + 64 MiB summed, sampled every 10 ms by a supervisor that runs
    # before the submission's processes, so a burst between two samples goes a little beyond.
    assert sampler.peak_marked < 2.5 * 2**30, f"{held}; verdict {verdict['status']}: {verdict.get('stdout', '')}"
    assert verdict["status"] != "pass", verdict.get("stdout", "")
    assert "memory" in text_of(verdict).lower(), text_of(verdict)
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


@pytest.mark.xdist_group("gigabytes")  # one at a time under xdist: each fills memory or disk against a time limit
@pytest.mark.slow  # a gigabyte of disk
@pytest.mark.parametrize("level", LEVELS)
def test_a_disk_quota_holds_and_the_folder_is_removed(scene: Scene, level: str) -> None:
    """64 files of 16 MiB: the submission is correct only if all of it got written."""
    verdict, before = run_attack(scene, "disk_fill", level)
    written = [int(line.split()[1]) for line in verdict.get("stdout", "").splitlines() if line.startswith("wrote ")]
    assert verdict["status"] != "pass", f"1 GiB written: {verdict.get('stdout', '')[:300]}"
    if verdict.get("isolation") != "limits-only":  # a tmpfs of 64 MiB; the fallback polls, so may let more through
        assert not written or written[0] <= 64 * MIB, verdict.get("stdout", "")[:300]
    assert_contained(scene, verdict, before, level)
    assert_next_check_is_normal(scene, level)


# What reading one hostile frame may cost the judge: an oversize frame is refused from its header
# (nothing read); a frame under the 64 MiB cap is read, and may cost a few times its size while it
# is refused, never gigabytes.
FRAME_COST = {"oversize_frame": 128 * MIB, "frame_bomb": 256 * MIB}


@pytest.mark.xdist_group("gigabytes")  # one at a time under xdist: each fills memory or disk against a time limit
@pytest.mark.parametrize(
    "attack", ["oversize_frame", pytest.param("frame_bomb", marks=pytest.mark.slow)]
)  # slow: GiB if it works
def test_a_hostile_reply_frame_does_not_grow_the_judge(level_judge: tuple[str, Judge], attack: str) -> None:
    """A frame announcing 255 MiB, and a 16 MiB frame whose shared references rebuild 2 GiB."""
    level, judge = level_judge
    marker = f"llmqatk{secrets.token_hex(4)}"
    source = (ATTACKS / f"{attack}.py").read_text().replace("__MARKER__", marker)
    pid = judge.ping()["pid"]
    try:
        with Sampler(marker, root=pid) as sampler:
            verdict = judge.check(SOFTMAX_REF, source, seed=1, timeout_s=20.0)
    finally:
        _kill_marked(marker)
    assert verdict.status != "pass", verdict.summary
    assert any("judge's channel" in c.message for c in verdict.checks), verdict.summary  # refused, as forged
    assert sampler.largest_growth() < FRAME_COST[attack], (
        f"the judge grew by {sampler.largest_growth() // MIB} MiB reading a forged frame ({sampler.who_grew()})"
    )
    assert wait_until(lambda: not marked_processes(marker), 5.0), marked_processes(marker)
    assert judge.ping()["pid"] == pid, "the worker did not survive"
    assert judge.check(SOFTMAX_REF, GOOD, seed=2).status == "pass"
    assert _isolation(verdict) in ("full", "limits-only")
    if level == "limits-only":
        assert _isolation(verdict) == "limits-only"
