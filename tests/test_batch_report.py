"""The batch benchmark's verdicts: a missed target or a double delivery is never reported as met.

No process runs here: the table is built from measured sides, as `bench/batch_bench.py`
builds it after a run.
"""

from __future__ import annotations

import argparse

from bench.batch_report import table
from bench.batch_runs import Side


def side(name: str, procs: int, per_s: float, cpu_ms: float, once: bool = True) -> Side:
    measured = Side(name, procs, 10_000, per_s=per_s, worker_cpu_ms=cpu_ms, exactly_once=once)
    measured.repeats = [per_s]
    return measured


ARGS = argparse.Namespace(count=10_000, latency=200, repeat=1, peer_concurrency=192)


def test_a_dispatcher_below_500_a_second_and_two_that_do_not_scale_are_reported_missed():
    report = table([side("ours", 1, 450, 1.0), side("ours", 2, 500, 1.1)], ARGS)
    assert "one dispatcher >= 500/s: 450/s MISSED" in report
    assert "two dispatchers >= 1.8x one (uncapped, sharing the machine; " in report
    assert "--dispatcher-cpu): 1.11x MISSED" in report


def test_ours_against_the_peer_needs_both_the_speed_and_less_cpu_per_delivery():
    report = table([side("ours", 1, 600, 3.0), side("celery", 1, 300, 2.0)], ARGS)
    assert "ours >= 1.5x Celery: 2.00x met; CPU per delivery ours 3.00 ms vs Celery" in report
    assert report.rstrip().splitlines()[-2].endswith("MISSED")


def test_a_side_that_delivered_twice_fails_the_exactly_once_line_and_says_what_it_saw():
    twice = side("celery", 1, 300, 2.0, once=False)
    twice.detail = "rows sent once 9999, /stats {'sent': 10000, 'replays': 1}"
    report = table([side("ours", 1, 600, 1.0), twice], ARGS)
    assert "NO (rows sent once 9999" in report
    assert report.rstrip().endswith("MISSED")
