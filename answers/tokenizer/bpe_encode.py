"""tokenizer.bpe_encode — encode text with learned byte-level BPE merges: reference, checks, wrong answers.

bpe_encode(text, merges) -> list of ints. merges is a list of (int, int) pairs as tokenizer.bpe_train
returns them: merge s joins its pair into the new id 256 + s (ids 0-255 are the bytes). Start from
the UTF-8 bytes of text; repeatedly find, among the adjacent pairs of the current sequence, the one
with the lowest rank s (the earliest learned), replace its non-overlapping occurrences left to right
by 256 + s; stop when no adjacent pair is in merges. (GPT-2's encoder.py bpe(): `min(pairs, key=rank)`;
Sennrich et al. 2016, arXiv:1508.07909, sec. 3.2: merges are applied in the order they were learned.)

Regimes where implementations diverge (each run every time by `worked_examples` and
`boundary_cases`):
- empty text, one byte, no merges, merges none of which occur;
- a run of one byte (left-to-right replacement), merged ids merging again;
- ranks out of position order (the lowest rank in the middle of the text);
- merges across a space and across the bytes of different characters (a pre-tokenizer that splits
  on spaces, as GPT-2's, never makes them: the task has none);
- multi-byte UTF-8;
- a text of 2868 bytes with 60 merges (recursion depth, quadratic rebuilds).
"""

import random

from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited


def _merge(ids, pair, new_id):
    """Replace non-overlapping occurrences of pair, left to right."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def reference(text, merges):
    ranks = {tuple(pair): s for s, pair in enumerate(merges)}  # pair -> rank (its merge step)
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        present = set(zip(ids, ids[1:]))
        best = min(present, key=lambda p: ranks.get(p, len(ranks)))  # lowest rank among adjacent pairs
        if best not in ranks:
            break  # nothing left to merge
        ids = _merge(ids, best, 256 + ranks[best])
    return ids


# Hand-worked cases, each for one rule: (text, merges, expected ids, what it shows)
WORKED = [
    ("", [(97, 98)], [], "empty text: no tokens"),
    ("ab", [], [97, 98], "no merges: the UTF-8 bytes"),
    ("abc", [(98, 99), (97, 98)], [97, 256], "rank, not position: (b, c) was learned first, so it wins over the leftmost (a, b)"),
    ("aaa", [(97, 97)], [256, 97], "non-overlapping, left to right: aaa -> [256, 97], not [97, 256]"),
    ("aaaa", [(97, 97), (256, 256)], [257], "merged ids merge again: aaaa -> [256, 256] -> [257]"),
    ("xy", [(1, 2), (120, 121)], [257], "merge s makes id 256 + s even when earlier merges do not occur"),
    ("é", [(195, 169)], [256], "UTF-8 bytes: é is 0xC3 0xA9, not the code point 233"),
    (
        "abab",
        [(98, 97), (97, 98), (257, 257)],
        [97, 256, 98],
        "the lowest-ranked pair (b, a) sits in the middle: merging it first leaves no (a, b) to merge",
    ),
]

ALPHABET = "ab c\nédz中😀"  # a few letters, a space and a newline, 2-, 3- and 4-byte UTF-8 characters


def _texts(alphabet, max_size):
    """Strings of up to max_size characters of `alphabet`. Not st.text: its first draw in a process
    builds hypothesis's table of every Unicode code point's category (~80 ms), and each judged
    submission runs in a fresh process, where the table is not kept (hypothesis has no cache dir)."""
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map("".join)


# Texts of ALPHABET, and runs of a's (texts of "ab"), where overlapping occurrences make the replacement order matter
TEXTS = st.one_of(_texts(ALPHABET, 24), _texts("ab", 16))


def _learned_merges(text, n, seed, first=None):
    """A valid merge list: each step joins a random adjacent pair of the current sequence of text
    (not the most frequent one, so ranks are in unusual orders); `first` fixes step 0's pair."""
    rng = random.Random(seed)
    ids, merges = list(text.encode("utf-8")), []
    for s in range(n):
        if len(ids) < 2:
            break
        i = rng.randrange(len(ids) - 1)
        pair = first if s == 0 and first else (ids[i], ids[i + 1])
        if pair in merges:  # already learned: its occurrences are gone from ids, so this cannot happen
            raise AnswerModuleBug("a merge was learned twice")
        ids = _merge(ids, pair, 256 + s)
        merges.append(pair)
    return merges


def _decode(ids, merges):
    vocab = {i: bytes([i]) for i in range(256)}
    for s, (a, b) in enumerate(merges):
        vocab[256 + s] = vocab[a] + vocab[b]
    return b"".join(vocab[i] for i in ids)


def _as_ints(ctx, got):
    if not isinstance(got, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in got):
        ctx.fail(f"returned {got!r:.120}; expected a list of ints")
    return list(got)


@check(
    "matches the reference (random texts with multi-byte characters, merges learned on the same or another text)",
    zh="与参考实现一致（含多字节字符的随机文本，merge 规则在同一文本或另一文本上学得）",
    teaches=["tokenizer.bpe_encoding_merges"],
)
def matches_reference(ctx):
    text, other, n, seed, same = ctx.draw(st.tuples(TEXTS, TEXTS, st.integers(0, 12), st.integers(0, 2**16), st.booleans()))
    merges = _learned_merges(text if same else other + text[: len(text) // 2], n, seed)
    got = _as_ints(ctx, ctx.call(text, merges))
    ctx.assert_equal(got, reference(text, merges))


@check(
    "worked examples: rank order, non-overlapping left-to-right replacement, merged ids merging again, UTF-8",
    zh="手算的例子：rank 顺序，从左到右不重叠地替换，合并后的 id 再次合并，UTF-8",
    examples=1,
    teaches=["tokenizer.bpe_encoding_merges", "tokenizer.byte_level_bpe"],
)
def worked_examples(ctx):
    for text, merges, expected, why in WORKED:
        if reference(text, merges) != expected:
            raise AnswerModuleBug(f"reference disagrees with the worked example {text!r}")
        got = _as_ints(ctx, ctx.call(text, merges))
        if got != expected:
            ctx.fail(f"bpe_encode({text!r}, {merges}) should give {expected}, got {got}\nthis example tests: {why}")
    ctx.assert_equal(got, expected)


def _boundary_cases():
    """(text, merges, why): built here from fixed seeds, so the same every run."""
    long_text = ("the cat sat on the mat; 的猫 " * 200)[:2500]
    return [
        ("", [], "empty text, no merges"),
        ("a", [(97, 97)], "one byte"),
        ("abc", [(1, 2), (3, 4)], "merges none of which occur"),
        ("ab cd ab", [(98, 32), (256, 99), (97, 257)], "merges across spaces: (b, ' ') then ('b ', c)"),
        ("的猫的", [(154, 231), (231, 154), (190, 233)], "merges across the bytes of different characters"),
        ("zzzzz", [(122, 122), (256, 256), (257, 122)], "a run of five: [256, 256, z] -> [257, z] -> [258]"),
        (long_text, _learned_merges(long_text, 60, 7), "2500 characters (2868 bytes of UTF-8), 60 merges"),
    ]


@check(
    "boundary cases every run: empty text, one byte, merges that never occur, merges across spaces and characters, a run of 5, a long text",
    zh="每次都测的边界情况：空文本，一个字节，从未出现的 merge，跨空格和字符的 merge，连续 5 个相同字符，长文本",
    examples=1,
    teaches=["tokenizer.bpe_encoding_merges"],
)
def boundary_cases(ctx):
    for text, merges, why in _boundary_cases():
        got = _as_ints(ctx, ctx.call(text, merges))
        expected = reference(text, merges)
        if got != expected:
            ctx.fail(
                f"bpe_encode({text[:30]!r}{'...' if len(text) > 30 else ''}, {str(merges)[:200]}) should give "
                f"{str(expected)[:200]}, got {str(got)[:200]}\nthis example tests: {why}"
            )
        ctx.assert_equal(got, expected)


@check(
    "runs of one repeated character (odd and even lengths): occurrences are replaced left to right",
    zh="同一字符的连续重复（奇数和偶数长度）：从左到右替换出现的位置",
)
def runs(ctx):
    char, k, tail, n, seed = ctx.draw(
        st.tuples(
            st.sampled_from(["a", " ", "z"]),
            st.integers(2, 9),
            st.sampled_from(["", "b", "bb"]),
            st.integers(1, 4),
            st.integers(0, 2**16),
        )
    )
    text = char * k + tail
    merges = _learned_merges(text, n, seed, first=(ord(char), ord(char)))  # the run's own pair is learned first
    got = _as_ints(ctx, ctx.call(text, merges))
    ctx.assert_equal(got, reference(text, merges))


@check(
    "round trip: decoding the ids with the merges' vocabulary gives back the UTF-8 bytes; every id is a byte or a merge",
    zh="往返：用 merge 的词表解码 id 得到原来的 UTF-8 字节；每个 id 要么是一个字节，要么是一次 merge",
    teaches=["tokenizer.byte_level_bpe"],
)
def round_trip(ctx):
    text, n, seed = ctx.draw(st.tuples(TEXTS, st.integers(1, 12), st.integers(0, 2**16)))
    merges = _learned_merges(text + text[::-1], n, seed)
    got = _as_ints(ctx, ctx.call(text, merges))
    bad = [i for i in got if not 0 <= i < 256 + len(merges)]
    if bad:
        ctx.fail(f"ids {bad[:5]} are neither bytes (0-255) nor made by one of the {len(merges)} merges")
    if _decode(got, merges) != text.encode("utf-8"):
        ctx.fail(f"decoding {got} gives {_decode(got, merges)!r}, not the text's UTF-8 bytes {text.encode('utf-8')!r}")
    ctx.assert_equal(got, reference(text, merges))


# Applying each merge once, in the order learned: correct too (a merge never creates a pair learned
# earlier), and the shape most wrong answers below are one-bug edits of.
_PLAIN = """
def bpe_encode(text, merges):
    ids = list(text.encode("utf-8"))
    for s, (a, b) in enumerate(merges):
        merged, i = [], 0
        while i < len(ids):
            if ids[i] == a and i + 1 < len(ids) and ids[i + 1] == b:
                merged.append(256 + s)
                i += 2
            else:
                merged.append(ids[i])
                i += 1
        ids = merged
    return ids
"""


WRONG_ANSWERS = {
    "merges the most frequent known pair first (the training rule), not the lowest rank": """
from collections import Counter

def bpe_encode(text, merges):
    ranks = {tuple(p): s for s, p in enumerate(merges)}
    ids = list(text.encode("utf-8"))
    while True:
        counts = Counter(p for p in zip(ids, ids[1:]) if p in ranks)
        if not counts:
            return ids
        pair = max(counts, key=lambda p: (counts[p], -ranks[p]))
        merged, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                merged.append(256 + ranks[pair])
                i += 2
            else:
                merged.append(ids[i])
                i += 1
        ids = merged
""",
    "merges the leftmost mergeable pair first, whatever its rank": """
def bpe_encode(text, merges):
    ranks = {tuple(p): s for s, p in enumerate(merges)}
    ids = list(text.encode("utf-8"))
    while True:
        for i in range(len(ids) - 1):
            if (ids[i], ids[i + 1]) in ranks:
                ids = ids[:i] + [256 + ranks[(ids[i], ids[i + 1])]] + ids[i + 2:]
                break
        else:
            return ids
""",
    "code points (ord) instead of UTF-8 bytes": edited(_PLAIN, ('list(text.encode("utf-8"))', "[ord(c) for c in text]")),
    "replaces occurrences right to left (aaa -> [97, 256])": edited(
        _PLAIN,
        (
            "        merged, i = [], 0\n        while i < len(ids):\n            if ids[i] == a and i + 1 < len(ids) and ids[i + 1] == b:",
            "        merged, i = [], len(ids) - 1\n        while i >= 0:\n            if ids[i] == b and i >= 1 and ids[i - 1] == a:",
        ),
        ("                i += 2", "                i -= 2"),
        ("                i += 1", "                i -= 1"),
        ("        ids = merged", "        ids = merged[::-1]"),
    ),
    "applies the merges in reverse order (latest learned first)": edited(
        _PLAIN,
        ("for s, (a, b) in enumerate(merges):", "for s, (a, b) in reversed(list(enumerate(merges))):"),
    ),
    "splits the text into words first (GPT-2's pre-tokenizer), so no merge crosses a space": """
import re

def _encode_piece(ids, merges):
    for s, (a, b) in enumerate(merges):
        merged, i = [], 0
        while i < len(ids):
            if ids[i] == a and i + 1 < len(ids) and ids[i + 1] == b:
                merged.append(256 + s)
                i += 2
            else:
                merged.append(ids[i])
                i += 1
        ids = merged
    return ids

def bpe_encode(text, merges):
    out = []
    for piece in re.findall(r" ?[^ ]+| +", text):
        out.extend(_encode_piece(list(piece.encode("utf-8")), merges))
    return out
""",
    "encodes each character on its own (merges never cross characters)": edited(
        _PLAIN,
        (
            'def bpe_encode(text, merges):\n    ids = list(text.encode("utf-8"))\n',
            "def bpe_encode(text, merges):\n    if len(text) > 1:\n        return [i for ch in text for i in bpe_encode(ch, merges)]\n"
            '    ids = list(text.encode("utf-8"))\n',
        ),
    ),
    "replaces the pair with a recursive helper (RecursionError on long texts)": """
def bpe_encode(text, merges):
    def replace(rest, pair, new_id):
        if len(rest) < 2:
            return list(rest)
        if (rest[0], rest[1]) == pair:
            return [new_id] + replace(rest[2:], pair, new_id)
        return [rest[0]] + replace(rest[1:], pair, new_id)
    ids = list(text.encode("utf-8"))
    for s, pair in enumerate(merges):
        ids = replace(ids, tuple(pair), 256 + s)
    return ids
""",
    "an unknown pair gets rank 0 (ranks.get(p, 0)): encoding stops at the first unknown pair": """
def bpe_encode(text, merges):
    ranks = {tuple(p): s for s, p in enumerate(merges)}
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        best = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, 0))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == best:
                merged.append(256 + ranks[best])
                i += 2
            else:
                merged.append(ids[i])
                i += 1
        ids = merged
    return ids
""",
}

ALTERNATIVES = {
    "each merge once, in the order learned (equivalent: a merge can never create an earlier-ranked pair)": _PLAIN,
}
