"""How long a check takes: attention.gqa with its reference as the submission, default budget.

Prints one JSON line:
  cold_first_check_ms      start the judge (worker process, torch import) and get the first verdict
  warm_p50_ms, warm_p95_ms one check on the warm worker, as the app and `llmq check --watch` see it:
                           after a pause (--pause, 0.3 s: the least a person takes to edit and save),
                           which the worker uses to make the next check's sandbox and harness ready
  back_to_back_p50_ms      one check sent the moment the previous verdict arrived (no pause: the
                           worst case, a script checking many files; `llmq verify`)
  warm_vs_fresh            warm_p50_ms / fresh_subprocess_p50_ms
  fresh_subprocess_p50_ms  the naive way: a fresh `python -c` that imports torch and runs the checks
  warm_cpu_p50_ms          CPU time of one warm check's processes (harness, sandbox, its supervisor),
                           the spare's preparation included: steadier than wall time on a loaded machine
  isolation                what the sandbox gave the submission ("full" or "limits-only")
  load_average_1min        the machine's load when the figures were taken (they scale with it)
Details go to stderr. Run: .venv/bin/python benchmarks/judge_latency.py [--runs N] [--pause S]
(LLMQ_SANDBOX=limits-only measures the fallback.) It prints figures and judges nothing by them;
it stops with a message only when a check it times does not pass (then nothing was measured).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmq.judge.client import ExerciseRef, Judge  # noqa: E402  (no torch in this process)

GQA = ExerciseRef("attention.gqa", ROOT / "answers" / "attention" / "gqa.py", "grouped_query_attention")

FRESH = """
import json, sys
from llmq.judge import harness
request = harness.Request(exercise="attention.gqa", answer_path=sys.argv[1],
                          function="grouped_query_attention", submission="reference", seed=int(sys.argv[2]))
print(json.dumps(harness.judge_here(request).to_dict()))
"""


def must_pass(verdict: object, what: str) -> None:
    """A check that does not pass measured something else: stop and say so (not an assert: it
    holds under python -O too)."""
    status = getattr(verdict, "status", None)
    if status != "pass":
        sys.exit(f"judge_latency: {what} was judged {status!r}, not pass: {getattr(verdict, 'summary', verdict)}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40, help="warm checks to time")
    parser.add_argument("--fresh-runs", type=int, default=5, help="fresh-process checks to time")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between two warm checks (not timed)")
    args = parser.parse_args()

    started = time.perf_counter()
    judge = Judge()
    first = judge.check(GQA, "", submission="reference", seed=0)
    cold_ms = (time.perf_counter() - started) * 1000
    must_pass(first, "the first check")
    isolation = first.isolation

    def timed(seed: int) -> float:
        t = time.perf_counter()
        verdict = judge.check(GQA, "", submission="reference", seed=seed)
        elapsed = (time.perf_counter() - t) * 1000
        cpu.append(verdict.cpu_s * 1000)
        must_pass(verdict, f"the warm check with seed {seed}")
        if verdict.isolation != isolation:
            sys.exit(f"judge_latency: the isolation changed from {isolation} to {verdict.isolation} during the run")
        return elapsed

    warm: list[float] = []
    back_to_back: list[float] = []
    cpu: list[float] = []
    for seed in range(1, args.runs + 1):
        time.sleep(args.pause)
        warm.append(timed(seed))
    warm_cpu = list(cpu)
    for seed in range(args.runs + 1, args.runs + 1 + max(5, args.runs // 2)):
        back_to_back.append(timed(seed))
    judge.close()

    fresh = []
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    if os.environ.get("LLMQ_SANDBOX"):
        env["LLMQ_SANDBOX"] = os.environ["LLMQ_SANDBOX"]
    for seed in range(args.fresh_runs):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", FRESH, str(GQA.answer_path), str(seed)], capture_output=True, text=True, env=env, check=True
        )
        fresh.append((time.perf_counter() - t) * 1000)
        status = json.loads(out.stdout)["status"]
        if status != "pass":
            sys.exit(f"judge_latency: the fresh-process check was judged {status!r}, not pass: {out.stdout[:500]}")

    figures = {
        "cold_first_check_ms": round(cold_ms, 1),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(percentile(warm, 0.95), 1),
        "back_to_back_p50_ms": round(statistics.median(back_to_back), 1),
        "warm_vs_fresh": round(statistics.median(warm) / statistics.median(fresh), 3),
        "fresh_subprocess_p50_ms": round(statistics.median(fresh), 1),
        "warm_cpu_p50_ms": round(statistics.median(warm_cpu), 1),
        "isolation": isolation,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(
        f"isolation {isolation}; warm runs {len(warm)} after {args.pause:g} s pauses, {len(back_to_back)} back to back, "
        f"fresh runs {len(fresh)}; warm min {min(warm):.1f} ms, max {max(warm):.1f} ms; "
        f"warm CPU p50 {statistics.median(warm_cpu):.1f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall figures grow with the load; the CPU figure much less)",
        file=sys.stderr,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
