"""Fill `source_heading:` in the bank: for each question whose `source:` names a file of the
Awesome-LLM-Learning notes (the one note repository whose Markdown is here, shared/notes/), find
the heading of that file that the card answers and write the heading's text (a short title, never
the notes' prose) on the line after `source:`.

A heading is matched to a card by the characters its Chinese title (written as the notes' question,
issue 14 point 3) shares with the heading, two by two; a card whose best heading shares too little
gets none (the report lists them). Dry run by default; --write edits the YAML in place, one line
per card, and leaves every other byte as it was.

    python tools/source_headings.py [--notes DIR] [--write] [questions/*.yaml]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTE = "awesome-llm-learning"
DEFAULT_NOTES = ROOT.parent / "shared" / "notes" / NOTE
MIN_SCORE = 0.34  # share of the heading's character pairs found in the card's titles and tags
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


def headings(path: Path) -> list[str]:
    """The Markdown headings of `path`, outside fenced code (a `# comment` in code is none)."""
    found: list[str] = []
    fence = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        opened = _FENCE.match(line)
        if opened:
            mark = opened.group(1)[0] * 3
            fence = "" if fence and mark == fence else fence or mark
            continue
        if not fence:
            m = _HEADING.match(line)
            if m:
                found.append(m.group(2).strip())
    return found


def _pairs(text: str) -> set[str]:
    """Character pairs of `text` without spaces or punctuation, lower-cased; an ASCII word counts
    as one unit (so 'rope' is one unit, not r-o, o-p, p-e)."""
    units = re.findall(r"[a-z0-9]+|[\u4e00-\u9fff]", _NOT_WORD.sub(" ", text.lower()))
    return {a + b for a, b in zip(units, units[1:], strict=False)} | set(units)


# What a heading spells out in brackets, and words every heading may carry, say nothing of which
# card it is: "PPO (Proximal Policy Optimization) 介绍" is matched as "PPO".
_BRACKETS = re.compile(r"[(（][^()（）]*[)）]")
_FILLER = re.compile(r"介绍|是什么|什么是|的区别|原理")


# Words too common in these notes' headings to tell sections apart.
_GENERIC = {"llm", "token", "tokens", "model", "transformer", "huggingface", "generate", "sampling", "lm", "of", "the"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower().replace("-", ""))) - _GENERIC


def score(heading: str, card: str, shared: frozenset[str] = frozenset()) -> tuple[float, int]:
    """The share of the heading's character pairs found in the card's text, and how many (more
    found ranks a longer heading, "Code Llama", above a shorter one it contains, "Llama")."""
    have = _pairs(card)
    best = (0.0, 0)
    for form in (heading, _FILLER.sub(" ", _BRACKETS.sub(" ", heading))):  # as written, and its core
        want = _pairs(form)
        if want:
            found = len(want & have)
            best = max(best, (found / len(want), found))
    # A heading named by its terms ("Alibi 位置编码", "优化方法:SGD、Adam、AdamW 对比") matches a card
    # that names most of them, whatever words it puts around them.
    terms = _words(heading)
    if len(terms) == 1 and terms <= shared:
        terms = set()  # one word that other headings of the file carry too ("MOE") tells nothing
    if terms:
        found = len(terms & _words(card))
        best = max(best, (0.67 * found / len(terms) if found * 3 >= len(terms) * 2 else 0.0, found))
    return best


# Read by hand where the score misleads: None keeps a card without a heading (the match was
# wrong), text names the section (it must be one of the file's headings, as written).
_HF = "Huggingface generate 函数中的 top_p sampling、top_k sampling、greedy_search、beam_search 参数解释"
_RING = "DDP 具体原理介绍, Ring-AllReduce 原理？"
_ADAM = "优化方法:SGD、Adam、AdamW 对比"
BY_HAND: dict[str, str | None] = {
    "tokenizer.unigram": "字节对编码 Byte Pair Encoding (BPE)、WordPiece、Unigram Language Model 介绍",
    "models.position_scheme_choice": None,  # across several models; "Bloom" was matched by a tag
    "distributed.ring_allreduce_gb": _RING,
    "distributed.ring_allreduce_steps": _RING,
    "distributed.ring_traffic_choice": _RING,
    "distributed.megatron_f_g_operators": "Megatron-lm 介绍",
    "distributed.megatron_row_split_choice": "MLP 的切分为什么 A 采用列切割，B采用行切割？",
    "training.adam_update": _ADAM,
    "training.adam_bias_correction": _ADAM,
    "training.adamw_step": _ADAM,
    "sampling.top_k": _HF,
    "sampling.top_p": _HF,
    "inference.top_p_choice": _HF,
    "inference.top_p_hf_implementation": _HF,
    "inference.beam_length_penalty": _HF,
}


@dataclass
class Match:
    file: Path
    qid: str
    heading: str
    score: float


def best_heading(question: dict[str, object], note_file: Path) -> tuple[str, float]:
    zh = question.get("i18n", {}).get("zh", {}) if isinstance(question.get("i18n"), dict) else {}  # type: ignore[union-attr]
    card = " ".join(
        str(x)
        for x in (question.get("title", ""), zh.get("title", ""), " ".join(map(str, question.get("tags", []) or [])))  # type: ignore[union-attr, call-overload]
    )
    titles = card.rsplit(" ", len(question.get("tags", []) or []))[0] if question.get("tags") else card  # type: ignore[arg-type]
    found = headings(note_file)
    seen: dict[str, int] = {}
    for h in found:
        for word in _words(h):
            seen[word] = seen.get(word, 0) + 1
    shared = frozenset(w for w, n in seen.items() if n > 1)
    ranked = sorted(((score(h, card, shared), score(h, titles, shared), h) for h in found), reverse=True)
    return (ranked[0][2], ranked[0][0][0]) if ranked else ("", 0.0)


def plan(files: list[Path], notes: Path) -> tuple[list[Match], list[Match]]:
    chosen: list[Match] = []
    left: list[Match] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for q in data.get("questions", []):
            source = str(q.get("source", ""))
            note, _, file = source.partition(":")
            if note != NOTE or not file or q.get("source_heading"):
                continue
            note_file = notes / file
            if not note_file.is_file():
                left.append(Match(path, q["id"], f"(no file {note_file})", 0.0))
                continue
            if q["id"] in BY_HAND:
                heading = BY_HAND[q["id"]]
                if heading is not None and heading not in headings(note_file):
                    raise SystemExit(f"BY_HAND[{q['id']!r}]: no heading {heading!r} in {note_file}")
                (chosen if heading else left).append(Match(path, q["id"], heading or "(by hand: none)", 1.0))
                continue
            heading, s = best_heading(q, note_file)
            (chosen if s >= MIN_SCORE else left).append(Match(path, q["id"], heading, s))
    return chosen, left


def write(path: Path, headings_by_id: dict[str, str]) -> int:
    """Insert `source_heading: "..."` after the `source:` line of each question named."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out: list[str] = []
    current = ""
    written = 0
    for line in lines:
        out.append(line)
        m = re.match(r"^\s*-\s+id:\s*['\"]?([\w.]+)", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^(\s*)source:\s", line)
        if m and current in headings_by_id:
            out.append(f"{m.group(1)}source_heading: {json.dumps(headings_by_id.pop(current), ensure_ascii=False)}\n")
            written += 1
    path.write_text("".join(out), encoding="utf-8")
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--notes", type=Path, default=DEFAULT_NOTES)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "questions").glob("[!_]*.yaml"))
    chosen, left = plan(files, args.notes)
    for m in chosen:
        print(f"{m.score:.2f}  {m.qid}  -> {m.heading}")
    for m in left:
        print(f"none  {m.qid}  (best {m.score:.2f}: {m.heading})")
    print(f"{len(chosen)} headings found, {len(left)} cards left without one", file=sys.stderr)
    if args.write:
        by_file: dict[Path, dict[str, str]] = {}
        for m in chosen:
            by_file.setdefault(m.file, {})[m.qid] = m.heading
        total = sum(write(path, found) for path, found in by_file.items())
        print(f"wrote {total} source_heading lines", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
