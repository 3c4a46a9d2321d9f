"""The timing harness's judgement, without a GPU: which figures it calls implausible, and how it
reports a run. (Timing itself needs CUDA; docs/gpu.md says how to run it.)"""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import REPO


def _timing():
    spec = importlib.util.spec_from_file_location("_test_kernels_timing", REPO / "kernels" / "timing.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_plausible_figures_are_not_flagged() -> None:
    timing = _timing()
    assert timing.implausible({"torch eager": 3.2, "torch.compile": 1.1}, 2500.0, 3000.0) == []


def test_more_than_fifty_times_eager_is_flagged() -> None:
    flags = _timing().implausible({"torch eager": 80.0}, None, None)
    assert len(flags) == 1 and "80x over torch eager" in flags[0]


def test_faster_than_memory_is_flagged() -> None:
    flags = _timing().implausible({"torch eager": 2.0}, 5000.0, 3000.0)
    assert len(flags) == 1 and "more than the memory can move" in flags[0]


def test_report_summary_names_device_speedups_and_flags() -> None:
    timing = _timing()
    t = timing.Timing(median_ms=0.05, p10_ms=0.04, p90_ms=0.06, runs=40)
    report = timing.Report(
        "NVIDIA H100",
        "solution",
        {"solution": t},
        {"torch eager": 2.5},
        1800.0,
        3000.0,
        flags=["x"],
        errors={"torch.compile": "unavailable"},
    )
    text = report.summary
    assert "50.0 us on NVIDIA H100" in text and "2.50x over torch eager" in text
    assert "1800 GB/s" in text and "torch.compile (unavailable)" in text and "IMPLAUSIBLE: x" in text
    assert report.to_dict()["summary"] == text
