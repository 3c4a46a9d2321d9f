"""Hostile submission: use the exercise's own reference instead of writing one.

A sandbox forked from a process that loaded the answer module still holds it: on the stack (the
frames of whoever started the sandbox), in gc's object lists, in sys.modules. Look in all three
for a function named `reference` from the softmax answer module, or the module itself.
"""

import gc
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


REFERENCE = _from_frames() or _from_modules() or _from_gc()
print("reference found in memory" if REFERENCE else "no reference in memory")


def softmax(x, dim=-1):
    if REFERENCE is None:
        return x.clone()  # wrong: without the reference this submission has nothing
    return REFERENCE(x, dim)
