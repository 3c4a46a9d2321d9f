"""Hostile submissions: each gets the right verdict and a clear message, and the same worker then
judges a correct submission normally."""

from __future__ import annotations

import pytest

from llmq.judge.client import Judge
from tests.judge.conftest import GOOD, GQA

SIG = "def grouped_query_attention(q, k, v, causal=True):\n"
ZEROS = SIG + "    return torch.zeros_like(q)\n"

HOSTILE = {
    "infinite loop": (
        SIG + "    while True:\n        pass\n",
        "timeout",
        ["timed out", "2 s"],
    ),
    "unbounded list growth": (
        SIG + "    x = []\n    while True:\n        x.append(bytearray(1 << 24))\n",
        "error",
        ["MemoryError", "2 GiB", "x.append(bytearray(1 << 24))"],
    ),
    "allocating 400 GB": (
        "import torch\n" + SIG + "    return torch.empty(10**11)\n",
        "error",
        ["RuntimeError", "2 GiB", "torch.empty(10**11)"],
    ),
    "segfault through ctypes": (
        "import ctypes\n" + SIG + "    return ctypes.string_at(0)\n",
        "crash",
        ["killed by SIGSEGV"],
    ),
    "os._exit(0) during the checks": (
        "import os\n" + SIG + "    os._exit(0)\n",
        "crash",
        ["exited with status 0", "before the checks ended"],
    ),
    "sys.exit(0) during the checks": (
        "import sys\n" + SIG + "    sys.exit(0)\n",
        "error",
        ["sys.exit(0)"],
    ),
    "sys.exit(0) at import": (
        "import sys\nsys.exit(0)\n",
        "error",
        ["sys.exit(0)", "while loading"],
    ),
    "patching torch.allclose and torch.testing": (
        "import torch\nimport torch.testing\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n" + ZEROS,
        "fail",
        ["values differ"],
    ),
    "writing a fake verdict to descriptors it did not open": (
        "import os, torch\n"
        + SIG
        + "    for fd in range(3, 1024):\n"
        + "        try:\n"
        + '            os.write(fd, b\'{"status": "pass", "checks": []}\\n\')\n'
        + "        except OSError:\n"
        + "            pass\n"
        + "    return torch.zeros_like(q)\n",
        "error",
        ["wrote into the judge's channel"],
    ),
    "closing the judge's descriptors": (
        "import os\n" + SIG + "    os.closerange(3, 1024)\n    while True:\n        pass\n",
        "error",
        ["closed the judge's channel"],
    ),
    "importing the reference's module": (
        "from answers.attention.gqa import reference as grouped_query_attention\n",
        "error",
        ["may not import", "answers"],
    ),
    "importing llmq": (
        "import llmq.judge.kit\n" + SIG + "    return q\n",
        "error",
        ["may not import", "llmq"],
    ),
    "importing a missing package": (
        "import flash_attn_not_installed\n" + SIG + "    return q\n",
        "error",
        ["ModuleNotFoundError", "flash_attn_not_installed", "line 1"],
    ),
    "a syntax error": (
        SIG + "    return (q @ k.transpose(-2, -1)\n",
        "error",
        ["SyntaxError", "line 2"],
    ),
    "the wrong function name": (
        "def gqa(q, k, v, causal=True):\n    return q\n",
        "error",
        ["defines no function named `grouped_query_attention`", "gqa"],
    ),
    "a forbidden call through an alias": (
        "import torch.nn.functional as F\n" + SIG + "    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)\n",
        "fail",
        ["torch.nn.functional.scaled_dot_product_attention", "line 3", "forbids"],
    ),
    "a forbidden call the scan cannot see": (
        "import torch\n"
        + SIG
        + "    rep = q.shape[1] // k.shape[1]\n"
        + "    fn = getattr(torch.nn.functional, 'scaled_dot_product_' + 'attention')\n"
        + "    return fn(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), is_causal=causal)\n",
        "fail",
        ["called torch.nn.functional.scaled_dot_product_attention", "forbids"],
    ),
    "modifying an input in place": (
        GOOD.replace("    rep = q.shape[1]", "    q.mul_(1.0)\n    k[..., 0] = 0\n    rep = q.shape[1]"),
        "fail",
        ["modified its input `k` in place"],
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_submission_gets_a_clear_verdict_and_the_worker_goes_on(judge: Judge, name: str) -> None:
    source, status, phrases = HOSTILE[name]
    pid = judge.ping()["pid"]
    # Generous limits elsewhere: a loaded machine must not turn an error into a timeout.
    verdict = judge.check(GQA, source, seed=1, timeout_s=2.0 if status == "timeout" else 30.0)
    text = "\n".join(c.message for c in verdict.checks)
    assert verdict.status == status, text
    for phrase in phrases:
        assert phrase in text
    # The same worker judges the next submission normally.
    after = judge.check(GQA, GOOD, seed=2)
    assert after.status == "pass", after.summary
    assert judge.ping()["pid"] == pid


@pytest.mark.slow  # starts processes of its own or moves a gigabyte
def test_a_gigabyte_printed_is_cut_at_64_kib(judge: Judge) -> None:
    noisy = "import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * (1 << 20))\n" + GOOD
    verdict = judge.check(GQA, noisy, seed=1, timeout_s=30.0)
    assert verdict.status == "pass", verdict.summary
    assert "[output cut at 64 KiB]" in verdict.stdout
    assert len(verdict.stdout) < 70 * 1024
    assert judge.check(GQA, GOOD, seed=2).status == "pass"


def test_output_of_a_passing_solution_is_reported(judge: Judge) -> None:
    verdict = judge.check(GQA, "print('hello from the solution')\n" + GOOD, seed=1)
    assert verdict.status == "pass"
    assert "hello from the solution" in verdict.stdout
    assert "cut" not in verdict.stdout


def test_an_exception_traceback_shows_the_users_lines_only(judge: Judge) -> None:
    source = "import torch\n\ndef helper(x):\n    return x @ torch.ones(3, 3, 3, 3, 3)\n\n" + SIG + "    return helper(q)\n"
    verdict = judge.check(GQA, source, seed=1)
    assert verdict.status == "error"
    message = next(c.message for c in verdict.checks if c.status == "fail")
    assert 'File "solution.py", line 4, in helper' in message
    assert "return helper(q)" in message
    assert "llmq" not in message.split("input:")[0]
    assert "site-packages" not in message


@pytest.mark.xdist_group("gigabytes")  # one at a time under xdist: each fills memory or disk against a time limit
def test_a_solution_may_use_a_gigabyte(judge: Judge) -> None:
    """The address-space limit is 2 GiB on top of what torch already maps: 1 GiB of real use fits."""
    big = "import torch\n_scratch = torch.ones(256 * 2**20)  # 1 GiB, touched\nassert float(_scratch[-1]) == 1.0\n" + GOOD
    verdict = judge.check(GQA, big, seed=1, timeout_s=30.0)
    assert verdict.status == "pass", verdict.summary


# What an answer key left in memory would look like to a submission that searches it: a function
# named `reference`, the answer module's text (its own names for its tables and its reference),
# or a tensor equal to the right answer that the submission did not make.
_SEARCH_MEMORY = """
import gc, sys, types, torch

# Spelled in pieces so that this file's own text (in linecache) does not match.
MARKERS = ["WRONG_" + "ANSWERS", "ALTERNATIVES" + " =", "def " + "reference("]

def _strings(obj):
    if isinstance(obj, dict):
        items = list(obj.keys()) + list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = list(obj)
    elif isinstance(obj, types.CodeType):
        items = list(obj.co_consts)
    else:
        return []
    return [s for s in items if isinstance(s, str)]

def search(own_answer=None, inputs=()):
    found = set()
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__name__ == "reference":
            found.add("FOUND a function named reference")
        for text in _strings(obj):
            own = text in MARKERS or "Spelled in pieces" in text or text.startswith("FOUND")
            if not own and any(marker in text for marker in MARKERS):
                found.add("FOUND answer-module text: " + text[:60])
        if own_answer is not None and isinstance(obj, torch.Tensor) and obj is not own_answer \\
                and all(obj is not t for t in inputs) and obj.shape == own_answer.shape \\
                and obj.dtype == own_answer.dtype and obj.numel() > 1 and torch.equal(obj, own_answer):
            found.add("FOUND a tensor of the expected values")
    for name, module in list(sys.modules.items()):
        for key in ("reference", "WRONG_" + "ANSWERS", "ALTERNATIVES"):
            value = getattr(module, "__dict__", {}).get(key)
            if value is not None and not isinstance(value, types.ModuleType):  # torch has a submodule `reference`
                found.add(f"FOUND {key} in module {name}")
    return sorted(found)

print("FOUND AT LOAD:", search())
"""


def test_a_submission_that_searches_its_memory_finds_nothing_of_the_answer(judge: Judge) -> None:
    call_time = (
        "\n_grouped = grouped_query_attention\n\n"
        + SIG
        + "    out = _grouped(q, k, v, causal)\n"
        + "    print('FOUND AT CALL:', search(out, (q, k, v)))\n"
        + "    return out\n"
    )
    verdict = judge.check(GQA, _SEARCH_MEMORY + GOOD + call_time, seed=4, timeout_s=60.0)
    assert verdict.status == "pass", verdict.summary
    assert "FOUND AT LOAD: []" in verdict.stdout, verdict.stdout[:2000]
    assert "FOUND AT CALL: [" in verdict.stdout
    assert all(line.endswith("[]") for line in verdict.stdout.splitlines() if line.startswith("FOUND")), verdict.stdout[:2000]


FORK_TREE = (
    "import os, time\n"
    + SIG
    + (
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "    return q\n"
    )
)

MEMORY_ACROSS_FORKS = (
    "import mmap, os, time\n"
    + SIG
    + (
        "    for _ in range(3):  # three processes of 0.9 GiB each: within any one process's limit\n"
        "        if os.fork() == 0:\n"
        "            block = mmap.mmap(-1, 900 << 20)\n"
        "            for offset in range(0, len(block), 4096):\n"
        "                block[offset] = 1\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "    time.sleep(60)\n"
    )
)


def test_a_fork_tree_is_stopped_as_a_whole(judge: Judge) -> None:
    verdict = judge.check(GQA, FORK_TREE, seed=1, timeout_s=30.0)
    text = "\n".join(c.message for c in verdict.checks)
    assert verdict.status == "error", text
    # The process cap refuses the fork (BlockingIOError), or the supervisor ends the submission.
    assert "BlockingIOError" in text or "too many processes and threads" in text, text
    assert judge.check(GQA, GOOD, seed=2).status == "pass"


@pytest.mark.xdist_group("gigabytes")  # one at a time under xdist: each fills memory or disk against a time limit
@pytest.mark.slow  # touches close to 3 GiB
def test_memory_is_limited_across_the_submissions_processes(judge: Judge) -> None:
    verdict = judge.check(GQA, MEMORY_ACROSS_FORKS, seed=1, timeout_s=60.0)
    text = "\n".join(c.message for c in verdict.checks)
    assert verdict.status == "error", text
    assert "the submission used more than 2 GiB across its processes" in text, text
    assert judge.check(GQA, GOOD, seed=2).status == "pass"
