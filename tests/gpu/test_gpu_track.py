"""The GPU track as a user meets it on a machine without CUDA: listed, checkable, and judged right.

Triton kernels run under TRITON_INTERPRET=1 inside the sandbox, distributed exercises as gloo
ranks forked in it, and the verdict says it checked correctness only.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmq.judge.answer import load
from llmq.judge.kit import edited
from tests.conftest import REPO, run_llmq

EXPECTED = {
    "gpu.rms_norm_triton",
    "gpu.ddp_average_gradients",
    "gpu.vector_add",
    "gpu.softmax_triton",
    "gpu.rope_triton",
    "gpu.flash_attention_triton",
    "gpu.cross_entropy_triton",
    "gpu.grad_accumulation",
    "gpu.bf16_master_step",
    "gpu.activation_checkpointing",
    "gpu.zero1_adam",
    "gpu.tensor_parallel_mlp",
    "gpu.pipeline_1f1b",
}


def test_list_track_gpu_shows_every_gpu_exercise() -> None:
    done = run_llmq("list", "--track", "gpu", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["id"] for r in rows} >= EXPECTED
    assert all(r["track"] == "gpu" for r in rows)
    assert all(r["topic"] == "gpu" and r["kind"] == "code" for r in rows if r["id"] in EXPECTED)


def test_stub_of_the_fixed_exercise_defines_its_function() -> None:
    done = run_llmq("stub", "gpu.rms_norm_triton")
    assert done.returncode == 0, done.stderr
    assert "def rms_norm(x, weight, eps=1e-6):" in done.stdout and "@triton.jit" in done.stdout


# That every GPU exercise holds (its reference passes, each known-wrong answer fails, each
# alternative passes, under verify's seeds) is judged once, by tests/test_cli.py's
# test_verify_text_says_every_exercise_holds (`llmq verify --track gpu`: the same verify() over the
# same exercises); tests/judge/test_bank_answers.py counts each module's wrong answers and
# alternatives, and the test above lists every GPU exercise.


PLAIN_TORCH_RMS = """
import torch

def rms_norm(x, weight, eps=1e-6):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()).to(x.dtype)
"""


def test_a_solution_that_launches_no_kernel_fails_saying_so(gpu_judge, gpu_exercises) -> None:
    verdict = gpu_judge.check(gpu_exercises["gpu.rms_norm_triton"], PLAIN_TORCH_RMS, seed=3)
    assert verdict.status == "fail"
    failed = next(c for c in verdict.checks if c.status == "fail")
    assert "launched no Triton kernel" in failed.message
    assert "@triton.jit" in failed.message


def test_reference_passes_and_the_verdict_says_correctness_only(gpu_judge, gpu_exercises) -> None:
    verdict = gpu_judge.check(gpu_exercises["gpu.vector_add"], "", submission="reference", seed=5)
    assert verdict.status == "pass", verdict.summary
    assert any("correctness only" in note and "TRITON_INTERPRET=1" in note for note in verdict.notes)
    from llmq.judge.verdict import render_text

    assert "note: correctness only" in render_text(verdict)


UNMASKED_ADD = """
import torch
import triton
import triton.language as tl

@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs) + tl.load(y_ptr + offs))

def vector_add(x, y):
    out = torch.empty_like(x)
    add_kernel[(triton.cdiv(x.numel(), 64),)](x, y, out, x.numel(), BLOCK=64)
    return out
"""


def test_a_store_past_the_end_is_named(gpu_judge, gpu_exercises) -> None:
    verdict = gpu_judge.check(gpu_exercises["gpu.vector_add"], UNMASKED_ADD, seed=1)
    assert verdict.status == "fail"
    text = " ".join(c.message for c in verdict.checks)
    assert "wrote past the end" in text and "mask" in text


def test_distributed_exercise_reports_a_rank_that_raised(gpu_judge, gpu_exercises) -> None:
    source = "import torch.distributed as dist\n\ndef average_gradients(model):\n    raise ValueError('boom on rank %d' % dist.get_rank())\n"
    verdict = gpu_judge.check(gpu_exercises["gpu.ddp_average_gradients"], source, seed=2)
    assert verdict.status == "error"
    text = " ".join(c.message for c in verdict.checks)
    assert "rank" in text and "ValueError: boom on rank" in text and 'File "solution.py"' in text


@pytest.mark.slow
def test_distributed_exercise_reports_a_collective_only_one_rank_calls(gpu_judge, gpu_exercises) -> None:
    source = (
        "import torch.distributed as dist\n\n"
        "def average_gradients(model):\n"
        "    if dist.get_rank() == 0:\n"
        "        for p in model.parameters():\n"
        "            if p.grad is not None:\n"
        "                dist.all_reduce(p.grad)\n"
    )
    verdict = gpu_judge.check(gpu_exercises["gpu.ddp_average_gradients"], source, seed=2)
    assert verdict.status in ("error", "fail")
    text = " ".join(c.message for c in verdict.checks)
    assert "collective" in text and ("did not finish within" in text or "every rank must make the same collective calls" in text)
    # ...and the next submission is judged normally
    good = gpu_judge.check(gpu_exercises["gpu.ddp_average_gradients"], "", submission="reference", seed=2)
    assert good.status == "pass", good.summary


def test_describe_device_does_not_import_torch() -> None:
    code = "import sys, llmq.judge.device as d\ndev = d.describe_device()\nprint(dev.kind, 'torch' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    kind, imported = done.stdout.split()
    assert kind in ("cpu", "cuda") and imported == "False"


def test_bench_harness_without_cuda_says_there_is_nothing_to_time() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the harness would time for real")
    done = subprocess.run([sys.executable, "benchmarks/gpu_kernels.py"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device" in json.loads(done.stdout)["skipped"]


def test_an_autotuned_kernel_passes_under_the_interpreter(gpu_judge, gpu_exercises) -> None:
    """@triton.autotune cannot benchmark without a GPU; the judge keeps its first config there."""
    exercise = gpu_exercises["gpu.vector_add"]
    # The answer module's correct masked kernel, with its block size left to the autotuner.
    autotuned = edited(
        load(exercise.answer_path).module._PLAIN,
        (
            "@triton.jit",
            '@triton.autotune(configs=[triton.Config({"BLOCK": 64}), triton.Config({"BLOCK": 256})], key=["n"])\n@triton.jit',
        ),
        (
            "add_kernel[(triton.cdiv(n, 128),)](x, y, out, n, BLOCK=128)",
            'add_kernel[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, y, out, n)',
        ),
    )
    verdict = gpu_judge.check(exercise, autotuned, seed=3)
    assert verdict.status == "pass", verdict.summary
