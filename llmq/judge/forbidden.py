"""Forbidden calls: find them in the source (AST, import aliases resolved); `forbidden_block` blocks
them at run time, in the sandbox. This module never imports torch (the app's `llmq check` scans).

`FORBIDDEN` in an answer module lists dotted names such as "torch.nn.functional.softmax" or
"torch.Tensor.softmax" (a tensor method: any `x.softmax` on something that is not a module).
`forbidden_ops` groups each listed name with the other names of the same function and with the
ATen operators that are that function.

The scan runs in the harness before the submission is loaded and reports every name of a listed
function's family, with its line. The patch runs in the sandbox before the submission loads, in
two layers:
- Python: each listed name, the other names of its family and torch's own Python
  re-implementations of it (`torch._refs.softmax`, the decomposition tables) are replaced by a
  function that records the call in `seen` and raises ForbiddenCall(the listed name).
- The dispatcher: for each ATen overload of the family (`aten::softmax.int`, `aten::_softmax`,
  `aten::_softmax.out`, ...) a kernel that records and raises is registered at every dispatch
  key the overload has a kernel at (CompositeImplicitAutograd for composite operators; Autograd,
  CPU, CUDA, Meta, sparse, mkldnn, nested, ... for the others). So the block holds however the
  operator is reached: `torch._C._VariableFunctions`, `torch._C._nn`, `torch.ops.aten` (any
  overload), `torch._C.TensorBase` methods, bindings captured before the patch (default
  arguments, closures, modules that imported the function), nn.Modules, no_grad and
  inference_mode (which skip the Autograd keys), autocast, vmap, sparse, mkldnn and nested
  tensors, TorchScript, torch.compile (its tracing runs the Meta kernel), the Python dispatcher,
  `redispatch` and `_op_dk` to a chosen key, `OpOverload.decompose()`. The message always names
  the function the exercise lists, whatever the spelling.

The registrations live in a C++ library object that is kept alive by a reference nothing holds
and that the garbage collector does not track: a submission walking `gc` finds no handle to
destroy, and the original kernels cannot be called while ours shadow them. Rewriting our kernels
(they are Python functions) gains a submission nothing: it still has no way to the original.

What an in-process block cannot stop, stated plainly:
- native code: a submission that uses ctypes (or compiles an extension) to patch torch's C++
  dispatcher or to call ATen's CPU kernels directly is out of reach of any check that runs in
  its own process. The static scan, the sandbox's limits and the verdict channel still hold.
- Python-level functions (clip_grad_norm_, the optimizers' Python code,
  multi_head_attention_forward, torch's Python re-implementations): replaced attributes stop every
  name torch offers, but the original function objects stay in memory and a submission that walks
  `gc.get_objects()` for them can still call them.
- other functions that compute the same result (group_norm or batch_norm for a layer norm,
  `quantized::softmax`, logsumexp's gradient for a softmax): they are not the forbidden function;
  an exercise that wants them out lists them.
- a submission that catches ForbiddenCall gains nothing: the call is recorded in `seen`, which
  the sandbox reports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from llmq.judge import forbidden_ops

TENSOR_PREFIX = "torch.Tensor."

# Every public name of softmax and log-softmax: what an exercise that asks for a softmax (or
# builds one in) forbids. Answer modules use this one list (`FORBIDDEN = [*SOFTMAX_FAMILY, ...]`).
SOFTMAX_FAMILY: tuple[str, ...] = (
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.special.softmax",
    "torch.special.log_softmax",
    "torch.nn.Softmax",
    "torch.nn.LogSoftmax",
    "torch.Tensor.log_softmax",
)


def names_in(node: ast.expr) -> tuple[str, ...] | None:
    """The names a FORBIDDEN assignment lists, read without running the module: a list or tuple
    of strings, `*SOFTMAX_FAMILY` among them, or `list(SOFTMAX_FAMILY)`; None for anything else."""
    if isinstance(node, ast.Call) and ast.unparse(node) in ("list(SOFTMAX_FAMILY)", "tuple(SOFTMAX_FAMILY)"):
        return SOFTMAX_FAMILY
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    names: list[str] = []
    for item in node.elts:
        if isinstance(item, ast.Starred) and isinstance(item.value, ast.Name) and item.value.id == "SOFTMAX_FAMILY":
            names.extend(SOFTMAX_FAMILY)
        elif isinstance(item, ast.Constant) and isinstance(item.value, str):
            names.append(item.value)
        else:
            return None
    return tuple(names)


class ForbiddenCall(Exception):
    """Raised inside the sandbox when the submission calls a forbidden function."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is forbidden in this exercise")
        self.name = name


@dataclass(frozen=True)
class Finding:
    name: str  # the forbidden dotted name
    line: int
    written: str  # how the source spelled it

    def message(self) -> str:
        spelled = "" if self.written == self.name else f" (written `{self.written}`)"
        return f"line {self.line}: uses {self.name}{spelled}, which this exercise forbids"


def _spelling(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


class _Resolver:
    """Maps local names to the dotted module paths they were imported as."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.nodes = list(ast.walk(tree))  # walked once, used by the scan too
        assigns = []
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name == "*":
                        self.star_modules.append(node.module)
                    else:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
        # `F = torch.nn.functional` and the like: simple name-to-name assignments, twice so
        # that chains of two resolve.
        for _ in range(2):
            for node in assigns:
                target = self.resolve(node.value)
                if target:
                    self.aliases.setdefault(node.targets[0].id, target)  # type: ignore[attr-defined]

    def resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if (  # getattr(F, "softmax")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self.resolve(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None


def scan(source: str, forbidden: list[str] | tuple[str, ...]) -> list[Finding]:
    """Every use of a forbidden name in `source` (which must parse), in line order."""
    if not forbidden:
        return []
    tree = ast.parse(source)
    resolver = _Resolver(tree)
    spellings = _spellings(forbidden)
    plain = {s: n for s, n in spellings.items() if not s.startswith(TENSOR_PREFIX)}
    methods = {s[len(TENSOR_PREFIX) :]: n for s, n in spellings.items() if s.startswith(TENSOR_PREFIX)}
    found: dict[tuple[str, int], Finding] = {}

    def hit(name: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        found.setdefault((name, line), Finding(name, line, _spelling(node)))

    for node in resolver.nodes:
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            dotted = resolver.resolve(node)
            if dotted:
                for spelled, name in spellings.items():
                    if dotted == spelled or dotted.startswith(spelled + "."):
                        hit(name, node)
            if isinstance(node, ast.Name) and dotted is None:
                for module in resolver.star_modules:  # from torch.nn.functional import *
                    if f"{module}.{node.id}" in plain:
                        hit(plain[f"{module}.{node.id}"], node)
        if isinstance(node, ast.Attribute) and node.attr in methods:
            base = resolver.resolve(node.value)
            if base is None or base == "torch.Tensor":  # x.softmax(...), not torch.softmax
                hit(methods[node.attr], node)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:  # `from torch.nn.functional import softmax` alone counts
                dotted = f"{node.module}.{a.name}"
                if dotted in plain:
                    hit(plain[dotted], node)
    return sorted(found.values(), key=lambda f: (f.line, f.name))


def _spellings(forbidden: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Each dotted name the scan looks for, with the listed name its finding gives: the listed
    names themselves, then the other names of their families (`torch.special.softmax` and
    `torch._refs.softmax` when `torch.nn.functional.softmax` is listed)."""
    spellings = {name: name for name in forbidden}
    for family, reported in _reported(forbidden).items():
        for other in family.names + family.aliases + family.twins:
            spellings.setdefault(other, reported)
    return spellings


def _reported(forbidden: list[str] | tuple[str, ...]) -> dict[forbidden_ops.Family, str]:
    """The families the listed names engage, each with the name its messages give: the first
    of the family's names that the exercise lists."""
    listed = set(forbidden)
    engaged = {}
    for family in forbidden_ops.FAMILIES:
        names = [n for n in family.names if n in listed]
        if names:
            engaged[family] = names[0]
    return engaged


# Where an operator can have a kernel of its own. An alias key (CompositeImplicitAutograd,
# Autograd, ...) stands for many runtime keys; a kernel registered at a runtime key wins over
# the alias, so every key an operator has a kernel at is overridden, or the original kernel
# would still be reached through it (inference_mode skips the Autograd keys and goes straight to
# CPU; a sparse, nested or mkldnn tensor goes to its own key; `redispatch` picks a key).


unmapped = forbidden_ops.unmapped
