"""The child process that runs numeric answer modules, so that the app and the CLI never do.

An answer module is plain Python from a bank: it may loop forever at import or in answer(). Run
here, in a process of its own, the parent (llmq/bank/numeric_runner.py) can stop it after a time
limit; a thread in llmq's own process could never be stopped. Standard library only: it is started
as `python -I numeric_child.py`, without llmq on its path.

Protocol, one JSON object per line. The child says {"ready": true} once, then for each request
{"path": str, "calls": [{param: value, ...}, ...]} it answers in two steps:
    {"stage": "loaded"}                                             the module imported, or
    {"stage": "load", "error": "Type: message"} / {"stage": "load", "missing": "answer"}
and then, if loaded:
    {"stage": "done", "results": [[answer, {step: value}], ...]}    or
    {"stage": "answer", "index": i, "error": "Type: message"}       calls[i] raised
"""

from __future__ import annotations

import importlib.util
import json
import numbers
import os
import sys
from types import ModuleType
from typing import IO, Any

_modules: dict[tuple[str, int, int], ModuleType] = {}


def _load(path: str) -> ModuleType:
    """The module at `path`, loaded once per file version (an edited module is loaded afresh)."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _modules:
        spec = importlib.util.spec_from_file_location(f"llmq_numeric_{len(_modules)}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[key] = module
    return _modules[key]


def _plain(value: Any) -> Any:
    """A step's value as JSON can carry it: numbers stay numbers, anything else becomes its text."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _serve(request: dict[str, Any], send: Any) -> None:
    try:
        module = _load(str(request["path"]))
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import is the module's fault too
        send({"stage": "load", "error": _describe(exc)})
        return
    if not callable(getattr(module, "answer", None)):
        send({"stage": "load", "missing": "answer"})
        return
    send({"stage": "loaded"})
    results = []
    for index, values in enumerate(request["calls"]):
        try:
            answer = float(module.answer(**values))
            steps = dict(module.steps(**values)) if hasattr(module, "steps") else {}
        except BaseException as exc:  # noqa: BLE001
            send({"stage": "answer", "index": index, "error": _describe(exc)})
            return
        results.append([answer, {str(k): _plain(v) for k, v in steps.items()}])
    send({"stage": "done", "results": results})


def main() -> None:
    # The protocol keeps its own descriptors; fds 0 and 1 go to /dev/null, so a module that
    # prints or reads input cannot corrupt it.
    proto_in: IO[str] = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    def send(message: dict[str, Any]) -> None:
        proto_out.write(json.dumps(message) + "\n")
        proto_out.flush()

    send({"ready": True})
    for line in proto_in:
        if line.strip():
            _serve(json.loads(line), send)
    # The parent closed the pipe: leave now, even if a module started threads that never end.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
