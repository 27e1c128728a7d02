"""The simulator as a provider: the default of every channel, and the answer to every sandbox.

It sends nothing anywhere. Its hooks (``reject@…``, ``+15005550002``...) and its
random outages are described in :mod:`delivery.simulator`. Its settings
(``DELIVERY_SIMULATOR_HOOKS``, ``DELIVERY_FAILURE_RATE``) are read from the app's
config on every request, as before providers existed, so a test can start and end
an outage without building a new app.
"""

from __future__ import annotations

from flask import current_app

from delivery.idempotency import Answer
from delivery.providers.base import Delivery
from delivery.simulator import PROVIDER, simulate


class SimulatorProvider:
    """Answers as a provider would, from the target alone."""

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
