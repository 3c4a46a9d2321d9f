"""Speed of `llmq import` on 1,000 Markdown notes in the headings format (the issue asks for
under 5 s): a first import (parse, ids, YAML, the bank's validation of the deck, the atomic
rename), a second import of the same notes (nothing to write), and one after editing 10 notes.

The notes are generated: 1,000 files in 20 folders, each a Chinese or English note with a title,
sections and subsections, bullet lists, a code block, a table and math, like the notes
repositories. Runs in a temporary LLMQ_HOME. Prints one JSON line of figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_NOTES = 1_000


def note(i: int) -> str:
    """One generated note: five cards' worth of headings, half of them in Chinese."""
    zh = i % 2 == 0
    topic = f"注意力机制 {i}" if zh else f"Attention variants {i}"
    parts = [f"# {topic}\n", "Notes organised by topic.\n"]
    for s in range(2):
        parts.append(f"## {'多查询注意力' if zh else 'Multi-query attention'} {s}\n")
        parts.append(("所有查询头共享一组 K 和 V。" if zh else "Every query head shares one K and one V head.") + "\n")
        parts.append(f"### {'优势' if zh else 'Advantages'}\n- KV cache 变小 $O(n_h)$ 倍\n- decoding faster\n")
        parts.append(f"### {'代码' if zh else 'Code'}\n```python\nk = k.repeat_interleave(n_rep, dim=1)  # {i}\n```\n")
    parts.append("#### 对比\n| variant | KV heads |\n| --- | --- |\n| MHA | H |\n| MQA | 1 |\n")
    return "\n".join(parts)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["LLMQ_HOME"] = str(root / "home")
        notes = root / "notes"
        for i in range(N_NOTES):
            path = notes / f"folder{i % 20:02d}" / f"{i:04d}.{'笔记' if i % 2 == 0 else 'note'}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(note(i), encoding="utf-8")
        from llmq.decks.importer import import_notes

        t = time.perf_counter()
        first = import_notes([notes], "bench")
        first_s = time.perf_counter() - t
        t = time.perf_counter()
        again = import_notes([notes], "bench")
        again_s = time.perf_counter() - t
        for i in range(10):
            path = next((notes / f"folder{i % 20:02d}").glob(f"{i:04d}.*.md"))
            path.write_text(path.read_text(encoding="utf-8").replace("decoding faster", "decoding is faster"), encoding="utf-8")
        t = time.perf_counter()
        edited = import_notes([notes], "bench")
        edited_s = time.perf_counter() - t
    assert not first.errors and first.written and not again.written and edited.updated > 0, (first.errors[:3], edited.updated)
    print(
        json.dumps(
            {
                "notes": N_NOTES,
                "cards": first.added,
                "first_import_s": round(first_s, 2),
                "same_again_s": round(again_s, 2),
                "after_10_edits_s": round(edited_s, 2),
                "updated_after_edits": edited.updated,
                "limit_s": 5.0,
            }
        )
    )


if __name__ == "__main__":
    main()
