"""tokenizer.bpe_train — training byte-level BPE merges: reference, checks, known-wrong answers.

bpe_train(text, n_merges) -> list of (int, int): start from the UTF-8 bytes of text (ids 0-255).
Step s counts every adjacent pair of the current sequence (position i with i + 1, so "aaa" holds
(97, 97) twice), takes the most frequent pair (ties: the smallest pair as a tuple), replaces its
non-overlapping occurrences left to right by the new id 256 + s, and records the pair. It stops
early only when fewer than two tokens remain (a pair seen once is still merged).
(Sennrich et al. 2016, arXiv:1508.07909, sec. 3.2; GPT-2's byte-level BPE, Radford et al. 2019, sec. 2.2.)

Regimes where implementations diverge (each run every time by `worked_examples` and
`boundary_cases`):
- empty text, one token, n_merges = 0, more merges asked than tokens allow;
- runs of one byte (overlapping counts, left-to-right replacement);
- ties: between byte pairs, and between a merged id (>= 256) and bytes, where comparing the pairs
  as strings ("(99, 256)" < "(99, 99)") or by first appearance picks another;
- a merged id merged again (a new id off by one shows only there);
- multi-byte UTF-8;
- a text of 3000 bytes with 40 merges (recursion depth, quadratic rebuilds).
"""

from collections import Counter

from hypothesis import strategies as st

from llmq.judge.kit import AnswerModuleBug, check, edited


def reference(text, n_merges):
    ids = list(text.encode("utf-8"))  # byte ids 0..255
    merges = []
    for step in range(n_merges):
        if len(ids) < 2:
            break
        counts = Counter(zip(ids, ids[1:]))  # every adjacent position, overlapping ones included
        best = max(counts.values())
        pair = min(p for p, c in counts.items() if c == best)  # ties: the smallest pair
        new_id, out, i = 256 + step, [], 0
        while i < len(ids):  # left to right; a merged position cannot be reused
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
        merges.append(pair)
    return merges


ALPHABETS = ["ab", "abc ", "aab", "zyx", "ab中", "é😀 a", "的的是"]


@check(
    "matches the reference on random texts (ASCII and multi-byte UTF-8, many repeats and ties), 0 to 12 merges",
    zh="在随机文本上与参考实现一致（ASCII 和多字节 UTF-8，大量重复和并列），0 到 12 次 merge",
    teaches=["tokenizer.bpe_training", "tokenizer.byte_level_bpe"],
)
def matches_reference(ctx):
    alphabet, lengths, picks, n = ctx.draw(
        st.tuples(
            st.sampled_from(ALPHABETS),
            st.lists(st.integers(1, 5), max_size=8),  # run lengths: zzzz and aaa are where overlaps matter
            st.lists(st.integers(0, 3), min_size=8, max_size=8),  # which character each run repeats
            st.integers(0, 12),
        )
    )
    text = "".join(alphabet[pick % len(alphabet)] * length for pick, length in zip(picks, lengths))
    ctx.assert_equal(ctx.call(text, n), ctx.reference(text, n))


# Hand-worked cases, each for one rule: (text, n_merges, merges, what it shows)
WORKED = [
    ("", 3, [], "empty text: no tokens, no merges"),
    ("a", 3, [], "one token: nothing to pair"),
    ("éé", 1, [(195, 169)], "UTF-8 bytes: é is 0xC3 0xA9, not the code point 233"),
    (
        "cdcdabab",
        1,
        [(97, 98)],
        "ties: (c, d) and (a, b) both occur twice; the smallest pair (97, 98) wins, not the first seen or the largest (99, 100)",
    ),
    ("zzzzabab", 1, [(122, 122)], "overlapping counting: zzzz holds (z, z) three times, abab holds (a, b) twice"),
    ("abcabc", 2, [(97, 98), (256, 99)], "the last token stays: abcabc -> [256, c, 256, c], so (256, c) occurs twice"),
    ("aaaxaaa", 2, [(97, 97), (256, 97)], "left to right: aaa -> [256, a], not [a, 256], so the next pair is (256, 97)"),
    (
        "abcd",
        5,
        [(97, 98), (99, 100), (256, 257)],
        "every count is 1: still merges, smallest pair first, until one token remains",
    ),
    ("aaaa", 5, [(97, 97), (256, 256)], "non-overlapping replacement: aaaa -> [256, 256] -> [257], then stop"),
]


@check(
    "worked examples: overlapping counts, ties to the smallest pair, non-overlapping left-to-right replacement, early stop, UTF-8",
    zh="手算的例子：重叠计数，并列时取最小的 pair，从左到右不重叠地替换，提前停止，UTF-8",
    examples=1,
    teaches=["tokenizer.bpe_training"],
)
def worked_examples(ctx):
    for text, n, expected, why in WORKED:
        got = ctx.call(text, n)
        if reference(text, n) != expected:
            raise AnswerModuleBug(f"reference disagrees with the worked example {text!r}")
        if _as_pairs(got) != expected:
            ctx.fail(f"bpe_train({text!r}, {n}) should give {expected}, got {got!r}\nthis example tests: {why}")
    ctx.assert_equal(got, expected)


def _as_pairs(value):
    try:
        return [tuple(p) for p in value]
    except TypeError:
        return value


# (text, n_merges, why): compared with the reference, every run
BOUNDARY_CASES = [
    ("", 0, "empty text, no merges asked"),
    ("abab", 0, "n_merges = 0"),
    ("ccab", 3, "a tie between (99, 99) and (99, 256): tuples, not strings, decide"),
    ("abababab", 3, "a merged id merged again, twice"),
    ("的的的是是", 4, "three-byte UTF-8 characters"),
    (("the cat sat on the mat; " * 125)[:3000], 40, "3000 bytes, 40 merges"),
]


@check(
    "boundary cases every run: n_merges = 0, ties between merged ids and bytes, re-merged ids, UTF-8, a text of 3000 bytes",
    zh="每次都测的边界情况：n_merges = 0，合并后的 id 与字节并列，再次合并的 id，UTF-8，3000 字节的文本",
    examples=1,
    teaches=["tokenizer.bpe_training"],
)
def boundary_cases(ctx):
    for text, n, why in BOUNDARY_CASES:
        got, expected = ctx.call(text, n), ctx.reference(text, n)
        if _as_pairs(got) != expected:
            ctx.fail(
                f"bpe_train({text[:30]!r}{'...' if len(text) > 30 else ''}, {n}) should give {expected[:8]}"
                f"{'...' if len(expected) > 8 else ''}, got {str(got)[:300]}\nthis example tests: {why}"
            )
        ctx.assert_equal(got, expected)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
from collections import Counter

def bpe_train(text, n_merges):
    ids = list(text.encode("utf-8"))
    merges = []
    for step in range(n_merges):
        if len(ids) < 2:
            break
        counts = Counter(zip(ids, ids[1:]))
        pair = min(counts, key=lambda p: (-counts[p], p))
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(256 + step)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
        merges.append(pair)
    return merges
"""

WRONG_ANSWERS = {
    "counts non-overlapping occurrences only (skips past a repeated pair, like bytes.count): 'aaa' holds (a, a) once": edited(
        _PLAIN,
        (
            """        counts = Counter(zip(ids, ids[1:]))
""",
            """        counts, j = Counter(), 0
        while j < len(ids) - 1:
            counts[ids[j], ids[j + 1]] += 1
            j += 2 if ids[j] == ids[j + 1] else 1
""",
        ),
    ),
    "ties go to the first pair seen (max(stats, key=stats.get)), not the smallest": edited(
        _PLAIN, ("min(counts, key=lambda p: (-counts[p], p))", "max(counts, key=counts.get)")
    ),
    "ties go to the largest pair": edited(
        _PLAIN, ("min(counts, key=lambda p: (-counts[p], p))", "max(counts, key=lambda p: (counts[p], p))")
    ),
    "merges right to left ('aaa' -> [97, 256])":  # scans the reversed sequence for the reversed pair
    edited(
        _PLAIN,
        ("out, i = [], 0", "ids, out, i = ids[::-1], [], 0"),
        ("(ids[i], ids[i + 1]) == pair", "(ids[i + 1], ids[i]) == pair"),
        ("ids = out\n", "ids = out[::-1]\n"),
    ),
    "stops when no pair occurs at least twice": edited(
        _PLAIN,
        (
            """        pair = min(""",
            """        if max(counts.values()) < 2:
            break
        pair = min(""",
        ),
    ),
    "drops the last token when it is not part of a merge (loops to len - 1)": edited(
        _PLAIN,
        (
            """        while i < len(ids):
            if i + 1 < len(ids) and""",
            """        while i < len(ids) - 1:
            if""",
        ),
    ),
    "works on code points (ord) instead of UTF-8 bytes": edited(_PLAIN, ('list(text.encode("utf-8"))', "[ord(c) for c in text]")),
    "ties broken by comparing the pairs as strings ('(99, 256)' < '(99, 99)')": edited(
        _PLAIN, ("min(counts, key=lambda p: (-counts[p], p))", "min(counts, key=lambda p: (-counts[p], str(p)))")
    ),
    "new ids start at 257 (256 + step + 1)": edited(_PLAIN, ("out.append(256 + step)", "out.append(257 + step)")),
    "replaces the pair with a recursive helper (RecursionError on long texts)": edited(
        _PLAIN,
        (
            """        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(256 + step)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
""",
            """        def replace(rest):
            if len(rest) < 2:
                return list(rest)
            if (rest[0], rest[1]) == pair:
                return [256 + step] + replace(rest[2:])
            return [rest[0]] + replace(rest[1:])
        ids = replace(ids)
""",
        ),
    ),
}

ALTERNATIVES = {
    "a linked list over the positions: merges in place, counts rebuilt each step": """
def bpe_train(text, n_merges):
    ids = list(text.encode("utf-8"))
    nxt = list(range(1, len(ids))) + [-1]   # next live position, -1 at the end
    head = 0 if ids else -1
    merges = []
    for step in range(n_merges):
        counts = {}
        i = head
        while i != -1 and nxt[i] != -1:
            pair = (ids[i], ids[nxt[i]])
            counts[pair] = counts.get(pair, 0) + 1
            i = nxt[i]
        if not counts:          # fewer than two tokens
            break
        pair = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        i = head
        while i != -1 and nxt[i] != -1:
            j = nxt[i]
            if (ids[i], ids[j]) == pair:
                ids[i] = 256 + step      # i absorbs j
                nxt[i] = nxt[j]
            i = nxt[i]
        merges.append(pair)
    return merges
""",
    "tuples and a skip flag; ties by sorting the most frequent pairs": """
def bpe_train(text, n_merges):
    seq = tuple(text.encode("utf-8"))
    merges = []
    for step in range(n_merges):
        if len(seq) < 2:
            break
        counts = {}
        for a, b in zip(seq, seq[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
        top = max(counts.values())
        pair = sorted(p for p in counts if counts[p] == top)[0]
        merged, skip = [], False
        for i, tok in enumerate(seq):
            if skip:
                skip = False
                continue
            if i + 1 < len(seq) and (tok, seq[i + 1]) == pair:
                merged.append(256 + step)
                skip = True
            else:
                merged.append(tok)
        seq = tuple(merged)
        merges.append(pair)
    return merges
""",
}
