"""Translations in the bank: which fields a question's `i18n:` block may translate, and `from_en`.

English is the canonical text. A translation records `from_en`, a short hash of the English
fields it was written from, so that an edit of the English shows which translations went stale.

    python -m llmq.bank.i18n hashes questions/norm.yaml   # prints "ID HASH" for every question
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

LOCALES = ("zh",)

# The fields a translation may carry, by kind, in the order they are hashed.
TRANSLATABLE: dict[str, tuple[str, ...]] = {
    "flashcard": ("title", "prompt", "answer", "key_points"),
    "choice": ("title", "prompt", "options", "rationales", "explanation"),
    "numeric": ("title", "prompt", "solution"),
    "code": ("title", "task", "hints"),
    "cloze": ("title", "passage", "extra"),
}
HASH_LENGTH = 10
LIST_FIELDS = ("options", "rationales", "hints", "key_points")  # translated item by item: the same length as the English
# Fields added to a kind after its translations were written: hashed only where a question has
# them, so that adding the field to TRANSLATABLE left every existing from_en as it was.
HASHED_WHEN_PRESENT = ("key_points",)
TEMPLATE_FIELDS = {"numeric": ("prompt", "solution")}  # with {{placeholders}} filled at draw time
LOCALE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")  # zh, pt_BR: how a locale is written in `i18n:`

# Markdown code: a fenced block (``` or ~~~, closed by the same fence), then an inline span.
_FENCE = re.compile(r"(?ms)^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$")
# An inline span may wrap onto the next line (not across a blank one); Markdown shows the line
# break as a space, so a span is compared with each line break as one space.
_INLINE = re.compile(r"(?s)(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)")
_WRAP = re.compile(r"[ \t]*\n[ \t]*")
# Math the app renders: $$display$$ or $inline$ (a \$ is a dollar sign, not math).
_MATH = re.compile(r"(?s)(?<!\\)\$\$.+?(?<!\\)\$\$|(?<![\\$])\$(?!\$)(?:\\.|[^$\n])+?(?<!\\)\$")


def source_hash(entry: Mapping[str, Any]) -> str:
    """The `from_en` of a translation of `entry` (a question as written in YAML)."""
    import hashlib  # here, not at import: the cache imports this module at every start

    fields = TRANSLATABLE.get(str(entry.get("kind", "")), ())
    values = [entry.get(name) for name in fields if name not in HASHED_WHEN_PRESENT or entry.get(name) is not None]
    text = json.dumps(values, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def code_spans(text: str) -> list[str]:
    """Every fenced code block and inline code span of Markdown `text`, in order."""
    blocks = [m.group(0).strip() for m in _FENCE.finditer(text)]
    rest = _FENCE.sub("\n", text)
    return blocks + [_WRAP.sub(" ", m.group(0)) for m in _INLINE.finditer(rest)]


def without_code(text: str) -> str:
    """`text` with its code blocks and spans blanked (what a reader reads as prose and math)."""
    return _INLINE.sub(" ", _FENCE.sub("\n", text))


def math_segments(text: str) -> list[str]:
    """The $...$ and $$...$$ segments of `text` outside code."""
    return _MATH.findall(without_code(text))


def prose(text: str) -> str:
    """`text` without code or math: where glossary terms are looked for."""
    return _MATH.sub(" ", without_code(text))


def _as_texts(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def structure_problems(kind: str, english: Mapping[str, Any], field: str, translated: Any) -> Iterator[str]:
    """What keeps the translation of one field from standing in for the English (code, math,
    placeholders): each a sentence. The types and lengths are checked by the caller."""
    from llmq.bank.numeric import placeholders

    pairs = list(zip(_as_texts(english.get(field)), _as_texts(translated), strict=False))
    for index, (en, zh) in enumerate(pairs):
        where = f"item {index}: " if isinstance(translated, list) else ""
        if Counter(code_spans(en)) != Counter(code_spans(zh)):
            missing = sorted((Counter(code_spans(en)) - Counter(code_spans(zh))).elements())
            extra = sorted((Counter(code_spans(zh)) - Counter(code_spans(en))).elements())
            said = "; ".join(
                part
                for part in (
                    f"lacks {', '.join(map(_short, missing))}" if missing else "",
                    f"has {', '.join(map(_short, extra))} that the English lacks" if extra else "",
                )
                if part
            )
            yield f"{where}code must be byte-identical to the English: {said}"
        en_math, zh_math = len(math_segments(en)), len(math_segments(zh))
        if en_math != zh_math:
            yield f"{where}has {zh_math} math segment{'s' if zh_math != 1 else ''} ($...$), the English has {en_math}"
        if field in TEMPLATE_FIELDS.get(kind, ()) and placeholders(en) != placeholders(zh):
            want = ", ".join("{{" + p + "}}" for p in sorted(placeholders(en))) or "none"
            got = ", ".join("{{" + p + "}}" for p in sorted(placeholders(zh))) or "none"
            yield f"{where}uses the placeholders {got}; the English uses {want} (exactly the same set)"


def _short(span: str) -> str:
    first = span.splitlines()[0] if span.strip() else span
    return repr(first if len(first) <= 40 else first[:37] + "...")


# --- the glossary -------------------------------------------------------------------------------


def _english_pattern(term: str) -> re.Pattern[str]:
    """`term` as a whole word or phrase (any spacing, a plural -s), never inside a compound:
    'decoder' is not in 'decoder-only', 'attention' is not in 'self-attention'."""
    words = r"\s+".join(re.escape(w) for w in term.split())
    flags = 0 if _is_name(term) else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])", flags)


def _is_name(term: str) -> bool:
    """A name or acronym (LoRA, GPU, FLOPs): matched as written, never as an ordinary word."""
    return any(c.isupper() for c in term[1:]) or term.isupper()


# Words that follow a verb as its object: "ZeRO shards the optimizer state", "masks padding".
_OBJECT = re.compile(
    r"\s+[*_]*(?:(?:the|them|it|its|their|every|each|all|a|an|one|two|three|model|gradients|padding|nothing)\b|\d)",
    re.IGNORECASE,
)
_MODAL = re.compile(r"(?:\b(?:to|can|will|must|may|not|never|and|then)|^|[.!?:\n]\s*)\s*$", re.IGNORECASE)


def _used_as_verb(text: str, start: int, end: int, term: str) -> bool:
    """The glossary's `terms` are nouns (shard: 分片); the same word as a verb ("ZeRO shards the
    states", "Mask the future") is translated as a verb (切分, 掩掉), so it is not looked for."""
    if " " in term or not _OBJECT.match(text, end):
        return False
    return text[start:end].lower().endswith("s") and not term.endswith("s") or bool(_MODAL.search(text[:start]))


def _proper_name(text: str, start: int, term: str) -> bool:
    """A lowercase glossary word written capitalised mid-sentence is a name ('OpenAI Baselines'),
    not the term."""
    if not term[:1].islower() or not text[start].isupper():
        return False
    before = text[:start].rstrip(" \t*_(\"'")
    return bool(before) and before[-1] not in ".!?:;\n-"


class Glossary:
    """questions/_glossary.yaml: `keep` (terms the Chinese keeps in English) and `terms`."""

    def __init__(self, keep: list[str], terms: dict[str, str]) -> None:
        self.keep = [(t, _english_pattern(t)) for t in keep]
        self.terms = [(en, zh, _english_pattern(en)) for en, zh in terms.items()]

    @classmethod
    def read(cls, path: Path) -> Glossary:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls([str(t) for t in data.get("keep") or []], {str(k): str(v) for k, v in (data.get("terms") or {}).items()})

    def misses(self, english: str, translated: str, *, title: bool = False) -> list[str]:
        """Each way `translated` departs from the glossary, as a sentence. Code and math are
        skipped, and a term inside a longer one ('GPU' in 'GPU memory', 'prompt' in 'prompt
        tuning') answers to the longer one only. A title (`title=True`) is checked for kept
        terms only: a Chinese title is the notes' question as readers search it, not a
        rendering of the English one. An identifier's spelling counts for a kept term (top_p
        for top-p)."""
        en, zh = prose(english), prose(translated)
        zh_folded = zh.casefold().replace("_", "-")
        rules = [(t, None, p) for t, p in self.keep] + [(t, c, p) for t, c, p in self.terms]
        spans = {i: [m.span() for m in p.finditer(en)] for i, (_, _, p) in enumerate(rules)}
        longer = [s for i, found in spans.items() for s in found]
        found: list[str] = []
        for i, (term, chinese, _) in enumerate(rules):
            if title and chinese is not None:
                continue  # still a longer term above: 'position embedding' answers for 'embedding'
            alone = [
                (a, b)
                for a, b in spans[i]
                if not any(c <= a and b <= d and (d - c) > (b - a) for c, d in longer)
                and not _proper_name(en, a, term)
                and not (chinese is not None and _used_as_verb(en, a, b, term))
            ]
            if not alone:
                continue
            # A glossary term in Latin letters (Prompt tuning) is matched as a reader would, in any case.
            want = term if chinese is None else chinese
            if want.casefold().replace("_", "-") in zh_folded:
                continue
            if chinese is None:
                found.append(f"keeps {term!r} in English (glossary: keep), but the translation does not use it")
            else:
                found.append(f"the English says {term!r}; the glossary's term {chinese} does not appear")
        return found


def _hashes(path: Path) -> list[str]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [f"{q.get('id')} {source_hash(q)}" for q in data.get("questions", [])]


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "hashes":
        print("usage: python -m llmq.bank.i18n hashes FILE.yaml...", file=sys.stderr)
        return 2
    for name in argv[1:]:
        print("\n".join(_hashes(Path(name))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
