"""How much of each note and topic the bank covers: the table in docs/coverage.md.

python -m llmq.bank.coverage            # print the Markdown
python -m llmq.bank.coverage --write    # rewrite docs/coverage.md (a test checks it is current)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from llmq.bank import Bank, load_bank
from llmq.bank.model import KINDS, NOTE_SOURCES
from llmq.bank.paths import bundled_root

DOC = Path("docs") / "coverage.md"


def _table(header: str, rows: dict[str, Counter[str]]) -> list[str]:
    lines = [f"| {header} | " + " | ".join(KINDS) + " | total |", "| --- |" + " ---: |" * (len(KINDS) + 1)]
    for name, counts in rows.items():
        lines.append(f"| {name} | " + " | ".join(str(counts[k]) for k in KINDS) + f" | {sum(counts.values())} |")
    return lines


def coverage_markdown(bank: Bank) -> str:
    by_note: dict[str, Counter[str]] = {note: Counter() for note in NOTE_SOURCES}
    by_topic: dict[str, Counter[str]] = {name: Counter() for name in sorted(bank.topics)}
    by_note_topic: dict[str, dict[str, Counter[str]]] = {note: {} for note in NOTE_SOURCES}
    by_file: dict[str, Counter[str]] = {}
    total: Counter[str] = Counter()
    for q in bank.questions.values():
        by_note[q.note][q.kind] += 1
        by_topic.setdefault(q.topic, Counter())[q.kind] += 1
        by_note_topic[q.note].setdefault(q.topic, Counter())[q.kind] += 1
        if ":" in q.source:
            by_file.setdefault(q.source, Counter())[q.kind] += 1
        total[q.kind] += 1
    out = [
        "# Coverage of the notes",
        "",
        "Made by `python -m llmq.bank.coverage --write` from the bundled bank; do not edit by hand.",
        f"The bank holds {sum(total.values())} questions: " + ", ".join(f"{total[k]} {k}" for k in KINDS) + ".",
        "",
        "## By note",
        "",
        *_table("note (`source:`)", by_note),
        "",
        "## By topic",
        "",
        *_table("topic", by_topic),
        "",
        "## By note and topic",
    ]
    for note in NOTE_SOURCES:
        out += ["", f"### {note}", ""]
        rows = dict(sorted(by_note_topic[note].items()))
        out += _table("topic", rows) if rows else ["No questions yet."]
    if by_file:
        out += ["", "## By note file (questions that name one)", ""]
        out += _table("note:file", dict(sorted(by_file.items())))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmq.bank.coverage", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC} in the checkout")
    args = parser.parse_args(argv)
    root = bundled_root()
    text = coverage_markdown(load_bank(roots=[root]))
    if args.write:
        (root / DOC).write_text(text, encoding="utf-8")
        print(f"wrote {root / DOC}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
