"""Which torch operators each forbidden name is: the table the run-time block is built from.

An answer module's `FORBIDDEN` lists Python names ("torch.nn.functional.softmax"). A submission can
reach the same computation under many other names (`torch._C._VariableFunctions.softmax`,
`torch.ops.aten._softmax`, `torch._C.TensorBase.softmax`, a binding captured in a default
argument, `torch.special.softmax`, `torch.nn.Softmax`...), but every one of them ends in the same
ATen operators of torch's dispatcher. A `Family` groups the Python names that are one function
with the ATen operator overloads that *are* that function (never an operator a correct
hand-written answer uses on the way, such as `aten::matmul` or `aten::exp`), so that blocking the
operators blocks every spelling.

Three kinds of entry:
- `ops`: blocked at the dispatcher (`forbidden_block.patch`), whatever Python name reached them.
- `aliases`: other Python paths to the same Python object (`torch.nn.utils.clip_grad.clip_grad_norm`);
  they are replaced like the listed names. Families with aliases but no ops are Python-level only.
- `twins`: torch's own Python re-implementations of the function (`torch._refs.softmax`,
  `torch._decomp.decompositions._softmax`) that compute it from allowed operators, so the
  dispatcher never sees the forbidden one; they are replaced too, and the static scan flags them.

The names of a family are in the order a message prefers: when a submission reaches an operator
of a family, the message names the first of the family's names that the exercise lists.
`tests/judge/test_forbidden.py` keeps this table true against the installed torch: every
operator exists, every name and alias resolves, and calling each name reaches one of its ops.
"""

from __future__ import annotations

from dataclasses import dataclass

F = "torch.nn.functional."
T = "torch.Tensor."


@dataclass(frozen=True)
class Family:
    """One forbidden function: its Python names, and the ATen overloads that are it."""

    names: tuple[str, ...]  # the listed names that mean this function, preferred one first
    ops: tuple[str, ...] = ()  # "aten::_softmax" (the default overload) or "aten::softmax.int"
    aliases: tuple[str, ...] = ()  # other Python paths to the same function object
    twins: tuple[str, ...] = ()  # torch's Python re-implementations of it

    @property
    def python_level_only(self) -> bool:
        return not self.ops


_ATTENTION_KERNELS = (
    "aten::_scaled_dot_product_attention_math",
    "aten::_scaled_dot_product_attention_math_for_mps",
    "aten::_scaled_dot_product_flash_attention",
    "aten::_scaled_dot_product_flash_attention.quantized",
    "aten::_scaled_dot_product_flash_attention_for_cpu",
    "aten::_scaled_dot_product_efficient_attention",
    "aten::_scaled_dot_product_cudnn_attention",
    "aten::_scaled_dot_product_fused_attention_overrideable",
    "aten::_flash_attention_forward",
    "aten::_flash_attention_forward.quantized",
    "aten::_flash_attention_forward_no_dropout_inplace",
    "aten::_efficient_attention_forward",
    "aten::_cudnn_attention_forward",
    "aten::_triton_scaled_dot_attention",
    "aten::_triton_scaled_dot_attention.out",
)
# nn.MultiheadAttention's fast path (eval, no grad) and the Transformer layers' fast path compute
# attention in one kernel without passing through aten::scaled_dot_product_attention.
_MHA_KERNELS = (
    "aten::_native_multi_head_attention",
    "aten::_native_multi_head_attention.out",
    "aten::_triton_multi_head_attention",
    "aten::_triton_multi_head_attention.out",
)

FAMILIES: tuple[Family, ...] = (
    Family(
        names=(F + "softmax", "torch.softmax", T + "softmax", "torch.special.softmax", "torch.nn.Softmax", "torch._softmax"),
        ops=(
            "aten::softmax.int",
            "aten::softmax.int_out",
            "aten::_softmax",
            "aten::_softmax.out",
            "aten::special_softmax",
            "aten::_safe_softmax",  # what sdpa's math path uses: rows of -inf give 0
            "aten::_masked_softmax",
            "aten::_masked_softmax.out",
            "aten::_sparse_softmax",
            "aten::_sparse_softmax.int",
            "aten::_sparse_softmax.out",
            "aten::_nested_tensor_softmax_with_shape",
        ),
        aliases=("torch.nn.modules.activation.Softmax", "torch.sparse.softmax"),
        twins=(
            "torch._refs.softmax",
            "torch._refs.special.softmax",
            "torch._refs.nn.functional.softmax",
            "torch._decomp.decompositions._softmax",
            "torch._decomp.decompositions.safe_softmax",
        ),
    ),
    Family(
        names=(
            F + "log_softmax",
            "torch.log_softmax",
            T + "log_softmax",
            "torch.special.log_softmax",
            "torch.nn.LogSoftmax",
            "torch._log_softmax",
        ),
        ops=(
            "aten::log_softmax.int",
            "aten::log_softmax.int_out",
            "aten::_log_softmax",
            "aten::_log_softmax.out",
            "aten::special_log_softmax",
            "aten::_sparse_log_softmax",
            "aten::_sparse_log_softmax.int",
            "aten::_sparse_log_softmax.out",
        ),
        aliases=("torch.nn.modules.activation.LogSoftmax", "torch.sparse.log_softmax"),
        twins=(
            "torch._refs.log_softmax",
            "torch._refs.special.log_softmax",
            "torch._refs.nn.functional.log_softmax",
            "torch._decomp.decompositions._log_softmax",
        ),
    ),
    Family(
        names=("torch.logsumexp", T + "logsumexp", "torch.special.logsumexp"),
        ops=("aten::logsumexp", "aten::logsumexp.out", "aten::special_logsumexp", "aten::special_logsumexp.out"),
        twins=("torch._refs.logsumexp",),
    ),
    Family(
        names=(F + "multi_head_attention_forward", "torch.nn.MultiheadAttention"),
        ops=_MHA_KERNELS,
        aliases=("torch.nn.modules.activation.MultiheadAttention",),
    ),
    Family(
        names=(F + "scaled_dot_product_attention",),
        ops=("aten::scaled_dot_product_attention", *_ATTENTION_KERNELS, *_MHA_KERNELS),
        twins=("torch._decomp.decompositions.scaled_dot_product_flash_attention_for_cpu",),
    ),
    Family(
        names=(F + "rms_norm", "torch.rms_norm", "torch.nn.RMSNorm"),
        ops=("aten::rms_norm", "aten::_fused_rms_norm"),
        aliases=("torch.nn.modules.normalization.RMSNorm",),
        twins=("torch._decomp.decompositions._fused_rms_norm",),
    ),
    Family(
        names=(F + "layer_norm", "torch.layer_norm", "torch.nn.LayerNorm", "torch.native_layer_norm"),
        ops=("aten::layer_norm", "aten::native_layer_norm", "aten::native_layer_norm.out"),
        aliases=("torch.nn.modules.normalization.LayerNorm",),
        twins=("torch._refs.native_layer_norm", "torch._refs.nn.functional.layer_norm"),
    ),
    Family(
        names=(F + "cross_entropy", "torch.nn.CrossEntropyLoss"),
        ops=("aten::cross_entropy_loss",),
        aliases=("torch.nn.modules.loss.CrossEntropyLoss",),
    ),
    Family(
        names=(F + "nll_loss", "torch.nn.NLLLoss"),
        ops=(
            "aten::nll_loss",
            "aten::nll_loss.out",
            "aten::nll_loss_nd",
            "aten::nll_loss_forward",
            "aten::nll_loss_forward.output",
            "aten::nll_loss2d",
            "aten::nll_loss2d.out",
            "aten::nll_loss2d_forward",
            "aten::nll_loss2d_forward.output",
        ),
        aliases=("torch.nn.modules.loss.NLLLoss", "torch.nn.NLLLoss2d", "torch.nn.modules.loss.NLLLoss2d"),
        twins=(
            "torch._refs.nn.functional.nll_loss",
            "torch._refs.nn.functional._nll_loss_nd",
            "torch._decomp.decompositions.nll_loss_forward",
            "torch._decomp.decompositions._nll_loss_forward",
            "torch._decomp.decompositions.nll_loss2d_forward",
        ),
    ),
    Family(
        names=(F + "embedding", "torch.nn.Embedding", "torch.embedding"),
        ops=("aten::embedding", "aten::embedding.out"),
        aliases=("torch.nn.modules.sparse.Embedding",),
        twins=("torch._decomp.decompositions.embedding",),
    ),
    Family(
        names=(F + "embedding_bag", "torch.nn.EmbeddingBag", "torch.embedding_bag"),
        ops=(
            "aten::embedding_bag",
            "aten::embedding_bag.padding_idx",
            "aten::_embedding_bag",
            "aten::_embedding_bag.out",
            "aten::_embedding_bag_forward_only",
            "aten::_embedding_bag_forward_only.out",
        ),
        aliases=("torch.nn.modules.sparse.EmbeddingBag",),
    ),
    Family(
        names=("torch.index_select", T + "index_select"),
        ops=("aten::index_select", "aten::index_select.out"),
        twins=("torch._refs.index_select",),
    ),
    Family(
        names=("torch.gather", T + "gather"),
        ops=("aten::gather", "aten::gather.out"),
    ),
    Family(
        names=("torch.take", T + "take"),
        ops=("aten::take", "aten::take.out"),
        twins=("torch._decomp.decompositions.take",),
    ),
    Family(
        names=("torch.take_along_dim", T + "take_along_dim"),
        ops=("aten::take_along_dim", "aten::take_along_dim.out"),
        twins=("torch._refs.take_along_dim",),
    ),
    # Python-level only: these are Python functions over general-purpose operators
    # (torch._foreach_norm, torch._foreach_mul_) that correct answers may use themselves.
    Family(
        names=(
            "torch.nn.utils.clip_grad_norm_",
            "torch.nn.utils.clip_grad.clip_grad_norm_",
            "torch.nn.utils.clip_grad_norm",
            "torch.nn.utils.clip_grad.clip_grad_norm",
        ),
    ),
    Family(
        names=("torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.clip_grad.clip_grads_with_norm_"),
        aliases=("torch.nn.utils.clip_grad._clip_grads_with_norm_",),
    ),
    # The optimizers are Python, except the fused kernels their `fused=True` path calls, which
    # are Adam itself. AdamW is Adam with decoupled weight decay (torch.optim.adamw imports Adam).
    Family(
        names=("torch.optim.Adam", "torch.optim.adam", "torch.optim.adam.Adam", "torch.optim.adam.adam"),
        ops=(
            "aten::_fused_adam",
            "aten::_fused_adam.out",
            "aten::_fused_adam.tensor_lr",
            "aten::_fused_adam.tensor_lr_out",
            "aten::_fused_adam_",
            "aten::_fused_adam_.tensor_lr",
        ),
        aliases=(
            "torch.optim._functional.adam",
            "torch.optim.adam._single_tensor_adam",
            "torch.optim.adam._multi_tensor_adam",
            "torch.optim.adam._fused_adam",
        ),
    ),
    Family(
        names=("torch.optim.AdamW", "torch.optim.adamw", "torch.optim.adamw.AdamW", "torch.optim.adamw.adamw"),
        ops=(
            "aten::_fused_adamw",
            "aten::_fused_adamw.out",
            "aten::_fused_adamw.tensor_lr",
            "aten::_fused_adamw.tensor_lr_out",
            "aten::_fused_adamw_",
            "aten::_fused_adamw_.tensor_lr",
        ),
        aliases=("torch.optim._functional.adamw",),
    ),
    Family(names=("torch.optim._functional",)),
    Family(
        names=(F + "batch_norm", "torch.batch_norm", "torch.nn.BatchNorm1d", "torch.native_batch_norm"),
        ops=(
            "aten::batch_norm",
            "aten::_batch_norm_impl_index",
            "aten::native_batch_norm",
            "aten::native_batch_norm.out",
            "aten::_native_batch_norm_legit",
            "aten::_native_batch_norm_legit.no_stats",
            "aten::_native_batch_norm_legit_no_training",
            "aten::_batch_norm_with_update",
            "aten::_batch_norm_no_update",
        ),
        aliases=("torch.nn.modules.batchnorm.BatchNorm1d",),
    ),
    # F.dropout on the CPU decomposes into bernoulli_ and a multiply: torch.bernoulli's family
    # (listed beside it by the dropout exercise) blocks that path at the dispatcher.
    Family(
        names=(F + "dropout", "torch.dropout", "torch.nn.Dropout", "torch.native_dropout"),
        ops=("aten::dropout", "aten::native_dropout", "aten::native_dropout.out"),
        aliases=("torch.nn.modules.dropout.Dropout",),
    ),
    Family(
        names=("torch.bernoulli",),
        ops=(
            "aten::bernoulli",
            "aten::bernoulli.p",
            "aten::bernoulli.out",
            "aten::bernoulli_.Tensor",
            "aten::bernoulli_.float",
        ),
    ),
    Family(names=("torch.quantize_per_channel",), ops=("aten::quantize_per_channel",)),
    Family(
        names=("torch.fake_quantize_per_channel_affine",),
        ops=("aten::fake_quantize_per_channel_affine", "aten::fake_quantize_per_channel_affine_cachemask"),
    ),
)


def family_of(name: str) -> Family | None:
    """The family a listed name belongs to, or None when the table does not know it."""
    return _BY_NAME.get(name)


def unmapped(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names the table cannot map: `llmq verify` reports them as bank errors, since the
    run-time block for such a name is only the replaced Python attribute."""
    return [n for n in names if n not in _BY_NAME]


_BY_NAME: dict[str, Family] = {}
for _family in FAMILIES:
    for _name in _family.names:
        assert _name not in _BY_NAME, f"{_name} is in two families"
        _BY_NAME[_name] = _family
