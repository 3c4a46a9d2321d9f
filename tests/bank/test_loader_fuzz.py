"""Random mutations of a valid bank raise only BankError, and every problem names file and line."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmq.bank import Bank, BankError, load_bank
from tests.bank.sample_bank import TOPIC_YAML, write_bank

LINES = TOPIC_YAML.splitlines(keepends=True)
JUNK = st.sampled_from(
    [
        "",
        ":",
        " ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "'",
        '"',
        "#",
        "&a",
        "*a",
        "!!python/object",
        "\t",
        "kind: code",
        "id: demo.card",
        "correct: [9]",
        "null",
        "1e999",
        "- id: x",
        "  ",
        "|",
        ">",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "replace_char", "indent", "dedent", "swap"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(JUNK) + "\n")
        elif op == "replace_char" and lines[i].strip():
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(JUNK) + lines[i][j + 1 :]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_bank_errors_naming_file_and_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_bank(Path(tmp), text)
        try:
            bank = load_bank(roots=[root])
        except BankError as exc:
            assert exc.issues
            for issue in exc.issues:
                assert issue.file == root / "questions" / "demo.yaml", issue
                assert issue.line >= 1, issue
                assert str(issue).startswith(f"{issue.file}:{issue.line}: "), issue
        else:
            assert isinstance(bank, Bank)  # a harmless mutation (a blank line, a comment) still loads
