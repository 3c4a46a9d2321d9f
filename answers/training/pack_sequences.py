"""training.pack_sequences — documents packed into fixed blocks with EOS, per-document position ids and a block-diagonal causal mask: reference, checks, wrong answers.

pack_sequences(documents, block_size, eos_id, pad_id=0): documents a non-empty list of int64 1-D
tensors (each of length >= 1, holding neither eos_id nor pad_id). The pretraining convention:
concatenate every document followed by one EOS token, in order, into one stream and cut it into
blocks of block_size tokens; a document longer than the room left continues in the next block.
The last partial block is filled with pad_id; a stream that is an exact multiple of block_size
gets no extra block. Returns (input_ids, position_ids, attention_mask):
- input_ids (n_blocks, L) int64;
- position_ids (n_blocks, L) int64: 0, 1, 2, ... from the start of each document's segment in a
  block (its EOS included); a document that continues into the next block restarts at 0 there
  (each block is attended on its own, as with HF DataCollatorWithFlattening / flash-attn varlen
  cu_seqlens); padding positions are 0;
- attention_mask (n_blocks, L, L) bool: [b, i, j] True iff j <= i and tokens i and j belong to the
  same document segment of block b and neither is padding (padding rows and columns all False).
(Krell et al. 2021, Efficient Sequence Packing without Cross-contamination, sec. 3-4.)

Regimes where implementations diverge (each run every time by `boundary_cases`):
- a document + EOS exactly filling a block; the stream an exact multiple of block_size (no
  padding, no extra block);
- a document of exactly block_size tokens, so its EOS opens the next block (position 0 there);
- a document spanning three blocks; one single document; one-token documents;
- block_size 1 (every token its own block) and block_size 2;
- a last block that is mostly padding.
"""

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited


def reference(documents, block_size, eos_id, pad_id=0):
    tokens: list[int] = []
    doc_of: list[int] = []  # which document each stream token belongs to (its EOS included)
    for d, doc in enumerate(documents):
        tokens += [int(t) for t in doc] + [int(eos_id)]
        doc_of += [d] * (len(doc) + 1)
    n_blocks = -(-len(tokens) // block_size)  # ceil: the last partial block is kept
    n_pad = n_blocks * block_size - len(tokens)
    tokens += [int(pad_id)] * n_pad
    doc_of += [-1] * n_pad  # -1: padding
    ids = torch.tensor(tokens, dtype=torch.int64).view(n_blocks, block_size)
    seg = torch.tensor(doc_of, dtype=torch.int64).view(n_blocks, block_size)
    pos = torch.zeros(n_blocks, block_size, dtype=torch.int64)
    for b in range(n_blocks):
        for i in range(block_size):
            if seg[b, i] >= 0 and i > 0 and seg[b, i - 1] == seg[b, i]:
                pos[b, i] = pos[b, i - 1] + 1  # same segment: count on; a new one (or a block start) restarts at 0
    real = seg >= 0
    same = seg[:, :, None] == seg[:, None, :]
    causal = torch.ones(block_size, block_size, dtype=torch.bool).tril()
    mask = same & causal & real[:, :, None] & real[:, None, :]
    return ids, pos, mask


EOS, PAD = 1, 0  # defaults of the tests; boundary cases also use others


def _docs(ctx, lengths, vocab=50):
    """Documents of the given lengths with tokens in [2, vocab): never EOS (1) or PAD (0)."""
    return [ctx.randint(2, vocab, (n,)) for n in lengths]


def _compare(ctx, documents, block_size, eos_id=EOS, pad_id=None):
    kwargs = {} if pad_id is None else {"pad_id": pad_id}
    out = ctx.call(documents, block_size, eos_id, **kwargs)
    want = ctx.reference(documents, block_size, eos_id, **kwargs)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        ctx.fail("expected a tuple (input_ids, position_ids, attention_mask)")
    for got, expected, name in zip(out, want, ("input_ids", "position_ids", "attention_mask")):
        if not isinstance(got, torch.Tensor):
            ctx.fail(f"{name}: expected a tensor, got {type(got).__name__}")
        try:
            ctx.assert_equal(got, expected)
        except CheckFailed as exc:  # say which of the three outputs is wrong
            raise CheckFailed(f"{name}: {exc}", exc.detail) from None


@check(
    "matches the reference (1 to 6 documents of 1 to 20 tokens, block_size 1 to 16, pad_id at its default and away)",
    zh="与参考实现一致（1 到 6 个文档，每个 1 到 20 个 token，block_size 为 1 到 16，pad_id 取默认值和非默认值）",
    teaches=["training.sequence_packing"],
)
def matches_reference(ctx):
    lengths, block_size, pad = ctx.draw(
        st.tuples(
            st.lists(st.integers(1, 20), min_size=1, max_size=6),
            st.integers(1, 16),
            st.sampled_from([None, 99, 3]),
        )
    )
    eos = 2 if pad == 3 else EOS
    docs = [d + 5 for d in _docs(ctx, lengths)]  # tokens >= 7: never an EOS or PAD id used here
    _compare(ctx, docs, block_size, eos, pad)


# (document lengths, block_size, why): every run
BOUNDARY_CASES = [
    ([3, 4], 4, "each document + EOS fills a block exactly: no padding, no extra block"),
    ([5, 2], 5, "a document of exactly block_size tokens: its EOS opens the next block"),
    ([11], 4, "one document spanning three blocks, the last one padded"),
    ([2, 1, 1, 3], 3, "one-token documents and segments crossing block edges"),
    ([3, 2], 1, "block_size 1: every token its own block"),
    ([1, 2, 1], 2, "block_size 2"),
    ([6, 1], 16, "one block, mostly padding"),
    ([4, 6, 2], 6, "segments restart mid-block and at a block start"),
]


@check(
    "boundary cases every run: documents filling a block exactly, EOS opening a block, a document over three blocks, block_size 1 and 2, a mostly padded block",
    zh="每次都测的边界情况：文档刚好填满一个 block、EOS 落在新 block 开头、一个文档跨三个 block、block_size 为 1 和 2、几乎全是 padding 的 block",
    examples=1,
    teaches=["training.sequence_packing"],
)
def boundary_cases(ctx):
    for lengths, block_size, _why in BOUNDARY_CASES:
        _compare(ctx, _docs(ctx, lengths), block_size)
    _compare(ctx, _docs(ctx, [5, 3]), 4, eos_id=7, pad_id=9)  # ids away from the defaults


@check(
    "the mask is the per-segment causal mask rebuilt from the returned position ids (a new segment exactly where the position is 0)",
    zh="掩码等于由返回的 position ids 重建的逐段因果掩码（position 为 0 处恰好开始一个新段）",
    teaches=["training.sequence_packing"],
)
def mask_from_positions(ctx):
    lengths, block_size = ctx.draw(st.tuples(st.lists(st.integers(1, 12), min_size=1, max_size=5), st.integers(2, 12)))
    docs = _docs(ctx, lengths)
    ids, pos, mask = ctx.call(docs, block_size, EOS)
    want_ids = ctx.reference(docs, block_size, EOS)[0]
    ctx.assert_equal(ids, want_ids)
    real = ids != PAD
    starts = (pos == 0) & real
    seg = torch.cumsum(starts.to(torch.int64), dim=1)  # segment number within each block
    rebuilt = (seg[:, :, None] == seg[:, None, :]) & torch.ones(block_size, block_size, dtype=torch.bool).tril()
    rebuilt &= real[:, :, None] & real[:, None, :]
    ctx.assert_equal(mask, rebuilt)


# The usual way to write it; each wrong answer below is this file with one bug put in.
_PLAIN = """
import torch

def pack_sequences(documents, block_size, eos_id, pad_id=0):
    eos = torch.tensor([eos_id], dtype=torch.int64)
    stream = torch.cat([torch.cat([d, eos]) for d in documents])
    doc_id = torch.cat([torch.full((len(d) + 1,), k) for k, d in enumerate(documents)])
    n_blocks = (len(stream) + block_size - 1) // block_size
    n_pad = n_blocks * block_size - len(stream)
    stream = torch.cat([stream, torch.full((n_pad,), pad_id)])
    doc_id = torch.cat([doc_id, torch.full((n_pad,), -1)])
    input_ids = stream.view(n_blocks, block_size)
    seg = doc_id.view(n_blocks, block_size)
    position_ids = torch.zeros(n_blocks, block_size, dtype=torch.int64)
    for b in range(n_blocks):
        for i in range(1, block_size):
            if seg[b, i] >= 0 and seg[b, i] == seg[b, i - 1]:
                position_ids[b, i] = position_ids[b, i - 1] + 1
    real = seg >= 0
    causal = torch.tril(torch.ones(block_size, block_size, dtype=torch.bool))
    mask = (seg[:, :, None] == seg[:, None, :]) & causal
    mask = mask & real[:, :, None] & real[:, None, :]
    return input_ids, position_ids, mask
"""

WRONG_ANSWERS = {
    "position ids not reset per document: 0..L-1 in every block": edited(
        _PLAIN,
        (
            "            if seg[b, i] >= 0 and seg[b, i] == seg[b, i - 1]:\n                position_ids",
            "            if True:\n                position_ids",
        ),
    ),
    "plain causal mask: not block-diagonal, documents see each other": edited(
        _PLAIN, ("mask = (seg[:, :, None] == seg[:, None, :]) & causal", "mask = causal.expand(n_blocks, -1, -1)")
    ),
    "block-diagonal but not causal: a token sees later tokens of its document": edited(
        _PLAIN, ("mask = (seg[:, :, None] == seg[:, None, :]) & causal", "mask = seg[:, :, None] == seg[:, None, :]")
    ),
    "EOS placed before each document instead of after": edited(
        _PLAIN, ("torch.cat([d, eos]) for d in documents", "torch.cat([eos, d]) for d in documents")
    ),
    "no EOS between documents": edited(
        _PLAIN,
        ("torch.cat([d, eos]) for d in documents", "d for d in documents"),
        ("torch.full((len(d) + 1,), k)", "torch.full((len(d),), k)"),
    ),
    "positions continue across the block edge: a document continuing into the next block does not restart at 0": edited(
        _PLAIN,
        (
            "    position_ids = torch.zeros(n_blocks, block_size, dtype=torch.int64)\n"
            "    for b in range(n_blocks):\n"
            "        for i in range(1, block_size):\n"
            "            if seg[b, i] >= 0 and seg[b, i] == seg[b, i - 1]:\n"
            "                position_ids[b, i] = position_ids[b, i - 1] + 1\n",
            "    flat = torch.zeros(len(stream), dtype=torch.int64)\n"
            "    for t in range(1, len(stream)):\n"
            "        if doc_id[t] >= 0 and doc_id[t] == doc_id[t - 1]:\n"
            "            flat[t] = flat[t - 1] + 1\n"
            "    position_ids = flat.view(n_blocks, block_size)\n",
        ),
    ),
    "padding attended: pad tokens form one more causal segment": edited(
        _PLAIN, ("    mask = mask & real[:, :, None] & real[:, None, :]\n", "")
    ),
    "last partial block dropped (floor division)": edited(
        _PLAIN,
        ("n_blocks = (len(stream) + block_size - 1) // block_size", "n_blocks = len(stream) // block_size"),
        (
            "n_pad = n_blocks * block_size - len(stream)",
            "n_pad = 0\n    stream = stream[: n_blocks * block_size]\n    doc_id = doc_id[: n_blocks * block_size]",
        ),
    ),
    "always one more block: an all-padding block when the stream is an exact multiple": edited(
        _PLAIN, ("n_blocks = (len(stream) + block_size - 1) // block_size", "n_blocks = len(stream) // block_size + 1")
    ),
    "EOS counted as the start of the next document (position 0, its segment)": edited(
        _PLAIN,
        ("torch.full((len(d) + 1,), k)", "torch.tensor([k - 1] + [k] * len(d))"),
    ),
}

ALTERNATIVES = {
    "vectorised: segment starts from a shifted comparison, positions from a cumulative max of start indices": """
import torch

def pack_sequences(documents, block_size, eos_id, pad_id=0):
    parts, owners = [], []
    for k, d in enumerate(documents):
        parts += [d.to(torch.int64), torch.tensor([eos_id], dtype=torch.int64)]
        owners.append(torch.full((d.numel() + 1,), k, dtype=torch.int64))
    stream, owner = torch.cat(parts), torch.cat(owners)
    total = stream.numel()
    n_blocks = -(-total // block_size)
    pad = n_blocks * block_size - total
    ids = torch.nn.functional.pad(stream, (0, pad), value=pad_id).reshape(n_blocks, block_size)
    owner = torch.nn.functional.pad(owner, (0, pad), value=-1).reshape(n_blocks, block_size)
    L = block_size
    col = torch.arange(L).expand(n_blocks, L)
    start = torch.ones(n_blocks, L, dtype=torch.bool)
    start[:, 1:] = owner[:, 1:] != owner[:, :-1]
    first = torch.where(start, col, torch.zeros_like(col)).cummax(dim=1).values
    valid = owner >= 0
    pos = torch.where(valid, col - first, torch.zeros_like(col))
    keep = (owner.unsqueeze(2) == owner.unsqueeze(1)) & valid.unsqueeze(2) & valid.unsqueeze(1)
    keep = keep & (col.unsqueeze(2) >= col.unsqueeze(1))
    return ids, pos, keep
""",
}
