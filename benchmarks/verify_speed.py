"""How long `llmq verify` takes, per track, and how busy the machine was meanwhile.

Runs `python -m llmq verify --track T --json` in a fresh process for each track asked for (cpu,
gpu; both by default) and prints one JSON line per track:
  track                   the track verified
  seconds                 wall-clock time of the whole command (bank load, worker start, verdicts)
  ok                      whether verify said everything holds (exit status 0)
  exercises, submissions  how many exercises, and bank submissions judged (every seed counted)
  judge_seconds           the judge's own time, all submissions together (over `seconds`: the
                          cores the run used at once)
  judge_cpu_seconds       CPU time of the submissions' harness and sandbox processes
  heaviest                the five exercises with the most judge CPU time, with their seconds
  cpu_seconds             busy CPU time of the whole machine during the command (/proc/stat: on a
                          quiet machine, the command and everything it started). Not the command's
                          child usage (getrusage): the sandboxes' processes end as orphans of the
                          judge's workers and never reach it (a solution burning 10.8 s of CPU
                          added 1.6 s there); where /proc/stat is missing, that figure, marked
                          in `cpu_source`
  cores                   os.cpu_count()
  workers, jobs           the judge workers verify used, and the submissions judged at once on
                          them all (verify.parallelism: one per core, each on its own worker, at most 8)
  load_before, load_after the 1-minute load average before and after (others' work on a shared
                          machine slows the run: compare figures taken at similar loads)
The issue's budgets on a 2-core machine: cpu under 180 s, gpu under 480 s.
Run: .venv/bin/python benchmarks/verify_speed.py [--track cpu|gpu|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS_PER_TRACK = {"cpu": 5, "gpu": 2}  # llmq.judge.verify: VERIFY_SEEDS, GPU_VERIFY_SEEDS


def busy_cpu_s() -> tuple[float, str]:
    """CPU seconds the machine has been busy since boot (all cores), and where the figure came
    from; the command's child usage where /proc/stat cannot be read."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        idle = ticks[3] + ticks[4]  # idle, iowait
        return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK"), "machine"
    except (OSError, ValueError, IndexError):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime, "children"


def run(track: str) -> dict[str, object]:
    load_before = os.getloadavg()[0]
    cpu_before, source = busy_cpu_s()
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llmq", "verify", "--track", track, "--json", "--lang", "en"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.monotonic() - started
    figures: dict[str, object] = {
        "track": track,
        "seconds": round(seconds, 1),
        "ok": proc.returncode == 0,
        "cpu_seconds": round(busy_cpu_s()[0] - cpu_before, 1),
        "cpu_source": source,
        "cores": os.cpu_count(),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        print(proc.stderr[-2000:], file=sys.stderr)
        return figures
    exercises = report.get("exercises", [])
    per_exercise = [1 + e.get("wrong_answers_total", 0) + e.get("alternatives_total", 0) for e in exercises]
    figures["workers"] = report.get("workers")
    figures["jobs"] = report.get("jobs")
    figures["exercises"] = len(exercises)
    figures["submissions"] = sum(per_exercise) * SEEDS_PER_TRACK[track]
    figures["judge_seconds"] = round(sum(e.get("run_s", 0.0) for e in exercises), 1)
    figures["judge_cpu_seconds"] = round(sum(e.get("cpu_s", 0.0) for e in exercises), 1)
    heaviest = sorted(exercises, key=lambda e: -e.get("cpu_s", 0.0))[:5]
    figures["heaviest"] = {e.get("id", "?"): round(e.get("cpu_s", 0.0), 1) for e in heaviest}
    for problem in [p for e in exercises for p in e.get("problems", [])] + report.get("bank_errors", []):
        print(f"{track}: {problem}", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track", choices=["cpu", "gpu", "both"], default="both")
    args = parser.parse_args()
    for track in ("cpu", "gpu") if args.track == "both" else (args.track,):
        print(json.dumps(run(track)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
