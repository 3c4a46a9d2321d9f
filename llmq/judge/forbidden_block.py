"""Forbidden calls blocked at run time, in the sandbox, before the submission loads (see the
design and its limits in `forbidden`, which finds them in the source without torch)."""

from __future__ import annotations

import ctypes
import importlib
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

from llmq.judge.forbidden import ForbiddenCall, _reported


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
