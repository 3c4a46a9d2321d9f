"""A series (`Judge.submit(..., seeds=...)`, what `llmq verify` sends): one sandbox judges a
submission under several seeds in turn. Each seed's verdict is the one a run of its own gives;
the submission is loaded afresh for each seed; a series whose sandbox ends stops there (verify
then judges the seeds left one by one: test_verify_order.py)."""

from __future__ import annotations

from llmq.judge.client import Judge
from llmq.judge.verdict import Verdict
from tests.judge.conftest import GOOD, GQA


def _outline(verdict: Verdict) -> list[tuple[str, str, str]]:
    return [(c.name, c.status, c.message) for c in verdict.checks]


def test_each_seed_of_a_series_gets_the_verdict_a_run_of_its_own_gives(judge: Judge) -> None:
    wrong = GOOD.replace("diagonal=1", "diagonal=2")  # the causal mask lets each query see one key ahead
    for source in (GOOD, wrong):
        series = judge.submit(GQA, source, seeds=(3, 4, 5), shrink=False, stop_on_failure=True).result()
        alone = [judge.submit(GQA, source, seed=s, shrink=False, stop_on_failure=True).result() for s in (3, 4, 5)]
        assert [v.seed for v in series] == [3, 4, 5]
        assert [v.status for v in series] == [v.status for v in alone] == (["pass"] * 3 if source is GOOD else ["fail"] * 3)
        assert [_outline(v) for v in series] == [_outline(v) for v in alone]  # same checks, same messages
        assert all(v.cpu_s > 0 and v.isolation == alone[0].isolation for v in series)


def test_the_submission_is_loaded_afresh_for_each_seed(judge: Judge) -> None:
    printing = "print('module loaded')\n" + GOOD
    series = judge.submit(GQA, printing, seeds=(0, 1, 2), shrink=False).result()
    assert [v.status for v in series] == ["pass"] * 3
    assert [v.stdout.count("module loaded") for v in series] == [1, 1, 1]  # each seed its own load, its own output


def test_each_seed_keeps_what_it_printed(judge: Judge) -> None:
    chatty = GOOD.replace("def grouped_query_attention(", "def _gqa(", 1) + (
        "\n\ndef grouped_query_attention(*args, **kwargs):\n    print('called')\n    return _gqa(*args, **kwargs)\n"
    )
    series = judge.submit(GQA, chatty, seeds=(0, 1, 2), shrink=False).result()
    alone = [judge.submit(GQA, chatty, seed=s, shrink=False).result() for s in (0, 1, 2)]
    counts = [v.stdout.count("called") for v in series]
    assert counts == [v.stdout.count("called") for v in alone] and min(counts) > 0


# Ends its sandbox at its second load (the builtins module outlives a reload; the sandbox does not).
ENDS_AT_SECOND_LOAD = (
    "import builtins, os\n"
    "if getattr(builtins, 'llmq_loaded_before', False):\n"
    "    os._exit(3)\n"
    "builtins.llmq_loaded_before = True\n"
) + GOOD


def test_a_series_stops_where_its_sandbox_ends(judge: Judge) -> None:
    series = judge.submit(GQA, ENDS_AT_SECOND_LOAD, seeds=(0, 1, 2), shrink=False).result()
    assert [v.seed for v in series] == [0, 1]  # seed 2 was not judged: no verdict claims it was
    assert series[0].status == "pass"
    assert series[1].status == "crash" and "exit" in series[1].summary


def test_a_series_refused_before_it_runs_has_the_same_verdict_under_every_seed(judge: Judge) -> None:
    forbidden = GOOD.replace(
        "torch.softmax(", "torch.nn.functional.scaled_dot_product_attention(q, k, v) if False else torch.softmax(", 1
    )
    for source, status in ((GOOD.replace("def ", "def def ", 1), "error"), (forbidden, "fail")):
        series = judge.submit(GQA, source, seeds=(0, 1, 2)).result()
        alone = judge.submit(GQA, source, seed=1).result()
        assert [v.seed for v in series] == [0, 1, 2]  # nothing left for verify to judge again
        assert [v.status for v in series] == [status] * 3 and alone.status == status
        assert _outline(series[1]) == _outline(alone)
        failed = next(c for c in alone.checks if c.status == "fail")
        assert failed.name == (
            "uses no forbidden call" if status == "fail" else "solution loads and defines `grouped_query_attention`"
        )
