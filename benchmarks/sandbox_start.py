"""What the jail adds to a check: start() and the body's first message, against a plain fork.

Runs in a process warmed like the judge's worker (torch, numpy and hypothesis imported, heap
frozen), so forks cost what they cost there. Prints one JSON line per way of starting:
  plain_fork           os.fork(); the child writes one byte on a pipe
  full / limits-only   jail.start(); the body writes one byte on a kept pipe
with start_ms (how long the caller is blocked in start()/fork), first_message_ms (until the byte
arrives), end_ms (until the status line arrives, or the child is reaped), p50 and p90, cpu_ms
(CPU time of the caller and all the processes of one run, median: what a loaded machine cannot
hide), and the isolation level this machine gives. Run: .venv/bin/python benchmarks/sandbox_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def warm() -> None:
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    gc.collect()
    gc.freeze()


def plain_fork() -> tuple[float, float, float]:
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.write(w, b"x")
        os._exit(0)
    t1 = time.perf_counter()
    os.close(w)
    os.read(r, 1)
    t2 = time.perf_counter()
    os.waitpid(pid, 0)
    t3 = time.perf_counter()
    os.close(r)
    return t1 - t0, t2 - t0, t3 - t0


def jailed() -> tuple[float, float, float]:
    from llmq.judge import jail

    r, w = os.pipe()

    def body() -> None:
        jail.lock(2 * 1024**3, 10, 16 * 1024**2)
        os.write(w, b"x")

    t0 = time.perf_counter()
    j = jail.start(body, [w])
    t1 = time.perf_counter()
    os.close(w)
    os.read(r, 1)
    t2 = time.perf_counter()
    status = j.read_status(timeout=10)
    t3 = time.perf_counter()
    assert status == {"end": "exit", "code": 0}, status
    j.kill()
    j.close()
    os.close(r)
    return t1 - t0, t2 - t0, t3 - t0


def cpu_s() -> float:
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measure(fn, runs: int) -> dict[str, float]:
    fn()  # first run: caches, the level probe
    samples = []
    cpu = []
    for _ in range(runs):
        before = cpu_s()
        samples.append(fn())
        cpu.append((cpu_s() - before) * 1000)
    out = {"cpu_ms_p50": round(percentile(cpu, 0.5), 2)}
    for i, name in enumerate(("start_ms", "first_message_ms", "end_ms")):
        values = [s[i] * 1000 for s in samples]
        out[f"{name}_p10"] = round(percentile(values, 0.1), 2)  # the least disturbed by other load
        out[f"{name}_p50"] = round(percentile(values, 0.5), 2)
        out[f"{name}_p90"] = round(percentile(values, 0.9), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    warm()
    from llmq.judge import jail

    load = round(os.getloadavg()[0], 2)  # figures scale with the machine's load: say what it was
    print(json.dumps({"way": "plain_fork", "load_average_1min": load, **measure(plain_fork, args.runs)}))
    level = jail.isolation_level()
    print(json.dumps({"way": level, "machine_level": level, **measure(jailed, args.runs)}))
    os.environ[jail.ENV_SWITCH] = "limits-only"
    print(json.dumps({"way": jail.LIMITS_ONLY, "machine_level": level, **measure(jailed, args.runs)}))


if __name__ == "__main__":
    main()
