"""The login line in bench/run.py: CPU per login at most 4 ms above the bare hash's."""

import pytest

from bench.scenario import ScenarioResult
from bench.scenarios import SCENARIOS
from bench.wrk import Measurement


def _judge(ours_app_ms: float, ours_db_ms: float, floor_app_ms: float) -> bool | None:
    result = ScenarioResult(
        ours=Measurement(
            rps=80, p50_ms=380, p99_ms=430, app_cpu_ms=ours_app_ms, db_cpu_ms=ours_db_ms
        ),
        floor=Measurement(rps=95, p50_ms=330, p99_ms=370, app_cpu_ms=floor_app_ms, db_cpu_ms=0),
    )
    (target,) = SCENARIOS["login"].targets
    return target.check(result, {})


@pytest.mark.parametrize(
    ("ours_app", "ours_db", "floor_app", "verdict"),
    [
        (22.92, 0.68, 20.35, True),  # 3.25 ms besides the hash (a run of 2026-12-05)
        (15.0, 0.7, 14.0, True),  # a faster hash: the same work is judged the same
        (25.0, 0.7, 20.35, False),  # a new round trip or a second hash: 5.35 ms
    ],
)
def test_login_is_judged_on_the_cpu_it_spends_besides_the_hash(
    ours_app, ours_db, floor_app, verdict
):
    assert _judge(ours_app, ours_db, floor_app) is verdict


def test_without_cpu_readings_there_is_no_verdict():
    result = ScenarioResult(ours=Measurement(rps=80, p50_ms=1, p99_ms=1), floor=None)
    (target,) = SCENARIOS["login"].targets
    assert target.check(result, {}) is None
