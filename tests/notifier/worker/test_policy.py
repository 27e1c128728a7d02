"""The dispatcher's policy without a database: what a result makes of a notification,
when a claim is too late to send, and how long to wait for the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.notifications.lifecycle import NewState, Outcome, Status
from notifier.notifications.lifecycle.results import statement_size
from notifier.worker.client import DeliveryResult
from notifier.worker.policy import Settings, failed_inside, new_state, too_late_to_send

SETTINGS = Settings(
    service_url="http://delivery.test",
    timeout_s=5.0,
    max_attempts=3,
    backoff_base_s=2.0,
    backoff_max_s=60.0,
    lease_s=30.0,
)
STARTED = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(milliseconds=250)


def _result(outcome: Outcome, **fields) -> DeliveryResult:
    return DeliveryResult(outcome, STARTED, FINISHED, 250, **fields)


def test_sent_records_our_finish_time_and_the_provider_id():
    result = _result(Outcome.SENT, http_status=200, provider_message_id="p-1")
    assert new_state(1, result, SETTINGS) == NewState(
        Status.SENT, sent_at=FINISHED, provider_message_id="p-1"
    )


def test_rejected_fails_at_once_with_the_reason_whatever_the_attempts_left():
    result = _result(Outcome.REJECTED, http_status=422, error="Bad target.")
    assert new_state(1, result, SETTINGS) == NewState(Status.FAILED, error_message="Bad target.")


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 2.0), (2, 4.0)])
def test_unavailable_before_the_last_attempt_is_retried_after_a_backoff(attempts, ceiling):
    result = _result(Outcome.UNAVAILABLE, http_status=503, error="Later.")
    low = new_state(attempts, result, SETTINGS, rand=lambda: 0.0)
    high = new_state(attempts, result, SETTINGS, rand=lambda: 1.0)
    assert (low.status, low.error_message, low.sent_at) == (Status.PENDING, None, None)
    assert low.next_attempt_at == FINISHED + timedelta(seconds=ceiling / 2)
    assert high.next_attempt_at == FINISHED + timedelta(seconds=ceiling)


def test_retry_after_is_a_minimum_for_the_next_try():
    result = _result(Outcome.UNAVAILABLE, http_status=503, retry_after_s=20.0)
    state = new_state(1, result, SETTINGS, rand=lambda: 0.0)
    assert state.next_attempt_at == FINISHED + timedelta(seconds=20)


def test_unavailable_on_the_last_attempt_fails_with_the_last_error():
    result = _result(Outcome.UNAVAILABLE, http_status=503, error="Down.")
    state = new_state(3, result, SETTINGS)
    assert state.status == Status.FAILED
    assert state.error_message == "Delivery failed after 3 attempts; the last one: Down."
    assert state.next_attempt_at is None


def test_the_last_attempt_without_an_error_text_still_says_why():
    state = new_state(3, _result(Outcome.UNAVAILABLE), SETTINGS)
    assert state.error_message.endswith("the delivery service was unavailable.")


def test_a_failure_inside_the_dispatcher_is_an_unavailable_try():
    result = failed_inside(RuntimeError("boom"), STARTED, FINISHED)
    assert (result.outcome, result.http_status, result.duration_ms) == (
        Outcome.UNAVAILABLE,
        None,
        250,
    )
    assert "could not send" in result.error and "RuntimeError: boom" in result.error
    assert new_state(1, result, SETTINGS, rand=lambda: 0.0).status == Status.PENDING


def test_a_claim_is_too_late_to_send_when_a_request_could_outlast_its_lease():
    # The margin is the request timeout (5 s), at most half the lease (15 s).
    assert not too_late_to_send(100.0, 105.5, SETTINGS)
    assert too_late_to_send(100.0, 104.5, SETTINGS)
    long_timeout = Settings(service_url="x", timeout_s=50.0, lease_s=60.0)
    assert too_late_to_send(100.0, 129.0, long_timeout)
    assert not too_late_to_send(100.0, 131.0, long_timeout)


def test_database_retries_back_off_then_stay_at_the_longest_delay():
    settings = Settings(service_url="x", db_retry_delays_s=(0.5, 1.0, 5.0))
    assert [settings.db_retry_delay(n) for n in (1, 2, 3, 4, 50)] == [0.5, 1.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize("bad", [{"record_batch": 0}, {"db_retry_delays_s": ()}, {"batch_size": 0}])
def test_settings_refuse_values_that_would_stall_the_dispatcher(bad):
    with pytest.raises(ValueError):
        Settings(service_url="x", **bad)


def test_result_statements_come_in_few_sizes_that_hold_every_batch() -> None:
    """One compiled statement per size is kept: a busy dispatcher must not keep 200."""
    sizes = {statement_size(count) for count in range(1, 257)}
    assert len(sizes) == 16
    assert all(count <= statement_size(count) < 1.5 * count for count in range(1, 1000))
