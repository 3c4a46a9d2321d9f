"""The forbidden-call scan: import aliases resolved, tensor methods found, nothing else flagged."""
from __future__ import annotations

import pytest

from llmq.judge.forbidden import scan

SOFTMAX = ["torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax"]


@pytest.mark.parametrize(
    "source, name, line",
    [
        ("import torch\ny = torch.softmax(x, -1)\n", "torch.softmax", 2),
        ("import torch.nn.functional as F\ny = F.softmax(x, -1)\n", "torch.nn.functional.softmax", 2),
        ("from torch.nn import functional as F\n\ny = F.softmax(x)\n", "torch.nn.functional.softmax", 3),
        ("from torch import softmax as sm\ny = sm(x, 0)\n", "torch.softmax", 1),
        ("from torch.nn.functional import *\ny = softmax(x)\n", "torch.nn.functional.softmax", 2),
        ("def f(x):\n    return x.softmax(-1)\n", "torch.Tensor.softmax", 2),
        ("import torch\nf = torch.Tensor.softmax\n", "torch.Tensor.softmax", 2),
        ("import torch\nF = torch.nn.functional\ny = F.softmax(x)\n", "torch.nn.functional.softmax", 3),
        ("import torch\ny = getattr(torch, 'softmax')(x, -1)\n", "torch.softmax", 2),
    ],
)
def test_scan_finds_forbidden_names_however_they_are_spelled(source: str, name: str, line: int) -> None:
    found = scan(source, SOFTMAX)
    assert (name, line) in [(f.name, f.line) for f in found]
    assert name in found[0].message() and f"line {found[0].line}" in found[0].message()


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ny = torch.exp(x) / torch.exp(x).sum(-1, keepdim=True)\n",
        "import torch\ny = torch.log_softmax\n",  # not in the list
        "softmax = lambda x: x\ny = softmax(1)\n",  # a local name, not torch's
        "import torch.nn.functional as F\ny = F.relu(x)\n",
    ],
)
def test_scan_leaves_allowed_code_alone(source: str) -> None:
    assert scan(source, SOFTMAX) == []


def test_message_names_the_call_and_its_spelling() -> None:
    (finding,) = scan("import torch.nn.functional as F\nF.softmax(x)\n", ["torch.nn.functional.softmax"])
    assert finding.message() == (
        "line 2: uses torch.nn.functional.softmax (written `F.softmax`), which this exercise forbids"
    )
