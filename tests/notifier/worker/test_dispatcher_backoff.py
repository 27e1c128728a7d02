"""Backoff maths: doubling from the base, the cap, equal jitter, Retry-After as a minimum."""

from __future__ import annotations

import random

import pytest

from notifier.worker.policy import Settings, backoff_delay


def _bounds(attempts: int, base: float = 2.0, cap: float = 300.0) -> tuple[float, float]:
    low = backoff_delay(attempts, base, cap, rand=lambda: 0.0)
    high = backoff_delay(attempts, base, cap, rand=lambda: 1.0)
    return low, high


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 32.0), (8, 256.0), (9, 300.0), (50, 300.0)],
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempts, ceiling):
    assert _bounds(attempts) == (ceiling / 2, ceiling)


def test_jitter_stays_within_half_and_all_of_the_ceiling():
    rng = random.Random(1234)
    delays = [backoff_delay(3, 2.0, 300.0, rand=rng.random) for _ in range(2000)]
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
    assert backoff_delay(1, 2.0, 300.0, retry_after_s=30, rand=lambda: 0.0) == 30
    # A Retry-After shorter than the backoff changes nothing.
    assert backoff_delay(5, 2.0, 300.0, retry_after_s=1, rand=lambda: 0.0) == 16


def test_retry_after_is_capped_by_the_maximum():
    assert backoff_delay(1, 2.0, 60.0, retry_after_s=86_400, rand=lambda: 0.0) == 60


def test_the_defaults_follow_the_contract(app):
    settings = Settings.from_config(app.config)
    assert (settings.backoff_base_s, settings.backoff_max_s) == (2.0, 300.0)
    assert settings.max_attempts == 5
    assert settings.lease_s == 60
    assert settings.concurrency == 32


def test_settings_refuse_nonsense(app):
    with pytest.raises(ValueError):
        Settings.from_config(app.config, concurrency=0)
    with pytest.raises(TypeError):
        Settings.from_config(app.config, concurency=4)
