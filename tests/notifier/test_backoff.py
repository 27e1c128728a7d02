"""The one backoff formula: doubling, the cap, equal jitter, Retry-After as a minimum."""

from __future__ import annotations

import random

import pytest

from notifier.backoff import exponential_backoff
from notifier.webhooks.policy import retry_delay
from notifier.worker.policy import backoff_delay


def _bounds(attempts: int, base: float = 2.0, cap: float = 300.0) -> tuple[float, float]:
    low = exponential_backoff(attempts, base, cap, retry_after_cap_s=cap, rand=lambda: 0.0)
    high = exponential_backoff(attempts, base, cap, retry_after_cap_s=cap, rand=lambda: 1.0)
    return low, high


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 32.0), (8, 256.0), (9, 300.0), (50, 300.0)],
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempts, ceiling):
    assert _bounds(attempts) == (ceiling / 2, ceiling)


def test_jitter_stays_within_half_and_all_of_the_ceiling():
    rng = random.Random(1234)
    delays = [
        exponential_backoff(3, 2.0, 300.0, retry_after_cap_s=300.0, rand=rng.random)
        for _ in range(2000)
    ]
    assert min(delays) >= 4.0
    assert max(delays) <= 8.0
    # Spread out, not all the same: that is what the jitter is for.
    assert max(delays) - min(delays) > 3.5
    assert len({round(d, 3) for d in delays}) > 1000


def test_zero_attempts_is_treated_as_the_first():
    assert _bounds(0) == _bounds(1)


def test_a_huge_attempt_count_does_not_overflow():
    assert _bounds(10_000) == (150.0, 300.0)


def test_retry_after_is_a_minimum():
    def wait(attempts: int, retry_after_s: float) -> float:
        return exponential_backoff(
            attempts, 2.0, 300.0, retry_after_s, retry_after_cap_s=300.0, rand=lambda: 0.0
        )

    assert wait(1, 30) == 30
    # A Retry-After shorter than the backoff changes nothing.
    assert wait(5, 1) == 16


@pytest.mark.parametrize(("cap", "expected"), [(60.0, 60.0), (3600.0, 3600.0), (10.0, 10.0)])
def test_retry_after_is_honoured_up_to_its_own_cap_above_or_below_the_backoff_cap(cap, expected):
    delay = exponential_backoff(1, 2.0, 60.0, 86_400, retry_after_cap_s=cap, rand=lambda: 0.0)
    assert delay == expected


@pytest.mark.parametrize("attempts", [0, 1, 2, 5, 9, 40])
@pytest.mark.parametrize("jitter", [0.0, 0.37, 1.0])
def test_the_dispatcher_and_the_webhook_sender_wait_alike_without_a_retry_after(attempts, jitter):
    ours = backoff_delay(attempts, 2.0, 300.0, rand=lambda: jitter)
    theirs = retry_delay(attempts, 2.0, 300.0, rand=lambda: jitter)
    assert ours == theirs == _bounds(attempts)[0] + jitter * _bounds(attempts)[0]


def test_they_differ_only_in_how_far_a_retry_after_reaches():
    # The dispatcher stops at its backoff cap; the sender honours up to an hour.
    assert backoff_delay(1, 2.0, 60.0, retry_after_s=86_400, rand=lambda: 0.0) == 60
    assert retry_delay(1, 2.0, 60.0, retry_after_s=86_400, rand=lambda: 0.0) == 3600
