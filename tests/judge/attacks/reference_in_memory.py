"""Hostile submission: use the exercise's own reference instead of writing one.

A sandbox forked from a process that loaded the answer module still holds it: on the stack (the
frames of whoever started the sandbox), in gc's object lists, in sys.modules. Look in all three
for a function named `reference` from the softmax answer module, or the module itself; failing
that, for the module's text (linecache, any string) and compile the reference out of it.
"""

import gc
import itertools
import linecache
import sys
import types


def _reference_of(obj: object):
    if isinstance(obj, types.FunctionType) and obj.__name__ == "reference" and "softmax" in obj.__code__.co_filename:
        return obj
    if isinstance(obj, types.ModuleType) and "softmax" in str(getattr(obj, "__file__", "")):
        ref = obj.__dict__.get("reference")
        return ref if callable(ref) else None
    return None


def _from_frames():
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            for candidate in (value, getattr(value, "module", None) if not isinstance(value, type) else None):
                found = _reference_of(candidate)
                if found:
                    return found
        frame = frame.f_back
    return None


def _from_modules():
    for module in list(sys.modules.values()):
        found = _reference_of(module)
        if found:
            return found
    return None


def _from_gc():
    for obj in gc.get_objects():
        found = _reference_of(obj)
        if found:
            return found
    return None


def _from_text():
    """The answer module's source, if any copy of it is in memory (linecache, a str anywhere)."""
    texts = ["".join(entry[2]) for name, entry in list(linecache.cache.items()) if "softmax" in str(name) and len(entry) > 2]
    for obj in gc.get_objects():  # str is not tracked by gc: look inside the containers that are
        items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
        try:
            texts += [item for item in items if isinstance(item, str) and "def reference(x, dim=-1)" in item]
        except RuntimeError:  # a dict changed size while we looked
            continue
    for text in texts:
        start = text.find("def reference(")
        if start < 0:
            continue
        lines = text[start:].splitlines()
        body = [lines[0], *itertools.takewhile(lambda line: not line or line[0] in " \t", lines[1:])]
        namespace: dict = {}
        try:
            exec("import torch\n" + "\n".join(body), namespace)
        except Exception:
            continue
        return namespace["reference"]
    return None


REFERENCE = _from_frames() or _from_modules() or _from_gc() or _from_text()
print("reference found in memory" if REFERENCE else "no reference in memory")


def softmax(x, dim=-1):
    if REFERENCE is None:
        return x.clone()  # wrong: without the reference this submission has nothing
    return REFERENCE(x, dim)
