"""Hostile submissions: the forbidden kernel under a name the exercise does not list.

Each entry of SOURCES is one submission: the same ATen operator that torch.softmax or
torch.nn.functional.scaled_dot_product_attention dispatches to, reached through torch._C,
torch.ops.aten, a TensorBase method, or a binding held in a default argument.
"""

SOFTMAX = {
    "torch._C._VariableFunctions.softmax": """
import torch


def softmax(x, dim=-1):
    return torch._C._VariableFunctions.softmax(x, dim)
""",
    "torch.ops.aten._softmax": """
import torch


def softmax(x, dim=-1):
    return torch.ops.aten._softmax(x, dim, False)
""",
    "torch._C.TensorBase.softmax": """
import torch


def softmax(x, dim=-1):
    return torch._C.TensorBase.softmax(x, dim)
""",
    "a default argument holding the binding": """
import torch


def softmax(x, dim=-1, _kernel=vars(torch._C.TensorBase)["soft" + "max"]):
    return _kernel(x, dim)
""",
    "torch._refs.softmax reached by a computed name": """
import importlib

_refs = importlib.import_module("torch." + "_refs")


def softmax(x, dim=-1):
    return getattr(_refs, "soft" + "max")(x, dim)
""",
    "torch._C._VariableFunctions.log_softmax, then exp": """
import torch


def softmax(x, dim=-1):
    return torch._C._VariableFunctions.log_softmax(x.double(), dim).exp().to(x.dtype)
""",
}

# The contract's causal mask is aligned bottom-right; torch's is_causal is top-left, so the
# submission builds the mask itself and lets the forbidden kernel do the rest.
_SDPA_MASK = """
import torch


def _mask(q, k, mask, causal):
    lq, lk = q.shape[-2], k.shape[-2]
    allowed = torch.ones(lq, lk, dtype=torch.bool)
    if causal:
        allowed = torch.arange(lk)[None, :] <= torch.arange(lq)[:, None] + (lk - lq)
    return allowed if mask is None else allowed & mask
"""

SDPA = {
    "torch._C._nn.scaled_dot_product_attention": _SDPA_MASK
    + """

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    return torch._C._nn.scaled_dot_product_attention(q, k, v, attn_mask=_mask(q, k, mask, causal))
""",
    "torch.ops.aten.scaled_dot_product_attention": _SDPA_MASK
    + """

def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    return torch.ops.aten.scaled_dot_product_attention(q, k, v, _mask(q, k, mask, causal))
""",
    "a default argument holding torch._C._nn's binding": _SDPA_MASK
    + """

_KERNEL_NAME = "scaled_dot_product_" + "attention"  # spelled so no scan of the text can see it


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, _kernel=getattr(torch._C._nn, _KERNEL_NAME)):
    return _kernel(q, k, v, attn_mask=_mask(q, k, mask, causal))
""",
}
