"""attention.repeat_kv — expand KV heads for GQA: reference, checks, known-wrong answers.

repeat_kv(x, n_rep): (B, Hkv, T, D) -> (B, Hkv * n_rep, T, D); output head h is input head
h // n_rep (each kv head n_rep times in a row), always a new tensor.
"""
import torch
from hypothesis import strategies as st

from llmq.judge.kit import check

FORBIDDEN = []


def reference(x, n_rep):
    # (B, Hkv, T, D) -> (B, Hkv * n_rep, T, D)
    b, hkv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, hkv, n_rep, t, d).reshape(b, hkv * n_rep, t, d).clone()


DTYPES = [torch.float32, torch.float64, torch.bfloat16]
SIZES = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 5), st.sampled_from([1, 2, 3, 8]), st.integers(1, 4))


@check("matches the reference exactly (random shapes, n_rep 1 to 4, float32/float64/bfloat16)")
def matches_reference(ctx):
    dtype = ctx.draw(st.sampled_from(DTYPES))
    b, hkv, t, d, n_rep = ctx.draw(SIZES)
    x = ctx.randn(b, hkv, t, d, dtype=dtype)
    # A copy: nothing to round, so nothing to tolerate.
    ctx.assert_close(ctx.call(x, n_rep), ctx.reference(x, n_rep), dtype=dtype, rtol=0.0, atol=0.0)


@check("output head h is input head h // n_rep (heads 0,0,1,1,... not 0,1,0,1,...)")
def head_mapping(ctx):
    b, hkv, t, d, _ = ctx.draw(SIZES)
    hkv = max(hkv, 2)
    n_rep = ctx.draw(st.integers(2, 4))
    # Head j holds the value j everywhere (plus noise), so a wrong head is easy to name.
    x = torch.arange(hkv, dtype=torch.float64).view(1, hkv, 1, 1) + 0.01 * ctx.randn(b, hkv, t, d, dtype=torch.float64)
    x = x.float()
    out = ctx.call(x, n_rep)
    expected = ctx.reference(x, n_rep)
    if isinstance(out, torch.Tensor) and out.shape == expected.shape and out.dtype == torch.float32:
        for h in range(hkv * n_rep):
            if not torch.equal(out[:, h], x[:, h // n_rep]):
                same = [j for j in range(hkv) if torch.equal(out[:, h], x[:, j])]
                got = f"input head {same[0]}" if same else "none of the input heads"
                ctx.fail(f"output head {h} should be input head {h} // {n_rep} = {h // n_rep}; it is {got}")
    ctx.assert_close(out, expected, dtype=torch.float32, rtol=0.0, atol=0.0)


WRONG_ANSWERS = {
    "x.repeat(1, n_rep, 1, 1): tiles the heads as 0,1,0,1": '''
import torch

def repeat_kv(x, n_rep):
    return x.repeat(1, n_rep, 1, 1)
''',
    "torch.cat([x] * n_rep, dim=1): the same tiling": '''
import torch

def repeat_kv(x, n_rep):
    return torch.cat([x] * n_rep, dim=1)
''',
    "expand on a new dim before the heads, then reshape (tiles 0,1,0,1)": '''
import torch

def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    return x[:, None].expand(b, n_rep, hkv, t, d).reshape(b, n_rep * hkv, t, d).clone()
''',
    "repeat_interleave along the sequence dim instead of the heads": '''
import torch

def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    return x.repeat_interleave(n_rep, dim=2).reshape(b, hkv * n_rep, t, d)
''',
    "returns x itself when n_rep == 1 (Hugging Face's shortcut; the result must be a new tensor)": '''
import torch

def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    return torch.repeat_interleave(x, n_rep, dim=1)
''',
}

ALTERNATIVES = {
    "torch.repeat_interleave on the head dim": '''
import torch

def repeat_kv(x, n_rep):
    return torch.repeat_interleave(x, repeats=n_rep, dim=1)
''',
    "index the head dim with arange(Hkv * n_rep) // n_rep": '''
import torch

def repeat_kv(x, n_rep):
    heads = torch.arange(x.shape[1] * n_rep) // n_rep
    return x[:, heads]
''',
    "stack n_rep copies after the head dim, then flatten the two": '''
import torch

def repeat_kv(x, n_rep):
    return torch.stack([x] * n_rep, dim=2).flatten(1, 2)
''',
}
