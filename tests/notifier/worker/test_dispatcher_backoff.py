"""The dispatcher's backoff: the shared formula (tests/notifier/test_backoff.py) with a
Retry-After capped at DELIVERY_BACKOFF_MAX_S, and its settings."""

from __future__ import annotations

import pytest

from notifier.worker.policy import Settings, backoff_delay


def test_retry_after_is_capped_by_the_maximum():
    assert backoff_delay(1, 2.0, 60.0, retry_after_s=86_400, rand=lambda: 0.0) == 60


def test_the_defaults_are_the_documented_ones(app):
    settings = Settings.from_config(app.config)
    assert (settings.backoff_base_s, settings.backoff_max_s) == (2.0, 300.0)
    assert settings.max_attempts == 5
    assert settings.lease_s == 60
    assert settings.concurrency == 192


def test_settings_refuse_nonsense(app):
    with pytest.raises(ValueError):
        Settings.from_config(app.config, concurrency=0)
    with pytest.raises(TypeError):
        Settings.from_config(app.config, concurency=4)
