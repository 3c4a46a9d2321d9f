"""What the submission sees of the host: the read-only view (the Python install, its packages,
/usr), what is hidden under it (llmq, its bank, the home folder), and the Landlock rules built
from it for the fallback."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_BOUND = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
_DEVICES = ("null", "zero", "full", "random", "urandom")


@dataclass(frozen=True)
class View:
    """The host paths the submission may read (the same list for both levels)."""

    binds: tuple[str, ...]  # directories bound read-only at the same path
    links: tuple[tuple[str, str], ...]  # (path, target): top-level symlinks such as /lib -> usr/lib
    hidden: tuple[str, ...]  # under a bind, but covered with an empty tmpfs (llmq, its bank)
    gpu_devices: tuple[str, ...]


_view_cache: View | None = None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _sensitive() -> tuple[list[str], list[str]]:
    """(never bind these folders themselves, nor anything in llmq's package; hide these when
    they lie under a folder that is bound)."""
    import llmq

    package = os.path.dirname(os.path.abspath(llmq.__file__))
    parent = os.path.dirname(package)
    never = [package]
    hide = [package]
    if os.path.basename(parent) not in ("site-packages", "dist-packages"):
        never.append(parent)  # an editable install or a checkout: the repository root with the bank
        hide.append(parent)
    for var in ("LLMQ_HOME",):
        if os.environ.get(var):
            never.append(os.path.abspath(os.environ[var]))
            hide.append(os.path.abspath(os.environ[var]))
    home = os.path.expanduser("~")
    if home not in ("/", ""):
        never.append(home)
        hide.append(home)
    return never, hide


def view() -> View:
    """The paths Python, torch, numpy, hypothesis and triton need (computed once per process)."""
    global _view_cache
    if _view_cache is not None:
        return _view_cache
    never, hide = _sensitive()
    # The Python install and its packages only: other sys.path entries (a checkout, a test
    # folder, PYTHONPATH) are the user's files.
    candidates = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]
    candidates += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    candidates += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    found: list[str] = []
    for raw in candidates:
        for path in {os.path.abspath(raw), os.path.realpath(raw)}:
            if path == "/" or not os.path.isdir(path) or path in never or _under(path, never[0]):
                continue
            if any(_under(path, p) for p in _SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)):
                continue
            found.append(path)
    binds: list[str] = []
    for path in sorted(set(found), key=len):
        if not any(_under(path, b) for b in binds):
            binds.append(path)
    links = []
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            links.append((d, os.readlink(d)))
        elif os.path.isdir(d):
            binds.insert(0, d)
    # Any llmq package in a bound site-packages holds a bank (llmq/_bank), imported or not: an
    # editable install leaves one there too.
    hide += [os.path.join(p, "llmq") for p in candidates if "site-packages" in p or "dist-packages" in p]
    hidden: set[str] = set()
    for h in hide:
        if not os.path.isdir(h):
            continue
        real = os.path.realpath(h)
        for b in binds:  # as the bind spells it: a bind through a symlink is another way in
            real_b = os.path.realpath(b)
            if real != real_b and _under(real, real_b):
                hidden.add(b + real[len(real_b) :])
    gpu: list[str] = []
    with contextlib.suppress(OSError):
        gpu = sorted(os.path.join("/dev", n) for n in os.listdir("/dev") if n.startswith("nvidia") or n == "dri")
    _view_cache = View(tuple(binds), tuple(links), tuple(sorted(hidden)), tuple(gpu))
    return _view_cache


@functools.lru_cache(maxsize=4)
def _readable(v: View) -> tuple[str, ...]:
    """The paths the fallback may read (Landlock rules), worked out once in the caller."""
    read = list(v.binds) + [os.path.join(os.path.dirname(link), target) for link, target in v.links]
    hidden_parents = {b for b in v.binds for h in v.hidden if _under(h, b)}
    if hidden_parents:  # Landlock only adds: allow the siblings of what must stay hidden
        read = [p for p in read if p not in hidden_parents]
        for parent in hidden_parents:
            read += _siblings_of_hidden(parent, v.hidden)
    read += [os.path.join("/etc", n) for n in _ETC_BOUND + ("passwd", "group", "hosts", "nsswitch.conf", "host.conf")]
    # /sys read-only: gloo lists PCI devices there, torch reads the CPU topology.
    read += [os.path.realpath("/etc/localtime"), "/proc", "/sys"]
    return tuple(read)


def _siblings_of_hidden(parent: str, hidden: Sequence[str]) -> list[str]:
    """Everything under `parent` but the hidden paths, as few Landlock rules as it takes.
    Rules follow symlinks, so a link to the hidden path or above it is left out too."""
    hidden_real = [os.path.realpath(h) for h in hidden]
    out: list[str] = []
    try:
        names = os.listdir(parent)
    except OSError:
        return out
    for name in names:
        path = os.path.join(parent, name)
        real = os.path.realpath(path)
        if not any(_under(h, real) for h in hidden_real):
            out.append(path)
        elif real == path and real not in hidden_real:
            out += _siblings_of_hidden(path, hidden)
    return out
