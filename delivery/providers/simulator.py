"""The simulated provider: latency, test hooks, random outages, and the final answer.

Order for every ``POST /deliver``: the configured latency first (slept before the
body is even parsed, so under gunicorn's gevent worker it holds no lock and
blocks no other request), then the channel rules (:mod:`delivery.providers`,
in front of every provider), then the hooks, then the random outage. Rules come
before hooks so that a broken message is always a permanent 422, never a
retryable 503. This is the provider of every channel by default, and of every
request with ``"sandbox": true`` (:class:`SimulatorProvider` below).

Hooks (on unless ``DELIVERY_SIMULATOR_HOOKS`` is false):

========= ============================== ================ ==============================
answer    email                          sms              push
========= ============================== ================ ==============================
422       local part exactly ``reject``  ``+15005550001`` token starting ``reject``
503       local part ``unavailable``     ``+15005550002`` token starting ``unavailable``
========= ============================== ================ ==============================

``DELIVERY_FAILURE_RATE`` (0 to 1) is the share of otherwise good requests that
answer 503; ``DELIVERY_LATENCY_MS`` is the added latency per request.
"""

from __future__ import annotations

import random
import time
from typing import Any, Literal

from flask import current_app

import delivery.providers.base as base
from delivery.idempotency import Answer
from delivery.providers.base import Delivery
from delivery.providers.refusals import TARGET, refused
from notifier.channels import EMAIL, PUSH, SMS

PROVIDER = "simulator"
REJECT: Literal["reject"] = "reject"
UNAVAILABLE: Literal["unavailable"] = "unavailable"

SMS_REJECT_NUMBER = "+15005550001"
SMS_UNAVAILABLE_NUMBER = "+15005550002"

RETRY_AFTER_S = 1

_UNAVAILABLE_MESSAGE = "The provider is unavailable (simulated outage); try again later."
_REJECTED_MESSAGE = "The provider rejected the target (simulated permanent rejection)."


def apply_latency(latency_ms: float) -> None:
    """Sleep the configured latency. Under gevent, ``time.sleep`` yields to other requests."""
    if latency_ms > 0:
        time.sleep(latency_ms / 1000)


def hook_for(channel: str, target: str) -> Literal["reject", "unavailable"] | None:
    """The hook a normalised ``target`` triggers, if any."""
    if channel == EMAIL:
        local_part = target.rsplit("@", 1)[0]
        if local_part == REJECT:
            return REJECT
        if local_part == UNAVAILABLE:
            return UNAVAILABLE
    elif channel == SMS:
        if target == SMS_REJECT_NUMBER:
            return REJECT
        if target == SMS_UNAVAILABLE_NUMBER:
            return UNAVAILABLE
    elif channel == PUSH:
        if target.startswith(REJECT):
            return REJECT
        if target.startswith(UNAVAILABLE):
            return UNAVAILABLE
    return None


def rejected(message: str) -> Answer:
    """A 422 answer: the provider refuses the recipient (no ``errors``: not a validation)."""
    return refused(message, TARGET)


def unavailable() -> Answer:
    """A 503 answer with ``Retry-After``."""
    return base.unavailable(_UNAVAILABLE_MESSAGE, RETRY_AFTER_S)


def sent(details: dict[str, Any]) -> Answer:
    """A 200 answer with a fresh provider message id and the time it was sent."""
    return base.sent(PROVIDER, base.new_message_id("sim"), details)


def simulate(delivery: Delivery, *, hooks_enabled: bool, failure_rate: float) -> Answer:
    """What the simulated provider answers to one message that passed its channel's rules."""
    if hooks_enabled:
        hook = hook_for(delivery.channel, delivery.target)
        if hook == REJECT:
            return rejected(_REJECTED_MESSAGE)
        if hook == UNAVAILABLE:
            return unavailable()

    # A simulated outage, not a security decision: the stdlib PRNG is fine here.
    if failure_rate > 0 and random.random() < failure_rate:  # noqa: S311
        return unavailable()
    details = delivery.details
    if delivery.list_unsubscribe:
        details = {**details, "list_unsubscribe": delivery.list_unsubscribe}
    return sent(details)


class SimulatorProvider:
    """Answers as a provider would, from the target alone. Its settings are read
    from the app's config on every request, so a test can start and end an outage
    without building a new app."""

    name = PROVIDER

    def send(self, delivery: Delivery) -> Answer:
        """Simulate one delivery (hooks first, then the random outage)."""
        config = current_app.config
        return simulate(
            delivery,
            hooks_enabled=bool(config.get("DELIVERY_SIMULATOR_HOOKS", True)),
            failure_rate=min(max(float(config.get("DELIVERY_FAILURE_RATE", 0.0)), 0.0), 1.0),
        )

    def close(self) -> None:
        """Nothing to release."""
