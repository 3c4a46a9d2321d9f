"""Forbidden calls: find them in the source (AST, import aliases resolved) and block them at run time.

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
import ctypes
import importlib
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmq.judge import forbidden_ops

TENSOR_PREFIX = "torch.Tensor."


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


def _raiser(name: str, seen: list[str]) -> Callable[..., Any]:
    def forbidden_call(*args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        raise ForbiddenCall(name)

    forbidden_call.__name__ = name.rsplit(".", 1)[-1]
    return forbidden_call


def _resolve(name: str) -> tuple[Any, str] | None:
    """The object that holds the last part of a dotted name, and that part; None if not found."""
    parts = name.split(".")
    for loaded_only in (True, False):  # modules already loaded first: a failed import costs
        for cut in range(len(parts) - 1, 0, -1):
            module_name = ".".join(parts[:cut])
            parent: Any = sys.modules.get(module_name)
            if parent is None:
                if loaded_only:
                    continue
                try:
                    parent = importlib.import_module(module_name)
                except ImportError:
                    continue
            try:
                for attr in parts[cut:-1]:
                    parent = getattr(parent, attr)
            except AttributeError:
                break
            if hasattr(parent, parts[-1]):
                return parent, parts[-1]
            break
    return None


def _targets(name: str) -> tuple[list[tuple[Any, str]], bool]:
    """The attributes to replace for a dotted name, and whether they are the contents of a
    module: the name itself, or for a module ("torch.optim.adam", which torch.optim does not even
    keep as an attribute) the functions and classes of its package that it offers. Empty if
    torch has no such name."""
    found = _resolve(name)
    module = getattr(*found) if found is not None else sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return [], False
    if not isinstance(module, types.ModuleType):
        return ([found] if found is not None else []), False
    # The module itself stays (replacing it would turn `module.adam(...)` into an AttributeError).
    package = name.rsplit(".", 1)[0]
    public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    targets = []
    for attr in public:
        value = getattr(module, attr, None)
        if isinstance(value, (types.FunctionType, type)) and str(getattr(value, "__module__", "")).startswith(package):
            targets.append((module, attr))
    return targets, True


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
_KERNEL_KEYS = (
    "CompositeImplicitAutograd",
    "CompositeExplicitAutograd",
    "CompositeExplicitAutogradNonFunctional",
    "Autograd",
    "AutogradNestedTensor",
    "CPU",
    "CUDA",
    "HIP",
    "MPS",
    "XPU",
    "Meta",  # torch.compile traces with meta kernels
    "MkldnnCPU",
    "SparseCPU",
    "SparseCUDA",
    "SparseCsrCPU",
    "SparseCsrCUDA",
    "QuantizedCPU",
    "QuantizedCUDA",
    "NestedTensorCPU",
    "NestedTensorCUDA",
)


def _kernel_keys(torch: Any, op: str) -> list[str]:
    """The keys of `_KERNEL_KEYS` that `op` has a kernel at (none if this torch lacks the op).

    Read from one dump of the operator's registrations ("CPU: registered at ...",
    "Autograd[alias]: ...", "Meta (inactive): ..."): one call instead of one per key."""
    try:
        dump = torch._C._dispatch_dump(op)
    except RuntimeError:
        return []
    registered = set()
    for line in dump.splitlines():
        key = line.split(":", 1)[0]
        if key.endswith("[alias]"):
            key = key[: -len("[alias]")]
        registered.add(key)
    return [key for key in _KERNEL_KEYS if key in registered]


def _block_ops(ops: dict[str, str], seen: list[str]) -> None:
    """Registers, for each ATen overload in `ops`, a kernel that records and raises
    ForbiddenCall(the name given) at every dispatch key the overload has a kernel at.

    The library that holds the registrations is kept alive by an extra reference and by no
    Python name: a submission that walks `gc` finds no handle to destroy (the object is not
    tracked by the collector), so the kernels stay until the process ends."""
    if not ops:
        return
    import torch  # here: the harness's scan runs without it

    library = torch._C._dispatch_library("IMPL", "aten", "")
    with warnings.catch_warnings():  # "Overriding a previously registered kernel": on purpose
        warnings.simplefilter("ignore")
        for op, name in ops.items():
            kernel = _raiser(name, seen)
            short = op.split("::", 1)[1]
            for key in _kernel_keys(torch, op):
                library.impl(short, key, kernel)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))
    del library
    _replace_decompositions(ops, seen)


def _replace_decompositions(ops: dict[str, str], seen: list[str]) -> None:
    """torch's tables of Python decompositions map an operator to a function that computes it
    from other operators (`decomposition_table[aten._softmax.default](x, -1, False)` is a
    softmax made of exp and sum): the entries of blocked operators raise too."""
    decomp = sys.modules.get("torch._decomp")  # imported by `import torch`; nothing to do if not
    if decomp is None:
        return
    import torch

    tables = list(getattr(decomp, "global_decomposition_table", {}).values())
    for op, name in ops.items():
        base, _, overload = op.split("::", 1)[1].partition(".")
        # Only operators torch has already looked up can be in a table; looking up the others
        # would cost a schema parse each.
        packet = vars(torch.ops.aten).get(base)
        overload_obj = vars(packet).get(overload or "default") if packet is not None else None
        if overload_obj is None:
            continue
        for table in tables:
            if overload_obj in table:
                table[overload_obj] = _raiser(name, seen)


def patch(forbidden: list[str] | tuple[str, ...], seen: list[str]) -> list[str]:
    """Make every forbidden call raise ForbiddenCall, recorded in `seen`. Returns the listed
    names not found in torch.

    Each listed name's Python attribute is replaced (its message names it exactly); so are the
    other Python paths to the same function and torch's Python re-implementations of it (their
    message names the family's preferred listed name); and the ATen operators that are the
    function are blocked at the dispatcher, which every other spelling reaches."""
    missing = []
    engaged = _reported(forbidden)
    # (parent, attribute, name to report, rank): one function object can be reached by several
    # entries; it reports, in this order, a listed name that is exactly it, the preferred listed
    # name of its family, a listed module that offers it.
    entries: list[tuple[Any, str, str, int]] = []
    for name in forbidden:
        targets, contents = _targets(name)
        if not targets:
            missing.append(name)
        entries += [(parent, attr, name, 2 if contents else 0) for parent, attr in targets]
    for family, reported in engaged.items():
        for other in family.names + family.aliases + family.twins:
            if other not in forbidden:  # not every one is in every version of torch
                entries += [(parent, attr, reported, 1) for parent, attr in _targets(other)[0]]
    best: dict[int, tuple[int, str]] = {}
    for parent, attr, name, rank in entries:
        key = id(getattr(parent, attr))
        if key not in best or rank < best[key][0]:
            best[key] = (rank, name)
    replaced = [(parent, attr, best[id(getattr(parent, attr))][1]) for parent, attr, _, _ in entries]
    for parent, attr, name in replaced:
        setattr(parent, attr, _raiser(name, seen))
    ops: dict[str, str] = {}
    for family, reported in engaged.items():
        for op in family.ops:
            ops.setdefault(op, reported)  # an op in two families: the earlier family's name
    _block_ops(ops, seen)
    return missing


unmapped = forbidden_ops.unmapped
